/*  =========================================================================
    proc - what the kernel says about one process: CPU time and memory

    certchain-bench reports, for every process of the network it measures,
    the CPU it used during a run and its resident memory, idle and at its
    peak. Both come from /proc, read by pid: CPU as utime + stime of
    /proc/PID/stat (clock ticks, turned into seconds), memory as VmRSS
    (now) and VmHWM (the peak since the process started) of
    /proc/PID/status. Reading is cheap (two small files), so the bench
    samples before and after each measured window. The machine's own
    busy time (/proc/stat) tells how much of it others took meanwhile:
    on a shared machine that is what a low figure is read against.

    DESIGN: the comm field of /proc/PID/stat may hold spaces and
    parentheses, so the fields after it are found from the LAST ')'.
    =========================================================================
*/

#ifndef CC_BENCH_PROC_H_INCLUDED
#define CC_BENCH_PROC_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

//  One reading of a process.
typedef struct {
    double cpu_s;               //  user + system CPU seconds since it started
    uint64_t rss_kib;           //  resident memory now (VmRSS)
    uint64_t hwm_kib;           //  peak resident memory so far (VmHWM)
} cc_bench_proc_t;

//  Reads pid's CPU time and memory into sample. 0, or NOT_FOUND when the
//  process is gone (or unreadable), MALFORMED when /proc says something
//  unexpected.
int
    cc_bench_proc_read (pid_t pid, cc_bench_proc_t *sample);

//  Parses the text of a /proc/PID/stat file: utime + stime in clock
//  ticks into *ticks. 0 or MALFORMED. (Split out so it can be tested.)
int
    cc_bench_proc_parse_stat (const char *text, uint64_t *ticks);

//  Parses the text of a /proc/PID/status file: VmRSS and VmHWM in KiB
//  (0 where a line is missing, e.g. a zombie). 0 or MALFORMED.
int
    cc_bench_proc_parse_status (const char *text, uint64_t *rss_kib, uint64_t *hwm_kib);

//  The whole machine's CPU time so far, from the first line of /proc/stat,
//  in clock ticks summed over all CPUs: busy (user, nice, system, irq,
//  softirq, steal) and total (busy plus idle and iowait). 0 or
//  NOT_FOUND / MALFORMED.
int
    cc_bench_proc_machine (uint64_t *busy, uint64_t *total);

//  Parses the text of /proc/stat (its first line) as above. 0 or
//  MALFORMED. (Split out so it can be tested.)
int
    cc_bench_proc_parse_machine (const char *text, uint64_t *busy, uint64_t *total);

//  CPU seconds this process itself used so far, all threads (getrusage
//  RUSAGE_SELF): the bench's own share of the machine.
double
    cc_bench_proc_self_cpu (void);

#endif
