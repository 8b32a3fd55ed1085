/*  =========================================================================
    certchain-validator - a block producer of the CertChain network

    Thin main (malamute's): declare and read the configuration, start the
    validator actor (validator.c), wait for SIGTERM or SIGINT (or a fatal
    report from the actor), then destroy in reverse order. Exit codes:
    0 after a clean stop, 2 for a bad configuration (including the key
    file and the genesis), 1 for an occupied port, a store that cannot be
    opened, or a fatal failure at run time.

    Stopping takes two steps (see validator.c, DESIGN): the first signal
    becomes "STOP" on the actor's pipe, and main waits for the actor's
    "DONE" (a member resigns first; the actor bounds that wait itself);
    a second signal, or "DONE", ends the actor with $TERM. czmq's handler
    only sets zsys_interrupted, so main clears it after each signal it
    has taken, to see the next one.
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
        //  Runs until "DONE" after a signal, a second signal, or a fatal
        //  error reported by the actor.
        zpoller_t *poller = started == 0 ? zpoller_new (validator, NULL) : NULL;
        bool stopping = false;
        while (poller) {
            if (zpoller_wait (poller, 1000) == validator) {
                char *report = zstr_recv (validator);
                bool fatal = report && streq (report, "FATAL");
                bool done = report && streq (report, "DONE");
                zstr_free (&report);
                if (fatal)
                    exit_code = CC_EXIT_FAILURE;
                if (fatal || done)
                    break;
            }
            if (zsys_interrupted) {
                zsys_interrupted = 0;
                if (stopping) {
                    cc_log_warn (log, "second signal: exiting now");
                    break;
                }
                stopping = true;
                zstr_send (validator, "STOP");
            }
        }
        zpoller_destroy (&poller);
        zactor_destroy (&validator);
    }
    cc_log_destroy (&log);
    cc_config_destroy (&config);
    return exit_code;
}
