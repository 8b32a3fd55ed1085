/*  =========================================================================
    verifier - certchain-verifier: verifies every block, stores or discards

    The verifier is the patent's syncing node (DESIGN.md sections 1 and 4):
    it follows the relay's "blk" topic and applies to each block the
    verdict of cc_block_verify, through cc_sync (common/sync.h): a block is
    stored only if its proposer is a CA or a certified node scheduled for
    that height and round, its signatures hold, its commit carries a quorum
    of V(h) and re-executing it gives its app hash. Every other block is
    discarded: counted by reason (metrics "discard.<CODE>"), logged as one
    line (height, hash, proposer, reason) and recorded in its discard log
    (discards.h), which ListDiscarded pages through.

    A fresh or lagging verifier fills its chain from the relay: at start
    (and every few seconds, in case a block was lost on pub/sub) it asks
    the relay's GetStatus and hands the height to cc_sync_target, which
    fetches the missing blocks with GetBlocks and verifies them with the
    block's signatures checked on verifier/threads worker threads.

    Sockets:
      query   ROUTER (bound, verifier/query)  the read API (query.h)
      SUB     connected to relay/pub, topic "blk"
      DEALER  connected to relay/rpc: GetStatus and sync's GetBlocks
      PUB     connected to relay/gossip: a MetricsEvent every second

    The verifier runs as one czmq actor with one zloop; main.c declares
    the keys (cc_verifier_define), parses the command line, checks them
    (cc_verifier_check) and starts the actor with cc_verifier_args_t.
    =========================================================================
*/

#ifndef CC_VERIFIER_H_INCLUDED
#define CC_VERIFIER_H_INCLUDED

#include <czmq.h>

#include "config.h"
#include "log.h"

//  Default endpoints (DESIGN.md / issue 3 table).
#define CC_VERIFIER_QUERY_DEFAULT "tcp://127.0.0.1:7301"
#define CC_VERIFIER_RELAY_RPC_DEFAULT "tcp://127.0.0.1:7101"
#define CC_VERIFIER_RELAY_PUB_DEFAULT "tcp://127.0.0.1:7102"
#define CC_VERIFIER_RELAY_GOSSIP_DEFAULT "tcp://127.0.0.1:7103"
#define CC_VERIFIER_STORE_DEFAULT "./verifier-data"

//  Most signature-check threads verifier/threads may ask for.
#define CC_VERIFIER_MAX_THREADS 64

//  What the actor borrows from main; both must outlive the actor.
typedef struct {
    cc_config_t *config;        //  parsed and checked configuration
    cc_log_t *log;              //  the service's log
} cc_verifier_args_t;

//  Declares the verifier's keys (verifier/query, verifier/threads,
//  verifier/batch, relay/pub, relay/rpc, relay/gossip) and the common ones.
void
    cc_verifier_define (cc_config_t *config);

//  Checks the verifier's own keys after parsing. 0, or CONFIG with the key
//  named in reason.
int
    cc_verifier_check (cc_config_t *config, cc_reason_t *reason);

//  The verifier actor (a zactor_fn; args is a cc_verifier_args_t). After
//  the mandatory handshake signal it sends a second signal: 0 once the
//  chain is open and every socket bound, else the exit code
//  (CC_EXIT_CONFIG for a bad genesis, CC_EXIT_FAILURE for a store or bind
//  failure; the reason is logged as one line) and it ends. It then runs
//  until $TERM or an interrupt (SIGINT, SIGTERM), and closes its sockets
//  and chain.
void
    cc_verifier_actor (zsock_t *pipe, void *args);

#endif
