/*  =========================================================================
    stats - the summary of a list of measurements (latencies)

    Caliper reports latency as min / avg / max; certchain-bench adds the
    median and the 99th percentile, which say more about a chain under
    load. Percentiles are nearest-rank (the smallest value with at least
    p% of the values at or below it), so every figure printed is one that
    was really measured.
    =========================================================================
*/

#ifndef CC_BENCH_STATS_H_INCLUDED
#define CC_BENCH_STATS_H_INCLUDED

#include <stddef.h>

//  A summary; every field is 0 when count is 0.
typedef struct {
    size_t count;               //  values summarized
    double min;                 //  smallest
    double avg;                 //  arithmetic mean
    double p50;                 //  median (nearest rank)
    double p99;                 //  99th percentile (nearest rank)
    double max;                 //  largest
} cc_bench_summary_t;

//  Sorts values (count of them, modified in place) and fills summary.
void
    cc_bench_summarize (double *values, size_t count, cc_bench_summary_t *summary);

//  The nearest-rank p-th percentile (0 < p <= 100) of count sorted
//  values; 0 when count is 0.
double
    cc_bench_percentile (const double *sorted, size_t count, double p);

#endif
