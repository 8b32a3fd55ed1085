/*  =========================================================================
    relay - certchain-relay, the "mainnet": stores the chain, relays gossip

    The relay is the hub every other process connects to (DESIGN.md
    sections 1 and 6). It binds three sockets:
      rpc     ROUTER  requests from validators, verifiers and clients:
                SubmitTx / SubmitTxBatch  format and size checks, dedupe
                          (DUPLICATE for a tx already committed, "at
                          height H", or submitted less than
                          relay/resubmit_ms ago), and the
                          accepted txs published on "txb": one TxBatch per
                          pass over the rpc socket (see relay.c); no
                          signature check here (the validators' mempools
                          verify). SubmitTx answers a SubmitResult of one
                          accepted tx or an Error; SubmitTxBatch answers one
                          TxResult per tx (its hash, and an Error when
                          refused).
                UploadBlock  a committed block from a validator: verified
                          (cc_chain_verify, commit required), stored and
                          published on "blk" with its commit; the same
                          block again is ok; another block at a stored
                          height is refused (EXISTS, counter "conflict");
                          a block above tip + 1 gets WRONG_HEIGHT with
                          the message "relay height N".
                GetBlocks, GetBlock, GetTx, GetStatus  reads of the chain.
      pub     XPUB    what the relay publishes: "txb" (submitted
                      transactions, many to a message), "blk", forwarded
                      gossip ("cns", "tx", "txb", "evt") and its own "evt".
                      A subscriber to "tx" also gets "txb" (ZeroMQ topics
                      are prefixes), so it must match topics exactly.
      gossip  XSUB    what other processes publish: checked (gossip.h),
                      deduplicated by H(topic || payload), forwarded.
    Its RocksDB shard (store/path) holds the chain: blocks, tx index, and
    the state it needs to follow the validator set from genesis through
    the governance transactions of committed blocks.

    The relay runs as one czmq actor with one zloop. main.c declares the
    keys (cc_relay_define), parses the command line, checks the relay's
    keys (cc_relay_check) and starts the actor with cc_relay_args_t.

    Test-only: relay/unsafe_skip_checks = 1 (flag --unsafe-skip-checks)
    makes UploadBlock publish the uploaded bytes on "blk" as they are,
    without verifying or storing them, so a test can put a rogue block on
    the verifiers' feed. It is logged as a warning at start.
    =========================================================================
*/

#ifndef CC_RELAY_H_INCLUDED
#define CC_RELAY_H_INCLUDED

#include <czmq.h>

#include "config.h"
#include "log.h"

//  Default endpoints (DESIGN.md / issue 3 table).
#define CC_RELAY_RPC_DEFAULT "tcp://127.0.0.1:7101"
#define CC_RELAY_PUB_DEFAULT "tcp://127.0.0.1:7102"
#define CC_RELAY_GOSSIP_DEFAULT "tcp://127.0.0.1:7103"

//  Most blocks in one GetBlocks reply, and the ceiling of its size.
#define CC_RELAY_MAX_BLOCKS 1000
#define CC_RELAY_MAX_REPLY_BYTES (16 * 1024 * 1024)
//  Most transactions in one SubmitTxBatch.
#define CC_RELAY_MAX_BATCH 10000
//  Gossip messages and submitted transactions remembered for dedupe.
#define CC_RELAY_RECENT 100000

//  What the actor borrows from main; both must outlive the actor.
typedef struct {
    cc_config_t *config;        //  parsed and checked configuration
    cc_log_t *log;              //  the service's log
} cc_relay_args_t;

//  Declares the relay's keys (relay/rpc, relay/pub, relay/gossip,
//  relay/unsafe_skip_checks, relay/max_message_kb, relay/committed_txs,
//  relay/resubmit_ms)
//  and the common ones.
void
    cc_relay_define (cc_config_t *config);

//  Checks the relay's own keys after parsing. 0, or CONFIG with the key
//  named in reason.
int
    cc_relay_check (cc_config_t *config, cc_reason_t *reason);

//  Lets --unsafe-skip-checks stand alone as well as take a value: returns
//  a copy of argv (caller frees the array, not the strings it points to)
//  where a bare --unsafe-skip-checks reads --unsafe-skip-checks=1. NULL
//  when out of memory.
char **
    cc_relay_args_normalize (int argc, char **argv);

//  The relay actor (a zactor_fn; args is a cc_relay_args_t). After the
//  mandatory handshake signal it sends a second signal: 0 once the chain
//  is open and every socket bound, else the exit code (CC_EXIT_CONFIG for
//  a bad genesis, CC_EXIT_FAILURE for a store or bind failure; the reason
//  is logged as one line) and it ends. It then runs until $TERM or an
//  interrupt (SIGINT, SIGTERM), and closes its sockets and chain.
void
    cc_relay_actor (zsock_t *pipe, void *args);

#endif
