/*  =========================================================================
    chain - the committed chain of one process, over its own store

    The tip lives in memory and in the "meta" family; both change only after
    a block's batch is on disk, so the in-memory tip, the state and the
    store agree at every moment a caller can observe.

    DESIGN: a block's batch holds everything the block changes, the state
    engine's writes (which include the state's own height and app hash)
    and the tip together. RocksDB applies a WriteBatch whole or not at all
    and, with sync, only returns once its log record is on disk; so after a
    crash, reopening finds either the previous tip with its state or the
    new one with its block, never a mix. Opening checks that the tip and
    the state agree, which they do unless the database was tampered with.
    =========================================================================
*/

#include "chain.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  Key of the tip in "meta", and the size of its value.
#define S_TIP_KEY "tip"
#define S_TIP_SIZE (8 + CC_HASH_SIZE + 8)

struct _cc_chain_t {
    cc_genesis_t *genesis;              //  borrowed: the chain's genesis
    cc_store_t *store;                  //  owned database
    cc_state_t *state;                  //  owned committed state
    int blocks;                         //  family: height -> block
    int hashes;                         //  family: block hash -> height
    int txs;                            //  family: tx hash -> TxLocation
    int meta;                           //  family: the tip
    bool tx_index;                      //  commits write the "txs" family
    uint64_t height;                    //  tip height (0 = genesis)
    uint8_t tip_hash [CC_HASH_SIZE];    //  tip block hash (genesis hash at 0)
    uint64_t tip_time;                  //  tip time (genesis time at 0)
};

//  --- Opening and closing --------------------------------------------------------

//  Reads the tip from "meta"; the genesis when there is none yet.
static int
s_load_tip (cc_chain_t *self, cc_reason_t *reason)
{
    uint8_t *value = NULL;
    size_t size = 0;
    int rc = cc_store_get (self->store, self->meta, S_TIP_KEY, strlen (S_TIP_KEY), &value,
                           &size);
    if (rc == CC_E_NOT_FOUND) {
        self->height = 0;
        memcpy (self->tip_hash, cc_genesis_hash (self->genesis), CC_HASH_SIZE);
        self->tip_time = cc_genesis_time_ms (self->genesis);
        rc = 0;
    }
    else
    if (rc == 0 && size != S_TIP_SIZE)
        rc = cc_reason_set (reason, CC_E_STORE, "chain: tip record of %zu bytes", size);
    else
    if (rc == 0) {
        self->height = cc_be64_get (value);
        memcpy (self->tip_hash, value + 8, CC_HASH_SIZE);
        self->tip_time = cc_be64_get (value + 8 + CC_HASH_SIZE);
    }
    else
        cc_reason_set (reason, rc, "chain: reading the tip: %s", cc_error_message (rc));
    free (value);
    if (rc == 0 && self->height != cc_state_height (self->state))
        rc = cc_reason_set (reason, CC_E_STORE, "chain: tip at height %llu, state at %llu",
                            (unsigned long long) self->height,
                            (unsigned long long) cc_state_height (self->state));
    return rc;
}

cc_chain_t *
cc_chain_open (const char *dir, cc_genesis_t *genesis, size_t cache_bytes,
               cc_reason_t *reason)
{
    assert (dir && genesis);
    cc_chain_t *self = (cc_chain_t *) calloc (1, sizeof (cc_chain_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    self->genesis = genesis;
    //  "service" holds what the owning service keeps beside the chain (last
    //  signed step, discarded blocks, pending challenges), under its own keys.
    const char *const families [] = {CC_STATE_FAMILY, "blocks", "hashes", "txs",
                                     "meta", CC_CHAIN_SERVICE_FAMILY, NULL};
    self->store = cc_store_open (dir, families, cache_bytes, reason);
    if (!self->store) {
        free (self);
        return NULL;
    }
    self->blocks = cc_store_family (self->store, "blocks");
    self->hashes = cc_store_family (self->store, "hashes");
    self->txs = cc_store_family (self->store, "txs");
    self->meta = cc_store_family (self->store, "meta");
    self->tx_index = true;
    self->state = cc_state_new (self->store, genesis, reason);
    if (!self->state || s_load_tip (self, reason) != 0) {
        cc_chain_destroy (&self);
        return NULL;
    }
    return self;
}

void
cc_chain_destroy (cc_chain_t **self_p)
{
    if (self_p && *self_p) {
        cc_chain_t *self = *self_p;
        cc_state_destroy (&self->state);
        cc_store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

//  --- Accessors ---------------------------------------------------------------------

uint64_t
cc_chain_height (cc_chain_t *self)
{
    return self->height;
}

const uint8_t *
cc_chain_tip_hash (cc_chain_t *self)
{
    return self->tip_hash;
}

uint64_t
cc_chain_tip_time (cc_chain_t *self)
{
    return self->tip_time;
}

cc_state_t *
cc_chain_state (cc_chain_t *self)
{
    return self->state;
}

cc_store_t *
cc_chain_store (cc_chain_t *self)
{
    return self->store;
}

cc_genesis_t *
cc_chain_genesis (cc_chain_t *self)
{
    return self->genesis;
}

//  --- Verifying and committing -------------------------------------------------------

int
cc_chain_verify (cc_chain_t *self, cc_block_t *block, const cc_block_verify_opts_t *opts,
                 cc_exec_t **exec_p, cc_reason_t *reason)
{
    cc_block_parent_t parent = {self->tip_hash, self->tip_time};
    return cc_block_verify (block, self->state, &parent, opts, exec_p, reason);
}

//  With an exec from an earlier check: what that check could not know.
static int
s_check_known (cc_chain_t *self, cc_block_t *block, cc_exec_t *exec, cc_reason_t *reason)
{
    uint64_t height = self->height + 1;
    if (cc_block_height (block) != height)
        return cc_reason_set (reason, CC_E_WRONG_HEIGHT, "block height %llu, expected %llu",
                              (unsigned long long) cc_block_height (block),
                              (unsigned long long) height);
    if (memcmp (cc_block_parent_hash (block), self->tip_hash, CC_HASH_SIZE) != 0)
        return cc_reason_set (reason, CC_E_WRONG_PARENT, "block %llu does not extend the tip",
                              (unsigned long long) height);
    if (cc_exec_tx_count (exec) != cc_block_tx_count (block))
        return cc_reason_set (reason, CC_E_INVALID_ARG,
                              "exec applied %zu txs, the block carries %zu",
                              cc_exec_tx_count (exec), cc_block_tx_count (block));
    cc_valset_t *valset = cc_state_valset (self->state, height);
    if (!valset)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    int rc = cc_commit_verify (cc_block_commit (block),
                               cc_genesis_chain_id (self->genesis), height,
                               cc_block_hash (block), valset, NULL, NULL, reason);
    cc_valset_destroy (&valset);
    return rc;
}

//  A transaction's place in its block, sorted by hash for the tx index.
typedef struct {
    const uint8_t *hash;
    uint32_t index;
} s_indexed_t;

static int
s_indexed_compare (const void *left, const void *right)
{
    return memcmp (((const s_indexed_t *) left)->hash, ((const s_indexed_t *) right)->hash,
                   CC_HASH_SIZE);
}

//  Fills batch with the block, its indexes and the new tip.
static int
s_batch_block (cc_chain_t *self, cc_block_t *block, cc_batch_t *batch, cc_reason_t *reason)
{
    uint64_t height = cc_block_height (block);
    uint8_t height_key [8];
    cc_be64_put (height_key, height);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_block_encode (block, true, &data, &size);
    if (rc != 0)
        return cc_reason_set (reason, rc, "chain: encoding block %llu: %s",
                              (unsigned long long) height, cc_error_message (rc));
    cc_batch_put (batch, self->blocks, height_key, sizeof (height_key), data, size);
    free (data);
    cc_batch_put (batch, self->hashes, cc_block_hash (block), CC_HASH_SIZE, height_key,
                  sizeof (height_key));
    size_t indexed = self->tx_index ? cc_block_tx_count (block) : 0;
    s_indexed_t *order = indexed ? (s_indexed_t *) malloc (indexed * sizeof (s_indexed_t))
                                 : NULL;
    if (indexed && !order)
        return cc_reason_set (reason, CC_E_NOMEM, "chain: out of memory");
    for (size_t index = 0; index < indexed; index++) {
        order [index].hash = cc_tx_hash (cc_block_tx (block, index));
        order [index].index = (uint32_t) index;
    }
    //  In key order: RocksDB's memtable inserts a sorted run far faster
    //  than random hashes (its skip list reuses the last insert's place).
    if (indexed > 1)
        qsort (order, indexed, sizeof (s_indexed_t), s_indexed_compare);
    for (size_t rank = 0; rank < indexed; rank++) {
        Certchain__TxLocation location = CERTCHAIN__TX_LOCATION__INIT;
        location.height = height;
        location.index = order [rank].index;
        uint8_t packed [32];
        size_t packed_size = certchain__tx_location__pack (&location, packed);
        cc_batch_put (batch, self->txs, order [rank].hash, CC_HASH_SIZE, packed, packed_size);
    }
    free (order);
    uint8_t tip [S_TIP_SIZE];
    cc_be64_put (tip, height);
    memcpy (tip + 8, cc_block_hash (block), CC_HASH_SIZE);
    cc_be64_put (tip + 8 + CC_HASH_SIZE, cc_block_time (block));
    cc_batch_put (batch, self->meta, S_TIP_KEY, strlen (S_TIP_KEY), tip, sizeof (tip));
    return 0;
}

int
cc_chain_commit (cc_chain_t *self, cc_block_t *block, cc_exec_t **exec_p, cc_reason_t *reason)
{
    cc_exec_t *exec = exec_p ? *exec_p : NULL;
    if (exec_p)
        *exec_p = NULL;
    int rc = 0;
    if (!cc_block_commit (block))
        rc = cc_reason_set (reason, CC_E_COMMIT_BELOW_QUORUM,
                            "block %llu carries no commit",
                            (unsigned long long) cc_block_height (block));
    else
    if (exec)
        rc = s_check_known (self, block, exec, reason);
    else {
        cc_block_verify_opts_t opts = {.require_commit = true};
        rc = cc_chain_verify (self, block, &opts, &exec, reason);
    }
    cc_batch_t *batch = rc == 0 ? cc_store_batch (self->store) : NULL;
    if (rc == 0 && !batch)
        rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = s_batch_block (self, block, batch, reason);
    if (rc == 0) {
        rc = cc_exec_write (exec, batch);
        if (rc != 0)
            cc_reason_set (reason, rc, "chain: state writes: %s", cc_error_message (rc));
    }
    if (rc == 0) {
        rc = cc_store_commit (self->store, &batch, true);
        if (rc != 0)
            cc_reason_set (reason, rc, "chain: committing block %llu: %s",
                           (unsigned long long) cc_block_height (block),
                           cc_error_message (rc));
    }
    cc_batch_destroy (&batch);
    if (rc != 0) {
        cc_exec_destroy (&exec);
        return rc;
    }
    cc_state_commit (self->state, &exec);
    self->height = cc_block_height (block);
    memcpy (self->tip_hash, cc_block_hash (block), CC_HASH_SIZE);
    self->tip_time = cc_block_time (block);
    return 0;
}

//  --- Reading committed blocks ---------------------------------------------------------

int
cc_chain_block (cc_chain_t *self, uint64_t height, uint8_t **data_p, size_t *size_p)
{
    if (height == 0 || height > self->height)
        return CC_E_NOT_FOUND;
    uint8_t key [8];
    cc_be64_put (key, height);
    return cc_store_get (self->store, self->blocks, key, sizeof (key), data_p, size_p);
}

int
cc_chain_block_by_hash (cc_chain_t *self, const uint8_t *hash, uint64_t *height_p,
                        uint8_t **data_p, size_t *size_p)
{
    uint8_t *value = NULL;
    size_t size = 0;
    int rc = cc_store_get (self->store, self->hashes, hash, CC_HASH_SIZE, &value, &size);
    if (rc != 0)
        return rc;
    uint64_t height = size == 8 ? cc_be64_get (value) : 0;
    free (value);
    if (size != 8)
        return CC_E_STORE;
    if (height_p)
        *height_p = height;
    return data_p ? cc_chain_block (self, height, data_p, size_p) : 0;
}

void
cc_chain_set_tx_index (cc_chain_t *self, bool on)
{
    assert (self);
    self->tx_index = on;
}

int
cc_chain_tx (cc_chain_t *self, const uint8_t *hash, uint64_t *height, uint32_t *index)
{
    assert (self);
    if (!self->tx_index)
        return CC_E_UNSUPPORTED;
    uint8_t *value = NULL;
    size_t size = 0;
    int rc = cc_store_get (self->store, self->txs, hash, CC_HASH_SIZE, &value, &size);
    if (rc != 0)
        return rc;
    Certchain__TxLocation *location = (Certchain__TxLocation *) cc_codec_unpack (
        &certchain__tx_location__descriptor, value, size, 64, &rc);
    free (value);
    if (!location)
        return CC_E_STORE;
    if (height)
        *height = location->height;
    if (index)
        *index = location->index;
    certchain__tx_location__free_unpacked (location, NULL);
    return 0;
}

//  --- Status ---------------------------------------------------------------------

void
cc_chain_status (cc_chain_t *self, const char *service, const char *node,
                 const uint8_t *member, Certchain__Status *status)
{
    uint64_t height = cc_chain_height (self);
    cc_state_t *state = cc_chain_state (self);
    certchain__status__init (status);
    status->service = (char *) service;
    status->node = (char *) (node ? node : "");
    status->chain_id = (char *) cc_genesis_chain_id (self->genesis);
    status->height = height;
    status->tip_hash = cc_bytes_view (cc_chain_tip_hash (self), CC_HASH_SIZE);
    status->app_hash = cc_bytes_view (cc_state_app_hash (state), CC_HASH_SIZE);
    status->genesis_hash = cc_bytes_view (cc_genesis_hash (self->genesis), CC_HASH_SIZE);
    cc_valset_t *next = cc_state_valset (state, height + 1);
    status->validators = next ? (uint32_t) cc_valset_size (next) : 0;
    status->in_set = next && member && cc_valset_contains (next, member);
    cc_valset_destroy (&next);
}

//  --- Transaction proofs -----------------------------------------------------------

//  A malloc'd copy of size bytes as a bytes field; false without memory.
static bool
s_copy_field (ProtobufCBinaryData *field, const uint8_t *data, size_t size)
{
    field->data = (uint8_t *) malloc (size ? size : 1);
    field->len = field->data ? size : 0;
    if (field->data && size)
        memcpy (field->data, data, size);
    return field->data != NULL;
}

//  Fills info from the tx at index of block; every field is its own
//  allocation, so protobuf-c's free_unpacked releases it.
static int
s_fill_tx_info (Certchain__TxInfo *info, cc_block_t *block, uint64_t height, uint32_t index)
{
    size_t count = cc_block_tx_count (block);
    uint8_t *leaves = (uint8_t *) malloc (count * CC_HASH_SIZE);
    uint8_t proof [CC_MERKLE_MAX_DEPTH * CC_HASH_SIZE];
    size_t depth = 0;
    if (!leaves)
        return CC_E_NOMEM;
    for (size_t leaf = 0; leaf < count; leaf++)
        memcpy (leaves + leaf * CC_HASH_SIZE, cc_tx_hash (cc_block_tx (block, leaf)),
                CC_HASH_SIZE);
    int rc = cc_merkle_proof (leaves, count, index, proof, &depth);
    free (leaves);
    if (rc != 0)
        return CC_E_STORE;
    info->height = height;
    info->index = index;
    info->tx = (Certchain__Signed *) malloc (sizeof (Certchain__Signed));
    info->proof = (ProtobufCBinaryData *) calloc (depth ? depth : 1, sizeof (ProtobufCBinaryData));
    if (!info->tx || !info->proof)
        return CC_E_NOMEM;
    if (cc_signed_copy (cc_tx_envelope (cc_block_tx (block, index)), info->tx) != 0
        || !s_copy_field (&info->block_hash, cc_block_hash (block), CC_HASH_SIZE)
        || !s_copy_field (&info->tx_root, cc_block_header (block)->tx_root.data,
                          cc_block_header (block)->tx_root.len))
        return CC_E_NOMEM;
    for (size_t step = 0; step < depth; step++, info->n_proof++)
        if (!s_copy_field (&info->proof [step], proof + step * CC_HASH_SIZE, CC_HASH_SIZE))
            return CC_E_NOMEM;
    return 0;
}

int
cc_chain_tx_info (cc_chain_t *self, const uint8_t *hash, Certchain__TxInfo **info_p,
                  cc_reason_t *reason)
{
    *info_p = NULL;
    uint64_t height = 0;
    uint32_t index = 0;
    int rc = cc_chain_tx (self, hash, &height, &index);
    if (rc == CC_E_NOT_FOUND)
        return cc_reason_set (reason, rc, "no committed transaction has this hash");
    if (rc != 0)
        return cc_reason_set (reason, rc, "cannot read the tx index");
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_chain_block (self, height, &data, &size) != 0)
        return cc_reason_set (reason, CC_E_STORE, "cannot read block %" PRIu64, height);
    cc_block_t *block = cc_block_decode (data, size, NULL);
    free (data);
    if (!block || index >= cc_block_tx_count (block)) {
        cc_block_destroy (&block);
        return cc_reason_set (reason, CC_E_STORE, "tx index and block %" PRIu64 " disagree",
                              height);
    }
    Certchain__TxInfo *info = (Certchain__TxInfo *) malloc (sizeof (Certchain__TxInfo));
    if (info)
        certchain__tx_info__init (info);
    rc = info ? s_fill_tx_info (info, block, height, index) : CC_E_NOMEM;
    cc_block_destroy (&block);
    if (rc != 0) {
        cc_chain_tx_info_free (&info);
        return cc_reason_set (reason, rc, "cannot build the tx's inclusion proof");
    }
    *info_p = info;
    return 0;
}

void
cc_chain_tx_info_free (Certchain__TxInfo **info_p)
{
    cc_codec_free ((ProtobufCMessage **) info_p);
}
