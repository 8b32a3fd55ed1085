/*  =========================================================================
    certchain-ca - the certification authority process: configuration,
    actors, signals

    Thin by design (malamute's main): declare the keys, parse the command
    line, start the CA actor, then, when the genesis marks this CA as
    producing, the block producer (producer.h: the validator engine with
    the CA's key, a second actor); wait for SIGINT or SIGTERM, then
    destroy in reverse order. Everything the CA does is in ca.c and its
    modules; everything the producer does is services/validator's engine.

    Exit codes: 0 after a clean stop (or --help, --print-config), 2 for a
    bad command line, configuration, genesis, key or policy, 1 for a
    runtime failure (an occupied port, a store that cannot be opened, the
    producer reporting that it cannot go on).
    =========================================================================
*/

#include <czmq.h>

#include "ca.h"
#include "producer.h"
#include "service.h"

//  Runs until a signal, the CA actor ending by itself, or the producer
//  reporting a fatal error. Returns the exit code.
static int
s_run (zactor_t *ca, cc_producer_t *producer)
{
    zactor_t *engine = producer ? cc_producer_actor (producer) : NULL;
    zpoller_t *poller = zpoller_new (ca, engine, NULL);
    int exit_code = CC_EXIT_OK;
    while (poller && !zsys_interrupted) {
        void *which = zpoller_wait (poller, 500);
        if (which == ca || zpoller_terminated (poller))
            break;
        if (which && which == engine) {
            char *report = zstr_recv (engine);
            bool fatal = report && streq (report, "FATAL");
            zstr_free (&report);
            if (fatal) {
                exit_code = CC_EXIT_FAILURE;
                break;
            }
        }
    }
    zpoller_destroy (&poller);
    return exit_code;
}

int
main (int argc, char **argv)
{
    cc_config_t *config = cc_config_new ("certchain-ca");
    if (!config) {
        fprintf (stderr, "ca: out of memory\n");
        return CC_EXIT_FAILURE;
    }
    cc_ca_define (config);
    cc_producer_define (config);
    int exit_code = CC_EXIT_OK;
    cc_log_t *log = cc_service_start (config, "ca", argc, argv, &exit_code);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (!log && exit_code == CC_EXIT_OK && cc_config_print_requested (config)) {
        //  The configuration is printed; the policy it names and the
        //  producer's derived configuration follow, as comments.
        if (cc_ca_print_policy (config, stdout, &reason) != 0
            || cc_producer_print (config, stdout, &reason) != 0) {
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
        cc_producer_t *producer = NULL;
        bool produces = false;
        //  The CA actor checked the key and the genesis already.
        if (ca && status == 0 && !zsys_interrupted
            && cc_producer_wanted (config, &produces, &reason) != 0) {
            cc_log_error (log, "%s", cc_reason_text (&reason));
            exit_code = CC_EXIT_CONFIG;
        }
        else
        if (produces) {
            producer = cc_producer_new (config, cc_log_level (log), &exit_code);
            if (!producer && exit_code != CC_EXIT_OK)
                cc_log_error (log, "stopping: this CA must produce blocks");
        }
        if (ca && status == 0 && exit_code == CC_EXIT_OK)
            exit_code = s_run (ca, producer);
        //  Reverse order: the producer stops first.
        cc_producer_destroy (&producer);
        zactor_destroy (&ca);
    }
    cc_log_destroy (&log);
    cc_config_destroy (&config);
    return exit_code;
}
