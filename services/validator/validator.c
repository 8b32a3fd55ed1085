/*  =========================================================================
    validator - the certchain-validator service: an actor with one zloop

    The actor owns every object of the service and one zloop that reads:
      pipe     $TERM from main
      sub      topics from the relay: "txb" (the relay's batches of
               submitted txs) and "tx" (a single tx from gossip), each tx
               to the checker, then the mempool; "cns" (to the consensus
               driver), "blk" (to sync)
      relay    replies on the DEALER: sync's first, then our own
               GetStatus and UploadBlock replies
      admin    GetStatus requests
      workers  checked transaction batches (inside the checker)
      ca       the join protocol's replies and workers (the candidate)
    plus the driver's consensus timers and one tick a second (metrics,
    sync retries, status polls, stalled-consensus rebroadcast, join
    time-outs, resends of our own transactions).

    DESIGN
    - Whether consensus may run is one predicate, s_update_hold: not while
      the start-up GetStatus is unanswered (at most S_JOIN_WAIT_MS), not
      while common/sync is behind the network, not after a fatal error.
      It is re-evaluated after every event that can change it.
    - How the validator learns it is behind: a "blk" block above tip + 1
      (sync keeps it and fetches the gap), a relay status above the tip
      (polled every S_STATUS_MS), or a consensus message signed by a member
      for a height above tip + 1. The last one triggers a GetStatus instead
      of trusting the signed height as a sync target: a single faulty
      member could otherwise name a height that will never exist and hold
      this node behind forever; the relay only reports committed blocks.
    - Uploads are pipelined on the DEALER (never lock-step); replies are
      matched by request id in a small ring. "relay height N" (WRONG_HEIGHT)
      starts a backfill of blocks N+1.. from our own chain, at most
      S_BACKFILL_WINDOW in flight; a relay status below our tip does too,
      so a relay that lost blocks is refilled by its validators.
    - Transactions: decoded on the loop (cheap), dropped early when the
      mempool already knows their hash, else checked on the worker pool;
      a checked tx enters the mempool as pre-opened (no second check).
      The relay publishes submitted txs in batches (topic "txb", one
      TxBatch a message); a batch is decoded once and each of its txs
      takes the same path as a single "tx" from gossip.
    - Certification (issue 4): a validator outside V(next height) joins
      through the CA (candidate.h) once it is caught up, and a member
      renews its certificate before it expires; consensus needs nothing
      of it, since the driver starts every height with the set the chain
      says. Our own transactions (Evidence from the driver's EVIDENCE
      outputs, Resign at stop) go through the outbox (outbox.h): SubmitTx
      on the relay DEALER, plus a copy into our own mempool.
    - Shutdown, two steps. main turns the first SIGTERM or SIGINT into
      "STOP" on the pipe: a member (resign_on_stop) submits a Resign and
      keeps running, consensus included, since leaving before the chain
      has taken it out of the set would take its vote from the quorum;
      once it is out of V(next height) (its Resign committed, or any
      other way out) it sends "DONE" at the next tick, so the block that
      took it out is uploaded first; after resign_timeout_ms it sends
      "DONE" anyway, with a warning. A non-member answers "DONE" at once.
      main then sends $TERM, which ends the loop at once (also what a
      second signal does); objects are destroyed in reverse order and the
      chain closes its store. Signals are main's business: the actor
      blocks SIGTERM and SIGINT in its thread before it starts any other
      (workers inherit the mask), so no call here or in a worker is cut
      short by one, and no wait for a worker (a solve, a measurement) can
      return before the worker ended. Should a signal reach the loop
      anyway (an embedding that started threads otherwise), zloop_start
      returns 0 and the actor starts it again unless it was told to end.
    =========================================================================
*/

#include "validator.h"

#include "block.h"
#include "candidate.h"
#include "chain.h"
#include "checker.h"
#include "driver.h"
#include "genesis.h"
#include "mempool.h"
#include "metrics.h"
#include "outbox.h"
#include "rpc.h"
#include "service.h"
#include "sigcache.h"
#include "sync.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

//  Wait this long for the relay's first status before joining anyway.
#define S_JOIN_WAIT_MS 3000
//  Poll the relay's status this often; a status request older is dropped.
#define S_STATUS_MS 5000
//  At most one GetStatus triggered by consensus messages this often.
#define S_STATUS_TRIGGER_MS 500
//  Upload requests remembered (by id) for their replies.
#define S_UPLOADS 256
//  Backfill uploads in flight, and how long before they are asked again.
#define S_BACKFILL_WINDOW 8
#define S_BACKFILL_RETRY_MS 5000
//  Messages read from the SUB socket per loop turn (then other sockets); a
//  batch of transactions counts as one message per transaction.
#define S_SUB_BURST 2000
//  Largest admin request, and largest message on the other sockets.
#define S_ADMIN_MAX_SIZE (64 * 1024)
#define S_SUB_MAX_SIZE (CC_BLOCK_MAX_SIZE + 64 * 1024)
#define S_RELAY_MAX_SIZE (4 * (size_t) CC_BLOCK_MAX_SIZE)

//  An upload waiting for its reply.
typedef struct {
    uint64_t id;                //  request id (0: free slot)
    uint64_t height;            //  height of the uploaded block
    bool backfill;              //  part of a backfill
} s_upload_t;

typedef struct {
    zsock_t *pipe;              //  to main
    cc_config_t *config;        //  borrowed
    cc_log_t *log;              //  borrowed
    char node [CC_HEX_PUBKEY_SIZE];     //  our public key in hex
    cc_keypair_t *key;          //  validator key
    cc_genesis_t *genesis;      //  the chain's genesis
    cc_chain_t *chain;          //  our chain and store
    cc_mempool_t *mempool;      //  waiting transactions
    cc_metrics_t *metrics;      //  counters and the metrics event
    zsock_t *sub;               //  SUB to the relay's pub
    zsock_t *pub;               //  PUB into the relay's gossip
    zsock_t *admin;             //  ROUTER for GetStatus
    cc_rpc_client_t *relay;     //  DEALER to the relay's rpc
    zloop_t *loop;              //  the event loop
    cc_checker_t *checker;      //  signature-check workers
    cc_driver_t *driver;        //  consensus on the loop
    cc_sync_t *sync;            //  catch-up from the relay
    cc_sigcache_t sync_cache;   //  mempool signature cache for sync
    cc_candidate_t *candidate;  //  the join protocol
    cc_outbox_t *outbox;        //  our own Evidence and Resign txs
    size_t threads;             //  worker threads
    bool resign_on_stop;        //  a member resigns before it stops
    uint64_t resign_timeout_ms; //  longest wait for the Resign at stop
    bool stopping;              //  "STOP" received: leaving
    uint64_t stop_deadline_ms;  //  give up waiting then (mono)
    bool stop_out;              //  out of the set: "DONE" at the next tick
    bool stop_done;             //  "DONE" sent to main
    bool terminated;            //  $TERM received
    bool fatal;                 //  cannot go on; main was told
    bool joined;                //  start-up status answered or waited out
    bool wrong_genesis;         //  the relay serves another chain
    uint64_t start_ms;          //  when the actor started (mono)
    uint64_t status_id;         //  GetStatus in flight, 0 none
    uint64_t status_sent_ms;    //  when it was sent (mono)
    uint64_t relay_height;      //  relay's height at its last status
    s_upload_t uploads [S_UPLOADS];     //  uploads awaiting replies
    size_t upload_slot;         //  next slot of the ring
    uint64_t backfill_next;     //  next height to backfill, 0 none
    uint64_t backfill_last;     //  last height to backfill
    size_t backfill_in_flight;  //  backfill uploads awaiting replies
    uint64_t backfill_ms;       //  last backfill progress (mono)
} s_self_t;

static void s_update_hold (s_self_t *self);
static void s_after_own (s_self_t *self, cc_block_t *block);

//  --- Configuration ---------------------------------------------------------------

void
cc_validator_define (cc_config_t *config)
{
    cc_service_define_common (config, "./validator-data");
    cc_config_define (config, "validator/key", "validator.key", "key",
                      "secret key file of this validator (mode 0600)");
    cc_config_define (config, "validator/admin", "tcp://127.0.0.1:7201", "admin",
                      "admin ROUTER endpoint (GetStatus), bound");
    cc_config_define (config, "validator/threads", "2", "threads",
                      "signature-check worker threads (1 to 64)");
    cc_config_define (config, "relay/rpc", "tcp://127.0.0.1:7101", "relay-rpc",
                      "relay rpc ROUTER endpoint, connected (DEALER)");
    cc_config_define (config, "relay/pub", "tcp://127.0.0.1:7102", "relay-pub",
                      "relay XPUB endpoint, connected (SUB to tx, cns, blk)");
    cc_config_define (config, "relay/gossip", "tcp://127.0.0.1:7103", "relay-gossip",
                      "relay XSUB gossip endpoint, connected (PUB)");
    cc_config_define (config, "ca/join", "tcp://127.0.0.1:7401", "ca-join",
                      "certification authority join endpoint, connected (DEALER)");
    cc_config_define (config, "validator/join", "1", "join",
                      "1: outside the validator set, join through the CA (and renew the "
                      "certificate before it expires); 0: never join, only follow");
    cc_config_define (config, "validator/resign_on_stop", "1", "resign-on-stop",
                      "1: a member stopped by SIGTERM or SIGINT resigns first and exits once "
                      "its Resign is committed; 0: exit at once");
    cc_config_define (config, "validator/resign_timeout_ms", "30000", "resign-timeout-ms",
                      "longest wait for the Resign to be committed at stop (1 to 3600000)");
    cc_config_define (config, "mempool/max_txs", "20000", "mempool-max-txs",
                      "most transactions held in the mempool");
    cc_config_define (config, "mempool/max_bytes", "67108864", "mempool-max-bytes",
                      "most bytes of transactions held in the mempool");
}

int
cc_validator_check (cc_config_t *config, cc_reason_t *reason)
{
    if (cc_config_arg_count (config) > 0)
        return cc_reason_set (reason, CC_E_CONFIG, "unexpected argument '%s' (see --help)",
                              cc_config_arg (config, 0));
    uint64_t value = 0;
    int rc = cc_config_get_u64_range (config, "validator/threads", 1, 64, &value, reason);
    if (rc != 0)
        return rc;
    const char *positive [] = {"mempool/max_txs", "mempool/max_bytes"};
    for (size_t index = 0; index < 2; index++) {
        rc = cc_config_get_u64 (config, positive [index], &value, reason);
        if (rc != 0)
            return rc;
        if (value == 0)
            return cc_reason_set (reason, CC_E_CONFIG, "%s: must be above 0",
                                  positive [index]);
    }
    bool flag = false;
    const char *flags [] = {"validator/join", "validator/resign_on_stop"};
    for (size_t index = 0; index < 2; index++) {
        rc = cc_config_get_bool (config, flags [index], &flag, reason);
        if (rc != 0)
            return rc;
    }
    rc = cc_config_get_u64_range (config, "validator/resign_timeout_ms", 1, 3600000, &value,
                                  reason);
    if (rc != 0)
        return rc;
    const char *endpoints [] = {"validator/admin", "relay/rpc", "relay/pub", "relay/gossip",
                                "ca/join"};
    for (size_t index = 0; index < 5; index++) {
        const char *endpoint = cc_config_get (config, endpoints [index]);
        if (!endpoint || !*endpoint)
            return cc_reason_set (reason, CC_E_CONFIG, "%s: an endpoint is required",
                                  endpoints [index]);
    }
    return 0;
}

//  --- Helpers ----------------------------------------------------------------------

static uint64_t
s_mono (void)
{
    return (uint64_t) zclock_mono ();
}

//  Counts name.CODE, e.g. "drop.MALFORMED".
static void
s_count (s_self_t *self, const char *prefix, int code)
{
    char name [80];
    snprintf (name, sizeof (name), "%s.%s", prefix, cc_error_name (code));
    cc_metrics_add (self->metrics, name, 1);
}

static void
s_fatal (s_self_t *self, const char *message)
{
    if (self->fatal)
        return;
    self->fatal = true;
    cc_log_error (self->log, "fatal: %s", message);
    zstr_send (self->pipe, "FATAL");
}

//  --- Relay requests ---------------------------------------------------------------

static void
s_send_status (s_self_t *self)
{
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    self->status_id = cc_rpc_client_send (self->relay, &request);
    self->status_sent_ms = s_mono ();
}

//  Asks the relay for its status now unless a request is recent.
static void
s_ask_status (s_self_t *self, uint64_t min_interval_ms)
{
    if (self->status_id && s_mono () - self->status_sent_ms < S_STATUS_MS)
        return;
    if (s_mono () - self->status_sent_ms < min_interval_ms)
        return;
    s_send_status (self);
}

//  Uploads the serialized block at height (with its commit).
static void
s_upload_bytes (s_self_t *self, uint64_t height, const uint8_t *data, size_t size, bool backfill)
{
    Certchain__UploadBlock upload = CERTCHAIN__UPLOAD_BLOCK__INIT;
    upload.block = cc_bytes_view (data, size);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_UPLOAD_BLOCK;
    request.upload_block = &upload;
    uint64_t id = cc_rpc_client_send (self->relay, &request);
    if (id == 0) {
        cc_metrics_add (self->metrics, "error.upload_send", 1);
        return;
    }
    s_upload_t *slot = &self->uploads [self->upload_slot];
    self->upload_slot = (self->upload_slot + 1) % S_UPLOADS;
    slot->id = id;
    slot->height = height;
    slot->backfill = backfill;
    cc_metrics_add (self->metrics, "uploads", 1);
}

static void
s_upload_block (s_self_t *self, cc_block_t *block)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_block_encode (block, true, &data, &size) != 0) {
        cc_metrics_add (self->metrics, "error.upload_encode", 1);
        return;
    }
    s_upload_bytes (self, cc_block_height (block), data, size, false);
    free (data);
}

//  Sends backfill uploads while the window has room.
static void
s_backfill_pump (s_self_t *self)
{
    while (self->backfill_next && self->backfill_next <= self->backfill_last
           && self->backfill_in_flight < S_BACKFILL_WINDOW) {
        uint8_t *data = NULL;
        size_t size = 0;
        uint64_t height = self->backfill_next;
        if (cc_chain_block (self->chain, height, &data, &size) != 0) {
            cc_log_warn (self->log, "backfill: cannot read block %" PRIu64, height);
            self->backfill_next = 0;
            break;
        }
        s_upload_bytes (self, height, data, size, true);
        free (data);
        self->backfill_next++;
        self->backfill_in_flight++;
        self->backfill_ms = s_mono ();
    }
    if (self->backfill_next > self->backfill_last && self->backfill_in_flight == 0)
        self->backfill_next = 0;
}

//  The relay has blocks up to relay_height only: send it the rest.
static void
s_backfill_from (s_self_t *self, uint64_t relay_height)
{
    uint64_t tip = cc_chain_height (self->chain);
    if (relay_height >= tip)
        return;
    if (!self->backfill_next || relay_height + 1 < self->backfill_next) {
        if (!self->backfill_next)
            cc_log_info (self->log, "relay is at height %" PRIu64 ", we are at %" PRIu64
                         ": uploading the missing blocks", relay_height, tip);
        self->backfill_next = relay_height + 1;
    }
    self->backfill_last = tip;
    s_backfill_pump (self);
}

//  --- Commits ------------------------------------------------------------------------

//  Book-keeping after any block is committed (by consensus or by sync).
static void
s_after_commit (s_self_t *self, cc_block_t *block, const char *how)
{
    size_t count = cc_block_tx_count (block);
    cc_tx_t **txs = (cc_tx_t **) malloc ((count ? count : 1) * sizeof (cc_tx_t *));
    if (txs) {
        for (size_t index = 0; index < count; index++)
            txs [index] = cc_block_tx (block, index);
        cc_mempool_update (self->mempool, txs, count);
        free (txs);
    }
    cc_metrics_committed (self->metrics, count);
    cc_metrics_set_height (self->metrics, cc_block_height (block));
    char proposer [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (cc_block_proposer (block), CC_PUBKEY_SIZE, proposer);
    //  Empty blocks come several times a second on an idle chain: detail.
    bool notable = count > 0 || strcmp (how, "sync") == 0;
    if (cc_log_enabled (self->log, notable ? CC_LOG_INFO : CC_LOG_DEBUG)) {
        char line [160];
        snprintf (line, sizeof (line), "block %" PRIu64 " committed (%s): %zu txs, round %"
                  PRIu32 ", proposer %.16s", cc_block_height (block), how, count,
                  cc_block_round (block), proposer);
        if (notable)
            cc_log_info (self->log, "%s", line);
        else
            cc_log_debug (self->log, "%s", line);
    }
    s_after_own (self, block);
}

//  cc_driver_committed_fn: a block consensus decided is committed.
static void
s_on_decided (void *argument, cc_block_t *block, bool member)
{
    s_self_t *self = (s_self_t *) argument;
    s_after_commit (self, block, "consensus");
    //  Members upload (the relay dedupes); an observer leaves it to them.
    if (member)
        s_upload_block (self, block);
}

//  cc_driver_publish_fn: our consensus messages go to the gossip.
static void
s_on_publish (void *argument, const uint8_t *data, size_t size)
{
    s_self_t *self = (s_self_t *) argument;
    if (cc_rpc_send_bytes (self->pub, NULL, CC_TOPIC_CONSENSUS, data, size) != 0)
        cc_metrics_add (self->metrics, "error.publish", 1);
}

//  cc_driver_fatal_fn.
static void
s_on_driver_fatal (void *argument, const char *message)
{
    s_fatal ((s_self_t *) argument, message);
}

//  cc_sync_block_fn: sync committed (or discarded) a block.
static void
s_on_sync_block (void *argument, cc_block_t *block, int verdict, const cc_reason_t *reason)
{
    s_self_t *self = (s_self_t *) argument;
    //  Signatures the sync's verification could not find in the cache.
    //  A block it accepted needs no remembering here: s_after_commit
    //  records its txs' hashes and signatures as recently committed.
    if (self->sync_cache.misses > 0) {
        cc_metrics_add (self->metrics, "sig.verified", self->sync_cache.misses);
        self->sync_cache.misses = 0;
    }
    if (verdict == 0) {
        s_after_commit (self, block, "sync");
        cc_driver_chain_advanced (self->driver, block);
        return;
    }
    s_count (self, "discard", verdict);
    cc_log_warn (self->log, "discarded block %" PRIu64 ": %s: %s", cc_block_height (block),
                 cc_error_name (verdict), cc_reason_text (reason));
}

//  cc_driver_evidence_fn: a member signed two conflicting votes.
static void
s_on_evidence (void *argument, const uint8_t *data, size_t size)
{
    s_self_t *self = (s_self_t *) argument;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    //  The outbox logs every outcome (and deduplicates).
    cc_outbox_evidence (self->outbox, data, size, s_mono (), &reason);
}

//  --- Consensus hold -------------------------------------------------------------------

static void
s_update_hold (s_self_t *self)
{
    bool hold = !self->joined || self->wrong_genesis || self->fatal || cc_sync_behind (self->sync);
    cc_driver_set_hold (self->driver, hold);
}

//  --- Transactions ------------------------------------------------------------------------

//  Admits a tx (opened, or one whose signature the pool may know).
static void
s_admit (s_self_t *self, cc_tx_t **tx_p)
{
    cc_reason_t reason;
    int rc = cc_mempool_add (self->mempool, tx_p, &reason);
    if (rc != 0)
        s_count (self, "mempool.refused", rc);
}

//  cc_checker_done_fn. A tx handed back unopened with code 0 was skipped as
//  known (s_on_known): cc_mempool_add decides it by hash AND signature.
static void
s_on_checked (void *argument, cc_tx_t **tx_p, int code)
{
    s_self_t *self = (s_self_t *) argument;
    if (code != 0 || cc_tx_is_open (*tx_p))
        cc_metrics_add (self->metrics, "sig.verified", 1);
    else
        cc_metrics_add (self->metrics, "sig.skipped", 1);
    if (code != 0) {
        s_count (self, "drop", code);
        return;
    }
    s_admit (self, tx_p);
}

//  cc_checker_known_fn: a tx waiting in the checker needs no worker when a
//  proposal already verified this very signature for its hash (or it is
//  pooled or committed with it), or when its hash is pooled (a DUPLICATE,
//  refused before any check). A tx committed with other signature bytes,
//  or verified with other ones, still goes to a worker.
static bool
s_on_known (void *argument, cc_tx_t *tx)
{
    s_self_t *self = (s_self_t *) argument;
    return cc_mempool_signature_matches (self->mempool, tx)
           || cc_mempool_contains (self->mempool, cc_tx_hash (tx));
}

//  Takes a decoded tx heard on the relay's feed: to the mempool or the
//  checker.
static void
s_on_heard_tx (s_self_t *self, cc_tx_t **tx_p)
{
    //  A hash the pool has seen (pooled, verified or committed recently) is
    //  decided there without a new signature check (or refused as a
    //  duplicate); only new hashes go to the workers.
    if (cc_mempool_signature_checked (self->mempool, cc_tx_hash (*tx_p)))
        s_admit (self, tx_p);
    else {
        int rc = cc_checker_submit (self->checker, tx_p);
        if (rc != 0)
            s_count (self, "drop", rc);
    }
    cc_tx_destroy (tx_p);
}

static void
s_on_tx (s_self_t *self, const uint8_t *data, size_t size)
{
    cc_reason_t reason;
    cc_tx_t *tx = cc_tx_decode (data, size, &reason);
    if (!tx) {
        s_count (self, "drop", reason.code);
        return;
    }
    s_on_heard_tx (self, &tx);
}

//  A TxBatch ("txb"): each of its txs as if it came alone; a tx that does
//  not decode is dropped and counted, the others still go on. Returns the
//  number of txs it held (at least 1), for the burst budget of s_on_sub.
static size_t
s_on_tx_batch (s_self_t *self, const uint8_t *data, size_t size)
{
    int code = 0;
    Certchain__TxBatch *batch = (Certchain__TxBatch *) cc_codec_unpack (
        &certchain__tx_batch__descriptor, data, size, S_SUB_MAX_SIZE, &code);
    if (!batch) {
        s_count (self, "drop", code);
        return 1;
    }
    for (size_t index = 0; index < batch->n_txs; index++) {
        cc_reason_t reason;
        cc_tx_t *tx = cc_tx_adopt_envelope (batch->txs [index], &reason);
        if (tx)
            s_on_heard_tx (self, &tx);
        else
            s_count (self, "drop", reason.code);
    }
    size_t count = batch->n_txs;
    cc_codec_free ((ProtobufCMessage **) &batch);
    return count ? count : 1;
}

//  --- Blocks and consensus messages --------------------------------------------------------

static void
s_on_blk (s_self_t *self, const uint8_t *data, size_t size)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_sync_offer (self->sync, data, size, (uint64_t) zclock_time (), &reason);
    //  Verdicts are counted by s_on_sync_block; bytes that are not a block
    //  never reach it.
    if (rc == CC_E_MALFORMED || rc == CC_E_OVERSIZE || rc == CC_E_BAD_FIELD)
        s_count (self, "drop", rc);
}

static void
s_on_cns (s_self_t *self, const uint8_t *data, size_t size)
{
    cc_driver_receive (self->driver, data, size);
    cc_driver_status_t status;
    cc_driver_status (self->driver, &status);
    //  A member signed for a height above tip + 1: blocks were committed
    //  that we lack. Ask the relay what it has (see DESIGN).
    if (status.network_height > cc_chain_height (self->chain) + 1)
        s_ask_status (self, S_STATUS_TRIGGER_MS);
}

static int
s_on_sub (zloop_t *loop, zsock_t *socket, void *argument)
{
    s_self_t *self = (s_self_t *) argument;
    //  The budget counts transactions, a batch as many as it holds, so a
    //  pass over a backlog of batches still yields to the other sockets.
    for (size_t count = 0; count < S_SUB_BURST; ) {
        if (count > 0 && !(zsock_events (socket) & ZMQ_POLLIN))
            break;
        zmsg_t *message = zmsg_recv (socket);
        if (!message)
            break;
        count++;
        zframe_t *topic = NULL, *payload = NULL;
        if (cc_rpc_split (message, false, NULL, &topic, &payload) != 0)
            cc_metrics_add (self->metrics, "drop.MALFORMED", 1);
        else
        if (cc_rpc_frame_is (topic, CC_TOPIC_TX_BATCH))
            count += s_on_tx_batch (self, zframe_data (payload), zframe_size (payload)) - 1;
        else
        if (cc_rpc_frame_is (topic, CC_TOPIC_TX))
            s_on_tx (self, zframe_data (payload), zframe_size (payload));
        else
        if (cc_rpc_frame_is (topic, CC_TOPIC_CONSENSUS))
            s_on_cns (self, zframe_data (payload), zframe_size (payload));
        else
        if (cc_rpc_frame_is (topic, CC_TOPIC_BLOCK))
            s_on_blk (self, zframe_data (payload), zframe_size (payload));
        zmsg_destroy (&message);
    }
    cc_checker_flush (self->checker);
    s_update_hold (self);
    return 0;
}

//  --- Relay replies ----------------------------------------------------------------------

static void
s_on_status_reply (s_self_t *self, Certchain__Reply *reply)
{
    self->status_id = 0;
    if (reply->kind_case != CERTCHAIN__REPLY__KIND_STATUS || !reply->status) {
        cc_log_warn (self->log, "relay GetStatus failed: %s",
                     reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error
                         && reply->error->message ? reply->error->message : "unexpected reply");
        return;
    }
    Certchain__Status *status = reply->status;
    if (status->genesis_hash.len == CC_HASH_SIZE
        && memcmp (status->genesis_hash.data, cc_genesis_hash (self->genesis), CC_HASH_SIZE)
               != 0) {
        if (!self->wrong_genesis)
            cc_log_error (self->log, "the relay serves another chain (genesis hash differs): "
                          "not joining");
        self->wrong_genesis = true;
        return;
    }
    self->wrong_genesis = false;
    self->relay_height = status->height;
    uint64_t tip = cc_chain_height (self->chain);
    if (!self->joined) {
        self->joined = true;
        cc_log_info (self->log, "relay at height %" PRIu64 ", local tip %" PRIu64 "%s",
                     status->height, tip,
                     status->height > tip ? ": catching up first" : ": joining consensus");
    }
    if (status->height > tip)
        cc_sync_target (self->sync, status->height, (uint64_t) zclock_time ());
    else
    if (status->height < tip)
        s_backfill_from (self, status->height);
}

static void
s_on_upload_reply (s_self_t *self, s_upload_t *upload, Certchain__Reply *reply)
{
    s_upload_t done = *upload;
    upload->id = 0;
    if (done.backfill && self->backfill_in_flight > 0)
        self->backfill_in_flight--;
    if (reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error) {
        int code = -(int) reply->error->code;
        const char *message = reply->error->message ? reply->error->message : "";
        uint64_t relay_height = 0;
        if (code == CC_E_WRONG_HEIGHT
            && sscanf (message, "relay height %" SCNu64, &relay_height) == 1)
            s_backfill_from (self, relay_height);
        else {
            s_count (self, "upload", code);
            cc_log_warn (self->log, "relay refused block %" PRIu64 ": %s: %s", done.height,
                         cc_error_name (code), message);
        }
    }
    if (done.backfill)
        self->backfill_ms = s_mono ();
    s_backfill_pump (self);
}

//  A fetched block is ready: verify and commit it (one per loop turn).
static int
s_on_sync_ready (zloop_t *loop, zmq_pollitem_t *item, void *argument)
{
    (void) loop;
    (void) item;
    s_self_t *self = (s_self_t *) argument;
    if (cc_sync_work (self->sync, (uint64_t) zclock_time ()))
        s_update_hold (self);
    return 0;
}

static int
s_on_relay (zloop_t *loop, zsock_t *socket, void *argument)
{
    s_self_t *self = (s_self_t *) argument;
    Certchain__Reply *reply;
    while ((reply = cc_rpc_client_recv (self->relay, 0))) {
        if (cc_sync_on_reply (self->sync, reply, (uint64_t) zclock_time ())) {
            cc_rpc_reply_free (&reply);
            continue;
        }
        if (reply->id != 0 && reply->id == self->status_id)
            s_on_status_reply (self, reply);
        else {
            s_upload_t *upload = NULL;
            for (size_t index = 0; index < S_UPLOADS && !upload; index++)
                if (self->uploads [index].id == reply->id && reply->id != 0)
                    upload = &self->uploads [index];
            if (upload)
                s_on_upload_reply (self, upload, reply);
            else
            if (!cc_outbox_on_reply (self->outbox, reply, s_mono ()))
                cc_metrics_add (self->metrics, "relay.unmatched_replies", 1);
        }
        cc_rpc_reply_free (&reply);
    }
    s_update_hold (self);
    return 0;
}

//  --- Joining, our own transactions, leaving ------------------------------------------

//  Caught up with the network: only then may the candidate judge whether
//  we are in the set.
static bool
s_ready (s_self_t *self)
{
    return self->joined && !self->wrong_genesis && !self->fatal && !self->stopping
           && !cc_sync_behind (self->sync);
}

//  True if we are in V(tip + 1); *alone_p (may be NULL): its only member.
static bool
s_member_next_alone (s_self_t *self, bool *alone_p)
{
    cc_valset_t *valset = cc_state_valset (cc_chain_state (self->chain),
                                           cc_chain_height (self->chain) + 1);
    bool member = valset && cc_valset_contains (valset, cc_keypair_public (self->key));
    if (alone_p)
        *alone_p = member && cc_valset_size (valset) == 1;
    cc_valset_destroy (&valset);
    return member;
}

static bool
s_member_next (s_self_t *self)
{
    return s_member_next_alone (self, NULL);
}

//  cc_outbox_send_fn: SubmitTx to the relay, and a copy into our own
//  mempool, so we pack it ourselves when we propose.
static uint64_t
s_send_own (void *argument, cc_tx_t *tx)
{
    s_self_t *self = (s_self_t *) argument;
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_tx_encode (tx, &data, &size) == 0) {
        cc_reason_t reason;
        cc_reason_clear (&reason);
        cc_tx_t *copy = cc_tx_decode (data, size, &reason);
        //  We signed it: opened without a second signature check.
        if (copy
            && cc_tx_open (copy, cc_genesis_chain_id (self->genesis), true, &reason) == 0)
            cc_mempool_add (self->mempool, &copy, &reason);
        cc_tx_destroy (&copy);
    }
    free (data);
    Certchain__SubmitTx submit = CERTCHAIN__SUBMIT_TX__INIT;
    submit.tx = (Certchain__Signed *) cc_tx_envelope (tx);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX;
    request.submit_tx = &submit;
    return cc_rpc_client_send (self->relay, &request);
}

//  While stopping: resign while we are a member, leave once we are out.
static void
s_stop_check (s_self_t *self)
{
    if (!self->stopping || self->stop_done || self->stop_out)
        return;
    if (!s_member_next (self)) {
        cc_log_info (self->log, "out of the validator set from height %" PRIu64 ": exiting",
                     cc_chain_height (self->chain) + 1);
        self->stop_out = true;      //  "DONE" at the next tick (see DESIGN)
        return;
    }
    if (s_mono () >= self->stop_deadline_ms) {
        cc_log_warn (self->log, "the Resign was not committed within %" PRIu64 " ms: exiting "
                     "anyway, still in the validator set", self->resign_timeout_ms);
        self->stop_done = true;
        zstr_send (self->pipe, "DONE");
        return;
    }
    if (cc_outbox_resign_pending (self->outbox))
        return;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    bool alone = false;
    s_member_next_alone (self, &alone);
    if (alone)
        cc_reason_set (&reason, CC_E_BUSY, "the only member of the validator set: resigning "
                       "would leave the chain without a producer");
    if (alone || cc_outbox_resign (self->outbox, s_mono (), &reason) != 0) {
        cc_log_warn (self->log, "cannot resign (%s: %s): exiting at once",
                     cc_error_name (reason.code), cc_reason_text (&reason));
        self->stop_done = true;
        zstr_send (self->pipe, "DONE");
    }
}

//  main asked us to stop (first SIGTERM or SIGINT).
static void
s_stop_begin (s_self_t *self)
{
    if (self->stopping)
        return;
    self->stopping = true;
    cc_candidate_stop (self->candidate);
    if (!self->resign_on_stop || self->fatal || !s_member_next (self)) {
        cc_log_info (self->log, "stopping%s", self->resign_on_stop && !self->fatal
                                                  ? ": not a member, nothing to resign" : "");
        self->stop_done = true;
        zstr_send (self->pipe, "DONE");
        return;
    }
    self->stop_deadline_ms = s_mono () + self->resign_timeout_ms;
    cc_log_info (self->log, "stopping: resigning from the validator set first (waiting at most "
                 "%" PRIu64 " ms for the Resign to be committed; signal again to exit now)",
                 self->resign_timeout_ms);
    s_stop_check (self);
}

//  After every committed block: our txs, the join, the stop.
static void
s_after_own (s_self_t *self, cc_block_t *block)
{
    uint64_t mono = s_mono ();
    cc_outbox_on_block (self->outbox, block, mono);
    cc_candidate_on_block (self->candidate, block, mono);
    cc_candidate_update (self->candidate, s_ready (self), mono);
    s_stop_check (self);
}

//  --- Admin ---------------------------------------------------------------------------------

static void
s_reply_status (s_self_t *self, zframe_t *identity, uint64_t id)
{
    cc_driver_status_t driver;
    cc_driver_status (self->driver, &driver);
    Certchain__Status status;
    cc_chain_status (self->chain, "validator", self->node, cc_keypair_public (self->key), &status);
    status.round = driver.round;
    status.mempool = (uint32_t) cc_mempool_size (self->mempool);
    status.discarded = cc_metrics_sum (self->metrics, "discard.");
    status.join_state = (char *) (self->stopping ? "stopping"
                                  : cc_candidate_state_name (cc_candidate_state (self->candidate)));
    status.valid_until = cc_candidate_valid_until (self->candidate);
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
    reply.status = &status;
    cc_rpc_reply (self->admin, identity, &reply);
}

static int
s_on_admin (zloop_t *loop, zsock_t *socket, void *argument)
{
    s_self_t *self = (s_self_t *) argument;
    zframe_t *identity = NULL;
    int code = 0;
    Certchain__Request *request = cc_rpc_recv (socket, &identity, S_ADMIN_MAX_SIZE, &code);
    if (!request) {
        if (code)
            s_count (self, "drop", code);
        return 0;
    }
    if (request->kind_case == CERTCHAIN__REQUEST__KIND_GET_STATUS)
        s_reply_status (self, identity, request->id);
    else
        cc_rpc_reply_error (socket, identity, request->id, CC_E_UNSUPPORTED,
                            "the validator's admin socket answers GetStatus only");
    zframe_destroy (&identity);
    cc_rpc_request_free (&request);
    return 0;
}

//  --- Tick (once a second) --------------------------------------------------------------------

static int
s_on_tick (zloop_t *loop, int timer_id, void *argument)
{
    s_self_t *self = (s_self_t *) argument;
    uint64_t now = (uint64_t) zclock_time ();
    uint64_t mono = s_mono ();
    if (!self->joined && mono - self->start_ms >= S_JOIN_WAIT_MS) {
        self->joined = true;
        cc_log_warn (self->log, "the relay did not answer GetStatus within %d ms: joining "
                     "consensus from the local tip %" PRIu64, S_JOIN_WAIT_MS,
                     cc_chain_height (self->chain));
    }
    if (mono - self->status_sent_ms >= S_STATUS_MS)
        s_send_status (self);
    if (self->backfill_in_flight > 0 && mono - self->backfill_ms >= S_BACKFILL_RETRY_MS) {
        //  Replies lost (relay restarted): ask again from where we were.
        self->backfill_in_flight = 0;
        s_backfill_pump (self);
    }
    cc_sync_tick (self->sync, now);
    s_update_hold (self);
    cc_driver_heartbeat (self->driver, now);
    cc_outbox_tick (self->outbox, mono);
    cc_candidate_update (self->candidate, s_ready (self), mono);
    if (self->stop_out && !self->stop_done) {
        self->stop_done = true;
        zstr_send (self->pipe, "DONE");
    }
    s_stop_check (self);

    cc_driver_status_t driver;
    cc_driver_status (self->driver, &driver);
    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    cc_metrics_set_round (self->metrics, driver.round);
    cc_metrics_set_mempool (self->metrics, (uint32_t) cc_mempool_size (self->mempool));
    if (cc_metrics_publish (self->metrics, self->pub, now) != 0)
        cc_metrics_add (self->metrics, "error.publish", 1);
    return 0;
}

static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *argument)
{
    s_self_t *self = (s_self_t *) argument;
    char *command = zstr_recv (pipe);
    if (!command)
        return 0;               //  interrupted: main's command comes again
    bool term = streq (command, "$TERM");
    bool stop = streq (command, "STOP");
    zstr_free (&command);
    if (stop)
        s_stop_begin (self);
    if (!term)
        return 0;
    self->terminated = true;
    return -1;
}

//  --- Start and stop ----------------------------------------------------------------------------

static void
s_destroy (s_self_t *self)
{
    cc_candidate_destroy (&self->candidate);
    cc_outbox_destroy (&self->outbox);
    cc_sync_destroy (&self->sync);
    cc_driver_destroy (&self->driver);
    cc_checker_destroy (&self->checker);
    zloop_destroy (&self->loop);
    zsock_destroy (&self->admin);
    zsock_destroy (&self->sub);
    zsock_destroy (&self->pub);
    cc_rpc_client_destroy (&self->relay);
    cc_mempool_destroy (&self->mempool);
    cc_chain_destroy (&self->chain);
    cc_genesis_destroy (&self->genesis);
    cc_keypair_destroy (&self->key);
    cc_metrics_destroy (&self->metrics);
}

//  cc_mempool_nonce_fn: the committed nonce.
static uint64_t
s_committed_nonce (void *argument, const uint8_t *signer)
{
    s_self_t *self = (s_self_t *) argument;
    uint64_t balance = 0, nonce = 0;
    cc_state_account (cc_chain_state (self->chain), signer, &balance, &nonce);
    return nonce;
}

//  Makes every object; 0 or the exit code for main.
static int
s_setup (s_self_t *self)
{
    cc_config_t *config = self->config;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    const char *key_path = cc_config_get (config, "validator/key");
    self->key = cc_keypair_load (key_path, &reason);
    if (!self->key) {
        cc_log_error (self->log, "validator/key: %s", cc_reason_text (&reason));
        return CC_EXIT_CONFIG;
    }
    strcpy (self->node, cc_keypair_public_hex (self->key));
    self->genesis = cc_genesis_load (cc_config_get (config, "genesis/path"), &reason);
    if (!self->genesis) {
        cc_log_error (self->log, "genesis/path: %s", cc_reason_text (&reason));
        return CC_EXIT_CONFIG;
    }
    uint64_t cache_mb = cc_service_u64 (config, "store/cache_mb", 8);
    self->chain = cc_chain_open (cc_config_get (config, "store/path"), self->genesis,
                                 (size_t) cache_mb * 1024 * 1024, &reason);
    if (!self->chain) {
        cc_log_error (self->log, "store/path: %s", cc_reason_text (&reason));
        return reason.code == CC_E_CONFIG ? CC_EXIT_CONFIG : CC_EXIT_FAILURE;
    }
    //  Nothing here asks where a tx is (the relay and the verifier answer
    //  that): no tx index, one store entry less per transaction.
    cc_chain_set_tx_index (self->chain, false);
    self->threads = (size_t) cc_service_u64 (config, "validator/threads", 2);
    size_t max_txs = (size_t) cc_service_u64 (config, "mempool/max_txs", 20000);
    size_t max_bytes = (size_t) cc_service_u64 (config, "mempool/max_bytes", 64 << 20);
    self->metrics = cc_metrics_new ("validator", self->node);
    self->mempool = cc_mempool_new (cc_genesis_chain_id (self->genesis), max_txs, max_bytes,
                                    s_committed_nonce, self);
    self->loop = zloop_new ();
    if (!self->metrics || !self->mempool || !self->loop) {
        cc_log_error (self->log, "out of memory");
        return CC_EXIT_FAILURE;
    }
    zloop_set_nonstop (self->loop, true);

    //  Sockets: bind what we own first, so an occupied port fails early.
    self->admin = zsock_new (ZMQ_ROUTER);
    if (!self->admin)
        return CC_EXIT_FAILURE;
    cc_rpc_socket_policy (self->admin, S_ADMIN_MAX_SIZE);
    if (cc_service_bind (self->admin, config, "validator/admin", self->log) != 0)
        return CC_EXIT_FAILURE;
    self->sub = zsock_new (ZMQ_SUB);
    self->pub = zsock_new (ZMQ_PUB);
    if (!self->sub || !self->pub)
        return CC_EXIT_FAILURE;
    cc_rpc_socket_policy (self->sub, S_SUB_MAX_SIZE);
    cc_rpc_socket_policy (self->pub, S_SUB_MAX_SIZE);
    //  "tx" is a prefix of "txb" and would bring both; both are named so
    //  the subscriptions say what is read.
    zsock_set_subscribe (self->sub, CC_TOPIC_TX);
    zsock_set_subscribe (self->sub, CC_TOPIC_TX_BATCH);
    zsock_set_subscribe (self->sub, CC_TOPIC_CONSENSUS);
    zsock_set_subscribe (self->sub, CC_TOPIC_BLOCK);
    const char *endpoint = cc_config_get (config, "relay/pub");
    if (zsock_connect (self->sub, "%s", endpoint) != 0) {
        cc_log_error (self->log, "relay/pub: cannot connect to '%s'", endpoint);
        return CC_EXIT_CONFIG;
    }
    endpoint = cc_config_get (config, "relay/gossip");
    if (zsock_connect (self->pub, "%s", endpoint) != 0) {
        cc_log_error (self->log, "relay/gossip: cannot connect to '%s'", endpoint);
        return CC_EXIT_CONFIG;
    }
    endpoint = cc_config_get (config, "relay/rpc");
    self->relay = cc_rpc_client_new (endpoint, S_RELAY_MAX_SIZE);
    if (!self->relay) {
        cc_log_error (self->log, "relay/rpc: cannot connect to '%s'", endpoint);
        return CC_EXIT_CONFIG;
    }

    self->checker = cc_checker_new (self->loop, cc_genesis_chain_id (self->genesis),
                                    self->threads, max_txs, s_on_checked, self);
    if (self->checker)
        cc_checker_set_known (self->checker, s_on_known);
    cc_driver_config_t driver_config = {
        .chain = self->chain,
        .mempool = self->mempool,
        .key = self->key,
        .loop = self->loop,
        .log = self->log,
        .metrics = self->metrics,
        .threads = self->threads,
        .publish = s_on_publish,
        .committed = s_on_decided,
        .fatal = s_on_driver_fatal,
        .evidence = s_on_evidence,
        .argument = self,
    };
    self->driver = cc_driver_new (&driver_config, &reason);
    if (!self->driver) {
        cc_log_error (self->log, "consensus: %s", cc_reason_text (&reason));
        return CC_EXIT_FAILURE;
    }
    cc_sigcache_init (&self->sync_cache, self->mempool, NULL);
    cc_sync_opts_t sync_opts = {
        .threads = self->threads,
        .signature_checked = cc_sigcache_checked,
        .signature_argument = &self->sync_cache,
    };
    self->sync = cc_sync_new (self->chain, self->relay, &sync_opts, s_on_sync_block, self);
    cc_outbox_config_t outbox_config = {
        .chain = self->chain,
        .key = self->key,
        .log = self->log,
        .metrics = self->metrics,
        .send = s_send_own,
        .argument = self,
    };
    self->outbox = cc_outbox_new (&outbox_config);
    bool join = true;
    cc_config_get_bool (config, "validator/join", &join, NULL);
    cc_config_get_bool (config, "validator/resign_on_stop", &self->resign_on_stop, NULL);
    self->resign_timeout_ms = cc_service_u64 (config, "validator/resign_timeout_ms", 30000);
    cc_candidate_config_t candidate_config = {
        .chain = self->chain,
        .key = self->key,
        .loop = self->loop,
        .log = self->log,
        .metrics = self->metrics,
        .ca_endpoint = cc_config_get (config, "ca/join"),
        .data_dir = cc_config_get (config, "store/path"),
        .threads = self->threads,
        .enabled = join,
    };
    self->candidate = cc_candidate_new (&candidate_config);
    if (!self->checker || !self->sync || !self->outbox || !self->candidate) {
        cc_log_error (self->log, "cannot start the worker threads");
        return CC_EXIT_FAILURE;
    }
    zmq_pollitem_t sync_ready = {NULL, cc_sync_fd (self->sync), ZMQ_POLLIN, 0};
    if (zloop_reader (self->loop, self->pipe, s_on_pipe, self) != 0
        || zloop_reader (self->loop, self->sub, s_on_sub, self) != 0
        || zloop_reader (self->loop, cc_rpc_client_socket (self->relay), s_on_relay, self) != 0
        || zloop_reader (self->loop, self->admin, s_on_admin, self) != 0
        || zloop_poller (self->loop, &sync_ready, s_on_sync_ready, self) != 0
        || zloop_timer (self->loop, 1000, 0, s_on_tick, self) < 0)
        return CC_EXIT_FAILURE;
    //  A bad message must not stop the loop.
    zloop_reader_set_tolerant (self->loop, self->sub);
    zloop_reader_set_tolerant (self->loop, self->admin);
    zloop_reader_set_tolerant (self->loop, cc_rpc_client_socket (self->relay));

    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    cc_log_info (self->log, "validator %s on chain %s at height %" PRIu64 "; admin %s, relay %s",
                 self->node, cc_genesis_chain_id (self->genesis), cc_chain_height (self->chain),
                 cc_config_get (config, "validator/admin"), cc_config_get (config, "relay/rpc"));
    return 0;
}

void
cc_validator_actor (zsock_t *pipe, void *args)
{
    cc_validator_args_t *arguments = (cc_validator_args_t *) args;
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    s_self_t self;
    memset (&self, 0, sizeof (self));
    self.pipe = pipe;
    self.config = arguments->config;
    self.log = arguments->log;
    self.start_ms = s_mono ();
    zsock_signal (pipe, 0);

    int code = s_setup (&self);
    zsock_send (pipe, "i", code);
    if (code == 0) {
        s_send_status (&self);
        //  0: a signal interrupted the poll (see DESIGN); -1: $TERM.
        while (!self.terminated && zloop_start (self.loop) == 0 && zmq_errno () == EINTR)
            ;
    }
    //  One verification per tx per process is the aim (issue 5): say how
    //  close this run came (mempool verifications are on the loop).
    if (code == 0 && self.metrics && self.mempool) {
        cc_mempool_stats_t stats;
        cc_mempool_stats (self.mempool, &stats);
        cc_log_info (self.log, "signatures: %" PRIu64 " verified (checker and blocks), %" PRIu64
                     " by the mempool, %" PRIu64 " skipped as known, %" PRIu64
                     " mempool cache hits", cc_metrics_sum (self.metrics, "sig.verified"),
                     stats.verifications, cc_metrics_sum (self.metrics, "sig.skipped"),
                     stats.signature_hits);
    }
    //  Wait for main's $TERM unless it already came (after a failure).
    while (!self.terminated) {
        char *command = zstr_recv (pipe);
        if (!command || streq (command, "$TERM"))
            self.terminated = true;
        zstr_free (&command);
    }
    s_destroy (&self);
    if (code == 0)
        cc_log_info (self.log, "stopped; store closed");
}
