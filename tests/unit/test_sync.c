/*  =========================================================================
    test_sync - catching up from a relay over real sockets, and blocks
    offered from the "blk" topic

    Each test builds a source chain (the network's, with a transfer in
    every block, sealed by every member of V(h)) and keeps each block's
    bytes, plus two variants per height: a rogue one (proposer outside the
    set, yet with a quorum commit) and an alternative one (a valid block by
    the scheduled proposer with another time: a fork). A ROUTER on
    loopback plays the relay and serves GetBlocks from those bytes; the test
    can make it ignore, hold, refuse or tamper with requests. The sync under
    test drives its own, empty chain through a real DEALER, and the test
    loop plays the service: it polls both sockets, hands replies to
    cc_sync_on_reply and ticks the sync with the real clock.
    =========================================================================
*/

#include "fixture.h"

#include "chain.h"
#include "rpc.h"
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_VALIDATORS 4          //  1 CA + 3 validators
#define S_ACCOUNTS 4
#define S_BALANCE 1000000
#define S_ROGUE 10000u          //  a key never certified
#define S_MAX_BLOCKS 64
#define S_MAX_REPORTS 256

//  What the test relay does with a GetBlocks request.
typedef enum {
    S_SERVE,                    //  answers from its blocks
    S_IGNORE,                   //  never answers
    S_HOLD,                     //  answers later, when the test says so
    S_REFUSE                    //  answers Error BUSY
} s_policy_t;

//  One block sync reported.
typedef struct {
    uint64_t height;            //  block height
    int verdict;                //  0 = committed, else the discard
    uint8_t hash [CC_HASH_SIZE];    //  block hash
} s_report_t;

typedef struct {
    //  The network's chain
    char *source_dir;                   //  its store
    cc_genesis_t *source_genesis;       //  its genesis
    cc_chain_t *source;                 //  the chain the relay serves
    cc_keypair_t *keys [S_VALIDATORS];  //  keys of the genesis members
    size_t count;                       //  blocks built (heights 1..count)
    uint8_t *good [S_MAX_BLOCKS + 1];   //  each block with its commit, by height
    size_t good_size [S_MAX_BLOCKS + 1];
    uint8_t *bare [S_MAX_BLOCKS + 1];   //  the same without its commit
    size_t bare_size [S_MAX_BLOCKS + 1];
    uint8_t *rogue [S_MAX_BLOCKS + 1];  //  by a proposer outside V(h), with a commit
    size_t rogue_size [S_MAX_BLOCKS + 1];
    uint8_t *alt [S_MAX_BLOCKS + 1];    //  valid fork: another time, with a commit
    size_t alt_size [S_MAX_BLOCKS + 1];
    //  The relay
    zsock_t *router;                    //  plays the relay's rpc socket
    uint64_t relay_tip;                 //  serves heights up to this
    s_policy_t policy;                  //  for the next requests
    size_t policy_left;                 //  requests the policy applies to, then SERVE
    uint64_t bad_height;                //  serves this height's bad bytes, 0 = none
    uint8_t *bad;                       //  those bytes (borrowed from above)
    size_t bad_size;
    size_t cap;                         //  most blocks in one reply, 0 = no cap
    size_t received;                    //  GetBlocks requests received
    zframe_t *held_identity;            //  a held request's sender
    Certchain__Request *held;           //  the held request
    //  The node that syncs
    char *dir;                          //  its store
    cc_genesis_t *genesis;              //  its genesis
    cc_chain_t *chain;                  //  its chain
    cc_rpc_client_t *client;            //  its DEALER to the relay
    cc_sync_t *sync;                    //  under test
    s_report_t reports [S_MAX_REPORTS]; //  what on_block was told
    size_t report_count;
    size_t foreign;                     //  replies sync did not claim
    bool idle;                          //  the pump leaves queued blocks alone
} s_world_t;

//  --- The source chain --------------------------------------------------------------

static cc_keypair_t *
s_key_of (s_world_t *self, const uint8_t *pubkey)
{
    for (size_t index = 0; index < S_VALIDATORS; index++)
        if (memcmp (cc_keypair_public (self->keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return self->keys [index];
    return NULL;
}

//  Seals block with a commit of every member of V(h).
static void
s_seal (s_world_t *self, cc_block_t *block)
{
    uint64_t height = cc_block_height (block);
    cc_valset_t *valset = cc_state_valset (cc_chain_state (self->source), height);
    ck_assert_ptr_nonnull (valset);
    Certchain__Commit *commit = cc_commit_new (height, cc_block_round (block),
                                               cc_block_hash (block));
    for (size_t index = 0; index < cc_valset_size (valset); index++) {
        cc_keypair_t *key = s_key_of (self, cc_valset_member (valset, index));
        ck_assert_ptr_nonnull (key);
        Certchain__Signed vote;
        ck_assert_int_eq (cc_vote_sign (key, FIXTURE_CHAIN, CERTCHAIN__VOTE_TYPE__PRECOMMIT,
                                        height, cc_block_round (block), cc_block_hash (block),
                                        &vote), 0);
        ck_assert_int_eq (cc_commit_add (commit, &vote), 0);
        cc_signed_clear (&vote);
    }
    ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
    cc_commit_destroy (&commit);
    cc_valset_destroy (&valset);
}

//  A transfer of 1 from account (height % S_ACCOUNTS) to the next one.
static cc_tx_t *
s_transfer (s_world_t *self, uint64_t height)
{
    cc_keypair_t *from = fixture_keypair (FIXTURE_ACCOUNT (height % S_ACCOUNTS));
    cc_keypair_t *to = fixture_keypair (FIXTURE_ACCOUNT ((height + 1) % S_ACCOUNTS));
    uint64_t balance = 0, nonce = 0;
    cc_state_account (cc_chain_state (self->source), cc_keypair_public (from), &balance,
                      &nonce);
    cc_tx_t *tx = fixture_transfer (from, cc_keypair_public (to), 1, 1, nonce + 1);
    ck_assert_ptr_nonnull (tx);
    cc_keypair_destroy (&from);
    cc_keypair_destroy (&to);
    return tx;
}

//  Builds the next block of the source by key (NULL = scheduled) at
//  time tip + delay, with one transfer.
static cc_block_t *
s_build (s_world_t *self, cc_keypair_t *key, uint64_t delay, cc_exec_t **exec_p)
{
    cc_chain_t *chain = self->source;
    uint64_t height = cc_chain_height (chain) + 1;
    if (!key) {
        cc_valset_t *valset = cc_state_valset (cc_chain_state (chain), height);
        key = s_key_of (self, cc_valset_proposer (valset, height, 0));
        cc_valset_destroy (&valset);
        ck_assert_ptr_nonnull (key);
    }
    cc_block_t *parent = NULL;
    if (height > 1)
        parent = cc_block_decode (self->good [height - 1], self->good_size [height - 1],
                                  NULL);
    cc_tx_t *tx = s_transfer (self, height);
    cc_block_build_args_t args = {
        .state = cc_chain_state (chain),
        .proposer = key,
        .height = height,
        .time_ms = cc_chain_tip_time (chain) + delay,
        .parent_hash = cc_chain_tip_hash (chain),
        .last_commit = parent ? cc_block_commit (parent) : NULL,
        .candidates = &tx,
        .count = 1,
    };
    cc_reason_t reason;
    cc_block_t *block = cc_block_build (&args, exec_p, &reason);
    ck_assert_msg (block != NULL, "build: %s", reason.text);
    ck_assert_uint_eq (cc_block_tx_count (block), 1);
    cc_tx_destroy (&tx);
    cc_block_destroy (&parent);
    return block;
}

static void
s_encode (cc_block_t *block, bool with_commit, uint8_t **data_p, size_t *size_p)
{
    ck_assert_int_eq (cc_block_encode (block, with_commit, data_p, size_p), 0);
}

//  Grows the source chain to count blocks, keeping each block's bytes and
//  its rogue and alternative variants.
static void
s_grow (s_world_t *self, size_t count)
{
    ck_assert_uint_le (count, S_MAX_BLOCKS);
    cc_keypair_t *rogue_key = fixture_keypair (S_ROGUE);
    while (self->count < count) {
        uint64_t height = self->count + 1;
        cc_block_t *rogue = s_build (self, rogue_key, 1000, NULL);
        s_seal (self, rogue);
        s_encode (rogue, true, &self->rogue [height], &self->rogue_size [height]);
        cc_block_destroy (&rogue);

        cc_block_t *alt = s_build (self, NULL, 2000, NULL);
        s_seal (self, alt);
        s_encode (alt, true, &self->alt [height], &self->alt_size [height]);
        cc_block_destroy (&alt);

        cc_exec_t *exec = NULL;
        cc_block_t *block = s_build (self, NULL, 1000, &exec);
        s_encode (block, false, &self->bare [height], &self->bare_size [height]);
        s_seal (self, block);
        s_encode (block, true, &self->good [height], &self->good_size [height]);
        cc_reason_t reason;
        int rc = cc_chain_commit (self->source, block, &exec, &reason);
        ck_assert_msg (rc == 0, "commit: %s", reason.text);
        cc_block_destroy (&block);
        self->count++;
    }
    cc_keypair_destroy (&rogue_key);
}

//  --- The syncing node -------------------------------------------------------------

static void
s_on_block (void *argument, cc_block_t *block, int verdict, const cc_reason_t *reason)
{
    s_world_t *self = (s_world_t *) argument;
    ck_assert_ptr_nonnull (block);
    ck_assert_ptr_nonnull (reason);
    ck_assert_int_eq (reason->code, verdict);
    ck_assert_uint_lt (self->report_count, S_MAX_REPORTS);
    s_report_t *report = &self->reports [self->report_count++];
    report->height = cc_block_height (block);
    report->verdict = verdict;
    memcpy (report->hash, cc_block_hash (block), CC_HASH_SIZE);
}

//  A world with count source blocks, a relay serving them and an empty
//  chain synced in batches of batch with this timeout.
static s_world_t *
s_world_new (size_t count, uint32_t batch, uint32_t timeout_ms)
{
    s_world_t *self = (s_world_t *) calloc (1, sizeof (s_world_t));
    ck_assert_ptr_nonnull (self);
    cc_reason_t reason;
    self->source_dir = fixture_tempdir ("sync-source");
    self->source_genesis = fixture_genesis (1, S_VALIDATORS - 1, S_ACCOUNTS, S_BALANCE);
    self->source = cc_chain_open (self->source_dir, self->source_genesis, 0, &reason);
    ck_assert_msg (self->source != NULL, "open: %s", reason.text);
    self->keys [0] = fixture_keypair (FIXTURE_CA (0));
    for (size_t index = 1; index < S_VALIDATORS; index++)
        self->keys [index] = fixture_keypair (FIXTURE_VALIDATOR (index - 1));
    s_grow (self, count);
    self->relay_tip = count;

    self->router = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (self->router);
    cc_rpc_socket_policy (self->router, CC_MAX_MESSAGE_SIZE);
    int port = zsock_bind (self->router, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);

    self->dir = fixture_tempdir ("sync-node");
    self->genesis = fixture_genesis (1, S_VALIDATORS - 1, S_ACCOUNTS, S_BALANCE);
    self->chain = cc_chain_open (self->dir, self->genesis, 0, &reason);
    ck_assert_msg (self->chain != NULL, "open: %s", reason.text);
    self->client = cc_rpc_client_new (endpoint, CC_MAX_MESSAGE_SIZE);
    ck_assert_ptr_nonnull (self->client);
    cc_sync_opts_t opts = {.batch = batch, .timeout_ms = timeout_ms, .threads = 2};
    self->sync = cc_sync_new (self->chain, self->client, &opts, s_on_block, self);
    ck_assert_ptr_nonnull (self->sync);
    return self;
}

static void
s_world_destroy (s_world_t **self_p)
{
    s_world_t *self = *self_p;
    cc_sync_destroy (&self->sync);
    ck_assert_ptr_null (self->sync);
    cc_rpc_client_destroy (&self->client);
    cc_chain_destroy (&self->chain);
    cc_genesis_destroy (&self->genesis);
    fixture_rmtree (self->dir);
    free (self->dir);
    zframe_destroy (&self->held_identity);
    cc_rpc_request_free (&self->held);
    zsock_destroy (&self->router);
    for (size_t height = 1; height <= self->count; height++) {
        free (self->good [height]);
        free (self->bare [height]);
        free (self->rogue [height]);
        free (self->alt [height]);
    }
    for (size_t index = 0; index < S_VALIDATORS; index++)
        cc_keypair_destroy (&self->keys [index]);
    cc_chain_destroy (&self->source);
    cc_genesis_destroy (&self->source_genesis);
    fixture_rmtree (self->source_dir);
    free (self->source_dir);
    free (self);
    *self_p = NULL;
}

//  --- The relay's side ---------------------------------------------------------------

//  Answers request (a GetBlocks) from the relay's blocks.
static void
s_answer (s_world_t *self, zframe_t *identity, Certchain__Request *request)
{
    Certchain__GetBlocks *get = request->get_blocks;
    ProtobufCBinaryData items [S_MAX_BLOCKS];
    size_t count = 0;
    for (uint64_t height = get->from_height;
         height >= 1 && height <= self->relay_tip && count < get->max_count
         && count < S_MAX_BLOCKS && (self->cap == 0 || count < self->cap); height++) {
        if (height == self->bad_height)
            items [count++] = cc_bytes_view (self->bad, self->bad_size);
        else
            items [count++] = cc_bytes_view (self->good [height], self->good_size [height]);
    }
    Certchain__Blocks blocks = CERTCHAIN__BLOCKS__INIT;
    blocks.n_blocks = count;
    blocks.blocks = items;
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = request->id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_BLOCKS;
    reply.blocks = &blocks;
    ck_assert_int_eq (cc_rpc_reply (self->router, identity, &reply), 0);
}

//  Reads one request and deals with it as the policy says.
static void
s_serve (s_world_t *self)
{
    zframe_t *identity = NULL;
    int code = 0;
    Certchain__Request *request = cc_rpc_recv (self->router, &identity, CC_MAX_MESSAGE_SIZE,
                                               &code);
    if (!request)
        return;
    if (request->kind_case == CERTCHAIN__REQUEST__KIND_GET_STATUS) {
        Certchain__Status status = CERTCHAIN__STATUS__INIT;
        status.service = "relay";
        status.height = self->relay_tip;
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.id = request->id;
        reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
        reply.status = &status;
        ck_assert_int_eq (cc_rpc_reply (self->router, identity, &reply), 0);
    }
    else {
        ck_assert_int_eq (request->kind_case, CERTCHAIN__REQUEST__KIND_GET_BLOCKS);
        self->received++;
        s_policy_t policy = self->policy_left > 0 ? self->policy : S_SERVE;
        if (self->policy_left > 0)
            self->policy_left--;
        if (policy == S_SERVE)
            s_answer (self, identity, request);
        else
        if (policy == S_REFUSE)
            ck_assert_int_eq (cc_rpc_reply_error (self->router, identity, request->id,
                                                  CC_E_BUSY, NULL), 0);
        else
        if (policy == S_HOLD && !self->held) {
            self->held = request;
            self->held_identity = identity;
            return;
        }
    }
    zframe_destroy (&identity);
    cc_rpc_request_free (&request);
}

//  Answers the held request now.
static void
s_release (s_world_t *self)
{
    ck_assert_ptr_nonnull (self->held);
    s_answer (self, self->held_identity, self->held);
    zframe_destroy (&self->held_identity);
    cc_rpc_request_free (&self->held);
}

//  --- The service loop ----------------------------------------------------------------

typedef bool (s_done_fn) (s_world_t *self, uint64_t value);

static bool
s_height_is (s_world_t *self, uint64_t height)
{
    return cc_chain_height (self->chain) == height;
}

static bool
s_reports_are (s_world_t *self, uint64_t count)
{
    return self->report_count >= count;
}

static bool
s_never (s_world_t *self, uint64_t value)
{
    (void) self;
    (void) value;
    return false;
}

//  Runs relay and service until done (or for at most max_ms); true if
//  done was reached.
static bool
s_pump (s_world_t *self, s_done_fn *done, uint64_t value, int64_t max_ms)
{
    int64_t end = zclock_mono () + max_ms;
    while (!done (self, value)) {
        if (zclock_mono () >= end)
            return false;
        zmq_pollitem_t items [] = {
            {zsock_resolve (self->router), 0, ZMQ_POLLIN, 0},
            {zsock_resolve (cc_rpc_client_socket (self->client)), 0, ZMQ_POLLIN, 0},
            {NULL, cc_sync_fd (self->sync), ZMQ_POLLIN, 0},
        };
        ck_assert_int_ge (zmq_poll (items, 3, 5), 0);
        if (items [0].revents & ZMQ_POLLIN)
            s_serve (self);
        if (items [1].revents & ZMQ_POLLIN) {
            Certchain__Reply *reply = cc_rpc_client_recv (self->client, 0);
            if (reply && !cc_sync_on_reply (self->sync, reply, (uint64_t) zclock_mono ()))
                self->foreign++;
            cc_rpc_reply_free (&reply);
        }
        if ((items [2].revents & ZMQ_POLLIN) && !self->idle)
            cc_sync_work (self->sync, (uint64_t) zclock_mono ());
        cc_sync_tick (self->sync, (uint64_t) zclock_mono ());
    }
    return true;
}

//  The synced chain matches the source up to its tip.
static void
s_assert_same_chain (s_world_t *self)
{
    uint64_t height = cc_chain_height (self->chain);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_chain_block (self->chain, height, &data, &size), 0);
    ck_assert_uint_eq (size, self->good_size [height]);
    ck_assert_mem_eq (data, self->good [height], size);
    free (data);
    if (height == self->count) {
        ck_assert_mem_eq (cc_chain_tip_hash (self->chain), cc_chain_tip_hash (self->source),
                          CC_HASH_SIZE);
        ck_assert_mem_eq (cc_state_app_hash (cc_chain_state (self->chain)),
                          cc_state_app_hash (cc_chain_state (self->source)), CC_HASH_SIZE);
    }
}

static uint64_t
s_now (void)
{
    return (uint64_t) zclock_mono ();
}

static s_report_t *
s_last_report (s_world_t *self)
{
    ck_assert_uint_gt (self->report_count, 0);
    return &self->reports [self->report_count - 1];
}

//  Offers the bytes to sync; returns its answer.
static int
s_offer (s_world_t *self, const uint8_t *data, size_t size, cc_reason_t *reason)
{
    return cc_sync_offer (self->sync, data, size, s_now (), reason);
}

//  --- Catch-up -----------------------------------------------------------------------

START_TEST (test_catch_up_in_batches)
{
    s_world_t *world = s_world_new (50, 8, 3000);
    ck_assert (!cc_sync_behind (world->sync));
    cc_sync_target (world->sync, 50, s_now ());
    ck_assert (cc_sync_behind (world->sync));
    ck_assert_uint_eq (cc_sync_target_height (world->sync), 50);
    ck_assert (s_pump (world, s_height_is, 50, 20000));
    ck_assert (!cc_sync_behind (world->sync));
    //  Every block reported once, committed, in order.
    ck_assert_uint_eq (world->report_count, 50);
    for (size_t index = 0; index < 50; index++) {
        ck_assert_uint_eq (world->reports [index].height, index + 1);
        ck_assert_int_eq (world->reports [index].verdict, 0);
    }
    s_assert_same_chain (world);
    //  Seven batches of at most 8 (the last one short), and nothing more
    //  once the target is reached.
    s_pump (world, s_never, 0, 100);
    ck_assert_uint_eq (world->received, 7);
    ck_assert_uint_eq (world->foreign, 0);
    //  A lower target changes nothing.
    cc_sync_target (world->sync, 10, s_now ());
    ck_assert_uint_eq (cc_sync_target_height (world->sync), 50);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_short_replies_are_followed_at_once)
{
    //  A relay that caps its replies below the batch (its size limit):
    //  each short reply is followed at once, not after a timeout.
    s_world_t *world = s_world_new (20, 8, 3000);
    world->cap = 3;
    int64_t start = zclock_mono ();
    cc_sync_target (world->sync, 20, s_now ());
    ck_assert (s_pump (world, s_height_is, 20, 20000));
    ck_assert_int_lt (zclock_mono () - start, 5000);     //  not 6 x 3 s
    ck_assert_uint_eq (world->received, 7);
    s_assert_same_chain (world);
    //  A relay with nothing new: no request in a tight loop.
    cc_sync_target (world->sync, 25, s_now ());
    s_pump (world, s_never, 0, 500);
    ck_assert_uint_eq (world->received, 8);
    ck_assert (cc_sync_behind (world->sync));
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_nothing_asked_when_not_behind)
{
    s_world_t *world = s_world_new (3, 8, 3000);
    cc_sync_target (world->sync, 0, s_now ());
    s_pump (world, s_never, 0, 100);
    ck_assert_uint_eq (world->received, 0);
    ck_assert_uint_eq (cc_chain_height (world->chain), 0);
    s_world_destroy (&world);
}
END_TEST

//  A bad block at height 25 (kind 0: rogue proposer; kind 1: no commit)
//  is discarded with its verdict and nothing past it is committed until
//  the relay serves the right block.
START_TEST (test_bad_block_stops_the_sync)
{
    s_world_t *world = s_world_new (50, 8, 300);
    world->bad_height = 25;
    world->bad = _i == 0 ? world->rogue [25] : world->bare [25];
    world->bad_size = _i == 0 ? world->rogue_size [25] : world->bare_size [25];
    int expected = _i == 0 ? CC_E_UNAUTHORIZED_PROPOSER : CC_E_COMMIT_BELOW_QUORUM;

    cc_sync_target (world->sync, 50, s_now ());
    ck_assert (s_pump (world, s_reports_are, 25, 20000));
    ck_assert_uint_eq (cc_chain_height (world->chain), 24);
    s_report_t *report = s_last_report (world);
    ck_assert_uint_eq (report->height, 25);
    ck_assert_int_eq (report->verdict, expected);
    cc_block_t *bad = cc_block_decode (world->bad, world->bad_size, NULL);
    ck_assert_mem_eq (report->hash, cc_block_hash (bad), CC_HASH_SIZE);
    cc_block_destroy (&bad);
    ck_assert (cc_sync_behind (world->sync));
    s_assert_same_chain (world);

    //  Backed off: no request in a tight loop after the discard (the one
    //  asked ahead before it may still arrive; its blocks, past the
    //  emptied queue, are dropped unreported).
    s_pump (world, s_never, 0, 60);
    size_t received = world->received;
    s_pump (world, s_never, 0, 100);
    ck_assert_uint_eq (world->received, received);
    ck_assert_uint_eq (world->report_count, 25);
    //  Asked again after the timeout, from 25 (and ahead, up to the target):
    //  the same bad block, discarded again, and still nothing committed
    //  past 24.
    ck_assert (s_pump (world, s_reports_are, 26, 5000));
    ck_assert_uint_ge (world->received, received + 1);
    ck_assert_uint_le (world->received, received + 4);
    ck_assert_uint_eq (cc_chain_height (world->chain), 24);
    ck_assert_int_eq (s_last_report (world)->verdict, expected);
    for (size_t index = 0; index < world->report_count; index++)
        if (world->reports [index].verdict == 0)
            ck_assert_uint_le (world->reports [index].height, 24);

    //  The relay serves the right block: the sync goes on to the end.
    world->bad_height = 0;
    ck_assert (s_pump (world, s_height_is, 50, 20000));
    s_assert_same_chain (world);
    ck_assert (!cc_sync_behind (world->sync));
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_next_batch_asked_before_applying)
{
    //  Nothing is applied: every batch is asked anyway, each as soon as the
    //  previous reply is queued, not after its blocks are committed.
    s_world_t *world = s_world_new (30, 10, 3000);
    world->idle = true;
    cc_sync_target (world->sync, 30, s_now ());
    s_pump (world, s_never, 0, 500);
    ck_assert_uint_eq (world->received, 3);
    ck_assert_uint_eq (cc_chain_height (world->chain), 0);
    ck_assert_uint_eq (world->report_count, 0);
    ck_assert (cc_sync_behind (world->sync));
    //  Applied in order, one block per call, without asking again.
    world->idle = false;
    ck_assert (s_pump (world, s_height_is, 30, 20000));
    ck_assert_uint_eq (world->received, 3);
    ck_assert_uint_eq (world->report_count, 30);
    for (size_t index = 0; index < world->report_count; index++) {
        ck_assert_uint_eq (world->reports [index].height, index + 1);
        ck_assert_int_eq (world->reports [index].verdict, 0);
    }
    s_assert_same_chain (world);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_full_queue_stops_asking)
{
    //  A queue cap of one byte: one batch waits, nothing more is asked
    //  until it is applied.
    s_world_t *world = s_world_new (30, 10, 3000);
    cc_sync_destroy (&world->sync);
    cc_sync_opts_t opts = {.batch = 10, .timeout_ms = 3000, .threads = 2, .queue_bytes = 1};
    world->sync = cc_sync_new (world->chain, world->client, &opts, s_on_block, world);
    ck_assert_ptr_nonnull (world->sync);
    world->idle = true;
    cc_sync_target (world->sync, 30, s_now ());
    s_pump (world, s_never, 0, 300);
    ck_assert_uint_eq (world->received, 1);
    world->idle = false;
    ck_assert (s_pump (world, s_height_is, 30, 20000));
    ck_assert_uint_eq (world->received, 3);
    s_assert_same_chain (world);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_timeouts_are_retried)
{
    s_world_t *world = s_world_new (20, 10, 300);
    world->policy = S_IGNORE;
    world->policy_left = 2;
    int64_t start = zclock_mono ();
    cc_sync_target (world->sync, 20, s_now ());
    ck_assert (s_pump (world, s_height_is, 20, 10000));
    //  Two ignored requests, each re-asked after 300 ms, then two batches.
    ck_assert_int_ge (zclock_mono () - start, 600);
    ck_assert_uint_eq (world->received, 4);
    ck_assert_uint_eq (world->report_count, 20);
    s_assert_same_chain (world);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_late_reply_is_still_syncs)
{
    s_world_t *world = s_world_new (10, 10, 300);
    world->policy = S_HOLD;
    world->policy_left = 1;
    cc_sync_target (world->sync, 10, s_now ());
    //  The first request is held; the retry is served.
    ck_assert (s_pump (world, s_height_is, 10, 10000));
    ck_assert_uint_eq (world->received, 2);
    //  The late answer to the abandoned request is sync's, and harmless.
    s_release (world);
    s_pump (world, s_never, 0, 200);
    ck_assert_uint_eq (world->foreign, 0);
    ck_assert_uint_eq (world->report_count, 10);
    ck_assert_uint_eq (cc_chain_height (world->chain), 10);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_error_reply_backs_off)
{
    s_world_t *world = s_world_new (5, 10, 400);
    world->policy = S_REFUSE;
    world->policy_left = 1;
    cc_sync_target (world->sync, 5, s_now ());
    ck_assert (s_pump (world, s_never, 0, 100) == false);
    //  Refused once; not asked again before the timeout.
    ck_assert_uint_eq (world->received, 1);
    ck_assert_uint_eq (cc_chain_height (world->chain), 0);
    ck_assert (s_pump (world, s_height_is, 5, 5000));
    ck_assert_uint_eq (world->received, 2);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_foreign_replies_are_left)
{
    s_world_t *world = s_world_new (2, 10, 3000);
    Certchain__GetStatus get_status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get_status;
    ck_assert_uint_gt (cc_rpc_client_send (world->client, &request), 0);
    s_pump (world, s_never, 0, 200);
    ck_assert_uint_eq (world->foreign, 1);
    //  A reply with no id is never sync's either.
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    ck_assert (!cc_sync_on_reply (world->sync, &reply, s_now ()));
    cc_sync_destroy (&world->sync);
    cc_sync_destroy (&world->sync);         //  safe on NULL
    s_world_destroy (&world);
}
END_TEST

//  --- Offers from "blk" --------------------------------------------------------------

START_TEST (test_offer_next_and_repeats)
{
    s_world_t *world = s_world_new (4, 10, 3000);
    cc_reason_t reason;
    for (uint64_t height = 1; height <= 3; height++) {
        ck_assert_int_eq (s_offer (world, world->good [height], world->good_size [height],
                                   &reason), 0);
        ck_assert_uint_eq (cc_chain_height (world->chain), height);
        ck_assert_uint_eq (s_last_report (world)->height, height);
        ck_assert_int_eq (s_last_report (world)->verdict, 0);
    }
    ck_assert_uint_eq (world->report_count, 3);
    //  The tip and an older block again: 0, quietly.
    ck_assert_int_eq (s_offer (world, world->good [3], world->good_size [3], &reason), 0);
    ck_assert_int_eq (s_offer (world, world->good [1], world->good_size [1], NULL), 0);
    ck_assert_uint_eq (world->report_count, 3);
    //  A held block is known by its header alone and not decoded: the
    //  tip's bytes followed by a tx that would not decode still give 0.
    size_t tail_size = world->good_size [3] + 4;
    uint8_t *tail = (uint8_t *) malloc (tail_size);
    memcpy (tail, world->good [3], world->good_size [3]);
    memcpy (tail + world->good_size [3], (const uint8_t []) {0x1a, 0x02, 0x0a, 0x05}, 4);
    ck_assert_ptr_null (cc_block_decode (tail, tail_size, NULL));
    ck_assert_int_eq (s_offer (world, tail, tail_size, &reason), 0);
    free (tail);
    ck_assert_uint_eq (world->report_count, 3);
    s_assert_same_chain (world);
    //  Nothing was fetched: never behind.
    s_pump (world, s_never, 0, 50);
    ck_assert_uint_eq (world->received, 0);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_offer_refusals)
{
    s_world_t *world = s_world_new (4, 10, 3000);
    cc_reason_t reason;
    for (uint64_t height = 1; height <= 3; height++)
        ck_assert_int_eq (s_offer (world, world->good [height], world->good_size [height],
                                   NULL), 0);
    size_t reports = world->report_count;

    //  A valid fork of the tip and of an older height: CONFLICT.
    ck_assert_int_eq (s_offer (world, world->alt [3], world->alt_size [3], &reason),
                      CC_E_CONFLICT);
    ck_assert_int_eq (reason.code, CC_E_CONFLICT);
    ck_assert_ptr_nonnull (strstr (reason.text, "conflicts"));
    ck_assert_int_eq (s_last_report (world)->verdict, CC_E_CONFLICT);
    ck_assert_uint_eq (s_last_report (world)->height, 3);
    ck_assert_int_eq (s_offer (world, world->alt [2], world->alt_size [2], &reason),
                      CC_E_CONFLICT);
    ck_assert_uint_eq (s_last_report (world)->height, 2);
    //  A rogue block at a past height is named for what it is.
    ck_assert_int_eq (s_offer (world, world->rogue [2], world->rogue_size [2], &reason),
                      CC_E_UNAUTHORIZED_PROPOSER);
    ck_assert_int_eq (s_last_report (world)->verdict, CC_E_UNAUTHORIZED_PROPOSER);
    //  The stored block without its commit is the same block (the commit
    //  is outside the hash); a fork without a commit has no quorum.
    ck_assert_int_eq (s_offer (world, world->bare [3], world->bare_size [3], &reason), 0);
    cc_block_t *alt = cc_block_decode (world->alt [3], world->alt_size [3], NULL);
    ck_assert_int_eq (cc_block_set_commit (alt, NULL), 0);
    uint8_t *data = NULL;
    size_t size = 0;
    s_encode (alt, false, &data, &size);
    ck_assert_int_eq (s_offer (world, data, size, &reason), CC_E_COMMIT_BELOW_QUORUM);
    free (data);
    cc_block_destroy (&alt);
    ck_assert_uint_eq (world->report_count, reports + 4);

    //  At tip + 1: the rogue block and the block without commit are
    //  discarded with their verdicts; the chain does not move.
    ck_assert_int_eq (s_offer (world, world->rogue [4], world->rogue_size [4], &reason),
                      CC_E_UNAUTHORIZED_PROPOSER);
    ck_assert_int_eq (reason.code, CC_E_UNAUTHORIZED_PROPOSER);
    ck_assert_int_eq (s_last_report (world)->verdict, CC_E_UNAUTHORIZED_PROPOSER);
    ck_assert_uint_eq (s_last_report (world)->height, 4);
    ck_assert_int_eq (s_offer (world, world->bare [4], world->bare_size [4], &reason),
                      CC_E_COMMIT_BELOW_QUORUM);
    ck_assert_uint_eq (cc_chain_height (world->chain), 3);
    ck_assert_uint_eq (world->report_count, reports + 6);

    //  Bytes that are no block: refused, not reported.
    const uint8_t junk [] = {0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq (s_offer (world, junk, sizeof (junk), &reason), CC_E_MALFORMED);
    ck_assert_uint_eq (world->report_count, reports + 6);

    //  The right block still goes in.
    ck_assert_int_eq (s_offer (world, world->good [4], world->good_size [4], &reason), 0);
    ck_assert_uint_eq (cc_chain_height (world->chain), 4);
    s_assert_same_chain (world);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_offer_gap_fetches_and_applies_kept)
{
    //  The relay has blocks up to 9; the node missed them and sees 10.
    s_world_t *world = s_world_new (16, 100, 300);
    world->relay_tip = 9;
    ck_assert_int_eq (s_offer (world, world->good [10], world->good_size [10], NULL), 0);
    ck_assert_uint_eq (cc_chain_height (world->chain), 0);
    ck_assert_uint_eq (world->report_count, 0);
    //  An unverified block never raises the target.
    ck_assert (!cc_sync_behind (world->sync));
    //  A block far ahead that the relay will never have.
    ck_assert_int_eq (s_offer (world, world->good [16], world->good_size [16], NULL), 0);
    ck_assert_int_eq (s_offer (world, world->good [16], world->good_size [16], NULL), 0);

    //  1..9 fetched, then 10 applied from the kept set.
    ck_assert (s_pump (world, s_height_is, 10, 5000));
    ck_assert_uint_eq (world->received, 1);
    for (size_t index = 0; index < 10; index++) {
        ck_assert_uint_eq (world->reports [index].height, index + 1);
        ck_assert_int_eq (world->reports [index].verdict, 0);
    }
    s_assert_same_chain (world);
    //  16 arrived after the first request was sent; the next, empty answer
    //  shows the relay does not hold it: discarded as WRONG_HEIGHT, once.
    ck_assert (s_pump (world, s_reports_are, 11, 5000));
    ck_assert_uint_eq (world->received, 2);
    ck_assert_uint_eq (s_last_report (world)->height, 16);
    ck_assert_int_eq (s_last_report (world)->verdict, CC_E_WRONG_HEIGHT);
    s_pump (world, s_never, 0, 300);
    ck_assert_uint_eq (world->report_count, 11);
    ck_assert_uint_eq (world->received, 2);
    ck_assert_uint_eq (cc_chain_height (world->chain), 10);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_offer_applies_kept_blocks_in_order)
{
    //  Blocks heard out of order on "blk" (nothing fetched in between):
    //  4 and 3 are kept, and applied as soon as 2 closes the gap.
    s_world_t *world = s_world_new (4, 10, 3000);
    ck_assert_int_eq (s_offer (world, world->good [4], world->good_size [4], NULL), 0);
    ck_assert_int_eq (s_offer (world, world->good [3], world->good_size [3], NULL), 0);
    ck_assert_int_eq (s_offer (world, world->good [1], world->good_size [1], NULL), 0);
    ck_assert_uint_eq (cc_chain_height (world->chain), 1);
    ck_assert_int_eq (s_offer (world, world->good [2], world->good_size [2], NULL), 0);
    ck_assert_uint_eq (cc_chain_height (world->chain), 4);
    ck_assert_uint_eq (world->report_count, 4);
    for (size_t index = 0; index < 4; index++) {
        ck_assert_uint_eq (world->reports [index].height, index + 1);
        ck_assert_int_eq (world->reports [index].verdict, 0);
    }
    s_assert_same_chain (world);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_offer_gap_filled_by_the_fetch)
{
    //  Kept blocks that the fetch brings anyway are dropped quietly.
    s_world_t *world = s_world_new (12, 4, 3000);
    ck_assert_int_eq (s_offer (world, world->good [12], world->good_size [12], NULL), 0);
    ck_assert_int_eq (s_offer (world, world->good [6], world->good_size [6], NULL), 0);
    ck_assert (s_pump (world, s_height_is, 12, 5000));
    //  Batches 1-4, 5-8 and 9-12: by then the kept 6 and 12 are repeats
    //  of committed blocks, dropped without a report.
    s_pump (world, s_never, 0, 100);
    ck_assert_uint_eq (world->report_count, 12);
    for (size_t index = 0; index < 12; index++)
        ck_assert_int_eq (world->reports [index].verdict, 0);
    ck_assert_uint_eq (world->received, 3);
    s_assert_same_chain (world);
    s_world_destroy (&world);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("sync");
    TCase *tcase = tcase_create ("catch-up");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_catch_up_in_batches);
    tcase_add_test (tcase, test_nothing_asked_when_not_behind);
    tcase_add_test (tcase, test_short_replies_are_followed_at_once);
    tcase_add_loop_test (tcase, test_bad_block_stops_the_sync, 0, 2);
    tcase_add_test (tcase, test_next_batch_asked_before_applying);
    tcase_add_test (tcase, test_full_queue_stops_asking);
    tcase_add_test (tcase, test_timeouts_are_retried);
    tcase_add_test (tcase, test_late_reply_is_still_syncs);
    tcase_add_test (tcase, test_error_reply_backs_off);
    tcase_add_test (tcase, test_foreign_replies_are_left);
    suite_add_tcase (suite, tcase);
    tcase = tcase_create ("offer");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_offer_next_and_repeats);
    tcase_add_test (tcase, test_offer_refusals);
    tcase_add_test (tcase, test_offer_gap_fetches_and_applies_kept);
    tcase_add_test (tcase, test_offer_gap_filled_by_the_fetch);
    tcase_add_test (tcase, test_offer_applies_kept_blocks_in_order);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
