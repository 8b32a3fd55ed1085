/*  =========================================================================
    ca - certchain-ca, the certification authority

    The CA admits machines as block producers (DESIGN.md section 5). It
    binds one socket:
      join    ROUTER  frames ["join"][JoinMessage] from candidates:
                request   Signed{JoinRequest}: refused at once (bad
                          signature, wrong key, stale time, rate limited,
                          banned, already active, profile below policy)
                          or answered with a Challenge, recorded first;
                response  Signed{ChallengeResponse}: checked (unknown,
                          replayed, expired, signed by another key), then
                          verified on a worker thread (deadline on the CA's
                          clock, every proof of work, an Argon2 sample,
                          the measured score against the policy); a
                          passing candidate gets a Certify transaction
                          submitted to the relay and a JoinResult with
                          its hash, score and validity;
                audit_query  a page of the audit log (certchain ca-log).
              and ["req"][Request] with GetStatus, like every service.
    It connects to a relay: a DEALER to relay/rpc (SubmitTx, GetStatus,
    GetBlocks for catch-up), a SUB to relay/pub (topic "blk") and a PUB to
    relay/gossip (its MetricsEvent every second).

    Its RocksDB shard (store/path) holds its own view of the chain (a
    cc_chain followed with common/sync, so it knows the height, who is
    active or banned, and its own committed nonce) and, in the chain's
    "service" family, its ledger (ledger.h): pending challenges, the audit
    log, its ban list and the Certify transactions not yet committed.

    Configuration keys (besides the common ones, store default ./ca-data):
      ca/key      the CA's secret key file; its public key must be a CA of
                  the genesis, or the CA refuses to start (exit 2)
      ca/join     the join endpoint (tcp://127.0.0.1:7401)
      ca/policy   the policy file (policy.h); empty: the defaults
      ca/workers  answers verified at once (2); each verification runs
                  on two threads and holds two Argon2 memory blocks
                  (policy argon2_memory_kib, 8 MiB by default)
      ca/expired_after_ms  an answer this long past the deadline is
                  CHALLENGE_EXPIRED rather than DEADLINE_MISSED (60000)
      relay/rpc, relay/pub, relay/gossip  the relay's endpoints
      ca/admin    the block producer's admin endpoint (producer.h), used
                  only by a CA the genesis marks as producing
    --print-config prints the effective policy and the producer's derived
    configuration too, as comments.

    The CA runs as one czmq actor with one zloop (main.c starts it). A
    producing CA runs a second actor beside it, the validator engine
    (producer.h); the two share nothing but the relay.
    =========================================================================
*/

#ifndef CC_CA_H_INCLUDED
#define CC_CA_H_INCLUDED

#include <czmq.h>
#include <stdio.h>

#include "config.h"
#include "log.h"

#define CC_CA_JOIN_DEFAULT "tcp://127.0.0.1:7401"
#define CC_CA_RELAY_RPC_DEFAULT "tcp://127.0.0.1:7101"
#define CC_CA_RELAY_PUB_DEFAULT "tcp://127.0.0.1:7102"
#define CC_CA_RELAY_GOSSIP_DEFAULT "tcp://127.0.0.1:7103"

//  Largest message on the join socket (an answer of 4096 packets is
//  about 260 KiB).
#define CC_CA_MAX_MESSAGE_SIZE (1024 * 1024)
//  Most verification jobs waiting for a worker; beyond, answers are BUSY.
#define CC_CA_MAX_QUEUE 1000
//  Most worker threads.
#define CC_CA_MAX_WORKERS 64

//  What the actor borrows from main; both must outlive the actor.
typedef struct {
    cc_config_t *config;        //  parsed and checked configuration
    cc_log_t *log;              //  the service's log
} cc_ca_args_t;

//  Declares the CA's keys and the common ones.
void
    cc_ca_define (cc_config_t *config);

//  Checks the CA's own keys after parsing (endpoints present, numbers in
//  range). 0, or CONFIG with the key named in reason.
int
    cc_ca_check (cc_config_t *config, cc_reason_t *reason);

//  Prints the effective policy (from ca/policy, with the genesis validity
//  as default) as ZPL comment lines, for --print-config. 0, or CONFIG/IO
//  with reason when the genesis or policy cannot be read.
int
    cc_ca_print_policy (cc_config_t *config, FILE *stream, cc_reason_t *reason);

//  The CA actor (a zactor_fn; args is a cc_ca_args_t). After the handshake
//  signal it sends a second one: 0 once started, else the exit code
//  (CC_EXIT_CONFIG for a bad genesis, key, or policy; CC_EXIT_FAILURE for
//  a store or bind failure; the reason is logged as one line) and it
//  ends. It then runs until $TERM or an interrupt.
void
    cc_ca_actor (zsock_t *pipe, void *args);

#endif
