/*  =========================================================================
    test_ca_modules - the CA's own modules: policy (loading, ranges, every
    profile and score check with its message), limiter (window, hold,
    prune), ledger (challenges, expiry, audit log, bans, Certify records,
    across a reopen), pool (workers, queue bound, verdicts) and producer
    (who produces, the engine's derived configuration, start and stop)

    The join protocol end to end runs against the real certchain-ca in
    tests/integration/test_ca.py; these tests pin each module's rules, each
    refusal with its code. Built only with the tests option (meson suite
    'unit', test 'ca-modules').
    =========================================================================
*/

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca.h"
#include "chain.h"
#include "genesis.h"
#include "ledger.h"
#include "limiter.h"
#include "policy.h"
#include "pool.h"
#include "producer.h"
#include "service.h"
#include "store.h"

#define S_MIB ((uint64_t) 1024 * 1024)
#define S_NOW 1700000000000ULL

//  --- Helpers ------------------------------------------------------------------

static char *
s_tempdir (void)
{
    char *path = strdup ("/tmp/certchain-ca-modules-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (path));
    return path;
}

static void
s_rmtree (const char *path)
{
    char command [512];
    snprintf (command, sizeof (command), "rm -rf '%s'", path);
    ck_assert_int_eq (system (command), 0);
}

static cc_store_t *
s_store_open (const char *dir)
{
    const char *families [] = {CC_CHAIN_SERVICE_FAMILY, NULL};
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    return store;
}

//  A profile that meets the default policy.
static Certchain__MachineProfile *
s_profile (uint32_t cores, uint64_t memory_mb, uint64_t disk_free_mb)
{
    Certchain__MachineProfile *profile =
        (Certchain__MachineProfile *) calloc (1, sizeof (Certchain__MachineProfile));
    certchain__machine_profile__init (profile);
    profile->cpu_model = (char *) "test cpu";
    profile->cpu_cores = cores;
    profile->memory_bytes = memory_mb * S_MIB;
    profile->disk_total_bytes = 2 * disk_free_mb * S_MIB;
    profile->disk_free_bytes = disk_free_mb * S_MIB;
    return profile;
}

//  --- Policy ----------------------------------------------------------------------

START_TEST (test_policy_defaults)
{
    cc_policy_t *policy = cc_policy_new (777);
    const cc_policy_values_t *values = cc_policy_values (policy);
    ck_assert_uint_eq (values->min_cpu_cores, 1);
    ck_assert_uint_eq (values->min_memory_mb, 512);
    ck_assert_uint_eq (values->min_disk_free_mb, 100);
    ck_assert (!values->require_gpu);
    ck_assert_uint_eq (values->challenge.packets, 32);
    ck_assert_uint_eq (values->challenge.difficulty_bits, 16);
    ck_assert_uint_eq (values->challenge.argon2_memory_kib, 8192);
    ck_assert_uint_eq (values->challenge.argon2_ops, 1);
    ck_assert_uint_eq (values->challenge.sample_size, 4);
    ck_assert_uint_eq (values->challenge.deadline_ms, 5000);
    ck_assert_uint_eq (values->validity_blocks, 777);
    ck_assert_uint_eq (values->rate_per_key_per_minute, 6);
    ck_assert_uint_eq (values->rate_per_source_per_minute, 30);
    ck_assert_uint_eq (values->backoff_ms, 10000);
    ck_assert_uint_eq (values->max_clock_skew_ms, 300000);
    ck_assert_uint_eq (cc_policy_banned_count (policy), 0);
    ck_assert_ptr_null (cc_policy_banned (policy, 0, NULL));
    cc_policy_destroy (&policy);
    ck_assert_ptr_null (policy);
    cc_policy_destroy (&policy);
}
END_TEST

START_TEST (test_policy_parse)
{
    const char *text =
        "policy\n"
        "    min_cpu_cores = 4\n"
        "    min_memory_mb = 2048\n"
        "    require_gpu = yes\n"
        "    packets = 64\n"
        "    deadline_ms = 9000\n"
        "    validity_blocks = 50\n"
        "    rate_per_source_per_minute = 0\n"
        "banned\n"
        "    0101010101010101010101010101010101010101010101010101010101010101 = \"cheat\"\n";
    cc_reason_t reason;
    cc_policy_t *policy = cc_policy_parse (text, "test.zpl", 100, &reason);
    ck_assert_ptr_nonnull (policy);
    const cc_policy_values_t *values = cc_policy_values (policy);
    ck_assert_uint_eq (values->min_cpu_cores, 4);
    ck_assert_uint_eq (values->min_memory_mb, 2048);
    ck_assert (values->require_gpu);
    ck_assert_uint_eq (values->challenge.packets, 64);
    ck_assert_uint_eq (values->challenge.deadline_ms, 9000);
    ck_assert_uint_eq (values->validity_blocks, 50);
    ck_assert_uint_eq (values->rate_per_source_per_minute, 0);
    ck_assert_uint_eq (values->min_disk_free_mb, 100);
    ck_assert_uint_eq (cc_policy_banned_count (policy), 1);
    const char *why = NULL;
    const uint8_t *key = cc_policy_banned (policy, 0, &why);
    ck_assert_uint_eq (key [0], 1);
    ck_assert_uint_eq (key [31], 1);
    ck_assert_str_eq (why, "cheat");

    //  Printed, it parses back to the same values.
    char *printed = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&printed, &size);
    cc_policy_print (policy, stream, NULL);
    fclose (stream);
    cc_policy_t *again = cc_policy_parse (printed, "printed", 1, &reason);
    ck_assert_msg (again != NULL, "%s: %s", cc_reason_text (&reason), printed);
    //  Field by field: the struct has padding.
    const cc_policy_values_t *back = cc_policy_values (again);
    ck_assert_uint_eq (back->min_cpu_cores, values->min_cpu_cores);
    ck_assert_uint_eq (back->min_memory_mb, values->min_memory_mb);
    ck_assert_uint_eq (back->min_disk_free_mb, values->min_disk_free_mb);
    ck_assert (back->require_gpu == values->require_gpu);
    ck_assert_uint_eq (back->min_gpu_memory_mb, values->min_gpu_memory_mb);
    ck_assert_uint_eq (back->min_hashes_per_second, values->min_hashes_per_second);
    ck_assert_uint_eq (back->min_argon2_mib_per_second, values->min_argon2_mib_per_second);
    ck_assert_uint_eq (back->challenge.packets, values->challenge.packets);
    ck_assert_uint_eq (back->challenge.difficulty_bits, values->challenge.difficulty_bits);
    ck_assert_uint_eq (back->challenge.argon2_memory_kib, values->challenge.argon2_memory_kib);
    ck_assert_uint_eq (back->challenge.argon2_ops, values->challenge.argon2_ops);
    ck_assert_uint_eq (back->challenge.sample_size, values->challenge.sample_size);
    ck_assert_uint_eq (back->challenge.deadline_ms, values->challenge.deadline_ms);
    ck_assert_uint_eq (back->validity_blocks, values->validity_blocks);
    ck_assert_uint_eq (back->rate_per_key_per_minute, values->rate_per_key_per_minute);
    ck_assert_uint_eq (back->rate_per_source_per_minute, values->rate_per_source_per_minute);
    ck_assert_uint_eq (back->backoff_ms, values->backoff_ms);
    ck_assert_uint_eq (back->max_clock_skew_ms, values->max_clock_skew_ms);
    ck_assert_uint_eq (cc_policy_banned_count (again), 1);
    cc_policy_destroy (&again);
    free (printed);
    cc_policy_destroy (&policy);
}
END_TEST

START_TEST (test_policy_refused)
{
    struct {
        const char *text;           //  policy file text
        const char *expected;       //  in the reason
    } cases [] = {
        {"policy\n    packets = 0\n", "policy/packets: expected a number from 1 to 4096, got '0'"},
        {"policy\n    packets = many\n", "policy/packets"},
        {"policy\n    difficulty_bits = 41\n", "policy/difficulty_bits"},
        {"policy\n    argon2_memory_kib = 4\n", "policy/argon2_memory_kib"},
        {"policy\n    deadline_ms = 0\n", "policy/deadline_ms"},
        {"policy\n    validity_blocks = 1\n", "policy/validity_blocks"},
        {"policy\n    require_gpu = maybe\n", "policy/require_gpu"},
        {"policy\n    min_cores = 4\n", "policy/min_cores: unknown key"},
        {"policy\n    packets\n        x = 1\n", "expected a value"},
        {"rules\n    packets = 4\n", "'rules': unknown section"},
        {"policy\n    packets = 4\npolicy\n    packets = 5\n", "appears twice"},
        {"banned\n    abcd = \"x\"\n", "banned/abcd: expected a public key"},
        {"policy\n  packets = 4\n", "test.zpl"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        cc_reason_t reason;
        cc_reason_clear (&reason);
        cc_policy_t *policy = cc_policy_parse (cases [index].text, "test.zpl", 100, &reason);
        ck_assert_msg (policy == NULL, "case %zu accepted", index);
        ck_assert_int_eq (reason.code, CC_E_CONFIG);
        ck_assert_msg (strstr (reason.text, cases [index].expected) != NULL,
                       "case %zu: '%s' not in '%s'", index, cases [index].expected, reason.text);
    }
    //  A genesis validity below 2 needs a policy value.
    cc_reason_t reason;
    ck_assert_ptr_null (cc_policy_parse ("policy\n    packets = 8\n", "x", 1, &reason));
    ck_assert_ptr_nonnull (strstr (reason.text, "validity_blocks"));
    cc_policy_t *policy = cc_policy_parse ("policy\n    validity_blocks = 2\n", "x", 1, &reason);
    ck_assert_ptr_nonnull (policy);
    cc_policy_destroy (&policy);
    //  A missing file.
    ck_assert_ptr_null (cc_policy_load ("/nonexistent/policy.zpl", 100, &reason));
    ck_assert_int_eq (reason.code, CC_E_IO);
}
END_TEST

START_TEST (test_policy_profile)
{
    cc_reason_t reason;
    cc_policy_t *policy = cc_policy_parse (
        "policy\n    min_cpu_cores = 4\n    min_memory_mb = 2048\n    min_disk_free_mb = 1000\n",
        "p", 100, &reason);
    Certchain__MachineProfile *profile = s_profile (4, 2048, 1000);
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason), 0);

    profile->cpu_cores = 2;
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason),
                      CC_E_PROFILE_BELOW_POLICY);
    ck_assert_str_eq (reason.text, "profile below policy: cpu_cores 2 < 4");
    profile->cpu_cores = 4;
    profile->memory_bytes = 2047 * S_MIB;
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason),
                      CC_E_PROFILE_BELOW_POLICY);
    ck_assert_str_eq (reason.text, "profile below policy: memory_mb 2047 < 2048");
    profile->memory_bytes = 4096 * S_MIB;
    profile->disk_free_bytes = 999 * S_MIB;
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason),
                      CC_E_PROFILE_BELOW_POLICY);
    ck_assert_str_eq (reason.text, "profile below policy: disk_free_mb 999 < 1000");
    profile->disk_free_bytes = 1000 * S_MIB;
    cc_policy_destroy (&policy);

    //  GPUs: required, then with a memory minimum.
    policy = cc_policy_parse ("policy\n    require_gpu = 1\n", "p", 100, &reason);
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason),
                      CC_E_PROFILE_BELOW_POLICY);
    ck_assert_str_eq (reason.text, "profile below policy: gpus 0 < 1 (a GPU is required)");
    Certchain__Gpu gpu = CERTCHAIN__GPU__INIT;
    gpu.name = (char *) "NVIDIA H100";
    gpu.memory_bytes = 8 * 1024 * S_MIB;
    Certchain__Gpu *gpus [1] = {&gpu};
    profile->gpus = gpus;
    profile->n_gpus = 1;
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason), 0);
    cc_policy_destroy (&policy);
    policy = cc_policy_parse ("policy\n    min_gpu_memory_mb = 16384\n", "p", 100, &reason);
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason),
                      CC_E_PROFILE_BELOW_POLICY);
    ck_assert_str_eq (reason.text, "profile below policy: gpu_memory_mb 8192 < 16384");
    gpu.memory_bytes = 16384 * S_MIB;
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason), 0);

    //  Malformed profiles.
    ck_assert_int_eq (cc_policy_check_profile (policy, NULL, &reason), CC_E_BAD_FIELD);
    profile->n_gpus = 65;
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason), CC_E_BAD_FIELD);
    profile->n_gpus = 1;
    char model [200];
    memset (model, 'x', sizeof (model) - 1);
    model [sizeof (model) - 1] = 0;
    profile->cpu_model = model;
    ck_assert_int_eq (cc_policy_check_profile (policy, profile, &reason), CC_E_BAD_FIELD);
    free (profile);
    cc_policy_destroy (&policy);
}
END_TEST

START_TEST (test_policy_score)
{
    cc_reason_t reason;
    cc_policy_t *policy = cc_policy_parse (
        "policy\n    min_hashes_per_second = 1000000\n    min_argon2_mib_per_second = 100\n",
        "p", 100, &reason);
    Certchain__ChallengeScore score = CERTCHAIN__CHALLENGE_SCORE__INIT;
    score.hashes_per_second = 1000000;
    score.argon2_mib_per_second = 100;
    ck_assert_int_eq (cc_policy_check_score (policy, &score, &reason), 0);
    score.hashes_per_second = 999999;
    ck_assert_int_eq (cc_policy_check_score (policy, &score, &reason), CC_E_SCORE_BELOW_POLICY);
    ck_assert_str_eq (reason.text,
                      "score below policy: hashes_per_second 999999 < 1000000");
    score.hashes_per_second = 2000000;
    score.argon2_mib_per_second = 99.5;
    ck_assert_int_eq (cc_policy_check_score (policy, &score, &reason), CC_E_SCORE_BELOW_POLICY);
    ck_assert_str_eq (reason.text, "score below policy: argon2_mib_per_second 99.5 < 100");
    cc_policy_destroy (&policy);
}
END_TEST

//  --- Limiter ---------------------------------------------------------------------

START_TEST (test_limiter)
{
    cc_limiter_t *limiter = cc_limiter_new (60000);
    uint64_t retry = 0;
    //  Three a minute: the fourth waits until the first leaves the window.
    ck_assert (cc_limiter_hit (limiter, "key:a", 3, S_NOW, &retry));
    ck_assert (cc_limiter_hit (limiter, "key:a", 3, S_NOW + 1000, &retry));
    ck_assert (cc_limiter_hit (limiter, "key:a", 3, S_NOW + 2000, &retry));
    ck_assert (!cc_limiter_hit (limiter, "key:a", 3, S_NOW + 3000, &retry));
    ck_assert_uint_eq (retry, 57000);
    //  Another name is counted apart.
    ck_assert (cc_limiter_hit (limiter, "key:b", 3, S_NOW + 3000, &retry));
    ck_assert (cc_limiter_hit (limiter, "key:a", 3, S_NOW + 60000, &retry));
    ck_assert (!cc_limiter_hit (limiter, "key:a", 3, S_NOW + 60500, &retry));
    ck_assert_uint_eq (retry, 500);
    //  No limit counts nothing.
    for (int index = 0; index < 100; index++)
        ck_assert (cc_limiter_hit (limiter, "src:x", 0, S_NOW, NULL));
    ck_assert_uint_eq (cc_limiter_size (limiter), 2);

    //  Holds: extended, never shortened.
    ck_assert (!cc_limiter_held (limiter, "key:c", S_NOW, &retry));
    cc_limiter_hold (limiter, "key:c", S_NOW + 10000);
    cc_limiter_hold (limiter, "key:c", S_NOW + 5000);
    ck_assert (cc_limiter_held (limiter, "key:c", S_NOW + 4000, &retry));
    ck_assert_uint_eq (retry, 6000);
    ck_assert (!cc_limiter_held (limiter, "key:c", S_NOW + 10000, &retry));
    ck_assert_uint_eq (retry, 0);

    //  Pruning forgets what has nothing left in the window.
    cc_limiter_prune (limiter, S_NOW + 30000);
    ck_assert_uint_eq (cc_limiter_size (limiter), 2);
    cc_limiter_prune (limiter, S_NOW + 200000);
    ck_assert_uint_eq (cc_limiter_size (limiter), 0);
    cc_limiter_destroy (&limiter);
    ck_assert_ptr_null (limiter);
}
END_TEST

//  --- Ledger ----------------------------------------------------------------------

//  A challenge record for node key byte k, deadline at S_NOW + 5000.
static Certchain__PendingChallenge *
s_record (uint8_t k)
{
    uint8_t node [CC_PUBKEY_SIZE];
    memset (node, k, sizeof (node));
    cc_challenge_params_t params = cc_challenge_params_default ();
    params.packets = 2;
    Certchain__PendingChallenge *record =
        (Certchain__PendingChallenge *) calloc (1, sizeof (Certchain__PendingChallenge));
    certchain__pending_challenge__init (record);
    record->challenge = cc_challenge_issue (&params, node, S_NOW);
    record->status = CERTCHAIN__PENDING_STATUS__PENDING_OPEN;
    record->source = (char *) "127.0.0.1";
    return record;
}

static void
s_record_free (Certchain__PendingChallenge **record_p)
{
    cc_challenge_free (&(*record_p)->challenge);
    free (*record_p);
    *record_p = NULL;
}

START_TEST (test_ledger_challenges)
{
    char *dir = s_tempdir ();
    cc_store_t *store = s_store_open (dir);
    cc_reason_t reason;
    ck_assert_ptr_null (cc_ledger_new (store, "nonexistent", &reason));
    ck_assert_int_eq (reason.code, CC_E_STORE);
    cc_ledger_t *ledger = cc_ledger_new (store, CC_CHAIN_SERVICE_FAMILY, &reason);
    ck_assert_ptr_nonnull (ledger);

    Certchain__PendingChallenge *open = s_record (1);
    Certchain__PendingChallenge *answered = s_record (2);
    answered->status = CERTCHAIN__PENDING_STATUS__PENDING_ANSWERED;
    Certchain__AuditEntry entry = CERTCHAIN__AUDIT_ENTRY__INIT;
    entry.decision = CERTCHAIN__AUDIT_DECISION__AUDIT_CHALLENGED;
    ck_assert_int_eq (cc_ledger_put_challenge (ledger, open, &entry, true), 0);
    ck_assert_uint_eq (entry.seq, 1);
    ck_assert_int_eq (cc_ledger_put_challenge (ledger, answered, NULL, false), 0);
    ck_assert_uint_eq (cc_ledger_audit_last (ledger), 1);

    Certchain__PendingChallenge *read = NULL;
    ck_assert_int_eq (cc_ledger_get_challenge (ledger, open->challenge->id.data,
                                               open->challenge->id.len, &read), 0);
    ck_assert (cc_bytes_equal (read->challenge->id, open->challenge->id));
    ck_assert_int_eq (read->status, CERTCHAIN__PENDING_STATUS__PENDING_OPEN);
    ck_assert_str_eq (read->source, "127.0.0.1");
    cc_codec_free ((ProtobufCMessage **) &read);
    uint8_t unknown [16] = {0};
    ck_assert_int_eq (cc_ledger_get_challenge (ledger, unknown, sizeof (unknown), &read),
                      CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_ledger_get_challenge (ledger, unknown, 0, &read), CC_E_NOT_FOUND);

    size_t counts [3];
    ck_assert_int_eq (cc_ledger_count_challenges (ledger, &counts [0], &counts [1], &counts [2]),
                      0);
    ck_assert_uint_eq (counts [0], 1);
    ck_assert_uint_eq (counts [1], 1);
    ck_assert_uint_eq (counts [2], 0);
    //  Before the grace ends nothing changes; after, OPEN becomes EXPIRED.
    size_t expired = 0, deleted = 0;
    ck_assert_int_eq (cc_ledger_expire (ledger, S_NOW + 5000 + 60000, 60000, 3600000, &expired,
                                        &deleted), 0);
    ck_assert_uint_eq (expired, 0);
    ck_assert_int_eq (cc_ledger_expire (ledger, S_NOW + 5000 + 60001, 60000, 3600000, &expired,
                                        &deleted), 0);
    ck_assert_uint_eq (expired, 1);
    ck_assert_uint_eq (deleted, 0);
    ck_assert_int_eq (cc_ledger_get_challenge (ledger, open->challenge->id.data,
                                               open->challenge->id.len, &read), 0);
    ck_assert_int_eq (read->status, CERTCHAIN__PENDING_STATUS__PENDING_EXPIRED);
    cc_codec_free ((ProtobufCMessage **) &read);
    //  After the retention, every record is gone.
    ck_assert_int_eq (cc_ledger_expire (ledger, S_NOW + 5000 + 3600001, 60000, 3600000, &expired,
                                        &deleted), 0);
    ck_assert_uint_eq (deleted, 2);
    ck_assert_int_eq (cc_ledger_get_challenge (ledger, answered->challenge->id.data,
                                               answered->challenge->id.len, &read),
                      CC_E_NOT_FOUND);
    s_record_free (&open);
    s_record_free (&answered);
    cc_ledger_destroy (&ledger);
    cc_store_destroy (&store);
    s_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_ledger_audit)
{
    char *dir = s_tempdir ();
    cc_store_t *store = s_store_open (dir);
    cc_ledger_t *ledger = cc_ledger_new (store, CC_CHAIN_SERVICE_FAMILY, NULL);
    uint8_t node_a [CC_PUBKEY_SIZE], node_b [CC_PUBKEY_SIZE];
    memset (node_a, 0xaa, sizeof (node_a));
    memset (node_b, 0xbb, sizeof (node_b));
    for (int index = 0; index < 10; index++) {
        Certchain__AuditEntry entry = CERTCHAIN__AUDIT_ENTRY__INIT;
        entry.node = cc_bytes_view (index % 2 ? node_b : node_a, CC_PUBKEY_SIZE);
        entry.decision = CERTCHAIN__AUDIT_DECISION__AUDIT_REFUSED;
        entry.code = 87;
        entry.name = (char *) "PROFILE_BELOW_POLICY";
        entry.reason = (char *) "profile below policy";
        ck_assert_int_eq (cc_ledger_audit (ledger, &entry, index == 9), 0);
        ck_assert_uint_eq (entry.seq, (uint64_t) index + 1);
    }
    //  Pages.
    Certchain__AuditLog log = CERTCHAIN__AUDIT_LOG__INIT;
    ck_assert_int_eq (cc_ledger_audit_read (ledger, 0, 4, NULL, &log), 0);
    ck_assert_uint_eq (log.n_entries, 4);
    ck_assert_uint_eq (log.entries [0]->seq, 1);
    ck_assert_uint_eq (log.next_seq, 5);
    ck_assert_uint_eq (log.last_seq, 10);
    ck_assert_str_eq (log.entries [3]->name, "PROFILE_BELOW_POLICY");
    cc_ledger_audit_log_clear (&log);
    ck_assert_int_eq (cc_ledger_audit_read (ledger, 9, 0, NULL, &log), 0);
    ck_assert_uint_eq (log.n_entries, 2);
    ck_assert_uint_eq (log.next_seq, 11);
    cc_ledger_audit_log_clear (&log);
    //  One node's.
    ck_assert_int_eq (cc_ledger_audit_read (ledger, 0, 0, node_b, &log), 0);
    ck_assert_uint_eq (log.n_entries, 5);
    for (size_t index = 0; index < log.n_entries; index++)
        ck_assert_uint_eq (log.entries [index]->seq % 2, 0);
    cc_ledger_audit_log_clear (&log);
    //  Past the end: nothing, and the next seq stays.
    ck_assert_int_eq (cc_ledger_audit_read (ledger, 11, 0, NULL, &log), 0);
    ck_assert_uint_eq (log.n_entries, 0);
    ck_assert_uint_eq (log.next_seq, 11);
    cc_ledger_audit_log_clear (&log);

    //  The sequence survives a reopen.
    cc_ledger_destroy (&ledger);
    cc_store_destroy (&store);
    store = s_store_open (dir);
    ledger = cc_ledger_new (store, CC_CHAIN_SERVICE_FAMILY, NULL);
    ck_assert_uint_eq (cc_ledger_audit_last (ledger), 10);
    Certchain__AuditEntry entry = CERTCHAIN__AUDIT_ENTRY__INIT;
    ck_assert_int_eq (cc_ledger_audit (ledger, &entry, false), 0);
    ck_assert_uint_eq (entry.seq, 11);
    cc_ledger_destroy (&ledger);
    cc_store_destroy (&store);
    s_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_ledger_bans)
{
    char *dir = s_tempdir ();
    cc_store_t *store = s_store_open (dir);
    cc_ledger_t *ledger = cc_ledger_new (store, CC_CHAIN_SERVICE_FAMILY, NULL);
    uint8_t keys [3][CC_PUBKEY_SIZE];
    for (int index = 0; index < 3; index++)
        memset (keys [index], index + 1, CC_PUBKEY_SIZE);
    ck_assert (!cc_ledger_banned (ledger, keys [0], NULL));
    ck_assert_int_eq (cc_ledger_ban (ledger, keys [0], "cheat", "policy", S_NOW), 0);
    ck_assert_int_eq (cc_ledger_ban (ledger, keys [1], "gone", "policy", S_NOW), 0);
    ck_assert_int_eq (cc_ledger_ban (ledger, keys [2], "by hand", "operator", S_NOW), 0);
    Certchain__BanRecord *record = NULL;
    ck_assert (cc_ledger_banned (ledger, keys [0], &record));
    ck_assert_str_eq (record->reason, "cheat");
    ck_assert_str_eq (record->origin, "policy");
    ck_assert_uint_eq (record->time_ms, S_NOW);
    cc_codec_free ((ProtobufCMessage **) &record);
    //  The policy now holds only key 0: its other ban is lifted, the
    //  operator's stays.
    ck_assert_int_eq (cc_ledger_unban_missing (ledger, "policy", keys [0], 1), 1);
    ck_assert (cc_ledger_banned (ledger, keys [0], NULL));
    ck_assert (!cc_ledger_banned (ledger, keys [1], NULL));
    ck_assert (cc_ledger_banned (ledger, keys [2], NULL));
    ck_assert_int_eq (cc_ledger_unban (ledger, keys [2]), 0);
    ck_assert (!cc_ledger_banned (ledger, keys [2], NULL));
    ck_assert_int_eq (cc_ledger_unban_missing (ledger, "policy", NULL, 0), 1);
    ck_assert (!cc_ledger_banned (ledger, keys [0], NULL));
    cc_ledger_destroy (&ledger);
    cc_store_destroy (&store);
    s_rmtree (dir);
    free (dir);
}
END_TEST

//  Collects visited Certify nonces.
typedef struct {
    uint64_t nonces [8];        //  visited nonces
    size_t count;               //  how many
} s_visited_t;

static void
s_visit (void *argument, uint64_t nonce, const uint8_t *data, size_t size)
{
    s_visited_t *visited = (s_visited_t *) argument;
    ck_assert_uint_eq (size, 3);
    ck_assert_uint_eq (data [0], (uint8_t) nonce);
    visited->nonces [visited->count++] = nonce;
}

START_TEST (test_ledger_certifies)
{
    char *dir = s_tempdir ();
    cc_store_t *store = s_store_open (dir);
    cc_ledger_t *ledger = cc_ledger_new (store, CC_CHAIN_SERVICE_FAMILY, NULL);
    Certchain__PendingChallenge *record = s_record (5);
    record->status = CERTCHAIN__PENDING_STATUS__PENDING_ANSWERED;
    Certchain__AuditEntry entry = CERTCHAIN__AUDIT_ENTRY__INIT;
    entry.decision = CERTCHAIN__AUDIT_DECISION__AUDIT_ACCEPTED;
    uint8_t data [3] = {0, 9, 9};
    //  Out of order on purpose: the scan gives nonce order.
    uint64_t nonces [] = {300, 2, 256};
    for (size_t index = 0; index < 3; index++) {
        data [0] = (uint8_t) nonces [index];
        ck_assert_int_eq (cc_ledger_put_certify (ledger, nonces [index], data, sizeof (data),
                                                 index == 0 ? record : NULL,
                                                 index == 0 ? &entry : NULL), 0);
    }
    ck_assert_uint_eq (entry.seq, 1);
    Certchain__PendingChallenge *read = NULL;
    ck_assert_int_eq (cc_ledger_get_challenge (ledger, record->challenge->id.data,
                                               record->challenge->id.len, &read), 0);
    ck_assert_int_eq (read->status, CERTCHAIN__PENDING_STATUS__PENDING_ANSWERED);
    cc_codec_free ((ProtobufCMessage **) &read);
    s_visited_t visited = {{0}, 0};
    ck_assert_int_eq (cc_ledger_certifies (ledger, s_visit, &visited), 0);
    ck_assert_uint_eq (visited.count, 3);
    ck_assert_uint_eq (visited.nonces [0], 2);
    ck_assert_uint_eq (visited.nonces [1], 256);
    ck_assert_uint_eq (visited.nonces [2], 300);
    ck_assert_int_eq (cc_ledger_delete_certify (ledger, 256), 0);
    visited.count = 0;
    ck_assert_int_eq (cc_ledger_certifies (ledger, s_visit, &visited), 0);
    ck_assert_uint_eq (visited.count, 2);
    ck_assert_uint_eq (visited.nonces [1], 300);
    s_record_free (&record);
    cc_ledger_destroy (&ledger);
    cc_store_destroy (&store);
    s_rmtree (dir);
    free (dir);
}
END_TEST

//  --- Pool ------------------------------------------------------------------------

//  What the pool test sees come back.
typedef struct {
    int codes [4];              //  verdicts in arrival order
    size_t count;               //  jobs done
    size_t expected;            //  stop the loop after this many
} s_done_t;

static void
s_on_done (void *argument, cc_pool_job_t *job)
{
    s_done_t *done = (s_done_t *) argument;
    done->codes [done->count++] = job->rc;
    ck_assert_ptr_nonnull (job->identity);
    cc_pool_job_destroy (&job);
}

static int
s_check_done (zloop_t *loop, int timer_id, void *argument)
{
    s_done_t *done = (s_done_t *) argument;
    return done->count >= done->expected ? -1 : 0;
}

//  A job verifying an honest (or a broken) answer of a small challenge.
static cc_pool_job_t *
s_job (bool honest)
{
    uint8_t node [CC_PUBKEY_SIZE];
    memset (node, 7, sizeof (node));
    cc_challenge_params_t params = cc_challenge_params_default ();
    params.packets = 4;
    params.difficulty_bits = 4;
    params.argon2_memory_kib = 256;
    params.deadline_ms = 600000;
    cc_pool_job_t *job = cc_pool_job_new ();
    job->record = (Certchain__PendingChallenge *) calloc (1, sizeof (Certchain__PendingChallenge));
    certchain__pending_challenge__init (job->record);
    job->record->challenge = cc_challenge_issue (&params, node, S_NOW);
    ck_assert_int_eq (cc_challenge_solve (job->record->challenge, node, 1, &job->response, NULL),
                      0);
    if (!honest)
        job->response->answers [1]->x.data [0] ^= 1;
    job->received_ms = S_NOW + 100;
    job->identity = zframe_new ("id", 2);
    return job;
}

START_TEST (test_pool)
{
    zloop_t *loop = zloop_new ();
    s_done_t done = {{0}, 0, 2};
    cc_pool_t *pool = cc_pool_new (loop, 1, 1, s_on_done, &done);
    ck_assert_ptr_nonnull (pool);
    ck_assert (!cc_pool_full (pool));
    cc_pool_job_t *job = s_job (true);
    ck_assert_int_eq (cc_pool_submit (pool, &job), 0);
    ck_assert_ptr_null (job);
    job = s_job (false);
    ck_assert_int_eq (cc_pool_submit (pool, &job), 0);
    //  One running, one queued: the next is refused and stays the caller's.
    ck_assert (cc_pool_full (pool));
    job = s_job (true);
    ck_assert_int_eq (cc_pool_submit (pool, &job), CC_E_BUSY);
    ck_assert_ptr_nonnull (job);
    cc_pool_job_destroy (&job);
    ck_assert_uint_eq (cc_pool_running (pool) + cc_pool_queued (pool), 2);

    zloop_timer (loop, 10, 0, s_check_done, &done);
    zloop_start (loop);
    ck_assert_uint_eq (done.count, 2);
    //  In order: the honest answer passes, the broken one is caught.
    ck_assert_int_eq (done.codes [0], 0);
    ck_assert (done.codes [1] == CC_E_POW_INVALID || done.codes [1] == CC_E_ARGON2_MISMATCH);
    ck_assert_uint_eq (cc_pool_running (pool), 0);
    ck_assert_uint_eq (cc_pool_queued (pool), 0);

    //  Destroying with work in flight and queued drops it cleanly.
    job = s_job (true);
    cc_pool_submit (pool, &job);
    job = s_job (true);
    cc_pool_submit (pool, &job);
    cc_pool_destroy (&pool);
    ck_assert_ptr_null (pool);
    zloop_destroy (&loop);
}
END_TEST

//  --- Producer ----------------------------------------------------------------------

//  A CA key and a genesis in dir; the CA produces when produces is true.
//  Returns the CA's configuration as certchain-ca declares it, pointing
//  at them (caller destroys it).
static cc_config_t *
s_ca_config (const char *dir, bool produces)
{
    char key_path [256], public_path [256], genesis_path [256], store_path [256];
    snprintf (key_path, sizeof (key_path), "%s/ca.key", dir);
    snprintf (public_path, sizeof (public_path), "%s/ca.key.pub", dir);
    snprintf (genesis_path, sizeof (genesis_path), "%s/genesis.zpl", dir);
    snprintf (store_path, sizeof (store_path), "%s/ca-data", dir);
    cc_reason_t reason;
    cc_keypair_t *key = cc_keypair_new ();
    ck_assert_int_eq (cc_keypair_save (key, key_path, public_path, &reason), 0);
    cc_genesis_t *genesis = cc_genesis_new ("producer-test", S_NOW);
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (key), produces), 0);
    if (!produces) {
        //  A genesis needs a producer: a validator that is not this CA.
        cc_keypair_t *other = cc_keypair_new ();
        ck_assert_int_eq (cc_genesis_add_validator (genesis, cc_keypair_public (other)), 0);
        cc_keypair_destroy (&other);
    }
    ck_assert_int_eq (cc_genesis_save (genesis, genesis_path, &reason), 0);
    cc_genesis_destroy (&genesis);
    cc_keypair_destroy (&key);

    cc_config_t *config = cc_config_new ("certchain-ca");
    cc_ca_define (config);
    cc_producer_define (config);
    const char *values [][2] = {
        {"ca/key", key_path}, {"genesis/path", genesis_path}, {"store/path", store_path},
        {"ca/admin", "tcp://127.0.0.1:*"}, {"relay/rpc", "tcp://127.0.0.1:9"},
        {"relay/pub", "tcp://127.0.0.1:10"}, {"relay/gossip", "tcp://127.0.0.1:11"},
        {"log/level", "error"}, {"store/cache_mb", "4"}, {"ca/join", "tcp://127.0.0.1:12"},
    };
    for (size_t index = 0; index < sizeof (values) / sizeof (values [0]); index++)
        ck_assert_int_eq (cc_config_set (config, values [index][0], values [index][1], &reason),
                          0);
    return config;
}

START_TEST (test_producer_wanted)
{
    char *dir = s_tempdir ();
    cc_config_t *config = s_ca_config (dir, true);
    cc_reason_t reason;
    bool produces = false;
    ck_assert_int_eq (cc_producer_wanted (config, &produces, &reason), 0);
    ck_assert (produces);
    cc_config_destroy (&config);
    s_rmtree (dir);
    free (dir);

    dir = s_tempdir ();
    config = s_ca_config (dir, false);
    produces = true;
    ck_assert_int_eq (cc_producer_wanted (config, &produces, &reason), 0);
    ck_assert (!produces);
    //  A key or genesis that cannot be read: CONFIG, naming the key.
    char missing [300];
    snprintf (missing, sizeof (missing), "%s/none.key", dir);
    cc_config_set (config, "ca/key", missing, &reason);
    ck_assert_int_eq (cc_producer_wanted (config, &produces, &reason), CC_E_CONFIG);
    ck_assert (strstr (reason.text, "ca/key") != NULL);
    snprintf (missing, sizeof (missing), "%s/none.zpl", dir);
    cc_config_set (config, "genesis/path", missing, &reason);
    ck_assert_int_eq (cc_producer_wanted (config, &produces, &reason), CC_E_CONFIG);
    ck_assert (strstr (reason.text, "genesis/path") != NULL);
    cc_config_destroy (&config);
    s_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_producer_config)
{
    char *dir = s_tempdir ();
    cc_config_t *ca_config = s_ca_config (dir, true);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_config_t *config = cc_producer_config_new (ca_config, &reason);
    ck_assert_ptr_nonnull (config);
    //  The CA's own settings, under the engine's names.
    ck_assert_str_eq (cc_config_get (config, "validator/key"),
                      cc_config_get (ca_config, "ca/key"));
    ck_assert_str_eq (cc_config_get (config, "validator/admin"), "tcp://127.0.0.1:*");
    const char *shared [] = {"relay/rpc", "relay/pub", "relay/gossip", "genesis/path",
                             "log/level", "store/cache_mb", "ca/join"};
    for (size_t index = 0; index < sizeof (shared) / sizeof (shared [0]); index++)
        ck_assert_str_eq (cc_config_get (config, shared [index]),
                          cc_config_get (ca_config, shared [index]));
    //  Its own store under the CA's; never joins, never resigns.
    char store [300];
    snprintf (store, sizeof (store), "%s/ca-data/producer", dir);
    ck_assert_str_eq (cc_config_get (config, "store/path"), store);
    if (cc_config_get (config, "validator/join"))
        ck_assert_str_eq (cc_config_get (config, "validator/join"), "0");
    if (cc_config_get (config, "validator/resign_on_stop"))
        ck_assert_str_eq (cc_config_get (config, "validator/resign_on_stop"), "0");
    cc_config_destroy (&config);

    //  --print-config: both parts, the engine's as comments.
    char *printed = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&printed, &size);
    ck_assert_int_eq (cc_producer_print (ca_config, stream, &reason), 0);
    fclose (stream);
    ck_assert (strstr (printed, "#  Block producer: runs") != NULL);
    ck_assert (strstr (printed, "#      admin = \"tcp://127.0.0.1:*\"") != NULL);
    ck_assert (strstr (printed, "\nvalidator") == NULL);    //  nothing uncommented
    free (printed);

    //  An empty admin endpoint is refused, naming the engine's key.
    ck_assert_int_eq (cc_config_set (ca_config, "ca/admin", "", &reason), 0);
    config = cc_producer_config_new (ca_config, &reason);
    ck_assert_ptr_null (config);
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    ck_assert (strstr (reason.text, "validator/admin") != NULL);
    cc_config_destroy (&ca_config);
    s_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_producer_run)
{
    char *dir = s_tempdir ();
    cc_config_t *ca_config = s_ca_config (dir, true);
    //  The engine opens its store inside the CA's directory.
    char store [300];
    snprintf (store, sizeof (store), "%s/ca-data", dir);
    ck_assert_int_eq (zsys_dir_create ("%s", store), 0);
    int exit_code = -1;
    cc_producer_t *producer = cc_producer_new (ca_config, CC_LOG_ERROR, &exit_code);
    ck_assert_ptr_nonnull (producer);
    ck_assert_int_eq (exit_code, CC_EXIT_OK);
    ck_assert_ptr_nonnull (cc_producer_actor (producer));
    snprintf (store, sizeof (store), "%s/ca-data/producer/CURRENT", dir);
    ck_assert (zsys_file_exists (store));

    //  A second producer on the same admin port: FAILURE, nothing left.
    zsock_t *taken = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (taken, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    char *other_dir = s_tempdir ();
    cc_config_t *other = s_ca_config (other_dir, true);
    ck_assert_int_eq (zsys_dir_create ("%s/ca-data", other_dir), 0);
    cc_reason_t reason;
    ck_assert_int_eq (cc_config_set (other, "ca/admin", endpoint, &reason), 0);
    exit_code = -1;
    cc_producer_t *second = cc_producer_new (other, CC_LOG_ERROR, &exit_code);
    ck_assert_ptr_null (second);
    ck_assert_int_eq (exit_code, CC_EXIT_FAILURE);
    //  A configuration the engine refuses: CONFIG.
    ck_assert_int_eq (cc_config_set (other, "ca/admin", "", &reason), 0);
    second = cc_producer_new (other, CC_LOG_ERROR, &exit_code);
    ck_assert_ptr_null (second);
    ck_assert_int_eq (exit_code, CC_EXIT_CONFIG);
    zsock_destroy (&taken);
    cc_config_destroy (&other);
    s_rmtree (other_dir);
    free (other_dir);

    cc_producer_destroy (&producer);
    ck_assert_ptr_null (producer);
    cc_producer_destroy (&producer);
    cc_config_destroy (&ca_config);
    s_rmtree (dir);
    free (dir);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ca-modules");
    TCase *tcase = tcase_create ("core");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_policy_defaults);
    tcase_add_test (tcase, test_policy_parse);
    tcase_add_test (tcase, test_policy_refused);
    tcase_add_test (tcase, test_policy_profile);
    tcase_add_test (tcase, test_policy_score);
    tcase_add_test (tcase, test_limiter);
    tcase_add_test (tcase, test_ledger_challenges);
    tcase_add_test (tcase, test_ledger_audit);
    tcase_add_test (tcase, test_ledger_bans);
    tcase_add_test (tcase, test_ledger_certifies);
    tcase_add_test (tcase, test_pool);
    tcase_add_test (tcase, test_producer_wanted);
    tcase_add_test (tcase, test_producer_config);
    tcase_add_test (tcase, test_producer_run);
    suite_add_tcase (suite, tcase);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? 0 : 1;
}
