/*  =========================================================================
    certchain-joinforge - a test-only candidate for the join protocol, able
    to lie in every way the CA must catch, and to join many times at once

    test_ca.py drives the real certchain-ca with it. An honest join goes
    through common/join's blocking cc_join_run, exactly as `certchain join`
    does; the dishonest ones are assembled from common/join's building
    blocks (cc_join_pack_request, cc_join_pack_response,
    cc_join_result_read) so that only the lie differs from the honest path:

      join --wrong-nonce      one packet's nonce no longer meets the
                              difficulty (POW_INVALID at that packet)
      join --forge-x          one packet's x replaced by other bytes with a
                              nonce that meets the difficulty for them: only
                              the Argon2 sample can catch it
      join --answer-twice     the same signed answer sent again
      join --other-challenge  honest answers naming another challenge id
      join --sign-with FILE   honest answers signed with another key
      join --late MS          answers held back MS before sending
      join --pause            prints the challenge, then waits for a line
                              on stdin before answering (a test restarts
                              the CA meanwhile)
      join --time-offset MS   the request's time moved by MS (may be < 0)
      join --request-only     stops after the CA's answer to the request
    A forged candidate always answers, whatever the deadline: it solves a
    copy of the challenge whose deadline it moved, so the CA's own clock
    is the only judge (the honest solver gives up by itself instead).

    Other commands: keygen (a key pair), genesis (a one-CA genesis), audit
    (the CA's audit log), status (the CA's GetStatus), and bench (N
    candidates at once: all request and solve, then all answer at the same
    moment, timing the CA's verification).

    Every command prints JSON on stdout, one object a line, and exits 0, or
    prints one line on stderr and exits 1 (2 for bad usage).
    =========================================================================
*/

#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"
#include "codec.h"
#include "crypto.h"
#include "genesis.h"
#include "join.h"
#include "profile.h"
#include "rpc.h"

#define S_TIMEOUT_MS 30000
#define S_MAX_CANDIDATES 1000

//  --- Options ---------------------------------------------------------------

typedef struct {
    const char *command;        //  the command
    const char *ca;             //  CA join endpoint
    const char *key;            //  candidate key file
    const char *chain;          //  chain id
    const char *data;           //  data directory for the profile
    const char *out;            //  output file (keygen, genesis)
    const char *ca_pub;         //  CA public key hex (genesis)
    const char *sign_with;      //  key file signing the answers
    const char *node;           //  node filter (audit)
    bool produces;              //  genesis: the CA produces blocks
    bool wrong_nonce;           //  lie: a bad nonce
    bool forge_x;               //  lie: a forged Argon2 output
    bool answer_twice;          //  lie: the same answer again
    bool other_challenge;       //  lie: another challenge id
    bool pause;                 //  wait for stdin before answering
    bool request_only;          //  stop after the request's answer
    int64_t time_offset_ms;     //  request time shift
    uint64_t late_ms;           //  delay before answering
    uint64_t validity;          //  genesis cert_validity (0: default)
    uint64_t from;              //  audit: first seq
    uint64_t max;               //  audit: most entries
    uint64_t count;             //  bench: candidates
    int timeout_ms;             //  wait for each answer
} s_options_t;

static void
s_usage (void)
{
    fprintf (stderr,
             "usage: certchain-joinforge COMMAND [OPTIONS]\n"
             "  keygen --out FILE\n"
             "  genesis --out FILE --chain ID --ca-pub HEX [--produces] [--validity N]\n"
             "  join --ca EP --key FILE --chain ID [--data DIR] [--timeout MS]\n"
             "       [--wrong-nonce | --forge-x | --answer-twice | --other-challenge\n"
             "        | --sign-with FILE]\n"
             "       [--late MS] [--pause] [--time-offset MS] [--request-only]\n"
             "  audit --ca EP [--from SEQ] [--max N] [--node HEX]\n"
             "  status --ca EP\n"
             "  bench --ca EP --chain ID --count N [--data DIR] [--timeout MS]\n");
}

static int
s_parse (int argc, char **argv, s_options_t *options)
{
    memset (options, 0, sizeof (*options));
    options->data = ".";
    options->timeout_ms = S_TIMEOUT_MS;
    if (argc < 2)
        return -1;
    options->command = argv [1];
    for (int index = 2; index < argc; index++) {
        const char *flag = argv [index];
        const char *value = index + 1 < argc ? argv [index + 1] : NULL;
        bool takes = true;
        if (streq (flag, "--ca")) options->ca = value;
        else if (streq (flag, "--key")) options->key = value;
        else if (streq (flag, "--chain")) options->chain = value;
        else if (streq (flag, "--data")) options->data = value;
        else if (streq (flag, "--out")) options->out = value;
        else if (streq (flag, "--ca-pub")) options->ca_pub = value;
        else if (streq (flag, "--sign-with")) options->sign_with = value;
        else if (streq (flag, "--node")) options->node = value;
        else if (streq (flag, "--time-offset")) options->time_offset_ms = value ? atoll (value) : 0;
        else if (streq (flag, "--late")) options->late_ms = value ? strtoull (value, NULL, 10) : 0;
        else if (streq (flag, "--validity")) options->validity = value ? strtoull (value, NULL, 10) : 0;
        else if (streq (flag, "--from")) options->from = value ? strtoull (value, NULL, 10) : 0;
        else if (streq (flag, "--max")) options->max = value ? strtoull (value, NULL, 10) : 0;
        else if (streq (flag, "--count")) options->count = value ? strtoull (value, NULL, 10) : 0;
        else if (streq (flag, "--timeout")) options->timeout_ms = value ? atoi (value) : 0;
        else {
            takes = false;
            if (streq (flag, "--produces")) options->produces = true;
            else if (streq (flag, "--wrong-nonce")) options->wrong_nonce = true;
            else if (streq (flag, "--forge-x")) options->forge_x = true;
            else if (streq (flag, "--answer-twice")) options->answer_twice = true;
            else if (streq (flag, "--other-challenge")) options->other_challenge = true;
            else if (streq (flag, "--pause")) options->pause = true;
            else if (streq (flag, "--request-only")) options->request_only = true;
            else {
                fprintf (stderr, "joinforge: unknown option '%s'\n", flag);
                return -1;
            }
        }
        if (takes) {
            if (!value) {
                fprintf (stderr, "joinforge: %s needs a value\n", flag);
                return -1;
            }
            index++;
        }
    }
    return 0;
}

//  --- JSON output -----------------------------------------------------------------

static void
s_json_string (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const unsigned char *c = (const unsigned char *) (text ? text : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf (out, "\\%c", *c);
        else
        if (*c < 0x20)
            fprintf (out, "\\u%04x", *c);
        else
            fputc (*c, out);
    }
    fputc ('"', out);
}

static void
s_json_hex (FILE *out, const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (2 * size + 1);
    if (!text)
        return;
    cc_hex_encode (data, size, text);
    s_json_string (out, text);
    free (text);
}

//  Prints one outcome line: {"stage": ..., "accepted": ..., ...}.
static void
s_print_result (const char *stage, const cc_join_result_t *result, const uint8_t *challenge_id,
                size_t id_size)
{
    printf ("{\"stage\": ");
    s_json_string (stdout, stage);
    printf (", \"accepted\": %s, \"code\": ", result->accepted ? "true" : "false");
    s_json_string (stdout, cc_error_name (result->code));
    printf (", \"from_ca\": %s, \"reason\": ", result->from_ca ? "true" : "false");
    s_json_string (stdout, result->reason);
    printf (", \"retry_after_ms\": %" PRIu64 ", \"valid_until\": %" PRIu64
            ", \"hashes_per_second\": %.1f, \"argon2_mib_per_second\": %.2f"
            ", \"score_elapsed_ms\": %" PRIu64 ", \"elapsed_ms\": %" PRIu64
            ", \"solve_ms\": %" PRIu64 ", \"certify_tx\": ",
            result->retry_after_ms, result->valid_until, result->hashes_per_second,
            result->argon2_mib_per_second, result->score_elapsed_ms, result->elapsed_ms,
            result->solve_ms);
    uint8_t zero [CC_HASH_SIZE] = {0};
    if (memcmp (result->certify_tx, zero, CC_HASH_SIZE) != 0)
        s_json_hex (stdout, result->certify_tx, CC_HASH_SIZE);
    else
        printf ("null");
    printf (", \"challenge_id\": ");
    if (challenge_id && id_size)
        s_json_hex (stdout, challenge_id, id_size);
    else
        printf ("null");
    printf ("}\n");
    fflush (stdout);
}

static int
s_fail (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_fail (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "joinforge: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    return 1;
}

//  --- Wire helpers -----------------------------------------------------------------

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return NULL;
    cc_rpc_socket_policy (dealer, CC_JOIN_MAX_MESSAGE_SIZE * 4);
    if (zsock_connect (dealer, "%s", endpoint) != 0)
        zsock_destroy (&dealer);
    return dealer;
}

static int
s_send (zsock_t *dealer, uint8_t *data, size_t size)
{
    int rc = cc_rpc_send_bytes (dealer, NULL, CC_FRAME_JOIN, data, size);
    free (data);
    return rc;
}

//  Waits for the JoinMessage answering request_id. Caller frees it.
static Certchain__JoinMessage *
s_wait (zsock_t *dealer, uint64_t request_id, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int64_t deadline = zclock_mono () + timeout_ms;
    Certchain__JoinMessage *found = NULL;
    while (!found) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0 || !zpoller_wait (poller, (int) left))
            break;
        zmsg_t *message = zmsg_recv (dealer);
        zframe_t *type = NULL, *payload = NULL;
        if (message && cc_rpc_split (message, false, NULL, &type, &payload) == 0
            && cc_rpc_frame_is (type, CC_FRAME_JOIN)) {
            int code = 0;
            Certchain__JoinMessage *reply = (Certchain__JoinMessage *) cc_codec_unpack (
                &certchain__join_message__descriptor, zframe_data (payload),
                zframe_size (payload), CC_JOIN_MAX_MESSAGE_SIZE * 4, &code);
            if (reply && (reply->request_id == request_id || reply->request_id == 0))
                found = reply;
            else
                cc_codec_free ((ProtobufCMessage **) &reply);
        }
        zmsg_destroy (&message);
    }
    zpoller_destroy (&poller);
    return found;
}

static void
s_message_free (Certchain__JoinMessage **message_p)
{
    cc_codec_free ((ProtobufCMessage **) message_p);
}

//  --- keygen, genesis --------------------------------------------------------------------

static int
s_keygen (s_options_t *options)
{
    if (!options->out)
        return s_fail ("keygen needs --out FILE");
    cc_keypair_t *key = cc_keypair_new ();
    char public_path [4096];
    snprintf (public_path, sizeof (public_path), "%s.pub", options->out);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_keypair_save (key, options->out, public_path, &reason);
    if (rc == 0) {
        printf ("{\"public\": ");
        s_json_string (stdout, cc_keypair_public_hex (key));
        printf ("}\n");
    }
    cc_keypair_destroy (&key);
    return rc == 0 ? 0 : s_fail ("%s", cc_reason_text (&reason));
}

static int
s_genesis (s_options_t *options)
{
    if (!options->out || !options->chain || !options->ca_pub)
        return s_fail ("genesis needs --out FILE --chain ID --ca-pub HEX");
    uint8_t pubkey [CC_PUBKEY_SIZE];
    if (cc_hex_decode (options->ca_pub, pubkey, CC_PUBKEY_SIZE) != 0)
        return s_fail ("--ca-pub: expected 64 hex characters");
    cc_genesis_t *genesis = cc_genesis_new (options->chain, (uint64_t) zclock_time ());
    cc_genesis_add_ca (genesis, pubkey, options->produces);
    if (options->validity)
        cc_genesis_params (genesis)->cert_validity = options->validity;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_genesis_save (genesis, options->out, &reason);
    cc_genesis_destroy (&genesis);
    if (rc != 0)
        return s_fail ("%s", cc_reason_text (&reason));
    printf ("{\"genesis\": ");
    s_json_string (stdout, options->out);
    printf ("}\n");
    return 0;
}

//  --- join -------------------------------------------------------------------------

//  Makes packet index's proof of work fail.
static void
s_break_nonce (Certchain__ChallengeResponse *response, const uint8_t *node, uint32_t bits,
               size_t index)
{
    Certchain__PacketAnswer *answer = response->answers [index];
    do
        answer->nonce++;
    while (cc_challenge_pow_valid (answer->x.data, node, answer->nonce, bits));
}

//  Replaces packet index's x and finds a nonce that holds for it.
static void
s_forge_x (Certchain__ChallengeResponse *response, const uint8_t *node, uint32_t bits,
           size_t index)
{
    Certchain__PacketAnswer *answer = response->answers [index];
    for (size_t byte = 0; byte < answer->x.len; byte++)
        answer->x.data [byte] ^= 0xa5;
    answer->nonce = 0;
    while (!cc_challenge_pow_valid (answer->x.data, node, answer->nonce, bits))
        answer->nonce++;
}

//  Sends packed bytes and prints the result that comes back for id.
static int
s_answer_and_print (zsock_t *dealer, uint8_t *data, size_t size, uint64_t id, const char *stage,
                    const Certchain__Challenge *challenge, int timeout_ms, uint64_t started)
{
    if (s_send (dealer, data, size) != 0)
        return s_fail ("cannot send the %s", stage);
    Certchain__JoinMessage *reply = s_wait (dealer, id, timeout_ms);
    if (!reply)
        return s_fail ("no result for the %s within %d ms", stage, timeout_ms);
    cc_join_result_t result;
    if (cc_join_result_read (reply, &result) != 0) {
        s_message_free (&reply);
        return s_fail ("the CA answered the %s with something else than a result", stage);
    }
    result.elapsed_ms = (uint64_t) zclock_time () - started;
    s_print_result (stage, &result, challenge->id.data, challenge->id.len);
    s_message_free (&reply);
    return 0;
}

static int
s_join_forged (s_options_t *options, cc_keypair_t *key)
{
    cc_keypair_t *signer = key;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (options->sign_with) {
        signer = cc_keypair_load (options->sign_with, &reason);
        if (!signer)
            return s_fail ("--sign-with %s: %s", options->sign_with, cc_reason_text (&reason));
    }
    Certchain__MachineProfile *profile = NULL;
    zsock_t *dealer = NULL;
    Certchain__JoinMessage *reply = NULL;
    Certchain__ChallengeResponse *response = NULL;
    int rc = 1;
    uint64_t started = (uint64_t) zclock_time ();
    if (cc_profile_measure (options->data, &profile, &reason) != 0) {
        s_fail ("profile: %s", cc_reason_text (&reason));
        goto done;
    }
    dealer = s_dealer (options->ca);
    if (!dealer) {
        s_fail ("cannot connect to %s", options->ca);
        goto done;
    }
    uint64_t request_id = 1 + (uint64_t) randombytes_random ();
    uint8_t *data = NULL;
    size_t size = 0;
    uint64_t time_ms = (uint64_t) ((int64_t) zclock_time () + options->time_offset_ms);
    if (cc_join_pack_request (key, options->chain, request_id, profile, time_ms, &data, &size) != 0
        || s_send (dealer, data, size) != 0) {
        s_fail ("cannot send the request");
        goto done;
    }
    reply = s_wait (dealer, request_id, options->timeout_ms);
    if (!reply) {
        s_fail ("no answer to the request within %d ms", options->timeout_ms);
        goto done;
    }
    if (reply->kind_case != CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE || !reply->challenge) {
        cc_join_result_t result;
        if (cc_join_result_read (reply, &result) != 0) {
            s_fail ("the CA answered the request with kind %d", (int) reply->kind_case);
            goto done;
        }
        result.elapsed_ms = (uint64_t) zclock_time () - started;
        s_print_result ("request", &result, NULL, 0);
        rc = 0;
        goto done;
    }
    Certchain__Challenge *challenge = reply->challenge;
    printf ("{\"stage\": \"challenged\", \"challenge_id\": ");
    s_json_hex (stdout, challenge->id.data, challenge->id.len);
    printf (", \"packets\": %zu, \"difficulty_bits\": %" PRIu32 ", \"deadline_ms\": %" PRIu64
            ", \"sample_size\": %" PRIu32 "}\n", challenge->n_seeds, challenge->difficulty_bits,
            challenge->deadline_ms - challenge->issued_ms, challenge->sample_size);
    fflush (stdout);
    if (options->request_only) {
        rc = 0;
        goto done;
    }
    //  Solve a copy whose deadline is out of the way: the CA judges time.
    uint64_t deadline = challenge->deadline_ms;
    challenge->deadline_ms = challenge->issued_ms + 600000;
    const uint8_t *node = cc_keypair_public (key);
    int solved = cc_challenge_solve (challenge, node, 0, &response, NULL);
    challenge->deadline_ms = deadline;
    if (solved != 0) {
        s_fail ("cannot solve: %s", cc_error_message (solved));
        goto done;
    }
    size_t packet = response->n_answers / 2;
    if (options->wrong_nonce)
        s_break_nonce (response, node, challenge->difficulty_bits, packet);
    if (options->forge_x)
        s_forge_x (response, node, challenge->difficulty_bits, packet);
    if (options->other_challenge && response->challenge_id.len > 0)
        response->challenge_id.data [0] ^= 0x01;
    if (options->late_ms)
        zclock_sleep ((int) options->late_ms);
    if (options->pause) {
        printf ("{\"stage\": \"paused\"}\n");
        fflush (stdout);
        char line [64];
        if (!fgets (line, sizeof (line), stdin)) {
            s_fail ("stdin closed while paused");
            goto done;
        }
    }
    uint64_t answer_id = request_id + 1;
    if (cc_join_pack_response (signer, options->chain, answer_id, response, &data, &size) != 0) {
        s_fail ("cannot pack the answer");
        goto done;
    }
    uint8_t *again = NULL;
    if (options->answer_twice) {
        again = (uint8_t *) malloc (size);
        if (again)
            memcpy (again, data, size);
    }
    size_t again_size = size;
    rc = s_answer_and_print (dealer, data, size, answer_id, "answer", challenge,
                             options->timeout_ms, started);
    if (rc == 0 && again) {
        //  The very same bytes, under a new request id of the transport.
        Certchain__JoinMessage *copy = (Certchain__JoinMessage *) cc_codec_unpack (
            &certchain__join_message__descriptor, again, again_size, CC_JOIN_MAX_MESSAGE_SIZE * 4,
            &(int) {0});
        free (again);
        again = NULL;
        if (copy) {
            copy->request_id = answer_id + 1;
            uint8_t *bytes = NULL;
            size_t length = 0;
            cc_codec_pack (&copy->base, CC_JOIN_MAX_MESSAGE_SIZE * 4, &bytes, &length);
            s_message_free (&copy);
            rc = s_answer_and_print (dealer, bytes, length, answer_id + 1, "second", challenge,
                                     options->timeout_ms, started);
        }
    }
    free (again);
done:
    cc_challenge_response_free (&response);
    s_message_free (&reply);
    zsock_destroy (&dealer);
    cc_profile_free (&profile);
    if (signer != key)
        cc_keypair_destroy (&signer);
    return rc;
}

static int
s_join (s_options_t *options)
{
    if (!options->ca || !options->key || !options->chain)
        return s_fail ("join needs --ca EP --key FILE --chain ID");
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_keypair_t *key = cc_keypair_load (options->key, &reason);
    if (!key)
        return s_fail ("--key %s: %s", options->key, cc_reason_text (&reason));
    bool forged = options->wrong_nonce || options->forge_x || options->answer_twice
                  || options->other_challenge || options->sign_with || options->late_ms || options->pause
                  || options->time_offset_ms || options->request_only;
    int rc = 0;
    if (forged)
        rc = s_join_forged (options, key);
    else {
        //  The honest path is the library's, as `certchain join` runs it.
        cc_join_result_t result;
        cc_join_run (options->ca, key, options->chain, options->data, options->timeout_ms, 0,
                     &result);
        s_print_result ("join", &result, NULL, 0);
    }
    cc_keypair_destroy (&key);
    return rc;
}

//  --- audit, status --------------------------------------------------------------------

static void
s_print_entry (const Certchain__AuditEntry *entry)
{
    const char *decisions [] = {"unknown", "refused", "challenged", "accepted"};
    unsigned decision = (unsigned) entry->decision < 4 ? (unsigned) entry->decision : 0;
    printf ("{\"seq\": %" PRIu64 ", \"time_ms\": %" PRIu64 ", \"decision\": \"%s\", \"node\": ",
            entry->seq, entry->time_ms, decisions [decision]);
    s_json_hex (stdout, entry->node.data, entry->node.len);
    printf (", \"code\": ");
    s_json_string (stdout, entry->name);
    printf (", \"reason\": ");
    s_json_string (stdout, entry->reason);
    printf (", \"source\": ");
    s_json_string (stdout, entry->source);
    printf (", \"challenge_id\": ");
    s_json_hex (stdout, entry->challenge_id.data, entry->challenge_id.len);
    printf (", \"certify_tx\": ");
    s_json_hex (stdout, entry->certify_tx.data, entry->certify_tx.len);
    printf (", \"valid_until\": %" PRIu64 ", \"verify_ms\": %.3f", entry->valid_until,
            entry->verify_ms);
    if (entry->score)
        printf (", \"hashes_per_second\": %.1f, \"argon2_mib_per_second\": %.2f, "
                "\"score_elapsed_ms\": %" PRIu64, entry->score->hashes_per_second,
                entry->score->argon2_mib_per_second, entry->score->elapsed_ms);
    if (entry->profile)
        printf (", \"cpu_cores\": %" PRIu32 ", \"memory_bytes\": %" PRIu64,
                entry->profile->cpu_cores, entry->profile->memory_bytes);
    printf ("}\n");
}

static int
s_audit (s_options_t *options)
{
    if (!options->ca)
        return s_fail ("audit needs --ca EP");
    uint8_t node [CC_PUBKEY_SIZE];
    Certchain__AuditQuery query = CERTCHAIN__AUDIT_QUERY__INIT;
    query.from_seq = options->from;
    query.max_count = (uint32_t) options->max;
    if (options->node) {
        if (cc_hex_decode (options->node, node, CC_PUBKEY_SIZE) != 0)
            return s_fail ("--node: expected 64 hex characters");
        query.node = cc_bytes_view (node, CC_PUBKEY_SIZE);
    }
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = 7;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_QUERY;
    message.audit_query = &query;
    zsock_t *dealer = s_dealer (options->ca);
    if (!dealer || cc_rpc_send (dealer, NULL, CC_FRAME_JOIN, &message.base) != 0) {
        zsock_destroy (&dealer);
        return s_fail ("cannot send to %s", options->ca);
    }
    Certchain__JoinMessage *reply = s_wait (dealer, 7, options->timeout_ms);
    zsock_destroy (&dealer);
    if (!reply || reply->kind_case != CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_LOG) {
        s_message_free (&reply);
        return s_fail ("no audit log from %s", options->ca);
    }
    const Certchain__AuditLog *log = reply->audit_log;
    for (size_t index = 0; index < log->n_entries; index++)
        s_print_entry (log->entries [index]);
    printf ("{\"next_seq\": %" PRIu64 ", \"last_seq\": %" PRIu64 ", \"count\": %zu}\n",
            log->next_seq, log->last_seq, log->n_entries);
    s_message_free (&reply);
    return 0;
}

static int
s_status (s_options_t *options)
{
    if (!options->ca)
        return s_fail ("status needs --ca EP");
    cc_rpc_client_t *client = cc_rpc_client_new (options->ca, CC_MAX_MESSAGE_SIZE);
    if (!client)
        return s_fail ("cannot connect to %s", options->ca);
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_rpc_client_call (client, &request, options->timeout_ms, &reply, &reason);
    cc_rpc_client_destroy (&client);
    if (rc != 0 || reply->kind_case != CERTCHAIN__REPLY__KIND_STATUS) {
        cc_rpc_reply_free (&reply);
        return s_fail ("status: %s", rc ? cc_reason_text (&reason) : "not a Status");
    }
    const Certchain__Status *status = reply->status;
    printf ("{\"service\": ");
    s_json_string (stdout, status->service);
    printf (", \"node\": ");
    s_json_string (stdout, status->node);
    printf (", \"chain_id\": ");
    s_json_string (stdout, status->chain_id);
    printf (", \"height\": %" PRIu64 ", \"validators\": %" PRIu32 ", \"pending\": %" PRIu32
            ", \"in_set\": %s}\n", status->height, status->validators, status->mempool,
            status->in_set ? "true" : "false");
    cc_rpc_reply_free (&reply);
    return 0;
}

//  --- bench ---------------------------------------------------------------------------

//  One candidate of the bench.
typedef struct {
    const s_options_t *options;         //  endpoint, chain, data dir
    pthread_barrier_t *barrier;         //  everyone answers at once
    pthread_t thread;                   //  its thread
    bool ready;                         //  solved, answer packed
    int64_t sent_us;                    //  monotonic time the answer left
    int64_t result_us;                  //  monotonic time the result came
    cc_join_result_t result;            //  the CA's answer
    int64_t solve_ms;                   //  local solve time
} s_candidate_t;

static void *
s_candidate_run (void *argument)
{
    s_candidate_t *self = (s_candidate_t *) argument;
    const s_options_t *options = self->options;
    cc_keypair_t *key = cc_keypair_new ();
    zsock_t *dealer = s_dealer (options->ca);
    Certchain__MachineProfile *profile = NULL;
    Certchain__JoinMessage *reply = NULL;
    Certchain__ChallengeResponse *response = NULL;
    uint8_t *answer = NULL;
    size_t answer_size = 0;
    cc_reason_t reason;
    uint64_t request_id = 1 + (uint64_t) randombytes_random ();
    self->result.code = CC_E_INTERNAL;
    snprintf (self->result.reason, sizeof (self->result.reason), "did not get to answer");
    uint8_t *data = NULL;
    size_t size = 0;
    if (key && dealer && cc_profile_measure (options->data, &profile, &reason) == 0
        && cc_join_pack_request (key, options->chain, request_id, profile,
                                 (uint64_t) zclock_time (), &data, &size) == 0
        && s_send (dealer, data, size) == 0)
        reply = s_wait (dealer, request_id, options->timeout_ms);
    if (reply && reply->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE) {
        int64_t started = zclock_mono ();
        if (cc_challenge_solve (reply->challenge, cc_keypair_public (key), 1, &response, NULL)
                == 0
            && cc_join_pack_response (key, options->chain, request_id + 1, response, &answer,
                                      &answer_size) == 0)
            self->ready = true;
        self->solve_ms = zclock_mono () - started;
    }
    else
    if (reply)
        cc_join_result_read (reply, &self->result);
    pthread_barrier_wait (self->barrier);
    if (self->ready) {
        self->sent_us = zclock_usecs ();
        s_send (dealer, answer, answer_size);
        answer = NULL;
        Certchain__JoinMessage *result = s_wait (dealer, request_id + 1, options->timeout_ms);
        self->result_us = zclock_usecs ();
        if (result)
            cc_join_result_read (result, &self->result);
        else
            snprintf (self->result.reason, sizeof (self->result.reason), "no result");
        s_message_free (&result);
    }
    free (answer);
    cc_challenge_response_free (&response);
    s_message_free (&reply);
    cc_profile_free (&profile);
    zsock_destroy (&dealer);
    cc_keypair_destroy (&key);
    return NULL;
}

static int
s_bench (s_options_t *options)
{
    if (!options->ca || !options->chain || options->count < 1
        || options->count > S_MAX_CANDIDATES)
        return s_fail ("bench needs --ca EP --chain ID --count 1..%d", S_MAX_CANDIDATES);
    size_t count = (size_t) options->count;
    s_candidate_t *candidates = (s_candidate_t *) calloc (count, sizeof (s_candidate_t));
    pthread_barrier_t barrier;
    if (!candidates || pthread_barrier_init (&barrier, NULL, (unsigned) count) != 0) {
        free (candidates);
        return s_fail ("out of memory");
    }
    int64_t started = zclock_mono ();
    size_t started_threads = 0;
    for (size_t index = 0; index < count; index++) {
        candidates [index].options = options;
        candidates [index].barrier = &barrier;
        if (pthread_create (&candidates [index].thread, NULL, s_candidate_run,
                            &candidates [index]) != 0)
            break;
        started_threads++;
    }
    if (started_threads < count) {
        //  The barrier would never open: nothing sensible to measure.
        fprintf (stderr, "joinforge: only %zu of %zu threads started\n", started_threads, count);
        exit (1);
    }
    for (size_t index = 0; index < count; index++)
        pthread_join (candidates [index].thread, NULL);
    pthread_barrier_destroy (&barrier);
    size_t accepted = 0, answered = 0;
    int64_t first_sent = INT64_MAX, last_result = 0;
    double solve_total = 0;
    for (size_t index = 0; index < count; index++) {
        s_candidate_t *candidate = &candidates [index];
        if (candidate->result.accepted)
            accepted++;
        if (candidate->ready) {
            answered++;
            solve_total += (double) candidate->solve_ms;
            if (candidate->sent_us < first_sent)
                first_sent = candidate->sent_us;
            if (candidate->result_us > last_result)
                last_result = candidate->result_us;
        }
        if (!candidate->result.accepted)
            fprintf (stderr, "joinforge: candidate %zu: %s: %s\n", index,
                     cc_error_name (candidate->result.code), candidate->result.reason);
    }
    double answer_seconds = answered ? (double) (last_result - first_sent) / 1e6 : 0;
    printf ("{\"count\": %zu, \"answered\": %zu, \"accepted\": %zu, \"total_seconds\": %.3f, "
            "\"mean_solve_ms\": %.1f, \"answer_seconds\": %.3f, \"answers_per_second\": %.1f}\n",
            count, answered, accepted, (double) (zclock_mono () - started) / 1000.0,
            answered ? solve_total / (double) answered : 0.0, answer_seconds,
            answer_seconds > 0 ? (double) answered / answer_seconds : 0.0);
    free (candidates);
    return 0;
}

//  --- main ----------------------------------------------------------------------------------

int
main (int argc, char **argv)
{
    s_options_t options;
    if (s_parse (argc, argv, &options) != 0) {
        s_usage ();
        return 2;
    }
    if (sodium_init () < 0)
        return s_fail ("libsodium failed to initialise");
    zsys_init ();
    zsys_handler_set (NULL);
    if (streq (options.command, "keygen"))
        return s_keygen (&options);
    if (streq (options.command, "genesis"))
        return s_genesis (&options);
    if (streq (options.command, "join"))
        return s_join (&options);
    if (streq (options.command, "audit"))
        return s_audit (&options);
    if (streq (options.command, "status"))
        return s_status (&options);
    if (streq (options.command, "bench"))
        return s_bench (&options);
    s_usage ();
    return 2;
}
