/*  =========================================================================
    certchain-ca - the certification authority process: configuration,
    actor, signals

    Thin by design (malamute's main): declare the keys, parse the command
    line, start the CA actor, wait for SIGINT or SIGTERM, then destroy in
    reverse order. Everything the CA does is in ca.c and its modules.

    Exit codes: 0 after a clean stop (or --help, --print-config), 2 for a
    bad command line, configuration, genesis, key or policy, 1 for a
    runtime failure (an occupied port, a store that cannot be opened).
    =========================================================================
*/

#include <czmq.h>

#include "ca.h"
#include "service.h"

int
main (int argc, char **argv)
{
    cc_config_t *config = cc_config_new ("certchain-ca");
    if (!config) {
        fprintf (stderr, "ca: out of memory\n");
        return CC_EXIT_FAILURE;
    }
    cc_ca_define (config);
    int exit_code = CC_EXIT_OK;
    cc_log_t *log = cc_service_start (config, "ca", argc, argv, &exit_code);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (!log && exit_code == CC_EXIT_OK && cc_config_print_requested (config)) {
        //  The configuration is printed; the policy it names follows.
        if (cc_ca_print_policy (config, stdout, &reason) != 0) {
            fprintf (stderr, "ca: %s\n", cc_reason_text (&reason));
            exit_code = CC_EXIT_CONFIG;
        }
    }
    else
    if (log && cc_ca_check (config, &reason) != 0) {
        fprintf (stderr, "ca: %s\n", cc_reason_text (&reason));
        exit_code = CC_EXIT_CONFIG;
    }
    else
    if (log) {
        cc_ca_args_t ca_args = {config, log};
        zactor_t *ca = zactor_new (cc_ca_actor, &ca_args);
        int status = ca ? zsock_wait (ca) : CC_EXIT_FAILURE;
        //  -1: interrupted while starting, which is a clean stop.
        exit_code = status < 0 ? CC_EXIT_OK : status;
        if (ca && status == 0) {
            //  Until a signal, or the actor ending by itself.
            zpoller_t *poller = zpoller_new (ca, NULL);
            while (!zsys_interrupted) {
                if (zpoller_wait (poller, 500) || zpoller_terminated (poller))
                    break;
            }
            zpoller_destroy (&poller);
        }
        zactor_destroy (&ca);
    }
    cc_log_destroy (&log);
    cc_config_destroy (&config);
    return exit_code;
}
