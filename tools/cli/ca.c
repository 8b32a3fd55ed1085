/*  =========================================================================
    ca - the certification authority from the command line: join, ca-log

    `certchain join --key FILE [--data-dir DIR] [--threads N] [--wait]`
    runs the candidate side of the join protocol by hand (common/join,
    DESIGN.md section 5): the chain id comes from the CA's own GetStatus,
    the machine profile is measured at --data-dir by common/join itself
    (there is no way to claim one), the challenge is solved on --threads
    workers, and the outcome is printed with the score the CA measured and
    the time taken. Accepted is exit 0; a refusal by the CA prints the
    outcome too, with its code and reason, and exits 1. With --wait the
    verifier is then asked (GetValidators) until it lists the key, and the
    first height the node signs is printed. --timeout bounds the whole
    command (default 60 s).

    `certchain ca-log [--from SEQ] [--count N] [--node KEY]` reads the CA's
    audit log over the join socket (JoinMessage audit_query / audit_log),
    page by page, up to the newest entry the CA held when first asked.

    DESIGN: join is common/join's blocking cc_join_run with the command's
    deadline as its one bound, so the CLI walks exactly the candidate state
    table a validator walks.
    =========================================================================
*/

#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "join.h"

//  How long join waits by default, all steps together; how often --wait
//  asks the verifier.
#define S_JOIN_DEFAULT_MS 60000
#define S_WAIT_POLL_MS 250

//  Entries asked for per audit page (the CA answers at most its own
//  maximum, and says where to go on).
#define S_AUDIT_PAGE 500

//  --- Helpers -------------------------------------------------------------------

//  Milliseconds left before deadline (monotonic), at least 0.
static int
s_left (int64_t deadline)
{
    int64_t left = deadline - zclock_mono ();
    return left > 0 ? (int) left : 0;
}

//  One request's share of what is left: at most the usual per-request wait.
static int
s_request_ms (int64_t deadline)
{
    int left = s_left (deadline);
    return left < CC_CLI_DEFAULT_TIMEOUT_MS ? left : CC_CLI_DEFAULT_TIMEOUT_MS;
}

//  --- join ----------------------------------------------------------------------

const cc_cli_option_t cc_cli_join_options [] = {
    { "key", CC_CLI_VALUE, "FILE", "secret key file of the candidate node" },
    { "data-dir", CC_CLI_VALUE, "DIR", "where the disk is measured (default .)" },
    { "threads", CC_CLI_VALUE, "N", "solver threads, 1 to 256 (default: one per CPU)" },
    { "wait", CC_CLI_FLAG, NULL, "then wait until the verifier lists the key as a validator" },
    { "timeout", CC_CLI_VALUE, "S", "seconds for the whole command (default 60)" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

//  The chain id, from the CA's GetStatus.
static int
s_ca_chain_id (cc_cli_t *cli, int64_t deadline, char *chain_id, size_t size)
{
    Certchain__GetStatus get_status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get_status;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_call (cli, CC_CLI_CA, &request, CERTCHAIN__REPLY__KIND_STATUS,
                     s_request_ms (deadline), &reply, &reason)
        != 0)
        return cc_cli_fail_reason (cli, &reason);
    int rc = CC_CLI_EXIT_OK;
    const char *text = reply->status->chain_id;
    if (!text || !*text || strlen (text) >= size)
        rc = cc_cli_fail (cli, CC_E_MALFORMED, "the CA did not tell its chain id");
    else
        snprintf (chain_id, size, "%s", text);
    cc_rpc_reply_free (&reply);
    return rc;
}

//  Asks the verifier until its next validator set lists node; *height_p
//  receives the first height the node signs.
static int
s_join_wait (cc_cli_t *cli, const uint8_t *node, int64_t deadline, uint64_t *height_p)
{
    Certchain__GetValidators get_validators = CERTCHAIN__GET_VALIDATORS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_VALIDATORS;
    request.get_validators = &get_validators;
    cc_reason_t last;
    cc_reason_clear (&last);
    while (s_left (deadline) > 0) {
        Certchain__Reply *reply = NULL;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        int rc = cc_cli_call (cli, CC_CLI_VERIFIER, &request, CERTCHAIN__REPLY__KIND_VALIDATORS,
                              s_request_ms (deadline), &reply, &reason);
        if (rc == 0) {
            const Certchain__Validators *set = reply->validators;
            for (size_t index = 0; index < set->n_validators; index++) {
                const Certchain__ValidatorRecord *record =
                    set->validators [index] ? set->validators [index]->record : NULL;
                if (record && cc_bytes_sized (record->pubkey, CC_PUBKEY_SIZE)
                    && memcmp (record->pubkey.data, node, CC_PUBKEY_SIZE) == 0) {
                    *height_p = record->since_height ? record->since_height : set->height;
                    cc_rpc_reply_free (&reply);
                    return CC_CLI_EXIT_OK;
                }
            }
            cc_reason_set (&last, CC_E_NOT_FOUND, "not in the set of height %" PRIu64,
                           set->height);
            cc_rpc_reply_free (&reply);
        }
        else
            last = reason;
        int left = s_left (deadline);
        if (left > 0)
            zclock_sleep (left < S_WAIT_POLL_MS ? left : S_WAIT_POLL_MS);
    }
    char hex [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (node, CC_PUBKEY_SIZE, hex);
    return cc_cli_fail (cli, CC_E_TIMEOUT, "the verifier did not list %s as a validator in "
                        "time (last answer: %s)",
                        hex, last.code ? cc_reason_text (&last) : "none");
}

//  Prints the outcome of a join the CA decided; height only when waited.
static void
s_join_print (cc_cli_t *cli, const uint8_t *node, const cc_join_result_t *result,
              bool waited, uint64_t height)
{
    char node_hex [CC_HEX_PUBKEY_SIZE], certify [2 * CC_HASH_SIZE + 1] = "";
    cc_hex_encode (node, CC_PUBKEY_SIZE, node_hex);
    if (result->accepted)
        cc_hex_encode (result->certify_tx, CC_HASH_SIZE, certify);
    const char *code = cc_error_name (result->accepted ? 0 : result->code);
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        cc_json_string (json, "node", node_hex);
        cc_json_bool (json, "accepted", result->accepted);
        cc_json_string (json, "code", code);
        cc_json_string (json, "reason", result->reason);
        cc_json_object_open (json, "score");
        cc_json_double (json, "hashes_per_second", result->hashes_per_second);
        cc_json_double (json, "argon2_mib_per_second", result->argon2_mib_per_second);
        cc_json_u64 (json, "elapsed_ms", result->score_elapsed_ms);
        cc_json_object_close (json);
        cc_json_u64 (json, "elapsed_ms", result->elapsed_ms);
        cc_json_u64 (json, "solve_ms", result->solve_ms);
        if (result->accepted)
            cc_json_string (json, "certify_tx", certify);
        else
            cc_json_null (json, "certify_tx");
        cc_json_u64 (json, "valid_until", result->valid_until);
        cc_json_u64 (json, "retry_after_ms", result->retry_after_ms);
        if (waited)
            cc_json_u64 (json, "height", height);
        cc_json_object_close (json);
        return;
    }
    char reason [sizeof (result->reason)];
    cc_cli_printable (result->reason, reason, sizeof (reason));
    printf ("node: %s\n", node_hex);
    if (result->accepted)
        printf ("outcome: accepted\n");
    else
        printf ("outcome: refused %s: %s\n", code, reason);
    //  The CA measures a score only from an answer it verified.
    if (result->hashes_per_second > 0 || result->argon2_mib_per_second > 0)
        printf ("score: %.0f hashes/s, %.1f Argon2 MiB/s\n", result->hashes_per_second,
                result->argon2_mib_per_second);
    printf ("elapsed_ms: %" PRIu64 "\nsolve_ms: %" PRIu64 "\n", result->elapsed_ms,
            result->solve_ms);
    if (result->accepted)
        printf ("certify_tx: %s\nvalid_until: %" PRIu64 "\n", certify, result->valid_until);
    else
        printf ("retry_after_ms: %" PRIu64 "\n", result->retry_after_ms);
    if (waited)
        printf ("height: %" PRIu64 "\n", height);
}

int
cc_cli_join (cc_cli_t *cli)
{
    const char *key_path = cc_cli_option (cli, "key");
    if (!key_path)
        return cc_cli_usage_error (cli, "--key FILE is required");
    const char *data_dir = cc_cli_option (cli, "data-dir");
    if (data_dir && !*data_dir)
        return cc_cli_usage_error (cli, "--data-dir: expected a directory");
    uint64_t threads = 0;
    const char *threads_text = cc_cli_option (cli, "threads");
    char printable [64];
    if (threads_text
        && (cc_cli_parse_u64 (threads_text, &threads) != 0 || threads == 0
            || threads > CC_CHALLENGE_MAX_THREADS))
        return cc_cli_usage_error (cli, "--threads: expected 1 to %d, got '%s'",
                                   CC_CHALLENGE_MAX_THREADS,
                                   cc_cli_printable (threads_text, printable, sizeof (printable)));
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_keypair_t *key = cc_keypair_load (key_path, &reason);
    if (!key)
        return cc_cli_fail_reason (cli, &reason);
    int64_t deadline = zclock_mono ()
                     + (cc_cli_timeout_given (cli) ? cc_cli_timeout_ms (cli) : S_JOIN_DEFAULT_MS);
    char chain_id [CC_CHAIN_ID_MAX + 1];
    int rc = s_ca_chain_id (cli, deadline, chain_id, sizeof (chain_id));
    cc_join_result_t join_result;
    if (rc == CC_CLI_EXIT_OK) {
        char printable_ca [128];
        cc_join_run (cc_cli_endpoint (cli, CC_CLI_CA), key, chain_id, data_dir ? data_dir : ".",
                     s_left (deadline), (size_t) threads, &join_result);
        const cc_join_result_t *result = &join_result;
        if (result->code == CC_E_TIMEOUT && !result->from_ca)
            snprintf (join_result.reason, sizeof (join_result.reason),
                      "no outcome from the CA at %s in time",
                      cc_cli_printable (cc_cli_endpoint (cli, CC_CLI_CA), printable_ca,
                                        sizeof (printable_ca)));
        if (!result->accepted && !result->from_ca)
            //  No verdict from the CA: a failure here, not an outcome.
            rc = cc_cli_fail (cli, result->code ? result->code : CC_E_INTERNAL, "%s",
                              result->reason);
        else
        if (!result->accepted) {
            s_join_print (cli, cc_keypair_public (key), result, false, 0);
            rc = cc_cli_fail (cli, result->code, "refused by the CA: %s", result->reason);
        }
        else {
            bool wait = cc_cli_flag (cli, "wait");
            uint64_t height = 0;
            if (wait)
                rc = s_join_wait (cli, cc_keypair_public (key), deadline, &height);
            //  Accepted is worth telling even when the wait ran out: the
            //  certificate is on its way.
            s_join_print (cli, cc_keypair_public (key), result, wait && rc == CC_CLI_EXIT_OK,
                          height);
        }
    }
    cc_keypair_destroy (&key);
    return rc;
}

//  --- ca-log ---------------------------------------------------------------------

const cc_cli_option_t cc_cli_ca_log_options [] = {
    { "from", CC_CLI_VALUE, "SEQ", "first entry (default 1)" },
    { "count", CC_CLI_VALUE, "N", "at most N entries (default: all)" },
    { "node", CC_CLI_VALUE, "KEY", "only this candidate's entries (hex or @FILE.pub)" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

static const char *
s_decision_name (Certchain__AuditDecision decision)
{
    switch (decision) {
        case CERTCHAIN__AUDIT_DECISION__AUDIT_REFUSED: return "refused";
        case CERTCHAIN__AUDIT_DECISION__AUDIT_CHALLENGED: return "challenged";
        case CERTCHAIN__AUDIT_DECISION__AUDIT_ACCEPTED: return "accepted";
        default: return "unknown";
    }
}

//  A bytes field of the expected size (any, when 0) as hex; null when
//  absent or of another size.
static void
s_json_hex_or_null (cc_json_t *json, const char *key, ProtobufCBinaryData field, size_t size)
{
    if (field.len > 0 && field.data && (size == 0 || field.len == size))
        cc_json_hex (json, key, field.data, field.len);
    else
        cc_json_null (json, key);
}

static void
s_entry_json (cc_json_t *json, const Certchain__AuditEntry *entry)
{
    cc_json_object_open (json, NULL);
    cc_json_u64 (json, "seq", entry->seq);
    cc_json_u64 (json, "time_ms", entry->time_ms);
    s_json_hex_or_null (json, "node", entry->node, CC_PUBKEY_SIZE);
    cc_json_string (json, "decision", s_decision_name (entry->decision));
    cc_json_i64 (json, "code", entry->code);
    cc_json_string (json, "name", entry->name && *entry->name
                                      ? entry->name
                                      : cc_error_name (-(int) entry->code));
    cc_json_string (json, "reason", entry->reason ? entry->reason : "");
    if (entry->score) {
        cc_json_object_open (json, "score");
        cc_json_double (json, "hashes_per_second", entry->score->hashes_per_second);
        cc_json_double (json, "argon2_mib_per_second", entry->score->argon2_mib_per_second);
        cc_json_u64 (json, "elapsed_ms", entry->score->elapsed_ms);
        cc_json_object_close (json);
    }
    else
        cc_json_null (json, "score");
    s_json_hex_or_null (json, "certify_tx", entry->certify_tx, CC_HASH_SIZE);
    cc_json_u64 (json, "valid_until", entry->valid_until);
    cc_json_string (json, "source", entry->source ? entry->source : "");
    s_json_hex_or_null (json, "challenge_id", entry->challenge_id, 0);
    cc_json_double (json, "verify_ms", entry->verify_ms);
    cc_json_object_close (json);
}

//  One line: seq, UTC time, node prefix, decision, code name, score, reason.
static void
s_entry_line (const Certchain__AuditEntry *entry)
{
    char when [40] = "-";
    time_t seconds = (time_t) (entry->time_ms / 1000);
    struct tm tm;
    if (gmtime_r (&seconds, &tm)) {
        char date [24];
        strftime (date, sizeof (date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf (when, sizeof (when), "%s.%03uZ", date, (unsigned) (entry->time_ms % 1000));
    }
    char node [CC_HEX_PUBKEY_SIZE] = "-";
    if (cc_bytes_sized (entry->node, CC_PUBKEY_SIZE)) {
        cc_hex_encode (entry->node.data, CC_PUBKEY_SIZE, node);
        node [16] = 0;
    }
    char name [40], score [64] = "-", reason [512];
    cc_cli_printable (entry->name && *entry->name ? entry->name
                                                  : cc_error_name (-(int) entry->code),
                      name, sizeof (name));
    if (entry->score)
        snprintf (score, sizeof (score), "%.0f H/s %.1f MiB/s", entry->score->hashes_per_second,
                  entry->score->argon2_mib_per_second);
    cc_cli_printable (entry->reason ? entry->reason : "", reason, sizeof (reason));
    printf ("%6" PRIu64 " %s %-16s %-10s %-20s %-24s %s\n", entry->seq, when, node,
            s_decision_name (entry->decision), name, score, reason);
}

int
cc_cli_ca_log (cc_cli_t *cli)
{
    uint64_t from = 0, count = UINT64_MAX;
    char printable [80];
    const char *from_text = cc_cli_option (cli, "from");
    const char *count_text = cc_cli_option (cli, "count");
    const char *node_text = cc_cli_option (cli, "node");
    if (from_text && cc_cli_parse_u64 (from_text, &from) != 0)
        return cc_cli_usage_error (cli, "--from: expected a sequence number, got '%s'",
                                   cc_cli_printable (from_text, printable, sizeof (printable)));
    if (count_text && (cc_cli_parse_u64 (count_text, &count) != 0 || count == 0))
        return cc_cli_usage_error (cli, "--count: expected a number of 1 or more, got '%s'",
                                   cc_cli_printable (count_text, printable, sizeof (printable)));
    uint8_t node [CC_PUBKEY_SIZE];
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (node_text && cc_cli_parse_pubkey (node_text, node, &reason) != 0)
        return node_text [0] == '@'
                 ? cc_cli_fail (cli, reason.code, "--node: %s", cc_reason_text (&reason))
                 : cc_cli_usage_error (cli, "--node: %s", cc_reason_text (&reason));

    Certchain__AuditQuery query = CERTCHAIN__AUDIT_QUERY__INIT;
    if (node_text)
        query.node = cc_bytes_view (node, CC_PUBKEY_SIZE);
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_QUERY;
    message.audit_query = &query;
    cc_json_t *json = cc_cli_json (cli);
    uint64_t got = 0, next_seq = from ? from : 1, last_seq = 0;
    bool first = true;
    int rc = CC_CLI_EXIT_OK;
    //  Pages until count entries, the end, or the newest entry the CA held
    //  when first asked (a busy CA never keeps this loop going).
    while (got < count) {
        query.from_seq = next_seq;
        uint64_t want = count - got;
        query.max_count = want < S_AUDIT_PAGE ? (uint32_t) want : S_AUDIT_PAGE;
        Certchain__JoinMessage *reply = NULL;
        if (cc_cli_join_call (cli, &message, CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_LOG, 0, &reply,
                              &reason)
            != 0) {
            rc = cc_cli_fail_reason (cli, &reason);
            break;
        }
        const Certchain__AuditLog *log = reply->audit_log;
        if (first) {
            last_seq = log->last_seq;
            if (json) {
                cc_json_object_open (json, NULL);
                cc_json_array_open (json, "entries");
            }
            first = false;
        }
        bool newer = false;
        for (size_t index = 0; index < log->n_entries && got < count; index++) {
            const Certchain__AuditEntry *entry = log->entries [index];
            if (!entry)
                continue;
            if (entry->seq > last_seq) {
                //  Logged after the first answer: left for the next read.
                newer = true;
                break;
            }
            if (json)
                s_entry_json (json, entry);
            else
                s_entry_line (entry);
            got++;
        }
        bool progress = log->next_seq > next_seq;
        if (progress)
            next_seq = newer ? last_seq + 1 : log->next_seq;
        bool done = newer || log->n_entries == 0 || !progress || next_seq > last_seq;
        cc_codec_free ((ProtobufCMessage **) &reply);
        if (done)
            break;
    }
    if (json && !first) {
        cc_json_array_close (json);
        cc_json_u64 (json, "next_seq", next_seq);
        cc_json_u64 (json, "last_seq", last_seq);
        cc_json_object_close (json);
    }
    return rc;
}
