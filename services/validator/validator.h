/*  =========================================================================
    validator - the certchain-validator service: an actor with one zloop

    A validator connects to the relay (SUB to its pub: topics tx, cns, blk;
    PUB into its gossip; DEALER to its rpc) and binds an admin ROUTER. It
    keeps a mempool of the transactions it hears (signatures checked on
    worker threads: checker.h), runs Tendermint on its event loop (the
    consensus driver: driver.h), commits every decided block atomically in
    its own store, uploads it to the relay, and catches up from the relay
    with common/sync whenever it finds itself behind. Its admin socket
    answers GetStatus; a MetricsEvent goes out every second.

    Life cycle (malamute's actor model): main.c declares the keys with
    cc_validator_define, checks them with cc_validator_check, and runs
    cc_validator_actor with zactor_new. The actor signals at once, then
    sends one int: 0 when it runs, or the exit code for main (2 for a bad
    key or genesis, 1 for an occupied port or a store it cannot open),
    after which it waits for $TERM. Later, a "FATAL" string on the pipe
    means it cannot go on (exit 1). "STOP" (main's first SIGTERM or
    SIGINT) asks it to leave: a member resigns first and answers "DONE"
    once out of the set (or after validator/resign_timeout_ms), anyone
    else answers "DONE" at once. $TERM shuts it down cleanly and at once:
    every committed block is on disk already, the store is closed. An
    embedding that never sends "STOP" (a producing CA) gets the old
    behaviour.

    Start-up: load the key (a key file readable by group or others is
    refused), the genesis and the chain; ask the relay GetStatus; catch up
    to the relay's height; then join consensus at tip + 1. A key that is
    not in V(h) is not an error: the validator follows the chain, takes
    part wherever it is a member, and (validator/join, default 1) joins
    through the CA at ca/join once caught up (candidate.h); a member
    renews its certificate before it expires. Double-signing evidence
    seen by consensus is submitted as an Evidence tx (outbox.h).
    =========================================================================
*/

#ifndef CC_VALIDATOR_H_INCLUDED
#define CC_VALIDATOR_H_INCLUDED

#include <czmq.h>

#include "config.h"
#include "log.h"

//  What main hands the actor (both borrowed; they outlive the actor).
typedef struct {
    cc_config_t *config;            //  parsed configuration
    cc_log_t *log;                  //  the service's log
} cc_validator_args_t;

//  Declares the validator's keys (and the common ones) on config.
void
    cc_validator_define (cc_config_t *config);

//  Checks the command line and keys (no stray arguments, numbers in range,
//  endpoints present): 0, or CONFIG with the key named in reason.
int
    cc_validator_check (cc_config_t *config, cc_reason_t *reason);

//  The actor: args is a cc_validator_args_t.
void
    cc_validator_actor (zsock_t *pipe, void *args);

#endif
