/*  =========================================================================
    verifier - certchain-verifier: verifies every block, stores or discards

    One actor, one zloop. Readers: the pipe ($TERM), the query ROUTER, the
    SUB on "blk" and the DEALER to the relay; a poller on sync's descriptor
    (a fetched block is ready: one block verified and committed per turn,
    so queries are answered while catching up); timers: a tick every 100 ms
    (sync retries, the relay status refresh) and the metrics event every
    second. Replies on the DEALER go to cc_sync_on_reply first; what sync
    does not claim is the answer to our own GetStatus.

    DESIGN: the relay publishes a block only after storing it, so the
    zguide's clone pattern applies: subscribe first, then ask the relay
    where the chain stands and fetch what is missing; blocks heard on "blk"
    meanwhile are kept aside by sync and applied once the gap is filled.
    A block lost on pub/sub (slow subscriber, reconnect) is noticed at the
    next block, or at the latest by the periodic GetStatus.
    =========================================================================
*/

#include "verifier.h"

#include "chain.h"
#include "discards.h"
#include "metrics.h"
#include "query.h"
#include "rpc.h"
#include "service.h"
#include "sync.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

//  Timers, and how often the relay's height is asked again.
#define S_TICK_MS 100
#define S_METRICS_MS 1000
#define S_STATUS_EVERY_MS 2000
#define S_STATUS_TIMEOUT_MS 3000
//  Messages read from one socket before the loop looks at the others.
#define S_BURST 64
//  Largest message on the SUB and the DEALER: one block with its commit
//  and framing to spare.
#define S_MAX_BLOCK_MESSAGE (CC_BLOCK_MAX_SIZE + 64 * 1024)

typedef struct {
    cc_config_t *config;        //  configuration (borrowed from main)
    cc_log_t *log;              //  the service's log (borrowed from main)
    cc_genesis_t *genesis;      //  the chain's genesis
    cc_chain_t *chain;          //  verified chain and state
    cc_discards_t *discards;    //  discarded-block log
    zsock_t *query;             //  ROUTER for the read API
    zsock_t *sub;               //  SUB on the relay's "blk"
    zsock_t *gossip;            //  PUB into the relay's gossip
    cc_rpc_client_t *relay;     //  DEALER to the relay's rpc
    cc_sync_t *sync;            //  catch-up and "blk" offers
    cc_metrics_t *metrics;      //  counters and the metrics event
    zloop_t *loop;              //  the event loop
    uint64_t status_id;         //  our GetStatus in flight, 0 = none
    uint64_t status_sent_ms;    //  when it was sent (monotonic)
    bool wrong_relay;           //  the relay serves another genesis (logged once)
    bool reported;              //  on_block ran during the current offer
} s_verifier_t;

//  --- Keys -----------------------------------------------------------------------

void
cc_verifier_define (cc_config_t *config)
{
    cc_config_define (config, "verifier/query", CC_VERIFIER_QUERY_DEFAULT, "query",
                      "endpoint the query ROUTER binds to");
    cc_config_define (config, "verifier/threads", "2", "threads",
                      "threads opening fetched blocks and checking signatures");
    cc_config_define (config, "verifier/batch", "20", "batch",
                      "blocks asked per GetBlocks while catching up");
    cc_config_define (config, "relay/pub", CC_VERIFIER_RELAY_PUB_DEFAULT, "relay-pub",
                      "the relay's XPUB endpoint (blocks on topic blk)");
    cc_config_define (config, "relay/rpc", CC_VERIFIER_RELAY_RPC_DEFAULT, "relay-rpc",
                      "the relay's rpc ROUTER endpoint (GetStatus, GetBlocks)");
    cc_config_define (config, "relay/gossip", CC_VERIFIER_RELAY_GOSSIP_DEFAULT,
                      "relay-gossip", "the relay's XSUB gossip endpoint (metrics events)");
    cc_service_define_common (config, CC_VERIFIER_STORE_DEFAULT);
}


int
cc_verifier_check (cc_config_t *config, cc_reason_t *reason)
{
    uint64_t number = 0;
    int rc = cc_config_get_u64_range (config, "verifier/threads", 1, CC_VERIFIER_MAX_THREADS,
                                      &number, reason);
    if (rc == 0)
        rc = cc_config_get_u64_range (config, "verifier/batch", 1, 1000, &number, reason);
    const char *const endpoints [] = {
        "verifier/query", "relay/pub", "relay/rpc", "relay/gossip", NULL
    };
    for (size_t index = 0; rc == 0 && endpoints [index]; index++) {
        const char *value = cc_config_get (config, endpoints [index]);
        if (!value || !strstr (value, "://"))
            rc = cc_reason_set (reason, CC_E_CONFIG,
                                "%s: expected an endpoint such as tcp://127.0.0.1:7301, "
                                "got '%s'", endpoints [index], value ? value : "");
    }
    const char *paths [] = {"store/path", "genesis/path", NULL};
    for (size_t index = 0; rc == 0 && paths [index]; index++) {
        const char *value = cc_config_get (config, paths [index]);
        if (!value || !*value)
            rc = cc_reason_set (reason, CC_E_CONFIG, "%s: must not be empty", paths [index]);
    }
    return rc;
}

//  --- Blocks: committed or discarded --------------------------------------------

//  Told by sync for each block it committed or discarded.
static void
s_on_block (void *argument, cc_block_t *block, int verdict, const cc_reason_t *reason)
{
    s_verifier_t *self = (s_verifier_t *) argument;
    self->reported = true;
    uint64_t height = cc_block_height (block);
    char hash [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (cc_block_hash (block), CC_HASH_SIZE, hash);
    if (verdict == 0) {
        cc_metrics_committed (self->metrics, cc_block_tx_count (block));
        cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
        if (cc_sync_behind (self->sync))
            cc_log_debug (self->log, "committed block %llu %s (%zu txs)",
                          (unsigned long long) height, hash, cc_block_tx_count (block));
        else
            cc_log_info (self->log, "committed block %llu %s (%zu txs)",
                         (unsigned long long) height, hash, cc_block_tx_count (block));
        return;
    }
    if (verdict == CC_E_STORE || verdict == CC_E_NOMEM) {
        //  Our failure, not the block's: nothing to hold against it.
        char name [64];
        snprintf (name, sizeof (name), "error.%s", cc_error_name (verdict));
        cc_metrics_add (self->metrics, name, 1);
        cc_log_error (self->log, "cannot commit block %llu %s: %s",
                      (unsigned long long) height, hash, cc_reason_text (reason));
        return;
    }
    char name [64];
    snprintf (name, sizeof (name), "discard.%s", cc_error_name (verdict));
    cc_metrics_add (self->metrics, name, 1);
    char proposer [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (cc_block_proposer (block), CC_PUBKEY_SIZE, proposer);
    uint64_t seq = 0;
    int rc = cc_discards_record (self->discards, height, cc_block_hash (block),
                                 cc_block_proposer (block), verdict, cc_reason_text (reason),
                                 cc_service_now_ms (), &seq);
    if (rc != 0) {
        cc_metrics_add (self->metrics, "error.STORE", 1);
        cc_log_error (self->log, "cannot record discard of block %llu: %s",
                      (unsigned long long) height, cc_error_name (rc));
    }
    cc_log_warn (self->log,
                 "discarded block height=%llu hash=%s proposer=%s reason=%s seq=%llu: %s",
                 (unsigned long long) height, hash, proposer, cc_error_name (verdict),
                 (unsigned long long) seq, cc_reason_text (reason));
}

//  --- Relay status ----------------------------------------------------------------

static void
s_ask_status (s_verifier_t *self, uint64_t now)
{
    Certchain__GetStatus get_status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get_status;
    self->status_id = cc_rpc_client_send (self->relay, &request);
    self->status_sent_ms = now;
}

//  A reply sync did not claim: ours, or stale.
static void
s_on_own_reply (s_verifier_t *self, Certchain__Reply *reply, uint64_t now)
{
    if (self->status_id == 0 || reply->id != self->status_id)
        return;             //  a late answer to a GetStatus given up on
    self->status_id = 0;
    if (reply->kind_case != CERTCHAIN__REPLY__KIND_STATUS || !reply->status) {
        cc_log_debug (self->log, "relay GetStatus answered %s",
                      reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error
                      ? reply->error->name : "something else");
        return;
    }
    const Certchain__Status *status = reply->status;
    if (status->genesis_hash.len > 0
    &&  (!cc_bytes_sized (status->genesis_hash, CC_HASH_SIZE)
         || memcmp (status->genesis_hash.data, cc_genesis_hash (self->genesis),
                    CC_HASH_SIZE) != 0)) {
        if (!self->wrong_relay)
            cc_log_error (self->log, "the relay at %s serves another chain (genesis hash "
                          "differs); not syncing from it", cc_config_get (self->config,
                                                                          "relay/rpc"));
        self->wrong_relay = true;
        return;
    }
    if (self->wrong_relay)
        cc_log_info (self->log, "the relay now serves this chain");
    self->wrong_relay = false;
    if (status->height > cc_chain_height (self->chain) && !cc_sync_behind (self->sync))
        cc_log_info (self->log, "relay at height %llu, catching up from %llu",
                     (unsigned long long) status->height,
                     (unsigned long long) cc_chain_height (self->chain));
    cc_sync_target (self->sync, status->height, now);
}

//  --- Loop handlers -----------------------------------------------------------------

static int
s_on_query (zloop_t *loop, zsock_t *query, void *argument)
{
    (void) loop;
    s_verifier_t *self = (s_verifier_t *) argument;
    for (int count = 0; count < S_BURST && (zsock_events (query) & ZMQ_POLLIN); count++) {
        zframe_t *identity = NULL;
        int code = 0;
        Certchain__Request *request = cc_rpc_recv (query, &identity, CC_MAX_MESSAGE_SIZE,
                                                   &code);
        if (request) {
            cc_query_answer (query, identity, request, self->chain, self->discards);
            cc_rpc_request_free (&request);
        }
        else
        if (code != 0) {
            char name [64];
            snprintf (name, sizeof (name), "drop.%s", cc_error_name (code));
            cc_metrics_add (self->metrics, name, 1);
        }
        zframe_destroy (&identity);
    }
    return 0;
}

static int
s_on_sub (zloop_t *loop, zsock_t *sub, void *argument)
{
    (void) loop;
    s_verifier_t *self = (s_verifier_t *) argument;
    for (int count = 0; count < S_BURST && (zsock_events (sub) & ZMQ_POLLIN); count++) {
        zmsg_t *message = zmsg_recv (sub);
        if (!message)
            break;
        zframe_t *type = NULL, *payload = NULL;
        if (cc_rpc_split (message, false, NULL, &type, &payload) != 0
        ||  !cc_rpc_frame_is (type, CC_TOPIC_BLOCK)) {
            cc_metrics_add (self->metrics, "drop.MALFORMED", 1);
            zmsg_destroy (&message);
            continue;
        }
        cc_reason_t reason;
        self->reported = false;
        int rc = cc_sync_offer (self->sync, zframe_data (payload), zframe_size (payload),
                                (uint64_t) zclock_mono (), &reason);
        if (rc != 0 && !self->reported) {
            //  Not even a block: nothing to record, only to count.
            char name [64];
            snprintf (name, sizeof (name), "drop.%s", cc_error_name (rc));
            cc_metrics_add (self->metrics, name, 1);
            cc_log_debug (self->log, "dropped %zu bytes on blk: %s", zframe_size (payload),
                          cc_reason_text (&reason));
        }
        zmsg_destroy (&message);
    }
    return 0;
}

static int
s_on_relay (zloop_t *loop, zsock_t *dealer, void *argument)
{
    (void) loop;
    (void) dealer;
    s_verifier_t *self = (s_verifier_t *) argument;
    for (int count = 0; count < S_BURST; count++) {
        Certchain__Reply *reply = cc_rpc_client_recv (self->relay, 0);
        if (!reply)
            break;
        uint64_t now = (uint64_t) zclock_mono ();
        if (!cc_sync_on_reply (self->sync, reply, now))
            s_on_own_reply (self, reply, now);
        cc_rpc_reply_free (&reply);
    }
    return 0;
}

//  A fetched block is ready: verify and commit it (one per call, so
//  queries are answered between blocks while catching up).
static int
s_on_sync_ready (zloop_t *loop, zmq_pollitem_t *item, void *argument)
{
    (void) loop;
    (void) item;
    s_verifier_t *self = (s_verifier_t *) argument;
    cc_sync_work (self->sync, (uint64_t) zclock_mono ());
    return 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *argument)
{
    (void) loop;
    (void) timer_id;
    s_verifier_t *self = (s_verifier_t *) argument;
    uint64_t now = (uint64_t) zclock_mono ();
    cc_sync_tick (self->sync, now);
    uint64_t since = now - self->status_sent_ms;
    if ((self->status_id == 0 && since >= S_STATUS_EVERY_MS)
    ||  (self->status_id != 0 && since >= S_STATUS_TIMEOUT_MS))
        s_ask_status (self, now);
    return 0;
}

static int
s_on_metrics (zloop_t *loop, int timer_id, void *argument)
{
    (void) loop;
    (void) timer_id;
    s_verifier_t *self = (s_verifier_t *) argument;
    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    cc_metrics_publish (self->metrics, self->gossip, cc_service_now_ms ());
    return 0;
}

//  --- Start and stop --------------------------------------------------------------

static void
s_verifier_destroy (s_verifier_t **self_p)
{
    s_verifier_t *self = *self_p;
    if (!self)
        return;
    zloop_destroy (&self->loop);
    cc_sync_destroy (&self->sync);
    cc_rpc_client_destroy (&self->relay);
    zsock_destroy (&self->gossip);
    zsock_destroy (&self->sub);
    zsock_destroy (&self->query);
    cc_metrics_destroy (&self->metrics);
    cc_discards_destroy (&self->discards);
    if (self->chain)
        cc_log_info (self->log, "stopped at height %llu",
                     (unsigned long long) cc_chain_height (self->chain));
    cc_chain_destroy (&self->chain);
    cc_genesis_destroy (&self->genesis);
    free (self);
    *self_p = NULL;
}

//  A socket of type connected to the endpoint in key. NULL, logged, if
//  the endpoint is refused.
static zsock_t *
s_connect (s_verifier_t *self, int type, const char *key, size_t max_message_size)
{
    zsock_t *socket = zsock_new (type);
    if (!socket)
        return NULL;
    cc_rpc_socket_policy (socket, max_message_size);
    if (type == ZMQ_SUB)
        zsock_set_subscribe (socket, CC_TOPIC_BLOCK);
    const char *endpoint = cc_config_get (self->config, key);
    if (zsock_connect (socket, "%s", endpoint) != 0) {
        cc_log_error (self->log, "cannot connect %s to %s: %s", key, endpoint,
                      zmq_strerror (zmq_errno ()));
        zsock_destroy (&socket);
    }
    return socket;
}

//  Opens the chain and the sockets; 0 or the exit code (logged).
static int
s_verifier_open (s_verifier_t *self)
{
    cc_reason_t reason;
    const char *genesis_path = cc_config_get (self->config, "genesis/path");
    self->genesis = cc_genesis_load (genesis_path, &reason);
    if (!self->genesis) {
        cc_log_error (self->log, "genesis/path: %s", cc_reason_text (&reason));
        return CC_EXIT_CONFIG;
    }
    const char *store_path = cc_config_get (self->config, "store/path");
    //  RocksDB creates the store's own directory, not its parents.
    if (zsys_dir_create ("%s", store_path) != 0) {
        cc_log_error (self->log, "store/path %s: cannot create: %s", store_path,
                      strerror (errno));
        return CC_EXIT_FAILURE;
    }
    size_t cache = (size_t) cc_service_u64 (self->config, "store/cache_mb", 8) * 1024 * 1024;
    self->chain = cc_chain_open (store_path, self->genesis, cache, &reason);
    if (!self->chain) {
        cc_log_error (self->log, "store/path: %s", cc_reason_text (&reason));
        return CC_EXIT_FAILURE;
    }
    self->discards = cc_discards_new (cc_chain_store (self->chain), &reason);
    if (!self->discards) {
        cc_log_error (self->log, "store/path %s: %s", store_path, cc_reason_text (&reason));
        return CC_EXIT_FAILURE;
    }
    self->metrics = cc_metrics_new ("verifier", "");
    self->query = zsock_new (ZMQ_ROUTER);
    if (!self->metrics || !self->query)
        return CC_EXIT_FAILURE;
    cc_rpc_socket_policy (self->query, CC_MAX_MESSAGE_SIZE);
    if (cc_service_bind (self->query, self->config, "verifier/query", self->log) != 0)
        return CC_EXIT_FAILURE;
    self->sub = s_connect (self, ZMQ_SUB, "relay/pub", S_MAX_BLOCK_MESSAGE);
    self->gossip = s_connect (self, ZMQ_PUB, "relay/gossip", CC_MAX_MESSAGE_SIZE);
    if (!self->sub || !self->gossip)
        return CC_EXIT_CONFIG;
    self->relay = cc_rpc_client_new (cc_config_get (self->config, "relay/rpc"),
                                     S_MAX_BLOCK_MESSAGE);
    if (!self->relay) {
        cc_log_error (self->log, "cannot connect relay/rpc to %s",
                      cc_config_get (self->config, "relay/rpc"));
        return CC_EXIT_CONFIG;
    }
    //  Never block the loop on a relay that is away for long: at the
    //  high-water mark a send fails, and sync and the status refresh try
    //  again later.
    zsock_set_sndtimeo (cc_rpc_client_socket (self->relay), 0);
    cc_sync_opts_t opts = {
        .batch = (uint32_t) cc_service_u64 (self->config, "verifier/batch", 20),
        .threads = (size_t) cc_service_u64 (self->config, "verifier/threads", 2),
    };
    self->sync = cc_sync_new (self->chain, self->relay, &opts, s_on_block, self);
    self->loop = zloop_new ();
    if (!self->sync || !self->loop)
        return CC_EXIT_FAILURE;
    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    return 0;
}

void
cc_verifier_actor (zsock_t *pipe, void *args)
{
    cc_verifier_args_t *arguments = (cc_verifier_args_t *) args;
    assert (arguments && arguments->config && arguments->log);
    zsock_signal (pipe, 0);
    s_verifier_t *self = (s_verifier_t *) calloc (1, sizeof (s_verifier_t));
    if (!self) {
        zsock_signal (pipe, CC_EXIT_FAILURE);
        return;
    }
    self->config = arguments->config;
    self->log = arguments->log;
    int status = s_verifier_open (self);
    if (status != 0) {
        s_verifier_destroy (&self);
        zsock_signal (pipe, (byte) status);
        return;
    }
    zloop_reader (self->loop, pipe, cc_service_on_pipe, self);
    zloop_reader (self->loop, self->query, s_on_query, self);
    zloop_reader (self->loop, self->sub, s_on_sub, self);
    zloop_reader (self->loop, cc_rpc_client_socket (self->relay), s_on_relay, self);
    zmq_pollitem_t sync_ready = {NULL, cc_sync_fd (self->sync), ZMQ_POLLIN, 0};
    zloop_poller (self->loop, &sync_ready, s_on_sync_ready, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self);
    zloop_timer (self->loop, S_METRICS_MS, 0, s_on_metrics, self);
    cc_log_info (self->log, "started: chain %s at height %llu, query on %s, relay %s, "
                 "%llu signature threads",
                 cc_genesis_chain_id (self->genesis),
                 (unsigned long long) cc_chain_height (self->chain),
                 cc_config_get (self->config, "verifier/query"),
                 cc_config_get (self->config, "relay/rpc"),
                 (unsigned long long) cc_service_u64 (self->config, "verifier/threads", 2));
    //  Subscribed first; now ask where the chain stands (clone pattern).
    s_ask_status (self, (uint64_t) zclock_mono ());
    zsock_signal (pipe, 0);
    zloop_start (self->loop);
    s_verifier_destroy (&self);
}
