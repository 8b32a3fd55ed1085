/*  =========================================================================
    profile - measure the machine a node runs on (see profile.h)

    Every source is read as text and handed to a parser that takes text, so
    the parsers are tested on fixtures and the measurement only decides where
    the text comes from. A source that is missing or unreadable is not an
    error: the field falls back to the next source, or to "unknown" / 0 /
    no GPUs. Only the data directory must exist, since the disk figures are
    about it and the CA's policy depends on them.

    The cgroup limits (see profile.h for why) are found by a walk: from the
    process's cgroup directory under a hierarchy's mount up to the mount
    itself, one limit read in each directory, the smallest kept. Walking
    up matters twice over: a limit set on a parent (a systemd slice, the
    container's own cgroup) binds every child below it, and a container
    without its own cgroup namespace sees the host's path in
    /proc/self/cgroup while its mount shows only its own cgroup, so the
    deeper directories are missing and the mount itself holds the limit.
    The walk never goes above the mount, so it never reads outside it.
    One case it gets wrong: in such a container, cgroups created inside
    it under the very names of the host's path would be read as this
    process's, and their limits, if lower, would lower the figures. A
    profile is the candidate's own statement anyway (the challenge is
    what the CA measures), so this errs only against the candidate.

    nvidia-smi runs as a child process (fork and execv, no shell) with its
    output on a pipe; the parent polls the pipe against a deadline and kills
    the child's process group when the time is up, so a hung driver cannot
    hang a node's start. No signal handler or alarm is used: they are process
    state, and this code may run next to other threads.
    =========================================================================
*/

#include "profile.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_CPUINFO_PATH "/proc/cpuinfo"
#define S_MEMINFO_PATH "/proc/meminfo"
#define S_CPUFREQ_PATH "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"
#define S_NVIDIA_GPUS_DIR "/proc/driver/nvidia/gpus"
#define S_NVIDIA_SMI "nvidia-smi"
#define S_CGROUP_ROOT "/sys/fs/cgroup"
#define S_SELF_CGROUP_PATH "/proc/self/cgroup"
//  A v1 memory limit this large or larger means none: cgroup v1 writes
//  "no limit" as the largest page-aligned signed count (2^63 - 4096 with
//  4 KiB pages), and no machine has 2^62 bytes.
#define S_MEMORY_NO_LIMIT (1ULL << 62)
//  Largest text read from one source; /proc/cpuinfo of a big machine fits.
#define S_TEXT_MAX (1024 * 1024)
//  Largest nvidia-smi output kept (a line per GPU).
#define S_PROGRAM_OUTPUT_MAX (64 * 1024)

//  --- Text helpers ----------------------------------------------------------------

//  Reads a whole (small) file into a fresh NUL-terminated string; files in
//  /proc report size 0, so it reads to the end. 0, IO or NOMEM.
static int
s_read_text (const char *path, char **text_p)
{
    *text_p = NULL;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CC_E_IO;
    size_t capacity = 4096, size = 0;
    char *text = (char *) malloc (capacity);
    if (!text) {
        close (fd);
        return CC_E_NOMEM;
    }
    while (size < S_TEXT_MAX) {
        if (capacity - size < 2) {
            char *grown = (char *) realloc (text, capacity * 2);
            if (!grown) {
                free (text);
                close (fd);
                return CC_E_NOMEM;
            }
            text = grown;
            capacity *= 2;
        }
        ssize_t got = read (fd, text + size, capacity - size - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free (text);
            close (fd);
            return CC_E_IO;
        }
        if (got == 0)
            break;
        size += (size_t) got;
    }
    close (fd);
    text [size] = 0;
    *text_p = text;
    return 0;
}

//  Copies [start, start + length) into target (size bytes with its NUL),
//  without the blanks at either end; truncates what does not fit.
static void
s_copy_trimmed (char *target, size_t size, const char *start, size_t length)
{
    while (length > 0 && isspace ((unsigned char) *start)) {
        start++;
        length--;
    }
    while (length > 0 && isspace ((unsigned char) start [length - 1]))
        length--;
    if (length >= size)
        length = size - 1;
    memcpy (target, start, length);
    target [length] = 0;
}

//  Finds the first line "key<blanks>:value" of text and returns value's
//  start, with its length (to the end of the line) in *length; else NULL.
static const char *
s_find_value (const char *text, const char *key, size_t *length)
{
    size_t key_length = strlen (key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr (line, '\n');
        size_t line_length = end ? (size_t) (end - line) : strlen (line);
        if (line_length > key_length && strncmp (line, key, key_length) == 0) {
            const char *cursor = line + key_length;
            while (cursor < line + line_length && (*cursor == ' ' || *cursor == '\t'))
                cursor++;
            if (cursor < line + line_length && *cursor == ':') {
                cursor++;
                *length = (size_t) (line + line_length - cursor);
                return cursor;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

//  Narrows [*start, *start + *length) to its text without blanks at
//  either end.
static void
s_trim_span (const char **start, size_t *length)
{
    while (*length > 0 && isspace ((unsigned char) **start)) {
        (*start)++;
        (*length)--;
    }
    while (*length > 0 && isspace ((unsigned char) (*start) [*length - 1]))
        (*length)--;
}

//  Parses [start, start + length), a whole unsigned decimal with blanks
//  around allowed, into *value. Text too long for any 64-bit number is
//  refused, not cut short to something that parses.
static bool
s_parse_u64_span (const char *start, size_t length, uint64_t *value)
{
    char buffer [32];
    s_trim_span (&start, &length);
    if (length >= sizeof (buffer))
        return false;
    s_copy_trimmed (buffer, sizeof (buffer), start, length);
    if (!isdigit ((unsigned char) buffer [0]))
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long parsed = strtoull (buffer, &end, 10);
    if (errno != 0 || *end != 0)
        return false;
    *value = parsed;
    return true;
}

//  Parses a whole unsigned decimal (blanks around allowed) into *value.
static bool
s_parse_u64 (const char *text, uint64_t *value)
{
    return s_parse_u64_span (text, strlen (text), value);
}

//  True if [start, start + length) is exactly word.
static bool
s_span_is (const char *start, size_t length, const char *word)
{
    return length == strlen (word) && memcmp (start, word, length) == 0;
}

//  --- Parsers -----------------------------------------------------------------------

int
cc_profile_parse_cpuinfo (const char *text, char *model, size_t model_size, uint32_t *mhz)
{
    assert (text && model && model_size > 0 && mhz);
    model [0] = 0;
    *mhz = 0;
    size_t length;
    const char *value = s_find_value (text, "model name", &length);
    if (value)
        s_copy_trimmed (model, model_size, value, length);
    value = s_find_value (text, "cpu MHz", &length);
    if (value) {
        char buffer [32];
        s_copy_trimmed (buffer, sizeof (buffer), value, length);
        char *end = NULL;
        double parsed = strtod (buffer, &end);
        if (end != buffer && *end == 0 && isfinite (parsed) && parsed > 0 && parsed < 1e6)
            *mhz = (uint32_t) lround (parsed);
    }
    return model [0] || *mhz ? 0 : CC_E_NOT_FOUND;
}

int
cc_profile_parse_meminfo (const char *text, uint64_t *memory_bytes)
{
    assert (text && memory_bytes);
    size_t length;
    const char *value = s_find_value (text, "MemTotal", &length);
    if (!value)
        return CC_E_NOT_FOUND;
    char buffer [64];
    s_copy_trimmed (buffer, sizeof (buffer), value, length);
    //  "16314560 kB": the unit is always kB (KiB) in /proc/meminfo.
    char *unit = strchr (buffer, ' ');
    if (!unit || strcmp (unit + strspn (unit, " "), "kB") != 0)
        return CC_E_BAD_FIELD;
    *unit = 0;
    uint64_t kib;
    if (!s_parse_u64 (buffer, &kib) || kib > UINT64_MAX / 1024)
        return CC_E_BAD_FIELD;
    *memory_bytes = kib * 1024;
    return 0;
}

//  Appends a GPU to profile (the gpus array grows one at a time, in
//  protobuf-c's layout). 0 or NOMEM; past CC_PROFILE_MAX_GPUS it is dropped.
static int
s_add_gpu (Certchain__MachineProfile *profile, const char *name, uint64_t memory_bytes)
{
    if (profile->n_gpus >= CC_PROFILE_MAX_GPUS)
        return 0;
    Certchain__Gpu **gpus = (Certchain__Gpu **) realloc (
        profile->gpus, (profile->n_gpus + 1) * sizeof (Certchain__Gpu *));
    if (!gpus)
        return CC_E_NOMEM;
    profile->gpus = gpus;
    Certchain__Gpu *gpu = (Certchain__Gpu *) malloc (sizeof (Certchain__Gpu));
    char *copy = strndup (name, CC_PROFILE_NAME_MAX);
    if (!gpu || !copy) {
        free (gpu);
        free (copy);
        return CC_E_NOMEM;
    }
    certchain__gpu__init (gpu);
    gpu->name = copy;
    gpu->memory_bytes = memory_bytes;
    profile->gpus [profile->n_gpus++] = gpu;
    return 0;
}

int
cc_profile_parse_nvidia_smi (const char *csv_text, Certchain__MachineProfile *profile)
{
    assert (csv_text && profile);
    int added = 0;
    for (const char *line = csv_text; line && *line;) {
        const char *end = strchr (line, '\n');
        size_t line_length = end ? (size_t) (end - line) : strlen (line);
        char buffer [2 * CC_PROFILE_NAME_MAX];
        s_copy_trimmed (buffer, sizeof (buffer), line, line_length);
        line = end ? end + 1 : NULL;
        //  The last comma splits: GPU names have none, but be safe.
        char *comma = strrchr (buffer, ',');
        if (!comma)
            continue;
        *comma = 0;
        char name [CC_PROFILE_NAME_MAX];
        s_copy_trimmed (name, sizeof (name), buffer, strlen (buffer));
        if (!name [0])
            continue;
        uint64_t mib = 0;
        if (!s_parse_u64 (comma + 1, &mib) || mib > UINT64_MAX / (1024 * 1024))
            mib = 0;
        int rc = s_add_gpu (profile, name, mib * 1024 * 1024);
        if (rc != 0)
            return rc;
        added++;
    }
    return added;
}

int
cc_profile_parse_nvidia_information (const char *text, char *model, size_t model_size)
{
    assert (text && model && model_size > 0);
    model [0] = 0;
    size_t length;
    const char *value = s_find_value (text, "Model", &length);
    if (value)
        s_copy_trimmed (model, model_size, value, length);
    return model [0] ? 0 : CC_E_NOT_FOUND;
}

//  --- Parsers: cgroups ------------------------------------------------------------------

//  True if the comma-separated list [list, list + length) has item.
static bool
s_list_has (const char *list, size_t length, const char *item)
{
    const char *end = list + length;
    while (list < end) {
        const char *comma = (const char *) memchr (list, ',', (size_t) (end - list));
        const char *stop = comma ? comma : end;
        if (s_span_is (list, (size_t) (stop - list), item))
            return true;
        list = comma ? comma + 1 : end;
    }
    return false;
}

//  True if the path [path, path + length) has a ".." component.
static bool
s_has_parent_step (const char *path, size_t length)
{
    const char *end = path + length;
    while (path < end) {
        const char *slash = (const char *) memchr (path, '/', (size_t) (end - path));
        const char *stop = slash ? slash : end;
        if (s_span_is (path, (size_t) (stop - path), ".."))
            return true;
        path = slash ? slash + 1 : end;
    }
    return false;
}

int
cc_profile_parse_self_cgroup (const char *text, const char *controller, char *controllers,
                              size_t controllers_size, char *path, size_t path_size)
{
    assert (text && path && path_size > 0);
    assert (!controller || *controller);
    assert (!controllers || controllers_size > 0);
    path [0] = 0;
    if (controllers)
        controllers [0] = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr (line, '\n');
        size_t line_length = end ? (size_t) (end - line) : strlen (line);
        const char *next = end ? end + 1 : NULL;
        //  "id:list:path"; the path is the rest of the line, colons and all.
        const char *first = (const char *) memchr (line, ':', line_length);
        const char *list = first ? first + 1 : NULL;
        const char *second =
            list ? (const char *) memchr (list, ':', (size_t) (line + line_length - list)) : NULL;
        if (second) {
            size_t list_length = (size_t) (second - list);
            //  The v2 line is always hierarchy 0 with no controllers.
            bool match = controller ? s_list_has (list, list_length, controller)
                                    : s_span_is (line, (size_t) (first - line), "0")
                                          && list_length == 0;
            if (match) {
                const char *value = second + 1;
                size_t value_length = (size_t) (line + line_length - value);
                if (value_length == 0 || value [0] != '/' || value_length >= path_size
                    || s_has_parent_step (value, value_length)
                    || (controllers && list_length >= controllers_size))
                    return CC_E_BAD_FIELD;
                memcpy (path, value, value_length);
                path [value_length] = 0;
                if (controllers) {
                    memcpy (controllers, list, list_length);
                    controllers [list_length] = 0;
                }
                return 0;
            }
        }
        line = next;
    }
    return CC_E_NOT_FOUND;
}

//  Reads a cgroup limit in [start, start + length): 0 with the number in
//  *value; NOT_FOUND for none_word (how the file says "no limit");
//  BAD_FIELD for anything else.
static int
s_parse_limit (const char *start, size_t length, const char *none_word, uint64_t *value)
{
    s_trim_span (&start, &length);
    if (s_span_is (start, length, none_word))
        return CC_E_NOT_FOUND;
    return s_parse_u64_span (start, length, value) ? 0 : CC_E_BAD_FIELD;
}

int
cc_profile_parse_cgroup_memory (const char *text, uint64_t *bytes)
{
    assert (text && bytes);
    uint64_t value;
    int rc = s_parse_limit (text, strlen (text), "max", &value);
    if (rc != 0)
        return rc;
    if (value >= S_MEMORY_NO_LIMIT)
        return CC_E_NOT_FOUND;
    *bytes = value;
    return 0;
}

//  Whole cores of a CFS quota: quota / period rounded up, so a quota of
//  1.5 CPUs, which keeps two CPUs busy part of the time, counts as 2.
//  0 or BAD_FIELD (the kernel takes neither a zero quota nor a zero period).
static int
s_quota_cores (uint64_t quota, uint64_t period, uint32_t *cores)
{
    if (quota == 0 || period == 0)
        return CC_E_BAD_FIELD;
    uint64_t whole = quota / period + (quota % period != 0);
    *cores = whole > UINT32_MAX ? UINT32_MAX : (uint32_t) whole;
    return 0;
}

int
cc_profile_parse_cgroup_cpu_max (const char *text, uint32_t *cores)
{
    assert (text && cores);
    const char *start = text;
    size_t length = strlen (text);
    s_trim_span (&start, &length);
    //  Two words: the quota, then the period after the first blanks.
    size_t quota_length = 0;
    while (quota_length < length && !isspace ((unsigned char) start [quota_length]))
        quota_length++;
    const char *period_start = start + quota_length;
    size_t period_length = length - quota_length;
    uint64_t period;
    if (period_length == 0 || !s_parse_u64_span (period_start, period_length, &period)
        || period == 0)
        return CC_E_BAD_FIELD;
    uint64_t quota;
    int rc = s_parse_limit (start, quota_length, "max", &quota);
    return rc == 0 ? s_quota_cores (quota, period, cores) : rc;
}

int
cc_profile_parse_cgroup_cpu_quota (const char *quota_text, const char *period_text,
                                   uint32_t *cores)
{
    assert (quota_text && period_text && cores);
    uint64_t period;
    if (!s_parse_u64 (period_text, &period) || period == 0)
        return CC_E_BAD_FIELD;
    uint64_t quota;
    int rc = s_parse_limit (quota_text, strlen (quota_text), "-1", &quota);
    return rc == 0 ? s_quota_cores (quota, period, cores) : rc;
}

//  --- Sources -------------------------------------------------------------------------

//  CPUs this process may run on (see profile.h).
static uint32_t
s_cpu_cores (void)
{
    cpu_set_t set;
    CPU_ZERO (&set);
    if (sched_getaffinity (0, sizeof (set), &set) == 0 && CPU_COUNT (&set) > 0)
        return (uint32_t) CPU_COUNT (&set);
    long online = sysconf (_SC_NPROCESSORS_ONLN);
    return online > 0 ? (uint32_t) online : 1;
}

//  Rounded MHz from cpufreq's kHz file; 0 if unavailable.
static uint32_t
s_cpufreq_mhz (const char *path)
{
    char *text = NULL;
    uint64_t khz = 0;
    if (s_read_text (path, &text) == 0 && s_parse_u64 (text, &khz) && khz < UINT32_MAX)
        khz = (khz + 500) / 1000;
    else
        khz = 0;
    free (text);
    return (uint32_t) khz;
}

static double
s_monotonic_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec * 1000.0 + (double) now.tv_nsec / 1e6;
}

//  Runs program with argv (no shell), collecting its standard output into
//  a fresh string. 0 if it exited 0 within timeout_ms; TIMEOUT (the child's
//  process group is killed), IO or NOMEM otherwise.
static int
s_run_program (const char *program, char *const argv [], unsigned timeout_ms, char **output_p)
{
    *output_p = NULL;
    int pipe_fds [2];
    if (pipe2 (pipe_fds, O_CLOEXEC) != 0)
        return CC_E_IO;
    pid_t pid = fork ();
    if (pid < 0) {
        close (pipe_fds [0]);
        close (pipe_fds [1]);
        return CC_E_IO;
    }
    if (pid == 0) {
        //  Child: only async-signal-safe calls until execv.
        setpgid (0, 0);
        int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0) {
            dup2 (null_fd, STDIN_FILENO);
            dup2 (null_fd, STDERR_FILENO);
        }
        //  dup2 clears close-on-exec on the copy, unless there is no copy.
        if (pipe_fds [1] == STDOUT_FILENO)
            fcntl (STDOUT_FILENO, F_SETFD, 0);
        else
            dup2 (pipe_fds [1], STDOUT_FILENO);
        execv (program, argv);
        _exit (127);
    }
    //  Both sides set the group, so a kill right after fork still reaches it.
    setpgid (pid, pid);
    close (pipe_fds [1]);

    //  The buffer is the parent's alone: allocated after the fork, so a
    //  child whose execv fails leaves nothing behind.
    char *output = (char *) malloc (S_PROGRAM_OUTPUT_MAX + 1);
    int rc = output ? 0 : CC_E_NOMEM;
    size_t size = 0;
    double deadline = s_monotonic_ms () + timeout_ms;
    while (rc == 0) {
        double left = deadline - s_monotonic_ms ();
        if (left <= 0) {
            rc = CC_E_TIMEOUT;
            break;
        }
        struct pollfd item = {.fd = pipe_fds [0], .events = POLLIN};
        int ready = poll (&item, 1, (int) ceil (left));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0) {
            rc = CC_E_IO;
            break;
        }
        if (ready == 0)
            continue;       //  the deadline check above ends the loop
        char scratch [4096];
        ssize_t got = read (pipe_fds [0], scratch, sizeof (scratch));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;          //  end of output (or a read error: same)
        size_t keep = (size_t) got;
        if (keep > S_PROGRAM_OUTPUT_MAX - size)
            keep = S_PROGRAM_OUTPUT_MAX - size;
        memcpy (output + size, scratch, keep);
        size += keep;
    }
    close (pipe_fds [0]);
    //  The output ended; the child should be exiting. Wait for it, within
    //  the same deadline, in case it lingers after closing its output.
    int status = 0;
    bool reaped = false;
    while (rc == 0 && !reaped) {
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid)
            reaped = true;
        else if (done < 0 && errno != EINTR) {
            rc = CC_E_IO;       //  reaped elsewhere (SIGCHLD ignored): nothing to wait for
            reaped = true;
        }
        else if (s_monotonic_ms () >= deadline)
            rc = CC_E_TIMEOUT;
        else {
            struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep (&pause, NULL);
        }
    }
    if (!reaped) {
        kill (-pid, SIGKILL);
        kill (pid, SIGKILL);
        while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (rc == 0 && !(WIFEXITED (status) && WEXITSTATUS (status) == 0))
        rc = CC_E_IO;
    if (rc != 0) {
        free (output);
        return rc;
    }
    output [size] = 0;
    *output_p = output;
    return 0;
}

//  Finds nvidia-smi in PATH; true with its path in buffer.
static bool
s_find_in_path (const char *name, char *buffer, size_t size)
{
    const char *path = getenv ("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t length = strcspn (path, ":");
        if (length > 0 && (size_t) snprintf (buffer, size, "%.*s/%s", (int) length, path, name)
                              < size
            && access (buffer, X_OK) == 0)
            return true;
        path += length;
        if (*path == ':')
            path++;
    }
    return false;
}

//  GPUs from nvidia-smi, when present and answering. 0 or NOMEM.
static int
s_gpus_from_smi (const cc_profile_sources_t *sources, Certchain__MachineProfile *profile)
{
    char program [4096];
    if (sources->nvidia_smi) {
        if (!*sources->nvidia_smi)
            return 0;
        snprintf (program, sizeof (program), "%s", sources->nvidia_smi);
    }
    else if (!s_find_in_path (S_NVIDIA_SMI, program, sizeof (program)))
        return 0;
    if (access (program, X_OK) != 0)
        return 0;
    char arg_query [] = "--query-gpu=name,memory.total";
    char arg_format [] = "--format=csv,noheader,nounits";
    char *argv [] = {program, arg_query, arg_format, NULL};
    unsigned timeout = sources->nvidia_smi_timeout_ms ? sources->nvidia_smi_timeout_ms
                                                      : CC_PROFILE_NVIDIA_SMI_TIMEOUT_MS;
    char *output = NULL;
    int rc = s_run_program (program, argv, timeout, &output);
    if (rc == CC_E_NOMEM)
        return rc;
    if (rc != 0)
        return 0;       //  absent, failing or hung: the /proc source is next
    rc = cc_profile_parse_nvidia_smi (output, profile);
    free (output);
    return rc < 0 ? rc : 0;
}

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  GPUs from the driver's /proc directory, one subdirectory per GPU (named
//  by PCI bus id, read in sorted order so the list is stable). 0 or NOMEM.
static int
s_gpus_from_proc (const char *directory, Certchain__MachineProfile *profile)
{
    if (!*directory)
        return 0;
    DIR *handle = opendir (directory);
    if (!handle)
        return 0;
    char *names [CC_PROFILE_MAX_GPUS];
    size_t count = 0;
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && count < CC_PROFILE_MAX_GPUS && (entry = readdir (handle))) {
        if (entry->d_name [0] == '.')
            continue;
        names [count] = strdup (entry->d_name);
        if (names [count])
            count++;
        else
            rc = CC_E_NOMEM;
    }
    closedir (handle);
    qsort (names, count, sizeof (char *), s_compare_names);
    for (size_t index = 0; index < count; index++) {
        char *path = NULL;
        char *text = NULL;
        char model [CC_PROFILE_NAME_MAX];
        if (rc == 0 && asprintf (&path, "%s/%s/information", directory, names [index]) < 0)
            rc = CC_E_NOMEM;
        if (rc == 0 && s_read_text (path, &text) == 0
            && cc_profile_parse_nvidia_information (text, model, sizeof (model)) == 0)
            rc = s_add_gpu (profile, model, 0);     //  /proc does not tell the memory
        free (text);
        free (path);
        free (names [index]);
    }
    return rc;
}

//  --- Sources: cgroup limits ---------------------------------------------------------

//  The limit a walk reads in each cgroup directory.
typedef enum {
    S_MEMORY_V2,        //  memory.max, bytes
    S_MEMORY_V1,        //  memory.limit_in_bytes, bytes
    S_CPU_V2,           //  cpu.max, cores
    S_CPU_V1            //  cpu.cfs_quota_us over cpu.cfs_period_us, cores
} s_limit_t;

//  Reads directory/name into a fresh string (caller frees). 0, IO or NOMEM.
static int
s_read_in (const char *directory, const char *name, char **text_p)
{
    char path [PATH_MAX];
    *text_p = NULL;
    if ((size_t) snprintf (path, sizeof (path), "%s/%s", directory, name) >= sizeof (path))
        return CC_E_IO;
    return s_read_text (path, text_p);
}

//  The limit of kind set in one cgroup directory: true with it in *limit;
//  false when there is none, or its file is missing, unreadable or junk.
static bool
s_directory_limit (const char *directory, s_limit_t kind, uint64_t *limit)
{
    static const char *names [] = {
        [S_MEMORY_V2] = "memory.max",
        [S_MEMORY_V1] = "memory.limit_in_bytes",
        [S_CPU_V2] = "cpu.max",
        [S_CPU_V1] = "cpu.cfs_quota_us",
    };
    char *text = NULL;
    char *period_text = NULL;
    int rc = s_read_in (directory, names [kind], &text);
    if (rc == 0 && kind == S_CPU_V1)
        rc = s_read_in (directory, "cpu.cfs_period_us", &period_text);
    uint32_t cores = 0;
    if (rc == 0) {
        switch (kind) {
            case S_MEMORY_V2:
            case S_MEMORY_V1: rc = cc_profile_parse_cgroup_memory (text, limit); break;
            case S_CPU_V2: rc = cc_profile_parse_cgroup_cpu_max (text, &cores); break;
            case S_CPU_V1:
                rc = cc_profile_parse_cgroup_cpu_quota (text, period_text, &cores);
                break;
        }
    }
    if (rc == 0 && (kind == S_CPU_V2 || kind == S_CPU_V1))
        *limit = cores;
    free (text);
    free (period_text);
    //  A zero memory limit is no figure: no process could be running in it.
    return rc == 0 && *limit > 0;
}

//  Lowers *smallest to the smallest limit of kind in mount + path and
//  each directory above it, up to mount itself (see the DESIGN above).
static void
s_walk_limits (const char *mount, const char *path, s_limit_t kind, uint64_t *smallest)
{
    char directory [PATH_MAX];
    size_t mount_length = strlen (mount);
    size_t length = (size_t) snprintf (directory, sizeof (directory), "%s%s", mount, path);
    if (length >= sizeof (directory))
        return;
    //  "/" and "/a/" name the mount and mount/a: no empty last step.
    while (length > mount_length && directory [length - 1] == '/')
        directory [--length] = 0;
    while (true) {
        uint64_t limit;
        if (s_directory_limit (directory, kind, &limit) && limit < *smallest)
            *smallest = limit;
        char *slash = strrchr (directory + mount_length, '/');
        if (!slash)
            break;
        *slash = 0;
    }
}

//  The v1 walk for controller: its hierarchy is mounted at
//  root/<controller list of its line> ("cpu,cpuacct"), or where only
//  the one name is mounted (or linked), root/<controller>.
static void
s_walk_v1 (const char *root, const char *self_text, const char *controller, s_limit_t kind,
           uint64_t *smallest)
{
    char controllers [256];
    char path [PATH_MAX];
    if (cc_profile_parse_self_cgroup (self_text, controller, controllers, sizeof (controllers),
                                      path, sizeof (path))
        != 0)
        return;
    char mount [PATH_MAX];
    struct stat info;
    if ((size_t) snprintf (mount, sizeof (mount), "%s/%s", root, controllers) >= sizeof (mount)
        || stat (mount, &info) != 0 || !S_ISDIR (info.st_mode)) {
        if ((size_t) snprintf (mount, sizeof (mount), "%s/%s", root, controller)
            >= sizeof (mount))
            return;
    }
    s_walk_limits (mount, path, kind, smallest);
}

//  Lowers *memory_bytes and *cores to this process's smallest cgroup
//  limits, v2 and v1 both (a hybrid host has both); leaves them where
//  there is none or the sources are not present.
static void
s_apply_cgroup_limits (const cc_profile_sources_t *sources, uint64_t *memory_bytes,
                       uint32_t *cores)
{
    const char *root = sources->cgroup_root ? sources->cgroup_root : S_CGROUP_ROOT;
    const char *self_path =
        sources->self_cgroup_path ? sources->self_cgroup_path : S_SELF_CGROUP_PATH;
    char *self_text = NULL;
    if (!*root || !*self_path || s_read_text (self_path, &self_text) != 0)
        return;
    uint64_t memory_limit = UINT64_MAX;
    uint64_t cores_limit = UINT64_MAX;
    char path [PATH_MAX];
    if (cc_profile_parse_self_cgroup (self_text, NULL, NULL, 0, path, sizeof (path)) == 0) {
        s_walk_limits (root, path, S_MEMORY_V2, &memory_limit);
        s_walk_limits (root, path, S_CPU_V2, &cores_limit);
    }
    s_walk_v1 (root, self_text, "memory", S_MEMORY_V1, &memory_limit);
    s_walk_v1 (root, self_text, "cpu", S_CPU_V1, &cores_limit);
    free (self_text);
    if (memory_limit < *memory_bytes)
        *memory_bytes = memory_limit;
    if (cores_limit < *cores)
        *cores = (uint32_t) cores_limit;
}

//  --- Measure -------------------------------------------------------------------------

int
cc_profile_measure (const char *data_dir, Certchain__MachineProfile **profile_p,
                    cc_reason_t *reason)
{
    return cc_profile_measure_from (data_dir, NULL, profile_p, reason);
}

int
cc_profile_measure_from (const char *data_dir, const cc_profile_sources_t *sources,
                         Certchain__MachineProfile **profile_p, cc_reason_t *reason)
{
    assert (profile_p);
    *profile_p = NULL;
    cc_reason_clear (reason);
    if (!data_dir)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "profile: no data directory given");
    const cc_profile_sources_t none = {0};
    if (!sources)
        sources = &none;

    struct statvfs disk;
    if (statvfs (data_dir, &disk) != 0)
        return cc_reason_set (reason, CC_E_IO, "profile: cannot examine data directory %s: %s",
                              data_dir, strerror (errno));

    Certchain__MachineProfile *profile =
        (Certchain__MachineProfile *) malloc (sizeof (Certchain__MachineProfile));
    if (!profile)
        return cc_reason_set (reason, CC_E_NOMEM, "profile: out of memory");
    certchain__machine_profile__init (profile);
    profile->disk_total_bytes = (uint64_t) disk.f_blocks * disk.f_frsize;
    profile->disk_free_bytes = (uint64_t) disk.f_bavail * disk.f_frsize;
    profile->cpu_cores = s_cpu_cores ();

    char model [CC_PROFILE_NAME_MAX] = "";
    uint32_t mhz = 0;
    char *text = NULL;
    int rc = s_read_text (sources->cpuinfo_path ? sources->cpuinfo_path : S_CPUINFO_PATH, &text);
    if (rc == 0)
        cc_profile_parse_cpuinfo (text, model, sizeof (model), &mhz);
    free (text);
    text = NULL;
    if (mhz == 0)
        mhz = s_cpufreq_mhz (sources->cpufreq_path ? sources->cpufreq_path : S_CPUFREQ_PATH);
    profile->cpu_mhz = mhz;
    profile->cpu_model = strdup (model [0] ? model : "unknown");

    rc = s_read_text (sources->meminfo_path ? sources->meminfo_path : S_MEMINFO_PATH, &text);
    if (rc != 0 || cc_profile_parse_meminfo (text, &profile->memory_bytes) != 0) {
        long pages = sysconf (_SC_PHYS_PAGES);
        long page_size = sysconf (_SC_PAGESIZE);
        if (pages > 0 && page_size > 0)
            profile->memory_bytes = (uint64_t) pages * (uint64_t) page_size;
    }
    free (text);
    s_apply_cgroup_limits (sources, &profile->memory_bytes, &profile->cpu_cores);

    rc = profile->cpu_model ? 0 : CC_E_NOMEM;
    if (rc == 0)
        rc = s_gpus_from_smi (sources, profile);
    if (rc == 0 && profile->n_gpus == 0)
        rc = s_gpus_from_proc (sources->nvidia_gpus_dir ? sources->nvidia_gpus_dir
                                                        : S_NVIDIA_GPUS_DIR,
                               profile);
    if (rc != 0) {
        cc_profile_free (&profile);
        return cc_reason_set (reason, rc, "profile: out of memory");
    }
    *profile_p = profile;
    return 0;
}

void
cc_profile_free (Certchain__MachineProfile **profile_p)
{
    if (profile_p && *profile_p) {
        certchain__machine_profile__free_unpacked (*profile_p, NULL);
        *profile_p = NULL;
    }
}

//  --- Output ----------------------------------------------------------------------------

static double
s_gib (uint64_t bytes)
{
    return (double) bytes / (1024.0 * 1024.0 * 1024.0);
}

void
cc_profile_print (const Certchain__MachineProfile *profile, FILE *stream)
{
    assert (profile && stream);
    fprintf (stream, "cpu:     %s, %u cores at %u MHz\n", profile->cpu_model,
             profile->cpu_cores, profile->cpu_mhz);
    fprintf (stream, "memory:  %.1f GiB (%llu bytes)\n", s_gib (profile->memory_bytes),
             (unsigned long long) profile->memory_bytes);
    fprintf (stream, "disk:    %.1f GiB free of %.1f GiB\n", s_gib (profile->disk_free_bytes),
             s_gib (profile->disk_total_bytes));
    if (profile->n_gpus == 0)
        fprintf (stream, "gpus:    none\n");
    for (size_t index = 0; index < profile->n_gpus; index++) {
        const Certchain__Gpu *gpu = profile->gpus [index];
        if (gpu->memory_bytes)
            fprintf (stream, "gpu %zu:   %s, %.1f GiB\n", index, gpu->name,
                     s_gib (gpu->memory_bytes));
        else
            fprintf (stream, "gpu %zu:   %s, memory unknown\n", index, gpu->name);
    }
}

//  Writes text as a JSON string literal.
static void
s_json_string (FILE *stream, const char *text)
{
    fputc ('"', stream);
    for (const unsigned char *cursor = (const unsigned char *) text; *cursor; cursor++) {
        if (*cursor == '"' || *cursor == '\\')
            fprintf (stream, "\\%c", *cursor);
        else if (*cursor < 0x20)
            fprintf (stream, "\\u%04x", *cursor);
        else
            fputc (*cursor, stream);
    }
    fputc ('"', stream);
}

char *
cc_profile_json (const Certchain__MachineProfile *profile)
{
    assert (profile);
    char *json = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&json, &size);
    if (!stream)
        return NULL;
    fputs ("{\"cpu_model\":", stream);
    s_json_string (stream, profile->cpu_model ? profile->cpu_model : "");
    fprintf (stream,
             ",\"cpu_cores\":%u,\"cpu_mhz\":%u,\"memory_bytes\":%llu,"
             "\"disk_total_bytes\":%llu,\"disk_free_bytes\":%llu,\"gpus\":[",
             profile->cpu_cores, profile->cpu_mhz, (unsigned long long) profile->memory_bytes,
             (unsigned long long) profile->disk_total_bytes,
             (unsigned long long) profile->disk_free_bytes);
    for (size_t index = 0; index < profile->n_gpus; index++) {
        const Certchain__Gpu *gpu = profile->gpus [index];
        fputs (index ? ",{\"name\":" : "{\"name\":", stream);
        s_json_string (stream, gpu->name ? gpu->name : "");
        fprintf (stream, ",\"memory_bytes\":%llu}", (unsigned long long) gpu->memory_bytes);
    }
    fputs ("]}", stream);
    if (fclose (stream) != 0) {
        free (json);
        return NULL;
    }
    return json;
}
