/*  =========================================================================
    test_relay - the relay's modules and its actor, in process

    The recent set, the committed memory and the gossip checks are tested
    as functions. The
    actor is started in this process (zactor, ipc endpoints in a temporary
    directory) and driven over its sockets like any client: a "producer"
    chain of its own builds real blocks with cc_block_build, seals them
    with precommits of the genesis members (fixture keys) and uploads them,
    so storing, deduplicating, conflicts, gaps, refusals by verdict and the
    reads of stored blocks and transactions are all checked against real
    blocks. The process-level behaviour (command line, exit codes,
    signals, gossip over TCP) is tests/integration/test_relay.py.
    =========================================================================
*/

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "chain.h"
#include "gossip.h"
#include "metrics.h"
#include "relay.h"
#include "rpc.h"
#include "seen.h"
#include "service.h"

#define S_ACCOUNTS 4
#define S_BALANCE 1000000
#define S_MEMBERS 4             //  1 producing CA + 3 validators: quorum 3
#define S_OUTSIDER 10000u       //  a key never certified
#define S_TIMEOUT_MS 5000

//  --- Recent set --------------------------------------------------------------------

static void
s_hash_of (unsigned number, uint8_t *hash)
{
    cc_hash (&number, sizeof (number), hash);
}

START_TEST (test_seen_dedupes_and_forgets_the_oldest)
{
    cc_seen_t *seen = cc_seen_new (3);
    ck_assert_ptr_nonnull (seen);
    uint8_t hash [6][CC_HASH_SIZE];
    for (unsigned index = 0; index < 6; index++)
        s_hash_of (index, hash [index]);
    ck_assert (cc_seen_insert (seen, hash [0]));
    ck_assert (cc_seen_insert (seen, hash [1]));
    ck_assert (cc_seen_insert (seen, hash [2]));
    ck_assert (!cc_seen_insert (seen, hash [1]));
    ck_assert_uint_eq (cc_seen_size (seen), 3);
    //  Full: the oldest (0) goes first, then 1.
    ck_assert (cc_seen_insert (seen, hash [3]));
    ck_assert (!cc_seen_contains (seen, hash [0]));
    ck_assert (cc_seen_contains (seen, hash [1]));
    ck_assert (cc_seen_contains (seen, hash [3]));
    ck_assert (cc_seen_insert (seen, hash [0]));
    ck_assert (!cc_seen_contains (seen, hash [1]));
    ck_assert (cc_seen_contains (seen, hash [2]));
    ck_assert_uint_eq (cc_seen_size (seen), 3);
    //  A long run keeps exactly the last three.
    for (unsigned round = 0; round < 1000; round++) {
        uint8_t other [CC_HASH_SIZE];
        s_hash_of (100 + round, other);
        ck_assert (cc_seen_insert (seen, other));
    }
    ck_assert_uint_eq (cc_seen_size (seen), 3);
    for (unsigned round = 997; round < 1000; round++) {
        uint8_t other [CC_HASH_SIZE];
        s_hash_of (100 + round, other);
        ck_assert (cc_seen_contains (seen, other));
    }
    ck_assert (!cc_seen_contains (seen, hash [0]));
    cc_seen_destroy (&seen);
    ck_assert_ptr_null (seen);
    cc_seen_destroy (&seen);
}
END_TEST

//  --- Committed memory --------------------------------------------------------------

START_TEST (test_committed_finds_and_forgets_the_oldest)
{
    cc_seen_t *committed = cc_seen_new (3);
    ck_assert_ptr_nonnull (committed);
    uint8_t hash [5][CC_HASH_SIZE];
    for (unsigned index = 0; index < 5; index++)
        s_hash_of (index, hash [index]);
    uint64_t height = 0;
    ck_assert (!cc_seen_get (committed, hash [0], &height));
    cc_seen_put (committed, hash [0], 7);
    cc_seen_put (committed, hash [1], 7);
    cc_seen_put (committed, hash [2], 8);
    ck_assert (cc_seen_get (committed, hash [1], &height));
    ck_assert_uint_eq (height, 7);
    ck_assert (cc_seen_get (committed, hash [2], NULL));
    //  Again: keeps its first height, takes no slot.
    cc_seen_put (committed, hash [2], 99);
    ck_assert (cc_seen_get (committed, hash [2], &height));
    ck_assert_uint_eq (height, 8);
    ck_assert_uint_eq (cc_seen_size (committed), 3);
    //  Full: the oldest goes first.
    cc_seen_put (committed, hash [3], 9);
    ck_assert (!cc_seen_get (committed, hash [0], &height));
    ck_assert (cc_seen_get (committed, hash [1], &height));
    ck_assert (cc_seen_get (committed, hash [3], &height));
    ck_assert_uint_eq (height, 9);
    ck_assert_uint_eq (cc_seen_size (committed), 3);
    cc_seen_destroy (&committed);
    ck_assert_ptr_null (committed);
    cc_seen_destroy (&committed);
}
END_TEST

//  Many inserts through a small map: every deletion must leave the probe
//  chains whole, so exactly the last capacity hashes are found, each with
//  its own height.
START_TEST (test_committed_long_run_stays_exact)
{
    const unsigned capacity = 100, total = 20000;
    cc_seen_t *committed = cc_seen_new (capacity);
    ck_assert_ptr_nonnull (committed);
    for (unsigned number = 0; number < total; number++) {
        uint8_t hash [CC_HASH_SIZE];
        s_hash_of (number, hash);
        cc_seen_put (committed, hash, number);
        //  Spot checks while it turns over: the newest and the oldest held.
        if (number >= capacity && number % 97 == 0) {
            uint64_t height = 0;
            s_hash_of (number - capacity + 1, hash);
            ck_assert (cc_seen_get (committed, hash, &height));
            ck_assert_uint_eq (height, number - capacity + 1);
            s_hash_of (number - capacity, hash);
            ck_assert (!cc_seen_get (committed, hash, NULL));
        }
    }
    ck_assert_uint_eq (cc_seen_size (committed), capacity);
    for (unsigned number = 0; number < total; number++) {
        uint8_t hash [CC_HASH_SIZE];
        s_hash_of (number, hash);
        uint64_t height = 0;
        bool held = cc_seen_get (committed, hash, &height);
        ck_assert_int_eq (held, number >= total - capacity);
        if (held)
            ck_assert_uint_eq (height, number);
    }
    cc_seen_destroy (&committed);
}
END_TEST

//  --- A producer chain that builds and seals real blocks -------------------------

typedef struct {
    char *dir;                          //  temporary directory (owned)
    char *genesis_path;                 //  genesis file written there
    cc_genesis_t *genesis;              //  the producer's genesis
    cc_chain_t *chain;                  //  the producer's chain
    cc_keypair_t *keys [S_MEMBERS];     //  keys of the genesis members
    cc_config_t *config;                //  the relay's configuration
    cc_log_t *log;                      //  the relay's log (warnings only)
    cc_relay_args_t args;               //  what the actor borrows
    zactor_t *relay;                    //  the relay actor, or NULL
    cc_rpc_client_t *client;            //  DEALER to the relay's rpc
    zsock_t *sub;                       //  SUB to the relay's pub, every topic
} s_env_t;

static char *
s_path (s_env_t *self, const char *name)
{
    char *path = NULL;
    ck_assert_int_ge (asprintf (&path, "%s/%s", self->dir, name), 0);
    return path;
}

static char *
s_endpoint (s_env_t *self, const char *name)
{
    char *endpoint = NULL;
    ck_assert_int_ge (asprintf (&endpoint, "ipc://%s/%s.ipc", self->dir, name), 0);
    return endpoint;
}

static void
s_set (s_env_t *self, const char *key, const char *value)
{
    cc_reason_t reason;
    ck_assert_msg (cc_config_set (self->config, key, value, &reason) == 0, "%s: %s", key,
                   reason.text);
}

static s_env_t *
s_env_new (void)
{
    s_env_t *self = (s_env_t *) calloc (1, sizeof (s_env_t));
    self->dir = fixture_tempdir ("relay");
    ck_assert_ptr_nonnull (self->dir);
    self->genesis = fixture_genesis (1, S_MEMBERS - 1, S_ACCOUNTS, S_BALANCE);
    ck_assert_ptr_nonnull (self->genesis);
    self->keys [0] = fixture_keypair (FIXTURE_CA (0));
    for (size_t index = 1; index < S_MEMBERS; index++)
        self->keys [index] = fixture_keypair (FIXTURE_VALIDATOR (index - 1));
    cc_reason_t reason;
    self->genesis_path = s_path (self, "genesis.zpl");
    ck_assert_int_eq (cc_genesis_save (self->genesis, self->genesis_path, &reason), 0);
    char *producer = s_path (self, "producer");
    self->chain = cc_chain_open (producer, self->genesis, 0, &reason);
    ck_assert_msg (self->chain != NULL, "producer: %s", reason.text);
    free (producer);

    self->config = cc_config_new ("certchain-relay");
    cc_relay_define (self->config);
    char *rpc = s_endpoint (self, "rpc"), *pub = s_endpoint (self, "pub"),
         *gossip = s_endpoint (self, "gossip"), *store = s_path (self, "relay-data");
    s_set (self, "relay/rpc", rpc);
    s_set (self, "relay/pub", pub);
    s_set (self, "relay/gossip", gossip);
    s_set (self, "store/path", store);
    s_set (self, "genesis/path", self->genesis_path);
    free (rpc);
    free (pub);
    free (gossip);
    free (store);
    self->log = cc_log_new ("relay", stderr);
    cc_log_set_level (self->log, CC_LOG_ERROR);
    self->args = (cc_relay_args_t) {self->config, self->log};
    return self;
}

//  Starts the relay actor; returns its start-up status (0 = running).
static int
s_env_start (s_env_t *self)
{
    cc_reason_t reason;
    ck_assert_msg (cc_relay_check (self->config, &reason) == 0, "%s", reason.text);
    self->relay = zactor_new (cc_relay_actor, &self->args);
    ck_assert_ptr_nonnull (self->relay);
    int status = zsock_wait (self->relay);
    if (status != 0) {
        zactor_destroy (&self->relay);
        return status;
    }
    self->client = cc_rpc_client_new (cc_config_get (self->config, "relay/rpc"),
                                      CC_MAX_MESSAGE_SIZE);
    ck_assert_ptr_nonnull (self->client);
    self->sub = zsock_new (ZMQ_SUB);
    cc_rpc_socket_policy (self->sub, CC_MAX_MESSAGE_SIZE);
    zsock_set_subscribe (self->sub, "");
    ck_assert_int_eq (zsock_connect (self->sub, "%s", cc_config_get (self->config, "relay/pub")),
                      0);
    //  Let the subscription reach the relay before anything is published.
    zclock_sleep (200);
    return 0;
}

static void
s_env_stop (s_env_t *self)
{
    zsock_destroy (&self->sub);
    cc_rpc_client_destroy (&self->client);
    zactor_destroy (&self->relay);
}

static void
s_env_destroy (s_env_t **self_p)
{
    s_env_t *self = *self_p;
    s_env_stop (self);
    cc_log_destroy (&self->log);
    cc_config_destroy (&self->config);
    cc_chain_destroy (&self->chain);
    cc_genesis_destroy (&self->genesis);
    for (size_t index = 0; index < S_MEMBERS; index++)
        cc_keypair_destroy (&self->keys [index]);
    fixture_rmtree (self->dir);
    free (self->dir);
    free (self->genesis_path);
    free (self);
    *self_p = NULL;
}

static cc_keypair_t *
s_key_of (s_env_t *self, const uint8_t *pubkey)
{
    for (size_t index = 0; index < S_MEMBERS; index++)
        if (memcmp (cc_keypair_public (self->keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return self->keys [index];
    return NULL;
}

//  The producer's committed block at height (caller destroys).
static cc_block_t *
s_stored (s_env_t *self, uint64_t height)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_chain_block (self->chain, height, &data, &size), 0);
    cc_block_t *block = cc_block_decode (data, size, NULL);
    free (data);
    ck_assert_ptr_nonnull (block);
    return block;
}

//  The next block on the producer's tip: txs by key (NULL = the scheduled
//  proposer), time offset after the parent, sealed with the precommits of
//  the first signers members. *exec_p (may be NULL) gets its exec.
static cc_block_t *
s_build (s_env_t *self, cc_keypair_t *key, cc_tx_t **txs, size_t count, uint64_t offset_ms,
         size_t signers, cc_exec_t **exec_p)
{
    uint64_t height = cc_chain_height (self->chain) + 1;
    cc_valset_t *valset = cc_state_valset (cc_chain_state (self->chain), height);
    if (!key)
        key = s_key_of (self, cc_valset_proposer (valset, height, 0));
    ck_assert_ptr_nonnull (key);
    cc_block_t *parent = height > 1 ? s_stored (self, height - 1) : NULL;
    cc_block_build_args_t args = {
        .state = cc_chain_state (self->chain),
        .proposer = key,
        .height = height,
        .time_ms = cc_chain_tip_time (self->chain) + offset_ms,
        .parent_hash = cc_chain_tip_hash (self->chain),
        .last_commit = parent ? cc_block_commit (parent) : NULL,
        .candidates = txs,
        .count = count,
    };
    cc_reason_t reason;
    cc_block_t *block = cc_block_build (&args, exec_p, &reason);
    ck_assert_msg (block != NULL, "build: %s", reason.text);
    ck_assert_uint_eq (cc_block_tx_count (block), count);
    cc_block_destroy (&parent);
    if (signers > 0) {
        Certchain__Commit *commit = cc_commit_new (height, 0, cc_block_hash (block));
        for (size_t index = 0; index < signers && index < cc_valset_size (valset); index++) {
            Certchain__Signed vote;
            ck_assert_int_eq (cc_vote_sign (s_key_of (self, cc_valset_member (valset, index)),
                                            FIXTURE_CHAIN, CERTCHAIN__VOTE_TYPE__PRECOMMIT,
                                            height, 0, cc_block_hash (block), &vote), 0);
            ck_assert_int_eq (cc_commit_add (commit, &vote), 0);
            cc_signed_clear (&vote);
        }
        ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
        cc_commit_destroy (&commit);
    }
    cc_valset_destroy (&valset);
    return block;
}

//  Builds, seals (every member) and commits the next block on the producer.
static cc_block_t *
s_advance (s_env_t *self, cc_tx_t **txs, size_t count)
{
    cc_exec_t *exec = NULL;
    cc_block_t *block = s_build (self, NULL, txs, count, 1000, S_MEMBERS, &exec);
    cc_reason_t reason;
    int rc = cc_chain_commit (self->chain, block, &exec, &reason);
    ck_assert_msg (rc == 0, "commit: %s", reason.text);
    return block;
}

//  --- Talking to the relay -----------------------------------------------------------

//  Sends request and waits for its reply: 0 with *reply_p, or the Error's
//  code with its message in reason.
static int
s_call (s_env_t *self, Certchain__Request *request, Certchain__Reply **reply_p,
        cc_reason_t *reason)
{
    cc_reason_clear (reason);
    Certchain__Reply *reply = NULL;
    int rc = cc_rpc_client_call (self->client, request, S_TIMEOUT_MS, &reply, reason);
    ck_assert_int_ne (rc, CC_E_TIMEOUT);
    if (reply_p)
        *reply_p = reply;
    else
        cc_rpc_reply_free (&reply);
    return rc;
}

static int
s_upload_bytes (s_env_t *self, const uint8_t *data, size_t size, cc_reason_t *reason)
{
    Certchain__UploadBlock upload = CERTCHAIN__UPLOAD_BLOCK__INIT;
    upload.block = cc_bytes_view (data, size);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_UPLOAD_BLOCK;
    request.upload_block = &upload;
    Certchain__Reply *reply = NULL;
    int rc = s_call (self, &request, &reply, reason);
    if (rc == 0) {
        ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_OK);
        ck_assert (reply->ok);
    }
    cc_rpc_reply_free (&reply);
    return rc;
}

static int
s_upload (s_env_t *self, cc_block_t *block, cc_reason_t *reason)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_block_encode (block, true, &data, &size), 0);
    int rc = s_upload_bytes (self, data, size, reason);
    free (data);
    return rc;
}

static Certchain__Status *
s_status (s_env_t *self, Certchain__Reply **reply_p)
{
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    cc_reason_t reason;
    ck_assert_int_eq (s_call (self, &request, reply_p, &reason), 0);
    ck_assert_int_eq ((*reply_p)->kind_case, CERTCHAIN__REPLY__KIND_STATUS);
    return (*reply_p)->status;
}

static uint64_t
s_relay_height (s_env_t *self)
{
    Certchain__Reply *reply = NULL;
    uint64_t height = s_status (self, &reply)->height;
    cc_rpc_reply_free (&reply);
    return height;
}

//  The next message on topic from the relay's pub within timeout_ms, as a
//  fresh buffer (caller frees), or NULL.
static uint8_t *
s_next_on (s_env_t *self, const char *topic, int timeout_ms, size_t *size_p)
{
    zpoller_t *poller = zpoller_new (self->sub, NULL);
    int64_t deadline = zclock_mono () + timeout_ms;
    uint8_t *result = NULL;
    while (!result && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            continue;
        zmsg_t *message = zmsg_recv (self->sub);
        zframe_t *type = NULL, *payload = NULL;
        if (cc_rpc_split (message, false, NULL, &type, &payload) == 0
            && cc_rpc_frame_is (type, topic)) {
            *size_p = zframe_size (payload);
            result = (uint8_t *) malloc (*size_p ? *size_p : 1);
            memcpy (result, zframe_data (payload), *size_p);
        }
        zmsg_destroy (&message);
    }
    zpoller_destroy (&poller);
    return result;
}

//  A counter as the relay reports it in a metrics event published after
//  this call began (events queued earlier are skipped).
static uint64_t
s_counter (s_env_t *self, const char *name)
{
    uint64_t since = cc_service_now_ms ();
    int64_t deadline = zclock_mono () + 4000;
    while (zclock_mono () < deadline) {
        size_t size = 0;
        uint8_t *data = s_next_on (self, CC_TOPIC_EVENT, 2000, &size);
        ck_assert_ptr_nonnull (data);
        int code = 0;
        Certchain__MetricsEvent *event = (Certchain__MetricsEvent *) cc_codec_unpack (
            &certchain__metrics_event__descriptor, data, size, CC_MAX_MESSAGE_SIZE, &code);
        free (data);
        ck_assert_ptr_nonnull (event);
        ck_assert_str_eq (event->service, "relay");
        bool fresh = event->time_ms >= since;
        uint64_t value = 0;
        for (size_t index = 0; index < event->n_counters; index++)
            if (streq (event->counters [index]->name, name))
                value = event->counters [index]->value;
        cc_codec_free ((ProtobufCMessage **) &event);
        if (fresh)
            return value;
    }
    ck_abort_msg ("no fresh metrics event");
    return 0;
}

static cc_tx_t *
s_transfer (size_t from, size_t to, uint64_t amount, uint64_t nonce)
{
    cc_keypair_t *sender = fixture_keypair (FIXTURE_ACCOUNT (from));
    cc_keypair_t *recipient = fixture_keypair (FIXTURE_ACCOUNT (to));
    cc_tx_t *tx = fixture_transfer (sender, cc_keypair_public (recipient), amount, 1, nonce);
    cc_keypair_destroy (&sender);
    cc_keypair_destroy (&recipient);
    ck_assert_ptr_nonnull (tx);
    return tx;
}

static int
s_submit (s_env_t *self, const Certchain__Signed *envelope, cc_reason_t *reason)
{
    Certchain__SubmitTx submit = CERTCHAIN__SUBMIT_TX__INIT;
    submit.tx = (Certchain__Signed *) envelope;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX;
    request.submit_tx = &submit;
    Certchain__Reply *reply = NULL;
    int rc = s_call (self, &request, &reply, reason);
    if (rc == 0) {
        ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_SUBMIT_RESULT);
        ck_assert_uint_eq (reply->submit_result->n_results, 1);
        ck_assert_ptr_null (reply->submit_result->results [0]->error);
    }
    cc_rpc_reply_free (&reply);
    return rc;
}

//  --- Gossip checks ---------------------------------------------------------------

static int
s_check (const char *topic, const uint8_t *data, size_t size)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_gossip_check (FIXTURE_CHAIN, (const uint8_t *) topic, strlen (topic), data, size,
                              CC_MAX_MESSAGE_SIZE, &reason);
    ck_assert_int_eq (rc, reason.code);
    return rc;
}

//  Packs a ConsensusMessage holding vote (borrowed) and checks it on "cns".
static int
s_check_vote (const Certchain__Signed *vote)
{
    Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE;
    message.vote = (Certchain__Signed *) vote;
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_codec_pack (&message.base, CC_MAX_MESSAGE_SIZE, &data, &size), 0);
    int rc = s_check (CC_TOPIC_CONSENSUS, data, size);
    free (data);
    return rc;
}

//  A vote body signed by key (for shapes fixture_vote cannot make).
static void
s_sign_vote (cc_keypair_t *key, Certchain__Vote *vote, Certchain__Signed *envelope)
{
    ck_assert_int_eq (cc_signed_make (key, CC_DOMAIN_VOTE, FIXTURE_CHAIN, &vote->base, envelope),
                      0);
}

START_TEST (test_gossip_votes)
{
    cc_keypair_t *key = fixture_keypair (FIXTURE_CA (0));
    cc_keypair_t *other = fixture_keypair (FIXTURE_VALIDATOR (0));
    uint8_t hash [CC_HASH_SIZE];
    cc_hash ("block", 5, hash);
    Certchain__Signed envelope;
    //  Accepted: prevote, precommit, nil vote.
    ck_assert_int_eq (fixture_vote (key, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 0, hash, &envelope), 0);
    ck_assert_int_eq (s_check_vote (&envelope), 0);
    cc_signed_clear (&envelope);
    ck_assert_int_eq (fixture_vote (key, CERTCHAIN__VOTE_TYPE__PRECOMMIT, 3, 1, NULL, &envelope),
                      0);
    ck_assert_int_eq (s_check_vote (&envelope), 0);
    //  The envelope's sizes.
    ProtobufCBinaryData signer = envelope.signer;
    envelope.signer.len = 31;
    ck_assert_int_eq (s_check_vote (&envelope), CC_E_BAD_FIELD);
    envelope.signer = signer;
    envelope.signature.len = 63;
    ck_assert_int_eq (s_check_vote (&envelope), CC_E_BAD_FIELD);
    envelope.signature.len = 64;
    ck_assert_int_eq (s_check_vote (NULL), CC_E_MALFORMED);
    cc_signed_clear (&envelope);
    //  The vote body: its type, its block hash, its validator.
    Certchain__Vote vote = CERTCHAIN__VOTE__INIT;
    vote.type = CERTCHAIN__VOTE_TYPE__VOTE_TYPE_UNKNOWN;
    vote.height = 3;
    vote.block_hash = cc_bytes_view (hash, CC_HASH_SIZE);
    vote.validator = cc_bytes_view (cc_keypair_public (key), CC_PUBKEY_SIZE);
    s_sign_vote (key, &vote, &envelope);
    ck_assert_int_eq (s_check_vote (&envelope), CC_E_BAD_FIELD);
    cc_signed_clear (&envelope);
    vote.type = CERTCHAIN__VOTE_TYPE__PREVOTE;
    vote.block_hash.len = 16;
    s_sign_vote (key, &vote, &envelope);
    ck_assert_int_eq (s_check_vote (&envelope), CC_E_BAD_FIELD);
    cc_signed_clear (&envelope);
    vote.block_hash.len = CC_HASH_SIZE;
    vote.validator = cc_bytes_view (cc_keypair_public (other), CC_PUBKEY_SIZE);
    s_sign_vote (key, &vote, &envelope);
    ck_assert_int_eq (s_check_vote (&envelope), CC_E_BAD_FIELD);
    cc_signed_clear (&envelope);
    //  A body that is not a Vote.
    envelope = (Certchain__Signed) CERTCHAIN__SIGNED__INIT;
    uint8_t signature [CC_SIGNATURE_SIZE] = {0};
    envelope.body = cc_bytes_view ((const uint8_t *) "\xff\xff", 2);
    envelope.signature = cc_bytes_view (signature, CC_SIGNATURE_SIZE);
    envelope.signer = cc_bytes_view (cc_keypair_public (key), CC_PUBKEY_SIZE);
    ck_assert_int_eq (s_check_vote (&envelope), CC_E_MALFORMED);
    //  Neither a vote nor a proposal; not a ConsensusMessage at all.
    ck_assert_int_eq (s_check (CC_TOPIC_CONSENSUS, NULL, 0), CC_E_MALFORMED);
    ck_assert_int_eq (s_check (CC_TOPIC_CONSENSUS, (const uint8_t *) "\xff\x01\x02", 3),
                      CC_E_MALFORMED);
    cc_keypair_destroy (&key);
    cc_keypair_destroy (&other);
}
END_TEST

//  A ProposalMessage for block naming key as proposer, signed by signer
//  (NULL = key), with valid_round and the block hash given (NULL = the
//  block's), the block's bytes cut to half when cut, checked on "cns".
static int
s_check_proposal (cc_keypair_t *key, cc_keypair_t *signer, cc_block_t *block,
                  int32_t valid_round, const uint8_t *block_hash, bool cut)
{
    Certchain__Proposal body = CERTCHAIN__PROPOSAL__INIT;
    body.height = cc_block_height (block);
    body.round = 1;
    body.valid_round = valid_round;
    body.block_hash = cc_bytes_view (block_hash ? block_hash : cc_block_hash (block),
                                     CC_HASH_SIZE);
    body.proposer = cc_bytes_view (cc_keypair_public (key), CC_PUBKEY_SIZE);
    Certchain__Signed proposal;
    ck_assert_int_eq (cc_signed_make (signer ? signer : key, CC_DOMAIN_PROPOSAL, FIXTURE_CHAIN,
                                      &body.base, &proposal), 0);
    uint8_t *bytes = NULL;
    size_t bytes_size = 0;
    ck_assert_int_eq (cc_block_encode (block, false, &bytes, &bytes_size), 0);
    Certchain__ProposalMessage inner = CERTCHAIN__PROPOSAL_MESSAGE__INIT;
    inner.proposal = &proposal;
    inner.block = cc_bytes_view (bytes, cut ? bytes_size / 2 : bytes_size);
    Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_PROPOSAL;
    message.proposal = &inner;
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_codec_pack (&message.base, CC_MAX_MESSAGE_SIZE, &data, &size), 0);
    int rc = s_check (CC_TOPIC_CONSENSUS, data, size);
    free (data);
    free (bytes);
    cc_signed_clear (&proposal);
    return rc;
}

START_TEST (test_gossip_proposals_txs_and_events)
{
    s_env_t *env = s_env_new ();
    cc_block_t *block = s_build (env, NULL, NULL, 0, 1000, 0, NULL);
    cc_keypair_t *proposer = s_key_of (env, cc_block_proposer (block));
    ck_assert_int_eq (s_check_proposal (proposer, NULL, block, -1, NULL, false), 0);
    ck_assert_int_eq (s_check_proposal (proposer, NULL, block, 0, NULL, false), 0);
    //  A valid round not below the round; a block that is not the one
    //  named; a signer that is not the proposer named.
    ck_assert_int_eq (s_check_proposal (proposer, NULL, block, 1, NULL, false), CC_E_BAD_FIELD);
    ck_assert_int_eq (s_check_proposal (proposer, NULL, block, -2, NULL, false), CC_E_BAD_FIELD);
    uint8_t other [CC_HASH_SIZE] = {1};
    ck_assert_int_eq (s_check_proposal (proposer, NULL, block, -1, other, false), CC_E_BAD_FIELD);
    ck_assert_int_eq (s_check_proposal (proposer, NULL, block, -1, NULL, true), CC_E_MALFORMED);
    cc_keypair_t *outsider = fixture_keypair (S_OUTSIDER);
    ck_assert_int_eq (s_check_proposal (proposer, outsider, block, -1, NULL, false),
                      CC_E_BAD_FIELD);
    cc_keypair_destroy (&outsider);
    cc_block_destroy (&block);

    //  Transactions: well-formed; then junk, another chain, a wrong body.
    cc_tx_t *tx = s_transfer (0, 1, 10, 1);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_tx_encode (tx, &data, &size), 0);
    ck_assert_int_eq (s_check (CC_TOPIC_TX, data, size), 0);
    //  A broken signature still passes: the relay does not verify them.
    Certchain__Signed *envelope = (Certchain__Signed *) cc_codec_unpack (
        &certchain__signed__descriptor, data, size, CC_TX_MAX_SIZE, &(int) {0});
    free (data);
    ck_assert_ptr_nonnull (envelope);
    envelope->signature.data [0] ^= 0xff;
    ck_assert_int_eq (cc_codec_pack (&envelope->base, CC_TX_MAX_SIZE, &data, &size), 0);
    ck_assert_int_eq (s_check (CC_TOPIC_TX, data, size), 0);
    free (data);
    //  A body cut short does not decode.
    envelope->body.len = 3;
    ck_assert_int_eq (cc_codec_pack (&envelope->base, CC_TX_MAX_SIZE, &data, &size), 0);
    ck_assert_int_eq (s_check (CC_TOPIC_TX, data, size), CC_E_MALFORMED);
    free (data);
    cc_codec_free ((ProtobufCMessage **) &envelope);
    cc_tx_destroy (&tx);
    ck_assert_int_eq (s_check (CC_TOPIC_TX, (const uint8_t *) "\xff", 1), CC_E_MALFORMED);
    uint8_t *big = calloc (1, CC_TX_MAX_SIZE + 10);
    ck_assert_int_eq (s_check (CC_TOPIC_TX, big, CC_TX_MAX_SIZE + 10), CC_E_OVERSIZE);
    free (big);

    //  Events.
    cc_metrics_t *metrics = cc_metrics_new ("validator", "x");
    cc_metrics_add (metrics, "drop.MALFORMED", 2);
    Certchain__MetricsEvent *event = cc_metrics_event (metrics, 1234);
    ck_assert_int_eq (cc_codec_pack (&event->base, CC_MAX_MESSAGE_SIZE, &data, &size), 0);
    ck_assert_int_eq (s_check (CC_TOPIC_EVENT, data, size), 0);
    free (data);
    cc_metrics_event_free (&event);
    cc_metrics_destroy (&metrics);
    ck_assert_int_eq (s_check (CC_TOPIC_EVENT, (const uint8_t *) "\xff\xff", 2), CC_E_MALFORMED);

    //  Topics the relay does not take from gossip.
    ck_assert_int_eq (s_check (CC_TOPIC_BLOCK, (const uint8_t *) "x", 1), CC_E_UNSUPPORTED);
    ck_assert_int_eq (s_check ("cnsx", (const uint8_t *) "x", 1), CC_E_UNSUPPORTED);
    ck_assert_int_eq (s_check ("", NULL, 0), CC_E_UNSUPPORTED);
    s_env_destroy (&env);
}
END_TEST

//  Packs a TxBatch of count envelopes (borrowed) into a fresh buffer.
static uint8_t *
s_pack_batch (const Certchain__Signed **envelopes, size_t count, size_t *size_p)
{
    Certchain__TxBatch batch = CERTCHAIN__TX_BATCH__INIT;
    batch.n_txs = count;
    batch.txs = (Certchain__Signed **) envelopes;
    uint8_t *data = NULL;
    ck_assert_int_eq (cc_codec_pack (&batch.base, 64 * 1024 * 1024, &data, size_p), 0);
    return data;
}

START_TEST (test_gossip_tx_batches)
{
    cc_tx_t *txs [3] = {s_transfer (0, 1, 10, 1), s_transfer (1, 2, 10, 1),
                        s_transfer (2, 3, 10, 1)};
    const Certchain__Signed *envelopes [3];
    for (size_t index = 0; index < 3; index++)
        envelopes [index] = cc_tx_envelope (txs [index]);
    size_t size = 0;
    uint8_t *data = s_pack_batch (envelopes, 3, &size);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, data, size), 0);
    free (data);
    data = s_pack_batch (envelopes, 1, &size);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, data, size), 0);
    free (data);

    //  One bad transaction refuses the whole batch: a body cut short, a
    //  short signature, another chain.
    Certchain__Signed bad;
    ck_assert_int_eq (cc_signed_copy (envelopes [1], &bad), 0);
    bad.body.len = 3;
    const Certchain__Signed *mixed [3] = {envelopes [0], &bad, envelopes [2]};
    data = s_pack_batch (mixed, 3, &size);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    ck_assert_int_eq (cc_gossip_check (FIXTURE_CHAIN, (const uint8_t *) CC_TOPIC_TX_BATCH, 3,
                                       data, size, CC_MAX_MESSAGE_SIZE, &reason),
                      CC_E_MALFORMED);
    ck_assert_msg (strstr (reason.text, "transaction 2 of 3"), "%s", reason.text);
    free (data);
    bad.body.len = envelopes [1]->body.len;
    bad.signature.len = 10;
    data = s_pack_batch (mixed, 3, &size);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, data, size), CC_E_BAD_FIELD);
    free (data);
    cc_signed_clear (&bad);
    cc_keypair_t *sender = fixture_keypair (FIXTURE_ACCOUNT (0));
    Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
    transfer.to = cc_bytes_view (cc_keypair_public (sender), CC_PUBKEY_SIZE);
    transfer.amount = 1;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = 2;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;
    cc_tx_t *foreign = cc_tx_new (sender, "another-chain", &body);
    ck_assert_ptr_nonnull (foreign);
    mixed [1] = cc_tx_envelope (foreign);
    data = s_pack_batch (mixed, 3, &size);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, data, size), CC_E_WRONG_CHAIN);
    free (data);
    cc_tx_destroy (&foreign);
    cc_keypair_destroy (&sender);

    //  Not a batch at all; an empty one.
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, (const uint8_t *) "\x0a\x05" "ab", 4),
                      CC_E_MALFORMED);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, NULL, 0), CC_E_MALFORMED);
    //  Too many transactions, too many bytes.
    const Certchain__Signed **many = calloc (CC_GOSSIP_BATCH_MAX_TXS + 1,
                                             sizeof (Certchain__Signed *));
    for (size_t index = 0; index <= CC_GOSSIP_BATCH_MAX_TXS; index++)
        many [index] = envelopes [index % 3];
    data = s_pack_batch (many, CC_GOSSIP_BATCH_MAX_TXS + 1, &size);
    ck_assert_uint_lt (size, CC_GOSSIP_BATCH_MAX_SIZE);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, data, size), CC_E_OVERSIZE);
    free (data);
    data = s_pack_batch (many, CC_GOSSIP_BATCH_MAX_TXS, &size);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, data, size), 0);
    free (data);
    free (many);
    uint8_t *big = calloc (1, CC_GOSSIP_BATCH_MAX_SIZE + 10);
    ck_assert_int_eq (s_check (CC_TOPIC_TX_BATCH, big, CC_GOSSIP_BATCH_MAX_SIZE + 10),
                      CC_E_OVERSIZE);
    free (big);
    for (size_t index = 0; index < 3; index++)
        cc_tx_destroy (&txs [index]);
}
END_TEST

//  --- The actor: uploads -------------------------------------------------------------

START_TEST (test_upload_stores_publishes_and_serves)
{
    s_env_t *env = s_env_new ();
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;

    //  A transaction submitted, then packed into block 1.
    cc_tx_t *tx = s_transfer (0, 1, 250, 1);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (tx), &reason), 0);
    size_t size = 0;
    uint8_t *published = s_next_on (env, CC_TOPIC_TX_BATCH, 2000, &size);
    ck_assert_ptr_nonnull (published);
    free (published);
    cc_block_t *block = s_advance (env, &tx, 1);
    ck_assert_int_eq (s_upload (env, block, &reason), 0);
    uint8_t *expected = NULL;
    size_t expected_size = 0;
    ck_assert_int_eq (cc_block_encode (block, true, &expected, &expected_size), 0);
    published = s_next_on (env, CC_TOPIC_BLOCK, 2000, &size);
    ck_assert_ptr_nonnull (published);
    ck_assert_uint_eq (size, expected_size);
    ck_assert_mem_eq (published, expected, size);
    free (published);

    //  Status follows the chain.
    Certchain__Reply *reply = NULL;
    Certchain__Status *status = s_status (env, &reply);
    ck_assert_str_eq (status->service, "relay");
    ck_assert_str_eq (status->chain_id, FIXTURE_CHAIN);
    ck_assert_uint_eq (status->height, 1);
    ck_assert (cc_bytes_sized (status->tip_hash, CC_HASH_SIZE));
    ck_assert_mem_eq (status->tip_hash.data, cc_block_hash (block), CC_HASH_SIZE);
    ck_assert_mem_eq (status->app_hash.data, cc_state_app_hash (cc_chain_state (env->chain)),
                      CC_HASH_SIZE);
    ck_assert_mem_eq (status->genesis_hash.data, cc_genesis_hash (env->genesis), CC_HASH_SIZE);
    ck_assert_uint_eq (status->validators, S_MEMBERS);
    cc_rpc_reply_free (&reply);

    //  The same block again: ok, nothing published, counted.
    ck_assert_int_eq (s_upload (env, block, &reason), 0);
    ck_assert_ptr_null (s_next_on (env, CC_TOPIC_BLOCK, 300, &size));
    ck_assert_uint_eq (s_counter (env, "upload.duplicate"), 1);
    ck_assert_uint_eq (s_counter (env, "uploads"), 1);

    //  The committed transaction is refused, even with another signature.
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (tx), &reason), CC_E_DUPLICATE);
    Certchain__Signed copy;
    ck_assert_int_eq (cc_signed_copy (cc_tx_envelope (tx), &copy), 0);
    copy.signature.data [5] ^= 0x01;
    ck_assert_int_eq (s_submit (env, &copy, &reason), CC_E_DUPLICATE);
    ck_assert_msg (strstr (reason.text, "committed at height 1"), "%s", reason.text);
    cc_signed_clear (&copy);

    //  GetBlocks: from 1, a count of 0 meaning the most, past the tip.
    Certchain__GetBlocks get_blocks = CERTCHAIN__GET_BLOCKS__INIT;
    get_blocks.from_height = 1;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCKS;
    request.get_blocks = &get_blocks;
    ck_assert_int_eq (s_call (env, &request, &reply, &reason), 0);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_BLOCKS);
    ck_assert_uint_eq (reply->blocks->n_blocks, 1);
    ck_assert_uint_eq (reply->blocks->blocks [0].len, expected_size);
    ck_assert_mem_eq (reply->blocks->blocks [0].data, expected, expected_size);
    cc_rpc_reply_free (&reply);
    get_blocks.from_height = 2;
    get_blocks.max_count = 5;
    ck_assert_int_eq (s_call (env, &request, &reply, &reason), 0);
    ck_assert_uint_eq (reply->blocks->n_blocks, 0);
    cc_rpc_reply_free (&reply);

    //  GetBlock: latest, by height, by hash; unknown ones.
    Certchain__GetBlock get_block = CERTCHAIN__GET_BLOCK__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCK;
    request.get_block = &get_block;
    for (int form = 0; form < 3; form++) {
        get_block.height = form == 1 ? 1 : 0;
        get_block.hash = form == 2 ? cc_bytes_view (cc_block_hash (block), CC_HASH_SIZE)
                                   : cc_bytes_view (NULL, 0);
        ck_assert_int_eq (s_call (env, &request, &reply, &reason), 0);
        ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_BLOCK);
        ck_assert_uint_eq (reply->block.len, expected_size);
        ck_assert_mem_eq (reply->block.data, expected, expected_size);
        cc_rpc_reply_free (&reply);
    }
    get_block.hash = cc_bytes_view (NULL, 0);
    get_block.height = 2;
    ck_assert_int_eq (s_call (env, &request, NULL, &reason), CC_E_NOT_FOUND);
    ck_assert_msg (strstr (reason.text, "relay height 1"), "%s", reason.text);
    uint8_t unknown [CC_HASH_SIZE] = {7};
    get_block.hash = cc_bytes_view (unknown, CC_HASH_SIZE);
    ck_assert_int_eq (s_call (env, &request, NULL, &reason), CC_E_NOT_FOUND);
    free (expected);

    //  GetTx: where it is, with a Merkle proof that holds.
    Certchain__GetTx get_tx = CERTCHAIN__GET_TX__INIT;
    get_tx.hash = cc_bytes_view (cc_tx_hash (tx), CC_HASH_SIZE);
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_TX;
    request.get_tx = &get_tx;
    ck_assert_int_eq (s_call (env, &request, &reply, &reason), 0);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_TX_INFO);
    Certchain__TxInfo *info = reply->tx_info;
    ck_assert_uint_eq (info->height, 1);
    ck_assert_uint_eq (info->index, 0);
    ck_assert_mem_eq (info->block_hash.data, cc_block_hash (block), CC_HASH_SIZE);
    ck_assert_mem_eq (info->tx_root.data, cc_block_header (block)->tx_root.data, CC_HASH_SIZE);
    ck_assert (cc_bytes_equal (info->tx->body, cc_tx_envelope (tx)->body));
    uint8_t proof [CC_MERKLE_MAX_DEPTH * CC_HASH_SIZE];
    for (size_t step = 0; step < info->n_proof; step++)
        memcpy (proof + step * CC_HASH_SIZE, info->proof [step].data, CC_HASH_SIZE);
    ck_assert (cc_merkle_verify (cc_tx_hash (tx), 1, 0, proof, info->n_proof,
                                 info->tx_root.data));
    cc_rpc_reply_free (&reply);
    get_tx.hash = cc_bytes_view (unknown, CC_HASH_SIZE);
    ck_assert_int_eq (s_call (env, &request, NULL, &reason), CC_E_NOT_FOUND);
    get_tx.hash.len = 5;
    ck_assert_int_eq (s_call (env, &request, NULL, &reason), CC_E_BAD_FIELD);

    cc_block_destroy (&block);
    cc_tx_destroy (&tx);
    s_env_destroy (&env);
}
END_TEST

START_TEST (test_upload_conflict_and_gap)
{
    s_env_t *env = s_env_new ();
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;
    //  Two different, equally well-sealed blocks for height 1.
    cc_block_t *rival = s_build (env, NULL, NULL, 0, 2000, S_MEMBERS, NULL);
    cc_block_t *first = s_advance (env, NULL, 0);
    ck_assert_mem_ne (cc_block_hash (rival), cc_block_hash (first), CC_HASH_SIZE);
    ck_assert_int_eq (s_upload (env, first, &reason), 0);
    ck_assert_int_eq (s_upload (env, rival, &reason), CC_E_EXISTS);
    ck_assert_uint_eq (s_counter (env, "conflict"), 1);
    ck_assert_uint_eq (s_relay_height (env), 1);

    //  Blocks 2 and 3 exist; the relay gets 3 first: it names its height.
    cc_block_t *second = s_advance (env, NULL, 0);
    cc_tx_t *tx = s_transfer (2, 3, 5, 1);
    cc_block_t *third = s_advance (env, &tx, 1);
    ck_assert_int_eq (s_upload (env, third, &reason), CC_E_WRONG_HEIGHT);
    ck_assert_str_eq (reason.text, "relay height 1");
    ck_assert_int_eq (s_upload (env, second, &reason), 0);
    ck_assert_int_eq (s_upload (env, third, &reason), 0);
    ck_assert_uint_eq (s_relay_height (env), 3);
    //  A stale duplicate below the tip is still fine; the rival still conflicts.
    ck_assert_int_eq (s_upload (env, first, &reason), 0);
    ck_assert_int_eq (s_upload (env, rival, &reason), CC_E_EXISTS);

    //  GetBlocks honours max_count and returns the blocks in order.
    Certchain__GetBlocks get_blocks = CERTCHAIN__GET_BLOCKS__INIT;
    get_blocks.from_height = 0;
    get_blocks.max_count = 2;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCKS;
    request.get_blocks = &get_blocks;
    Certchain__Reply *reply = NULL;
    ck_assert_int_eq (s_call (env, &request, &reply, &reason), 0);
    ck_assert_uint_eq (reply->blocks->n_blocks, 2);
    for (size_t index = 0; index < 2; index++) {
        cc_block_t *got = cc_block_decode (reply->blocks->blocks [index].data,
                                           reply->blocks->blocks [index].len, NULL);
        ck_assert_ptr_nonnull (got);
        ck_assert_uint_eq (cc_block_height (got), index + 1);
        ck_assert_ptr_nonnull (cc_block_commit (got));
        cc_block_destroy (&got);
    }
    cc_rpc_reply_free (&reply);
    cc_block_destroy (&rival);
    cc_block_destroy (&first);
    cc_block_destroy (&second);
    cc_block_destroy (&third);
    cc_tx_destroy (&tx);
    s_env_destroy (&env);
}
END_TEST

START_TEST (test_get_blocks_stays_under_the_message_size)
{
    s_env_t *env = s_env_new ();
    //  The smallest limit: 128 KiB, of which 64 KiB are left for blocks.
    s_set (env, "relay/max_message_kb", "128");
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;
    const size_t blocks = 4, per_block = 130;
    uint64_t nonce [S_ACCOUNTS] = {0};
    for (size_t height = 1; height <= blocks; height++) {
        cc_tx_t *txs [130];
        for (size_t index = 0; index < per_block; index++) {
            size_t from = index % S_ACCOUNTS;
            txs [index] = s_transfer (from, (from + 1) % S_ACCOUNTS, 1, ++nonce [from]);
        }
        cc_block_t *block = s_advance (env, txs, per_block);
        ck_assert_int_eq (s_upload (env, block, &reason), 0);
        cc_block_destroy (&block);
        for (size_t index = 0; index < per_block; index++)
            cc_tx_destroy (&txs [index]);
    }
    ck_assert_uint_eq (s_relay_height (env), blocks);
    //  Each reply is below the limit and the replies together hold every
    //  block once, in order.
    Certchain__GetBlocks get_blocks = CERTCHAIN__GET_BLOCKS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCKS;
    request.get_blocks = &get_blocks;
    uint64_t next = 1;
    size_t replies = 0;
    while (next <= blocks) {
        get_blocks.from_height = next;
        get_blocks.max_count = 1000;
        Certchain__Reply *reply = NULL;
        ck_assert_int_eq (s_call (env, &request, &reply, &reason), 0);
        ck_assert_uint_ge (reply->blocks->n_blocks, 1);
        ck_assert_uint_lt (certchain__reply__get_packed_size (reply), 128 * 1024);
        for (size_t index = 0; index < reply->blocks->n_blocks; index++) {
            cc_block_t *got = cc_block_decode (reply->blocks->blocks [index].data,
                                               reply->blocks->blocks [index].len, NULL);
            ck_assert_ptr_nonnull (got);
            ck_assert_uint_eq (cc_block_height (got), next++);
            ck_assert_uint_eq (cc_block_tx_count (got), per_block);
            cc_block_destroy (&got);
        }
        cc_rpc_reply_free (&reply);
        replies++;
    }
    ck_assert_uint_ge (replies, 2);
    ck_assert_uint_lt (replies, blocks);
    s_env_destroy (&env);
}
END_TEST

START_TEST (test_upload_refuses_by_verdict)
{
    s_env_t *env = s_env_new ();
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;
    //  A key never certified proposes, its commit signed by the members.
    cc_keypair_t *outsider = fixture_keypair (S_OUTSIDER);
    cc_block_t *block = s_build (env, outsider, NULL, 0, 1000, S_MEMBERS, NULL);
    ck_assert_int_eq (s_upload (env, block, &reason), CC_E_UNAUTHORIZED_PROPOSER);
    cc_block_destroy (&block);
    cc_keypair_destroy (&outsider);
    //  A member out of its turn.
    cc_valset_t *valset = cc_state_valset (cc_chain_state (env->chain), 1);
    const uint8_t *scheduled = cc_valset_proposer (valset, 1, 0);
    cc_keypair_t *other = NULL;
    for (size_t index = 0; index < S_MEMBERS && !other; index++)
        if (memcmp (cc_keypair_public (env->keys [index]), scheduled, CC_PUBKEY_SIZE) != 0)
            other = env->keys [index];
    cc_valset_destroy (&valset);
    block = s_build (env, other, NULL, 0, 1000, S_MEMBERS, NULL);
    ck_assert_int_eq (s_upload (env, block, &reason), CC_E_NOT_SCHEDULED);
    cc_block_destroy (&block);
    //  The scheduled proposer, but a commit below quorum, or none at all.
    block = s_build (env, NULL, NULL, 0, 1000, 2, NULL);
    ck_assert_int_eq (s_upload (env, block, &reason), CC_E_COMMIT_BELOW_QUORUM);
    cc_block_destroy (&block);
    block = s_build (env, NULL, NULL, 0, 1000, 0, NULL);
    ck_assert_int_eq (s_upload (env, block, &reason), CC_E_COMMIT_BELOW_QUORUM);
    //  Junk, and an empty upload.
    ck_assert_int_eq (s_upload_bytes (env, (const uint8_t *) "\x0a\x02zz\xff", 5, &reason),
                      CC_E_MALFORMED);
    ck_assert_int_eq (s_upload_bytes (env, NULL, 0, &reason), CC_E_BAD_FIELD);
    //  Nothing was stored or published; every refusal counted.
    size_t size = 0;
    ck_assert_ptr_null (s_next_on (env, CC_TOPIC_BLOCK, 300, &size));
    Certchain__Reply *reply = NULL;
    Certchain__Status *status = s_status (env, &reply);
    ck_assert_uint_eq (status->height, 0);
    ck_assert_uint_eq (status->discarded, 6);
    cc_rpc_reply_free (&reply);
    ck_assert_uint_eq (s_counter (env, "upload.refused.COMMIT_BELOW_QUORUM"), 2);
    //  The honest block is still taken afterwards.
    cc_block_t *good = s_advance (env, NULL, 0);
    ck_assert_int_eq (s_upload (env, good, &reason), 0);
    cc_block_destroy (&good);
    cc_block_destroy (&block);
    s_env_destroy (&env);
}
END_TEST

START_TEST (test_unsafe_skip_checks_publishes_as_is)
{
    s_env_t *env = s_env_new ();
    s_set (env, "relay/unsafe_skip_checks", "1");
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;
    cc_keypair_t *outsider = fixture_keypair (S_OUTSIDER);
    cc_block_t *block = s_build (env, outsider, NULL, 0, 1000, 0, NULL);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_block_encode (block, true, &data, &size), 0);
    ck_assert_int_eq (s_upload_bytes (env, data, size, &reason), 0);
    size_t got_size = 0;
    uint8_t *got = s_next_on (env, CC_TOPIC_BLOCK, 2000, &got_size);
    ck_assert_ptr_nonnull (got);
    ck_assert_uint_eq (got_size, size);
    ck_assert_mem_eq (got, data, size);
    free (got);
    free (data);
    ck_assert_uint_eq (s_relay_height (env), 0);
    cc_block_destroy (&block);
    cc_keypair_destroy (&outsider);
    s_env_destroy (&env);
}
END_TEST

//  --- The actor: submitted transactions ----------------------------------------------

//  Sends a SubmitTxBatch of count envelopes (borrowed); returns the reply
//  (caller frees).
static Certchain__Reply *
s_submit_batch (s_env_t *self, const Certchain__Signed **envelopes, size_t count)
{
    Certchain__SubmitTxBatch batch = CERTCHAIN__SUBMIT_TX_BATCH__INIT;
    batch.n_txs = count;
    batch.txs = (Certchain__Signed **) envelopes;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX_BATCH;
    request.submit_tx_batch = &batch;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    ck_assert_int_eq (s_call (self, &request, &reply, &reason), 0);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_SUBMIT_RESULT);
    ck_assert_uint_eq (reply->submit_result->n_results, count);
    return reply;
}

//  The next "txb" publication within timeout_ms, decoded (caller frees with
//  cc_codec_free), or NULL.
static Certchain__TxBatch *
s_next_batch (s_env_t *self, int timeout_ms)
{
    size_t size = 0;
    uint8_t *data = s_next_on (self, CC_TOPIC_TX_BATCH, timeout_ms, &size);
    if (!data)
        return NULL;
    int code = 0;
    Certchain__TxBatch *batch = (Certchain__TxBatch *) cc_codec_unpack (
        &certchain__tx_batch__descriptor, data, size, CC_MAX_MESSAGE_SIZE, &code);
    free (data);
    ck_assert_ptr_nonnull (batch);
    return batch;
}

//  True if envelope packs to the same bytes as tx's own encoding.
static bool
s_same_tx (const Certchain__Signed *envelope, cc_tx_t *tx)
{
    uint8_t *expected = NULL, *got = NULL;
    size_t expected_size = 0, got_size = 0;
    ck_assert_int_eq (cc_tx_encode (tx, &expected, &expected_size), 0);
    ck_assert_int_eq (cc_codec_pack (&envelope->base, CC_TX_MAX_SIZE, &got, &got_size), 0);
    bool same = expected_size == got_size && memcmp (expected, got, got_size) == 0;
    free (expected);
    free (got);
    return same;
}

START_TEST (test_submitted_txs_published_in_batches)
{
    s_env_t *env = s_env_new ();
    ck_assert_int_eq (s_env_start (env), 0);
    //  A batch: three good txs, a duplicate of the first, one malformed,
    //  one of another chain.
    cc_tx_t *txs [3] = {s_transfer (0, 1, 10, 1), s_transfer (1, 2, 10, 1),
                        s_transfer (2, 3, 10, 1)};
    Certchain__Signed malformed;
    ck_assert_int_eq (cc_signed_copy (cc_tx_envelope (txs [2]), &malformed), 0);
    malformed.body.len = 3;
    cc_keypair_t *sender = fixture_keypair (FIXTURE_ACCOUNT (3));
    Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
    transfer.to = cc_bytes_view (cc_keypair_public (sender), CC_PUBKEY_SIZE);
    transfer.amount = 1;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = 1;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;
    cc_tx_t *foreign = cc_tx_new (sender, "another-chain", &body);
    ck_assert_ptr_nonnull (foreign);
    const Certchain__Signed *envelopes [6] = {
        cc_tx_envelope (txs [0]), &malformed, cc_tx_envelope (txs [1]),
        cc_tx_envelope (txs [0]), cc_tx_envelope (foreign), cc_tx_envelope (txs [2])};
    Certchain__Reply *reply = s_submit_batch (env, envelopes, 6);
    Certchain__TxResult **results = reply->submit_result->results;
    ck_assert_ptr_null (results [0]->error);
    ck_assert_int_eq (-results [1]->error->code, CC_E_MALFORMED);
    ck_assert_ptr_null (results [2]->error);
    ck_assert_int_eq (-results [3]->error->code, CC_E_DUPLICATE);
    ck_assert_int_eq (-results [4]->error->code, CC_E_WRONG_CHAIN);
    ck_assert_ptr_null (results [5]->error);
    cc_rpc_reply_free (&reply);
    //  One message with the accepted ones, in order, and nothing else.
    Certchain__TxBatch *batch = s_next_batch (env, 2000);
    ck_assert_ptr_nonnull (batch);
    ck_assert_uint_eq (batch->n_txs, 3);
    for (size_t index = 0; index < 3; index++)
        ck_assert (s_same_tx (batch->txs [index], txs [index]));
    cc_codec_free ((ProtobufCMessage **) &batch);
    size_t size = 0;
    ck_assert_ptr_null (s_next_on (env, CC_TOPIC_TX_BATCH, 300, &size));
    ck_assert_ptr_null (s_next_on (env, CC_TOPIC_TX, 10, &size));

    //  A single SubmitTx: a batch of one.
    cc_tx_t *single = s_transfer (0, 2, 10, 2);
    cc_reason_t reason;
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (single), &reason), 0);
    batch = s_next_batch (env, 2000);
    ck_assert_ptr_nonnull (batch);
    ck_assert_uint_eq (batch->n_txs, 1);
    ck_assert (s_same_tx (batch->txs [0], single));
    cc_codec_free ((ProtobufCMessage **) &batch);
    //  A batch with nothing accepted publishes nothing.
    reply = s_submit_batch (env, envelopes, 2);
    cc_rpc_reply_free (&reply);
    ck_assert_ptr_null (s_next_on (env, CC_TOPIC_TX_BATCH, 300, &size));
    ck_assert_uint_eq (s_counter (env, "submitted"), 4);
    ck_assert_uint_eq (s_counter (env, "published.batches"), 2);

    //  A big batch is split to stay under the publication size, and
    //  every accepted tx still goes out once, in order.
    const size_t count = 6000;
    cc_tx_t **many = calloc (count, sizeof (cc_tx_t *));
    const Certchain__Signed **many_envelopes = calloc (count, sizeof (Certchain__Signed *));
    for (size_t index = 0; index < count; index++) {
        many [index] = s_transfer (1, 0, 1 + index, 2 + index);
        many_envelopes [index] = cc_tx_envelope (many [index]);
    }
    reply = s_submit_batch (env, many_envelopes, count);
    cc_rpc_reply_free (&reply);
    size_t seen = 0, messages = 0;
    while (seen < count) {
        batch = s_next_batch (env, 2000);
        ck_assert_ptr_nonnull (batch);
        messages++;
        for (size_t index = 0; index < batch->n_txs; index++)
            ck_assert (s_same_tx (batch->txs [index], many [seen++]));
        cc_codec_free ((ProtobufCMessage **) &batch);
    }
    ck_assert_uint_eq (seen, count);
    ck_assert_uint_ge (messages, 2);
    ck_assert_ptr_null (s_next_on (env, CC_TOPIC_TX_BATCH, 300, &size));
    for (size_t index = 0; index < count; index++)
        cc_tx_destroy (&many [index]);
    free (many);
    free (many_envelopes);

    cc_tx_destroy (&single);
    cc_tx_destroy (&foreign);
    cc_keypair_destroy (&sender);
    cc_signed_clear (&malformed);
    for (size_t index = 0; index < 3; index++)
        cc_tx_destroy (&txs [index]);
    s_env_destroy (&env);
}
END_TEST

//  A transaction submitted again: DUPLICATE while it is young, accepted and
//  published again after relay/resubmit_ms (a full mempool may have dropped
//  it), and DUPLICATE again right after that.
START_TEST (test_resubmission_after_resubmit_ms)
{
    s_env_t *env = s_env_new ();
    s_set (env, "relay/resubmit_ms", "400");
    ck_assert_int_eq (s_env_start (env), 0);
    cc_tx_t *tx = s_transfer (0, 1, 10, 1);
    cc_reason_t reason;
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (tx), &reason), 0);
    Certchain__TxBatch *batch = s_next_batch (env, 2000);
    ck_assert_ptr_nonnull (batch);
    cc_codec_free ((ProtobufCMessage **) &batch);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (tx), &reason), CC_E_DUPLICATE);
    ck_assert_ptr_nonnull (strstr (reason.text, "relay/resubmit_ms"));
    zclock_sleep (500);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (tx), &reason), 0);
    batch = s_next_batch (env, 2000);
    ck_assert_ptr_nonnull (batch);
    ck_assert_uint_eq (batch->n_txs, 1);
    ck_assert (s_same_tx (batch->txs [0], tx));
    cc_codec_free ((ProtobufCMessage **) &batch);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (tx), &reason), CC_E_DUPLICATE);
    ck_assert_uint_eq (s_counter (env, "resubmitted"), 1);
    ck_assert_uint_eq (s_counter (env, "submitted"), 2);
    cc_tx_destroy (&tx);
    s_env_destroy (&env);
}
END_TEST

//  envelope with its signature changed: the same tx hash, a new submission.
static void
s_resigned (const Certchain__Signed *envelope, uint8_t flip, Certchain__Signed *copy)
{
    ck_assert_int_eq (cc_signed_copy (envelope, copy), 0);
    copy->signature.data [7] ^= flip;
}

START_TEST (test_committed_refused_from_memory_then_from_the_index)
{
    s_env_t *env = s_env_new ();
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;
    //  Block 1 commits two transfers of account 0 (nonces 1, 2).
    cc_tx_t *committed [2] = {s_transfer (0, 1, 5, 1), s_transfer (0, 1, 6, 2)};
    cc_block_t *block = s_advance (env, committed, 2);
    ck_assert_int_eq (s_upload (env, block, &reason), 0);
    cc_block_destroy (&block);
    //  Resent (with other signature bytes, so not as a plain resubmission):
    //  refused with its height, from memory.
    for (size_t index = 0; index < 2; index++) {
        Certchain__Signed copy;
        s_resigned (cc_tx_envelope (committed [index]), 0x01, &copy);
        ck_assert_int_eq (s_submit (env, &copy, &reason), CC_E_DUPLICATE);
        ck_assert_str_eq (reason.text, "transaction already committed at height 1");
        cc_signed_clear (&copy);
    }
    //  Fresh transactions (unused nonces) pass without the index.
    cc_tx_t *fresh = s_transfer (0, 1, 7, 3);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (fresh), &reason), 0);
    cc_tx_t *other = s_transfer (2, 1, 7, 1);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (other), &reason), 0);
    ck_assert_uint_eq (s_counter (env, "tx_index.reads"), 0);
    //  A used nonce with another body was never committed: the index says
    //  so, and it passes as before (the mempools refuse it).
    cc_tx_t *stale = s_transfer (0, 2, 99, 1);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (stale), &reason), 0);
    ck_assert_uint_eq (s_counter (env, "tx_index.reads"), 1);

    //  After a restart the memory is empty: the index answers, exactly.
    s_env_stop (env);
    ck_assert_int_eq (s_env_start (env), 0);
    Certchain__Signed copy;
    s_resigned (cc_tx_envelope (committed [1]), 0x02, &copy);
    ck_assert_int_eq (s_submit (env, &copy, &reason), CC_E_DUPLICATE);
    ck_assert_str_eq (reason.text, "transaction already committed at height 1");
    cc_signed_clear (&copy);
    ck_assert_uint_eq (s_counter (env, "tx_index.reads"), 1);
    cc_tx_t *later = s_transfer (0, 1, 8, 4);
    ck_assert_int_eq (s_submit (env, cc_tx_envelope (later), &reason), 0);
    ck_assert_uint_eq (s_counter (env, "tx_index.reads"), 1);
    cc_tx_destroy (&later);
    cc_tx_destroy (&stale);
    cc_tx_destroy (&other);
    cc_tx_destroy (&fresh);
    for (size_t index = 0; index < 2; index++)
        cc_tx_destroy (&committed [index]);
    s_env_destroy (&env);
}
END_TEST

START_TEST (test_committed_memory_bounded_by_its_key)
{
    s_env_t *env = s_env_new ();
    s_set (env, "relay/committed_txs", "1");
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;
    //  Two txs in block 1, one in block 2: the memory keeps only the last.
    cc_tx_t *first [2] = {s_transfer (0, 1, 5, 1), s_transfer (1, 0, 5, 1)};
    cc_block_t *block = s_advance (env, first, 2);
    ck_assert_int_eq (s_upload (env, block, &reason), 0);
    cc_block_destroy (&block);
    cc_tx_t *second = s_transfer (2, 0, 5, 1);
    block = s_advance (env, &second, 1);
    ck_assert_int_eq (s_upload (env, block, &reason), 0);
    cc_block_destroy (&block);
    Certchain__Signed copy;
    s_resigned (cc_tx_envelope (second), 0x01, &copy);
    ck_assert_int_eq (s_submit (env, &copy, &reason), CC_E_DUPLICATE);
    ck_assert_str_eq (reason.text, "transaction already committed at height 2");
    cc_signed_clear (&copy);
    ck_assert_uint_eq (s_counter (env, "tx_index.reads"), 0);
    //  Forgotten ones are still refused, exactly, through the index.
    for (size_t index = 0; index < 2; index++) {
        s_resigned (cc_tx_envelope (first [index]), 0x01, &copy);
        ck_assert_int_eq (s_submit (env, &copy, &reason), CC_E_DUPLICATE);
        ck_assert_str_eq (reason.text, "transaction already committed at height 1");
        cc_signed_clear (&copy);
    }
    ck_assert_uint_eq (s_counter (env, "tx_index.reads"), 2);
    cc_tx_destroy (&second);
    for (size_t index = 0; index < 2; index++)
        cc_tx_destroy (&first [index]);
    //  The key's bounds.
    s_set (env, "relay/committed_txs", "0");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    s_set (env, "relay/committed_txs", "99999999");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    s_set (env, "relay/committed_txs", "1000");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), 0);
    s_set (env, "relay/resubmit_ms", "86400001");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "relay/resubmit_ms"));
    s_set (env, "relay/resubmit_ms", "0");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    s_set (env, "relay/resubmit_ms", "1");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), 0);
    s_env_destroy (&env);
}
END_TEST

//  --- The actor: gossip ------------------------------------------------------------------

//  A PUB into the relay's gossip, once a probe event made it through.
static zsock_t *
s_gossip_publisher (s_env_t *self)
{
    zsock_t *pub = zsock_new (ZMQ_PUB);
    ck_assert_ptr_nonnull (pub);
    cc_rpc_socket_policy (pub, CC_MAX_MESSAGE_SIZE);
    ck_assert_int_eq (zsock_connect (pub, "%s", cc_config_get (self->config, "relay/gossip")),
                      0);
    cc_metrics_t *metrics = cc_metrics_new ("probe", "p");
    bool through = false;
    for (uint64_t probe = 1; probe <= 50 && !through; probe++) {
        Certchain__MetricsEvent *event = cc_metrics_event (metrics, probe);
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (cc_codec_pack (&event->base, CC_MAX_MESSAGE_SIZE, &data, &size), 0);
        cc_metrics_event_free (&event);
        ck_assert_int_eq (cc_rpc_send_bytes (pub, NULL, CC_TOPIC_EVENT, data, size), 0);
        size_t got_size = 0;
        uint8_t *got = NULL;
        //  The relay's own events come too: wait for ours.
        int64_t deadline = zclock_mono () + 200;
        while (!through && zclock_mono () < deadline
               && (got = s_next_on (self, CC_TOPIC_EVENT, 100, &got_size)) != NULL) {
            through = got_size == size && memcmp (got, data, size) == 0;
            free (got);
        }
        free (data);
    }
    cc_metrics_destroy (&metrics);
    ck_assert (through);
    return pub;
}

START_TEST (test_gossip_batches_checked_counted_and_forwarded)
{
    s_env_t *env = s_env_new ();
    ck_assert_int_eq (s_env_start (env), 0);
    zsock_t *pub = s_gossip_publisher (env);
    cc_tx_t *txs [2] = {s_transfer (0, 1, 10, 1), s_transfer (1, 2, 10, 1)};
    const Certchain__Signed *envelopes [2] = {cc_tx_envelope (txs [0]),
                                              cc_tx_envelope (txs [1])};
    //  Junk, a batch holding a malformed tx, an empty batch, then a good
    //  batch: only the good one comes out, once.
    Certchain__Signed bad;
    ck_assert_int_eq (cc_signed_copy (envelopes [1], &bad), 0);
    bad.body.len = 3;
    const Certchain__Signed *mixed [2] = {envelopes [0], &bad};
    size_t size = 0;
    uint8_t *junk = s_pack_batch (mixed, 2, &size);
    ck_assert_int_eq (cc_rpc_send_bytes (pub, NULL, CC_TOPIC_TX_BATCH, junk, size), 0);
    free (junk);
    ck_assert_int_eq (cc_rpc_send_bytes (pub, NULL, CC_TOPIC_TX_BATCH,
                                         (const uint8_t *) "ÿÿ", 2), 0);
    ck_assert_int_eq (cc_rpc_send_bytes (pub, NULL, CC_TOPIC_TX_BATCH, NULL, 0), 0);
    uint8_t *good = s_pack_batch (envelopes, 2, &size);
    ck_assert_int_eq (cc_rpc_send_bytes (pub, NULL, CC_TOPIC_TX_BATCH, good, size), 0);
    ck_assert_int_eq (cc_rpc_send_bytes (pub, NULL, CC_TOPIC_TX_BATCH, good, size), 0);
    size_t got_size = 0;
    uint8_t *got = s_next_on (env, CC_TOPIC_TX_BATCH, 2000, &got_size);
    ck_assert_ptr_nonnull (got);
    ck_assert_uint_eq (got_size, size);
    ck_assert_mem_eq (got, good, size);
    free (got);
    ck_assert_ptr_null (s_next_on (env, CC_TOPIC_TX_BATCH, 300, &got_size));
    ck_assert_uint_eq (s_counter (env, "drop.MALFORMED"), 3);
    ck_assert_uint_eq (s_counter (env, "drop.DUPLICATE"), 1);
    //  A single "tx" from gossip is still taken.
    uint8_t *data = NULL;
    ck_assert_int_eq (cc_tx_encode (txs [0], &data, &size), 0);
    ck_assert_int_eq (cc_rpc_send_bytes (pub, NULL, CC_TOPIC_TX, data, size), 0);
    got = s_next_on (env, CC_TOPIC_TX, 2000, &got_size);
    ck_assert_ptr_nonnull (got);
    ck_assert_mem_eq (got, data, size);
    free (got);
    free (data);
    free (good);
    cc_signed_clear (&bad);
    for (size_t index = 0; index < 2; index++)
        cc_tx_destroy (&txs [index]);
    zsock_destroy (&pub);
    s_env_destroy (&env);
}
END_TEST

//  --- The actor: start and restart ----------------------------------------------------

START_TEST (test_restart_keeps_the_chain)
{
    s_env_t *env = s_env_new ();
    ck_assert_int_eq (s_env_start (env), 0);
    cc_reason_t reason;
    cc_block_t *block = s_advance (env, NULL, 0);
    ck_assert_int_eq (s_upload (env, block, &reason), 0);
    s_env_stop (env);
    ck_assert_int_eq (s_env_start (env), 0);
    ck_assert_uint_eq (s_relay_height (env), 1);
    ck_assert_int_eq (s_upload (env, block, &reason), 0);
    cc_block_destroy (&block);
    s_env_destroy (&env);
}
END_TEST

START_TEST (test_start_failures)
{
    s_env_t *env = s_env_new ();
    //  A genesis that does not load: a configuration error.
    char *missing = s_path (env, "missing.zpl");
    s_set (env, "genesis/path", missing);
    free (missing);
    ck_assert_int_eq (s_env_start (env), CC_EXIT_CONFIG);
    s_set (env, "genesis/path", env->genesis_path);
    //  An occupied port: a runtime failure.
    zsock_t *holder = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (holder, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    s_set (env, "relay/gossip", endpoint);
    ck_assert_int_eq (s_env_start (env), CC_EXIT_FAILURE);
    zsock_destroy (&holder);
    ck_assert_int_eq (s_env_start (env), 0);
    s_env_stop (env);
    //  A store held by another chain.
    char *store = s_path (env, "relay-data");
    cc_reason_t reason;
    cc_chain_t *holder_chain = cc_chain_open (store, env->genesis, 0, &reason);
    ck_assert_ptr_nonnull (holder_chain);
    ck_assert_int_eq (s_env_start (env), CC_EXIT_FAILURE);
    cc_chain_destroy (&holder_chain);
    free (store);
    //  Configuration checks.
    s_set (env, "relay/max_message_kb", "64");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    s_set (env, "relay/max_message_kb", "x");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    s_set (env, "relay/max_message_kb", "1024");
    s_set (env, "relay/unsafe_skip_checks", "perhaps");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    s_set (env, "relay/unsafe_skip_checks", "no");
    s_set (env, "relay/rpc", "");
    ck_assert_int_eq (cc_relay_check (env->config, &reason), CC_E_CONFIG);
    s_env_destroy (&env);
}
END_TEST

START_TEST (test_bare_unsafe_flag)
{
    char *argv [] = {"relay", "--unsafe-skip-checks", "--rpc", "x", "--unsafe-skip-checks",
                     "no", "--unsafe-skip-checks"};
    char **args = cc_relay_args_normalize (7, argv);
    ck_assert_ptr_nonnull (args);
    ck_assert_str_eq (args [1], "--unsafe-skip-checks=1");
    ck_assert_str_eq (args [2], "--rpc");
    ck_assert_str_eq (args [4], "--unsafe-skip-checks");
    ck_assert_str_eq (args [5], "no");
    ck_assert_str_eq (args [6], "--unsafe-skip-checks=1");
    ck_assert_ptr_null (args [7]);
    free (args);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("relay");
    TCase *units = tcase_create ("modules");
    tcase_set_timeout (units, 60);
    tcase_add_test (units, test_seen_dedupes_and_forgets_the_oldest);
    tcase_add_test (units, test_committed_finds_and_forgets_the_oldest);
    tcase_add_test (units, test_committed_long_run_stays_exact);
    tcase_add_test (units, test_gossip_tx_batches);
    tcase_add_test (units, test_gossip_votes);
    tcase_add_test (units, test_gossip_proposals_txs_and_events);
    tcase_add_test (units, test_bare_unsafe_flag);
    suite_add_tcase (suite, units);
    TCase *actor = tcase_create ("actor");
    tcase_set_timeout (actor, 60);
    tcase_add_test (actor, test_upload_stores_publishes_and_serves);
    tcase_add_test (actor, test_upload_conflict_and_gap);
    tcase_add_test (actor, test_get_blocks_stays_under_the_message_size);
    tcase_add_test (actor, test_upload_refuses_by_verdict);
    tcase_add_test (actor, test_unsafe_skip_checks_publishes_as_is);
    tcase_add_test (actor, test_submitted_txs_published_in_batches);
    tcase_add_test (actor, test_resubmission_after_resubmit_ms);
    tcase_add_test (actor, test_committed_refused_from_memory_then_from_the_index);
    tcase_add_test (actor, test_committed_memory_bounded_by_its_key);
    tcase_add_test (actor, test_gossip_batches_checked_counted_and_forwarded);
    tcase_add_test (actor, test_restart_keeps_the_chain);
    tcase_add_test (actor, test_start_failures);
    suite_add_tcase (suite, actor);
    return fixture_run (suite);
}
