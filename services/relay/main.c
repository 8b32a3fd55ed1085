/*  =========================================================================
    certchain-relay - the relay process: configuration, actor, signals

    Thin by design (malamute's main): declare the keys, parse the command
    line, start the relay actor, wait for SIGINT or SIGTERM, then destroy
    in reverse order. Everything the relay does is in relay.c.

    Exit codes: 0 after a clean stop (or --help, --print-config), 2 for a
    bad command line, configuration or genesis, 1 for a runtime failure
    (an occupied port, a store that cannot be opened).
    =========================================================================
*/

#include <czmq.h>

#include "relay.h"
#include "service.h"

int
main (int argc, char **argv)
{
    char **args = cc_relay_args_normalize (argc, argv);
    cc_config_t *config = cc_config_new ("certchain-relay");
    if (!args || !config) {
        fprintf (stderr, "relay: out of memory\n");
        free (args);
        cc_config_destroy (&config);
        return CC_EXIT_FAILURE;
    }
    cc_relay_define (config);
    int exit_code = CC_EXIT_OK;
    cc_log_t *log = cc_service_start (config, "relay", argc, args, &exit_code);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (log && cc_relay_check (config, &reason) != 0) {
        fprintf (stderr, "relay: %s\n", cc_reason_text (&reason));
        exit_code = CC_EXIT_CONFIG;
    }
    else
    if (log) {
        cc_relay_args_t relay_args = {config, log};
        zactor_t *relay = zactor_new (cc_relay_actor, &relay_args);
        int status = relay ? zsock_wait (relay) : CC_EXIT_FAILURE;
        //  -1: interrupted while starting, which is a clean stop.
        exit_code = status < 0 ? CC_EXIT_OK : status;
        if (relay && status == 0) {
            //  Until a signal, or the actor ending by itself.
            zpoller_t *poller = zpoller_new (relay, NULL);
            while (!zsys_interrupted) {
                if (zpoller_wait (poller, 500) || zpoller_terminated (poller))
                    break;
            }
            zpoller_destroy (&poller);
        }
        zactor_destroy (&relay);
    }
    cc_log_destroy (&log);
    cc_config_destroy (&config);
    free (args);
    return exit_code;
}
