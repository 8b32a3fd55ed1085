/*  =========================================================================
    test_config - service configuration: defaults, file, environment and
    flags in order of precedence, refusals, printing and usage, and the
    ZPL line checker
    =========================================================================
*/

#include "config.h"
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A configuration like a relay's.
static cc_config_t *
s_config (void)
{
    cc_config_t *config = cc_config_new ("certchain-relay");
    ck_assert_ptr_nonnull (config);
    ck_assert_int_eq (cc_config_define (config, "relay/rpc", "tcp://*:7000", "rpc",
                                        "endpoint of the RPC socket"),
                      0);
    ck_assert_int_eq (cc_config_define (config, "relay/pub", "tcp://*:7001", "pub",
                                        "endpoint of the publisher"),
                      0);
    ck_assert_int_eq (cc_config_define (config, "relay/port", "7000", "port", "a number"), 0);
    ck_assert_int_eq (cc_config_define (config, "store/path", "data", "data",
                                        "database directory"),
                      0);
    ck_assert_int_eq (cc_config_define (config, "store/cache_mib", "8", NULL,
                                        "block cache in MiB\nshared by every family"),
                      0);
    ck_assert_int_eq (cc_config_define (config, "log/level", "info", "log-level", "threshold"),
                      0);
    ck_assert_int_eq (cc_config_define (config, "verbose", "0", "verbose", "say more"), 0);
    return config;
}

//  Writes text to dir/name and returns the path (caller frees).
static char *
s_write (const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    ck_assert_int_gt (asprintf (&path, "%s/%s", dir, name), 0);
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
    return path;
}

START_TEST (test_defaults)
{
    cc_config_t *config = s_config ();
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "tcp://*:7000");
    ck_assert_str_eq (cc_config_get (config, "store/cache_mib"), "8");
    ck_assert_ptr_null (cc_config_get (config, "relay/nope"));
    uint64_t number = 0;
    cc_reason_t reason;
    ck_assert_int_eq (cc_config_get_u64 (config, "relay/port", &number, &reason), 0);
    ck_assert_uint_eq (number, 7000);
    ck_assert_int_eq (cc_config_get_u64 (config, "relay/nope", &number, &reason),
                      CC_E_NOT_FOUND);
    //  Within bounds, at a bound, outside them (the message names all three).
    ck_assert_int_eq (cc_config_get_u64_range (config, "relay/port", 1, 65535, &number,
                                               &reason), 0);
    ck_assert_int_eq (cc_config_get_u64_range (config, "relay/port", 7000, 7000, &number,
                                               &reason), 0);
    ck_assert_int_eq (cc_config_get_u64_range (config, "relay/port", 1, 6999, &number,
                                               &reason), CC_E_CONFIG);
    ck_assert_str_eq (cc_reason_text (&reason), "relay/port: expected 1 to 6999, got 7000");
    ck_assert_int_eq (cc_config_get_u64_range (config, "relay/nope", 1, 2, &number, &reason),
                      CC_E_NOT_FOUND);
    bool flag = true;
    ck_assert_int_eq (cc_config_get_bool (config, "verbose", &flag, &reason), 0);
    ck_assert (!flag);
    ck_assert_int_eq (cc_config_get_bool (config, "nope", &flag, &reason), CC_E_NOT_FOUND);

    //  Declaring twice, a reserved flag or a malformed path is refused.
    ck_assert_int_eq (cc_config_define (config, "relay/rpc", "x", NULL, ""), CC_E_EXISTS);
    ck_assert_int_eq (cc_config_define (config, "relay/other", "x", "rpc", ""), CC_E_EXISTS);
    ck_assert_int_eq (cc_config_define (config, "a", "x", "config", ""), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_config_define (config, "a", "x", "help", ""), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_config_define (config, "/a", "x", NULL, ""), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_config_define (config, "a/", "x", NULL, ""), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_config_define (config, "a b", "x", NULL, ""), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_config_define (config, "", "x", NULL, ""), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_config_define (config, "a", "x\ny", NULL, ""), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_config_define (config, "a", NULL, NULL, NULL), 0);
    ck_assert_str_eq (cc_config_get (config, "a"), "");

    //  No arguments: nothing requested, nothing collected.
    char *argv [] = {"certchain-relay", NULL};
    ck_assert_int_eq (cc_config_parse (config, 1, argv, &reason), 0);
    ck_assert (!cc_config_print_requested (config));
    ck_assert (!cc_config_help_requested (config));
    ck_assert_uint_eq (cc_config_arg_count (config), 0);
    ck_assert_ptr_null (cc_config_arg (config, 0));
    ck_assert_str_eq (cc_config_get (config, "relay/pub"), "tcp://*:7001");
    cc_config_destroy (&config);
    ck_assert_ptr_null (config);
    cc_config_destroy (&config);    //  safe on NULL
}
END_TEST

START_TEST (test_file_and_flags)
{
    char *dir = fixture_tempdir ("config");
    char *path = s_write (dir, "relay.cfg",
                          "#  relay configuration\n"
                          "relay\n"
                          "    rpc = \"tcp://*:9000\"   #  trailing comment\n"
                          "    pub = tcp://*:9001\n"
                          "store\n"
                          "    path = '/var/lib/certchain'\n"
                          "    cache_mib = 64\n");
    cc_config_t *config = s_config ();
    cc_reason_t reason;
    //  File overrides defaults.
    ck_assert_int_eq (cc_config_load (config, path, &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "tcp://*:9000");
    ck_assert_str_eq (cc_config_get (config, "relay/pub"), "tcp://*:9001");
    ck_assert_str_eq (cc_config_get (config, "store/path"), "/var/lib/certchain");
    ck_assert_str_eq (cc_config_get (config, "store/cache_mib"), "64");
    ck_assert_str_eq (cc_config_get (config, "log/level"), "info");
    cc_config_destroy (&config);

    //  Flags override the file whether they come before or after -c.
    char *before [] = {"relay", "--rpc", "tcp://*:1", "-c", path, "--pub=tcp://*:2", NULL};
    char *after [] = {"relay", "--config", path, "--rpc=tcp://*:1", "--pub", "tcp://*:2", NULL};
    char *equals [] = {"relay", "--pub", "tcp://*:2", "--rpc", "tcp://*:1", "--config=", NULL};
    equals [5] = NULL;
    char *config_equals = NULL;
    ck_assert_int_gt (asprintf (&config_equals, "--config=%s", path), 0);
    equals [5] = config_equals;
    char **variants [] = {before, after, equals};
    for (size_t variant = 0; variant < 3; variant++) {
        config = s_config ();
        ck_assert_int_eq (cc_config_parse (config, 6, variants [variant], &reason), 0);
        ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "tcp://*:1");
        ck_assert_str_eq (cc_config_get (config, "relay/pub"), "tcp://*:2");
        ck_assert_str_eq (cc_config_get (config, "store/path"), "/var/lib/certchain");
        ck_assert_str_eq (cc_config_get (config, "log/level"), "info");
        cc_config_destroy (&config);
    }
    free (config_equals);

    //  A flag may be given twice: the last wins. Values may hold '='.
    config = s_config ();
    char *twice [] = {"relay", "--rpc", "a", "--rpc=b=c", NULL};
    ck_assert_int_eq (cc_config_parse (config, 4, twice, &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "b=c");
    //  cc_config_set overrides like a flag; undeclared keys are NOT_FOUND.
    ck_assert_int_eq (cc_config_set (config, "relay/rpc", "tcp://*:5", &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "tcp://*:5");
    ck_assert_int_eq (cc_config_set (config, "relay/nope", "x", &reason), CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_config_set (config, "relay/rpc", "a\nb", &reason), CC_E_CONFIG);
    ck_assert_int_eq (cc_config_set (config, "relay/rpc", "a\"b'c", &reason), CC_E_CONFIG);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "tcp://*:5");
    cc_config_destroy (&config);

    free (path);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_environment)
{
    char *dir = fixture_tempdir ("config");
    char *path = s_write (dir, "relay.cfg", "relay\n    rpc = \"from-file\"\n");
    cc_reason_t reason;
    unsetenv ("CERTCHAIN_TEST_RPC");

    //  Not set: the file's value.
    cc_config_t *config = s_config ();
    ck_assert_int_eq (cc_config_define_env (config, "relay/rpc", "CERTCHAIN_TEST_RPC"), 0);
    ck_assert_int_eq (cc_config_define_env (config, "relay/nope", "X"), CC_E_NOT_FOUND);
    char *file_only [] = {"relay", "-c", path, NULL};
    ck_assert_int_eq (cc_config_parse (config, 3, file_only, &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "from-file");
    cc_config_destroy (&config);

    //  Set: over the default at once, over the file, under a flag.
    setenv ("CERTCHAIN_TEST_RPC", "from-env", 1);
    config = s_config ();
    ck_assert_int_eq (cc_config_define_env (config, "relay/rpc", "CERTCHAIN_TEST_RPC"), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "from-env");
    ck_assert_int_eq (cc_config_parse (config, 3, file_only, &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "from-env");
    char *with_flag [] = {"relay", "--rpc", "from-flag", "-c", path, NULL};
    ck_assert_int_eq (cc_config_parse (config, 5, with_flag, &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "from-flag");
    cc_config_destroy (&config);

    //  The environment is read again at parse time.
    config = s_config ();
    ck_assert_int_eq (cc_config_define_env (config, "relay/rpc", "CERTCHAIN_TEST_RPC"), 0);
    setenv ("CERTCHAIN_TEST_RPC", "changed", 1);
    ck_assert_int_eq (cc_config_parse (config, 3, file_only, &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "changed");
    //  A value ZPL could not hold is refused.
    setenv ("CERTCHAIN_TEST_RPC", "two\nlines", 1);
    ck_assert_int_eq (cc_config_parse (config, 3, file_only, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "CERTCHAIN_TEST_RPC"));
    cc_config_destroy (&config);
    unsetenv ("CERTCHAIN_TEST_RPC");

    free (path);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_refusals)
{
    char *dir = fixture_tempdir ("config");
    cc_reason_t reason;

    //  A key the program did not declare, named with the file.
    char *path = s_write (dir, "bad.cfg", "relay\n    rpc = \"x\"\n    bogus = 1\n");
    cc_config_t *config = s_config ();
    ck_assert_int_eq (cc_config_load (config, path, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "relay/bogus"));
    ck_assert_ptr_nonnull (strstr (reason.text, path));
    //  Nothing of a refused file is applied.
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "tcp://*:7000");
    char *argv [] = {"relay", "-c", path, NULL};
    ck_assert_int_eq (cc_config_parse (config, 3, argv, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "relay/bogus"));
    free (path);

    //  Top-level unknown key, a section with a value, a key twice, bad ZPL.
    const char *texts [][2] = {
        {"colour = red\n", "colour"},
        {"relay = x\n    rpc = y\n", "relay"},
        {"relay\n    rpc = a\n    rpc = b\n", "relay/rpc"},
        {"relay\n  rpc = a\n", "line 2"},
        {"relay\n    rpc = \"a\n", "line 2"},
    };
    for (size_t index = 0; index < sizeof (texts) / sizeof (texts [0]); index++) {
        path = s_write (dir, "bad.cfg", texts [index][0]);
        ck_assert_int_eq (cc_config_load (config, path, &reason), CC_E_CONFIG);
        ck_assert_msg (strstr (reason.text, texts [index][1]) != NULL, "case %zu: '%s'", index,
                       reason.text);
        free (path);
    }
    //  Key paths written flat are the same keys; empty sections are fine.
    path = s_write (dir, "flat.cfg", "relay/rpc = flat\nlog\nstore\n    # cache_mib = 1\n");
    ck_assert_int_eq (cc_config_load (config, path, &reason), 0);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "flat");
    free (path);

    //  A missing file is IO.
    char *missing [] = {"relay", "--config", "/nonexistent/relay.cfg", NULL};
    ck_assert_int_eq (cc_config_parse (config, 3, missing, &reason), CC_E_IO);
    ck_assert_ptr_nonnull (strstr (reason.text, "/nonexistent/relay.cfg"));
    ck_assert_int_eq (cc_config_load (config, "/nonexistent/relay.cfg", &reason), CC_E_IO);
    ck_assert_int_eq (cc_config_load (config, dir, &reason), CC_E_IO);

    //  Unknown options, missing values, -c twice.
    struct {
        int argc;
        char *argv [5];
        const char *expected;
    } cases [] = {
        {2, {"relay", "--bogus"}, "--bogus"},
        {2, {"relay", "--bogus=1"}, "--bogus"},
        {2, {"relay", "-x"}, "-x"},
        {2, {"relay", "--rpc"}, "--rpc"},
        {3, {"relay", "--rpc", "--pub=x"}, "--rpc"},
        {2, {"relay", "-c"}, "-c"},
        {5, {"relay", "-c", "a", "-c", "b"}, "twice"},
        {2, {"relay", "--rp"}, "--rp"},
        {2, {"relay", "--rpc\nx=1"}, "unknown option"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        ck_assert_int_eq (cc_config_parse (config, cases [index].argc, cases [index].argv,
                                           &reason),
                          CC_E_CONFIG);
        ck_assert_msg (strstr (reason.text, cases [index].expected) != NULL, "case %zu: '%s'",
                       index, reason.text);
    }
    //  Nothing applied from a refused command line.
    char *partial [] = {"relay", "--rpc", "applied?", "--bogus", NULL};
    ck_assert_int_eq (cc_config_parse (config, 4, partial, &reason), CC_E_CONFIG);
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "flat");

    //  Numbers and booleans.
    uint64_t number = 0;
    const char *bad_numbers [] = {"abc", "-1", "+1", "1k", "", " 1", "18446744073709551616"};
    for (size_t index = 0; index < sizeof (bad_numbers) / sizeof (bad_numbers [0]); index++) {
        ck_assert_int_eq (cc_config_set (config, "relay/port", bad_numbers [index], &reason), 0);
        ck_assert_int_eq (cc_config_get_u64 (config, "relay/port", &number, &reason),
                          CC_E_CONFIG);
        ck_assert_ptr_nonnull (strstr (reason.text, "relay/port: expected a number"));
    }
    ck_assert_int_eq (cc_config_set (config, "relay/port", "18446744073709551615", &reason), 0);
    ck_assert_int_eq (cc_config_get_u64 (config, "relay/port", &number, &reason), 0);
    ck_assert_uint_eq (number, UINT64_MAX);
    bool flag = false;
    const char *truths [] = {"1", "true", "YES", "yes", "True"};
    for (size_t index = 0; index < 5; index++) {
        ck_assert_int_eq (cc_config_set (config, "verbose", truths [index], &reason), 0);
        flag = false;
        ck_assert_int_eq (cc_config_get_bool (config, "verbose", &flag, &reason), 0);
        ck_assert (flag);
    }
    const char *falsehoods [] = {"0", "false", "no", "NO"};
    for (size_t index = 0; index < 4; index++) {
        ck_assert_int_eq (cc_config_set (config, "verbose", falsehoods [index], &reason), 0);
        flag = true;
        ck_assert_int_eq (cc_config_get_bool (config, "verbose", &flag, &reason), 0);
        ck_assert (!flag);
    }
    ck_assert_int_eq (cc_config_set (config, "verbose", "maybe", &reason), 0);
    ck_assert_int_eq (cc_config_get_bool (config, "verbose", &flag, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "verbose"));
    cc_config_destroy (&config);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_arguments_and_requests)
{
    cc_config_t *config = s_config ();
    cc_reason_t reason;
    char *argv [] = {"certchain", "send", "--rpc", "x", "alice", "-", "--print-config",
                     "--", "--not-an-option", "-h", NULL};
    ck_assert_int_eq (cc_config_parse (config, 10, argv, &reason), 0);
    ck_assert (cc_config_print_requested (config));
    ck_assert (!cc_config_help_requested (config));
    ck_assert_uint_eq (cc_config_arg_count (config), 5);
    ck_assert_str_eq (cc_config_arg (config, 0), "send");
    ck_assert_str_eq (cc_config_arg (config, 1), "alice");
    ck_assert_str_eq (cc_config_arg (config, 2), "-");
    ck_assert_str_eq (cc_config_arg (config, 3), "--not-an-option");
    ck_assert_str_eq (cc_config_arg (config, 4), "-h");
    ck_assert_ptr_null (cc_config_arg (config, 5));
    ck_assert_str_eq (cc_config_get (config, "relay/rpc"), "x");

    //  A later parse replaces the arguments and the requests.
    char *help [] = {"certchain", "-h", NULL};
    ck_assert_int_eq (cc_config_parse (config, 2, help, &reason), 0);
    ck_assert (cc_config_help_requested (config));
    ck_assert (!cc_config_print_requested (config));
    ck_assert_uint_eq (cc_config_arg_count (config), 0);
    char *long_help [] = {"certchain", "--help", NULL};
    ck_assert_int_eq (cc_config_parse (config, 2, long_help, &reason), 0);
    ck_assert (cc_config_help_requested (config));

    //  Usage lists the options, their defaults and the file-only keys.
    cc_config_set_synopsis (config, "COMMAND [ARGUMENTS]");
    ck_assert_int_eq (cc_config_define_env (config, "relay/pub", "CERTCHAIN_TEST_PUB"), 0);
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&text, &size);
    cc_config_usage (config, stream);
    fclose (stream);
    ck_assert_ptr_nonnull (strstr (text, "Usage: certchain-relay [OPTIONS] COMMAND [ARGUMENTS]"));
    ck_assert_ptr_nonnull (strstr (text, "--config FILE"));
    ck_assert_ptr_nonnull (strstr (text, "--print-config"));
    ck_assert_ptr_nonnull (strstr (text, "--rpc VALUE"));
    ck_assert_ptr_nonnull (strstr (text, "endpoint of the RPC socket"));
    ck_assert_ptr_nonnull (strstr (text, "tcp://*:7000"));
    ck_assert_ptr_nonnull (strstr (text, "CERTCHAIN_TEST_PUB"));
    ck_assert_ptr_nonnull (strstr (text, "store/cache_mib"));
    free (text);
    cc_config_destroy (&config);
}
END_TEST

START_TEST (test_print_reloads)
{
    char *dir = fixture_tempdir ("config");
    cc_config_t *config = s_config ();
    cc_reason_t reason;
    char *argv [] = {"relay", "--rpc", "tcp://10.0.0.1:7000", "--data", "it's \"here\"", NULL};
    //  A value holding both quote characters cannot be printed: refused.
    ck_assert_int_eq (cc_config_parse (config, 5, argv, &reason), CC_E_CONFIG);
    argv [4] = "say \"here\"";
    ck_assert_int_eq (cc_config_parse (config, 5, argv, &reason), 0);
    ck_assert_int_eq (cc_config_set (config, "log/level", "it's", &reason), 0);
    ck_assert_int_eq (cc_config_set (config, "store/cache_mib", "", &reason), 0);
    ck_assert_int_eq (cc_config_set (config, "verbose", "# not a comment", &reason), 0);

    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&text, &size);
    cc_config_print (config, stream);
    fclose (stream);
    //  Each key under its help; sections in declaration order.
    ck_assert_ptr_nonnull (strstr (text, "relay\n    #  endpoint of the RPC socket\n"
                                         "    rpc = \"tcp://10.0.0.1:7000\"\n"));
    ck_assert_ptr_nonnull (strstr (text, "    #  block cache in MiB\n"
                                         "    #  shared by every family\n"
                                         "    cache_mib = \"\"\n"));
    ck_assert (strstr (text, "relay\n") < strstr (text, "\nstore\n"));
    ck_assert (strstr (text, "\nstore\n") < strstr (text, "\nlog\n"));
    ck_assert_int_eq (cc_config_zpl_check (text, "printed", &reason), 0);

    //  Loaded into a fresh configuration, every value is the same.
    char *path = NULL;
    ck_assert_int_gt (asprintf (&path, "%s/printed.cfg", dir), 0);
    FILE *file = fopen (path, "w");
    fputs (text, file);
    fclose (file);
    cc_config_t *loaded = s_config ();
    ck_assert_msg (cc_config_load (loaded, path, &reason) == 0, "%s\n%s", reason.text, text);
    const char *keys [] = {"relay/rpc", "relay/pub", "relay/port", "store/path",
                           "store/cache_mib", "log/level", "verbose"};
    for (size_t index = 0; index < sizeof (keys) / sizeof (keys [0]); index++)
        ck_assert_str_eq (cc_config_get (loaded, keys [index]),
                          cc_config_get (config, keys [index]));
    ck_assert_str_eq (cc_config_get (loaded, "store/path"), "say \"here\"");
    ck_assert_str_eq (cc_config_get (loaded, "log/level"), "it's");
    ck_assert_str_eq (cc_config_get (loaded, "verbose"), "# not a comment");
    cc_config_destroy (&loaded);
    cc_config_destroy (&config);
    free (text);
    free (path);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_zpl_check)
{
    cc_reason_t reason;
    const char *good [] = {
        "",
        "\n\n",
        "# comment only\n",
        "a\n    b = 1\n        c = 2\n    d\nx = \"y\"  # comment\n",
        "a = 'single'\n",
        "a = unquoted value with spaces # and a comment\n",
        "a\r\n    b = 1\r\n",
        "a\n    b = 1\n    # indented comment\n",
        "no/slash/inside = 1\n",
        "last_line_without_newline = 1",
    };
    for (size_t index = 0; index < sizeof (good) / sizeof (good [0]); index++) {
        ck_assert_msg (cc_config_zpl_check (good [index], "t", &reason) == 0, "%zu: %s", index,
                       reason.text);
        zconfig_t *tree = cc_config_zpl_parse (good [index], "t", &reason);
        ck_assert_ptr_nonnull (tree);
        zconfig_destroy (&tree);
    }
    struct {
        const char *text, *expected;
    } bad [] = {
        {"a\n   b = 1\n", "line 2: indent"},
        {"a\n\tb = 1\n", "line 2: indent with spaces"},
        {"a\n        b = 1\n", "line 2: indented deeper"},
        {"a = \"open\n", "line 1: missing closing"},
        {"a = 'open\n", "line 1: missing closing"},
        {"a = \"x\" y\n", "line 1: unexpected text"},
        {"a b\n", "line 1: expected '='"},
        {"/a = 1\n", "line 1: a name may not begin or end with '/'"},
        {"a/ = 1\n", "line 1: a name may not begin or end with '/'"},
        {"!\n", "line 1: expected a name"},
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        ck_assert_int_eq (cc_config_zpl_check (bad [index].text, "origin", &reason),
                          CC_E_CONFIG);
        ck_assert_msg (strstr (reason.text, bad [index].expected) != NULL, "%zu: '%s'", index,
                       reason.text);
        ck_assert_ptr_nonnull (strstr (reason.text, "origin"));
        ck_assert_ptr_null (cc_config_zpl_parse (bad [index].text, "origin", &reason));
        ck_assert_int_eq (reason.code, CC_E_CONFIG);
    }
    //  A line longer than zconfig reads whole.
    char *long_line = malloc (2100);
    memset (long_line, 'a', 2000);
    strcpy (long_line + 2000, " = 1\n");
    ck_assert_int_eq (cc_config_zpl_check (long_line, "t", &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "line 1: longer"));
    free (long_line);
}
END_TEST

START_TEST (test_text_readers)
{
    uint64_t number = 7;
    ck_assert_int_eq (cc_config_text_u64 ("0", &number), 0);
    ck_assert_uint_eq (number, 0);
    ck_assert_int_eq (cc_config_text_u64 ("18446744073709551615", &number), 0);
    ck_assert_uint_eq (number, UINT64_MAX);
    ck_assert_int_eq (cc_config_text_u64 ("18446744073709551616", &number), CC_E_OVERSIZE);
    ck_assert_int_eq (cc_config_text_u64 ("", &number), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_config_text_u64 ("-1", &number), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_config_text_u64 ("12a", &number), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_config_text_u64 (" 1", &number), CC_E_BAD_FIELD);
    ck_assert_uint_eq (number, UINT64_MAX);     //  unchanged by refusals
    bool flag = false;
    ck_assert_int_eq (cc_config_text_bool ("YES", &flag), 0);
    ck_assert (flag);
    ck_assert_int_eq (cc_config_text_bool ("0", &flag), 0);
    ck_assert (!flag);
    ck_assert_int_eq (cc_config_text_bool ("maybe", &flag), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_config_text_bool (NULL, &flag), CC_E_BAD_FIELD);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("config");
    TCase *tcase = tcase_create ("config");
    tcase_add_test (tcase, test_defaults);
    tcase_add_test (tcase, test_file_and_flags);
    tcase_add_test (tcase, test_environment);
    tcase_add_test (tcase, test_refusals);
    tcase_add_test (tcase, test_arguments_and_requests);
    tcase_add_test (tcase, test_print_reloads);
    tcase_add_test (tcase, test_zpl_check);
    tcase_add_test (tcase, test_text_readers);
    suite_add_tcase (suite, tcase);
    return suite;
}


int
main (void)
{
    return fixture_run (s_suite ());
}
