/*  =========================================================================
    ceiling - what this machine's cryptography allows, measured in the run

    Every honest node verifies every transaction's Ed25519 signature once:
    a network of n consensus members and one verifier, all on this machine,
    verifies each transaction n + 1 times, so its throughput can never beat
    (verifications per second on all cores) / (n + 1). certchain-bench
    measures that rate in the same run as the load (libsodium's
    crypto_sign_verify_detached over distinct messages the size of what a
    transfer's signature covers: domain, chain id and a transfer body), on
    one thread and on one thread per online core, and states throughput as
    a share of it. One signature verified over and over on every core is
    measured too, for comparison only: it runs faster than any stream of
    real signatures can (see ceiling.c).

    The figure is taken before any network starts, on an idle machine: it
    is the ceiling the network shares with everything else it does.
    =========================================================================
*/

#ifndef CC_BENCH_CEILING_H_INCLUDED
#define CC_BENCH_CEILING_H_INCLUDED

#include <stddef.h>

//  What the measurement found.
typedef struct {
    size_t threads;             //  threads used for the all-cores figure
    double one_core;            //  verifications per second on one thread
    double all_cores;           //  verifications per second, threads at once
    double all_cores_one_signature;     //  the same, one signature over and over
    size_t signatures;          //  distinct signatures verified in turn
    double duration_s;          //  how long each of the three measurements ran
} cc_bench_ceiling_t;

//  Measures verifications/s of distinct signatures on one thread, then on
//  threads threads (0: one per online CPU), then of one signature on
//  threads threads, each for about duration_ms. 0, or NOMEM / INTERNAL
//  when a thread cannot start or a signature does not verify.
int
    cc_bench_ceiling_measure (size_t threads, int duration_ms, cc_bench_ceiling_t *ceiling);

//  The network's ceiling in transactions per second: all_cores divided by
//  the verifications each transaction costs (members + verifiers).
double
    cc_bench_ceiling_tx (const cc_bench_ceiling_t *ceiling, size_t members, size_t verifiers);

#endif
