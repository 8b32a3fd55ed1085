/*  =========================================================================
    test_outbox - the validator's own transactions (outbox.h)

    A real chain in a temporary store (genesis: one producing CA and three
    validators; the validator under test is validator 0, the offender
    validator 1) and an outbox whose send callback records what leaves.
    Blocks are built and sealed here with a commit of every member, then
    committed, so the outbox sees exactly what the validator would: an
    EVIDENCE output of consensus becomes an Evidence tx numbered from the
    committed nonce and checked on the state first; duplicates, self
    evidence and offenders that cannot be punished are refused with the
    state's code; commits settle; a relay refusal or a nonce used by
    another tx makes the rest renumbered; a Resign follows the same path.
    =========================================================================
*/

#include <check.h>
#include <string.h>

#include "block.h"
#include "chain.h"
#include "fixture.h"
#include "outbox.h"

#define S_SENT_MAX 32
#define S_SETTLED_MAX 16
#define S_MEMBERS 4

//  What the settled callback was told.
typedef struct {
    cc_outbox_kind_t kind;              //  kind settled
    uint64_t height;                    //  committed at, or 0
    int code;                           //  0 committed, else why dropped
} s_settled_t;

typedef struct {
    char *dir;                          //  the store
    cc_genesis_t *genesis;              //  the chain's genesis
    cc_chain_t *chain;                  //  the chain
    cc_log_t *log;                      //  quiet log
    cc_keypair_t *keys [S_MEMBERS];     //  CA 0, validators 0..2
    cc_keypair_t *us;                   //  validator 0 (borrowed from keys)
    cc_keypair_t *offender;             //  validator 1 (borrowed from keys)
    cc_outbox_t *outbox;                //  under test
    cc_tx_t *sent [S_SENT_MAX];         //  decoded copies of what was sent
    size_t sent_count;
    uint64_t next_id;                   //  request ids handed out
    s_settled_t settled [S_SETTLED_MAX];
    size_t settled_count;
} s_world_t;

//  --- The world -----------------------------------------------------------------------

static uint64_t
s_send (void *argument, cc_tx_t *tx)
{
    s_world_t *self = (s_world_t *) argument;
    ck_assert_uint_lt (self->sent_count, S_SENT_MAX);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_tx_encode (tx, &data, &size), 0);
    cc_reason_t reason;
    cc_tx_t *copy = cc_tx_decode (data, size, &reason);
    free (data);
    ck_assert_ptr_nonnull (copy);
    ck_assert_int_eq (cc_tx_open (copy, FIXTURE_CHAIN, false, &reason), 0);
    self->sent [self->sent_count++] = copy;
    return ++self->next_id;
}

static void
s_settled (void *argument, cc_outbox_kind_t kind, const uint8_t *hash, uint64_t height,
           int code, const char *text)
{
    s_world_t *self = (s_world_t *) argument;
    ck_assert_uint_lt (self->settled_count, S_SETTLED_MAX);
    s_settled_t *entry = &self->settled [self->settled_count++];
    entry->kind = kind;
    entry->height = height;
    entry->code = code;
}

static void s_outbox_new_for (s_world_t *self, cc_keypair_t *key);

static s_world_t *
s_world_new (void)
{
    s_world_t *self = (s_world_t *) calloc (1, sizeof (s_world_t));
    ck_assert_ptr_nonnull (self);
    self->dir = fixture_tempdir ("outbox");
    ck_assert_ptr_nonnull (self->dir);
    self->genesis = fixture_genesis (1, 3, 0, 0);
    ck_assert_ptr_nonnull (self->genesis);
    cc_reason_t reason;
    self->chain = cc_chain_open (self->dir, self->genesis, 0, &reason);
    ck_assert_msg (self->chain != NULL, "chain: %s", reason.text);
    self->log = cc_log_new ("test", stderr);
    ck_assert_ptr_nonnull (self->log);
    cc_log_set_level (self->log, CC_LOG_ERROR);
    self->keys [0] = fixture_keypair (FIXTURE_CA (0));
    for (size_t index = 0; index < 3; index++)
        self->keys [1 + index] = fixture_keypair (FIXTURE_VALIDATOR (index));
    self->us = self->keys [1];
    self->offender = self->keys [2];
    s_outbox_new_for (self, self->us);
    return self;
}

static void
s_world_destroy (s_world_t **self_p)
{
    s_world_t *self = *self_p;
    cc_outbox_destroy (&self->outbox);
    for (size_t index = 0; index < self->sent_count; index++)
        cc_tx_destroy (&self->sent [index]);
    for (size_t index = 0; index < S_MEMBERS; index++)
        cc_keypair_destroy (&self->keys [index]);
    cc_chain_destroy (&self->chain);
    cc_genesis_destroy (&self->genesis);
    cc_log_destroy (&self->log);
    fixture_rmtree (self->dir);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  The last tx sent.
static cc_tx_t *
s_last_sent (s_world_t *self)
{
    ck_assert_uint_gt (self->sent_count, 0);
    return self->sent [self->sent_count - 1];
}

//  --- Inputs ---------------------------------------------------------------------------

//  A serialized Evidence: offender signed two votes of type for
//  (height, round) with different block hashes (same: both for "a").
static void
s_evidence (cc_keypair_t *offender, Certchain__VoteType type, uint64_t height, uint32_t round,
            bool conflicting, uint8_t **data_p, size_t *size_p)
{
    uint8_t hash_a [CC_HASH_SIZE], hash_b [CC_HASH_SIZE];
    cc_hash ("block a", 7, hash_a);
    cc_hash (conflicting ? "block b" : "block a", 7, hash_b);
    Certchain__Signed vote_a, vote_b;
    ck_assert_int_eq (fixture_vote (offender, type, height, round, hash_a, &vote_a), 0);
    ck_assert_int_eq (fixture_vote (offender, type, height, round, hash_b, &vote_b), 0);
    Certchain__Evidence evidence = CERTCHAIN__EVIDENCE__INIT;
    evidence.vote_a = &vote_a;
    evidence.vote_b = &vote_b;
    ck_assert_int_eq (cc_codec_pack (&evidence.base, CC_MAX_MESSAGE_SIZE, data_p, size_p), 0);
    cc_signed_clear (&vote_a);
    cc_signed_clear (&vote_b);
}

//  Feeds an Evidence against offender to the outbox; its return code.
static int
s_feed (s_world_t *self, cc_keypair_t *offender, Certchain__VoteType type, uint64_t height,
        uint32_t round)
{
    uint8_t *data = NULL;
    size_t size = 0;
    s_evidence (offender, type, height, round, true, &data, &size);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_outbox_evidence (self->outbox, data, size, 1000, &reason);
    free (data);
    return rc;
}

static cc_keypair_t *
s_key_of (s_world_t *self, const uint8_t *pubkey)
{
    for (size_t index = 0; index < S_MEMBERS; index++)
        if (memcmp (cc_keypair_public (self->keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return self->keys [index];
    return NULL;
}

//  Builds, seals and commits the next block with txs (borrowed; each must
//  apply), then tells the outbox.
static void
s_commit (s_world_t *self, cc_tx_t **txs, size_t count)
{
    uint64_t height = cc_chain_height (self->chain) + 1;
    cc_state_t *state = cc_chain_state (self->chain);
    cc_valset_t *valset = cc_state_valset (state, height);
    ck_assert_ptr_nonnull (valset);
    cc_keypair_t *proposer = s_key_of (self, cc_valset_proposer (valset, height, 0));
    ck_assert_ptr_nonnull (proposer);
    cc_block_t *parent = NULL;
    if (height > 1) {
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (cc_chain_block (self->chain, height - 1, &data, &size), 0);
        parent = cc_block_decode (data, size, NULL);
        free (data);
        ck_assert_ptr_nonnull (parent);
    }
    cc_block_build_args_t args = {
        .state = state,
        .proposer = proposer,
        .height = height,
        .time_ms = cc_chain_tip_time (self->chain) + 1000,
        .parent_hash = cc_chain_tip_hash (self->chain),
        .last_commit = parent ? cc_block_commit (parent) : NULL,
        .candidates = txs,
        .count = count,
    };
    cc_reason_t reason;
    cc_exec_t *exec = NULL;
    cc_block_t *block = cc_block_build (&args, &exec, &reason);
    ck_assert_msg (block != NULL, "build: %s", reason.text);
    ck_assert_uint_eq (cc_block_tx_count (block), count);
    Certchain__Commit *commit = cc_commit_new (height, 0, cc_block_hash (block));
    for (size_t index = 0; index < cc_valset_size (valset); index++) {
        cc_keypair_t *key = s_key_of (self, cc_valset_member (valset, index));
        ck_assert_ptr_nonnull (key);
        Certchain__Signed vote;
        ck_assert_int_eq (cc_vote_sign (key, FIXTURE_CHAIN, CERTCHAIN__VOTE_TYPE__PRECOMMIT,
                                        height, 0, cc_block_hash (block), &vote), 0);
        ck_assert_int_eq (cc_commit_add (commit, &vote), 0);
        cc_signed_clear (&vote);
    }
    ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
    ck_assert_int_eq (cc_chain_commit (self->chain, block, &exec, &reason), 0);
    cc_outbox_on_block (self->outbox, block, 2000);
    cc_commit_destroy (&commit);
    cc_block_destroy (&block);
    cc_block_destroy (&parent);
    cc_valset_destroy (&valset);
}

//  A SubmitResult reply to id, with code (0: accepted).
static bool
s_reply (s_world_t *self, uint64_t id, int code)
{
    Certchain__Error error = CERTCHAIN__ERROR__INIT;
    error.code = -code;
    error.message = (char *) "refused by the test";
    Certchain__TxResult result = CERTCHAIN__TX_RESULT__INIT;
    result.error = code ? &error : NULL;
    Certchain__TxResult *results [1] = {&result};
    Certchain__SubmitResult submit = CERTCHAIN__SUBMIT_RESULT__INIT;
    submit.n_results = 1;
    submit.results = results;
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_SUBMIT_RESULT;
    reply.submit_result = &submit;
    return cc_outbox_on_reply (self->outbox, &reply, 1500);
}

static void
s_outbox_new_for (s_world_t *self, cc_keypair_t *key)
{
    cc_outbox_destroy (&self->outbox);
    cc_outbox_config_t config = {
        .chain = self->chain,
        .key = key,
        .log = self->log,
        .send = s_send,
        .settled = s_settled,
        .argument = self,
    };
    self->outbox = cc_outbox_new (&config);
    ck_assert_ptr_nonnull (self->outbox);
}

//  The status of node's record.
static Certchain__ValidatorStatus
s_status (s_world_t *self, cc_keypair_t *node)
{
    Certchain__ValidatorRecord *record = NULL;
    ck_assert_int_eq (cc_state_validator (cc_chain_state (self->chain),
                                          cc_keypair_public (node), &record), 0);
    Certchain__ValidatorStatus status = record->status;
    certchain__validator_record__free_unpacked (record, NULL);
    return status;
}

//  --- Tests -----------------------------------------------------------------------------

START_TEST (test_evidence_submitted)
{
    s_world_t *world = s_world_new ();
    ck_assert_uint_eq (cc_outbox_next_nonce (world->outbox), 1);
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 1), 0);
    ck_assert_uint_eq (world->sent_count, 1);
    cc_tx_t *tx = s_last_sent (world);
    ck_assert_str_eq (cc_tx_kind_name (tx), "evidence");
    ck_assert_mem_eq (cc_tx_signer (tx), cc_keypair_public (world->us), CC_PUBKEY_SIZE);
    ck_assert_uint_eq (cc_tx_nonce (tx), 1);
    ck_assert_uint_eq (cc_tx_fee (tx), 0);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 1);
    ck_assert_uint_eq (cc_outbox_next_nonce (world->outbox), 2);
    ck_assert (!cc_outbox_resign_pending (world->outbox));

    //  Committed: settled with its height; the offender is banned.
    s_commit (world, &tx, 1);
    ck_assert_uint_eq (world->settled_count, 1);
    ck_assert_int_eq (world->settled [0].kind, CC_OUTBOX_EVIDENCE);
    ck_assert_int_eq (world->settled [0].code, 0);
    ck_assert_uint_eq (world->settled [0].height, 1);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 0);
    ck_assert_uint_eq (cc_outbox_next_nonce (world->outbox), 2);
    ck_assert_int_eq (s_status (world, world->offender), CERTCHAIN__VALIDATOR_STATUS__BANNED);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_evidence_reported_once)
{
    s_world_t *world = s_world_new ();
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 1), 0);
    //  The same offence again, and its precommit twin: reported already.
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 1),
                      CC_E_DUPLICATE);
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PRECOMMIT, 3, 1),
                      CC_E_DUPLICATE);
    ck_assert_uint_eq (world->sent_count, 1);
    //  Another round is another offence; but the pending Evidence bans the
    //  offender first, so the state refuses a second punishment.
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 2),
                      CC_E_ALREADY_PUNISHED);
    ck_assert_uint_eq (world->sent_count, 1);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 1);
    //  Another offender at the same height and round: sent, nonce 2.
    ck_assert_int_eq (s_feed (world, world->keys [3], CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 1), 0);
    ck_assert_uint_eq (world->sent_count, 2);
    ck_assert_uint_eq (cc_tx_nonce (s_last_sent (world)), 2);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_evidence_refused_by_state)
{
    s_world_t *world = s_world_new ();
    //  Against ourselves.
    ck_assert_int_eq (s_feed (world, world->us, CERTCHAIN__VOTE_TYPE__PREVOTE, 2, 0),
                      CC_E_SELF_EVIDENCE);
    //  Against a genesis CA (no record) and an unknown key.
    ck_assert_int_eq (s_feed (world, world->keys [0], CERTCHAIN__VOTE_TYPE__PREVOTE, 2, 0),
                      CC_E_UNKNOWN_NODE);
    cc_keypair_t *stranger = fixture_keypair (10000);
    ck_assert_int_eq (s_feed (world, stranger, CERTCHAIN__VOTE_TYPE__PREVOTE, 2, 0),
                      CC_E_UNKNOWN_NODE);
    cc_keypair_destroy (&stranger);
    //  Two equal votes are no conflict.
    uint8_t *data = NULL;
    size_t size = 0;
    s_evidence (world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 4, 0, false, &data, &size);
    cc_reason_t reason;
    ck_assert_int_eq (cc_outbox_evidence (world->outbox, data, size, 1000, &reason),
                      CC_E_INVALID_EVIDENCE);
    free (data);
    //  Bytes that are not an Evidence, and an Evidence with one vote.
    ck_assert_int_eq (cc_outbox_evidence (world->outbox, (const uint8_t *) "\xff\xff", 2, 1000,
                                          &reason), CC_E_MALFORMED);
    Certchain__Signed vote;
    ck_assert_int_eq (fixture_vote (world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 5, 0, NULL,
                                    &vote), 0);
    Certchain__Evidence evidence = CERTCHAIN__EVIDENCE__INIT;
    evidence.vote_a = &vote;
    ck_assert_int_eq (cc_codec_pack (&evidence.base, CC_MAX_MESSAGE_SIZE, &data, &size), 0);
    cc_signed_clear (&vote);
    ck_assert_int_eq (cc_outbox_evidence (world->outbox, data, size, 1000, &reason),
                      CC_E_INVALID_EVIDENCE);
    free (data);
    //  Nothing left, nothing pending, the nonce untouched.
    ck_assert_uint_eq (world->sent_count, 0);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 0);
    ck_assert_uint_eq (cc_outbox_next_nonce (world->outbox), 1);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_resign)
{
    s_world_t *world = s_world_new ();
    cc_reason_t reason;
    ck_assert_int_eq (cc_outbox_resign (world->outbox, 1000, &reason), 0);
    ck_assert (cc_outbox_resign_pending (world->outbox));
    ck_assert_uint_eq (world->sent_count, 1);
    cc_tx_t *tx = s_last_sent (world);
    ck_assert_str_eq (cc_tx_kind_name (tx), "resign");
    ck_assert_uint_eq (cc_tx_nonce (tx), 1);
    ck_assert_uint_eq (cc_tx_fee (tx), 0);
    ck_assert_int_eq (cc_outbox_resign (world->outbox, 1000, &reason), CC_E_EXISTS);
    ck_assert_uint_eq (world->sent_count, 1);
    s_commit (world, &tx, 1);
    ck_assert_uint_eq (world->settled_count, 1);
    ck_assert_int_eq (world->settled [0].kind, CC_OUTBOX_RESIGN);
    ck_assert_int_eq (world->settled [0].code, 0);
    ck_assert (!cc_outbox_resign_pending (world->outbox));
    ck_assert_int_eq (s_status (world, world->us), CERTCHAIN__VALIDATOR_STATUS__RESIGNED);
    cc_valset_t *next = cc_state_valset (cc_chain_state (world->chain), 2);
    ck_assert (!cc_valset_contains (next, cc_keypair_public (world->us)));
    cc_valset_destroy (&next);
    //  Out of the set: a second Resign is refused by the state, not sent.
    ck_assert_int_eq (cc_outbox_resign (world->outbox, 1000, &reason), CC_E_NOT_ACTIVE);
    ck_assert_uint_eq (world->sent_count, 1);
    //  A key that never was a validator cannot resign either.
    cc_keypair_t *stranger = fixture_keypair (10001);
    s_outbox_new_for (world, stranger);
    ck_assert_int_eq (cc_outbox_resign (world->outbox, 1000, &reason), CC_E_NOT_ACTIVE);
    ck_assert_uint_eq (world->sent_count, 1);
    cc_outbox_destroy (&world->outbox);
    cc_keypair_destroy (&stranger);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_relay_refusal_renumbers)
{
    s_world_t *world = s_world_new ();
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 1), 0);
    cc_reason_t reason;
    ck_assert_int_eq (cc_outbox_resign (world->outbox, 1000, &reason), 0);
    ck_assert_uint_eq (world->sent_count, 2);
    ck_assert_uint_eq (cc_tx_nonce (world->sent [1]), 2);
    //  A reply nobody waits for is not ours; DUPLICATE only means "known".
    ck_assert (!s_reply (world, 999, 0));
    ck_assert (s_reply (world, 1, CC_E_DUPLICATE));
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 2);
    ck_assert_uint_eq (world->settled_count, 0);
    //  The Evidence is resent at the next tick (its reply came).
    cc_outbox_tick (world->outbox, 1000 + CC_OUTBOX_RESEND_MS);
    ck_assert_uint_eq (world->sent_count, 4);
    ck_assert_mem_eq (cc_tx_hash (world->sent [2]), cc_tx_hash (world->sent [0]), CC_HASH_SIZE);
    //  The relay refuses the Evidence (id 3: its resend): dropped, and the
    //  Resign is signed again with nonce 1 and sent.
    ck_assert (s_reply (world, 3, CC_E_BAD_FIELD));
    ck_assert_uint_eq (world->settled_count, 1);
    ck_assert_int_eq (world->settled [0].kind, CC_OUTBOX_EVIDENCE);
    ck_assert_int_eq (world->settled [0].code, CC_E_BAD_FIELD);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 1);
    ck_assert_uint_eq (world->sent_count, 5);
    cc_tx_t *resign = s_last_sent (world);
    ck_assert_str_eq (cc_tx_kind_name (resign), "resign");
    ck_assert_uint_eq (cc_tx_nonce (resign), 1);
    ck_assert_uint_eq (cc_outbox_next_nonce (world->outbox), 2);
    //  It commits.
    s_commit (world, &resign, 1);
    ck_assert_uint_eq (world->settled_count, 2);
    ck_assert_int_eq (world->settled [1].code, 0);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 0);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_nonce_taken_elsewhere)
{
    s_world_t *world = s_world_new ();
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 1), 0);
    ck_assert_uint_eq (cc_tx_nonce (s_last_sent (world)), 1);
    //  A Resign of ours from elsewhere (an earlier run) takes nonce 1.
    cc_tx_t *resign = fixture_resign (world->us, 0, 1);
    ck_assert_ptr_nonnull (resign);
    s_commit (world, &resign, 1);
    cc_tx_destroy (&resign);
    //  The Evidence is renumbered to 2 and sent again; still pending.
    ck_assert_uint_eq (world->settled_count, 0);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 1);
    ck_assert_uint_eq (world->sent_count, 2);
    cc_tx_t *evidence = s_last_sent (world);
    ck_assert_str_eq (cc_tx_kind_name (evidence), "evidence");
    ck_assert_uint_eq (cc_tx_nonce (evidence), 2);
    //  A block that holds its first version (nonce 1 would not apply now,
    //  so a block cannot): the new one commits and settles it.
    s_commit (world, &evidence, 1);
    ck_assert_uint_eq (world->settled_count, 1);
    ck_assert_int_eq (world->settled [0].code, 0);
    ck_assert_uint_eq (world->settled [0].height, 2);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_pending_that_stops_applying_is_dropped)
{
    s_world_t *world = s_world_new ();
    ck_assert_int_eq (s_feed (world, world->offender, CERTCHAIN__VOTE_TYPE__PREVOTE, 3, 1), 0);
    //  Validator 2 reports the same offender first.
    cc_tx_t *theirs = fixture_evidence (world->keys [3], world->offender, 3, 1, 0, 1);
    ck_assert_ptr_nonnull (theirs);
    s_commit (world, &theirs, 1);
    cc_tx_destroy (&theirs);
    ck_assert_uint_eq (world->settled_count, 1);
    ck_assert_int_eq (world->settled [0].kind, CC_OUTBOX_EVIDENCE);
    ck_assert_int_eq (world->settled [0].code, CC_E_ALREADY_PUNISHED);
    ck_assert_uint_eq (cc_outbox_pending (world->outbox), 0);
    ck_assert_uint_eq (cc_outbox_next_nonce (world->outbox), 1);
    s_world_destroy (&world);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("validator_outbox");
    TCase *tcase = tcase_create ("outbox");
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_evidence_submitted);
    tcase_add_test (tcase, test_evidence_reported_once);
    tcase_add_test (tcase, test_evidence_refused_by_state);
    tcase_add_test (tcase, test_resign);
    tcase_add_test (tcase, test_relay_refusal_renumbers);
    tcase_add_test (tcase, test_nonce_taken_elsewhere);
    tcase_add_test (tcase, test_pending_that_stops_applying_is_dropped);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
