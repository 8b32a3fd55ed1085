/*  =========================================================================
    test_join - the candidate side of the join protocol: request signing,
    answer assembly, every shape of the CA's reply, the messages the
    machine must ignore, and the blocking run against a stub CA

    The real certchain-ca is exercised in tests/integration/test_ca.py; here
    the CA's half is played in-process with the library's own challenge
    functions (issue, open, verify), so every step runs without a service.
    Challenges are small (8 packets, 8 bits, 1 MiB) so tests take
    milliseconds, with long deadlines for sanitizer and valgrind runs.
    =========================================================================
*/

#include "join.h"
#include "fixture.h"
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Clock of the candidate and the CA in these tests.
#define S_NOW 1700000000000ULL
//  Keys: the candidate and an outsider.
#define S_CANDIDATE 10000
#define S_OTHER 10001

//  --- Helpers -----------------------------------------------------------------

static cc_challenge_params_t
s_small_params (void)
{
    cc_challenge_params_t params = cc_challenge_params_default ();
    params.packets = 8;
    params.difficulty_bits = 8;
    params.argon2_memory_kib = 1024;
    params.sample_size = 8;
    params.deadline_ms = 600000;
    return params;
}

static Certchain__JoinMessage *
s_unpack (const uint8_t *data, size_t size)
{
    int code = 0;
    Certchain__JoinMessage *message = (Certchain__JoinMessage *) cc_codec_unpack (
        &certchain__join_message__descriptor, data, size, CC_JOIN_MAX_MESSAGE_SIZE, &code);
    ck_assert_int_eq (code, 0);
    ck_assert_ptr_nonnull (message);
    return message;
}

static void
s_message_free (Certchain__JoinMessage **message_p)
{
    cc_codec_free ((ProtobufCMessage **) message_p);
}

//  Packs a JoinMessage into a fresh buffer.
static uint8_t *
s_pack (Certchain__JoinMessage *message, size_t *size_p)
{
    uint8_t *data = NULL;
    ck_assert_int_eq (cc_codec_pack (&message->base, CC_JOIN_MAX_MESSAGE_SIZE, &data, size_p), 0);
    return data;
}

//  Feeds JoinMessage{request_id, challenge} to join; returns the code.
static int
s_feed_challenge (cc_join_t *join, uint64_t request_id, Certchain__Challenge *challenge)
{
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = request_id;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE;
    message.challenge = challenge;
    size_t size = 0;
    uint8_t *data = s_pack (&message, &size);
    cc_reason_t reason;
    int rc = cc_join_receive (join, data, size, S_NOW + 10, &reason);
    free (data);
    return rc;
}

//  Feeds a JoinResult (wire code as given) to join; returns the code.
static int
s_feed_result (cc_join_t *join, uint64_t request_id, bool accepted, int code, const char *text,
               uint64_t retry_after_ms)
{
    Certchain__JoinResult result = CERTCHAIN__JOIN_RESULT__INIT;
    result.accepted = accepted;
    result.code = code;
    result.reason = (char *) text;
    result.retry_after_ms = retry_after_ms;
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = request_id;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESULT;
    message.result = &result;
    size_t size = 0;
    uint8_t *data = s_pack (&message, &size);
    cc_reason_t reason;
    int rc = cc_join_receive (join, data, size, S_NOW + 20, &reason);
    free (data);
    return rc;
}

//  A join that sent its request; *request_id_p gets the request's id.
static cc_join_t *
s_requested (cc_keypair_t *key, char *dir, uint64_t *request_id_p)
{
    cc_join_t *join = cc_join_new (key, FIXTURE_CHAIN, dir, 2);
    ck_assert_ptr_nonnull (join);
    uint8_t *data = NULL;
    size_t size = 0;
    cc_reason_t reason;
    ck_assert_int_eq (cc_join_request (join, S_NOW, &data, &size, &reason), 0);
    Certchain__JoinMessage *message = s_unpack (data, size);
    *request_id_p = message->request_id;
    s_message_free (&message);
    free (data);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_REQUESTED);
    return join;
}

//  --- Request ---------------------------------------------------------------------

START_TEST (test_request_signed)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    cc_join_t *join = cc_join_new (key, FIXTURE_CHAIN, dir, 0);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_START);
    ck_assert_ptr_null (cc_join_profile (join));

    uint8_t *data = NULL;
    size_t size = 0;
    cc_reason_t reason;
    ck_assert_int_eq (cc_join_request (join, S_NOW, &data, &size, &reason), 0);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_REQUESTED);
    ck_assert_ptr_nonnull (cc_join_profile (join));
    ck_assert_uint_ge (cc_join_profile (join)->cpu_cores, 1);

    Certchain__JoinMessage *message = s_unpack (data, size);
    ck_assert_int_eq (message->kind_case, CERTCHAIN__JOIN_MESSAGE__KIND_REQUEST);
    ck_assert_uint_ne (message->request_id, 0);
    //  Signed by the candidate for this chain (domain JOIN), and only so.
    ck_assert (cc_bytes_sized (message->request->signer, CC_PUBKEY_SIZE));
    ck_assert_mem_eq (message->request->signer.data, cc_keypair_public (key), CC_PUBKEY_SIZE);
    ProtobufCMessage *body = NULL;
    ck_assert_int_eq (cc_signed_open (message->request, CC_DOMAIN_JOIN, "another-chain",
                                      &certchain__join_request__descriptor, 4096, &body),
                      CC_E_BAD_SIGNATURE);
    cc_codec_free (&body);
    ck_assert_int_eq (cc_signed_open (message->request, CC_DOMAIN_TX, FIXTURE_CHAIN,
                                      &certchain__join_request__descriptor, 4096, &body),
                      CC_E_BAD_SIGNATURE);
    cc_codec_free (&body);
    ck_assert_int_eq (cc_signed_open (message->request, CC_DOMAIN_JOIN, FIXTURE_CHAIN,
                                      &certchain__join_request__descriptor, 4096, &body),
                      0);
    Certchain__JoinRequest *request = (Certchain__JoinRequest *) body;
    ck_assert_mem_eq (request->node.data, cc_keypair_public (key), CC_PUBKEY_SIZE);
    ck_assert_uint_eq (request->time_ms, S_NOW);
    ck_assert_ptr_nonnull (request->profile);
    ck_assert_uint_eq (request->profile->cpu_cores, cc_join_profile (join)->cpu_cores);
    ck_assert_uint_gt (request->profile->disk_total_bytes, 0);
    cc_codec_free (&body);
    s_message_free (&message);
    free (data);

    //  A second request from the same machine is refused.
    ck_assert_int_eq (cc_join_request (join, S_NOW, &data, &size, &reason), CC_E_INVALID_ARG);
    ck_assert_ptr_null (data);

    cc_join_destroy (&join);
    ck_assert_ptr_null (join);
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_request_unmeasurable)
{
    //  A data directory that does not exist: the profile cannot be measured.
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    cc_join_t *join = cc_join_new (key, FIXTURE_CHAIN, "/nonexistent/certchain/data", 0);
    uint8_t *data = NULL;
    size_t size = 0;
    cc_reason_t reason;
    ck_assert_int_eq (cc_join_request (join, S_NOW, &data, &size, &reason), CC_E_IO);
    ck_assert_ptr_null (data);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_IO);
    ck_assert (!cc_join_result (join)->from_ca);
    ck_assert (!cc_join_result (join)->accepted);
    cc_join_destroy (&join);
    cc_keypair_destroy (&key);
}
END_TEST

//  --- The whole exchange, the CA played in-process ------------------------------------

//  The CA's half after the answer: opens and verifies it, returns the
//  verifier's code.
static int
s_ca_verify (const uint8_t *data, size_t size, const Certchain__Challenge *challenge,
             uint64_t expected_id, cc_challenge_verdict_t *verdict)
{
    Certchain__JoinMessage *message = s_unpack (data, size);
    ck_assert_int_eq (message->kind_case, CERTCHAIN__JOIN_MESSAGE__KIND_RESPONSE);
    ck_assert_uint_eq (message->request_id, expected_id);
    Certchain__ChallengeResponse *response = NULL;
    cc_reason_t reason;
    int rc = cc_challenge_open_response (message->response, FIXTURE_CHAIN, challenge, &response,
                                         &reason);
    if (rc == 0)
        rc = cc_challenge_verify (challenge, response, challenge->node.data, S_NOW + 100,
                                  verdict, &reason);
    cc_challenge_response_free (&response);
    s_message_free (&message);
    return rc;
}

//  Runs request, challenge, solve (inline or in the background), answer
//  and an accepted result.
static void
s_exchange (bool background)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);

    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_CHALLENGED);
    ck_assert (cc_bytes_equal (cc_join_challenge (join)->id, challenge->id));
    ck_assert_ptr_null (cc_join_response (join));

    cc_reason_t reason;
    uint8_t *data = NULL;
    size_t size = 0;
    if (background) {
        ck_assert_ptr_null (cc_join_solver_socket (join));
        ck_assert_int_eq (cc_join_solve_start (join), 0);
        ck_assert_int_eq (cc_join_state (join), CC_JOIN_SOLVING);
        //  Nothing else moves while the solve runs.
        ck_assert_int_eq (cc_join_answer (join, S_NOW, &data, &size, &reason), CC_E_INVALID_ARG);
        ck_assert_int_eq (cc_join_solve (join, &reason), CC_E_INVALID_ARG);
        ck_assert_int_eq (cc_join_solve_start (join), CC_E_INVALID_ARG);
        zsock_t *socket = cc_join_solver_socket (join);
        ck_assert_ptr_nonnull (socket);
        zpoller_t *poller = zpoller_new (socket, NULL);
        ck_assert_ptr_eq (zpoller_wait (poller, 60000), socket);
        zpoller_destroy (&poller);
        ck_assert_int_eq (cc_join_solve_finish (join, &reason), 0);
        ck_assert_ptr_null (cc_join_solver_socket (join));
    }
    else {
        ck_assert_int_eq (cc_join_solve_finish (join, &reason), CC_E_INVALID_ARG);
        ck_assert_int_eq (cc_join_solve (join, &reason), 0);
    }
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_SOLVED);
    ck_assert_ptr_nonnull (cc_join_response (join));
    ck_assert_uint_eq (cc_join_response (join)->n_answers, params.packets);
    ck_assert_uint_ge (cc_join_result (join)->threads, 1);
    ck_assert_uint_ge (cc_join_result (join)->hashes, params.packets);

    ck_assert_int_eq (cc_join_answer (join, S_NOW + 50, &data, &size, &reason), 0);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_ANSWERED);
    cc_challenge_verdict_t verdict;
    ck_assert_int_eq (s_ca_verify (data, size, challenge, request_id + 1, &verdict), 0);
    ck_assert_uint_eq (verdict.argon2_checked, params.packets);
    free (data);

    //  The CA's acceptance.
    Certchain__ChallengeScore score = CERTCHAIN__CHALLENGE_SCORE__INIT;
    score.hashes_per_second = 12345.0;
    score.argon2_mib_per_second = 67.5;
    score.elapsed_ms = 100;
    uint8_t certify [CC_HASH_SIZE];
    memset (certify, 0xab, sizeof (certify));
    Certchain__JoinResult result = CERTCHAIN__JOIN_RESULT__INIT;
    result.accepted = true;
    result.reason = (char *) "certified";
    result.certify_tx = cc_bytes_view (certify, sizeof (certify));
    result.score = &score;
    result.valid_until = 1001;
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = request_id + 1;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESULT;
    message.result = &result;
    data = s_pack (&message, &size);
    ck_assert_int_eq (cc_join_receive (join, data, size, S_NOW + 500, &reason), 0);
    free (data);

    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    const cc_join_result_t *outcome = cc_join_result (join);
    ck_assert (outcome->accepted);
    ck_assert_int_eq (outcome->code, 0);
    ck_assert (outcome->from_ca);
    ck_assert_str_eq (outcome->reason, "certified");
    ck_assert_mem_eq (outcome->certify_tx, certify, CC_HASH_SIZE);
    ck_assert_uint_eq (outcome->valid_until, 1001);
    ck_assert_double_eq (outcome->hashes_per_second, 12345.0);
    ck_assert_double_eq (outcome->argon2_mib_per_second, 67.5);
    ck_assert_uint_eq (outcome->score_elapsed_ms, 100);
    ck_assert_uint_eq (outcome->elapsed_ms, 500);
    //  The candidate's own figures survive the CA's result.
    ck_assert_uint_ge (outcome->threads, 1);

    //  Once done, nothing moves it again.
    ck_assert_int_eq (s_feed_result (join, request_id + 1, false, 81, "late", 0),
                      CC_E_UNSUPPORTED);
    ck_assert (cc_join_result (join)->accepted);
    cc_join_fail (join, S_NOW, CC_E_TIMEOUT, "too late");
    ck_assert (cc_join_result (join)->accepted);

    cc_challenge_free (&challenge);
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}

START_TEST (test_exchange_inline)
{
    s_exchange (false);
}
END_TEST

START_TEST (test_exchange_background)
{
    s_exchange (true);
}
END_TEST

//  --- Answers the CA refuses --------------------------------------------------------

START_TEST (test_answer_signed_by_other_key_refused)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    cc_keypair_t *other = fixture_keypair (S_OTHER);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    Certchain__ChallengeResponse *response = NULL;
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 2, &response, NULL),
                      0);
    uint8_t *data = NULL;
    size_t size = 0;
    cc_challenge_verdict_t verdict;
    //  Honest answers signed by an outsider: refused as another node's.
    ck_assert_int_eq (cc_join_pack_response (other, FIXTURE_CHAIN, 7, response, &data, &size), 0);
    ck_assert_int_eq (s_ca_verify (data, size, challenge, 7, &verdict), CC_E_WRONG_NODE_KEY);
    free (data);
    //  The same answers signed by the candidate pass.
    ck_assert_int_eq (cc_join_pack_response (key, FIXTURE_CHAIN, 7, response, &data, &size), 0);
    ck_assert_int_eq (s_ca_verify (data, size, challenge, 7, &verdict), 0);
    free (data);
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&other);
    cc_keypair_destroy (&key);
}
END_TEST

//  --- Refusals and failures seen by the candidate ------------------------------------------

START_TEST (test_refused_at_request)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);
    //  The CA refuses before any challenge (wire code positive).
    ck_assert_int_eq (s_feed_result (join, request_id, false, 87,
                                     "profile below policy: cpu_cores 2 < 4", 10000),
                      0);
    const cc_join_result_t *result = cc_join_result (join);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert (!result->accepted);
    ck_assert_int_eq (result->code, CC_E_PROFILE_BELOW_POLICY);
    ck_assert (result->from_ca);
    ck_assert_str_eq (result->reason, "profile below policy: cpu_cores 2 < 4");
    ck_assert_uint_eq (result->retry_after_ms, 10000);
    ck_assert_uint_eq (result->elapsed_ms, 20);
    cc_join_destroy (&join);

    //  A negative code is read the same way.
    join = s_requested (key, dir, &request_id);
    ck_assert_int_eq (s_feed_result (join, request_id, false, CC_E_RATE_LIMITED, "", 2500), 0);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_RATE_LIMITED);
    ck_assert_str_eq (cc_join_result (join)->reason, cc_error_message (CC_E_RATE_LIMITED));
    ck_assert_uint_eq (cc_join_result (join)->retry_after_ms, 2500);
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_refused_after_answer)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    cc_reason_t reason;
    ck_assert_int_eq (cc_join_solve (join, &reason), 0);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_join_answer (join, S_NOW, &data, &size, &reason), 0);
    free (data);
    //  The result for the request itself no longer fits: the answer's id does.
    ck_assert_int_eq (s_feed_result (join, request_id, false, 81, "x", 0), CC_E_STALE);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_ANSWERED);
    ck_assert_int_eq (s_feed_result (join, request_id + 1, false, 81,
                                     "proof of work wrong at packet 3", 10000),
                      0);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_POW_INVALID);
    ck_assert_str_eq (cc_join_result (join)->reason, "proof of work wrong at packet 3");
    cc_challenge_free (&challenge);
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_error_reply)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);
    //  The CA could not read a message: an Error with request id 0.
    Certchain__Error error;
    cc_rpc_error_set (&error, CC_E_MALFORMED, "expected a JoinMessage");
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_ERROR;
    message.error = &error;
    size_t size = 0;
    uint8_t *data = s_pack (&message, &size);
    cc_reason_t reason;
    ck_assert_int_eq (cc_join_receive (join, data, size, S_NOW, &reason), 0);
    free (data);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_MALFORMED);
    ck_assert (cc_join_result (join)->from_ca);
    ck_assert_str_eq (cc_join_result (join)->reason, "expected a JoinMessage");
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_challenge_for_other_key_refused)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    cc_keypair_t *other = fixture_keypair (S_OTHER);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge =
        cc_challenge_issue (&params, cc_keypair_public (other), S_NOW);
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_WRONG_NODE_KEY);
    ck_assert (!cc_join_result (join)->from_ca);
    ck_assert_ptr_null (cc_join_challenge (join));
    cc_challenge_free (&challenge);
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&other);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_malformed_challenge_refused)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    //  A difficulty no machine finishes: the candidate does not even try.
    challenge->difficulty_bits = CC_CHALLENGE_MAX_DIFFICULTY + 1;
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_BAD_FIELD);
    ck_assert (!cc_join_result (join)->from_ca);
    cc_challenge_free (&challenge);
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_solve_runs_out_of_time)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);
    //  1 ms to do 64 Argon2 evaluations of 16 MiB: the solver gives up.
    cc_challenge_params_t params = s_small_params ();
    params.packets = 64;
    params.argon2_memory_kib = 16 * 1024;
    params.deadline_ms = 1;
    Certchain__Challenge *challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    cc_reason_t reason;
    ck_assert_int_eq (cc_join_solve (join, &reason), CC_E_TIMEOUT);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_TIMEOUT);
    ck_assert (!cc_join_result (join)->from_ca);
    ck_assert_ptr_null (cc_join_response (join));
    cc_challenge_free (&challenge);
    cc_join_destroy (&join);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_ignored_messages)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    cc_reason_t reason;
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);

    //  Before the request, nothing from a CA fits.
    cc_join_t *join = cc_join_new (key, FIXTURE_CHAIN, dir, 2);
    ck_assert_int_eq (s_feed_result (join, 1, false, 87, "x", 0), CC_E_UNSUPPORTED);
    ck_assert_int_eq (s_feed_challenge (join, 1, challenge), CC_E_UNSUPPORTED);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_START);
    cc_join_destroy (&join);

    uint64_t request_id = 0;
    join = s_requested (key, dir, &request_id);
    //  Junk and oversized input.
    const uint8_t junk [] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    ck_assert_int_eq (cc_join_receive (join, junk, sizeof (junk), S_NOW, &reason),
                      CC_E_MALFORMED);
    uint8_t *big = (uint8_t *) calloc (1, CC_JOIN_MAX_MESSAGE_SIZE + 1);
    ck_assert_int_eq (cc_join_receive (join, big, CC_JOIN_MAX_MESSAGE_SIZE + 1, S_NOW, &reason),
                      CC_E_OVERSIZE);
    free (big);
    //  Another request's challenge and result.
    ck_assert_int_eq (s_feed_challenge (join, request_id + 2, challenge), CC_E_STALE);
    ck_assert_int_eq (s_feed_result (join, request_id + 1, false, 87, "x", 0), CC_E_STALE);
    //  Kinds a CA never sends.
    Certchain__Signed envelope = CERTCHAIN__SIGNED__INIT;
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = request_id;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESPONSE;
    message.response = &envelope;
    size_t size = 0;
    uint8_t *data = s_pack (&message, &size);
    ck_assert_int_eq (cc_join_receive (join, data, size, S_NOW, &reason), CC_E_UNSUPPORTED);
    free (data);
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND__NOT_SET;
    data = s_pack (&message, &size);
    ck_assert_int_eq (cc_join_receive (join, data, size, S_NOW, &reason), CC_E_UNSUPPORTED);
    free (data);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_REQUESTED);

    //  A second challenge once one is held is refused.
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), CC_E_UNSUPPORTED);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_CHALLENGED);
    //  A result before the answer went out does not fit either.
    ck_assert_int_eq (s_feed_result (join, request_id, true, 0, "", 0), CC_E_UNSUPPORTED);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_CHALLENGED);
    cc_join_destroy (&join);

    cc_challenge_free (&challenge);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_fail)
{
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    uint64_t request_id = 0;
    cc_join_t *join = s_requested (key, dir, &request_id);
    cc_join_fail (join, S_NOW + 3000, CC_E_TIMEOUT, "no answer in %d ms", 3000);
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_TIMEOUT);
    ck_assert_str_eq (cc_join_result (join)->reason, "no answer in 3000 ms");
    ck_assert_uint_eq (cc_join_result (join)->elapsed_ms, 3000);
    //  The first outcome stays.
    cc_join_fail (join, S_NOW, CC_E_IO, "later");
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_TIMEOUT);
    cc_join_destroy (&join);

    //  Failing while a background solve runs waits for it and ends the join.
    join = s_requested (key, dir, &request_id);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    ck_assert_int_eq (cc_join_solve_start (join), 0);
    cc_join_fail (join, S_NOW, CC_E_IO, "connection lost");
    ck_assert_int_eq (cc_join_state (join), CC_JOIN_DONE);
    ck_assert_int_eq (cc_join_result (join)->code, CC_E_IO);
    ck_assert_ptr_null (cc_join_solver_socket (join));
    ck_assert_ptr_null (cc_join_response (join));
    cc_join_destroy (&join);

    //  Destroying while a background solve runs is safe too.
    join = s_requested (key, dir, &request_id);
    ck_assert_int_eq (s_feed_challenge (join, request_id, challenge), 0);
    ck_assert_int_eq (cc_join_solve_start (join), 0);
    cc_join_destroy (&join);
    ck_assert_ptr_null (join);

    cc_challenge_free (&challenge);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_result_read_shapes)
{
    cc_join_result_t result;
    Certchain__JoinResult answer = CERTCHAIN__JOIN_RESULT__INIT;
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESULT;
    message.result = &answer;

    //  Accepted, no reason, no score: defaults filled, a stray code ignored.
    answer.accepted = true;
    answer.code = 81;
    ck_assert_int_eq (cc_join_result_read (&message, &result), 0);
    ck_assert (result.accepted);
    ck_assert_int_eq (result.code, 0);
    ck_assert_str_eq (result.reason, "accepted");
    ck_assert_double_eq (result.hashes_per_second, 0.0);

    //  A certify hash of the wrong size is not taken.
    uint8_t short_hash [5] = {1, 2, 3, 4, 5};
    answer.certify_tx = cc_bytes_view (short_hash, sizeof (short_hash));
    ck_assert_int_eq (cc_join_result_read (&message, &result), 0);
    uint8_t zero [CC_HASH_SIZE] = {0};
    ck_assert_mem_eq (result.certify_tx, zero, CC_HASH_SIZE);

    //  Refused without a code: still a refusal.
    answer.accepted = false;
    answer.code = 0;
    ck_assert_int_eq (cc_join_result_read (&message, &result), 0);
    ck_assert (!result.accepted);
    ck_assert_int_eq (result.code, CC_E_INTERNAL);

    //  Refused, each refusal code round-trips by name.
    answer.code = 88;
    answer.retry_after_ms = 42;
    answer.reason = (char *) "rate limited: 7 requests in the last minute";
    ck_assert_int_eq (cc_join_result_read (&message, &result), 0);
    ck_assert_int_eq (result.code, CC_E_RATE_LIMITED);
    ck_assert_str_eq (cc_error_name (result.code), "RATE_LIMITED");
    ck_assert_uint_eq (result.retry_after_ms, 42);

    //  An Error without a message gets the code's sentence.
    Certchain__Error error;
    cc_rpc_error_set (&error, CC_E_BUSY, NULL);
    error.message = (char *) "";
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_ERROR;
    message.error = &error;
    ck_assert_int_eq (cc_join_result_read (&message, &result), 0);
    ck_assert_int_eq (result.code, CC_E_BUSY);
    ck_assert_str_eq (result.reason, cc_error_message (CC_E_BUSY));
    ck_assert (result.from_ca);

    //  Other kinds are not results.
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE;
    message.challenge = NULL;
    ck_assert_int_eq (cc_join_result_read (&message, &result), CC_E_UNSUPPORTED);
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESULT;
    message.result = NULL;
    ck_assert_int_eq (cc_join_result_read (&message, &result), CC_E_UNSUPPORTED);
}
END_TEST

//  --- Blocking run against a stub CA ---------------------------------------------

//  A minimal CA on a ROUTER: refuses (when told to) or challenges, then
//  verifies the answer and accepts. Args: "refuse" or "accept".
static void
s_stub_ca (zsock_t *pipe, void *argument)
{
    bool refuse = streq ((const char *) argument, "refuse");
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "%d", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    Certchain__Challenge *challenge = NULL;
    while (true) {
        void *which = zpoller_wait (poller, 10000);
        if (which != router)
            break;
        zmsg_t *message = zmsg_recv (router);
        zframe_t *identity = NULL, *type = NULL, *payload = NULL;
        ck_assert_int_eq (cc_rpc_split (message, true, &identity, &type, &payload), 0);
        Certchain__JoinMessage *in = s_unpack (zframe_data (payload), zframe_size (payload));
        Certchain__JoinMessage out = CERTCHAIN__JOIN_MESSAGE__INIT;
        out.request_id = in->request_id;
        Certchain__JoinResult result = CERTCHAIN__JOIN_RESULT__INIT;
        if (in->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_REQUEST && refuse) {
            out.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESULT;
            out.result = &result;
            result.code = 87;
            result.reason = (char *) "profile below policy: memory_mb 1 < 2";
            result.retry_after_ms = 10000;
        }
        else
        if (in->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_REQUEST) {
            cc_challenge_params_t params = s_small_params ();
            challenge = cc_challenge_issue (&params, in->request->signer.data,
                                            (uint64_t) zclock_time ());
            out.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE;
            out.challenge = challenge;
        }
        else {
            ck_assert_int_eq (in->kind_case, CERTCHAIN__JOIN_MESSAGE__KIND_RESPONSE);
            Certchain__ChallengeResponse *response = NULL;
            cc_reason_t reason;
            int rc = cc_challenge_open_response (in->response, FIXTURE_CHAIN, challenge,
                                                 &response, &reason);
            if (rc == 0)
                rc = cc_challenge_verify (challenge, response, challenge->node.data,
                                          (uint64_t) zclock_time (), NULL, &reason);
            cc_challenge_response_free (&response);
            out.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESULT;
            out.result = &result;
            result.accepted = rc == 0;
            result.code = -rc;
            result.reason = rc == 0 ? (char *) "certified" : reason.text;
            result.valid_until = 77;
        }
        cc_rpc_send (router, identity, CC_FRAME_JOIN, &out.base);
        s_message_free (&in);
        zmsg_destroy (&message);
    }
    cc_challenge_free (&challenge);
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

//  Runs cc_join_run against a stub CA in mode; returns the code.
static int
s_run_against_stub (const char *mode, cc_join_result_t *result)
{
    zactor_t *stub = zactor_new (s_stub_ca, (void *) mode);
    char *port = zstr_recv (stub);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%s", port);
    zstr_free (&port);
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    int rc = cc_join_run (endpoint, key, FIXTURE_CHAIN, dir, 60000, 0, result);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
    zactor_destroy (&stub);
    return rc;
}

START_TEST (test_run_accepted)
{
    cc_join_result_t result;
    ck_assert_int_eq (s_run_against_stub ("accept", &result), 0);
    ck_assert (result.accepted);
    ck_assert_str_eq (result.reason, "certified");
    ck_assert_uint_eq (result.valid_until, 77);
    ck_assert_uint_ge (result.threads, 1);
}
END_TEST

START_TEST (test_run_refused)
{
    cc_join_result_t result;
    ck_assert_int_eq (s_run_against_stub ("refuse", &result), CC_E_PROFILE_BELOW_POLICY);
    ck_assert (!result.accepted);
    ck_assert (result.from_ca);
    ck_assert_int_eq (result.code, CC_E_PROFILE_BELOW_POLICY);
    ck_assert_str_eq (result.reason, "profile below policy: memory_mb 1 < 2");
    ck_assert_uint_eq (result.retry_after_ms, 10000);
}
END_TEST

START_TEST (test_run_timeout)
{
    //  Nobody listens there: the run ends by its own clock.
    int port = 0;
    zsock_t *probe = zsock_new (ZMQ_ROUTER);
    port = zsock_bind (probe, "tcp://127.0.0.1:*");
    zsock_destroy (&probe);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    cc_keypair_t *key = fixture_keypair (S_CANDIDATE);
    char *dir = fixture_tempdir ("join");
    cc_join_result_t result;
    ck_assert_int_eq (cc_join_run (endpoint, key, FIXTURE_CHAIN, dir, 300, 0, &result),
                      CC_E_TIMEOUT);
    ck_assert (!result.accepted);
    ck_assert (!result.from_ca);
    ck_assert_int_eq (result.code, CC_E_TIMEOUT);
    ck_assert_ptr_nonnull (strstr (result.reason, "requested"));
    //  An endpoint that is not one.
    ck_assert_int_eq (cc_join_run ("not-an-endpoint", key, FIXTURE_CHAIN, dir, 300, 0, &result),
                      CC_E_CONFIG);
    ck_assert_int_eq (result.code, CC_E_CONFIG);
    fixture_rmtree (dir);
    free (dir);
    cc_keypair_destroy (&key);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("join");
    TCase *tcase = tcase_create ("core");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_request_signed);
    tcase_add_test (tcase, test_request_unmeasurable);
    tcase_add_test (tcase, test_exchange_inline);
    tcase_add_test (tcase, test_exchange_background);
    tcase_add_test (tcase, test_answer_signed_by_other_key_refused);
    tcase_add_test (tcase, test_refused_at_request);
    tcase_add_test (tcase, test_refused_after_answer);
    tcase_add_test (tcase, test_error_reply);
    tcase_add_test (tcase, test_challenge_for_other_key_refused);
    tcase_add_test (tcase, test_malformed_challenge_refused);
    tcase_add_test (tcase, test_solve_runs_out_of_time);
    tcase_add_test (tcase, test_ignored_messages);
    tcase_add_test (tcase, test_fail);
    tcase_add_test (tcase, test_result_read_shapes);
    tcase_add_test (tcase, test_run_accepted);
    tcase_add_test (tcase, test_run_refused);
    tcase_add_test (tcase, test_run_timeout);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
