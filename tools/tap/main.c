/*  =========================================================================
    certchain-tap - watch what flows through a relay

    certchain-tap [--relay-pub E] [--topic T ...] [--json] [--stats | --top]
                  [--count N] [--duration S]

    Thin: reads the command line (the endpoint through common/config, so
    --relay-pub overrides CERTCHAIN_RELAY_PUB over the default), runs the
    tap until it is done or interrupted, and exits 0; 1 when it cannot
    start or write; 2 for a wrong command line.
    =========================================================================
*/

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"

#define S_EXIT_OK 0
#define S_EXIT_FAILURE 1
#define S_EXIT_USAGE 2

static void
s_usage (FILE *stream)
{
    fprintf (stream,
             "usage: certchain-tap [OPTIONS]\n\n"
             "Shows every message a relay publishes, decoded, one line each\n"
             "(one per transaction of a txb batch).\n\n"
             "options:\n"
             "  --relay-pub E     relay pub endpoint (env CERTCHAIN_RELAY_PUB,\n"
             "                    default tcp://127.0.0.1:7102)\n"
             "  --topic T         only topic T (txb, tx, cns, blk, evt); repeatable\n"
             "  --json            one JSON object per line\n"
             "  --stats           messages/s and bytes/s per topic, every second\n"
             "  --top             live table of every service's metrics event\n"
             "  --count N         exit after N lines\n"
             "  --duration S      exit after S seconds\n"
             "  --help            show this help\n");
}

static int
s_usage_error (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_usage_error (const char *format, ...)
{
    char message [512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof (message), format, args);
    va_end (args);
    fprintf (stderr, "certchain-tap: %s (see certchain-tap --help)\n", message);
    return S_EXIT_USAGE;
}

//  A plain decimal number; false when text is not one.
static bool
s_parse_u64 (const char *text, uint64_t *value)
{
    if (!*text || strspn (text, "0123456789") != strlen (text))
        return false;
    errno = 0;
    unsigned long long parsed = strtoull (text, NULL, 10);
    if (errno)
        return false;
    *value = (uint64_t) parsed;
    return true;
}

int
main (int argc, char **argv)
{
    cc_tap_opts_t opts = { 0 };
    const char **topics = (const char **) calloc ((size_t) argc + 1, sizeof (char *));
    cc_config_t *config = cc_config_new ("certchain-tap");
    if (!topics || !config) {
        fprintf (stderr, "certchain-tap: out of memory\n");
        free (topics);
        cc_config_destroy (&config);
        return S_EXIT_FAILURE;
    }
    int rc = S_EXIT_OK;
    const char *endpoint = NULL;
    bool help = false;
    for (int index = 1; index < argc && rc == S_EXIT_OK; index++) {
        const char *arg = argv [index];
        //  Options with a value: --name VALUE or --name=VALUE.
        static const char *valued [] = { "--relay-pub", "--topic", "--count", "--duration" };
        const char *value = NULL, *name = arg;
        char name_buffer [32];
        const char *equals = strchr (arg, '=');
        if (equals && (size_t) (equals - arg) < sizeof (name_buffer)) {
            memcpy (name_buffer, arg, (size_t) (equals - arg));
            name_buffer [equals - arg] = 0;
            name = name_buffer;
            value = equals + 1;
        }
        bool takes_value = false;
        for (size_t known = 0; known < sizeof (valued) / sizeof (valued [0]); known++)
            takes_value |= strcmp (name, valued [known]) == 0;
        if (takes_value && !value) {
            if (index + 1 >= argc || strncmp (argv [index + 1], "--", 2) == 0) {
                rc = s_usage_error ("option '%s' needs a value", name);
                break;
            }
            value = argv [++index];
        }
        if (!takes_value && value) {
            rc = s_usage_error ("option '%s' takes no value", name);
            break;
        }
        if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0)
            help = true;
        else
        if (strcmp (name, "--json") == 0)
            opts.json = true;
        else
        if (strcmp (name, "--stats") == 0)
            opts.stats = true;
        else
        if (strcmp (name, "--top") == 0)
            opts.top = true;
        else
        if (strcmp (name, "--relay-pub") == 0)
            endpoint = value;
        else
        if (strcmp (name, "--topic") == 0) {
            if (!*value)
                rc = s_usage_error ("--topic: empty topic");
            topics [opts.topic_count++] = value;
        }
        else
        if (strcmp (name, "--count") == 0) {
            if (!s_parse_u64 (value, &opts.count) || opts.count == 0)
                rc = s_usage_error ("--count: expected a number above 0, got '%s'", value);
        }
        else
        if (strcmp (name, "--duration") == 0) {
            char *end = NULL;
            errno = 0;
            double seconds = strtod (value, &end);
            if (errno || end == value || *end || !isfinite (seconds) || seconds <= 0
                || seconds > 1e9)
                rc = s_usage_error ("--duration: expected seconds above 0, got '%s'", value);
            else
                opts.duration_ms = (uint64_t) ceil (seconds * 1000);
        }
        else
            rc = s_usage_error ("unknown option or argument '%s'", arg);
    }
    if (rc == S_EXIT_OK && help) {
        s_usage (stdout);
        free (topics);
        cc_config_destroy (&config);
        return S_EXIT_OK;
    }
    if (rc == S_EXIT_OK && opts.stats && opts.top)
        rc = s_usage_error ("--stats and --top are two views: pick one");

    //  The endpoint: default, environment, flag (common/config's order).
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (rc == S_EXIT_OK
        && (cc_config_define (config, "relay/pub", "tcp://127.0.0.1:7102", NULL,
                              "relay pub endpoint")
                != 0
            || cc_config_define_env (config, "relay/pub", "CERTCHAIN_RELAY_PUB") != 0
            || (endpoint && cc_config_set (config, "relay/pub", endpoint, &reason) != 0)))
        rc = s_usage_error ("relay pub endpoint: %s",
                            reason.code ? cc_reason_text (&reason) : "not usable");
    cc_tap_t *tap = NULL;
    if (rc == S_EXIT_OK) {
        opts.endpoint = cc_config_get (config, "relay/pub");
        opts.topics = topics;
        //  Lines go out as they come, also into a pipe.
        setvbuf (stdout, NULL, _IOLBF, 0);
        tap = cc_tap_new (&opts, &reason);
        if (!tap) {
            fprintf (stderr, "certchain-tap: %s (%s)\n", cc_reason_text (&reason),
                     cc_error_name (reason.code));
            rc = S_EXIT_FAILURE;
        }
    }
    if (tap && cc_tap_run (tap) != 0) {
        fprintf (stderr, "certchain-tap: cannot write the output (IO)\n");
        rc = S_EXIT_FAILURE;
    }
    cc_tap_destroy (&tap);
    cc_config_destroy (&config);
    free (topics);
    return rc;
}
