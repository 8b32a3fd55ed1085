/*  =========================================================================
    load - one measured run: submit a transfer set, see it committed

    The run submits a pre-signed transfer set to the relay (SubmitTxBatch
    over a DEALER, many requests in flight, never one at a time) and reads
    back every block the verifier commits from the height it had at the
    start, by GetBlock on the verifier's query socket: asked again after
    poll_ms while the next height is not there, asked at once when it was.
    A transfer's latency is the time from the moment its request left to
    the moment the block holding it came back from the verifier, so it
    counts everything: relay, gossip, mempool, consensus, upload, the
    verifier's full verification and storage.

    Two ways to submit (Caliper's rate controllers):
      rate > 0   open loop at that many transfers per second, whatever the
                 chain does (fixed rate);
      rate = 0   as fast as the chain accepts: a new request goes out as
                 long as fewer than window transfers are submitted and not
                 yet committed (fixed backlog). The window keeps the
                 validators' mempools (20,000 by default) from overflowing.
    In both, at most max_requests requests wait for their reply.

    A transfer succeeded once committed; it failed when the relay refused
    it or when it was still not committed drain_ms after the last commit
    that came (lost). The run also ends when nothing commits for drain_ms
    before all is sent: transfers the network dropped (a mempool full
    behind a window larger than it) would otherwise hold the window for
    ever; what was never sent is not counted. Figures are Caliper's: send rate = submitted / (the
    relay's answer to the last request - first submit); throughput = committed / (last commit - first
    submit); latency min / avg / p50 / p99 / max over committed transfers.
    =========================================================================
*/

#ifndef CC_BENCH_LOAD_H_INCLUDED
#define CC_BENCH_LOAD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "stats.h"
#include "workload.h"

//  How to submit.
typedef struct {
    double rate;                //  transfers per second; 0: as fast as accepted
    size_t window;              //  most transfers submitted and not committed (0: 10000)
    size_t max_requests;        //  most requests awaiting their reply (0: 16)
    int drain_ms;               //  give up on the rest after this long without a
                                //  commit while transfers are out (0: 20000)
    int poll_ms;                //  ask the verifier again after this long (0: 5)
    int timeout_ms;             //  the whole run at most (0: no limit)
} cc_bench_load_opts_t;

//  What a run measured.
typedef struct {
    uint64_t submitted;         //  transfers sent to the relay
    uint64_t refused;           //  refused by the relay
    uint64_t committed;         //  seen in a block at the verifier (succeeded)
    uint64_t lost;              //  accepted but not committed in time
    double send_rate;           //  transfers per second sent
    double throughput;          //  transfers per second committed
    double duration_s;          //  first submit to last commit
    cc_bench_summary_t latency_ms;      //  submit to committed at the verifier
    uint64_t start_height;      //  verifier height when the run started
    uint64_t end_height;        //  last height read back
    uint64_t blocks;            //  blocks read back
    uint64_t block_txs;         //  transactions in them (the bench's and others)
    uint64_t max_block_txs;     //  most in one block
    char refusal [200];         //  the first refusal or problem, "" if none
} cc_bench_load_result_t;

//  Runs set against relay (rpc endpoint) and verifier (query endpoint).
//  0 once the run ended (even with failures: see result), or an error
//  with reason when the run could not happen (IO, TIMEOUT on the first
//  status, interrupted).
int
    cc_bench_load_run (cc_bench_txset_t *set, const char *relay, const char *verifier,
                       const cc_bench_load_opts_t *opts, cc_bench_load_result_t *result,
                       cc_reason_t *reason);

//  Wall-clock microseconds on the monotonic clock.
int64_t
    cc_bench_now_us (void);

#endif
