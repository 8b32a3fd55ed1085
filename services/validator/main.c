/*  =========================================================================
    certchain-validator - a block producer of the CertChain network

    Thin main (malamute's): declare and read the configuration, start the
    validator actor (validator.c), wait for SIGTERM or SIGINT (or a fatal
    report from the actor), then destroy in reverse order. Exit codes:
    0 after a clean stop, 2 for a bad configuration (including the key
    file and the genesis), 1 for an occupied port, a store that cannot be
    opened, or a fatal failure at run time.
    =========================================================================
*/

#include <czmq.h>

#include "service.h"
#include "validator.h"

int
main (int argc, char **argv)
{
    cc_config_t *config = cc_config_new ("certchain-validator");
    if (!config)
        return CC_EXIT_FAILURE;
    cc_validator_define (config);
    int exit_code = CC_EXIT_OK;
    cc_log_t *log = cc_service_start (config, "validator", argc, argv, &exit_code);
    if (!log) {
        cc_config_destroy (&config);
        return exit_code;
    }
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_validator_check (config, &reason) != 0) {
        cc_log_error (log, "%s", cc_reason_text (&reason));
        cc_log_destroy (&log);
        cc_config_destroy (&config);
        return CC_EXIT_CONFIG;
    }
    cc_validator_args_t args = {config, log};
    zactor_t *validator = zactor_new (cc_validator_actor, &args);
    if (!validator)
        exit_code = CC_EXIT_FAILURE;
    else {
        int started = CC_EXIT_FAILURE;
        if (zsock_recv (validator, "i", &started) != 0)
            started = zsys_interrupted ? CC_EXIT_OK : CC_EXIT_FAILURE;
        exit_code = started;
        //  Runs until a signal, or until the actor reports a fatal error.
        zpoller_t *poller = started == 0 ? zpoller_new (validator, NULL) : NULL;
        while (poller && !zsys_interrupted) {
            if (zpoller_wait (poller, 1000) == validator) {
                char *report = zstr_recv (validator);
                bool fatal = report && streq (report, "FATAL");
                zstr_free (&report);
                if (fatal) {
                    exit_code = CC_EXIT_FAILURE;
                    break;
                }
            }
            else
            if (zpoller_terminated (poller))
                break;
        }
        zpoller_destroy (&poller);
        zactor_destroy (&validator);
    }
    cc_log_destroy (&log);
    cc_config_destroy (&config);
    return exit_code;
}
