/*  =========================================================================
    block - a block of the chain: decoding, building, commits and the
    verdict every syncing node applies

    A decoded block keeps the Block protobuf for its header bytes, proposer
    signature and commits, and one cc_tx_t per transaction; the protobuf's
    own copies of the tx envelopes are freed after decoding so a large block
    is held once, and encoding puts the tx objects' envelopes back in a
    shallow copy of the Block.

    DESIGN: the builder packs, serializes and then decodes its own block, so
    a built block is exactly what every other node will decode, and there is
    one path (cc_block_decode) that makes a cc_block_t. Verification opens
    the transactions (signature checks, the expensive part) on worker
    threads when the block is large, and always reports the first failing
    transaction in block order, so the verdict does not depend on the
    number of threads.
    =========================================================================
*/

#include "block.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Below this many transactions, worker threads cost more than they save.
#define S_PARALLEL_MIN_TXS 16
//  Deepest nesting a block may have on the wire (Block > Commit > Signed).
#define S_SCAN_MAX_DEPTH 8

struct _cc_block_t {
    Certchain__Block *block;            //  decoded Block, without its txs
    Certchain__BlockHeader *header;     //  decoded header bytes
    uint8_t hash [CC_HASH_SIZE];        //  H(header bytes)
    cc_tx_t **txs;                      //  one transaction per Block.txs entry
    Certchain__Signed **envelopes;      //  the txs' envelopes, for encoding
    size_t tx_count;                    //  number of txs
    size_t size;                        //  serialized size without the commit
    size_t tx_bytes;                    //  bytes of the txs in that encoding
};

//  --- Small helpers -----------------------------------------------------------

//  Short hex prefix of a key or hash, for messages.
static void
s_short_hex (const uint8_t *data, char *text)
{
    cc_hex_encode (data, 8, text);
}

static size_t
s_varint_size (size_t value)
{
    size_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        size++;
    }
    return size;
}

//  Bytes that one length-delimited field of payload size takes in a message.
static size_t
s_field_size (size_t payload)
{
    return 1 + s_varint_size (payload) + payload;
}

//  A shallow copy of the Block with the txs put back, and the commit kept or
//  left out. Points into self; valid while self is unchanged.
static Certchain__Block
s_block_view (cc_block_t *self, bool with_commit)
{
    Certchain__Block view = *self->block;
    view.n_txs = self->tx_count;
    view.txs = self->envelopes;
    if (!with_commit)
        view.commit = NULL;
    return view;
}

//  --- Decoding ------------------------------------------------------------------

//  DESIGN: protobuf-c allocates one structure per field occurrence that is
//  a message, a repeated element or an unknown field, so 32 MiB of two-byte
//  empty tx entries would cost it more than a gigabyte. Before unpacking,
//  s_scan walks the wire format without allocating and counts those
//  occurrences against a budget of one per 32 input bytes: an honest block
//  has about one per 45 (a tx or a precommit is four occurrences in some
//  180 bytes), so only padding meant to amplify memory is refused.

typedef struct {
    size_t fields;      //  field occurrences seen so far
    size_t budget;      //  most occurrences allowed
} s_scan_t;

static bool
s_read_varint (const uint8_t **cursor, const uint8_t *end, uint64_t *value)
{
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64 && *cursor < end; shift += 7) {
        uint8_t byte = *(*cursor)++;
        result |= (uint64_t) (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = result;
            return true;
        }
    }
    return false;
}

//  Reads the field at *cursor and moves past it: its key, and for a
//  length-delimited field where its bytes are (*payload, *length; else
//  *payload is NULL). False when the field is not the wire format.
static bool
s_next_field (const uint8_t **cursor, const uint8_t *end, uint64_t *key,
              const uint8_t **payload, uint64_t *length)
{
    *payload = NULL;
    *length = 0;
    if (!s_read_varint (cursor, end, key) || (*key >> 3) == 0)
        return false;
    switch (*key & 7) {
        case 0:
            return s_read_varint (cursor, end, length);
        case 1:
        case 5: {
            size_t skip = (*key & 7) == 1 ? 8 : 4;
            if ((size_t) (end - *cursor) < skip)
                return false;
            *cursor += skip;
            return true;
        }
        case 2:
            if (!s_read_varint (cursor, end, length) || *length > (uint64_t) (end - *cursor))
                return false;
            *payload = *cursor;
            *cursor += *length;
            return true;
        default:
            return false;
    }
}

//  0, MALFORMED for a wire format protobuf-c would refuse too, or OVERSIZE
//  when the field budget runs out.
static int
s_scan (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t size,
        int depth, s_scan_t *scan)
{
    if (depth > S_SCAN_MAX_DEPTH)
        return CC_E_MALFORMED;
    const uint8_t *cursor = data;
    const uint8_t *end = data + size;
    while (cursor < end) {
        uint64_t key = 0, length = 0;
        const uint8_t *payload = NULL;
        if (!s_next_field (&cursor, end, &key, &payload, &length) || (key >> 3) > UINT32_MAX)
            return CC_E_MALFORMED;
        if (++scan->fields > scan->budget)
            return CC_E_OVERSIZE;
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
            descriptor, (unsigned) (key >> 3));
        if (payload && field && field->type == PROTOBUF_C_TYPE_MESSAGE) {
            int rc = s_scan ((const ProtobufCMessageDescriptor *) field->descriptor, payload,
                             (size_t) length, depth + 1, scan);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int
s_check_commit_shape (const Certchain__Commit *commit, const char *what, cc_reason_t *reason)
{
    if (!commit)
        return 0;
    if (!cc_bytes_sized (commit->block_hash, CC_HASH_SIZE))
        return cc_reason_set (reason, CC_E_BAD_FIELD, "block: %s block hash must be 32 bytes",
                              what);
    if (commit->n_precommits > CC_COMMIT_MAX_PRECOMMITS)
        return cc_reason_set (reason, CC_E_OVERSIZE, "block: %s carries %zu precommits (max %d)",
                              what, commit->n_precommits, CC_COMMIT_MAX_PRECOMMITS);
    return 0;
}

static int
s_check_header_shape (const Certchain__BlockHeader *header, size_t tx_count,
                      cc_reason_t *reason)
{
    if (!header->chain_id || strlen (header->chain_id) == 0
        || strlen (header->chain_id) > CC_CHAIN_ID_MAX)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "block header: bad chain id");
    if (header->height == 0)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "block header: height 0");
    struct {
        ProtobufCBinaryData field;      //  a 32-byte field of the header
        const char *name;               //  its name, for the message
    } hashes [] = {
        {header->parent_hash, "parent_hash"},
        {header->tx_root, "tx_root"},
        {header->app_hash, "app_hash"},
        {header->valset_hash, "valset_hash"},
        {header->proposer, "proposer"},
        {header->last_commit_hash, "last_commit_hash"},
    };
    for (size_t index = 0; index < sizeof (hashes) / sizeof (hashes [0]); index++)
        if (!cc_bytes_sized (hashes [index].field, CC_HASH_SIZE))
            return cc_reason_set (reason, CC_E_BAD_FIELD, "block header: %s must be 32 bytes",
                                  hashes [index].name);
    if (header->tx_count != tx_count)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "block header: tx_count %u but the block carries %zu txs",
                              header->tx_count, tx_count);
    return 0;
}

//  Takes ownership of block; checks its shape and builds the object.
static cc_block_t *
s_block_new (Certchain__Block *block, cc_reason_t *reason)
{
    cc_block_t *self = (cc_block_t *) calloc (1, sizeof (cc_block_t));
    if (!self) {
        certchain__block__free_unpacked (block, NULL);
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    self->block = block;
    int rc = 0;
    if (block->header.len > CC_BLOCK_HEADER_MAX_SIZE)
        rc = cc_reason_set (reason, CC_E_OVERSIZE, "block header of %zu bytes (max %d)",
                            block->header.len, CC_BLOCK_HEADER_MAX_SIZE);
    if (rc == 0) {
        int code = 0;
        self->header = (Certchain__BlockHeader *) cc_codec_unpack (
            &certchain__block_header__descriptor, block->header.data, block->header.len,
            CC_BLOCK_HEADER_MAX_SIZE, &code);
        if (!self->header)
            rc = cc_reason_set (reason, code, "block header: %s", cc_error_message (code));
    }
    if (rc == 0 && !cc_bytes_sized (block->proposer_signature, CC_SIGNATURE_SIZE))
        rc = cc_reason_set (reason, CC_E_BAD_FIELD,
                            "block: proposer signature must be 64 bytes");
    if (rc == 0)
        rc = s_check_header_shape (self->header, block->n_txs, reason);
    if (rc == 0)
        rc = s_check_commit_shape (block->last_commit, "last commit", reason);
    if (rc == 0)
        rc = s_check_commit_shape (block->commit, "commit", reason);
    if (rc == 0 && block->n_txs > 0) {
        self->txs = (cc_tx_t **) calloc (block->n_txs, sizeof (cc_tx_t *));
        self->envelopes = (Certchain__Signed **) calloc (block->n_txs,
                                                         sizeof (Certchain__Signed *));
        if (!self->txs || !self->envelopes)
            rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    }
    for (size_t index = 0; rc == 0 && index < block->n_txs; index++) {
        cc_reason_t detail;
        cc_reason_clear (&detail);
        self->txs [index] = cc_tx_adopt_envelope (block->txs [index], &detail);
        if (!self->txs [index])
            rc = cc_reason_set (reason, detail.code, "block: tx %zu: %s", index,
                                cc_reason_text (&detail));
        else {
            self->envelopes [index] = (Certchain__Signed *) cc_tx_envelope (self->txs [index]);
            self->tx_count = index + 1;
            self->tx_bytes += s_field_size (cc_tx_size (self->txs [index]));
        }
    }
    if (rc != 0) {
        cc_block_destroy (&self);
        return NULL;
    }
    //  The tx objects hold the envelopes now; drop the protobuf's copies.
    for (size_t index = 0; index < block->n_txs; index++)
        certchain__signed__free_unpacked (block->txs [index], NULL);
    free (block->txs);
    block->txs = NULL;
    block->n_txs = 0;

    cc_hash (block->header.data, block->header.len, self->hash);
    Certchain__Block view = s_block_view (self, false);
    self->size = certchain__block__get_packed_size (&view);
    return self;
}

cc_block_t *
cc_block_decode (const uint8_t *data, size_t size, cc_reason_t *reason)
{
    int code = 0;
    if (size > 0 && size <= CC_BLOCK_MAX_SIZE) {
        s_scan_t scan = {0, size / 32 + 64};
        code = data ? s_scan (&certchain__block__descriptor, data, size, 0, &scan)
                    : CC_E_MALFORMED;
        if (code == CC_E_OVERSIZE) {
            cc_reason_set (reason, code, "block: more than %zu fields in %zu bytes",
                           scan.budget, size);
            return NULL;
        }
    }
    Certchain__Block *block = code ? NULL : (Certchain__Block *) cc_codec_unpack (
        &certchain__block__descriptor, data, size, CC_BLOCK_MAX_SIZE, &code);
    if (!block) {
        if (code == CC_E_OVERSIZE)
            cc_reason_set (reason, code, "block of %zu bytes (max %d)", size,
                           CC_BLOCK_MAX_SIZE);
        else
            cc_reason_set (reason, code, "block: %s", cc_error_message (code));
        return NULL;
    }
    return s_block_new (block, reason);
}

int
cc_block_peek (const uint8_t *data, size_t size, uint64_t *height_p, uint8_t *hash)
{
    if (!data || size == 0 || size > CC_BLOCK_MAX_SIZE)
        return size > CC_BLOCK_MAX_SIZE ? CC_E_OVERSIZE : CC_E_MALFORMED;
    //  The header is field 1 (bytes); as protobuf reads a repeated
    //  singular field, the last one counts.
    const uint8_t *header = NULL;
    size_t header_size = 0;
    const uint8_t *cursor = data;
    const uint8_t *end = data + size;
    while (cursor < end) {
        uint64_t key = 0, length = 0;
        const uint8_t *payload = NULL;
        if (!s_next_field (&cursor, end, &key, &payload, &length))
            return CC_E_MALFORMED;
        if ((key >> 3) == 1 && payload) {
            header = payload;
            header_size = (size_t) length;
        }
    }
    if (!header)
        return CC_E_MALFORMED;
    if (header_size > CC_BLOCK_HEADER_MAX_SIZE)
        return CC_E_OVERSIZE;
    int code = 0;
    Certchain__BlockHeader *decoded = (Certchain__BlockHeader *) cc_codec_unpack (
        &certchain__block_header__descriptor, header, header_size, CC_BLOCK_HEADER_MAX_SIZE,
        &code);
    if (!decoded)
        return code ? code : CC_E_MALFORMED;
    *height_p = decoded->height;
    certchain__block_header__free_unpacked (decoded, NULL);
    cc_hash (header, header_size, hash);
    return 0;
}

void
cc_block_destroy (cc_block_t **self_p)
{
    if (self_p && *self_p) {
        cc_block_t *self = *self_p;
        for (size_t index = 0; index < self->tx_count; index++)
            cc_tx_destroy (&self->txs [index]);
        free (self->txs);
        free (self->envelopes);
        if (self->header)
            certchain__block_header__free_unpacked (self->header, NULL);
        if (self->block)
            certchain__block__free_unpacked (self->block, NULL);
        free (self);
        *self_p = NULL;
    }
}

//  --- Accessors -------------------------------------------------------------------

const uint8_t *
cc_block_hash (cc_block_t *self)
{
    return self->hash;
}

const Certchain__BlockHeader *
cc_block_header (cc_block_t *self)
{
    return self->header;
}

const char *
cc_block_chain_id (cc_block_t *self)
{
    return self->header->chain_id;
}

uint64_t
cc_block_height (cc_block_t *self)
{
    return self->header->height;
}

uint32_t
cc_block_round (cc_block_t *self)
{
    return self->header->round;
}

uint64_t
cc_block_time (cc_block_t *self)
{
    return self->header->time_ms;
}

const uint8_t *
cc_block_proposer (cc_block_t *self)
{
    return self->header->proposer.data;
}

const uint8_t *
cc_block_parent_hash (cc_block_t *self)
{
    return self->header->parent_hash.data;
}

const uint8_t *
cc_block_app_hash (cc_block_t *self)
{
    return self->header->app_hash.data;
}

size_t
cc_block_tx_count (cc_block_t *self)
{
    return self->tx_count;
}

cc_tx_t *
cc_block_tx (cc_block_t *self, size_t index)
{
    if (index >= self->tx_count)
        return NULL;
    return self->txs [index];
}

const Certchain__Commit *
cc_block_commit (cc_block_t *self)
{
    return self->block->commit;
}

const Certchain__Commit *
cc_block_last_commit (cc_block_t *self)
{
    return self->block->last_commit;
}

size_t
cc_block_size (cc_block_t *self)
{
    return self->size;
}

size_t
cc_block_tx_bytes (cc_block_t *self)
{
    return self->tx_bytes;
}

int
cc_block_encode (cc_block_t *self, bool with_commit, uint8_t **data_p, size_t *size_p)
{
    Certchain__Block view = s_block_view (self, with_commit);
    return cc_codec_pack (&view.base, CC_BLOCK_MAX_SIZE, data_p, size_p);
}

//  A deep copy of a commit (pack and unpack: protobuf-c's allocator owns it).
static int
s_commit_copy (const Certchain__Commit *commit, Certchain__Commit **copy_p)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_codec_pack (&commit->base, CC_BLOCK_MAX_SIZE, &data, &size);
    if (rc != 0)
        return rc;
    int code = 0;
    *copy_p = (Certchain__Commit *) cc_codec_unpack (&certchain__commit__descriptor, data, size,
                                                     CC_BLOCK_MAX_SIZE, &code);
    free (data);
    return code;
}

int
cc_block_set_commit (cc_block_t *self, const Certchain__Commit *commit)
{
    Certchain__Commit *copy = NULL;
    if (commit) {
        if (!cc_bytes_sized (commit->block_hash, CC_HASH_SIZE))
            return CC_E_BAD_FIELD;
        int rc = s_commit_copy (commit, &copy);
        if (rc != 0)
            return rc;
    }
    cc_commit_destroy (&self->block->commit);
    self->block->commit = copy;
    return 0;
}

//  --- Votes and commits ---------------------------------------------------------

int
cc_vote_sign (cc_keypair_t *key, const char *chain_id, Certchain__VoteType type,
              uint64_t height, uint32_t round, const uint8_t *block_hash,
              Certchain__Signed *out)
{
    Certchain__Vote vote = CERTCHAIN__VOTE__INIT;
    vote.type = type;
    vote.height = height;
    vote.round = round;
    if (block_hash)
        vote.block_hash = cc_bytes_view (block_hash, CC_HASH_SIZE);
    vote.validator = cc_bytes_view (cc_keypair_public (key), CC_PUBKEY_SIZE);
    return cc_signed_make (key, CC_DOMAIN_VOTE, chain_id, &vote.base, out);
}

Certchain__Commit *
cc_commit_new (uint64_t height, uint32_t round, const uint8_t *block_hash)
{
    Certchain__Commit *commit = (Certchain__Commit *) malloc (sizeof (Certchain__Commit));
    uint8_t *hash = (uint8_t *) malloc (CC_HASH_SIZE);
    if (!commit || !hash) {
        free (commit);
        free (hash);
        return NULL;
    }
    certchain__commit__init (commit);
    commit->height = height;
    commit->round = round;
    memcpy (hash, block_hash, CC_HASH_SIZE);
    commit->block_hash = cc_bytes_view (hash, CC_HASH_SIZE);
    return commit;
}

int
cc_commit_add (Certchain__Commit *commit, const Certchain__Signed *precommit)
{
    Certchain__Signed **precommits = (Certchain__Signed **) realloc (
        commit->precommits, (commit->n_precommits + 1) * sizeof (Certchain__Signed *));
    if (!precommits)
        return CC_E_NOMEM;
    commit->precommits = precommits;
    Certchain__Signed *copy = (Certchain__Signed *) malloc (sizeof (Certchain__Signed));
    if (!copy)
        return CC_E_NOMEM;
    if (cc_signed_copy (precommit, copy) != 0) {
        free (copy);
        return CC_E_NOMEM;
    }
    commit->precommits [commit->n_precommits++] = copy;
    return 0;
}

void
cc_commit_destroy (Certchain__Commit **commit_p)
{
    //  Everything in a commit made here is malloc'ed field by field, as
    //  protobuf-c's default allocator does, so one free function serves both.
    if (commit_p && *commit_p) {
        certchain__commit__free_unpacked (*commit_p, NULL);
        *commit_p = NULL;
    }
}

void
cc_commit_hash (const Certchain__Commit *commit, uint8_t *hash)
{
    if (!commit) {
        memset (hash, 0, CC_HASH_SIZE);
        return;
    }
    size_t size = certchain__commit__get_packed_size (commit);
    uint8_t *data = (uint8_t *) malloc (size ? size : 1);
    if (!data) {
        //  Cannot happen for a commit that fits in memory twice; a hash
        //  nobody matches makes the caller refuse rather than crash.
        memset (hash, 0xff, CC_HASH_SIZE);
        return;
    }
    certchain__commit__pack (commit, data);
    cc_hash (data, size, hash);
    free (data);
}

//  Checks one precommit; returns the signer's index in valset, or a code.
static int
s_check_precommit (const Certchain__Commit *commit, size_t index, const char *chain_id,
                   const cc_valset_t *valset, uint64_t height, cc_reason_t *reason)
{
    const Certchain__Signed *envelope = commit->precommits [index];
    if (!cc_bytes_sized (envelope->signer, CC_PUBKEY_SIZE)
        || !cc_bytes_sized (envelope->signature, CC_SIGNATURE_SIZE))
        return cc_reason_set (reason, CC_E_COMMIT_BAD_SIG,
                              "precommit %zu: envelope needs a 32-byte signer and a 64-byte "
                              "signature", index);
    char hex [17];
    //  Membership first: it costs no signature check, and it names the rogue.
    int member = cc_valset_index (valset, envelope->signer.data);
    if (member < 0) {
        s_short_hex (envelope->signer.data, hex);
        return cc_reason_set (reason, CC_E_COMMIT_NON_MEMBER,
                              "precommit %zu: signer %s... is not in V(%llu)", index, hex,
                              (unsigned long long) height);
    }
    ProtobufCMessage *message = NULL;
    int rc = cc_signed_open (envelope, CC_DOMAIN_VOTE, chain_id, &certchain__vote__descriptor,
                             CC_VOTE_MAX_SIZE, &message);
    if (rc != 0) {
        s_short_hex (envelope->signer.data, hex);
        return cc_reason_set (reason, CC_E_COMMIT_BAD_SIG, "precommit %zu by %s...: %s", index,
                              hex, cc_error_message (rc));
    }
    Certchain__Vote *vote = (Certchain__Vote *) message;
    if (vote->type != CERTCHAIN__VOTE_TYPE__PRECOMMIT || vote->height != commit->height
        || vote->round != commit->round || !cc_bytes_equal (vote->block_hash, commit->block_hash))
        rc = cc_reason_set (reason, CC_E_COMMIT_MISMATCH,
                            "precommit %zu is not a precommit for (%llu, %u) of the commit's "
                            "block", index, (unsigned long long) commit->height, commit->round);
    else
    if (!cc_bytes_equal (vote->validator, envelope->signer))
        rc = cc_reason_set (reason, CC_E_COMMIT_BAD_SIG,
                            "precommit %zu: vote names another validator than its signer",
                            index);
    cc_codec_free (&message);
    return rc != 0 ? rc : member;
}

int
cc_commit_verify (const Certchain__Commit *commit, const char *chain_id, uint64_t height,
                  const uint8_t *block_hash, const cc_valset_t *valset, uint8_t *signers,
                  size_t *signer_count, cc_reason_t *reason)
{
    if (signer_count)
        *signer_count = 0;
    if (!commit)
        return cc_reason_set (reason, CC_E_COMMIT_BELOW_QUORUM, "no commit for height %llu",
                              (unsigned long long) height);
    if (commit->height != height || !cc_bytes_sized (commit->block_hash, CC_HASH_SIZE)
        || memcmp (commit->block_hash.data, block_hash, CC_HASH_SIZE) != 0)
        return cc_reason_set (reason, CC_E_COMMIT_MISMATCH,
                              "commit is for height %llu and another block, expected height "
                              "%llu", (unsigned long long) commit->height,
                              (unsigned long long) height);
    size_t size = cc_valset_size (valset);
    bool *seen = (bool *) calloc (size ? size : 1, sizeof (bool));
    if (!seen)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    size_t count = 0;
    int rc = 0;
    for (size_t index = 0; index < commit->n_precommits && rc == 0; index++) {
        int member = s_check_precommit (commit, index, chain_id, valset, height, reason);
        if (member < 0)
            rc = member;
        else
        if (!seen [member]) {
            seen [member] = true;
            if (signers)
                memcpy (signers + count * CC_PUBKEY_SIZE, cc_valset_member (valset, member),
                        CC_PUBKEY_SIZE);
            count++;
        }
    }
    free (seen);
    if (rc != 0)
        return rc;
    size_t quorum = cc_valset_quorum (valset);
    if (count < quorum || count == 0)
        return cc_reason_set (reason, CC_E_COMMIT_BELOW_QUORUM,
                              "commit for height %llu has %zu distinct signers of %zu, quorum "
                              "is %zu", (unsigned long long) height, count, size, quorum);
    if (signer_count)
        *signer_count = count;
    return 0;
}

//  --- Limits -------------------------------------------------------------------

//  The tighter of a caller's limit and the genesis one (0 = none).
static size_t
s_limit (size_t wanted, size_t genesis, size_t ceiling)
{
    size_t limit = ceiling;
    if (genesis && genesis < limit)
        limit = genesis;
    if (wanted && wanted < limit)
        limit = wanted;
    return limit;
}

//  --- Building -------------------------------------------------------------------

//  Fills header from args and the computed roots; views, no copies.
static void
s_header_fill (Certchain__BlockHeader *header, const cc_block_build_args_t *args,
               const char *chain_id, const uint8_t *tx_root, const uint8_t *app_hash,
               const uint8_t *valset_hash, const uint8_t *last_commit_hash, uint32_t tx_count)
{
    certchain__block_header__init (header);
    header->chain_id = (char *) chain_id;
    header->height = args->height;
    header->round = args->round;
    header->time_ms = args->time_ms;
    header->parent_hash = cc_bytes_view (args->parent_hash, CC_HASH_SIZE);
    header->tx_root = cc_bytes_view (tx_root, CC_HASH_SIZE);
    header->app_hash = cc_bytes_view (app_hash, CC_HASH_SIZE);
    header->valset_hash = cc_bytes_view (valset_hash, CC_HASH_SIZE);
    header->proposer = cc_bytes_view (cc_keypair_public (args->proposer), CC_PUBKEY_SIZE);
    header->last_commit_hash = cc_bytes_view (last_commit_hash, CC_HASH_SIZE);
    header->tx_count = tx_count;
}

//  Executes the candidates into exec; fills included (indexes) and count.
static void
s_build_pack (const cc_block_build_args_t *args, cc_exec_t *exec, const char *chain_id,
              size_t max_txs, size_t max_bytes, size_t *included, size_t *included_count)
{
    size_t bytes = 0;
    size_t count = 0;
    for (size_t index = 0; index < args->count && count < max_txs; index++) {
        cc_tx_t *tx = args->candidates [index];
        size_t cost = s_field_size (cc_tx_size (tx));
        //  Stop, not skip: candidates come ordered by signer and nonce, and
        //  skipping one would turn its signer's next ones into nonce gaps.
        if (bytes + cost > max_bytes)
            break;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        int rc = cc_tx_open (tx, chain_id, false, &reason);
        if (rc == 0)
            rc = cc_exec_apply (exec, tx, &reason);
        if (rc != 0) {
            if (args->on_reject)
                args->on_reject (args->reject_argument, tx, index, rc, &reason);
            continue;
        }
        included [count++] = index;
        bytes += cost;
    }
    *included_count = count;
}

//  Serializes the header and block, signs, and decodes the result.
static cc_block_t *
s_build_assemble (const cc_block_build_args_t *args, Certchain__BlockHeader *header,
                  const size_t *included, size_t count, cc_reason_t *reason)
{
    uint8_t *header_data = NULL;
    size_t header_size = 0;
    int rc = cc_codec_pack (&header->base, CC_BLOCK_HEADER_MAX_SIZE, &header_data,
                            &header_size);
    if (rc != 0) {
        cc_reason_set (reason, rc, "block header: %s", cc_error_message (rc));
        return NULL;
    }
    uint8_t signature [CC_SIGNATURE_SIZE];
    cc_keypair_sign (args->proposer, CC_DOMAIN_BLOCK, header->chain_id, header_data,
                     header_size, signature);
    Certchain__Signed **envelopes = (Certchain__Signed **) calloc (
        count ? count : 1, sizeof (Certchain__Signed *));
    if (!envelopes) {
        free (header_data);
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t index = 0; index < count; index++)
        envelopes [index] = (Certchain__Signed *) cc_tx_envelope (
            args->candidates [included [index]]);
    Certchain__Block block = CERTCHAIN__BLOCK__INIT;
    block.header = cc_bytes_view (header_data, header_size);
    block.proposer_signature = cc_bytes_view (signature, CC_SIGNATURE_SIZE);
    block.n_txs = count;
    block.txs = envelopes;
    block.last_commit = (Certchain__Commit *) args->last_commit;
    uint8_t *data = NULL;
    size_t size = 0;
    rc = cc_codec_pack (&block.base, CC_BLOCK_MAX_SIZE, &data, &size);
    free (envelopes);
    free (header_data);
    if (rc != 0) {
        cc_reason_set (reason, rc, "block: %s", cc_error_message (rc));
        return NULL;
    }
    cc_block_t *self = cc_block_decode (data, size, reason);
    free (data);
    return self;
}

cc_block_t *
cc_block_build (const cc_block_build_args_t *args, cc_exec_t **exec_p, cc_reason_t *reason)
{
    assert (args && args->state && args->proposer && args->parent_hash);
    assert (args->count == 0 || args->candidates);
    if (exec_p)
        *exec_p = NULL;
    cc_state_t *state = args->state;
    cc_genesis_t *genesis = cc_state_genesis (state);
    const char *chain_id = cc_genesis_chain_id (genesis);
    if (args->height != cc_state_height (state) + 1) {
        cc_reason_set (reason, CC_E_WRONG_HEIGHT, "cannot build height %llu on height %llu",
                       (unsigned long long) args->height,
                       (unsigned long long) cc_state_height (state));
        return NULL;
    }
    //  The last commit: none at height 1, else a quorum of V(h-1) whose
    //  signers feed jailing.
    uint8_t *signers = NULL;
    size_t signer_count = 0;
    if (args->height == 1 && args->last_commit) {
        cc_reason_set (reason, CC_E_BAD_LAST_COMMIT, "height 1 has no last commit");
        return NULL;
    }
    if (args->height > 1) {
        cc_valset_t *previous = cc_state_valset (state, args->height - 1);
        signers = previous ? (uint8_t *) malloc (
                                 (cc_valset_size (previous) + 1) * CC_PUBKEY_SIZE)
                           : NULL;
        cc_reason_t detail;
        cc_reason_clear (&detail);
        int rc = !previous || !signers
                     ? cc_reason_set (&detail, CC_E_NOMEM, "out of memory")
                     : cc_commit_verify (args->last_commit, chain_id, args->height - 1,
                                         args->parent_hash, previous, signers, &signer_count,
                                         &detail);
        cc_valset_destroy (&previous);
        if (rc != 0) {
            free (signers);
            cc_reason_set (reason, CC_E_BAD_LAST_COMMIT, "last commit: %s: %s",
                           cc_error_name (rc), cc_reason_text (&detail));
            return NULL;
        }
    }
    cc_valset_t *valset = cc_state_valset (state, args->height);
    cc_exec_t *exec = cc_exec_new (state, args->height, cc_keypair_public (args->proposer));
    size_t *included = (size_t *) calloc (args->count ? args->count : 1, sizeof (size_t));
    if (!valset || !exec || !included) {
        cc_valset_destroy (&valset);
        cc_exec_destroy (&exec);
        free (included);
        free (signers);
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    uint8_t valset_hash [CC_HASH_SIZE], last_commit_hash [CC_HASH_SIZE];
    cc_valset_hash (valset, valset_hash);
    cc_valset_destroy (&valset);
    cc_commit_hash (args->last_commit, last_commit_hash);
    cc_exec_set_last_commit_signers (exec, signers, signer_count);
    free (signers);

    //  The transactions fill what the limits leave; the rest of the block
    //  (header, last commit: well under a megabyte) keeps it far below
    //  CC_BLOCK_MAX_SIZE.
    const Certchain__ConsensusParams *params = cc_genesis_params (genesis);
    size_t max_txs = s_limit (args->max_txs, params->max_block_txs, UINT32_MAX);
    size_t max_bytes = s_limit (args->max_bytes, params->max_block_bytes,
                                CC_BLOCK_MAX_SIZE / 2);
    size_t count = 0;
    s_build_pack (args, exec, chain_id, max_txs, max_bytes, included, &count);

    uint8_t app_hash [CC_HASH_SIZE], tx_root [CC_HASH_SIZE];
    int rc = cc_exec_finish (exec, app_hash);
    if (rc != 0) {
        cc_reason_set (reason, rc, "executing the block: %s", cc_error_message (rc));
        cc_exec_destroy (&exec);
        free (included);
        return NULL;
    }
    uint8_t *leaves = (uint8_t *) malloc ((count ? count : 1) * CC_HASH_SIZE);
    if (!leaves) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        cc_exec_destroy (&exec);
        free (included);
        return NULL;
    }
    for (size_t index = 0; index < count; index++)
        memcpy (leaves + index * CC_HASH_SIZE, cc_tx_hash (args->candidates [included [index]]),
                CC_HASH_SIZE);
    cc_merkle_root (leaves, count, tx_root);
    free (leaves);

    Certchain__BlockHeader header;
    s_header_fill (&header, args, chain_id, tx_root, app_hash, valset_hash, last_commit_hash,
                   (uint32_t) count);
    cc_block_t *self = s_build_assemble (args, &header, included, count, reason);
    free (included);
    if (self && exec_p)
        *exec_p = exec;
    else
        cc_exec_destroy (&exec);
    return self;
}

//  --- Verification: opening the transactions --------------------------------------

typedef struct {
    cc_block_t *block;          //  block whose txs are opened
    const char *chain_id;       //  chain the txs must be for
    const bool *checked;        //  per tx: signature already verified
    int *codes;                 //  per tx: cc_tx_open result
    size_t begin;               //  first tx of this worker
    size_t end;                 //  one past its last tx
} s_open_job_t;

static void *
s_open_worker (void *argument)
{
    s_open_job_t *job = (s_open_job_t *) argument;
    for (size_t index = job->begin; index < job->end; index++)
        job->codes [index] = cc_tx_open (job->block->txs [index], job->chain_id,
                                         job->checked [index], NULL);
    return NULL;
}

//  Opens every tx, on threads workers when worth it. Returns the index of
//  the first tx that fails to open, or tx_count when all opened.
static size_t
s_open_txs (cc_block_t *self, const char *chain_id, const bool *checked, size_t threads,
            int *codes)
{
    size_t count = self->tx_count;
    if (threads > count / (S_PARALLEL_MIN_TXS / 2))
        threads = count / (S_PARALLEL_MIN_TXS / 2);
    if (threads <= 1 || count < S_PARALLEL_MIN_TXS) {
        for (size_t index = 0; index < count; index++)
            if (cc_tx_open (self->txs [index], chain_id, checked [index], NULL) != 0)
                return index;
        return count;
    }
    s_open_job_t *jobs = (s_open_job_t *) calloc (threads, sizeof (s_open_job_t));
    pthread_t *ids = (pthread_t *) calloc (threads, sizeof (pthread_t));
    bool *started = (bool *) calloc (threads, sizeof (bool));
    if (!jobs || !ids || !started)
        threads = 0;    //  every job below runs inline
    size_t chunk = threads ? (count + threads - 1) / threads : count;
    for (size_t worker = 0; worker < threads; worker++) {
        s_open_job_t *job = &jobs [worker];
        job->block = self;
        job->chain_id = chain_id;
        job->checked = checked;
        job->codes = codes;
        job->begin = worker * chunk < count ? worker * chunk : count;
        job->end = job->begin + chunk < count ? job->begin + chunk : count;
        //  The first chunk runs on this thread; a failed start runs inline.
        if (worker > 0)
            started [worker] = pthread_create (&ids [worker], NULL, s_open_worker, job) == 0;
    }
    if (threads == 0) {
        s_open_job_t job = {self, chain_id, checked, codes, 0, count};
        s_open_worker (&job);
    }
    for (size_t worker = 0; worker < threads; worker++)
        if (!started [worker])
            s_open_worker (&jobs [worker]);
    for (size_t worker = 0; worker < threads; worker++)
        if (started [worker])
            pthread_join (ids [worker], NULL);
    free (jobs);
    free (ids);
    free (started);
    for (size_t index = 0; index < count; index++)
        if (codes [index] != 0)
            return index;
    return count;
}

//  --- Verification: the rule ---------------------------------------------------

//  Checks that need no execution, in the documented order, up to the tx
//  root. Fills signers of the last commit for jailing.
static int
s_verify_envelope (cc_block_t *self, cc_state_t *state, const cc_block_parent_t *parent,
                   const cc_block_verify_opts_t *opts, uint8_t **signers_p,
                   size_t *signer_count, cc_reason_t *reason)
{
    const Certchain__BlockHeader *header = self->header;
    cc_genesis_t *genesis = cc_state_genesis (state);
    const char *chain_id = cc_genesis_chain_id (genesis);
    uint64_t height = cc_state_height (state) + 1;
    char hex [17], other_hex [17];

    if (strcmp (header->chain_id, chain_id) != 0)
        return cc_reason_set (reason, CC_E_WRONG_CHAIN, "block for chain '%s', this is '%s'",
                              header->chain_id, chain_id);
    if (header->height != height)
        return cc_reason_set (reason, CC_E_WRONG_HEIGHT, "block height %llu, expected %llu",
                              (unsigned long long) header->height,
                              (unsigned long long) height);
    if (memcmp (header->parent_hash.data, parent->hash, CC_HASH_SIZE) != 0)
        return cc_reason_set (reason, CC_E_WRONG_PARENT,
                              "block %llu does not extend the tip", (unsigned long long) height);

    cc_valset_t *valset = cc_state_valset (state, height);
    if (!valset)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    const uint8_t *proposer = header->proposer.data;
    s_short_hex (proposer, hex);
    int rc = 0;
    uint8_t valset_hash [CC_HASH_SIZE];
    cc_valset_hash (valset, valset_hash);
    const uint8_t *scheduled = cc_valset_proposer (valset, height, header->round);
    const Certchain__ConsensusParams *params = cc_genesis_params (genesis);
    if (!cc_valset_contains (valset, proposer))
        rc = cc_reason_set (reason, CC_E_UNAUTHORIZED_PROPOSER,
                            "proposer %s... of block %llu is not in V(%llu): never certified, "
                            "revoked or expired", hex, (unsigned long long) height,
                            (unsigned long long) height);
    else
    if (!scheduled || memcmp (scheduled, proposer, CC_PUBKEY_SIZE) != 0) {
        s_short_hex (scheduled, other_hex);
        rc = cc_reason_set (reason, CC_E_NOT_SCHEDULED,
                            "proposer %s... is not scheduled for (%llu, %u): %s... is", hex,
                            (unsigned long long) height, header->round, other_hex);
    }
    else
    if (!cc_verify (proposer, CC_DOMAIN_BLOCK, chain_id, self->block->header.data,
                    self->block->header.len, self->block->proposer_signature.data))
        rc = cc_reason_set (reason, CC_E_BAD_PROPOSER_SIG,
                            "proposer signature of block %llu by %s... does not verify",
                            (unsigned long long) height, hex);
    else
    if (memcmp (header->valset_hash.data, valset_hash, CC_HASH_SIZE) != 0)
        rc = cc_reason_set (reason, CC_E_WRONG_VALSET_HASH,
                            "block %llu names another validator set than V(%llu)",
                            (unsigned long long) height, (unsigned long long) height);
    else
    if (header->time_ms < parent->time_ms)
        rc = cc_reason_set (reason, CC_E_BAD_TIME, "block time %llu before its parent's %llu",
                            (unsigned long long) header->time_ms,
                            (unsigned long long) parent->time_ms);
    else
    if (params->max_block_txs && self->tx_count > params->max_block_txs)
        rc = cc_reason_set (reason, CC_E_BLOCK_LIMITS, "block carries %zu txs (max %u)",
                            self->tx_count, params->max_block_txs);
    else
    if (params->max_block_bytes && self->tx_bytes > params->max_block_bytes)
        rc = cc_reason_set (reason, CC_E_BLOCK_LIMITS, "block carries %zu bytes of txs (max %u)",
                            self->tx_bytes, params->max_block_bytes);
    else
    if (opts && opts->require_commit)
        rc = cc_commit_verify (self->block->commit, chain_id, height, self->hash, valset, NULL,
                               NULL, reason);
    cc_valset_destroy (&valset);
    if (rc != 0)
        return rc;

    //  The last commit, hashed into the header, must be a quorum of V(h-1)
    //  for the parent.
    const Certchain__Commit *last_commit = self->block->last_commit;
    uint8_t last_commit_hash [CC_HASH_SIZE];
    cc_commit_hash (last_commit, last_commit_hash);
    if (height == 1 && last_commit)
        return cc_reason_set (reason, CC_E_BAD_LAST_COMMIT, "block 1 carries a last commit");
    if (height > 1 && !last_commit)
        return cc_reason_set (reason, CC_E_BAD_LAST_COMMIT, "block %llu has no last commit",
                              (unsigned long long) height);
    if (memcmp (header->last_commit_hash.data, last_commit_hash, CC_HASH_SIZE) != 0)
        return cc_reason_set (reason, CC_E_BAD_LAST_COMMIT,
                              "last commit does not match the header's last_commit_hash");
    if (height > 1) {
        cc_valset_t *previous = cc_state_valset (state, height - 1);
        uint8_t *signers = previous ? (uint8_t *) malloc (
                                          (cc_valset_size (previous) + 1) * CC_PUBKEY_SIZE)
                                    : NULL;
        if (!signers) {
            cc_valset_destroy (&previous);
            return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        }
        cc_reason_t detail;
        cc_reason_clear (&detail);
        rc = cc_commit_verify (last_commit, chain_id, height - 1, parent->hash, previous,
                               signers, signer_count, &detail);
        cc_valset_destroy (&previous);
        if (rc != 0) {
            free (signers);
            return cc_reason_set (reason, CC_E_BAD_LAST_COMMIT, "last commit: %s: %s",
                                  cc_error_name (rc), cc_reason_text (&detail));
        }
        *signers_p = signers;
    }

    //  Every transaction, in order, under the header's root.
    uint8_t *leaves = (uint8_t *) malloc ((self->tx_count ? self->tx_count : 1) * CC_HASH_SIZE);
    if (!leaves)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    for (size_t index = 0; index < self->tx_count; index++)
        memcpy (leaves + index * CC_HASH_SIZE, cc_tx_hash (self->txs [index]), CC_HASH_SIZE);
    uint8_t tx_root [CC_HASH_SIZE];
    cc_merkle_root (leaves, self->tx_count, tx_root);
    free (leaves);
    if (memcmp (tx_root, header->tx_root.data, CC_HASH_SIZE) != 0)
        return cc_reason_set (reason, CC_E_TX_ROOT_MISMATCH,
                              "transactions of block %llu do not match its tx root (tampered, "
                              "added, removed or reordered)", (unsigned long long) height);
    return 0;
}

//  Opens every transaction (signatures), then re-executes the block.
static int
s_verify_execute (cc_block_t *self, cc_state_t *state, const cc_block_verify_opts_t *opts,
                  const uint8_t *signers, size_t signer_count, cc_exec_t **exec_p,
                  cc_reason_t *reason)
{
    const char *chain_id = cc_genesis_chain_id (cc_state_genesis (state));
    size_t count = self->tx_count;
    bool *checked = (bool *) calloc (count ? count : 1, sizeof (bool));
    int *codes = (int *) calloc (count ? count : 1, sizeof (int));
    if (!checked || !codes) {
        free (checked);
        free (codes);
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    }
    if (opts && opts->require_commit && opts->trust_signatures)
        for (size_t index = 0; index < count; index++)
            checked [index] = true;
    else
    if (opts && opts->signature_checked)
        for (size_t index = 0; index < count; index++)
            checked [index] = opts->signature_checked (
                opts->signature_argument, cc_tx_hash (self->txs [index]),
                cc_tx_envelope (self->txs [index])->signature.data);
    size_t failed = s_open_txs (self, chain_id, checked, opts ? opts->threads : 0, codes);
    free (checked);
    free (codes);
    char hex [17];
    if (failed < count) {
        cc_reason_t detail;
        cc_reason_clear (&detail);
        //  Opening remembers its result: this returns it with its message.
        int rc = cc_tx_open (self->txs [failed], chain_id, false, &detail);
        s_short_hex (cc_tx_hash (self->txs [failed]), hex);
        return cc_reason_set (reason, CC_E_BAD_TX, "tx %zu (%s...): %s: %s", failed, hex,
                              cc_error_name (rc), cc_reason_text (&detail));
    }

    cc_exec_t *exec = cc_exec_new (state, self->header->height, self->header->proposer.data);
    if (!exec)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    cc_exec_set_last_commit_signers (exec, signers, signer_count);
    for (size_t index = 0; index < count; index++) {
        cc_reason_t detail;
        cc_reason_clear (&detail);
        int rc = cc_exec_apply (exec, self->txs [index], &detail);
        if (rc != 0) {
            cc_exec_destroy (&exec);
            s_short_hex (cc_tx_hash (self->txs [index]), hex);
            return cc_reason_set (reason, CC_E_BAD_TX, "tx %zu (%s...): %s: %s", index, hex,
                                  cc_error_name (rc), cc_reason_text (&detail));
        }
    }
    uint8_t app_hash [CC_HASH_SIZE];
    int rc = cc_exec_finish (exec, app_hash);
    if (rc != 0) {
        cc_exec_destroy (&exec);
        return cc_reason_set (reason, rc, "executing block %llu: %s",
                              (unsigned long long) self->header->height, cc_error_message (rc));
    }
    if (memcmp (app_hash, self->header->app_hash.data, CC_HASH_SIZE) != 0) {
        cc_exec_destroy (&exec);
        return cc_reason_set (reason, CC_E_WRONG_APP_HASH,
                              "re-executing block %llu gives another app hash than its header",
                              (unsigned long long) self->header->height);
    }
    if (exec_p)
        *exec_p = exec;
    else
        cc_exec_destroy (&exec);
    return 0;
}

int
cc_block_verify (cc_block_t *self, cc_state_t *state, const cc_block_parent_t *parent,
                 const cc_block_verify_opts_t *opts, cc_exec_t **exec_p, cc_reason_t *reason)
{
    assert (self && state && parent && parent->hash);
    if (exec_p)
        *exec_p = NULL;
    cc_reason_clear (reason);
    uint8_t *signers = NULL;
    size_t signer_count = 0;
    int rc = s_verify_envelope (self, state, parent, opts, &signers, &signer_count, reason);
    if (rc == 0)
        rc = s_verify_execute (self, state, opts, signers, signer_count, exec_p, reason);
    free (signers);
    return rc;
}
