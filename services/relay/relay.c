/*  =========================================================================
    relay - certchain-relay, the "mainnet": stores the chain, relays gossip

    One czmq actor owns everything: the chain (its RocksDB shard), the
    three bound sockets, the metrics, two recent sets for dedupe and the
    memory of recently committed transactions, all driven by one zloop. Start-up is the only place that can fail; after
    it every outside input gets an Error reply or a counted drop, never an
    end of the loop.

    DESIGN: the relay trusts transaction signatures inside a block covered
    by a quorum commit (the signature_checked callback answers true), so
    storing a block costs the commit's n signature checks and the state
    re-execution, not one check per transaction: the validators checked
    every signature before they precommitted, and every verifier checks
    them again. Verification runs inline in the loop: without per-tx
    signatures it is short. Submitted transactions are remembered by
    H(tx hash || signature), not by the hash alone: the relay does not
    verify signatures, so a copy of someone's body with a forged signature
    must not keep the genuine transaction out; committed transactions are
    refused by hash. Each is remembered with the time it was accepted: a
    copy within relay/resubmit_ms is refused as DUPLICATE, a later one
    that is still not committed is accepted and published again, since a
    validator whose mempool was full dropped it and nobody else would
    ever send it again. The memory holds the last CC_RELAY_RECENT
    submissions, so under a heavy load a copy may pass sooner, once its
    first submission is forgotten (downstream mempools deduplicate it).

    DESIGN, refusing committed transactions without a read per tx: the
    answer must stay exact ("already committed at height H"), so each
    submitted tx is decided by the first of three tests that applies:
      1. the committed memory (a cc_seen_t of tx hash -> height): the hashes of the last
         relay/committed_txs transactions of the blocks this relay
         stored, with their heights, filled in s_store_block. A hit is
         refused at once with its height; this is every client resending
         a transaction that has just been committed.
      2. the signer's nonce: a committed tx has set its signer's account
         nonce to its own nonce, and nonces only grow, so a tx whose nonce
         is above its signer's committed nonce cannot be in any committed
         block. This is every fresh transaction, the common case; the
         account comes from the state's cache of committed accounts
         (filled by every block it commits), so a busy signer costs no
         store read at all.
      3. otherwise (a nonce already used, and a hash too old for the
         memory or never committed: a stale resubmission or a replay) the
         chain's tx index decides, as before; counted as "tx_index.reads".
    The memory is bounded (about 48 bytes a tx, reserved but untouched
    until used) and starts empty: after a restart, test 3 answers for the
    blocks stored before it.

    DESIGN, publishing submitted transactions: accepted txs are appended,
    as they are accepted, to one TxBatch being built (its wire bytes: each
    envelope packed once, straight into the buffer), and the batch goes
    out on "txb" as one message at the end of each pass over the rpc
    socket, or earlier when it reaches S_BATCH_MAX_SIZE bytes or
    CC_GOSSIP_BATCH_MAX_TXS transactions, and before anything else is
    published (so a block never overtakes the txs accepted before it).
    Subscribers pay the per-message cost (and the relay one send and one
    wake-up per subscriber) once per batch instead of once per tx. The
    batch is not remembered in the gossip dedupe set: hashing its bytes
    would cost another pass over every tx, and a node echoing it back is
    merely forwarded once more (its copy is then remembered like any
    gossip), while every mempool downstream dedupes each tx anyway.
    Outside s_on_rpc the batch is always empty.
    =========================================================================
*/

#include "relay.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "block.h"
#include "chain.h"
#include "genesis.h"
#include "gossip.h"
#include "metrics.h"
#include "rpc.h"
#include "seen.h"
#include "service.h"
#include "tx.h"

//  Bounds of relay/max_message_kb: a transaction must fit; an int holds it.
#define S_MIN_MESSAGE_KB 128
#define S_MAX_MESSAGE_KB (1024 * 1024)
//  Room left in a GetBlocks reply for the Reply's own fields.
#define S_REPLY_OVERHEAD (64 * 1024)
//  Messages read from one socket per wake-up, so no socket starves another.
#define S_BURST 256
//  Metrics event period.
#define S_TICK_MS 1000
//  Bounds of relay/committed_txs (about 48 bytes each: 4 Mi is ~200 MiB).
#define S_MIN_COMMITTED 1
#define S_MAX_COMMITTED (4 * 1024 * 1024)
//  Upper bound of relay/resubmit_ms: one day (the lower is 1 ms: 0 would
//  let every copy through, twice in one batch too).
#define S_MAX_RESUBMIT_MS (24ull * 3600 * 1000)
//  A "txb" publication leaves before it would grow past this many bytes,
//  far below every subscriber's message size limit.
#define S_BATCH_MAX_SIZE (1024 * 1024)
//  Tag of TxBatch field 1 (txs): field number 1, length-delimited.
#define S_BATCH_TAG 0x0a
//  Longest varint of a length.
#define S_VARINT_MAX 10

typedef struct {
    zsock_t *pipe;              //  actor pipe to main
    cc_config_t *config;        //  configuration (borrowed)
    cc_log_t *log;              //  service log (borrowed)
    cc_genesis_t *genesis;      //  genesis of the chain (owned)
    cc_chain_t *chain;          //  committed chain over store/path (owned)
    const char *chain_id;       //  genesis chain id (owned by genesis)
    zsock_t *rpc;               //  ROUTER relay/rpc
    zsock_t *pub;               //  XPUB relay/pub
    zsock_t *gossip;            //  XSUB relay/gossip
    cc_metrics_t *metrics;      //  counters and the evt event
    cc_seen_t *gossip_seen;     //  H(topic || payload) of recent gossip and publications
    cc_seen_t *tx_seen;         //  H(tx hash || signature) of recent submissions ->
                                //  when accepted (monotonic ms)
    uint64_t resubmit_ms;       //  relay/resubmit_ms
    cc_seen_t *committed;       //  tx hash -> height, for recently committed txs
    uint8_t *batch;             //  TxBatch wire bytes of accepted txs not yet published
    size_t batch_size;          //  bytes of it in use
    size_t batch_capacity;      //  bytes allocated
    size_t batch_count;         //  transactions in it
    size_t max_message_size;    //  relay/max_message_kb in bytes
    bool unsafe_skip_checks;    //  test only: publish uploads unverified
} self_t;

//  --- Configuration -----------------------------------------------------------------

void
cc_relay_define (cc_config_t *config)
{
    cc_config_define (config, "relay/rpc", CC_RELAY_RPC_DEFAULT, "rpc",
                      "ROUTER endpoint bound for requests (SubmitTx, UploadBlock, GetBlocks...)");
    cc_config_define (config, "relay/pub", CC_RELAY_PUB_DEFAULT, "pub",
                      "XPUB endpoint bound for subscribers (topics tx, cns, blk, evt)");
    cc_config_define (config, "relay/gossip", CC_RELAY_GOSSIP_DEFAULT, "gossip",
                      "XSUB endpoint bound for publishers (consensus messages, txs, events)");
    cc_config_define (config, "relay/unsafe_skip_checks", "0", "unsafe-skip-checks",
                      "TEST ONLY: 1 publishes uploaded blocks without verifying or storing them");
    cc_config_define (config, "relay/max_message_kb", "16384", "max-message-kb",
                      "largest message accepted on any socket, in KiB");
    cc_config_define (config, "relay/committed_txs", "262144", "committed-txs",
                      "hashes of recently committed transactions kept in memory to refuse "
                      "resubmissions without a store read (about 48 bytes each)");
    cc_config_define (config, "relay/resubmit_ms", "10000", "resubmit-ms",
                      "a transaction submitted again this long after it was accepted, and "
                      "still not committed, is accepted and published again (a full mempool "
                      "may have dropped it); sooner it is refused as DUPLICATE");
    cc_service_define_common (config, "./relay-data");
}

int
cc_relay_check (cc_config_t *config, cc_reason_t *reason)
{
    if (cc_config_arg_count (config) > 0)
        return cc_reason_set (reason, CC_E_CONFIG, "unexpected argument '%s' (see --help)",
                              cc_config_arg (config, 0));
    const char *endpoints [] = {"relay/rpc", "relay/pub", "relay/gossip"};
    for (size_t index = 0; index < sizeof (endpoints) / sizeof (endpoints [0]); index++) {
        const char *value = cc_config_get (config, endpoints [index]);
        if (!value || !*value)
            return cc_reason_set (reason, CC_E_CONFIG, "%s: an endpoint is required",
                                  endpoints [index]);
    }
    bool skip = false;
    int rc = cc_config_get_bool (config, "relay/unsafe_skip_checks", &skip, reason);
    if (rc != 0)
        return rc;
    uint64_t value = 0;
    rc = cc_config_get_u64_range (config, "relay/max_message_kb", S_MIN_MESSAGE_KB,
                                  S_MAX_MESSAGE_KB, &value, reason);
    if (rc != 0)
        return rc;
    rc = cc_config_get_u64_range (config, "relay/committed_txs", S_MIN_COMMITTED,
                                  S_MAX_COMMITTED, &value, reason);
    if (rc != 0)
        return rc;
    rc = cc_config_get_u64_range (config, "relay/resubmit_ms", 1, S_MAX_RESUBMIT_MS, &value,
                                  reason);
    if (rc != 0)
        return rc;
    const char *store = cc_config_get (config, "store/path");
    if (!store || !*store)
        return cc_reason_set (reason, CC_E_CONFIG, "store/path: a directory is required");
    return 0;
}

static bool
s_is_boolean_word (const char *text)
{
    const char *words [] = {"0", "1", "true", "false", "yes", "no"};
    for (size_t index = 0; index < sizeof (words) / sizeof (words [0]); index++)
        if (strcasecmp (text, words [index]) == 0)
            return true;
    return false;
}

char **
cc_relay_args_normalize (int argc, char **argv)
{
    char **args = (char **) calloc ((size_t) argc + 1, sizeof (char *));
    if (!args)
        return NULL;
    for (int index = 0; index < argc; index++) {
        args [index] = argv [index];
        bool bare = strcmp (argv [index], "--unsafe-skip-checks") == 0
                    && (index + 1 >= argc || !s_is_boolean_word (argv [index + 1]));
        if (bare)
            args [index] = (char *) "--unsafe-skip-checks=1";
    }
    return args;
}

//  --- Helpers ---------------------------------------------------------------------

//  Adds one to the counter prefix + the code's stable name ("drop.MALFORMED").
static void
s_count (self_t *self, const char *prefix, int code)
{
    char name [64];
    snprintf (name, sizeof (name), "%s%s", prefix, cc_error_name (code));
    cc_metrics_add (self->metrics, name, 1);
}

static void
s_hex (const uint8_t *data, size_t size, char *text)
{
    cc_hex_encode (data, size, text);
}

static void
s_reply_error (self_t *self, zframe_t *identity, uint64_t id, int code, const char *message)
{
    cc_rpc_reply_error (self->rpc, identity, id, code, message);
}

static void
s_reply_ok (self_t *self, zframe_t *identity, uint64_t id)
{
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_OK;
    reply.ok = true;
    cc_rpc_reply (self->rpc, identity, &reply);
}

//  --- Publishing -----------------------------------------------------------------------

//  Publishes the transactions accepted since the last call as one TxBatch
//  on "txb" (see DESIGN), if there are any.
static void
s_flush_txs (self_t *self)
{
    if (self->batch_count == 0)
        return;
    if (cc_rpc_send_bytes (self->pub, NULL, CC_TOPIC_TX_BATCH, self->batch,
                           self->batch_size) == 0)
        cc_metrics_add (self->metrics, "published.batches", 1);
    else
        cc_metrics_add (self->metrics, "error.publish", 1);
    self->batch_size = 0;
    self->batch_count = 0;
}

//  Publishes [topic][data] on pub and remembers it, so that the same bytes
//  coming back through gossip (a node echoing what it heard) stop here.
//  Transactions accepted before go out first.
static void
s_publish (self_t *self, const char *topic, const uint8_t *data, size_t size)
{
    s_flush_txs (self);
    uint8_t key [CC_HASH_SIZE];
    cc_hash2 (topic, strlen (topic), data, size, key);
    cc_seen_insert (self->gossip_seen, key);
    if (cc_rpc_send_bytes (self->pub, NULL, topic, data, size) != 0)
        cc_metrics_add (self->metrics, "error.publish", 1);
}

//  Writes value as a protobuf varint at cursor; returns the bytes written.
static size_t
s_varint_put (uint8_t *cursor, uint64_t value)
{
    size_t written = 0;
    while (value >= 0x80) {
        cursor [written++] = (uint8_t) (value | 0x80);
        value >>= 7;
    }
    cursor [written++] = (uint8_t) value;
    return written;
}

//  Appends tx to the batch being built, as TxBatch field 1: the envelope is
//  packed once, straight into the batch bytes. 0 or NOMEM.
static int
s_batch_add (self_t *self, cc_tx_t *tx, cc_reason_t *reason)
{
    size_t size = cc_tx_size (tx);
    size_t need = 1 + S_VARINT_MAX + size;
    if (self->batch_count > 0
        && (self->batch_size + need > S_BATCH_MAX_SIZE
            || self->batch_count >= CC_GOSSIP_BATCH_MAX_TXS))
        s_flush_txs (self);
    if (self->batch_size + need > self->batch_capacity) {
        size_t capacity = self->batch_capacity ? 2 * self->batch_capacity : 64 * 1024;
        while (capacity < self->batch_size + need)
            capacity *= 2;
        uint8_t *grown = (uint8_t *) realloc (self->batch, capacity);
        if (!grown)
            return cc_reason_set (reason, CC_E_NOMEM, "out of memory for the publication");
        self->batch = grown;
        self->batch_capacity = capacity;
    }
    uint8_t *cursor = self->batch + self->batch_size;
    *cursor++ = S_BATCH_TAG;
    cursor += s_varint_put (cursor, size);
    size_t packed = certchain__signed__pack (cc_tx_envelope (tx), cursor);
    //  cc_tx_size is the packed size of this very envelope.
    assert (packed == size);
    self->batch_size = (size_t) (cursor - self->batch) + packed;
    self->batch_count++;
    return 0;
}

//  --- Transactions ------------------------------------------------------------------

//  Refuses a committed tx with DUPLICATE "transaction already committed at
//  height H": from memory, by nonce, or from the index (DESIGN above).
static int
s_check_committed (self_t *self, cc_tx_t *tx, cc_reason_t *reason)
{
    const uint8_t *hash = cc_tx_hash (tx);
    uint64_t height = 0;
    if (cc_seen_get (self->committed, hash, &height))
        return cc_reason_set (reason, CC_E_DUPLICATE,
                              "transaction already committed at height %" PRIu64, height);
    uint64_t balance = 0, nonce = 0;
    int rc = cc_state_account_peek (cc_chain_state (self->chain), cc_tx_signer (tx), &balance,
                                    &nonce);
    if ((rc == 0 || rc == CC_E_NOT_FOUND) && cc_tx_nonce (tx) > nonce)
        return 0;
    cc_metrics_add (self->metrics, "tx_index.reads", 1);
    uint32_t index = 0;
    int found = cc_chain_tx (self->chain, hash, &height, &index);
    if (found == 0)
        return cc_reason_set (reason, CC_E_DUPLICATE,
                              "transaction already committed at height %" PRIu64, height);
    if (found != CC_E_NOT_FOUND)
        return cc_reason_set (reason, found, "transaction index: %s", cc_error_message (found));
    return 0;
}

//  Checks, dedupes and queues for publication one submitted transaction.
//  hash gets the tx hash and *has_hash says whether the envelope got that
//  far. 0, or the refusal code with reason.
static int
s_accept_tx (self_t *self, const Certchain__Signed *envelope, uint8_t *hash, bool *has_hash,
             cc_reason_t *reason)
{
    *has_hash = false;
    cc_tx_t *tx = cc_tx_from_envelope (envelope, reason);
    if (!tx) {
        s_count (self, "refused.", reason->code);
        return reason->code;
    }
    memcpy (hash, cc_tx_hash (tx), CC_HASH_SIZE);
    *has_hash = true;
    //  Every stateless rule, but not the signature (see DESIGN above).
    int rc = cc_tx_open (tx, self->chain_id, true, reason);
    uint64_t now_ms = (uint64_t) zclock_mono ();
    bool resubmitted = false;
    uint8_t key [CC_HASH_SIZE];
    if (rc == 0) {
        cc_hash2 (hash, CC_HASH_SIZE, cc_tx_envelope (tx)->signature.data, CC_SIGNATURE_SIZE,
                  key);
        uint64_t accepted_ms = 0;
        resubmitted = cc_seen_get (self->tx_seen, key, &accepted_ms);
        if (resubmitted && now_ms - accepted_ms < self->resubmit_ms)
            rc = cc_reason_set (reason, CC_E_DUPLICATE, "transaction already submitted %"
                                PRIu64 " ms ago (accepted again after relay/resubmit_ms, %"
                                PRIu64 " ms, if still not committed)", now_ms - accepted_ms,
                                self->resubmit_ms);
    }
    if (rc == 0)
        rc = s_check_committed (self, tx, reason);
    if (rc == 0)
        rc = s_batch_add (self, tx, reason);
    if (rc == 0) {
        if (resubmitted) {
            cc_seen_set (self->tx_seen, key, now_ms);
            cc_metrics_add (self->metrics, "resubmitted", 1);
        }
        else
            cc_seen_put (self->tx_seen, key, now_ms);
        cc_metrics_add (self->metrics, "submitted", 1);
    }
    else
        s_count (self, "refused.", rc);
    cc_tx_destroy (&tx);
    return rc;
}

static void
s_submit_tx (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    uint8_t hash [CC_HASH_SIZE];
    bool has_hash = false;
    int rc = s_accept_tx (self, request->submit_tx ? request->submit_tx->tx : NULL, hash,
                          &has_hash, &reason);
    if (rc != 0) {
        s_reply_error (self, identity, request->id, rc, cc_reason_text (&reason));
        return;
    }
    Certchain__TxResult result = CERTCHAIN__TX_RESULT__INIT;
    result.hash = cc_bytes_view (hash, CC_HASH_SIZE);
    Certchain__TxResult *results [1] = {&result};
    Certchain__SubmitResult submit = CERTCHAIN__SUBMIT_RESULT__INIT;
    submit.n_results = 1;
    submit.results = results;
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = request->id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_SUBMIT_RESULT;
    reply.submit_result = &submit;
    cc_rpc_reply (self->rpc, identity, &reply);
}

static void
s_submit_batch (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    Certchain__SubmitTxBatch *batch = request->submit_tx_batch;
    size_t count = batch ? batch->n_txs : 0;
    if (count > CC_RELAY_MAX_BATCH) {
        char message [96];
        snprintf (message, sizeof (message), "batch of %zu transactions, at most %d", count,
                  CC_RELAY_MAX_BATCH);
        s_reply_error (self, identity, request->id, CC_E_OVERSIZE, message);
        return;
    }
    //  One allocation per array; the reply's fields point into them.
    size_t slots = count ? count : 1;
    Certchain__TxResult *results = calloc (slots, sizeof (Certchain__TxResult));
    Certchain__TxResult **pointers = calloc (slots, sizeof (Certchain__TxResult *));
    Certchain__Error *errors = calloc (slots, sizeof (Certchain__Error));
    cc_reason_t *reasons = calloc (slots, sizeof (cc_reason_t));
    uint8_t *hashes = calloc (slots, CC_HASH_SIZE);
    if (!results || !pointers || !errors || !reasons || !hashes)
        s_reply_error (self, identity, request->id, CC_E_NOMEM, NULL);
    else {
        for (size_t index = 0; index < count; index++) {
            Certchain__TxResult *result = &results [index];
            certchain__tx_result__init (result);
            pointers [index] = result;
            uint8_t *hash = hashes + index * CC_HASH_SIZE;
            bool has_hash = false;
            int rc = s_accept_tx (self, batch->txs [index], hash, &has_hash, &reasons [index]);
            if (has_hash)
                result->hash = cc_bytes_view (hash, CC_HASH_SIZE);
            if (rc != 0) {
                cc_rpc_error_set (&errors [index], rc, cc_reason_text (&reasons [index]));
                result->error = &errors [index];
            }
        }
        Certchain__SubmitResult submit = CERTCHAIN__SUBMIT_RESULT__INIT;
        submit.n_results = count;
        submit.results = pointers;
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.id = request->id;
        reply.kind_case = CERTCHAIN__REPLY__KIND_SUBMIT_RESULT;
        reply.submit_result = &submit;
        cc_rpc_reply (self->rpc, identity, &reply);
    }
    free (results);
    free (pointers);
    free (errors);
    free (reasons);
    free (hashes);
}

//  --- Blocks --------------------------------------------------------------------------

//  A block at a height the relay already stores: the same one (0) or
//  another (EXISTS, a conflict).
static int
s_known_block (self_t *self, cc_block_t *block, cc_reason_t *reason)
{
    uint64_t height = cc_block_height (block);
    if (height == cc_chain_height (self->chain)
        && memcmp (cc_block_hash (block), cc_chain_tip_hash (self->chain), CC_HASH_SIZE) == 0)
        return 0;
    uint64_t stored = 0;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_chain_block_by_hash (self->chain, cc_block_hash (block), &stored, &data, &size);
    free (data);
    if (rc == 0 && stored == height)
        return 0;
    if (rc != 0 && rc != CC_E_NOT_FOUND)
        return cc_reason_set (reason, rc, "block index: %s", cc_error_message (rc));
    return cc_reason_set (reason, CC_E_EXISTS, "relay holds another block at height %" PRIu64,
                          height);
}

//  Verifies, stores and publishes the next block. 0 or the verdict.
static int
s_store_block (self_t *self, cc_block_t *block, cc_reason_t *reason)
{
    cc_block_verify_opts_t opts = {
        .require_commit = true,
        .trust_signatures = true,       //  under a quorum commit (DESIGN above)
        .threads = 0,
    };
    cc_exec_t *exec = NULL;
    int rc = cc_chain_verify (self->chain, block, &opts, &exec, reason);
    if (rc == 0)
        rc = cc_chain_commit (self->chain, block, &exec, reason);
    cc_exec_destroy (&exec);
    if (rc != 0)
        return rc;
    //  Remembered for s_check_committed: a client resending a tx of this
    //  block is refused without a read of the index.
    uint64_t height = cc_block_height (block);
    for (size_t index = 0; index < cc_block_tx_count (block); index++)
        cc_seen_put (self->committed, cc_tx_hash (cc_block_tx (block, index)), height);
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_block_encode (block, true, &data, &size) == 0)
        s_publish (self, CC_TOPIC_BLOCK, data, size);
    else
        cc_metrics_add (self->metrics, "error.publish", 1);
    free (data);
    return 0;
}

static void
s_upload_block (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    ProtobufCBinaryData bytes = request->upload_block ? request->upload_block->block
                                                      : cc_bytes_view (NULL, 0);
    if (self->unsafe_skip_checks) {
        s_publish (self, CC_TOPIC_BLOCK, bytes.data, bytes.len);
        cc_metrics_add (self->metrics, "upload.unchecked", 1);
        cc_log_warn (self->log, "published an upload of %zu bytes UNCHECKED (unsafe_skip_checks)",
                     bytes.len);
        s_reply_ok (self, identity, request->id);
        return;
    }
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = 0;
    cc_block_t *block = cc_block_decode (bytes.data, bytes.len, &reason);
    uint64_t tip = cc_chain_height (self->chain);
    uint64_t height = block ? cc_block_height (block) : 0;
    if (!block)
        rc = reason.code;
    else
    if (height == 0)
        rc = cc_reason_set (&reason, CC_E_WRONG_HEIGHT, "relay height %" PRIu64, tip);
    else
    if (height <= tip) {
        rc = s_known_block (self, block, &reason);
        if (rc == 0) {
            cc_metrics_add (self->metrics, "upload.duplicate", 1);
            s_reply_ok (self, identity, request->id);
            cc_block_destroy (&block);
            return;
        }
        if (rc == CC_E_EXISTS) {
            cc_metrics_add (self->metrics, "conflict", 1);
            char hash [2 * CC_HASH_SIZE + 1];
            s_hex (cc_block_hash (block), CC_HASH_SIZE, hash);
            cc_log_warn (self->log, "conflicting block %s at stored height %" PRIu64, hash,
                         height);
        }
    }
    else
    if (height > tip + 1)
        //  The exact text lets the uploader send the blocks the relay lacks.
        rc = cc_reason_set (&reason, CC_E_WRONG_HEIGHT, "relay height %" PRIu64, tip);
    else {
        rc = s_store_block (self, block, &reason);
        if (rc == 0) {
            cc_metrics_add (self->metrics, "uploads", 1);
            cc_metrics_committed (self->metrics, cc_block_tx_count (block));
            cc_metrics_set_height (self->metrics, height);
            char proposer [2 * CC_PUBKEY_SIZE + 1];
            s_hex (cc_block_proposer (block), CC_PUBKEY_SIZE, proposer);
            cc_log_info (self->log, "stored block %" PRIu64 " (%zu txs, round %u) by %.16s",
                         height, cc_block_tx_count (block), cc_block_round (block), proposer);
            s_reply_ok (self, identity, request->id);
            cc_block_destroy (&block);
            return;
        }
        cc_log_warn (self->log, "refused block %" PRIu64 ": %s: %s", height,
                     cc_error_name (rc), cc_reason_text (&reason));
    }
    if (rc != CC_E_EXISTS)
        s_count (self, "upload.refused.", rc);
    s_reply_error (self, identity, request->id, rc, cc_reason_text (&reason));
    cc_block_destroy (&block);
}

static void
s_get_blocks (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    uint64_t from = request->get_blocks ? request->get_blocks->from_height : 0;
    uint32_t limit = request->get_blocks ? request->get_blocks->max_count : 0;
    if (from == 0)
        from = 1;
    if (limit == 0 || limit > CC_RELAY_MAX_BLOCKS)
        limit = CC_RELAY_MAX_BLOCKS;
    size_t budget = self->max_message_size < CC_RELAY_MAX_REPLY_BYTES
                        ? self->max_message_size : CC_RELAY_MAX_REPLY_BYTES;
    budget -= S_REPLY_OVERHEAD;
    ProtobufCBinaryData *blocks = calloc (limit, sizeof (ProtobufCBinaryData));
    if (!blocks) {
        s_reply_error (self, identity, request->id, CC_E_NOMEM, NULL);
        return;
    }
    size_t count = 0, total = 0;
    int rc = 0;
    uint64_t tip = cc_chain_height (self->chain);
    for (uint64_t height = from; height <= tip && count < limit; height++) {
        uint8_t *data = NULL;
        size_t size = 0;
        rc = cc_chain_block (self->chain, height, &data, &size);
        if (rc != 0)
            break;
        //  Always at least one block, so a large block cannot stall a sync.
        if (count > 0 && total + size + 16 > budget) {
            free (data);
            break;
        }
        blocks [count++] = cc_bytes_view (data, size);
        total += size + 16;
    }
    if (rc != 0)
        s_reply_error (self, identity, request->id, rc, "reading blocks from the store");
    else {
        Certchain__Blocks list = CERTCHAIN__BLOCKS__INIT;
        list.n_blocks = count;
        list.blocks = blocks;
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.id = request->id;
        reply.kind_case = CERTCHAIN__REPLY__KIND_BLOCKS;
        reply.blocks = &list;
        cc_rpc_reply (self->rpc, identity, &reply);
    }
    for (size_t index = 0; index < count; index++)
        free (blocks [index].data);
    free (blocks);
}

static void
s_get_block (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    Certchain__GetBlock *get = request->get_block;
    uint64_t tip = cc_chain_height (self->chain);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = 0;
    char message [160] = "";
    if (get && get->hash.len > 0) {
        if (!cc_bytes_sized (get->hash, CC_HASH_SIZE)) {
            rc = CC_E_BAD_FIELD;
            snprintf (message, sizeof (message), "hash must be 32 bytes");
        }
        else {
            rc = cc_chain_block_by_hash (self->chain, get->hash.data, NULL, &data, &size);
            if (rc == CC_E_NOT_FOUND)
                snprintf (message, sizeof (message), "no block with that hash");
        }
    }
    else {
        uint64_t height = get && get->height ? get->height : tip;
        rc = cc_chain_block (self->chain, height, &data, &size);
        if (rc == CC_E_NOT_FOUND)
            snprintf (message, sizeof (message), "no block %" PRIu64 ": relay height %" PRIu64,
                      height, tip);
    }
    if (rc != 0)
        s_reply_error (self, identity, request->id, rc, *message ? message : NULL);
    else {
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.id = request->id;
        reply.kind_case = CERTCHAIN__REPLY__KIND_BLOCK;
        reply.block = cc_bytes_view (data, size);
        cc_rpc_reply (self->rpc, identity, &reply);
    }
    free (data);
}

static void
s_get_tx (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    ProtobufCBinaryData hash = request->get_tx ? request->get_tx->hash : cc_bytes_view (NULL, 0);
    if (!cc_bytes_sized (hash, CC_HASH_SIZE)) {
        s_reply_error (self, identity, request->id, CC_E_BAD_FIELD, "hash must be 32 bytes");
        return;
    }
    Certchain__TxInfo *info = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_chain_tx_info (self->chain, hash.data, &info, &reason);
    if (rc != 0) {
        s_reply_error (self, identity, request->id, rc, cc_reason_text (&reason));
        return;
    }
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = request->id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_TX_INFO;
    reply.tx_info = info;
    cc_rpc_reply (self->rpc, identity, &reply);
    cc_chain_tx_info_free (&info);
}

static void
s_get_status (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    Certchain__Status status;
    cc_chain_status (self->chain, "relay", NULL, NULL, &status);
    status.discarded = cc_metrics_sum (self->metrics, "upload.refused.");
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = request->id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
    reply.status = &status;
    cc_rpc_reply (self->rpc, identity, &reply);
}

//  --- Socket handlers --------------------------------------------------------------

static void
s_handle_request (self_t *self, zframe_t *identity, Certchain__Request *request)
{
    switch (request->kind_case) {
        case CERTCHAIN__REQUEST__KIND_SUBMIT_TX:
            s_submit_tx (self, identity, request);
            break;
        case CERTCHAIN__REQUEST__KIND_SUBMIT_TX_BATCH:
            s_submit_batch (self, identity, request);
            break;
        case CERTCHAIN__REQUEST__KIND_UPLOAD_BLOCK:
            s_upload_block (self, identity, request);
            break;
        case CERTCHAIN__REQUEST__KIND_GET_BLOCKS:
            s_get_blocks (self, identity, request);
            break;
        case CERTCHAIN__REQUEST__KIND_GET_BLOCK:
            s_get_block (self, identity, request);
            break;
        case CERTCHAIN__REQUEST__KIND_GET_TX:
            s_get_tx (self, identity, request);
            break;
        case CERTCHAIN__REQUEST__KIND_GET_STATUS:
            s_get_status (self, identity, request);
            break;
        default:
            cc_metrics_add (self->metrics, "error.UNSUPPORTED", 1);
            s_reply_error (self, identity, request->id, CC_E_UNSUPPORTED,
                           "the relay answers SubmitTx, SubmitTxBatch, UploadBlock, GetBlocks, "
                           "GetBlock, GetTx and GetStatus");
            break;
    }
}

static int
s_on_rpc (zloop_t *loop, zsock_t *socket, void *argument)
{
    self_t *self = (self_t *) argument;
    for (int burst = 0; burst < S_BURST && (zsock_events (socket) & ZMQ_POLLIN); burst++) {
        zframe_t *identity = NULL;
        int code = 0;
        Certchain__Request *request = cc_rpc_recv (socket, &identity, self->max_message_size,
                                                   &code);
        if (!request) {
            //  cc_rpc_recv already answered with an Error.
            if (code != 0)
                s_count (self, "error.", code);
            continue;
        }
        s_handle_request (self, identity, request);
        cc_rpc_request_free (&request);
        zframe_destroy (&identity);
    }
    //  Every tx accepted in this pass, as one message (see DESIGN).
    s_flush_txs (self);
    return 0;
}

static int
s_on_gossip (zloop_t *loop, zsock_t *socket, void *argument)
{
    self_t *self = (self_t *) argument;
    for (int burst = 0; burst < S_BURST && (zsock_events (socket) & ZMQ_POLLIN); burst++) {
        zmsg_t *message = zmsg_recv (socket);
        if (!message)
            break;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        zframe_t *topic = NULL, *payload = NULL;
        int rc = cc_rpc_split (message, false, NULL, &topic, &payload);
        if (rc != 0)
            cc_reason_set (&reason, rc, "expected two frames [topic][payload], got %zu",
                           zmsg_size (message));
        else
            rc = cc_gossip_check (self->chain_id, zframe_data (topic), zframe_size (topic),
                                  zframe_data (payload), zframe_size (payload),
                                  self->max_message_size, &reason);
        if (rc == 0) {
            uint8_t key [CC_HASH_SIZE];
            cc_hash2 (zframe_data (topic), zframe_size (topic), zframe_data (payload),
                      zframe_size (payload), key);
            if (!cc_seen_insert (self->gossip_seen, key))
                rc = cc_reason_set (&reason, CC_E_DUPLICATE, "already relayed");
        }
        if (rc != 0) {
            s_count (self, "drop.", rc);
            if (rc != CC_E_DUPLICATE)
                cc_log_debug (self->log, "dropped gossip: %s: %s", cc_error_name (rc),
                              cc_reason_text (&reason));
            zmsg_destroy (&message);
            continue;
        }
        if (zmsg_send (&message, self->pub) == 0)
            cc_metrics_add (self->metrics, "forwarded", 1);
        else {
            cc_metrics_add (self->metrics, "error.publish", 1);
            zmsg_destroy (&message);
        }
    }
    return 0;
}

//  Subscribers' (un)subscriptions: the relay subscribes to everything
//  upstream anyway, so they are read only to keep the queue empty.
static int
s_on_pub (zloop_t *loop, zsock_t *socket, void *argument)
{
    for (int burst = 0; burst < S_BURST && (zsock_events (socket) & ZMQ_POLLIN); burst++) {
        zmsg_t *message = zmsg_recv (socket);
        if (!message)
            break;
        zmsg_destroy (&message);
    }
    return 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    cc_metrics_publish (self->metrics, self->pub, cc_service_now_ms ());
    return 0;
}

//  --- Start and stop ----------------------------------------------------------------

static void
s_self_destroy (self_t **self_p)
{
    if (*self_p) {
        self_t *self = *self_p;
        zsock_destroy (&self->rpc);
        zsock_destroy (&self->pub);
        zsock_destroy (&self->gossip);
        cc_seen_destroy (&self->gossip_seen);
        cc_seen_destroy (&self->tx_seen);
        cc_seen_destroy (&self->committed);
        free (self->batch);
        cc_metrics_destroy (&self->metrics);
        cc_chain_destroy (&self->chain);
        cc_genesis_destroy (&self->genesis);
        free (self);
        *self_p = NULL;
    }
}

//  A bound socket of type with the socket policy, or NULL (logged).
static zsock_t *
s_bind (self_t *self, int type, const char *key)
{
    zsock_t *socket = zsock_new (type);
    if (!socket) {
        cc_log_error (self->log, "cannot create the socket for %s", key);
        return NULL;
    }
    cc_rpc_socket_policy (socket, self->max_message_size);
    if (cc_service_bind (socket, self->config, key, self->log) != 0)
        zsock_destroy (&socket);
    return socket;
}

//  Opens the chain and binds the sockets. NULL with *exit_code on failure.
static self_t *
s_self_new (zsock_t *pipe, cc_relay_args_t *args, int *exit_code)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    if (!self) {
        *exit_code = CC_EXIT_FAILURE;
        return NULL;
    }
    self->pipe = pipe;
    self->config = args->config;
    self->log = args->log;
    self->max_message_size =
        (size_t) cc_service_u64 (self->config, "relay/max_message_kb", 16384) * 1024;
    bool skip = false;
    cc_config_get_bool (self->config, "relay/unsafe_skip_checks", &skip, NULL);
    self->unsafe_skip_checks = skip;

    cc_reason_t reason;
    cc_reason_clear (&reason);
    const char *genesis_path = cc_config_get (self->config, "genesis/path");
    self->genesis = cc_genesis_load (genesis_path, &reason);
    if (!self->genesis) {
        cc_log_error (self->log, "genesis/path %s: %s", genesis_path, cc_reason_text (&reason));
        *exit_code = CC_EXIT_CONFIG;
        s_self_destroy (&self);
        return NULL;
    }
    self->chain_id = cc_genesis_chain_id (self->genesis);
    const char *store_path = cc_config_get (self->config, "store/path");
    size_t cache = (size_t) cc_service_u64 (self->config, "store/cache_mb", 8) * 1024 * 1024;
    self->chain = cc_chain_open (store_path, self->genesis, cache, &reason);
    if (!self->chain) {
        cc_log_error (self->log, "cannot open store/path %s: %s", store_path,
                      cc_reason_text (&reason));
        *exit_code = CC_EXIT_FAILURE;
        s_self_destroy (&self);
        return NULL;
    }
    self->metrics = cc_metrics_new ("relay", "");
    self->gossip_seen = cc_seen_new (CC_RELAY_RECENT);
    self->tx_seen = cc_seen_new (CC_RELAY_RECENT);
    //  cc_relay_check bounds the key; an embedding that skipped it is told.
    uint64_t committed = 0;
    cc_reason_t why;
    if (cc_config_get_u64_range (self->config, "relay/committed_txs", S_MIN_COMMITTED,
                                 S_MAX_COMMITTED, &committed, &why) != 0) {
        cc_log_error (self->log, "%s", cc_reason_text (&why));
        *exit_code = CC_EXIT_CONFIG;
        s_self_destroy (&self);
        return NULL;
    }
    if (cc_config_get_u64_range (self->config, "relay/resubmit_ms", 1, S_MAX_RESUBMIT_MS,
                                 &self->resubmit_ms, &why) != 0) {
        cc_log_error (self->log, "%s", cc_reason_text (&why));
        *exit_code = CC_EXIT_CONFIG;
        s_self_destroy (&self);
        return NULL;
    }
    self->committed = cc_seen_new ((size_t) committed);
    if (!self->metrics || !self->gossip_seen || !self->tx_seen || !self->committed) {
        cc_log_error (self->log, "out of memory");
        *exit_code = CC_EXIT_FAILURE;
        s_self_destroy (&self);
        return NULL;
    }
    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    self->rpc = s_bind (self, ZMQ_ROUTER, "relay/rpc");
    self->pub = self->rpc ? s_bind (self, ZMQ_XPUB, "relay/pub") : NULL;
    self->gossip = self->pub ? s_bind (self, ZMQ_XSUB, "relay/gossip") : NULL;
    if (!self->gossip) {
        *exit_code = CC_EXIT_FAILURE;
        s_self_destroy (&self);
        return NULL;
    }
    //  An XSUB receives nothing until it subscribes upstream: all topics.
    zframe_t *subscribe = zframe_new ("\x01", 1);
    zframe_send (&subscribe, self->gossip, 0);
    *exit_code = CC_EXIT_OK;
    return self;
}

void
cc_relay_actor (zsock_t *pipe, void *args)
{
    //  The handshake zactor_new waits for; the start-up result follows.
    zsock_signal (pipe, 0);
    int exit_code = CC_EXIT_OK;
    self_t *self = s_self_new (pipe, (cc_relay_args_t *) args, &exit_code);
    zsock_signal (pipe, (byte) exit_code);
    if (!self)
        return;

    char tip [2 * CC_HASH_SIZE + 1];
    s_hex (cc_chain_tip_hash (self->chain), CC_HASH_SIZE, tip);
    cc_log_info (self->log, "relay of chain %s at height %" PRIu64 " (tip %.16s): rpc %s, pub %s, "
                 "gossip %s, store %s", self->chain_id, cc_chain_height (self->chain), tip,
                 cc_config_get (self->config, "relay/rpc"),
                 cc_config_get (self->config, "relay/pub"),
                 cc_config_get (self->config, "relay/gossip"),
                 cc_config_get (self->config, "store/path"));
    if (self->unsafe_skip_checks)
        cc_log_warn (self->log, "UNSAFE: relay/unsafe_skip_checks is on: uploaded blocks are "
                     "published WITHOUT verification and not stored. Tests only!");

    zloop_t *loop = zloop_new ();
    if (loop) {
        zloop_reader (loop, pipe, cc_service_on_pipe, self);
        zloop_reader (loop, self->rpc, s_on_rpc, self);
        zloop_reader (loop, self->gossip, s_on_gossip, self);
        zloop_reader (loop, self->pub, s_on_pub, self);
        zloop_timer (loop, S_TICK_MS, 0, s_on_tick, self);
        //  Ends on $TERM from main, or by itself on SIGINT / SIGTERM.
        zloop_start (loop);
        zloop_destroy (&loop);
    }
    else
        cc_log_error (self->log, "cannot create the event loop");
    cc_log_info (self->log, "stopping at height %" PRIu64, cc_chain_height (self->chain));
    s_self_destroy (&self);
}
