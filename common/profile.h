/*  =========================================================================
    profile - measure the machine a node runs on

    A candidate sends its machine profile in its JoinRequest and the CA holds
    it against its policy (DESIGN.md section 5): CPU model, cores and MHz,
    memory, disk total and free at the node's data directory, and NVIDIA
    GPUs where present. The profile is always measured, never configured:
    there is no configuration key for any of it. Tests point the measurement
    at fixture files through cc_profile_measure_from's sources argument, the
    one way to change where it looks.

    Sources, in order of preference:
    - cpu_model: /proc/cpuinfo "model name", else "unknown";
    - cpu_cores: the CPUs this process may run on (sched_getaffinity, so a
      cpuset or taskset limit shows), else the online CPU count; lowered
      to the smallest CPU quota of the process's cgroups, rounded up;
    - cpu_mhz: /proc/cpuinfo "cpu MHz" rounded, else cpufreq's
      cpuinfo_max_freq of cpu0;
    - memory_bytes: /proc/meminfo MemTotal, else sysconf; lowered to the
      smallest memory limit of the process's cgroups;
    - disk: statvfs at the data directory (f_blocks and f_bavail times
      f_frsize: free is what an unprivileged process may use);
    - GPUs: `nvidia-smi --query-gpu=name,memory.total` (names and memory)
      when the binary exists and answers within its time limit, else the
      "Model:" of each /proc/driver/nvidia/gpus/<bus>/information (memory
      unknown, 0), else none.

    The cgroup limits are there because a container started with docker's
    --memory or --cpus sees the host's /proc/meminfo and all of its CPUs,
    yet can use only what its limit allows; the CA must judge what the
    node can use, not the size of the host it shares. /proc/self/cgroup
    names the process's cgroup: the cgroup v2 line "0::<path>" and the v1
    lines "N:<controllers>:<path>" of the memory and cpu controllers, all
    of them on a hybrid host. The limit files are read in that cgroup and
    in each ancestor up to the mount (an ancestor's limit binds its
    children too), and the smallest limit found wins:
    - v2, under /sys/fs/cgroup<path>: memory.max ("max" or bytes) and
      cpu.max ("max <period>" or "<quota> <period>", microseconds);
    - v1, under /sys/fs/cgroup/<controllers><path> (else
      /sys/fs/cgroup/<controller><path>): memory.limit_in_bytes (2^62 or
      more means no limit: v1 writes "none" as a huge page-aligned
      number), and cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us.
    A limit file that is missing, unreadable or not understood is
    skipped, and a limit larger than the machine leaves the machine's
    figure: a limit only ever lowers a figure.

    Ownership: the profile is a protobuf MachineProfile allocated in
    protobuf-c's default layout; free it with cc_profile_free.
    =========================================================================
*/

#ifndef CC_PROFILE_H_INCLUDED
#define CC_PROFILE_H_INCLUDED

#include <stdint.h>
#include <stdio.h>

#include "codec.h"

//  Longest CPU or GPU model name kept.
#define CC_PROFILE_NAME_MAX 128
//  Most GPUs reported.
#define CC_PROFILE_MAX_GPUS 64
//  Time nvidia-smi gets to answer by default.
#define CC_PROFILE_NVIDIA_SMI_TIMEOUT_MS 5000

//  Where the measurement looks. A NULL field means the real system's
//  source; an empty string means "not present". For tests only.
typedef struct {
    const char *cpuinfo_path;       //  /proc/cpuinfo
    const char *meminfo_path;       //  /proc/meminfo
    const char *cpufreq_path;       //  /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq
    const char *nvidia_gpus_dir;    //  /proc/driver/nvidia/gpus
    const char *nvidia_smi;         //  nvidia-smi program; NULL: searched in PATH
    unsigned nvidia_smi_timeout_ms; //  0: CC_PROFILE_NVIDIA_SMI_TIMEOUT_MS
    const char *cgroup_root;        //  /sys/fs/cgroup, where cgroup hierarchies are mounted
    const char *self_cgroup_path;   //  /proc/self/cgroup
} cc_profile_sources_t;

//  --- Measure ---------------------------------------------------------------------

//  Measures this machine, with disk figures at data_dir. Fills *profile_p
//  (caller owns it: cc_profile_free). IO (with the reason) when data_dir
//  cannot be examined, INVALID_ARG for a NULL data_dir, NOMEM.
int
    cc_profile_measure (const char *data_dir, Certchain__MachineProfile **profile_p,
                        cc_reason_t *reason);

//  Same, reading from sources (NULL: the real system).
int
    cc_profile_measure_from (const char *data_dir, const cc_profile_sources_t *sources,
                             Certchain__MachineProfile **profile_p, cc_reason_t *reason);

//  Frees a profile from here or from cc_codec_unpack; nulls the pointer;
//  safe on NULL.
void
    cc_profile_free (Certchain__MachineProfile **profile_p);

//  --- Parsers (text in, fields out; for fixtures as much as for /proc) --------

//  Reads the first "model name" (into model, at most model_size bytes with
//  its NUL, blanks trimmed) and the first "cpu MHz" (rounded into *mhz) of
//  /proc/cpuinfo text. A field not found is left "" / 0. 0 if either was
//  found, NOT_FOUND if neither was.
int
    cc_profile_parse_cpuinfo (const char *text, char *model, size_t model_size,
                              uint32_t *mhz);

//  Reads MemTotal (kB) of /proc/meminfo text into *memory_bytes.
//  0, NOT_FOUND or BAD_FIELD.
int
    cc_profile_parse_meminfo (const char *text, uint64_t *memory_bytes);

//  Appends one GPU to profile for each "name, memory MiB" line of the
//  output of `nvidia-smi --query-gpu=name,memory.total --format=csv,
//  noheader,nounits`. A memory that is not a number ("[N/A]") gives 0;
//  lines without a comma (error messages) are skipped. Returns the number
//  of GPUs added (0 or more) or NOMEM.
int
    cc_profile_parse_nvidia_smi (const char *csv_text, Certchain__MachineProfile *profile);

//  Reads the "Model:" of a /proc/driver/nvidia/gpus/<bus>/information text
//  into model. 0 or NOT_FOUND.
int
    cc_profile_parse_nvidia_information (const char *text, char *model, size_t model_size);

//  Finds this process's cgroup in /proc/self/cgroup text: with controller
//  NULL, the cgroup v2 line "0::<path>"; else the v1 line whose
//  comma-separated controller list holds controller ("cpu" matches
//  "N:cpu,cpuacct:<path>", not "N:cpuset:<path>"). Copies the path
//  (at most path_size bytes with its NUL) into path and, when controllers
//  is not NULL, the line's controller list ("" for v2) into controllers.
//  0; NOT_FOUND if no line matches; BAD_FIELD if the first matching line's
//  path does not start with '/', has a ".." component (a cgroup outside
//  our namespace: its directories are not under the mount), or does not
//  fit.
int
    cc_profile_parse_self_cgroup (const char *text, const char *controller, char *controllers,
                                  size_t controllers_size, char *path, size_t path_size);

//  Reads a cgroup memory limit: v2 memory.max or v1 memory.limit_in_bytes
//  text, a byte count with an optional newline. 0 with the count in
//  *bytes; NOT_FOUND for no limit ("max", or a count of 2^62 or more, as
//  v1 writes it); BAD_FIELD for anything else.
int
    cc_profile_parse_cgroup_memory (const char *text, uint64_t *bytes);

//  Reads a cgroup v2 cpu.max text, "<quota> <period>" in microseconds,
//  as whole cores: quota / period rounded up (150000 100000 is 2). 0 with
//  *cores; NOT_FOUND for a quota of "max" (no limit); BAD_FIELD for
//  anything else, a zero quota or period included.
int
    cc_profile_parse_cgroup_cpu_max (const char *text, uint32_t *cores);

//  Reads a cgroup v1 CPU quota, cpu.cfs_quota_us and cpu.cfs_period_us
//  texts, as whole cores, rounded up as above. 0 with *cores; NOT_FOUND
//  for a quota of -1 (no limit); BAD_FIELD for anything else.
int
    cc_profile_parse_cgroup_cpu_quota (const char *quota_text, const char *period_text,
                                       uint32_t *cores);

//  --- Output ----------------------------------------------------------------------

//  Prints the profile as human-readable lines.
void
    cc_profile_print (const Certchain__MachineProfile *profile, FILE *stream);

//  The profile as one JSON object: cpu_model, cpu_cores, cpu_mhz,
//  memory_bytes, disk_total_bytes, disk_free_bytes, gpus [{name,
//  memory_bytes}]. Caller frees the string (free); NULL if out of memory.
char *
    cc_profile_json (const Certchain__MachineProfile *profile);

#endif
