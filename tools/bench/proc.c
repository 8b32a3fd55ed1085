/*  =========================================================================
    proc - CPU time and memory of a process from /proc (see proc.h)
    =========================================================================
*/

#include "proc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "error.h"

//  Largest /proc file read (status is about 1.5 KiB, stat under 1 KiB).
#define S_MAX_TEXT 8192

//  Reads a small text file into buffer (NUL-terminated). 0 or NOT_FOUND.
static int
s_slurp (const char *path, char *buffer, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return CC_E_NOT_FOUND;
    size_t length = fread (buffer, 1, size - 1, file);
    fclose (file);
    buffer [length] = 0;
    return length ? 0 : CC_E_NOT_FOUND;
}

//  --- Parsing -----------------------------------------------------------------------

int
cc_bench_proc_parse_stat (const char *text, uint64_t *ticks)
{
    //  Fields after "(comm)": 3 state, 4 ppid, ... 14 utime, 15 stime.
    const char *cursor = strrchr (text, ')');
    if (!cursor)
        return CC_E_MALFORMED;
    cursor++;
    uint64_t values [2] = {0, 0};
    for (int field = 3; field <= 15; field++) {
        while (*cursor == ' ')
            cursor++;
        if (!*cursor)
            return CC_E_MALFORMED;
        if (field >= 14) {
            char *end = NULL;
            errno = 0;
            unsigned long long value = strtoull (cursor, &end, 10);
            if (errno || end == cursor)
                return CC_E_MALFORMED;
            values [field - 14] = value;
            cursor = end;
        }
        else
            while (*cursor && *cursor != ' ')
                cursor++;
    }
    *ticks = values [0] + values [1];
    return 0;
}

//  The number after "name:" on its own line of text, in KiB, or 0.
static int
s_status_field (const char *text, const char *name, uint64_t *value)
{
    *value = 0;
    size_t length = strlen (name);
    for (const char *line = text; line && *line; ) {
        if (strncmp (line, name, length) == 0 && line [length] == ':') {
            char *end = NULL;
            errno = 0;
            unsigned long long number = strtoull (line + length + 1, &end, 10);
            if (errno || end == line + length + 1)
                return CC_E_MALFORMED;
            while (*end == ' ' || *end == '\t')
                end++;
            if (strncmp (end, "kB", 2) != 0)
                return CC_E_MALFORMED;
            *value = number;
            return 0;
        }
        line = strchr (line, '\n');
        if (line)
            line++;
    }
    return 0;
}

int
cc_bench_proc_parse_status (const char *text, uint64_t *rss_kib, uint64_t *hwm_kib)
{
    int rc = s_status_field (text, "VmRSS", rss_kib);
    if (rc == 0)
        rc = s_status_field (text, "VmHWM", hwm_kib);
    return rc;
}

int
cc_bench_proc_parse_machine (const char *text, uint64_t *busy, uint64_t *total)
{
    //  "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
    if (strncmp (text, "cpu ", 4) != 0)
        return CC_E_MALFORMED;
    const char *cursor = text + 4;
    uint64_t values [8] = {0};
    int fields = 0;
    for (; fields < 8; fields++) {
        char *end = NULL;
        errno = 0;
        unsigned long long value = strtoull (cursor, &end, 10);
        if (errno || end == cursor)
            break;
        values [fields] = value;
        cursor = end;
    }
    //  Kernels since 2.6.11 give at least 8 fields; 4 is the bare minimum.
    if (fields < 4)
        return CC_E_MALFORMED;
    *busy = values [0] + values [1] + values [2] + values [5] + values [6] + values [7];
    *total = *busy + values [3] + values [4];
    return 0;
}

//  --- Reading -----------------------------------------------------------------------

int
cc_bench_proc_read (pid_t pid, cc_bench_proc_t *sample)
{
    memset (sample, 0, sizeof (*sample));
    char path [64];
    char text [S_MAX_TEXT];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    int rc = s_slurp (path, text, sizeof (text));
    uint64_t ticks = 0;
    if (rc == 0)
        rc = cc_bench_proc_parse_stat (text, &ticks);
    if (rc != 0)
        return rc;
    long hertz = sysconf (_SC_CLK_TCK);
    sample->cpu_s = (double) ticks / (double) (hertz > 0 ? hertz : 100);
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    rc = s_slurp (path, text, sizeof (text));
    if (rc == 0)
        rc = cc_bench_proc_parse_status (text, &sample->rss_kib, &sample->hwm_kib);
    return rc;
}

int
cc_bench_proc_machine (uint64_t *busy, uint64_t *total)
{
    char text [S_MAX_TEXT];
    int rc = s_slurp ("/proc/stat", text, sizeof (text));
    return rc == 0 ? cc_bench_proc_parse_machine (text, busy, total) : rc;
}

double
cc_bench_proc_self_cpu (void)
{
    struct rusage usage;
    if (getrusage (RUSAGE_SELF, &usage) != 0)
        return 0;
    return (double) usage.ru_utime.tv_sec + (double) usage.ru_utime.tv_usec / 1e6
         + (double) usage.ru_stime.tv_sec + (double) usage.ru_stime.tv_usec / 1e6;
}
