/*  =========================================================================
    bench - certchain-bench: what it runs and what it found

    certchain-bench measures a CertChain network on this machine the way
    Hyperledger Caliper users are used to reading it: succeeded, failed,
    send rate, throughput and latency, plus each process's CPU and memory,
    and, measured in the same run, the ceiling this machine's Ed25519
    verification sets for the topology. The modules:

        ceiling    verifications per second on one and on all cores
        net        a network of real processes, started or attached
        workload   accounts and pre-signed transfer batches
        load       one measured run (submit, read back, time)
        certify    join and burst measurements of the CA
        proc       CPU time and memory from /proc
        stats      min / avg / p50 / p99 / max
        scenario   the scenarios of issue 5 (saturation, latency, catch-up,
                   certification, memory), sized by mode
        report     the printed tables and the --json document

    A plan says what to run; the results collect every figure, and the
    report prints them with the targets next to them.
    =========================================================================
*/

#ifndef CC_BENCH_H_INCLUDED
#define CC_BENCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ceiling.h"
#include "certify.h"
#include "load.h"
#include "net.h"
#include "proc.h"
#include "stats.h"
#include "workload.h"

//  The scenarios, in the order they run.
typedef enum {
    CC_BENCH_SATURATION_1 = 0,  //  (a) as fast as accepted, the CA alone producing
    CC_BENCH_SATURATION_4,      //  (a) as fast as accepted, CA + 3 validators
    CC_BENCH_LATENCY_4,         //  (b) fixed rate at half of (a)'s 4-member throughput
    CC_BENCH_CATCHUP,           //  (c) a fresh verifier syncing (a)'s 1-producer chain
    CC_BENCH_CERTIFICATION,     //  (d) join to certified, CA verification, a burst
    CC_BENCH_MEMORY,            //  (e) idle and loaded RSS of every process
    CC_BENCH_SCENARIOS
} cc_bench_scenario_t;

//  Most processes one scenario reports.
#define CC_BENCH_MAX_PROCESSES 16
//  Most targets.
#define CC_BENCH_MAX_TARGETS 16

//  What to run and how big.
typedef struct {
    const char *mode;                   //  "full", "quick", "smoke" or "attach"
    bool run [CC_BENCH_SCENARIOS];      //  scenarios selected
    size_t saturation_1_txs;            //  transfers of (a) with the CA alone
    size_t saturation_4_txs;            //  transfers of (a) with 4 members
    double latency_seconds;             //  length of (b)
    size_t joins;                       //  sequential joins of (d)
    size_t burst_candidates;            //  candidates at once in (d)
    size_t burst_packets;               //  challenge packets in the burst's policy
    size_t accounts;                    //  accounts per run
    size_t batch;                       //  transfers per request at saturation
    size_t window;                      //  transfers submitted and not committed, at most
    size_t max_requests;                //  requests awaiting their reply, at most
    size_t sign_threads;                //  signing threads (0: one per CPU)
    int ceiling_ms;                     //  length of each ceiling measurement
    int drain_ms;                       //  wait for stragglers after the last commit
    const char *bin_dir;                //  where the binaries are
    const char *work_dir;               //  parent of the temporary directories
    const char *log_level;              //  the services' log level
    bool keep;                          //  keep the directories
    //  Attach mode: a running network.
    const char *relay;                  //  its relay rpc endpoint
    const char *verifier;               //  its verifier query endpoint
    const char *genesis;                //  its genesis file
    const char *faucet;                 //  a funded key file that pays the accounts
    double rate;                        //  transfers per second (0: as fast as accepted)
    size_t txs;                         //  transfers of the attached run
    const char *pid_names [CC_BENCH_MAX_PROCESSES];     //  --pid NAME=PID: the names
    pid_t pids [CC_BENCH_MAX_PROCESSES];    //  and their pids
    size_t pid_count;                   //  entries in both
} cc_bench_plan_t;

//  One process's share of a measured window.
typedef struct {
    char name [32];                     //  "relay", "ca", "validator-1", "bench", ...
    pid_t pid;                          //  its pid
    double cpu_s;                       //  CPU seconds in the window
    double cpu_percent;                 //  of one core, averaged over the window
    double rss_idle_mib;                //  resident before the load (0: not sampled)
    double rss_peak_mib;                //  peak resident at the end (VmHWM)
} cc_bench_process_t;

//  Who used the machine during a window, each in % of the whole machine
//  (all CPUs): the network's processes, the bench, and everything else.
typedef struct {
    double busy;                        //  the machine was busy this much
    double network;                     //  the network's processes
    double bench;                       //  the bench itself
    double others;                      //  the rest (other work on the machine)
} cc_bench_share_t;

//  One load run: a saturation or a fixed-rate scenario.
typedef struct {
    bool ran;                           //  it ran (else the rest is empty)
    const char *name;                   //  "saturation-1", "saturation-4", "latency-4", ...
    size_t members;                     //  consensus members
    size_t verifiers;                   //  verifiers checking every transaction
    double target_rate;                 //  fixed rate asked (0: as fast as accepted)
    cc_bench_load_result_t load;        //  what the run measured
    double sign_seconds;                //  pre-signing time (not measured in the run)
    double ceiling_tx;                  //  the topology's ceiling in tx/s
    double ratio;                       //  throughput / ceiling
    double ratio_one_signature;         //  the same against the one-signature loop
    double window_s;                    //  wall time the CPU figures cover
    cc_bench_share_t share;             //  who used the machine meanwhile
    cc_bench_process_t processes [CC_BENCH_MAX_PROCESSES];  //  per process
    size_t process_count;               //  entries in processes
    char problem [200];                 //  why it could not run or finish, "" if fine
} cc_bench_run_t;

//  The catch-up of a fresh verifier.
typedef struct {
    bool ran;                           //  it ran
    uint64_t height;                    //  blocks synced
    uint64_t txs;                       //  transactions in them
    double seconds;                     //  start of the process to the last block stored
    double first_answer_s;              //  start of the process to its first GetStatus answer
    double tx_per_s;                    //  txs / seconds
    double blocks_per_s;                //  height / seconds
    double ceiling_tx;                  //  one verification per tx on all cores
    double ratio;                       //  tx_per_s / ceiling_tx
    double ratio_one_signature;         //  the same against the one-signature loop
    cc_bench_process_t verifier;        //  the syncing verifier
    cc_bench_process_t relay;           //  the relay serving it
    cc_bench_share_t share;             //  who used the machine meanwhile
    char problem [200];                 //  "" if fine
} cc_bench_catchup_t;

//  The certification measurements.
typedef struct {
    bool ran;                           //  it ran
    cc_bench_joins_t joins;             //  one after another, default policy
    cc_bench_burst_t burst;             //  many at once
    size_t burst_packets;               //  the burst policy's packets
    cc_bench_process_t ca;              //  the CA during the burst
    char problem [200];                 //  "" if fine
} cc_bench_certification_t;

//  One target of issue 5, item 4, next to what was measured.
typedef struct {
    const char *name;                   //  what is measured
    char target [64];                   //  the target, in words
    char measured [96];                 //  the figure, in words
    double value;                       //  the figure
    bool known;                         //  measured in this run
    bool met;                           //  met (meaningful when known)
} cc_bench_target_t;

//  Everything one run of certchain-bench found.
typedef struct {
    const char *mode;                   //  the plan's mode
    char cpu_model [128];               //  /proc/cpuinfo's model name
    size_t cpus;                        //  online CPUs
    double memory_gib;                  //  total memory
    double load_before;                 //  1-minute load average when the bench started
    double load_after;                  //  and when it ended (others share the machine)
    const char *buildtype;              //  how the bench (and its tree) was built
    cc_bench_ceiling_t ceiling;         //  the crypto ceiling: the better of the two
    cc_bench_ceiling_t ceiling_start;   //  measured before the scenarios
    cc_bench_ceiling_t ceiling_end;     //  measured after them
    cc_bench_run_t runs [3];            //  saturation-1, saturation-4, latency-4
    cc_bench_catchup_t catchup;         //  (c)
    cc_bench_certification_t certification;   //  (d)
    cc_bench_target_t targets [CC_BENCH_MAX_TARGETS];  //  issue 5's targets
    size_t target_count;                //  entries in targets
    double elapsed_s;                   //  the whole bench
} cc_bench_results_t;

//  --- Scenarios (scenario.c) -----------------------------------------------------------

//  Fills plan with the sizes of mode ("full", "quick" or "smoke") and
//  every scenario of that mode selected. 0 or INVALID_ARG.
int
    cc_bench_plan_defaults (cc_bench_plan_t *plan, const char *mode);

//  Runs the plan's scenarios into results (cleared first), printing
//  progress lines on stderr. 0 when everything could run (targets may be
//  missed), else the first error with reason (the results hold what ran).
int
    cc_bench_run (const cc_bench_plan_t *plan, cc_bench_results_t *results,
                  cc_reason_t *reason);

//  Fills results' targets from its figures.
void
    cc_bench_targets (cc_bench_results_t *results);

//  --- Report (report.c) --------------------------------------------------------------

//  Prints the tables (Markdown, so they paste into docs) to stream.
void
    cc_bench_report_print (const cc_bench_results_t *results, FILE *stream);

//  Writes the whole results as one JSON document to path. 0 or IO.
int
    cc_bench_report_json (const cc_bench_results_t *results, const char *path,
                          cc_reason_t *reason);

#endif
