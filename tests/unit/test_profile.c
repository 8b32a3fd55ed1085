/*  =========================================================================
    test_profile - machine measurement: this machine, the parsers on
    fixture texts, the GPU sources (nvidia-smi and /proc) through fixture
    files and fake programs, and the human and JSON output

    This machine has no GPU: the GPU paths are exercised with fixtures only.
    =========================================================================
*/

#include "fixture.h"
#include "profile.h"

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
    tcase_add_test (tcase, test_measure_from_fixtures);
    tcase_add_test (tcase, test_nvidia_smi_program);
    tcase_add_test (tcase, test_json_and_print);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
