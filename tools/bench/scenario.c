/*  =========================================================================
    scenario - the scenarios of issue 5, sized by mode (see bench.h)

    Order of a full run, each on a network of its own so no scenario's
    leftovers (a long chain, a grown set, a stalled burst) bias the next:

        ceiling        measured first, on a machine the bench leaves idle
        saturation-1   (a) the CA alone produces, one verifier
        catch-up       (c) a fresh verifier syncs saturation-1's chain
        saturation-4   (a) the CA and 3 genesis validators, one verifier
        latency-4      (b) the same network, a fixed rate at half of
                           saturation-4's throughput, with fresh accounts
        certification  (d) sequential joins on a producing CA, then a
                           burst of candidates on another
        memory         (e) the idle and peak RSS every network above
                           reported, held against the caps
        ceiling        measured again; the higher of the two all-core
                       figures is the ceiling every ratio is taken of

    The machine may be shared (other builds and tests on its cores): a
    ceiling measured while others ran would be low and flatter every
    ratio, so the bench takes the better of two measurements, never the
    worse, and reports the load average before and after.

    Sizes (transfers, seconds, candidates) come from the mode: full is the
    issue's, quick a reduced version of every scenario that ends within
    two minutes on a 2-core machine, smoke a few hundred transfers of
    saturation-1 only (the test suite's check that the bench works).
    =========================================================================
*/

#include "bench.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc.h"

//  Each account's genesis balance: far more than any run spends.
#define S_BALANCE 1000000000000ULL
//  Longest wait for a network to commit its first block.
#define S_START_TIMEOUT_MS 60000
//  Time a fresh network is left alone before its idle memory is read.
#define S_SETTLE_MS 2000
//  Longest catch-up waited for.
#define S_CATCHUP_TIMEOUT_MS 600000

static void
s_say (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static void
s_say (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "certchain-bench: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
}

//  --- Plans -----------------------------------------------------------------------------

int
cc_bench_plan_defaults (cc_bench_plan_t *plan, const char *mode)
{
    memset (plan, 0, sizeof (*plan));
    plan->batch = 500;
    plan->window = 10000;
    plan->max_requests = 16;
    plan->drain_ms = 20000;
    plan->log_level = "info";
    for (int index = 0; index < CC_BENCH_SCENARIOS; index++)
        plan->run [index] = true;
    if (streq (mode, "full")) {
        plan->mode = "full";
        plan->saturation_1_txs = 200000;
        plan->saturation_4_txs = 100000;
        plan->latency_seconds = 30;
        plan->joins = 5;
        plan->burst_candidates = 50;
        plan->burst_packets = 32;
        plan->accounts = 2000;
        plan->ceiling_ms = 1000;
    }
    else
    if (streq (mode, "quick")) {
        plan->mode = "quick";
        plan->saturation_1_txs = 20000;
        plan->saturation_4_txs = 15000;
        plan->latency_seconds = 10;
        plan->joins = 2;
        plan->burst_candidates = 50;
        plan->burst_packets = 8;
        plan->accounts = 1000;
        plan->ceiling_ms = 500;
    }
    else
    if (streq (mode, "smoke")) {
        plan->mode = "smoke";
        plan->saturation_1_txs = 300;
        plan->accounts = 50;
        plan->batch = 50;
        plan->ceiling_ms = 200;
        plan->drain_ms = 10000;
        for (int index = 0; index < CC_BENCH_SCENARIOS; index++)
            plan->run [index] = index == CC_BENCH_SATURATION_1;
    }
    else
        return CC_E_INVALID_ARG;
    return 0;
}

//  --- The machine ------------------------------------------------------------------------

//  The 1-minute load average (0 when unreadable): other work on the
//  machine during a run shows here.
static double
s_loadavg (void)
{
    double load = 0;
    FILE *file = fopen ("/proc/loadavg", "r");
    if (file) {
        if (fscanf (file, "%lf", &load) != 1)
            load = 0;
        fclose (file);
    }
    return load;
}

static void
s_machine (cc_bench_results_t *results)
{
    snprintf (results->cpu_model, sizeof (results->cpu_model), "unknown");
    FILE *file = fopen ("/proc/cpuinfo", "r");
    char line [512];
    while (file && fgets (line, sizeof (line), file)) {
        if (strncmp (line, "model name", 10) != 0)
            continue;
        const char *value = strchr (line, ':');
        if (value) {
            value++;
            while (*value == ' ' || *value == '\t')
                value++;
            snprintf (results->cpu_model, sizeof (results->cpu_model), "%s", value);
            results->cpu_model [strcspn (results->cpu_model, "\n")] = 0;
        }
        break;
    }
    if (file)
        fclose (file);
    long online = sysconf (_SC_NPROCESSORS_ONLN);
    results->cpus = online > 0 ? (size_t) online : 1;
    results->load_before = s_loadavg ();
    double pages = (double) sysconf (_SC_PHYS_PAGES);
    double page = (double) sysconf (_SC_PAGESIZE);
    results->memory_gib = pages * page / (1024.0 * 1024.0 * 1024.0);
}

//  --- Processes' CPU and memory ------------------------------------------------------------

//  CPU readings at the start of a window, by process slot.
typedef struct {
    double cpu_s [CC_BENCH_MAX_PROCESSES];      //  each net process's CPU so far
    double bench_cpu_s;                         //  the bench's own
    int64_t started_us;                         //  when the window opened
    size_t count;                               //  processes read
    uint64_t machine_busy;                      //  the machine's busy ticks
    uint64_t machine_total;                     //  and all its ticks
} s_window_t;

//  Fills processes with the net's processes and the bench itself, each
//  with its resident memory now as the idle figure.
static void
s_processes_idle (cc_bench_net_t *net, cc_bench_process_t *processes, size_t *count)
{
    size_t size = cc_bench_net_size (net);
    if (size > CC_BENCH_MAX_PROCESSES - 1)
        size = CC_BENCH_MAX_PROCESSES - 1;
    for (size_t index = 0; index < size; index++) {
        cc_bench_process_t *process = &processes [index];
        memset (process, 0, sizeof (*process));
        snprintf (process->name, sizeof (process->name), "%s", cc_bench_net_name (net, index));
        process->pid = cc_bench_net_pid (net, index);
        cc_bench_proc_t sample;
        if (cc_bench_proc_read (process->pid, &sample) == 0)
            process->rss_idle_mib = (double) sample.rss_kib / 1024.0;
    }
    cc_bench_process_t *bench = &processes [size];
    memset (bench, 0, sizeof (*bench));
    snprintf (bench->name, sizeof (bench->name), "bench");
    bench->pid = getpid ();
    cc_bench_proc_t sample;
    if (cc_bench_proc_read (bench->pid, &sample) == 0)
        bench->rss_idle_mib = (double) sample.rss_kib / 1024.0;
    *count = size + 1;
}

static void
s_window_open (cc_bench_net_t *net, s_window_t *window)
{
    memset (window, 0, sizeof (*window));
    window->count = cc_bench_net_size (net);
    if (window->count > CC_BENCH_MAX_PROCESSES - 1)
        window->count = CC_BENCH_MAX_PROCESSES - 1;
    for (size_t index = 0; index < window->count; index++) {
        cc_bench_proc_t sample;
        if (cc_bench_proc_read (cc_bench_net_pid (net, index), &sample) == 0)
            window->cpu_s [index] = sample.cpu_s;
    }
    window->bench_cpu_s = cc_bench_proc_self_cpu ();
    cc_bench_proc_machine (&window->machine_busy, &window->machine_total);
    window->started_us = cc_bench_now_us ();
}

//  Who used the machine since window opened; network is the CPU seconds
//  the network's processes used, bench the bench's.
static void
s_window_share (s_window_t *window, double network, double bench, double seconds,
                size_t cpus, cc_bench_share_t *share)
{
    memset (share, 0, sizeof (*share));
    uint64_t busy = 0, total = 0;
    double capacity = seconds * (double) (cpus ? cpus : 1);
    if (capacity <= 0 || cc_bench_proc_machine (&busy, &total) != 0
        || total <= window->machine_total)
        return;
    share->busy = 100.0 * (double) (busy - window->machine_busy)
                / (double) (total - window->machine_total);
    share->network = 100.0 * network / capacity;
    share->bench = 100.0 * bench / capacity;
    share->others = share->busy - share->network - share->bench;
    if (share->others < 0)
        share->others = 0;
}

//  Closes the window: CPU used since it opened and peak memory, into the
//  processes s_processes_idle listed (same order, bench last).
static double
s_window_close (cc_bench_net_t *net, s_window_t *window, cc_bench_process_t *processes,
                size_t count)
{
    double seconds = (double) (cc_bench_now_us () - window->started_us) / 1e6;
    for (size_t index = 0; index + 1 < count && index < window->count; index++) {
        cc_bench_proc_t sample;
        if (cc_bench_proc_read (cc_bench_net_pid (net, index), &sample) != 0)
            continue;
        processes [index].cpu_s = sample.cpu_s - window->cpu_s [index];
        processes [index].rss_peak_mib = (double) sample.hwm_kib / 1024.0;
    }
    cc_bench_process_t *bench = &processes [count - 1];
    bench->cpu_s = cc_bench_proc_self_cpu () - window->bench_cpu_s;
    cc_bench_proc_t sample;
    if (cc_bench_proc_read (getpid (), &sample) == 0)
        bench->rss_peak_mib = (double) sample.hwm_kib / 1024.0;
    for (size_t index = 0; index < count; index++)
        processes [index].cpu_percent = seconds > 0 ? 100.0 * processes [index].cpu_s / seconds
                                                    : 0;
    return seconds;
}

//  --- Networks -----------------------------------------------------------------------------

static cc_bench_net_t *
s_net_start (const cc_bench_plan_t *plan, const char *name, size_t members,
             cc_bench_accounts_t *accounts, const char *policy, cc_reason_t *reason)
{
    cc_bench_net_opts_t opts;
    memset (&opts, 0, sizeof (opts));
    opts.bin_dir = plan->bin_dir;
    opts.work_dir = plan->work_dir;
    opts.name = name;
    opts.members = members;
    opts.accounts = accounts ? cc_bench_accounts_publics (accounts) : NULL;
    opts.account_count = accounts ? cc_bench_accounts_size (accounts) : 0;
    opts.balance = S_BALANCE;
    opts.ca_policy = policy;
    opts.log_level = plan->log_level;
    opts.keep = plan->keep;
    int64_t started = cc_bench_now_us ();
    cc_bench_net_t *net = cc_bench_net_new (&opts, reason);
    if (net && cc_bench_net_start (net, S_START_TIMEOUT_MS, reason) != 0)
        cc_bench_net_destroy (&net);
    if (net)
        s_say ("%s: network of %zu member%s and a verifier up in %.1f s (%s)", name, members,
               members == 1 ? "" : "s", (double) (cc_bench_now_us () - started) / 1e6,
               cc_bench_net_dir (net));
    return net;
}

//  Sleeps ms unless interrupted.
static void
s_settle (int ms)
{
    for (int slept = 0; slept < ms && !zsys_interrupted; slept += 50)
        zclock_sleep (50);
}

//  --- Load runs ---------------------------------------------------------------------------

//  Signs count transfers of accounts [first, first + span) and runs them on
//  net at rate (0: as fast as accepted), filling run.
static int
s_load (const cc_bench_plan_t *plan, const cc_bench_results_t *results, cc_bench_net_t *net,
        cc_bench_accounts_t *accounts, size_t first, size_t span, size_t count, double rate,
        size_t batch, cc_bench_run_t *run, cc_reason_t *reason)
{
    const char *chain_id = cc_genesis_chain_id (cc_bench_net_genesis (net));
    cc_bench_txset_t *set = cc_bench_txset_new (accounts, first, span, chain_id, count, batch,
                                                plan->sign_threads, reason);
    if (!set)
        return reason->code;
    run->sign_seconds = cc_bench_txset_sign_seconds (set);
    s_say ("%s: %zu transfers from %zu accounts signed in %.1f s; submitting %s", run->name,
           count, span, run->sign_seconds,
           rate > 0 ? "at a fixed rate" : "as fast as the chain accepts");
    cc_bench_load_opts_t opts;
    memset (&opts, 0, sizeof (opts));
    opts.rate = rate;
    opts.window = plan->window;
    opts.max_requests = plan->max_requests;
    opts.drain_ms = plan->drain_ms;
    s_window_t window;
    s_window_open (net, &window);
    int rc = cc_bench_load_run (set, cc_bench_net_relay (net), cc_bench_net_verifier (net),
                                &opts, &run->load, reason);
    run->window_s = s_window_close (net, &window, run->processes, run->process_count);
    double network = 0, bench = 0;
    for (size_t index = 0; index < run->process_count; index++)
        if (streq (run->processes [index].name, "bench"))
            bench += run->processes [index].cpu_s;
        else
            network += run->processes [index].cpu_s;
    s_window_share (&window, network, bench, run->window_s, results->cpus, &run->share);
    cc_bench_txset_destroy (&set);
    if (rc != 0)
        return rc;
    run->ran = true;
    run->target_rate = rate;
    snprintf (run->problem, sizeof (run->problem), "%s", run->load.refusal);
    //  The ratio waits for the second ceiling measurement (s_finish).
    s_say ("%s: %" PRIu64 " committed, %" PRIu64 " failed; %.0f tx/s, p99 latency %.0f ms",
           run->name, run->load.committed, run->load.refused + run->load.lost,
           run->load.throughput, run->load.latency_ms.p99);
    return 0;
}

//  --- Catch-up ----------------------------------------------------------------------------

static int
s_catchup (const cc_bench_plan_t *plan, cc_bench_net_t *net, uint64_t txs,
           cc_bench_results_t *results, cc_reason_t *reason)
{
    cc_bench_catchup_t *catchup = &results->catchup;
    uint64_t target = 0;
    int rc = cc_bench_net_status (cc_bench_net_relay (net), 3000, &target, NULL);
    if (rc != 0)
        return cc_reason_set (reason, rc, "relay: no status");
    s_window_t window;
    s_window_open (net, &window);
    int64_t started = cc_bench_now_us ();
    const char *query = NULL;
    rc = cc_bench_net_add_verifier (net, "verifier-fresh", &query, reason);
    if (rc != 0)
        return rc;
    s_say ("catch-up: a fresh verifier syncs %" PRIu64 " blocks (%" PRIu64 " transactions)",
           target, txs);
    uint64_t height = 0;
    int64_t ready_us = 0;
    int64_t deadline = started + (int64_t) S_CATCHUP_TIMEOUT_MS * 1000;
    while (height < target && cc_bench_now_us () < deadline && !zsys_interrupted) {
        if (cc_bench_net_dead (net)) {
            snprintf (catchup->problem, sizeof (catchup->problem), "%s exited",
                      cc_bench_net_dead (net));
            break;
        }
        uint64_t now = 0;
        if (cc_bench_net_status (query, 1000, &now, NULL) == 0) {
            height = now;
            if (ready_us == 0)
                ready_us = cc_bench_now_us ();
        }
        if (height < target)
            zclock_sleep (10);
    }
    double seconds = (double) (cc_bench_now_us () - started) / 1e6;
    //  Its CPU since it started, and the relay's while it served it; the
    //  network's share counts every process of the net.
    double network = 0;
    size_t size = cc_bench_net_size (net);
    for (size_t index = 0; index < size; index++) {
        cc_bench_proc_t sample;
        if (cc_bench_proc_read (cc_bench_net_pid (net, index), &sample) != 0)
            continue;
        double cpu_s = sample.cpu_s - (index < window.count ? window.cpu_s [index] : 0);
        network += cpu_s;
        const char *name = cc_bench_net_name (net, index);
        cc_bench_process_t *process = streq (name, "verifier-fresh") ? &catchup->verifier
                                    : streq (name, "relay") ? &catchup->relay : NULL;
        if (!process)
            continue;
        snprintf (process->name, sizeof (process->name), "%s", name);
        process->pid = cc_bench_net_pid (net, index);
        process->cpu_s = cpu_s;
        process->cpu_percent = seconds > 0 ? 100.0 * cpu_s / seconds : 0;
        process->rss_peak_mib = (double) sample.hwm_kib / 1024.0;
    }
    s_window_share (&window, network, cc_bench_proc_self_cpu () - window.bench_cpu_s, seconds,
                    results->cpus, &catchup->share);
    catchup->ran = true;
    catchup->height = height;
    catchup->txs = txs;
    catchup->seconds = seconds;
    catchup->first_answer_s = ready_us ? (double) (ready_us - started) / 1e6 : 0;
    catchup->tx_per_s = seconds > 0 ? (double) txs / seconds : 0;
    catchup->blocks_per_s = seconds > 0 ? (double) height / seconds : 0;
    if (height < target && !catchup->problem [0])
        snprintf (catchup->problem, sizeof (catchup->problem),
                  "reached height %" PRIu64 " of %" PRIu64, height, target);
    s_say ("catch-up: %" PRIu64 " blocks in %.1f s: %.0f tx/s", height, seconds,
           catchup->tx_per_s);
    (void) plan;
    return 0;
}

//  --- Certification -----------------------------------------------------------------------

static int
s_certification (const cc_bench_plan_t *plan, cc_bench_results_t *results, cc_reason_t *reason)
{
    cc_bench_certification_t *certification = &results->certification;
    certification->burst_packets = plan->burst_packets;
    //  Joins: the CA's default policy.
    cc_bench_net_t *net = s_net_start (plan, "joins", 1, NULL, NULL, reason);
    if (!net)
        return reason->code;
    s_say ("certification: %zu joins one after another (default policy)", plan->joins);
    int rc = cc_bench_joins_run (net, plan->joins, &certification->joins, reason);
    cc_bench_net_destroy (&net);
    if (rc != 0)
        return rc;
    s_say ("certification: %zu of %zu certified, join to committed median %.0f ms, max %.0f ms; "
           "CA verification median %.1f ms", certification->joins.certified, plan->joins,
           certification->joins.join_ms.p50, certification->joins.join_ms.max,
           certification->joins.verify_ms.p50);

    //  Burst: the default policy but for its size, its deadline (all
    //  candidates solve at once on this machine) and the rate limits.
    if (plan->burst_candidates == 0)
        return 0;
    char policy [256];
    snprintf (policy, sizeof (policy),
              "    packets = %zu\n    deadline_ms = 600000\n"
              "    rate_per_key_per_minute = 0\n    rate_per_source_per_minute = 0\n",
              plan->burst_packets);
    net = s_net_start (plan, "burst", 1, NULL, policy, reason);
    if (!net)
        return reason->code;
    s_say ("certification: %zu candidates at once (%zu packets each)", plan->burst_candidates,
           plan->burst_packets);
    cc_bench_process_t processes [CC_BENCH_MAX_PROCESSES];
    size_t count = 0;
    s_processes_idle (net, processes, &count);
    s_window_t window;
    s_window_open (net, &window);
    rc = cc_bench_burst_run (net, plan->burst_candidates, &certification->burst, reason);
    s_window_close (net, &window, processes, count);
    for (size_t index = 0; index < count; index++)
        if (streq (processes [index].name, "ca"))
            certification->ca = processes [index];
    cc_bench_net_destroy (&net);
    if (rc != 0)
        return rc;
    certification->ran = true;
    snprintf (certification->problem, sizeof (certification->problem), "%s",
              certification->joins.problem [0] ? certification->joins.problem
                                               : certification->burst.problem);
    s_say ("certification: %zu answered, %zu accepted, %.1f answers/s",
           certification->burst.answered, certification->burst.accepted,
           certification->burst.answers_per_s);
    return 0;
}

//  --- Attach mode ---------------------------------------------------------------------------

//  The last nonce of address at endpoint (a verifier). 0 or error.
static int
s_account_nonce (const char *endpoint, const uint8_t *address, uint64_t *nonce)
{
    cc_rpc_client_t *client = cc_rpc_client_new (endpoint, CC_MAX_MESSAGE_SIZE);
    if (!client)
        return CC_E_IO;
    Certchain__GetAccount get = CERTCHAIN__GET_ACCOUNT__INIT;
    get.address = cc_bytes_view (address, CC_PUBKEY_SIZE);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_ACCOUNT;
    request.get_account = &get;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_rpc_client_call (client, &request, 3000, &reply, &reason);
    if (rc == 0 && reply->kind_case != CERTCHAIN__REPLY__KIND_ACCOUNT)
        rc = CC_E_MALFORMED;
    if (rc == 0)
        *nonce = reply->account->nonce;
    cc_rpc_reply_free (&reply);
    cc_rpc_client_destroy (&client);
    return rc;
}

static int
s_attach (const cc_bench_plan_t *plan, cc_bench_results_t *results, cc_reason_t *reason)
{
    cc_bench_net_t *net = cc_bench_net_attach (plan->relay, plan->verifier, plan->genesis,
                                               reason);
    if (!net)
        return reason->code;
    for (size_t index = 0; index < plan->pid_count; index++)
        cc_bench_net_track (net, plan->pid_names [index], plan->pids [index]);
    const char *chain_id = cc_genesis_chain_id (cc_bench_net_genesis (net));
    cc_keypair_t *faucet = cc_keypair_load (plan->faucet, reason);
    cc_bench_accounts_t *accounts = cc_bench_accounts_new (plan->accounts);
    uint64_t nonce = 0;
    uint32_t members = 0;
    int rc = faucet && accounts ? 0 : reason->code ? reason->code : CC_E_NOMEM;
    if (rc == 0 && (rc = s_account_nonce (plan->verifier, cc_keypair_public (faucet), &nonce)))
        cc_reason_set (reason, rc, "the faucet's account at %s: %s", plan->verifier,
                       cc_error_message (rc));
    if (rc == 0 && (rc = cc_bench_net_status (plan->verifier, 3000, NULL, &members)))
        cc_reason_set (reason, rc, "verifier %s: no status", plan->verifier);
    //  Funding: one transfer from the faucet to each account, committed
    //  before anything is measured.
    cc_bench_txset_t *funding = rc == 0 ? cc_bench_txset_new_funding (
        accounts, faucet, nonce, S_BALANCE / 1000, chain_id, 200, reason) : NULL;
    if (rc == 0 && !funding)
        rc = reason->code;
    if (rc == 0) {
        s_say ("attach: funding %zu accounts from %s", plan->accounts, plan->faucet);
        cc_bench_load_opts_t opts;
        memset (&opts, 0, sizeof (opts));
        opts.window = 500;
        cc_bench_load_result_t funded;
        rc = cc_bench_load_run (funding, plan->relay, plan->verifier, &opts, &funded, reason);
        if (rc == 0 && funded.committed != plan->accounts)
            rc = cc_reason_set (reason, CC_E_INTERNAL, "funding: %" PRIu64 " of %zu committed "
                                "(%s)", funded.committed, plan->accounts, funded.refusal);
    }
    cc_bench_txset_destroy (&funding);
    cc_bench_run_t *run = &results->runs [0];
    run->name = "attached";
    run->members = members;
    run->verifiers = 1;
    if (rc == 0) {
        s_processes_idle (net, run->processes, &run->process_count);
        size_t batch = plan->rate > 0 ? (size_t) fmax (1, round (plan->rate / 100)) : plan->batch;
        rc = s_load (plan, results, net, accounts, 0, plan->accounts, plan->txs, plan->rate,
                     batch, run, reason);
    }
    cc_bench_accounts_destroy (&accounts);
    cc_keypair_destroy (&faucet);
    cc_bench_net_destroy (&net);
    return rc;
}

//  --- The whole bench ------------------------------------------------------------------------

//  Measures the ceiling into ceiling. 0 or error with reason.
static int
s_measure_ceiling (const cc_bench_plan_t *plan, cc_bench_ceiling_t *ceiling,
                   cc_reason_t *reason)
{
    int rc = cc_bench_ceiling_measure (0, plan->ceiling_ms, ceiling);
    if (rc != 0)
        return cc_reason_set (reason, rc, "ceiling measurement failed");
    s_say ("ceiling: %.0f Ed25519 verifications/s on 1 core, %.0f on %zu threads "
           "(%zu distinct signatures; one signature over and over: %.0f)",
           ceiling->one_core, ceiling->all_cores, ceiling->threads, ceiling->signatures,
           ceiling->all_cores_one_signature);
    return 0;
}

//  tx_per_s as a share of the one-signature loop's rate over the
//  verifications each transaction costs: the other yardstick, shown next
//  to the ceiling's ratio so the two can be compared.
static double
s_one_signature_ratio (const cc_bench_results_t *results, double tx_per_s, size_t per_tx)
{
    double loop = results->ceiling.all_cores_one_signature;
    return loop > 0 && per_tx > 0 ? tx_per_s * (double) per_tx / loop : 0;
}

//  The second ceiling measurement, the ratios of every scenario against
//  the better of the two, the targets. Returns rc (or the measurement's
//  failure when rc is 0).
static int
s_finish (const cc_bench_plan_t *plan, cc_bench_results_t *results, int64_t started, int rc,
          cc_reason_t *reason)
{
    if (!zsys_interrupted) {
        cc_reason_t why;
        cc_reason_clear (&why);
        int measured = s_measure_ceiling (plan, &results->ceiling_end, &why);
        if (measured != 0 && rc == 0)
            rc = cc_reason_set (reason, measured, "%s", cc_reason_text (&why));
    }
    results->ceiling = results->ceiling_end.all_cores > results->ceiling_start.all_cores
                     ? results->ceiling_end : results->ceiling_start;
    for (size_t index = 0; index < 3; index++) {
        cc_bench_run_t *run = &results->runs [index];
        run->ceiling_tx = cc_bench_ceiling_tx (&results->ceiling, run->members, run->verifiers);
        run->ratio = run->ceiling_tx > 0 ? run->load.throughput / run->ceiling_tx : 0;
        run->ratio_one_signature = s_one_signature_ratio (results, run->load.throughput,
                                                          run->members + run->verifiers);
    }
    cc_bench_catchup_t *catchup = &results->catchup;
    catchup->ceiling_tx = cc_bench_ceiling_tx (&results->ceiling, 0, 1);
    catchup->ratio = catchup->ceiling_tx > 0 ? catchup->tx_per_s / catchup->ceiling_tx : 0;
    catchup->ratio_one_signature = s_one_signature_ratio (results, catchup->tx_per_s, 1);
    results->elapsed_s = (double) (cc_bench_now_us () - started) / 1e6;
    results->load_after = s_loadavg ();
    cc_bench_targets (results);
    return rc;
}

int
cc_bench_run (const cc_bench_plan_t *plan, cc_bench_results_t *results, cc_reason_t *reason)
{
    memset (results, 0, sizeof (*results));
    results->mode = plan->mode;
    int64_t started = cc_bench_now_us ();
    s_machine (results);
    int rc = s_measure_ceiling (plan, &results->ceiling_start, reason);
    if (rc != 0)
        return rc;
    if (streq (plan->mode, "attach")) {
        rc = s_attach (plan, results, reason);
        return s_finish (plan, results, started, rc, reason);
    }
    cc_bench_run_t *saturation_1 = &results->runs [0];
    cc_bench_run_t *saturation_4 = &results->runs [1];
    cc_bench_run_t *latency_4 = &results->runs [2];
    saturation_1->name = "saturation-1";
    saturation_1->members = 1;
    saturation_4->name = "saturation-4";
    saturation_4->members = 4;
    latency_4->name = "latency-4";
    latency_4->members = 4;
    for (size_t index = 0; index < 3; index++)
        results->runs [index].verifiers = 1;

    //  (a) with the CA alone, and (c) on its chain.
    if (rc == 0 && (plan->run [CC_BENCH_SATURATION_1] || plan->run [CC_BENCH_CATCHUP])) {
        cc_bench_accounts_t *accounts = cc_bench_accounts_new (plan->accounts);
        cc_bench_net_t *net = accounts ? s_net_start (plan, "saturation-1", 1, accounts, NULL,
                                                      reason)
                                       : NULL;
        rc = net ? 0 : reason->code ? reason->code : CC_E_NOMEM;
        if (rc == 0) {
            s_settle (S_SETTLE_MS);
            s_processes_idle (net, saturation_1->processes, &saturation_1->process_count);
            rc = s_load (plan, results, net, accounts, 0, plan->accounts,
                         plan->saturation_1_txs, 0, plan->batch, saturation_1, reason);
        }
        if (rc == 0 && plan->run [CC_BENCH_CATCHUP])
            rc = s_catchup (plan, net, saturation_1->load.block_txs, results, reason);
        cc_bench_net_destroy (&net);
        cc_bench_accounts_destroy (&accounts);
    }
    //  (a) with 4 members, then (b) on the same network.
    if (rc == 0 && !zsys_interrupted
        && (plan->run [CC_BENCH_SATURATION_4] || plan->run [CC_BENCH_LATENCY_4])) {
        cc_bench_accounts_t *accounts = cc_bench_accounts_new (2 * plan->accounts);
        cc_bench_net_t *net = accounts ? s_net_start (plan, "saturation-4", 4, accounts, NULL,
                                                      reason)
                                       : NULL;
        rc = net ? 0 : reason->code ? reason->code : CC_E_NOMEM;
        if (rc == 0) {
            s_settle (S_SETTLE_MS);
            s_processes_idle (net, saturation_4->processes, &saturation_4->process_count);
        }
        if (rc == 0 && (plan->run [CC_BENCH_SATURATION_4] || plan->rate <= 0))
            rc = s_load (plan, results, net, accounts, 0, plan->accounts,
                         plan->saturation_4_txs, 0, plan->batch, saturation_4, reason);
        if (rc == 0 && plan->run [CC_BENCH_LATENCY_4] && !zsys_interrupted) {
            double rate = plan->rate > 0 ? plan->rate : saturation_4->load.throughput / 2;
            size_t count = (size_t) ceil (rate * plan->latency_seconds);
            if (rate < 1 || count == 0)
                rc = cc_reason_set (reason, CC_E_INTERNAL, "latency-4: no rate to run at "
                                    "(saturation-4 committed nothing)");
            else {
                s_settle (1000);
                //  Requests every 10 ms: the rate's smooth at this grain.
                size_t batch = (size_t) fmax (1, round (rate / 100));
                memcpy (latency_4->processes, saturation_4->processes,
                        sizeof (latency_4->processes));
                latency_4->process_count = saturation_4->process_count;
                rc = s_load (plan, results, net, accounts, plan->accounts, plan->accounts,
                             count, rate, batch, latency_4, reason);
            }
        }
        if (!plan->run [CC_BENCH_SATURATION_4])
            saturation_4->ran = false;
        cc_bench_net_destroy (&net);
        cc_bench_accounts_destroy (&accounts);
    }
    //  (d)
    if (rc == 0 && !zsys_interrupted && plan->run [CC_BENCH_CERTIFICATION])
        rc = s_certification (plan, results, reason);
    if (rc == 0 && zsys_interrupted)
        rc = cc_reason_set (reason, CC_E_IO, "interrupted");
    return s_finish (plan, results, started, rc, reason);
}

//  --- Targets (issue 5, item 4) -----------------------------------------------------------------

static cc_bench_target_t *
s_target (cc_bench_results_t *results, const char *name, const char *target)
{
    assert (results->target_count < CC_BENCH_MAX_TARGETS);
    cc_bench_target_t *entry = &results->targets [results->target_count++];
    memset (entry, 0, sizeof (*entry));
    entry->name = name;
    snprintf (entry->target, sizeof (entry->target), "%s", target);
    snprintf (entry->measured, sizeof (entry->measured), "not measured");
    return entry;
}

//  The largest idle and peak RSS over the processes of runs, with names.
static void
s_memory_peaks (const cc_bench_results_t *results, double *idle, char *idle_name,
                double *peak, char *peak_name)
{
    *idle = *peak = 0;
    idle_name [0] = peak_name [0] = 0;
    for (size_t run = 0; run < 3; run++) {
        const cc_bench_run_t *entry = &results->runs [run];
        if (!entry->ran)
            continue;
        for (size_t index = 0; index < entry->process_count; index++) {
            const cc_bench_process_t *process = &entry->processes [index];
            if (streq (process->name, "bench"))
                continue;       //  the client, not the chain
            if (process->rss_idle_mib > *idle) {
                *idle = process->rss_idle_mib;
                snprintf (idle_name, 64, "%s in %s", process->name, entry->name);
            }
            if (process->rss_peak_mib > *peak) {
                *peak = process->rss_peak_mib;
                snprintf (peak_name, 64, "%s in %s", process->name, entry->name);
            }
        }
    }
    const cc_bench_process_t *others [] = {&results->catchup.verifier,
                                           &results->certification.ca};
    for (size_t index = 0; index < 2; index++)
        if (others [index]->rss_peak_mib > *peak) {
            *peak = others [index]->rss_peak_mib;
            snprintf (peak_name, 64, "%s", others [index]->name);
        }
}

void
cc_bench_targets (cc_bench_results_t *results)
{
    results->target_count = 0;
    for (size_t index = 0; index < 2; index++) {
        const cc_bench_run_t *run = &results->runs [index];
        cc_bench_target_t *target = s_target (
            results, index == 0 ? "throughput, CA alone (a)" : "throughput, 4 members (a)",
            ">= 60% of the ceiling");
        if (run->ran && streq (run->name, index == 0 ? "saturation-1" : "saturation-4")) {
            target->known = true;
            target->value = 100.0 * run->ratio;
            target->met = run->ratio >= 0.60;
            snprintf (target->measured, sizeof (target->measured),
                      "%.1f%% (%.0f of %.0f tx/s; %.1f%% of the one-signature loop)",
                      target->value, run->load.throughput, run->ceiling_tx,
                      100.0 * run->ratio_one_signature);
        }
    }
    const cc_bench_run_t *latency = &results->runs [2];
    cc_bench_target_t *target = s_target (results, "p99 latency at 50% load (b)", "<= 750 ms");
    if (latency->ran) {
        target->known = true;
        target->value = latency->load.latency_ms.p99;
        target->met = target->value <= 750;
        snprintf (target->measured, sizeof (target->measured), "%.0f ms at %.0f tx/s",
                  target->value, latency->target_rate);
    }
    target = s_target (results, "catch-up (c)", ">= 70% of one verification per tx");
    if (results->catchup.ran) {
        target->known = true;
        target->value = 100.0 * results->catchup.ratio;
        target->met = results->catchup.ratio >= 0.70 && !results->catchup.problem [0];
        snprintf (target->measured, sizeof (target->measured),
                  "%.1f%% (%.0f of %.0f tx/s; %.1f%% of the one-signature loop)", target->value,
                  results->catchup.tx_per_s, results->catchup.ceiling_tx,
                  100.0 * results->catchup.ratio_one_signature);
    }
    const cc_bench_certification_t *certification = &results->certification;
    target = s_target (results, "join to certified (d)", "<= 3000 ms (every join)");
    if (certification->ran && certification->joins.certified > 0) {
        target->known = true;
        target->value = certification->joins.join_ms.max;
        target->met = target->value <= 3000
                   && certification->joins.certified == certification->joins.joins;
        snprintf (target->measured, sizeof (target->measured),
                  "max %.0f ms, median %.0f ms (%zu of %zu)", target->value,
                  certification->joins.join_ms.p50, certification->joins.certified,
                  certification->joins.joins);
    }
    target = s_target (results, "CA verification per answer (d)", "<= 20 ms");
    if (certification->ran && certification->joins.verify_ms.count > 0) {
        target->known = true;
        target->value = certification->joins.verify_ms.max;
        target->met = target->value <= 20;
        snprintf (target->measured, sizeof (target->measured),
                  "max %.1f ms, median %.1f ms (burst median %.1f ms)", target->value,
                  certification->joins.verify_ms.p50, certification->burst.verify_ms.p50);
    }
    double idle = 0, peak = 0;
    char idle_name [64], peak_name [64];
    s_memory_peaks (results, &idle, idle_name, &peak, peak_name);
    target = s_target (results, "RSS idle, every process (e)", "<= 64 MiB");
    if (idle > 0) {
        target->known = true;
        target->value = idle;
        target->met = idle <= 64;
        snprintf (target->measured, sizeof (target->measured), "largest %.1f MiB (%s)", idle,
                  idle_name);
    }
    target = s_target (results, "RSS under load, every process (e)", "<= 256 MiB");
    if (peak > 0) {
        target->known = true;
        target->value = peak;
        target->met = peak <= 256;
        snprintf (target->measured, sizeof (target->measured), "largest %.1f MiB (%s)", peak,
                  peak_name);
    }
}
