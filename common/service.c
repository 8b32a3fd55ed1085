/*  =========================================================================
    service - what every CertChain process does the same way at start
    =========================================================================
*/

#include "service.h"

#include <errno.h>
#include <string.h>

void
cc_service_define_common (cc_config_t *config, const char *default_store)
{
    cc_config_define (config, "log/level", "info", "log-level",
                      "least severe events logged: debug, info, warn or error");
    cc_config_define (config, "store/path", default_store, "store",
                      "directory of this service's own RocksDB store");
    cc_config_define (config, "store/cache_mb", "8", "cache-mb",
                      "RocksDB block cache in MiB");
    cc_config_define (config, "genesis/path", "genesis.zpl", "genesis",
                      "genesis file of the chain");
}

cc_log_t *
cc_service_start (cc_config_t *config, const char *service, int argc, char **argv,
                  int *exit_code)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_config_parse (config, argc, argv, &reason) != 0) {
        //  The parser's message already names the program.
        fprintf (stderr, "%s\n", cc_reason_text (&reason));
        *exit_code = CC_EXIT_CONFIG;
        return NULL;
    }
    if (cc_config_help_requested (config)) {
        cc_config_usage (config, stdout);
        *exit_code = CC_EXIT_OK;
        return NULL;
    }
    if (cc_config_print_requested (config)) {
        cc_config_print (config, stdout);
        *exit_code = CC_EXIT_OK;
        return NULL;
    }
    int level = cc_log_level_from_name (cc_config_get (config, "log/level"));
    if (level < 0) {
        fprintf (stderr, "%s: log/level: expected debug, info, warn or error, got '%s'\n",
                 service, cc_config_get (config, "log/level"));
        *exit_code = CC_EXIT_CONFIG;
        return NULL;
    }
    uint64_t cache_mb = 0;
    if (cc_config_get_u64 (config, "store/cache_mb", &cache_mb, &reason) != 0) {
        fprintf (stderr, "%s: %s\n", service, cc_reason_text (&reason));
        *exit_code = CC_EXIT_CONFIG;
        return NULL;
    }
    cc_log_t *log = cc_log_new (service, stderr);
    if (!log) {
        *exit_code = CC_EXIT_FAILURE;
        return NULL;
    }
    cc_log_set_level (log, (cc_log_level_t) level);
    *exit_code = CC_EXIT_OK;
    return log;
}

int
cc_service_bind (zsock_t *socket, cc_config_t *config, const char *key, cc_log_t *log)
{
    const char *endpoint = cc_config_get (config, key);
    if (!endpoint || zsock_bind (socket, "%s", endpoint) < 0) {
        cc_log_error (log, "cannot bind %s to %s: %s", key, endpoint ? endpoint : "(unset)",
                      zmq_strerror (zmq_errno ()));
        return CC_E_IO;
    }
    return 0;
}

uint64_t
cc_service_u64 (cc_config_t *config, const char *key, uint64_t fallback)
{
    uint64_t value = 0;
    return cc_config_get_u64 (config, key, &value, NULL) == 0 ? value : fallback;
}

int
cc_service_on_pipe (zloop_t *loop, zsock_t *pipe, void *argument)
{
    char *command = zstr_recv (pipe);
    bool terminate = !command || streq (command, "$TERM");
    zstr_free (&command);
    return terminate ? -1 : 0;
}

uint64_t
cc_service_now_ms (void)
{
    return (uint64_t) zclock_time ();
}
