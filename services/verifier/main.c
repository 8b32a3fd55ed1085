/*  =========================================================================
    certchain-verifier - main: configuration, the verifier actor, signals

    Thin on purpose (malamute's main): declare and check the keys, start
    the actor, wait for SIGINT or SIGTERM (or the actor's end), then
    destroy in reverse order. Exit codes: 0 after a clean stop, --help or
    --print-config; 2 for a bad command line, configuration or genesis; 1
    for a store that cannot be opened, an occupied port, or a runtime
    failure.
    =========================================================================
*/

#include "verifier.h"

#include "service.h"

#include <stdio.h>

int
main (int argc, char **argv)
{
    cc_config_t *config = cc_config_new ("certchain-verifier");
    if (!config)
        return CC_EXIT_FAILURE;
    cc_verifier_define (config);
    int exit_code = CC_EXIT_OK;
    cc_log_t *log = cc_service_start (config, "verifier", argc, argv, &exit_code);
    if (!log) {
        cc_config_destroy (&config);
        return exit_code;
    }
    cc_reason_t reason;
    if (cc_verifier_check (config, &reason) != 0) {
        fprintf (stderr, "verifier: %s\n", cc_reason_text (&reason));
        cc_log_destroy (&log);
        cc_config_destroy (&config);
        return CC_EXIT_CONFIG;
    }
    cc_verifier_args_t args = {config, log};
    zactor_t *actor = zactor_new (cc_verifier_actor, &args);
    if (!actor)
        exit_code = CC_EXIT_FAILURE;
    else {
        int status = zsock_wait (actor);
        if (status != 0)
            exit_code = status > 0 ? status : CC_EXIT_FAILURE;
        else {
            //  Runs until a signal, or until the actor ends by itself
            //  (which only a runtime failure makes it do).
            zpoller_t *poller = zpoller_new (actor, NULL);
            while (!zsys_interrupted && !zpoller_wait (poller, 500)) {
                if (zpoller_terminated (poller))
                    break;
            }
            if (!zsys_interrupted)
                exit_code = CC_EXIT_FAILURE;
            zpoller_destroy (&poller);
        }
        zactor_destroy (&actor);
    }
    cc_log_destroy (&log);
    cc_config_destroy (&config);
    return exit_code;
}
