/*  =========================================================================
    test_profile - machine measurement: this machine, the parsers on
    fixture texts, the GPU sources (nvidia-smi and /proc) through fixture
    files and fake programs, the cgroup limits through fixture cgroup
    trees, and the human and JSON output

    This machine has no GPU: the GPU paths are exercised with fixtures only.
    Tests that expect exact memory or core figures from fixtures turn the
    cgroup sources off (""), so the limits of the container the tests run
    in cannot change them; the cgroup tests compare against the figures
    measured with the limits off, so they hold on any machine.
    =========================================================================
*/

#include "fixture.h"
#include "profile.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

//  --- Fixtures ----------------------------------------------------------------------

static const char *s_cpuinfo_x86 =
    "processor\t: 0\n"
    "vendor_id\t: GenuineIntel\n"
    "cpu family\t: 6\n"
    "model\t\t: 143\n"
    "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
    "stepping\t: 8\n"
    "cpu MHz\t\t: 2000.499\n"
    "cache size\t: 107520 KB\n"
    "\n"
    "processor\t: 1\n"
    "model name\t: Some Other CPU\n"
    "cpu MHz\t\t: 3800.000\n";

//  ARM cpuinfo has neither "model name" nor "cpu MHz".
static const char *s_cpuinfo_arm =
    "processor\t: 0\n"
    "BogoMIPS\t: 50.00\n"
    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"
    "CPU implementer\t: 0x41\n"
    "CPU part\t: 0xd0c\n";

static const char *s_meminfo =
    "MemTotal:       16314560 kB\n"
    "MemFree:         1030024 kB\n"
    "MemAvailable:   12010140 kB\n";

static const char *s_information =
    "Model: \t\t NVIDIA H100 80GB HBM3\n"
    "IRQ:   \t\t 1234\n"
    "GPU UUID: \t GPU-5c8f4d3e-0000-1111-2222-333344445555\n"
    "Video BIOS: \t 96.00.74.00.01\n"
    "Bus Type: \t PCIe\n"
    "DMA Size: \t 52 bits\n"
    "DMA Mask: \t 0xfffffffffffff\n"
    "Bus Location: \t 0000:3b:00.0\n"
    "Device Minor: \t 0\n"
    "GPU Excluded:\t No\n";

//  Writes text to dir/name with mode; returns the path (caller frees).
static char *
s_write_file (const char *dir, const char *name, const char *text, mode_t mode)
{
    char *path = NULL;
    ck_assert_int_ge (asprintf (&path, "%s/%s", dir, name), 0);
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
    chmod (path, mode);
    return path;
}

//  A /proc/driver/nvidia/gpus lookalike with two GPUs under dir/gpus.
static char *
s_make_gpus_dir (const char *dir)
{
    char *gpus = NULL;
    ck_assert_int_ge (asprintf (&gpus, "%s/gpus", dir), 0);
    ck_assert_int_eq (mkdir (gpus, 0755), 0);
    //  Created out of bus order: the profile lists them sorted.
    const char *buses [] = {"0000:b1:00.0", "0000:3b:00.0"};
    const char *models [] = {"NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3"};
    for (int index = 0; index < 2; index++) {
        char *bus = NULL;
        ck_assert_int_ge (asprintf (&bus, "%s/%s", gpus, buses [index]), 0);
        ck_assert_int_eq (mkdir (bus, 0755), 0);
        char *text = NULL;
        ck_assert_int_ge (asprintf (&text, "Model: \t\t %s\nIRQ:   \t\t 99\n", models [index]),
                          0);
        free (s_write_file (bus, "information", text, 0644));
        free (text);
        free (bus);
    }
    return gpus;
}

//  Creates dir/relative and the directories above it, as mkdir -p.
static void
s_make_dirs (const char *dir, const char *relative)
{
    char *path = NULL;
    ck_assert_int_ge (asprintf (&path, "%s/%s", dir, relative), 0);
    for (char *slash = strchr (path + strlen (dir) + 1, '/'); slash;
         slash = strchr (slash + 1, '/')) {
        *slash = 0;
        ck_assert (mkdir (path, 0755) == 0 || errno == EEXIST);
        *slash = '/';
    }
    ck_assert (mkdir (path, 0755) == 0 || errno == EEXIST);
    free (path);
}

//  Writes a cgroup file: dir/cgroup/name holds text (cgroup "" is dir).
static void
s_write_limit (const char *dir, const char *cgroup, const char *name, const char *text)
{
    char *directory = NULL;
    ck_assert_int_ge (asprintf (&directory, "%s%s%s", dir, *cgroup ? "/" : "", cgroup), 0);
    if (*cgroup)
        s_make_dirs (dir, cgroup);
    free (s_write_file (directory, name, text, 0644));
    free (directory);
}

//  Removes the cgroup file dir/cgroup/name.
static void
s_remove_limit (const char *dir, const char *cgroup, const char *name)
{
    char *path = NULL;
    ck_assert_int_ge (asprintf (&path, "%s/%s/%s", dir, cgroup, name), 0);
    ck_assert_int_eq (unlink (path), 0);
    free (path);
}

//  Sources for the cgroup tests in dir: the fixture meminfo (so the
//  machine's memory is known), no GPU program or directory, the cgroup
//  tree under dir/cg and /proc/self/cgroup text in dir/self-cgroup. The
//  caller frees the two paths it set.
static cc_profile_sources_t
s_cgroup_sources (const char *dir, const char *self_text)
{
    char *root = NULL;
    ck_assert_int_ge (asprintf (&root, "%s/cg", dir), 0);
    s_make_dirs (dir, "cg");
    cc_profile_sources_t sources = {
        .meminfo_path = s_write_file (dir, "meminfo", s_meminfo, 0644),
        .cpufreq_path = "",
        .nvidia_gpus_dir = "",
        .nvidia_smi = "",
        .cgroup_root = root,
        .self_cgroup_path = s_write_file (dir, "self-cgroup", self_text, 0644),
    };
    return sources;
}

static void
s_free_cgroup_sources (cc_profile_sources_t *sources)
{
    free ((char *) sources->meminfo_path);
    free ((char *) sources->cgroup_root);
    free ((char *) sources->self_cgroup_path);
}

//  Measures from sources; the figures the cgroup limits may lower.
static void
s_measure_limits (const char *dir, const cc_profile_sources_t *sources, uint64_t *memory_bytes,
                  uint32_t *cores)
{
    Certchain__MachineProfile *profile = NULL;
    cc_reason_t reason;
    ck_assert_int_eq (cc_profile_measure_from (dir, sources, &profile, &reason), 0);
    *memory_bytes = profile->memory_bytes;
    *cores = profile->cpu_cores;
    cc_profile_free (&profile);
}

//  The figures with the cgroup sources off: the machine's.
static void
s_measure_machine (const char *dir, const cc_profile_sources_t *sources, uint64_t *memory_bytes,
                   uint32_t *cores)
{
    cc_profile_sources_t off = *sources;
    off.cgroup_root = "";
    off.self_cgroup_path = "";
    s_measure_limits (dir, &off, memory_bytes, cores);
}

static Certchain__MachineProfile *
s_empty_profile (void)
{
    Certchain__MachineProfile *profile =
        (Certchain__MachineProfile *) malloc (sizeof (Certchain__MachineProfile));
    certchain__machine_profile__init (profile);
    return profile;
}

static double
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec * 1000.0 + (double) now.tv_nsec / 1e6;
}

//  --- This machine ------------------------------------------------------------------

START_TEST (test_measure_this_machine)
{
    char *dir = fixture_tempdir ("profile");
    Certchain__MachineProfile *profile = NULL;
    cc_reason_t reason;
    ck_assert_int_eq (cc_profile_measure (dir, &profile, &reason), 0);
    ck_assert_ptr_nonnull (profile);
    ck_assert_uint_ge (profile->cpu_cores, 1);
    ck_assert_uint_le (profile->cpu_cores, (unsigned) sysconf (_SC_NPROCESSORS_CONF));
    ck_assert_uint_gt (profile->memory_bytes, 0);
    ck_assert_uint_gt (profile->disk_free_bytes, 0);
    ck_assert_uint_ge (profile->disk_total_bytes, profile->disk_free_bytes);
    ck_assert_ptr_nonnull (profile->cpu_model);
    ck_assert_uint_gt (strlen (profile->cpu_model), 0);
    cc_profile_print (profile, stdout);

    //  The machine's own figures, cgroup limits off: a limit only lowers.
    cc_profile_sources_t no_cgroups = {.cgroup_root = "", .self_cgroup_path = ""};
    Certchain__MachineProfile *machine = NULL;
    ck_assert_int_eq (cc_profile_measure_from (dir, &no_cgroups, &machine, &reason), 0);
    ck_assert_uint_le (profile->memory_bytes, machine->memory_bytes);
    ck_assert_uint_le (profile->cpu_cores, machine->cpu_cores);
    printf ("without cgroup limits: %u cores, %llu bytes\n", machine->cpu_cores,
            (unsigned long long) machine->memory_bytes);
    cc_profile_free (&machine);

    cc_profile_free (&profile);
    ck_assert_ptr_null (profile);
    cc_profile_free (&profile);     //  safe on NULL
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_measure_missing_data_dir)
{
    Certchain__MachineProfile *profile = NULL;
    cc_reason_t reason;
    ck_assert_int_eq (cc_profile_measure ("/nonexistent/certchain-data", &profile, &reason),
                      CC_E_IO);
    ck_assert_int_eq (reason.code, CC_E_IO);
    ck_assert_ptr_nonnull (strstr (reason.text, "/nonexistent/certchain-data"));
    ck_assert_ptr_null (profile);
    ck_assert_int_eq (cc_profile_measure (NULL, &profile, &reason), CC_E_INVALID_ARG);
    ck_assert_ptr_null (profile);
}
END_TEST

//  --- Parsers ---------------------------------------------------------------------------

START_TEST (test_parse_cpuinfo)
{
    char model [CC_PROFILE_NAME_MAX];
    uint32_t mhz;
    //  The first processor's fields, MHz rounded.
    ck_assert_int_eq (cc_profile_parse_cpuinfo (s_cpuinfo_x86, model, sizeof (model), &mhz), 0);
    ck_assert_str_eq (model, "Intel(R) Xeon(R) Platinum 8480+");
    ck_assert_uint_eq (mhz, 2000);
    ck_assert_int_eq (cc_profile_parse_cpuinfo ("cpu MHz\t\t: 2599.998\n", model, sizeof (model),
                                                &mhz),
                      0);
    ck_assert_str_eq (model, "");
    ck_assert_uint_eq (mhz, 2600);
    //  Neither field: NOT_FOUND, fields empty.
    ck_assert_int_eq (cc_profile_parse_cpuinfo (s_cpuinfo_arm, model, sizeof (model), &mhz),
                      CC_E_NOT_FOUND);
    ck_assert_str_eq (model, "");
    ck_assert_uint_eq (mhz, 0);
    ck_assert_int_eq (cc_profile_parse_cpuinfo ("", model, sizeof (model), &mhz),
                      CC_E_NOT_FOUND);
    //  A garbage MHz is ignored; a long model is truncated.
    ck_assert_int_eq (cc_profile_parse_cpuinfo ("model name : ABCDEFGHIJ\ncpu MHz : fast\n",
                                                model, 5, &mhz),
                      0);
    ck_assert_str_eq (model, "ABCD");
    ck_assert_uint_eq (mhz, 0);
}
END_TEST

START_TEST (test_parse_meminfo)
{
    uint64_t bytes = 0;
    ck_assert_int_eq (cc_profile_parse_meminfo (s_meminfo, &bytes), 0);
    ck_assert_uint_eq (bytes, 16314560ULL * 1024);
    ck_assert_int_eq (cc_profile_parse_meminfo ("MemFree: 12 kB\n", &bytes), CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_profile_parse_meminfo ("MemTotal: lots kB\n", &bytes), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_profile_parse_meminfo ("MemTotal: 123\n", &bytes), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_profile_parse_meminfo ("MemTotal: 123 MB\n", &bytes), CC_E_BAD_FIELD);
}
END_TEST

START_TEST (test_parse_nvidia_smi)
{
    Certchain__MachineProfile *profile = s_empty_profile ();
    ck_assert_int_eq (cc_profile_parse_nvidia_smi ("NVIDIA H100 80GB HBM3, 81559\n", profile), 1);
    ck_assert_uint_eq (profile->n_gpus, 1);
    ck_assert_str_eq (profile->gpus [0]->name, "NVIDIA H100 80GB HBM3");
    ck_assert_uint_eq (profile->gpus [0]->memory_bytes, 81559ULL * 1024 * 1024);

    //  Several lines, no trailing newline, memory not available.
    ck_assert_int_eq (cc_profile_parse_nvidia_smi ("Tesla T4, 15360\r\nNVIDIA A10, [N/A]",
                                                   profile),
                      2);
    ck_assert_uint_eq (profile->n_gpus, 3);
    ck_assert_str_eq (profile->gpus [1]->name, "Tesla T4");
    ck_assert_uint_eq (profile->gpus [1]->memory_bytes, 15360ULL * 1024 * 1024);
    ck_assert_str_eq (profile->gpus [2]->name, "NVIDIA A10");
    ck_assert_uint_eq (profile->gpus [2]->memory_bytes, 0);

    //  nvidia-smi's failure message, blank lines, nameless lines: no GPU.
    ck_assert_int_eq (cc_profile_parse_nvidia_smi (
                          "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA "
                          "driver. Make sure that the latest NVIDIA driver is installed and "
                          "running.\n\n , 1024\n",
                          profile),
                      0);
    ck_assert_int_eq (cc_profile_parse_nvidia_smi ("", profile), 0);
    ck_assert_uint_eq (profile->n_gpus, 3);
    cc_profile_free (&profile);
}
END_TEST

START_TEST (test_parse_nvidia_information)
{
    char model [CC_PROFILE_NAME_MAX];
    ck_assert_int_eq (cc_profile_parse_nvidia_information (s_information, model, sizeof (model)),
                      0);
    ck_assert_str_eq (model, "NVIDIA H100 80GB HBM3");
    ck_assert_int_eq (cc_profile_parse_nvidia_information ("IRQ: 12\nBus Type: PCIe\n", model,
                                                           sizeof (model)),
                      CC_E_NOT_FOUND);
    ck_assert_str_eq (model, "");
}
END_TEST

START_TEST (test_parse_cgroup_memory)
{
    uint64_t bytes = 0;
    ck_assert_int_eq (cc_profile_parse_cgroup_memory ("8589934592\n", &bytes), 0);
    ck_assert_uint_eq (bytes, 8589934592ULL);
    ck_assert_int_eq (cc_profile_parse_cgroup_memory (" 1048576 ", &bytes), 0);
    ck_assert_uint_eq (bytes, 1048576);
    //  Blanks around are allowed however many there are.
    ck_assert_int_eq (cc_profile_parse_cgroup_memory ("2048                              \n",
                                                      &bytes),
                      0);
    ck_assert_uint_eq (bytes, 2048);
    ck_assert_int_eq (cc_profile_parse_cgroup_memory ("0\n", &bytes), 0);
    ck_assert_uint_eq (bytes, 0);
    //  Just under 2^62 is a limit; v1's "none" and anything from 2^62 up is not.
    ck_assert_int_eq (cc_profile_parse_cgroup_memory ("4611686018427387903\n", &bytes), 0);
    ck_assert_uint_eq (bytes, (1ULL << 62) - 1);
    bytes = 7;
    ck_assert_int_eq (cc_profile_parse_cgroup_memory ("max\n", &bytes), CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_profile_parse_cgroup_memory ("9223372036854771712\n", &bytes),
                      CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_profile_parse_cgroup_memory ("4611686018427387904", &bytes),
                      CC_E_NOT_FOUND);
    ck_assert_uint_eq (bytes, 7);       //  untouched when there is no limit
    //  Junk.
    const char *junk [] = {"",     "\n",     "lots\n", "-1\n",       "12 34\n",
                           "12kB", "maximum", "0x100",  "1.5e9\n",     "99999999999999999999999",
                           "00000000000000000000000000000000000001"};
    for (size_t index = 0; index < sizeof (junk) / sizeof (junk [0]); index++)
        ck_assert_msg (cc_profile_parse_cgroup_memory (junk [index], &bytes) == CC_E_BAD_FIELD,
                       "junk '%s' accepted", junk [index]);
    ck_assert_uint_eq (bytes, 7);
}
END_TEST

START_TEST (test_parse_cgroup_cpu)
{
    uint32_t cores = 0;
    //  v2 cpu.max: quota over period, rounded up.
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_max ("150000 100000\n", &cores), 0);
    ck_assert_uint_eq (cores, 2);
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_max ("200000 100000", &cores), 0);
    ck_assert_uint_eq (cores, 2);
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_max ("100000 100000\n", &cores), 0);
    ck_assert_uint_eq (cores, 1);
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_max ("5000 100000\n", &cores), 0);
    ck_assert_uint_eq (cores, 1);       //  a twentieth of a CPU still needs one
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_max ("400001 100000\n", &cores), 0);
    ck_assert_uint_eq (cores, 5);
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_max ("18446744073709551615 1\n", &cores), 0);
    ck_assert_uint_eq (cores, UINT32_MAX);
    cores = 7;
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_max ("max 100000\n", &cores), CC_E_NOT_FOUND);
    ck_assert_uint_eq (cores, 7);
    const char *junk [] = {"",
                           "\n",
                           "max",
                           "150000",
                           "150000 0\n",
                           "150000 -100000\n",
                           "-1 100000\n",
                           "0 100000\n",
                           "fast 100000\n",
                           "150000 100000 7\n",
                           "max junk\n",
                           "1.5 1\n"};
    for (size_t index = 0; index < sizeof (junk) / sizeof (junk [0]); index++)
        ck_assert_msg (cc_profile_parse_cgroup_cpu_max (junk [index], &cores) == CC_E_BAD_FIELD,
                       "junk '%s' accepted", junk [index]);
    ck_assert_uint_eq (cores, 7);

    //  v1 cpu.cfs_quota_us over cpu.cfs_period_us.
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_quota ("150000\n", "100000\n", &cores), 0);
    ck_assert_uint_eq (cores, 2);
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_quota ("50000", "100000", &cores), 0);
    ck_assert_uint_eq (cores, 1);
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_quota ("300000\n", "100000\n", &cores), 0);
    ck_assert_uint_eq (cores, 3);
    cores = 7;
    ck_assert_int_eq (cc_profile_parse_cgroup_cpu_quota ("-1\n", "100000\n", &cores),
                      CC_E_NOT_FOUND);
    const char *quotas [] = {"-2\n", "0\n", "lots\n", "", "150000\n", "150000\n", "150000\n",
                             "-1\n"};
    const char *periods [] = {"100000\n", "100000\n", "100000\n", "100000\n",
                              "0\n",      "-100000\n", "",         "junk\n"};
    for (size_t index = 0; index < sizeof (quotas) / sizeof (quotas [0]); index++)
        ck_assert_msg (cc_profile_parse_cgroup_cpu_quota (quotas [index], periods [index], &cores)
                           == CC_E_BAD_FIELD,
                       "junk '%s' / '%s' accepted", quotas [index], periods [index]);
    ck_assert_uint_eq (cores, 7);
}
END_TEST

START_TEST (test_parse_self_cgroup)
{
    char controllers [64];
    char path [128];
    //  v2 only: the one line, no controller lines.
    const char *v2 = "0::/user.slice/user-1000.slice/session-3.scope\n";
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v2, NULL, controllers, sizeof (controllers),
                                                    path, sizeof (path)),
                      0);
    ck_assert_str_eq (path, "/user.slice/user-1000.slice/session-3.scope");
    ck_assert_str_eq (controllers, "");
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v2, "memory", controllers,
                                                    sizeof (controllers), path, sizeof (path)),
                      CC_E_NOT_FOUND);
    ck_assert_str_eq (path, "");

    //  v1 only: no "0::" line.
    const char *v1 = "11:cpuset:/\n"
                     "4:memory:/docker/0123abcd\n"
                     "3:cpu,cpuacct:/docker/0123abcd\n"
                     "1:name=systemd:/docker/0123abcd";
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v1, NULL, controllers, sizeof (controllers),
                                                    path, sizeof (path)),
                      CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v1, "memory", controllers,
                                                    sizeof (controllers), path, sizeof (path)),
                      0);
    ck_assert_str_eq (path, "/docker/0123abcd");
    ck_assert_str_eq (controllers, "memory");
    //  "cpu" is found in "cpu,cpuacct", not in "cpuset" on the line before.
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v1, "cpu", controllers, sizeof (controllers),
                                                    path, sizeof (path)),
                      0);
    ck_assert_str_eq (controllers, "cpu,cpuacct");
    ck_assert_str_eq (path, "/docker/0123abcd");
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v1, "cpuacct", NULL, 0, path, sizeof (path)),
                      0);
    ck_assert_str_eq (path, "/docker/0123abcd");
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v1, "cpuset", controllers,
                                                    sizeof (controllers), path, sizeof (path)),
                      0);
    ck_assert_str_eq (path, "/");
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v1, "systemd", NULL, 0, path, sizeof (path)),
                      CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_profile_parse_self_cgroup (v1, "pids", NULL, 0, path, sizeof (path)),
                      CC_E_NOT_FOUND);

    //  Hybrid (this kind of host): both, each found on its own line.
    const char *hybrid = "9:name=systemd:/\n"
                         "4:memory:/process_api/25e5b31d\n"
                         "2:cpuacct:/\n"
                         "1:cpu:/slice\n"
                         "0::/unified/slice\n";
    ck_assert_int_eq (cc_profile_parse_self_cgroup (hybrid, NULL, controllers,
                                                    sizeof (controllers), path, sizeof (path)),
                      0);
    ck_assert_str_eq (path, "/unified/slice");
    ck_assert_int_eq (cc_profile_parse_self_cgroup (hybrid, "memory", controllers,
                                                    sizeof (controllers), path, sizeof (path)),
                      0);
    ck_assert_str_eq (path, "/process_api/25e5b31d");
    ck_assert_int_eq (cc_profile_parse_self_cgroup (hybrid, "cpu", controllers,
                                                    sizeof (controllers), path, sizeof (path)),
                      0);
    ck_assert_str_eq (controllers, "cpu");
    ck_assert_str_eq (path, "/slice");

    //  A path keeps its colons; only hierarchy 0 is v2.
    ck_assert_int_eq (cc_profile_parse_self_cgroup ("10::/not-v2\n0::/a:b\n", NULL, NULL, 0,
                                                    path, sizeof (path)),
                      0);
    ck_assert_str_eq (path, "/a:b");

    //  Paths not under the mount, or too long: BAD_FIELD. Junk: NOT_FOUND.
    const char *bad [] = {"0::\n", "0::relative\n", "0::/../..\n", "0::/a/../b\n"};
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++)
        ck_assert_msg (cc_profile_parse_self_cgroup (bad [index], NULL, NULL, 0, path,
                                                     sizeof (path))
                           == CC_E_BAD_FIELD,
                       "bad '%s' accepted", bad [index]);
    ck_assert_int_eq (cc_profile_parse_self_cgroup ("0::/a/..b/c..\n", NULL, NULL, 0, path,
                                                    sizeof (path)),
                      0);       //  ".." inside a name is no step up
    ck_assert_int_eq (cc_profile_parse_self_cgroup ("0::/0123456789\n", NULL, NULL, 0, path, 8),
                      CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_profile_parse_self_cgroup ("4:memory:/x\n", "memory", controllers, 4,
                                                    path, sizeof (path)),
                      CC_E_BAD_FIELD);
    const char *junk [] = {"", "\n\n", "garbage\n", "0:/x\n", ":::\n"};
    for (size_t index = 0; index < sizeof (junk) / sizeof (junk [0]); index++)
        ck_assert_int_ne (cc_profile_parse_self_cgroup (junk [index], NULL, NULL, 0, path,
                                                        sizeof (path)),
                          0);
}
END_TEST

//  --- Sources ----------------------------------------------------------------------------

START_TEST (test_measure_from_fixtures)
{
    char *dir = fixture_tempdir ("profile");
    char *cpuinfo = s_write_file (dir, "cpuinfo", s_cpuinfo_x86, 0644);
    char *meminfo = s_write_file (dir, "meminfo", s_meminfo, 0644);
    char *gpus = s_make_gpus_dir (dir);
    cc_profile_sources_t sources = {
        .cpuinfo_path = cpuinfo,
        .meminfo_path = meminfo,
        .cpufreq_path = "",
        .nvidia_gpus_dir = gpus,
        .nvidia_smi = "",
        .cgroup_root = "",
        .self_cgroup_path = "",
    };
    Certchain__MachineProfile *profile = NULL;
    cc_reason_t reason;
    ck_assert_int_eq (cc_profile_measure_from (dir, &sources, &profile, &reason), 0);
    ck_assert_str_eq (profile->cpu_model, "Intel(R) Xeon(R) Platinum 8480+");
    ck_assert_uint_eq (profile->cpu_mhz, 2000);
    ck_assert_uint_eq (profile->memory_bytes, 16314560ULL * 1024);
    //  GPUs from /proc: sorted by bus, memory unknown.
    ck_assert_uint_eq (profile->n_gpus, 2);
    ck_assert_str_eq (profile->gpus [0]->name, "NVIDIA H100 80GB HBM3");
    ck_assert_str_eq (profile->gpus [1]->name, "NVIDIA A100-SXM4-40GB");
    ck_assert_uint_eq (profile->gpus [0]->memory_bytes, 0);
    cc_profile_free (&profile);

    //  No MHz in cpuinfo: cpufreq's maximum (kHz) is used.
    char *arm = s_write_file (dir, "cpuinfo-arm", s_cpuinfo_arm, 0644);
    char *cpufreq = s_write_file (dir, "cpuinfo_max_freq", "3800000\n", 0644);
    sources.cpuinfo_path = arm;
    sources.cpufreq_path = cpufreq;
    sources.nvidia_gpus_dir = "";
    ck_assert_int_eq (cc_profile_measure_from (dir, &sources, &profile, &reason), 0);
    ck_assert_str_eq (profile->cpu_model, "unknown");
    ck_assert_uint_eq (profile->cpu_mhz, 3800);
    ck_assert_uint_eq (profile->n_gpus, 0);
    cc_profile_free (&profile);

    //  Sources missing altogether: fallbacks, never a failure.
    cc_profile_sources_t missing = {
        .cpuinfo_path = "/nonexistent/cpuinfo",
        .meminfo_path = "/nonexistent/meminfo",
        .cpufreq_path = "/nonexistent/freq",
        .nvidia_gpus_dir = "/nonexistent/gpus",
        .nvidia_smi = "/nonexistent/nvidia-smi",
        .cgroup_root = "/nonexistent/cgroup",
        .self_cgroup_path = "/nonexistent/self-cgroup",
    };
    ck_assert_int_eq (cc_profile_measure_from (dir, &missing, &profile, &reason), 0);
    ck_assert_str_eq (profile->cpu_model, "unknown");
    ck_assert_uint_eq (profile->cpu_mhz, 0);
    ck_assert_uint_gt (profile->memory_bytes, 0);       //  from sysconf
    ck_assert_uint_eq (profile->n_gpus, 0);
    cc_profile_free (&profile);

    free (cpuinfo);
    free (meminfo);
    free (gpus);
    free (arm);
    free (cpufreq);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

#define S_GIB (1024ULL * 1024 * 1024)
//  The memory of s_meminfo, about 15.6 GiB: every limit below that lowers it.
#define S_MACHINE_MEMORY (16314560ULL * 1024)

//  cgroup v2: the smallest memory.max and cpu.max from the process's
//  cgroup up to the mount. A core limit of 1 shows only on a machine of 2
//  or more CPUs (this one has 2); the memory figures show anywhere.
START_TEST (test_measure_cgroup_v2)
{
    char *dir = fixture_tempdir ("profile");
    cc_profile_sources_t sources = s_cgroup_sources (dir, "0::/outer/inner\n");
    uint64_t memory_bytes, machine_memory;
    uint32_t cores, machine_cores;
    s_measure_machine (dir, &sources, &machine_memory, &machine_cores);
    ck_assert_uint_eq (machine_memory, S_MACHINE_MEMORY);
    ck_assert_uint_ge (machine_cores, 1);
    //  No file at all yet: the machine's figures.
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, machine_memory);
    ck_assert_uint_eq (cores, machine_cores);

    //  The ancestor's limit is smaller than the leaf's, and binds it. A
    //  smaller limit above the mount is not ours, and not read.
    s_write_limit (dir, "cg/outer/inner", "memory.max", "8589934592\n");
    s_write_limit (dir, "cg/outer", "memory.max", "2147483648\n");
    s_write_limit (dir, "cg", "memory.max", "max\n");
    s_write_limit (dir, "", "memory.max", "1048576\n");
    s_write_limit (dir, "cg/outer/inner", "cpu.max", "150000 100000\n");
    s_write_limit (dir, "cg/outer", "cpu.max", "100000 100000\n");
    s_write_limit (dir, "cg", "cpu.max", "max 100000\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 2 * S_GIB);
    ck_assert_uint_eq (cores, 1);

    //  The leaf's limit is the smallest.
    s_write_limit (dir, "cg/outer/inner", "memory.max", "1073741824\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 1 * S_GIB);

    //  "max" everywhere: the machine's figures.
    s_write_limit (dir, "cg/outer/inner", "memory.max", "max\n");
    s_write_limit (dir, "cg/outer", "memory.max", "max\n");
    s_write_limit (dir, "cg/outer/inner", "cpu.max", "max 100000\n");
    s_write_limit (dir, "cg/outer", "cpu.max", "max 100000\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, machine_memory);
    ck_assert_uint_eq (cores, machine_cores);

    //  1.5 CPUs is 2 cores, when the machine has them; a limit larger
    //  than the machine leaves the machine's figure.
    s_write_limit (dir, "cg/outer/inner", "cpu.max", "150000 100000\n");
    s_write_limit (dir, "cg/outer", "memory.max", "68719476736\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (cores, machine_cores < 2 ? machine_cores : 2);
    ck_assert_uint_eq (memory_bytes, machine_memory);

    //  Junk is skipped, never fatal: the other levels still count.
    s_write_limit (dir, "cg/outer/inner", "memory.max", "lots\n");
    s_write_limit (dir, "cg/outer", "memory.max", "4294967296\n");
    s_write_limit (dir, "cg/outer/inner", "cpu.max", "fast\n");
    s_write_limit (dir, "cg/outer", "cpu.max", "100000 0\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 4 * S_GIB);
    ck_assert_uint_eq (cores, machine_cores);

    //  Missing files: skipped.
    s_remove_limit (dir, "cg/outer/inner", "memory.max");
    s_remove_limit (dir, "cg/outer/inner", "cpu.max");
    s_remove_limit (dir, "cg/outer", "cpu.max");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 4 * S_GIB);
    ck_assert_uint_eq (cores, machine_cores);

    //  A container without its own cgroup namespace: the host's path, not
    //  under the mount, which is the container's cgroup and holds its limits.
    free ((char *) sources.self_cgroup_path);
    sources.self_cgroup_path = s_write_file (dir, "self-cgroup", "0::/docker/0123abcd\n", 0644);
    s_write_limit (dir, "cg", "memory.max", "3221225472\n");
    s_write_limit (dir, "cg", "cpu.max", "50000 100000\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 3 * S_GIB);
    ck_assert_uint_eq (cores, 1);

    //  /proc/self/cgroup junk, or missing, or a path that climbs out of
    //  the mount: no limits at all.
    const char *selves [] = {"garbage\n", "", "0::/../..\n", "4:memory:/\n"};
    for (size_t index = 0; index < sizeof (selves) / sizeof (selves [0]); index++) {
        free ((char *) sources.self_cgroup_path);
        sources.self_cgroup_path = s_write_file (dir, "self-cgroup", selves [index], 0644);
        s_measure_limits (dir, &sources, &memory_bytes, &cores);
        ck_assert_uint_eq (memory_bytes, machine_memory);
        ck_assert_uint_eq (cores, machine_cores);
    }
    cc_profile_sources_t missing = sources;
    missing.self_cgroup_path = "/nonexistent/self-cgroup";
    s_measure_limits (dir, &missing, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, machine_memory);

    s_free_cgroup_sources (&sources);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  cgroup v1: memory.limit_in_bytes under the memory mount, the CFS quota
//  under the mount named by the controller list (cpu,cpuacct) or cpu.
START_TEST (test_measure_cgroup_v1)
{
    char *dir = fixture_tempdir ("profile");
    cc_profile_sources_t sources = s_cgroup_sources (dir, "9:name=systemd:/\n"
                                                          "4:memory:/a/b\n"
                                                          "3:cpuset:/\n"
                                                          "2:cpu,cpuacct:/a/b\n");
    uint64_t memory_bytes, machine_memory;
    uint32_t cores, machine_cores;
    s_measure_machine (dir, &sources, &machine_memory, &machine_cores);

    //  v1's "no limit" at the leaf and the mount; the ancestor's limit wins.
    const char *none = "9223372036854771712\n";
    s_write_limit (dir, "cg/memory/a/b", "memory.limit_in_bytes", none);
    s_write_limit (dir, "cg/memory/a", "memory.limit_in_bytes", "1073741824\n");
    s_write_limit (dir, "cg/memory", "memory.limit_in_bytes", none);
    s_write_limit (dir, "cg/cpu,cpuacct/a/b", "cpu.cfs_quota_us", "-1\n");
    s_write_limit (dir, "cg/cpu,cpuacct/a/b", "cpu.cfs_period_us", "100000\n");
    s_write_limit (dir, "cg/cpu,cpuacct/a", "cpu.cfs_quota_us", "100000\n");
    s_write_limit (dir, "cg/cpu,cpuacct/a", "cpu.cfs_period_us", "100000\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 1 * S_GIB);
    ck_assert_uint_eq (cores, 1);

    //  1.5 CPUs rounds up; a limit larger than the machine leaves it.
    s_write_limit (dir, "cg/cpu,cpuacct/a", "cpu.cfs_quota_us", "150000\n");
    s_write_limit (dir, "cg/memory/a", "memory.limit_in_bytes", "34359738368\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (cores, machine_cores < 2 ? machine_cores : 2);
    ck_assert_uint_eq (memory_bytes, machine_memory);

    //  "No limit" everywhere.
    s_write_limit (dir, "cg/cpu,cpuacct/a", "cpu.cfs_quota_us", "-1\n");
    s_write_limit (dir, "cg/memory/a", "memory.limit_in_bytes", none);
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, machine_memory);
    ck_assert_uint_eq (cores, machine_cores);

    //  No "cpu,cpuacct" directory: the hierarchy is found at cpu.
    char *from = NULL;
    char *to = NULL;
    ck_assert_int_ge (asprintf (&from, "%s/cg/cpu,cpuacct", dir), 0);
    ck_assert_int_ge (asprintf (&to, "%s/cg/cpu", dir), 0);
    ck_assert_int_eq (rename (from, to), 0);
    s_write_limit (dir, "cg/cpu/a/b", "cpu.cfs_quota_us", "50000\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (cores, 1);

    //  A quota without its period is skipped; so is a zero period.
    s_remove_limit (dir, "cg/cpu/a/b", "cpu.cfs_period_us");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (cores, machine_cores);
    s_write_limit (dir, "cg/cpu/a/b", "cpu.cfs_period_us", "0\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (cores, machine_cores);

    free (from);
    free (to);
    s_free_cgroup_sources (&sources);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  A hybrid host: v2 and v1 limits both count, the smallest wins.
START_TEST (test_measure_cgroup_hybrid)
{
    char *dir = fixture_tempdir ("profile");
    cc_profile_sources_t sources = s_cgroup_sources (dir, "4:memory:/x\n"
                                                          "2:cpuacct:/\n"
                                                          "1:cpu:/x\n"
                                                          "0::/x\n");
    uint64_t memory_bytes, machine_memory;
    uint32_t cores, machine_cores;
    s_measure_machine (dir, &sources, &machine_memory, &machine_cores);

    s_write_limit (dir, "cg/x", "memory.max", "3221225472\n");
    s_write_limit (dir, "cg/memory/x", "memory.limit_in_bytes", "5368709120\n");
    s_write_limit (dir, "cg/x", "cpu.max", "max 100000\n");
    s_write_limit (dir, "cg/cpu/x", "cpu.cfs_quota_us", "100000\n");
    s_write_limit (dir, "cg/cpu/x", "cpu.cfs_period_us", "100000\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 3 * S_GIB);
    ck_assert_uint_eq (cores, 1);

    s_write_limit (dir, "cg/memory/x", "memory.limit_in_bytes", "1073741824\n");
    s_write_limit (dir, "cg/x", "cpu.max", "100000 100000\n");
    s_write_limit (dir, "cg/cpu/x", "cpu.cfs_quota_us", "-1\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, 1 * S_GIB);
    ck_assert_uint_eq (cores, 1);

    s_write_limit (dir, "cg/x", "memory.max", "max\n");
    s_write_limit (dir, "cg/memory/x", "memory.limit_in_bytes", "9223372036854771712\n");
    s_write_limit (dir, "cg/x", "cpu.max", "max 100000\n");
    s_measure_limits (dir, &sources, &memory_bytes, &cores);
    ck_assert_uint_eq (memory_bytes, machine_memory);
    ck_assert_uint_eq (cores, machine_cores);

    s_free_cgroup_sources (&sources);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  nvidia-smi is run (with the right arguments) and preferred over /proc;
//  when it fails or hangs, /proc is used.
START_TEST (test_nvidia_smi_program)
{
    char *dir = fixture_tempdir ("profile");
    char *gpus = s_make_gpus_dir (dir);
    char *smi = s_write_file (dir, "nvidia-smi",
                              "#!/bin/sh\n"
                              "[ \"$1\" = --query-gpu=name,memory.total ] || exit 2\n"
                              "[ \"$2\" = --format=csv,noheader,nounits ] || exit 2\n"
                              "echo 'NVIDIA H100 80GB HBM3, 81559'\n"
                              "echo 'NVIDIA H100 80GB HBM3, 81559'\n",
                              0755);
    cc_profile_sources_t sources = {.nvidia_gpus_dir = gpus, .nvidia_smi = smi};
    Certchain__MachineProfile *profile = NULL;
    cc_reason_t reason;
    ck_assert_int_eq (cc_profile_measure_from (dir, &sources, &profile, &reason), 0);
    ck_assert_uint_eq (profile->n_gpus, 2);
    ck_assert_str_eq (profile->gpus [1]->name, "NVIDIA H100 80GB HBM3");
    ck_assert_uint_eq (profile->gpus [1]->memory_bytes, 81559ULL * 1024 * 1024);
    cc_profile_free (&profile);

    //  Failing (driver not loaded, exit 9): its message is not a GPU list.
    char *failing = s_write_file (dir, "nvidia-smi-failing",
                                  "#!/bin/sh\n"
                                  "echo \"NVIDIA-SMI has failed, no driver\"\n"
                                  "exit 9\n",
                                  0755);
    sources.nvidia_smi = failing;
    ck_assert_int_eq (cc_profile_measure_from (dir, &sources, &profile, &reason), 0);
    ck_assert_uint_eq (profile->n_gpus, 2);
    ck_assert_uint_eq (profile->gpus [0]->memory_bytes, 0);     //  from /proc
    cc_profile_free (&profile);

    //  Hanging: killed at the time limit (with the sleep it started).
    char *hanging = s_write_file (dir, "nvidia-smi-hanging",
                                  "#!/bin/sh\n"
                                  "sleep 30\n"
                                  "echo 'NVIDIA H100 80GB HBM3, 81559'\n",
                                  0755);
    sources.nvidia_smi = hanging;
    sources.nvidia_smi_timeout_ms = 300;
    double started = s_now_ms ();
    ck_assert_int_eq (cc_profile_measure_from (dir, &sources, &profile, &reason), 0);
    double elapsed = s_now_ms () - started;
    ck_assert_double_lt (elapsed, 5000);
    ck_assert_uint_eq (profile->n_gpus, 2);
    ck_assert_uint_eq (profile->gpus [0]->memory_bytes, 0);
    cc_profile_free (&profile);

    free (smi);
    free (failing);
    free (hanging);
    free (gpus);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  --- Output -----------------------------------------------------------------------------

START_TEST (test_json_and_print)
{
    Certchain__MachineProfile *profile = s_empty_profile ();
    profile->cpu_model = strdup ("CPU \"X\" \\ 3\t");
    profile->cpu_cores = 8;
    profile->cpu_mhz = 3000;
    profile->memory_bytes = 17179869184ULL;
    profile->disk_total_bytes = 1000;
    profile->disk_free_bytes = 400;
    char *json = cc_profile_json (profile);
    ck_assert_str_eq (json, "{\"cpu_model\":\"CPU \\\"X\\\" \\\\ 3\\u0009\",\"cpu_cores\":8,"
                            "\"cpu_mhz\":3000,\"memory_bytes\":17179869184,"
                            "\"disk_total_bytes\":1000,\"disk_free_bytes\":400,\"gpus\":[]}");
    free (json);

    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&text, &size);
    cc_profile_print (profile, stream);
    fclose (stream);
    ck_assert_ptr_nonnull (strstr (text, "8 cores at 3000 MHz"));
    ck_assert_ptr_nonnull (strstr (text, "memory:  16.0 GiB"));
    ck_assert_ptr_nonnull (strstr (text, "gpus:    none"));
    free (text);

    ck_assert_int_eq (cc_profile_parse_nvidia_smi ("NVIDIA H100 80GB HBM3, 81559\n"
                                                   "NVIDIA H100 80GB HBM3, [N/A]\n",
                                                   profile),
                      2);
    json = cc_profile_json (profile);
    ck_assert_ptr_nonnull (strstr (json, "\"gpus\":[{\"name\":\"NVIDIA H100 80GB HBM3\","
                                         "\"memory_bytes\":85520809984},{"));
    free (json);
    stream = open_memstream (&text, &size);
    cc_profile_print (profile, stream);
    fclose (stream);
    ck_assert_ptr_nonnull (strstr (text, "gpu 0:   NVIDIA H100 80GB HBM3, 79.6 GiB"));
    ck_assert_ptr_nonnull (strstr (text, "gpu 1:   NVIDIA H100 80GB HBM3, memory unknown"));
    free (text);
    cc_profile_free (&profile);

    //  A measured profile's JSON has every key.
    char *dir = fixture_tempdir ("profile");
    cc_reason_t reason;
    ck_assert_int_eq (cc_profile_measure (dir, &profile, &reason), 0);
    json = cc_profile_json (profile);
    const char *keys [] = {"\"cpu_model\":", "\"cpu_cores\":", "\"cpu_mhz\":",
                           "\"memory_bytes\":", "\"disk_total_bytes\":", "\"disk_free_bytes\":",
                           "\"gpus\":["};
    for (size_t index = 0; index < sizeof (keys) / sizeof (keys [0]); index++)
        ck_assert_ptr_nonnull (strstr (json, keys [index]));
    ck_assert_int_eq (json [0], '{');
    ck_assert_int_eq (json [strlen (json) - 1], '}');
    printf ("%s\n", json);
    free (json);
    cc_profile_free (&profile);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("profile");
    TCase *tcase = tcase_create ("core");
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_measure_this_machine);
    tcase_add_test (tcase, test_measure_missing_data_dir);
    tcase_add_test (tcase, test_parse_cpuinfo);
    tcase_add_test (tcase, test_parse_meminfo);
    tcase_add_test (tcase, test_parse_nvidia_smi);
    tcase_add_test (tcase, test_parse_nvidia_information);
    tcase_add_test (tcase, test_parse_cgroup_memory);
    tcase_add_test (tcase, test_parse_cgroup_cpu);
    tcase_add_test (tcase, test_parse_self_cgroup);
    tcase_add_test (tcase, test_measure_from_fixtures);
    tcase_add_test (tcase, test_measure_cgroup_v2);
    tcase_add_test (tcase, test_measure_cgroup_v1);
    tcase_add_test (tcase, test_measure_cgroup_hybrid);
    tcase_add_test (tcase, test_nvidia_smi_program);
    tcase_add_test (tcase, test_json_and_print);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
