/*  =========================================================================
    report - certchain-bench's tables and its JSON document (see bench.h)

    The tables are Markdown, laid out as Caliper's report is (a
    performance table, then a resource table), with the figures Caliper
    lacks: latency percentiles, the crypto ceiling and the share of it
    reached, catch-up, certification, and the targets of issue 5 with
    met or missed next to each. The JSON document holds the same figures
    with stable keys (tests/integration/test_bench.py checks them).
    =========================================================================
*/

#include "bench.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>

#include "json.h"

//  --- Tables ----------------------------------------------------------------------------

static void
s_print_runs (const cc_bench_results_t *results, FILE *stream)
{
    fprintf (stream, "\n### Performance\n\n"
             "| Name | Members | Succ | Fail | Send Rate (TPS) | Throughput (TPS) "
             "| Latency min / avg / p50 / p99 / max (ms) | Ceiling (TPS) | Throughput / "
             "ceiling | Throughput / one-signature loop | Machine: network / bench / others "
             "(%%) |\n"
             "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|\n");
    for (size_t index = 0; index < 3; index++) {
        const cc_bench_run_t *run = &results->runs [index];
        if (!run->ran)
            continue;
        const cc_bench_summary_t *latency = &run->load.latency_ms;
        fprintf (stream, "| %s%s | %zu | %" PRIu64 " | %" PRIu64 " | %.0f | %.0f "
                 "| %.0f / %.0f / %.0f / %.0f / %.0f | %.0f | %.1f%% | %.1f%% "
                 "| %.0f / %.0f / %.0f |\n",
                 run->name, run->target_rate > 0 ? " (fixed rate)" : "", run->members,
                 run->load.committed, run->load.refused + run->load.lost, run->load.send_rate,
                 run->load.throughput, latency->min, latency->avg, latency->p50, latency->p99,
                 latency->max, run->ceiling_tx, 100.0 * run->ratio,
                 100.0 * run->ratio_one_signature, run->share.network,
                 run->share.bench, run->share.others);
    }
    for (size_t index = 0; index < 3; index++) {
        const cc_bench_run_t *run = &results->runs [index];
        if (!run->ran)
            continue;
        fprintf (stream, "\n%s: %" PRIu64 " blocks read back (heights %" PRIu64 "-%" PRIu64
                 "), %.0f transactions per block on average, at most %" PRIu64 "; "
                 "pre-signing took %.1f s (not measured)%s%s\n", run->name, run->load.blocks,
                 run->load.start_height + 1, run->load.end_height,
                 run->load.blocks ? (double) run->load.block_txs / (double) run->load.blocks : 0,
                 run->load.max_block_txs, run->sign_seconds, run->problem [0] ? "; note: " : "",
                 run->problem);
    }
}

static void
s_print_process_row (FILE *stream, const char *scenario, const cc_bench_process_t *process)
{
    char idle [32] = "-";
    if (process->rss_idle_mib > 0)
        snprintf (idle, sizeof (idle), "%.1f", process->rss_idle_mib);
    fprintf (stream, "| %s | %s | %.0f | %.1f | %s | %.1f |\n", scenario, process->name,
             process->cpu_percent, process->cpu_s, idle, process->rss_peak_mib);
}

static void
s_print_processes (const cc_bench_results_t *results, FILE *stream)
{
    fprintf (stream, "\n### Resources (CPU: %% of one core over the run; RSS in MiB: idle "
             "before the load, peak = VmHWM at the end; the machine share columns above are %% "
             "of all %zu CPUs)\n\n"
             "| Scenario | Process | CPU %% | CPU s | RSS idle | RSS peak |\n"
             "|---|---|---:|---:|---:|---:|\n", results->cpus);
    for (size_t index = 0; index < 3; index++) {
        const cc_bench_run_t *run = &results->runs [index];
        for (size_t slot = 0; run->ran && slot < run->process_count; slot++)
            s_print_process_row (stream, run->name, &run->processes [slot]);
    }
    if (results->catchup.ran) {
        s_print_process_row (stream, "catch-up", &results->catchup.verifier);
        s_print_process_row (stream, "catch-up", &results->catchup.relay);
    }
    if (results->certification.ran)
        s_print_process_row (stream, "certification burst", &results->certification.ca);
}

static void
s_print_catchup (const cc_bench_results_t *results, FILE *stream)
{
    const cc_bench_catchup_t *catchup = &results->catchup;
    if (!catchup->ran)
        return;
    fprintf (stream, "\n### Catch-up (a fresh verifier syncs saturation-1's chain from the "
             "relay)\n\n"
             "| Blocks | Transactions | Seconds | First status answer after (s) "
             "| Verified and stored (tx/s) | Blocks/s | Ceiling, 1 verification per tx (tx/s) "
             "| Ratio | Ratio to the one-signature loop | Machine: network / bench / others "
             "(%%) |\n"
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
             "| %" PRIu64 " | %" PRIu64 " | %.1f | %.2f | %.0f | %.0f | %.0f | %.1f%% | %.1f%% "
             "| %.0f / %.0f / %.0f |\n",
             catchup->height, catchup->txs, catchup->seconds, catchup->first_answer_s,
             catchup->tx_per_s, catchup->blocks_per_s, catchup->ceiling_tx,
             100.0 * catchup->ratio, 100.0 * catchup->ratio_one_signature,
             catchup->share.network, catchup->share.bench, catchup->share.others);
    if (catchup->problem [0])
        fprintf (stream, "\nnote: %s\n", catchup->problem);
}

static void
s_print_certification (const cc_bench_results_t *results, FILE *stream)
{
    const cc_bench_certification_t *certification = &results->certification;
    if (!certification->ran)
        return;
    const cc_bench_joins_t *joins = &certification->joins;
    const cc_bench_burst_t *burst = &certification->burst;
    fprintf (stream, "\n### Certification\n\n"
             "| Measurement | Figure |\n|---|---|\n"
             "| joins one after another (default policy) | %zu of %zu certified |\n"
             "| join request to Certify committed at the verifier | median %.0f ms, max %.0f ms |\n"
             "| of which the candidate solving | median %.0f ms |\n"
             "| CA verification per answer (audit log) | median %.1f ms, max %.1f ms |\n"
             "| burst: candidates at once (%zu packets each) | %zu, %zu answered, %zu accepted |\n"
             "| burst: CA answers per second | %.1f (%.2f s from first answer to last result) |\n"
             "| burst: CA verification per answer | median %.1f ms, max %.1f ms |\n",
             joins->certified, joins->joins, joins->join_ms.p50, joins->join_ms.max,
             joins->solve_ms.p50, joins->verify_ms.p50, joins->verify_ms.max,
             certification->burst_packets, burst->candidates, burst->answered, burst->accepted,
             burst->answers_per_s, burst->answer_seconds, burst->verify_ms.p50,
             burst->verify_ms.max);
    if (certification->problem [0])
        fprintf (stream, "\nnote: %s\n", certification->problem);
}

static void
s_print_targets (const cc_bench_results_t *results, FILE *stream)
{
    fprintf (stream, "\n### Targets (issue 5)\n\n"
             "| Target | Goal | Measured | Result |\n|---|---|---|---|\n");
    for (size_t index = 0; index < results->target_count; index++) {
        const cc_bench_target_t *target = &results->targets [index];
        fprintf (stream, "| %s | %s | %s | %s |\n", target->name, target->target,
                 target->measured, !target->known ? "-" : target->met ? "met" : "MISSED");
    }
}

void
cc_bench_report_print (const cc_bench_results_t *results, FILE *stream)
{
    fprintf (stream, "\n## certchain-bench, %s run\n\n"
             "Machine: %s, %zu CPUs, %.1f GiB; bench built %s; %.0f s in all; load average "
             "%.2f before, %.2f after (work of others on the machine shows here).\n\n"
             "Ceiling: %.0f Ed25519 verifications/s on one core, %.0f on %zu threads "
             "(libsodium, %zu distinct signatures verified in turn, measured in this run, "
             "before and after the scenarios: %.0f and %.0f on all cores; the higher is used); "
             "a transaction costs n + 1 verifications (n members and the verifier). One "
             "signature verified over and over runs at %.0f/s on all cores: a best case no "
             "node reaches, shown for comparison; the targets are judged against the "
             "ceiling.\n",
             results->mode, results->cpu_model, results->cpus, results->memory_gib,
             results->buildtype ? results->buildtype : "?", results->elapsed_s,
             results->load_before, results->load_after,
             results->ceiling.one_core, results->ceiling.all_cores, results->ceiling.threads,
             results->ceiling.signatures, results->ceiling_start.all_cores,
             results->ceiling_end.all_cores, results->ceiling.all_cores_one_signature);
    s_print_runs (results, stream);
    s_print_catchup (results, stream);
    s_print_certification (results, stream);
    s_print_processes (results, stream);
    s_print_targets (results, stream);
    fflush (stream);
}

//  --- JSON ------------------------------------------------------------------------------------

static void
s_json_summary (cc_json_t *json, const char *key, const cc_bench_summary_t *summary)
{
    cc_json_object_open (json, key);
    cc_json_u64 (json, "count", summary->count);
    cc_json_double (json, "min", summary->min);
    cc_json_double (json, "avg", summary->avg);
    cc_json_double (json, "p50", summary->p50);
    cc_json_double (json, "p99", summary->p99);
    cc_json_double (json, "max", summary->max);
    cc_json_object_close (json);
}

static void
s_json_process (cc_json_t *json, const char *key, const cc_bench_process_t *process)
{
    cc_json_object_open (json, key);
    cc_json_string (json, "name", process->name);
    cc_json_i64 (json, "pid", (int64_t) process->pid);
    cc_json_double (json, "cpu_s", process->cpu_s);
    cc_json_double (json, "cpu_percent", process->cpu_percent);
    cc_json_double (json, "rss_idle_mib", process->rss_idle_mib);
    cc_json_double (json, "rss_peak_mib", process->rss_peak_mib);
    cc_json_object_close (json);
}

static void
s_json_share (cc_json_t *json, const cc_bench_share_t *share)
{
    cc_json_object_open (json, "machine_share");
    cc_json_double (json, "busy_percent", share->busy);
    cc_json_double (json, "network_percent", share->network);
    cc_json_double (json, "bench_percent", share->bench);
    cc_json_double (json, "others_percent", share->others);
    cc_json_object_close (json);
}

static void
s_json_run (cc_json_t *json, const cc_bench_run_t *run)
{
    const cc_bench_load_result_t *load = &run->load;
    cc_json_object_open (json, run->name);
    cc_json_u64 (json, "members", run->members);
    cc_json_u64 (json, "verifiers", run->verifiers);
    cc_json_string (json, "rate_control", run->target_rate > 0 ? "fixed-rate" : "fixed-backlog");
    cc_json_double (json, "target_rate", run->target_rate);
    cc_json_u64 (json, "submitted", load->submitted);
    cc_json_u64 (json, "succeeded", load->committed);
    cc_json_u64 (json, "failed", load->refused + load->lost);
    cc_json_u64 (json, "refused", load->refused);
    cc_json_u64 (json, "lost", load->lost);
    cc_json_double (json, "send_rate", load->send_rate);
    cc_json_double (json, "throughput", load->throughput);
    s_json_summary (json, "latency_ms", &load->latency_ms);
    cc_json_double (json, "duration_s", load->duration_s);
    cc_json_u64 (json, "verifications_per_tx", run->members + run->verifiers);
    cc_json_double (json, "ceiling_tx_per_s", run->ceiling_tx);
    cc_json_double (json, "ratio", run->ratio);
    cc_json_double (json, "ratio_one_signature", run->ratio_one_signature);
    cc_json_u64 (json, "blocks", load->blocks);
    cc_json_u64 (json, "block_txs", load->block_txs);
    cc_json_u64 (json, "max_block_txs", load->max_block_txs);
    cc_json_u64 (json, "start_height", load->start_height);
    cc_json_u64 (json, "end_height", load->end_height);
    cc_json_double (json, "sign_seconds", run->sign_seconds);
    cc_json_double (json, "window_s", run->window_s);
    s_json_share (json, &run->share);
    cc_json_array_open (json, "processes");
    for (size_t index = 0; index < run->process_count; index++)
        s_json_process (json, NULL, &run->processes [index]);
    cc_json_array_close (json);
    cc_json_string (json, "problem", run->problem);
    cc_json_object_close (json);
}

int
cc_bench_report_json (const cc_bench_results_t *results, const char *path, cc_reason_t *reason)
{
    cc_json_t *json = cc_json_new ();
    if (!json)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    cc_json_object_open (json, NULL);
    cc_json_string (json, "bench", "certchain-bench");
    cc_json_string (json, "mode", results->mode);
    cc_json_double (json, "elapsed_s", results->elapsed_s);
    cc_json_object_open (json, "machine");
    cc_json_string (json, "cpu_model", results->cpu_model);
    cc_json_u64 (json, "cpus", results->cpus);
    cc_json_double (json, "memory_gib", results->memory_gib);
    cc_json_double (json, "load_before", results->load_before);
    cc_json_double (json, "load_after", results->load_after);
    cc_json_string (json, "buildtype", results->buildtype);
    cc_json_object_close (json);
    cc_json_object_open (json, "ceiling");
    cc_json_u64 (json, "threads", results->ceiling.threads);
    cc_json_double (json, "verifications_per_s_one_core", results->ceiling.one_core);
    cc_json_double (json, "verifications_per_s_all_cores", results->ceiling.all_cores);
    cc_json_u64 (json, "distinct_signatures", results->ceiling.signatures);
    cc_json_double (json, "verifications_per_s_all_cores_one_signature",
                    results->ceiling.all_cores_one_signature);
    cc_json_double (json, "duration_s", results->ceiling.duration_s);
    cc_json_double (json, "all_cores_start", results->ceiling_start.all_cores);
    cc_json_double (json, "all_cores_end", results->ceiling_end.all_cores);
    cc_json_object_close (json);

    cc_json_object_open (json, "scenarios");
    for (size_t index = 0; index < 3; index++)
        if (results->runs [index].ran)
            s_json_run (json, &results->runs [index]);
    const cc_bench_catchup_t *catchup = &results->catchup;
    if (catchup->ran) {
        cc_json_object_open (json, "catch-up");
        cc_json_u64 (json, "blocks", catchup->height);
        cc_json_u64 (json, "txs", catchup->txs);
        cc_json_double (json, "seconds", catchup->seconds);
        cc_json_double (json, "first_answer_s", catchup->first_answer_s);
        cc_json_double (json, "tx_per_s", catchup->tx_per_s);
        cc_json_double (json, "blocks_per_s", catchup->blocks_per_s);
        cc_json_double (json, "ceiling_tx_per_s", catchup->ceiling_tx);
        cc_json_double (json, "ratio", catchup->ratio);
        cc_json_double (json, "ratio_one_signature", catchup->ratio_one_signature);
        s_json_process (json, "verifier", &catchup->verifier);
        s_json_process (json, "relay", &catchup->relay);
        s_json_share (json, &catchup->share);
        cc_json_string (json, "problem", catchup->problem);
        cc_json_object_close (json);
    }
    const cc_bench_certification_t *certification = &results->certification;
    if (certification->ran) {
        cc_json_object_open (json, "certification");
        cc_json_u64 (json, "joins", certification->joins.joins);
        cc_json_u64 (json, "certified", certification->joins.certified);
        s_json_summary (json, "join_ms", &certification->joins.join_ms);
        s_json_summary (json, "solve_ms", &certification->joins.solve_ms);
        s_json_summary (json, "ca_verify_ms", &certification->joins.verify_ms);
        cc_json_object_open (json, "burst");
        cc_json_u64 (json, "candidates", certification->burst.candidates);
        cc_json_u64 (json, "packets", certification->burst_packets);
        cc_json_u64 (json, "answered", certification->burst.answered);
        cc_json_u64 (json, "accepted", certification->burst.accepted);
        cc_json_double (json, "answer_seconds", certification->burst.answer_seconds);
        cc_json_double (json, "answers_per_s", certification->burst.answers_per_s);
        cc_json_double (json, "mean_solve_ms", certification->burst.mean_solve_ms);
        s_json_summary (json, "ca_verify_ms", &certification->burst.verify_ms);
        s_json_process (json, "ca", &certification->ca);
        cc_json_object_close (json);
        cc_json_string (json, "problem", certification->problem);
        cc_json_object_close (json);
    }
    cc_json_object_close (json);

    cc_json_array_open (json, "targets");
    for (size_t index = 0; index < results->target_count; index++) {
        const cc_bench_target_t *target = &results->targets [index];
        cc_json_object_open (json, NULL);
        cc_json_string (json, "name", target->name);
        cc_json_string (json, "target", target->target);
        cc_json_string (json, "measured", target->measured);
        if (target->known) {
            cc_json_double (json, "value", target->value);
            cc_json_bool (json, "met", target->met);
        }
        else {
            cc_json_null (json, "value");
            cc_json_null (json, "met");
        }
        cc_json_object_close (json);
    }
    cc_json_array_close (json);
    cc_json_object_close (json);

    int rc = 0;
    FILE *file = fopen (path, "w");
    if (!file)
        rc = cc_reason_set (reason, CC_E_IO, "%s: %s", path, strerror (errno));
    else {
        if (cc_json_print (json, file) != 0)
            rc = cc_reason_set (reason, CC_E_NOMEM, "the JSON document is incomplete");
        if (fclose (file) != 0 && rc == 0)
            rc = cc_reason_set (reason, CC_E_IO, "%s: %s", path, strerror (errno));
    }
    cc_json_destroy (&json);
    return rc;
}
