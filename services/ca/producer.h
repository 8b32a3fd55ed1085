/*  =========================================================================
    producer - the CA as a block producer: the validator engine, run in
    the CA's process with a configuration derived from the CA's

    A CA that the genesis marks as producing is a member of every V(h)
    (DESIGN.md section 4), so the chain needs its proposals and votes. It
    gets them from the very engine a validator runs (services/validator,
    linked as dep_validator_engine): cc_validator_actor, started as a
    second czmq actor next to the CA's, with the CA's key. The engine then
    does what a validator does: mempool from the relay's "tx" topic (the
    Certify transactions this CA submits arrive there like every other
    transaction), Tendermint on "cns", packing, commit in its own store,
    upload to the relay, catch-up, and an admin socket answering
    GetStatus.

    The engine's configuration is derived, never written by hand:
        validator/key            = ca/key
        validator/admin          = ca/admin (tcp://127.0.0.1:7402)
        relay/rpc, relay/pub, relay/gossip, genesis/path, log/level,
        store/cache_mb           = the CA's
        ca/join                  = the CA's own join endpoint
        store/path               = <store/path>/producer
        validator/join           = 0  (when the engine has the key)
        validator/resign_on_stop = 0  (when the engine has the key)
    A genesis CA is a member through the genesis: it never joins and
    cannot resign. The engine's store lives inside the CA's directory but
    is its own RocksDB database, so the CA's chain view (followed from
    "blk") and the producer's chain stay separate, each verified on its
    own.

    DESIGN: two actors, not one loop. The CA's loop and the engine's loop
    share nothing but the relay; the CA hands its Certify to the relay
    (SubmitTx) and the relay publishes it on "tx" to every producer, this
    one included. So a producing CA is, to the network, exactly a CA plus
    a validator, and neither module knows of the other: a fault in one
    shows as that part's log lines ("ca" or "ca-producer").

    Life cycle: main starts the CA actor first (it refuses a bad key or
    genesis with its own message), then cc_producer_new when
    cc_producer_wanted says so; cc_producer_destroy stops the engine
    ($TERM: its store is closed with every committed block on disk).
    =========================================================================
*/

#ifndef CC_PRODUCER_H_INCLUDED
#define CC_PRODUCER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "log.h"

#define CC_PRODUCER_ADMIN_DEFAULT "tcp://127.0.0.1:7402"
//  The producer's store, under the CA's store/path.
#define CC_PRODUCER_STORE_DIR "producer"
//  The service name in the producer's log lines.
#define CC_PRODUCER_LOG_NAME "ca-producer"

typedef struct _cc_producer_t cc_producer_t;

//  --- Configuration -------------------------------------------------------------

//  Declares the producer's keys on the CA's configuration (ca/admin).
void
    cc_producer_define (cc_config_t *ca_config);

//  Sets *produces: true when the key of ca/key is a CA the genesis marks
//  as producing. 0, or CONFIG with reason when the genesis or the key
//  cannot be read.
int
    cc_producer_wanted (cc_config_t *ca_config, bool *produces, cc_reason_t *reason);

//  The engine's configuration derived from the CA's (see above), checked
//  with cc_validator_check. Caller owns it; NULL with reason (CONFIG, or
//  NOMEM).
cc_config_t *
    cc_producer_config_new (cc_config_t *ca_config, cc_reason_t *reason);

//  For --print-config: prints whether the CA produces and the engine's
//  effective configuration, as ZPL comment lines. 0, or CONFIG with
//  reason when the derived configuration cannot be made.
int
    cc_producer_print (cc_config_t *ca_config, FILE *stream, cc_reason_t *reason);

//  --- Running ----------------------------------------------------------------------

//  Starts the engine for the CA of ca_config (borrowed; it must outlive
//  the producer), logging at level. Returns the running producer, or NULL
//  with *exit_code: CC_EXIT_CONFIG (derived configuration, key, genesis),
//  CC_EXIT_FAILURE (admin port occupied, store, memory); the reason is
//  logged as one line.
cc_producer_t *
    cc_producer_new (cc_config_t *ca_config, cc_log_level_t level, int *exit_code);

//  Stops the engine ($TERM, waits for it) and frees everything; nulls the
//  pointer; safe on NULL.
void
    cc_producer_destroy (cc_producer_t **self_p);

//  The engine's actor, for main's poller: a "FATAL" string on it means the
//  engine cannot go on (main exits 1). Owned by the producer.
zactor_t *
    cc_producer_actor (cc_producer_t *self);

#endif
