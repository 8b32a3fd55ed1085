/*  =========================================================================
    certchain-bench - load and measurement of a CertChain network

    Starts its own networks (relay, producing CA, validators, verifier, on
    free loopback ports, in temporary directories), or attaches to a
    running one, and reports what issue 5 asks: saturation throughput with
    1 and 4 members, latency at half load, catch-up of a fresh verifier,
    certification times, every process's CPU and memory, and the share of
    this machine's Ed25519 ceiling each topology reaches, next to the
    targets. See bench.h for the modules and scenario.c for the runs.

    Prints progress on stderr and the tables (Markdown) on stdout; exits 0
    when everything ran (a missed target is a figure, not a failure), 1
    when a scenario could not run, 2 on bad usage.
    =========================================================================
*/

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifndef CC_BENCH_BUILDTYPE
#define CC_BENCH_BUILDTYPE "unknown"
#endif

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: certchain-bench [--quick | --smoke] [--json FILE] [OPTIONS]\n"
        "       certchain-bench --relay EP --verifier EP --genesis FILE --faucet KEY\n"
        "                       [--txs N] [--rate R] [--pid NAME=PID ...] [--json FILE]\n"
        "\n"
        "Measures CertChain on this machine: (a) saturation throughput with the CA alone\n"
        "and with 4 members, (b) latency at half of (a)'s 4-member throughput, (c) catch-up\n"
        "of a fresh verifier, (d) certification, (e) memory of every process, each against\n"
        "the Ed25519 ceiling measured in the same run. Without --quick or --smoke it runs\n"
        "the full sizes (200,000 transfers for (a) and (c); several minutes).\n"
        "\n"
        "  --quick            a reduced version of every scenario (under 2 minutes)\n"
        "  --smoke            a few hundred transfers of saturation-1 only\n"
        "  --json FILE        write every figure to FILE\n"
        "  --only LIST        only these scenarios, comma-separated: saturation-1,\n"
        "                     saturation-4, latency-4, catch-up, certification\n"
        "  --txs N            transfers of each saturation run (attached: of the run)\n"
        "  --rate R           transfers/s of latency-4 (default: half of saturation-4's\n"
        "                     throughput); attached: the run's rate (default: saturate)\n"
        "  --seconds S        length of latency-4\n"
        "  --accounts N       sending accounts per run\n"
        "  --batch N          transfers per SubmitTxBatch at saturation (default 500)\n"
        "  --window N         transfers submitted and not committed, at most (10000)\n"
        "  --requests N       requests awaiting their reply, at most (16)\n"
        "  --threads N        signing threads (default: one per CPU)\n"
        "  --bin-dir DIR      folder of certchain-relay & co (default: next to this\n"
        "                     program, or the build tree it is in)\n"
        "  --work-dir DIR     parent of the networks' directories (default $TMPDIR, /tmp)\n"
        "  --keep             keep the networks' directories (configs, logs, stores)\n"
        "  --log-level L      the services' log level (default info)\n"
        "  --relay EP, --verifier EP, --genesis FILE, --faucet KEY\n"
        "                     attach to a running network (e.g. a certchain-devnet: its\n"
        "                     ports file, genesis.zpl and keys/faucet.key); the faucet\n"
        "                     pays the bench's accounts first\n"
        "  --pid NAME=PID     a process of the attached network to report (repeatable)\n"
        "  -h, --help         this help\n");
}

//  A number option's value; -1 when it is not one.
static long long
s_number (const char *text)
{
    char *end = NULL;
    errno = 0;
    long long value = text ? strtoll (text, &end, 10) : -1;
    if (!text || errno || end == text || *end || value < 0)
        return -1;
    return value;
}

//  Selects the scenarios named in list. 0 or INVALID_ARG.
static int
s_only (cc_bench_plan_t *plan, const char *list)
{
    const char *names [] = {"saturation-1", "saturation-4", "latency-4", "catch-up",
                            "certification"};
    for (int index = 0; index < CC_BENCH_SCENARIOS; index++)
        plan->run [index] = false;
    char *copy = strdup (list);
    int rc = 0;
    for (char *item = strtok (copy, ","); item && rc == 0; item = strtok (NULL, ",")) {
        rc = CC_E_INVALID_ARG;
        for (int index = 0; index < 5; index++)
            if (streq (item, names [index])) {
                plan->run [index] = true;
                rc = 0;
            }
        if (rc != 0)
            fprintf (stderr, "certchain-bench: --only: unknown scenario '%s'\n", item);
    }
    free (copy);
    plan->run [CC_BENCH_MEMORY] = true;
    return rc;
}

//  The folder this program is in.
static char *
s_own_dir (void)
{
    char path [PATH_MAX];
    ssize_t length = readlink ("/proc/self/exe", path, sizeof (path) - 1);
    if (length <= 0)
        return strdup (".");
    path [length] = 0;
    return strdup (dirname (path));
}

int
main (int argc, char **argv)
{
    //  The mode first: the other options change its sizes.
    const char *mode = "full";
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "--quick"))
            mode = "quick";
        else
        if (streq (argv [index], "--smoke"))
            mode = "smoke";
        else
        if (streq (argv [index], "--relay"))
            mode = "attach";
        else
        if (streq (argv [index], "-h") || streq (argv [index], "--help")) {
            s_usage (stdout);
            return 0;
        }
    }
    cc_bench_plan_t plan;
    cc_bench_plan_defaults (&plan, streq (mode, "attach") ? "quick" : mode);
    if (streq (mode, "attach")) {
        plan.mode = "attach";
        plan.accounts = 200;
        plan.txs = 20000;
    }
    const char *json_path = NULL;
    char *own_dir = s_own_dir ();
    plan.bin_dir = getenv ("CERTCHAIN_BIN_DIR") ? getenv ("CERTCHAIN_BIN_DIR") : own_dir;
    bool usage_error = false;
    for (int index = 1; index < argc && !usage_error; index++) {
        const char *name = argv [index];
        if (streq (name, "--quick") || streq (name, "--smoke"))
            continue;
        if (streq (name, "--keep")) {
            plan.keep = true;
            continue;
        }
        const char *value = index + 1 < argc ? argv [index + 1] : NULL;
        if (!value || strncmp (name, "--", 2) != 0) {
            fprintf (stderr, "certchain-bench: %s: %s\n", name,
                     strncmp (name, "--", 2) == 0 ? "needs a value" : "unexpected argument");
            usage_error = true;
            break;
        }
        index++;
        long long number = s_number (value);
        if (streq (name, "--json"))
            json_path = value;
        else
        if (streq (name, "--only"))
            usage_error = s_only (&plan, value) != 0;
        else
        if (streq (name, "--txs") && number > 0) {
            plan.saturation_1_txs = plan.saturation_4_txs = plan.txs = (size_t) number;
        }
        else
        if (streq (name, "--rate") && number >= 0)
            plan.rate = (double) number;
        else
        if (streq (name, "--seconds") && number > 0)
            plan.latency_seconds = (double) number;
        else
        if (streq (name, "--accounts") && number > 0)
            plan.accounts = (size_t) number;
        else
        if (streq (name, "--batch") && number > 0 && number <= 10000)
            plan.batch = (size_t) number;
        else
        if (streq (name, "--window") && number > 0)
            plan.window = (size_t) number;
        else
        if (streq (name, "--requests") && number > 0)
            plan.max_requests = (size_t) number;
        else
        if (streq (name, "--threads") && number > 0)
            plan.sign_threads = (size_t) number;
        else
        if (streq (name, "--bin-dir"))
            plan.bin_dir = value;
        else
        if (streq (name, "--work-dir"))
            plan.work_dir = value;
        else
        if (streq (name, "--log-level"))
            plan.log_level = value;
        else
        if (streq (name, "--relay"))
            plan.relay = value;
        else
        if (streq (name, "--verifier"))
            plan.verifier = value;
        else
        if (streq (name, "--genesis"))
            plan.genesis = value;
        else
        if (streq (name, "--faucet"))
            plan.faucet = value;
        else
        if (streq (name, "--pid") && plan.pid_count < CC_BENCH_MAX_PROCESSES
            && strchr (value, '=') && s_number (strchr (value, '=') + 1) > 0) {
            char *copy = strdup (value);
            *strchr (copy, '=') = 0;
            plan.pid_names [plan.pid_count] = copy;
            plan.pids [plan.pid_count++] = (pid_t) s_number (strchr (value, '=') + 1);
        }
        else {
            fprintf (stderr, "certchain-bench: %s %s: unknown option or bad value\n", name,
                     value);
            usage_error = true;
        }
    }
    if (!usage_error && streq (plan.mode, "attach")
        && (!plan.relay || !plan.verifier || !plan.genesis || !plan.faucet)) {
        fprintf (stderr, "certchain-bench: attaching needs --relay, --verifier, --genesis "
                 "and --faucet\n");
        usage_error = true;
    }
    int exit_code = 0;
    if (usage_error) {
        s_usage (stderr);
        exit_code = 2;
    }
    if (exit_code == 0 && sodium_init () < 0) {
        fprintf (stderr, "certchain-bench: libsodium failed to initialise\n");
        exit_code = 1;
    }
    cc_bench_results_t *results = exit_code == 0
                                ? (cc_bench_results_t *) calloc (1, sizeof (cc_bench_results_t))
                                : NULL;
    if (exit_code == 0 && !results)
        exit_code = 1;
    if (exit_code == 0) {
        zsys_init ();
        cc_reason_t reason;
        cc_reason_clear (&reason);
        int rc = cc_bench_run (&plan, results, &reason);
        results->buildtype = CC_BENCH_BUILDTYPE;
        if (rc != 0) {
            fprintf (stderr, "certchain-bench: %s\n", cc_reason_text (&reason));
            exit_code = 1;
        }
        cc_bench_report_print (results, stdout);
        cc_reason_clear (&reason);
        if (json_path && cc_bench_report_json (results, json_path, &reason) != 0) {
            fprintf (stderr, "certchain-bench: --json: %s\n", cc_reason_text (&reason));
            exit_code = 1;
        }
    }
    free (results);
    for (size_t index = 0; index < plan.pid_count; index++)
        free ((char *) plan.pid_names [index]);
    free (own_dir);
    return exit_code;
}
