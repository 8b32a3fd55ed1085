/*  =========================================================================
    test_verifier - the verifier's discard log, and its actor in process

    The discard log is tested as functions over a real store. The actor is
    started in this process (zactor, ipc endpoints in a temporary
    directory) against a fake relay played by the test: a ROUTER answering
    GetStatus and GetBlocks from a source chain built here with
    cc_block_build and sealed by the genesis members (fixture keys), a PUB
    for the "blk" feed and a SUB where the verifier's metrics events
    arrive. The test checks the fresh start (the chain filled from the
    relay), blocks taken off "blk", a rogue block discarded, counted,
    recorded and listed, and every query answer against the source chain:
    GetTx with its Merkle proof checked, GetBlock three ways, GetValidators
    with a producing CA, GetAccount. The process level (command line, exit
    codes, signals, a real relay) is tests/integration/test_verifier.py.
    =========================================================================
*/

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "chain.h"
#include "discards.h"
#include "rpc.h"
#include "service.h"
#include "verifier.h"

#define S_MEMBERS 4             //  1 producing CA + 3 validators
#define S_ACCOUNTS 4
#define S_BALANCE 1000000
#define S_ROGUE 10000u          //  a key never certified
#define S_BLOCKS 12
#define S_TIMEOUT_MS 5000

//  --- Discard log ------------------------------------------------------------------

static cc_chain_t *
s_open_chain (const char *dir, cc_genesis_t *genesis)
{
    cc_reason_t reason;
    cc_chain_t *chain = cc_chain_open (dir, genesis, 0, &reason);
    ck_assert_msg (chain != NULL, "open: %s", reason.text);
    return chain;
}

START_TEST (test_discards_record_list_and_persist)
{
    char *dir = fixture_tempdir ("verifier-discards");
    cc_genesis_t *genesis = fixture_genesis (1, 0, 1, 1);
    cc_chain_t *chain = s_open_chain (dir, genesis);
    cc_reason_t reason;
    cc_discards_t *discards = cc_discards_new (cc_chain_store (chain), &reason);
    ck_assert_ptr_nonnull (discards);
    ck_assert_uint_eq (cc_discards_count (discards), 0);
    Certchain__DiscardedList *list = NULL;
    ck_assert_int_eq (cc_discards_list (discards, 0, 0, &list), 0);
    ck_assert_uint_eq (list->n_discarded, 0);
    cc_discards_list_free (&list);
    ck_assert_ptr_null (list);

    uint8_t hash [CC_HASH_SIZE], proposer [CC_PUBKEY_SIZE];
    memset (proposer, 0xab, sizeof (proposer));
    for (uint64_t index = 1; index <= 5; index++) {
        memset (hash, (int) index, sizeof (hash));
        uint64_t seq = 0;
        ck_assert_int_eq (cc_discards_record (discards, 10 + index, hash, proposer,
                                              CC_E_UNAUTHORIZED_PROPOSER, "rogue", 1000 + index,
                                              &seq), 0);
        ck_assert_uint_eq (seq, index);
    }
    //  One without hash or proposer (NULL allowed).
    ck_assert_int_eq (cc_discards_record (discards, 0, NULL, NULL, CC_E_WRONG_HEIGHT, NULL, 0,
                                          NULL), 0);
    ck_assert_uint_eq (cc_discards_count (discards), 6);

    //  From seq 2, two of them.
    ck_assert_int_eq (cc_discards_list (discards, 2, 2, &list), 0);
    ck_assert_uint_eq (list->n_discarded, 2);
    ck_assert_uint_eq (list->discarded [0]->seq, 2);
    ck_assert_uint_eq (list->discarded [0]->height, 12);
    ck_assert_int_eq (list->discarded [0]->code, -CC_E_UNAUTHORIZED_PROPOSER);
    ck_assert_str_eq (list->discarded [0]->reason, "rogue");
    ck_assert_uint_eq (list->discarded [0]->time_ms, 1002);
    ck_assert_uint_eq (list->discarded [0]->block_hash.len, CC_HASH_SIZE);
    ck_assert_uint_eq (list->discarded [0]->block_hash.data [0], 2);
    ck_assert_mem_eq (list->discarded [0]->proposer.data, proposer, CC_PUBKEY_SIZE);
    ck_assert_uint_eq (list->discarded [1]->seq, 3);
    cc_discards_list_free (&list);
    //  Past the end: empty; a huge page is capped and ends at the last.
    ck_assert_int_eq (cc_discards_list (discards, 7, 0, &list), 0);
    ck_assert_uint_eq (list->n_discarded, 0);
    cc_discards_list_free (&list);
    ck_assert_int_eq (cc_discards_list (discards, 0, 4000000000u, &list), 0);
    ck_assert_uint_eq (list->n_discarded, 6);
    ck_assert_uint_eq (list->discarded [5]->seq, 6);
    ck_assert_int_eq (list->discarded [5]->code, -CC_E_WRONG_HEIGHT);
    ck_assert_uint_eq (list->discarded [5]->block_hash.len, 0);
    cc_discards_list_free (&list);
    cc_discards_list_free (&list);          //  safe on NULL
    cc_discards_destroy (&discards);
    cc_discards_destroy (&discards);        //  safe on NULL

    //  Reopened: the count and records are still there, numbering goes on.
    cc_chain_destroy (&chain);
    chain = s_open_chain (dir, genesis);
    discards = cc_discards_new (cc_chain_store (chain), &reason);
    ck_assert_ptr_nonnull (discards);
    ck_assert_uint_eq (cc_discards_count (discards), 6);
    uint64_t seq = 0;
    ck_assert_int_eq (cc_discards_record (discards, 1, hash, proposer, CC_E_CONFLICT, "fork",
                                          1, &seq), 0);
    ck_assert_uint_eq (seq, 7);
    ck_assert_int_eq (cc_discards_list (discards, 7, 10, &list), 0);
    ck_assert_uint_eq (list->n_discarded, 1);
    ck_assert_int_eq (list->discarded [0]->code, -CC_E_CONFLICT);
    cc_discards_list_free (&list);
    cc_discards_destroy (&discards);
    cc_chain_destroy (&chain);
    cc_genesis_destroy (&genesis);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_check_refuses_bad_keys)
{
    const char *cases [][2] = {
        {"verifier/threads", "0"},
        {"verifier/threads", "65"},
        {"verifier/threads", "two"},
        {"verifier/batch", "0"},
        {"verifier/batch", "1001"},
        {"verifier/query", "127.0.0.1:7301"},
        {"relay/pub", ""},
        {"store/path", ""},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        cc_config_t *config = cc_config_new ("test");
        cc_verifier_define (config);
        cc_reason_t reason;
        ck_assert_int_eq (cc_verifier_check (config, &reason), 0);
        ck_assert_int_eq (cc_config_set (config, cases [index][0], cases [index][1], &reason),
                          0);
        ck_assert_int_eq (cc_verifier_check (config, &reason), CC_E_CONFIG);
        ck_assert_msg (strstr (reason.text, cases [index][0]) != NULL, "%s", reason.text);
        cc_config_destroy (&config);
    }
}
END_TEST

//  --- The actor against a fake relay ---------------------------------------------

typedef struct {
    char *dir;                          //  everything of the test lives here
    cc_genesis_t *genesis;              //  the chain's genesis (saved to a file)
    cc_chain_t *source;                 //  the network's chain
    cc_keypair_t *keys [S_MEMBERS];     //  genesis members' keys
    uint8_t *blocks [S_BLOCKS + 2];     //  source blocks with commits, by height
    size_t sizes [S_BLOCKS + 2];
    uint8_t *rogue;                     //  a rogue block at height S_BLOCKS
    size_t rogue_size;
    uint8_t tx_hash [CC_HASH_SIZE];     //  a tx of block 5 (the second of 2)
    zsock_t *rpc;                       //  the fake relay's ROUTER
    zsock_t *pub;                       //  its "blk" feed
    zsock_t *gossip;                    //  where metrics events arrive
    uint64_t relay_tip;                 //  what the fake relay says and serves
    size_t get_blocks;                  //  GetBlocks requests served
    cc_config_t *config;                //  the verifier's configuration
    cc_log_t *log;                      //  its log
    cc_verifier_args_t args;            //  what the actor borrows
    zactor_t *actor;                    //  the verifier
    cc_rpc_client_t *query;             //  a client of its query socket
    char store [512];                   //  its store
} s_world_t;

static cc_keypair_t *
s_key_of (s_world_t *self, const uint8_t *pubkey)
{
    for (size_t index = 0; index < S_MEMBERS; index++)
        if (memcmp (cc_keypair_public (self->keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return self->keys [index];
    return NULL;
}

static void
s_seal (s_world_t *self, cc_block_t *block)
{
    uint64_t height = cc_block_height (block);
    cc_valset_t *valset = cc_state_valset (cc_chain_state (self->source), height);
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

//  Builds and seals the next source block (by key, NULL = the scheduled
//  proposer) with count transfers into *data_p; commits it to the source
//  when the key is a member's (a rogue block is only kept as bytes).
static void
s_next_block (s_world_t *self, cc_keypair_t *key, size_t count, uint8_t **data_p,
              size_t *size_p)
{
    cc_chain_t *chain = self->source;
    uint64_t height = cc_chain_height (chain) + 1;
    if (!key) {
        cc_valset_t *valset = cc_state_valset (cc_chain_state (chain), height);
        key = s_key_of (self, cc_valset_proposer (valset, height, 0));
        cc_valset_destroy (&valset);
    }
    cc_tx_t *txs [4];
    for (size_t index = 0; index < count; index++) {
        cc_keypair_t *from = fixture_keypair (FIXTURE_ACCOUNT (index));
        cc_keypair_t *to = fixture_keypair (FIXTURE_ACCOUNT ((index + 1) % S_ACCOUNTS));
        uint64_t balance = 0, nonce = 0;
        cc_state_account (cc_chain_state (chain), cc_keypair_public (from), &balance, &nonce);
        txs [index] = fixture_transfer (from, cc_keypair_public (to), 10, 1, nonce + 1);
        cc_keypair_destroy (&from);
        cc_keypair_destroy (&to);
    }
    cc_block_t *parent = NULL;
    if (height > 1)
        parent = cc_block_decode (self->blocks [height - 1], self->sizes [height - 1], NULL);
    cc_block_build_args_t args = {
        .state = cc_chain_state (chain),
        .proposer = key,
        .height = height,
        .time_ms = cc_chain_tip_time (chain) + 1000,
        .parent_hash = cc_chain_tip_hash (chain),
        .last_commit = parent ? cc_block_commit (parent) : NULL,
        .candidates = txs,
        .count = count,
    };
    cc_reason_t reason;
    cc_exec_t *exec = NULL;
    cc_block_t *block = cc_block_build (&args, &exec, &reason);
    ck_assert_msg (block != NULL, "build: %s", reason.text);
    ck_assert_uint_eq (cc_block_tx_count (block), count);
    s_seal (self, block);
    ck_assert_int_eq (cc_block_encode (block, true, data_p, size_p), 0);
    if (height == 5)
        memcpy (self->tx_hash, cc_tx_hash (cc_block_tx (block, 1)), CC_HASH_SIZE);
    if (s_key_of (self, cc_keypair_public (key))) {
        int rc = cc_chain_commit (chain, block, &exec, &reason);
        ck_assert_msg (rc == 0, "commit: %s", reason.text);
    }
    cc_exec_destroy (&exec);
    cc_block_destroy (&block);
    cc_block_destroy (&parent);
    for (size_t index = 0; index < count; index++)
        cc_tx_destroy (&txs [index]);
}

static void
s_set (s_world_t *self, const char *key, const char *value)
{
    cc_reason_t reason;
    ck_assert_msg (cc_config_set (self->config, key, value, &reason) == 0, "%s: %s", key,
                   reason.text);
}

static zsock_t *
s_bind (int type, const char *dir, const char *name, char *endpoint, size_t size)
{
    snprintf (endpoint, size, "ipc://%s/%s", dir, name);
    zsock_t *socket = zsock_new (type);
    ck_assert_ptr_nonnull (socket);
    cc_rpc_socket_policy (socket, CC_BLOCK_MAX_SIZE + 65536);
    ck_assert_int_ge (zsock_bind (socket, "%s", endpoint), 0);
    return socket;
}

static s_world_t *
s_world_new (void)
{
    s_world_t *self = (s_world_t *) calloc (1, sizeof (s_world_t));
    ck_assert_ptr_nonnull (self);
    self->dir = fixture_tempdir ("verifier-actor");
    self->genesis = fixture_genesis (1, S_MEMBERS - 1, S_ACCOUNTS, S_BALANCE);
    char path [512];
    snprintf (path, sizeof (path), "%s/source", self->dir);
    self->source = s_open_chain (path, self->genesis);
    self->keys [0] = fixture_keypair (FIXTURE_CA (0));
    for (size_t index = 1; index < S_MEMBERS; index++)
        self->keys [index] = fixture_keypair (FIXTURE_VALIDATOR (index - 1));
    for (uint64_t height = 1; height <= S_BLOCKS; height++) {
        if (height == S_BLOCKS) {
            cc_keypair_t *rogue = fixture_keypair (S_ROGUE);
            s_next_block (self, rogue, 1, &self->rogue, &self->rogue_size);
            cc_keypair_destroy (&rogue);
        }
        s_next_block (self, NULL, height % 3, &self->blocks [height], &self->sizes [height]);
    }
    ck_assert_uint_eq (cc_chain_height (self->source), S_BLOCKS);

    char endpoint [600];
    self->rpc = s_bind (ZMQ_ROUTER, self->dir, "relay-rpc", endpoint, sizeof (endpoint));
    self->config = cc_config_new ("certchain-verifier");
    cc_verifier_define (self->config);
    s_set (self, "relay/rpc", endpoint);
    self->pub = s_bind (ZMQ_PUB, self->dir, "relay-pub", endpoint, sizeof (endpoint));
    s_set (self, "relay/pub", endpoint);
    self->gossip = s_bind (ZMQ_SUB, self->dir, "relay-gossip", endpoint, sizeof (endpoint));
    zsock_set_subscribe (self->gossip, "");
    s_set (self, "relay/gossip", endpoint);
    snprintf (endpoint, sizeof (endpoint), "ipc://%s/query", self->dir);
    s_set (self, "verifier/query", endpoint);
    s_set (self, "verifier/batch", "5");
    snprintf (self->store, sizeof (self->store), "%s/stores/verifier", self->dir);
    s_set (self, "store/path", self->store);
    snprintf (path, sizeof (path), "%s/genesis.zpl", self->dir);
    cc_reason_t reason;
    ck_assert_msg (cc_genesis_save (self->genesis, path, &reason) == 0, "%s", reason.text);
    s_set (self, "genesis/path", path);
    s_set (self, "log/level", "warn");
    ck_assert_int_eq (cc_verifier_check (self->config, &reason), 0);
    self->log = cc_log_new ("verifier", NULL);
    cc_log_set_level (self->log, CC_LOG_WARN);
    self->args.config = self->config;
    self->args.log = self->log;
    self->query = cc_rpc_client_new (endpoint, CC_BLOCK_MAX_SIZE + 65536);
    ck_assert_ptr_nonnull (self->query);
    return self;
}

static void
s_start (s_world_t *self)
{
    self->actor = zactor_new (cc_verifier_actor, &self->args);
    ck_assert_ptr_nonnull (self->actor);
    ck_assert_int_eq (zsock_wait (self->actor), 0);
}

static void
s_world_destroy (s_world_t **self_p)
{
    s_world_t *self = *self_p;
    zactor_destroy (&self->actor);
    cc_rpc_client_destroy (&self->query);
    zsock_destroy (&self->rpc);
    zsock_destroy (&self->pub);
    zsock_destroy (&self->gossip);
    cc_log_destroy (&self->log);
    cc_config_destroy (&self->config);
    for (size_t height = 0; height < S_BLOCKS + 2; height++)
        free (self->blocks [height]);
    free (self->rogue);
    for (size_t index = 0; index < S_MEMBERS; index++)
        cc_keypair_destroy (&self->keys [index]);
    cc_chain_destroy (&self->source);
    cc_genesis_destroy (&self->genesis);
    fixture_rmtree (self->dir);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  Answers the requests waiting on the fake relay.
static void
s_serve (s_world_t *self)
{
    while (zsock_events (self->rpc) & ZMQ_POLLIN) {
        zframe_t *identity = NULL;
        int code = 0;
        Certchain__Request *request = cc_rpc_recv (self->rpc, &identity,
                                                   CC_MAX_MESSAGE_SIZE, &code);
        if (!request)
            continue;
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.id = request->id;
        Certchain__Status status = CERTCHAIN__STATUS__INIT;
        Certchain__Blocks blocks = CERTCHAIN__BLOCKS__INIT;
        ProtobufCBinaryData items [S_BLOCKS];
        if (request->kind_case == CERTCHAIN__REQUEST__KIND_GET_STATUS) {
            status.service = "relay";
            status.height = self->relay_tip;
            status.genesis_hash = cc_bytes_view (cc_genesis_hash (self->genesis),
                                                 CC_HASH_SIZE);
            reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
            reply.status = &status;
        }
        else {
            ck_assert_int_eq (request->kind_case, CERTCHAIN__REQUEST__KIND_GET_BLOCKS);
            ck_assert_uint_eq (request->get_blocks->max_count, 5);
            self->get_blocks++;
            for (uint64_t height = request->get_blocks->from_height;
                 height >= 1 && height <= self->relay_tip
                 && blocks.n_blocks < request->get_blocks->max_count; height++)
                items [blocks.n_blocks++] = cc_bytes_view (self->blocks [height],
                                                           self->sizes [height]);
            blocks.blocks = items;
            reply.kind_case = CERTCHAIN__REPLY__KIND_BLOCKS;
            reply.blocks = &blocks;
        }
        ck_assert_int_eq (cc_rpc_reply (self->rpc, identity, &reply), 0);
        zframe_destroy (&identity);
        cc_rpc_request_free (&request);
    }
}

//  Calls the verifier's query socket, serving the fake relay meanwhile.
static Certchain__Reply *
s_call (s_world_t *self, Certchain__Request *request)
{
    uint64_t id = cc_rpc_client_send (self->query, request);
    ck_assert_uint_gt (id, 0);
    int64_t end = zclock_mono () + S_TIMEOUT_MS;
    while (zclock_mono () < end) {
        s_serve (self);
        Certchain__Reply *reply = cc_rpc_client_recv (self->query, 10);
        if (reply && reply->id == id)
            return reply;
        cc_rpc_reply_free (&reply);
    }
    ck_abort_msg ("no reply from the verifier");
    return NULL;
}

static Certchain__Reply *
s_status (s_world_t *self)
{
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    Certchain__Reply *reply = s_call (self, &request);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_STATUS);
    return reply;
}

//  Serves the relay until the verifier reports height and discarded.
static void
s_wait_for (s_world_t *self, uint64_t height, uint64_t discarded)
{
    int64_t end = zclock_mono () + 10000;
    while (true) {
        Certchain__Reply *reply = s_status (self);
        bool done = reply->status->height == height && reply->status->discarded == discarded;
        uint64_t got = reply->status->height, got_discarded = reply->status->discarded;
        cc_rpc_reply_free (&reply);
        if (done)
            return;
        ck_assert_msg (zclock_mono () < end, "verifier at %llu (%llu discarded), want %llu (%llu)",
                       (unsigned long long) got, (unsigned long long) got_discarded,
                       (unsigned long long) height, (unsigned long long) discarded);
        zclock_sleep (20);
    }
}

static void
s_publish (s_world_t *self, const uint8_t *data, size_t size)
{
    ck_assert_int_eq (cc_rpc_send_bytes (self->pub, NULL, CC_TOPIC_BLOCK, data, size), 0);
}

//  An Error reply's code for request (which must fail).
static int
s_error_of (s_world_t *self, Certchain__Request *request)
{
    Certchain__Reply *reply = s_call (self, request);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_ERROR);
    int code = -reply->error->code;
    cc_rpc_reply_free (&reply);
    return code;
}

START_TEST (test_actor_fills_verifies_discards_and_answers)
{
    s_world_t *world = s_world_new ();
    world->relay_tip = 8;
    s_start (world);

    //  A fresh verifier fills its chain from the relay, 5 blocks a request.
    s_wait_for (world, 8, 0);
    ck_assert_uint_eq (world->get_blocks, 2);

    //  Blocks off "blk": the next one is stored; a gap is fetched.
    world->relay_tip = S_BLOCKS - 1;
    s_publish (world, world->blocks [9], world->sizes [9]);
    s_wait_for (world, 9, 0);
    s_publish (world, world->blocks [11], world->sizes [11]);
    s_wait_for (world, 11, 0);
    //  A rogue block for the next height: discarded and recorded; the
    //  right block after it is stored.
    s_publish (world, world->rogue, world->rogue_size);
    s_wait_for (world, 11, 1);
    world->relay_tip = S_BLOCKS;
    s_publish (world, world->blocks [S_BLOCKS], world->sizes [S_BLOCKS]);
    s_wait_for (world, S_BLOCKS, 1);
    //  Junk on "blk" is no block: dropped, not recorded.
    const uint8_t junk [] = {0x0a, 0xff};
    s_publish (world, junk, sizeof (junk));

    //  GetStatus matches the source chain.
    Certchain__Reply *reply = s_status (world);
    Certchain__Status *status = reply->status;
    ck_assert_str_eq (status->service, "verifier");
    ck_assert_str_eq (status->chain_id, FIXTURE_CHAIN);
    ck_assert_mem_eq (status->tip_hash.data, cc_chain_tip_hash (world->source), CC_HASH_SIZE);
    ck_assert_mem_eq (status->app_hash.data, cc_state_app_hash (cc_chain_state (world->source)),
                      CC_HASH_SIZE);
    ck_assert_mem_eq (status->genesis_hash.data, cc_genesis_hash (world->genesis), CC_HASH_SIZE);
    ck_assert_uint_eq (status->validators, S_MEMBERS);
    ck_assert_uint_eq (status->discarded, 1);
    cc_rpc_reply_free (&reply);

    //  ListDiscarded: the rogue block, with its verdict.
    Certchain__ListDiscarded list = CERTCHAIN__LIST_DISCARDED__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_LIST_DISCARDED;
    request.list_discarded = &list;
    reply = s_call (world, &request);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_DISCARDED);
    ck_assert_uint_eq (reply->discarded->n_discarded, 1);
    Certchain__Discarded *record = reply->discarded->discarded [0];
    ck_assert_uint_eq (record->seq, 1);
    ck_assert_uint_eq (record->height, S_BLOCKS);
    ck_assert_int_eq (record->code, -CC_E_UNAUTHORIZED_PROPOSER);
    cc_block_t *rogue = cc_block_decode (world->rogue, world->rogue_size, NULL);
    ck_assert_mem_eq (record->block_hash.data, cc_block_hash (rogue), CC_HASH_SIZE);
    ck_assert_mem_eq (record->proposer.data, cc_block_proposer (rogue), CC_PUBKEY_SIZE);
    cc_block_destroy (&rogue);
    ck_assert_ptr_nonnull (strstr (record->reason, "not in V"));
    cc_rpc_reply_free (&reply);

    //  GetTx: the second tx of block 5, with a proof that checks.
    Certchain__GetTx get_tx = CERTCHAIN__GET_TX__INIT;
    get_tx.hash = cc_bytes_view (world->tx_hash, CC_HASH_SIZE);
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_TX;
    request.get_tx = &get_tx;
    reply = s_call (world, &request);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_TX_INFO);
    Certchain__TxInfo *info = reply->tx_info;
    ck_assert_uint_eq (info->height, 5);
    ck_assert_uint_eq (info->index, 1);
    cc_block_t *block = cc_block_decode (world->blocks [5], world->sizes [5], NULL);
    ck_assert_mem_eq (info->block_hash.data, cc_block_hash (block), CC_HASH_SIZE);
    ck_assert_mem_eq (info->tx_root.data, cc_block_header (block)->tx_root.data, CC_HASH_SIZE);
    ck_assert_uint_eq (info->n_proof, 1);
    uint8_t proof [CC_MERKLE_MAX_DEPTH * CC_HASH_SIZE];
    for (size_t index = 0; index < info->n_proof; index++)
        memcpy (proof + index * CC_HASH_SIZE, info->proof [index].data, CC_HASH_SIZE);
    ck_assert (cc_merkle_verify (world->tx_hash, cc_block_tx_count (block), info->index, proof,
                                 info->n_proof, info->tx_root.data));
    //  The envelope is the tx itself: its body hashes to the tx hash.
    uint8_t body_hash [CC_HASH_SIZE];
    cc_hash (info->tx->body.data, info->tx->body.len, body_hash);
    ck_assert_mem_eq (body_hash, world->tx_hash, CC_HASH_SIZE);
    cc_rpc_reply_free (&reply);
    uint8_t unknown [CC_HASH_SIZE] = {7};
    get_tx.hash = cc_bytes_view (unknown, CC_HASH_SIZE);
    ck_assert_int_eq (s_error_of (world, &request), CC_E_NOT_FOUND);
    get_tx.hash = cc_bytes_view (unknown, 31);
    ck_assert_int_eq (s_error_of (world, &request), CC_E_BAD_FIELD);

    //  GetBlock: latest, by height, by hash; beyond the tip.
    Certchain__GetBlock get_block = CERTCHAIN__GET_BLOCK__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCK;
    request.get_block = &get_block;
    reply = s_call (world, &request);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_BLOCK);
    ck_assert_uint_eq (reply->block.len, world->sizes [S_BLOCKS]);
    ck_assert_mem_eq (reply->block.data, world->blocks [S_BLOCKS], reply->block.len);
    cc_rpc_reply_free (&reply);
    get_block.height = 5;
    reply = s_call (world, &request);
    ck_assert_mem_eq (reply->block.data, world->blocks [5], world->sizes [5]);
    cc_rpc_reply_free (&reply);
    get_block.height = 0;
    get_block.hash = cc_bytes_view (cc_block_hash (block), CC_HASH_SIZE);
    reply = s_call (world, &request);
    ck_assert_uint_eq (reply->block.len, world->sizes [5]);
    ck_assert_mem_eq (reply->block.data, world->blocks [5], world->sizes [5]);
    cc_rpc_reply_free (&reply);
    cc_block_destroy (&block);
    get_block.hash = cc_bytes_view (unknown, 0);
    get_block.height = S_BLOCKS + 1;
    ck_assert_int_eq (s_error_of (world, &request), CC_E_NOT_FOUND);

    //  GetValidators: the producing CA has no record, only its key.
    Certchain__GetValidators get_validators = CERTCHAIN__GET_VALIDATORS__INIT;
    get_validators.height = 1;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_VALIDATORS;
    request.get_validators = &get_validators;
    reply = s_call (world, &request);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_VALIDATORS);
    ck_assert_uint_eq (reply->validators->height, 1);
    ck_assert_uint_eq (reply->validators->n_validators, S_MEMBERS);
    cc_valset_t *valset = cc_state_valset (cc_chain_state (world->source), 1);
    uint8_t valset_hash [CC_HASH_SIZE];
    cc_valset_hash (valset, valset_hash);
    ck_assert_mem_eq (reply->validators->valset_hash.data, valset_hash, CC_HASH_SIZE);
    size_t cas = 0;
    for (size_t index = 0; index < S_MEMBERS; index++) {
        Certchain__ValidatorInfo *member = reply->validators->validators [index];
        ck_assert_mem_eq (member->record->pubkey.data, cc_valset_member (valset, index),
                          CC_PUBKEY_SIZE);
        ck_assert_int_eq (member->is_ca, cc_valset_member_is_ca (valset, index));
        if (member->is_ca) {
            cas++;
            ck_assert_uint_eq (member->record->since_height, 0);
        }
        else {
            ck_assert_int_eq (member->record->status, CERTCHAIN__VALIDATOR_STATUS__ACTIVE);
            ck_assert_uint_eq (member->record->since_height, 1);
        }
    }
    ck_assert_uint_eq (cas, 1);
    cc_valset_destroy (&valset);
    cc_rpc_reply_free (&reply);
    get_validators.height = 0;              //  the next height
    reply = s_call (world, &request);
    ck_assert_uint_eq (reply->validators->height, S_BLOCKS + 1);
    cc_rpc_reply_free (&reply);
    get_validators.height = S_BLOCKS + 2;
    ck_assert_int_eq (s_error_of (world, &request), CC_E_NOT_FOUND);

    //  GetAccount: account 0 paid 10 + 1 fee for each transfer it sent.
    cc_keypair_t *account = fixture_keypair (FIXTURE_ACCOUNT (0));
    uint64_t balance = 0, nonce = 0;
    cc_state_account (cc_chain_state (world->source), cc_keypair_public (account), &balance,
                      &nonce);
    ck_assert_uint_gt (nonce, 0);
    Certchain__GetAccount get_account = CERTCHAIN__GET_ACCOUNT__INIT;
    get_account.address = cc_bytes_view (cc_keypair_public (account), CC_PUBKEY_SIZE);
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_ACCOUNT;
    request.get_account = &get_account;
    reply = s_call (world, &request);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_ACCOUNT);
    ck_assert_uint_eq (reply->account->balance, balance);
    ck_assert_uint_eq (reply->account->nonce, nonce);
    ck_assert_uint_eq (reply->account->height, S_BLOCKS);
    cc_rpc_reply_free (&reply);
    cc_keypair_destroy (&account);

    //  What the verifier does not do.
    Certchain__GetBlocks get_blocks = CERTCHAIN__GET_BLOCKS__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCKS;
    request.get_blocks = &get_blocks;
    ck_assert_int_eq (s_error_of (world, &request), CC_E_UNSUPPORTED);

    //  Its metrics event arrives at the gossip socket within a second or
    //  two, with the discard counted by reason.
    bool seen = false;
    int64_t end = zclock_mono () + 3000;
    while (!seen && zclock_mono () < end) {
        s_serve (world);
        if (!(zsock_events (world->gossip) & ZMQ_POLLIN)) {
            zclock_sleep (10);
            continue;
        }
        zmsg_t *message = zmsg_recv (world->gossip);
        zframe_t *topic = NULL, *payload = NULL;
        ck_assert_int_eq (cc_rpc_split (message, false, NULL, &topic, &payload), 0);
        ck_assert (cc_rpc_frame_is (topic, CC_TOPIC_EVENT));
        Certchain__MetricsEvent *event = (Certchain__MetricsEvent *) cc_codec_unpack (
            &certchain__metrics_event__descriptor, zframe_data (payload), zframe_size (payload),
            CC_MAX_MESSAGE_SIZE, NULL);
        ck_assert_ptr_nonnull (event);
        ck_assert_str_eq (event->service, "verifier");
        if (event->height == S_BLOCKS && event->discarded == 1) {
            seen = true;
            bool named = false;
            for (size_t index = 0; index < event->n_counters; index++)
                if (streq (event->counters [index]->name, "discard.UNAUTHORIZED_PROPOSER")
                &&  event->counters [index]->value == 1)
                    named = true;
            ck_assert (named);
            ck_assert_uint_ge (event->errors, 1);       //  the junk dropped
        }
        ProtobufCMessage *base = &event->base;
        cc_codec_free (&base);
        zmsg_destroy (&message);
    }
    ck_assert (seen);

    //  Stopped ($TERM) and reopened: every block is there.
    zactor_destroy (&world->actor);
    cc_chain_t *chain = s_open_chain (world->store, world->genesis);
    ck_assert_uint_eq (cc_chain_height (chain), S_BLOCKS);
    cc_chain_destroy (&chain);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_actor_refuses_to_start)
{
    //  A genesis file that is not there: CC_EXIT_CONFIG; a held store:
    //  CC_EXIT_FAILURE.
    s_world_t *world = s_world_new ();
    char path [600];
    snprintf (path, sizeof (path), "%s/missing.zpl", world->dir);
    const char *genesis = cc_config_get (world->config, "genesis/path");
    char *saved = strdup (genesis);
    s_set (world, "genesis/path", path);
    world->actor = zactor_new (cc_verifier_actor, &world->args);
    ck_assert_int_eq (zsock_wait (world->actor), CC_EXIT_CONFIG);
    zactor_destroy (&world->actor);
    s_set (world, "genesis/path", saved);
    free (saved);
    ck_assert_int_eq (zsys_dir_create ("%s", world->store), 0);
    cc_chain_t *holder = s_open_chain (world->store, world->genesis);
    world->actor = zactor_new (cc_verifier_actor, &world->args);
    ck_assert_int_eq (zsock_wait (world->actor), CC_EXIT_FAILURE);
    zactor_destroy (&world->actor);
    cc_chain_destroy (&holder);
    //  And with the store free it starts.
    s_start (world);
    zactor_destroy (&world->actor);
    s_world_destroy (&world);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("verifier");
    TCase *tcase = tcase_create ("modules");
    tcase_add_test (tcase, test_discards_record_list_and_persist);
    tcase_add_test (tcase, test_check_refuses_bad_keys);
    suite_add_tcase (suite, tcase);
    tcase = tcase_create ("actor");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_actor_fills_verifies_discards_and_answers);
    tcase_add_test (tcase, test_actor_refuses_to_start);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
