/*  =========================================================================
    stats - min, mean, median, 99th percentile and max (see stats.h)
    =========================================================================
*/

#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
s_compare (const void *a, const void *b)
{
    double left = *(const double *) a;
    double right = *(const double *) b;
    return left < right ? -1 : left > right ? 1 : 0;
}

double
cc_bench_percentile (const double *sorted, size_t count, double p)
{
    if (count == 0)
        return 0;
    double rank = ceil (p / 100.0 * (double) count);
    size_t index = rank < 1 ? 0 : (size_t) rank - 1;
    if (index >= count)
        index = count - 1;
    return sorted [index];
}

void
cc_bench_summarize (double *values, size_t count, cc_bench_summary_t *summary)
{
    memset (summary, 0, sizeof (*summary));
    if (count == 0)
        return;
    qsort (values, count, sizeof (double), s_compare);
    double total = 0;
    for (size_t index = 0; index < count; index++)
        total += values [index];
    summary->count = count;
    summary->min = values [0];
    summary->max = values [count - 1];
    summary->avg = total / (double) count;
    summary->p50 = cc_bench_percentile (values, count, 50);
    summary->p99 = cc_bench_percentile (values, count, 99);
}
