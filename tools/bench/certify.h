/*  =========================================================================
    certify - how long certification takes, measured from the outside

    Two measurements on a running network with a producing CA:

    joins   one candidate after another, each the real candidate code
            (common/join's cc_join_run, as `certchain join` runs it):
            request, challenge, solve, answer, result; then the bench
            waits until the verifier answers GetTx for the Certify
            transaction. join_ms is that whole time, from the request to
            the certificate committed at the verifier. The new member is
            then started (a certchain-validator with that key that never
            joins by itself) and the bench waits until the grown set has
            committed a block, so the next join meets a live chain.
    burst   N candidates at once (as tests/integration/joinforge.c's bench):
            each requests and solves on its own thread, then all answer at
            the same moment; answers per second = answers / (last result -
            first answer sent). Their Certify transactions make members
            that never run, which stalls the chain once committed: a burst
            is the last thing a network does.

    Both read the CA's own verification time per answer (verify_ms of its
    audit log's accepted decisions, AuditQuery on the join socket).
    =========================================================================
*/

#ifndef CC_BENCH_CERTIFY_H_INCLUDED
#define CC_BENCH_CERTIFY_H_INCLUDED

#include <stddef.h>

#include "error.h"
#include "net.h"
#include "stats.h"

//  What the sequential joins measured.
typedef struct {
    size_t joins;                       //  joins attempted
    size_t certified;                   //  certified and committed
    cc_bench_summary_t join_ms;         //  request to Certify committed at the verifier
    cc_bench_summary_t solve_ms;        //  the candidate's solving part of it
    cc_bench_summary_t verify_ms;       //  the CA's verification per accepted answer
    char problem [200];                 //  the first failure, "" if none
} cc_bench_joins_t;

//  What the burst measured.
typedef struct {
    size_t candidates;                  //  candidates started
    size_t answered;                    //  answers sent (solved in time)
    size_t accepted;                    //  answers the CA accepted
    double answer_seconds;              //  first answer sent to last result
    double answers_per_s;               //  answered / answer_seconds
    double mean_solve_ms;               //  a candidate's solve, on a shared machine
    cc_bench_summary_t verify_ms;       //  the CA's verification per accepted answer
    char problem [200];                 //  the first failure, "" if none
} cc_bench_burst_t;

//  Runs joins certifications one after another on net (started, with a
//  producing CA). 0 (see result for failures) or an error with reason.
int
    cc_bench_joins_run (cc_bench_net_t *net, size_t joins, cc_bench_joins_t *result,
                        cc_reason_t *reason);

//  Runs candidates joins at once on net. 0 (see result) or an error.
int
    cc_bench_burst_run (cc_bench_net_t *net, size_t candidates, cc_bench_burst_t *result,
                        cc_reason_t *reason);

#endif
