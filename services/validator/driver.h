/*  =========================================================================
    driver - runs the consensus state machine on the validator's event loop

    common/consensus is a pure state machine: no clock, socket or store.
    The driver gives it those, on the validator's zloop:
      PERSIST    the last-signed record is written, synced, to the store's
                 service family (key "consensus/last_signed") before any
                 BROADCAST that follows it leaves; it is read back at start
                 and handed to cc_consensus_new, so a restarted validator
                 can never sign a conflicting message
      BROADCAST  handed to the publish callback (topic "cns")
      SCHEDULE   a one-shot zloop timer; when it fires the driver calls
                 cc_consensus_timeout and cc_consensus_rebroadcast (pub/sub
                 may drop: re-sending our votes is how they get through)
      VALIDATE   the proposed block is decoded, its hash checked against the
                 proposal's, and verified with cc_chain_verify (no commit
                 required; the mempool's signature cache; worker threads);
                 the finished exec is kept by block hash
      DECIDE     the block gets its commit and is committed with the kept
                 exec (no second execution), the committed callback runs
                 (mempool, upload, metrics), and after timeout_commit_ms the
                 next height starts
      EVIDENCE   logged, counted and handed to the evidence callback (the
                 validator submits it as an Evidence transaction: outbox.h)
    The proposer's value is built here too: cc_mempool_reap within the
    genesis block limits, cc_block_build on the chain tip with the tip's
    commit as last commit, time max(now, parent time); candidates that do
    not apply are removed from the mempool.

    The validator decides when consensus may run: while it is behind the
    network (catching up through common/sync) it holds the driver; once
    released, the driver starts height tip + 1 with V(tip + 1). Blocks that
    common/sync commits meanwhile are reported with
    cc_driver_chain_advanced, which drops execs made on the old tip.

    DESIGN
    - Persist coalescing: consecutive PERSIST outputs only keep the last
      record pending; it is written (one synced write) just before the next
      BROADCAST, or when the drain ends. If that write fails the driver
      stops signing for good (every later BROADCAST is dropped and the
      failure is reported): a vote whose record is not on disk could be
      contradicted after a restart.
    - Our signed messages survive a restart too: the BROADCAST that
      follows a PERSIST is the message just signed, and it goes into the
      same synced batch (keys "consensus/own/<height><seq>", older heights
      deleted). A validator restarted in the middle of a height may not
      sign another vote for the steps it already signed (the record
      forbids it), so without its earlier messages the others could wait
      forever for a 2f+1 of that step (seen with all four validators
      killed mid-height). At start of that height the driver feeds them
      back to the machine and publishes them again, and keeps re-sending
      them with every rebroadcast while the height runs.
    - Re-sends carry ConsensusMessage.resend (a fresh stamp appended as
      field 1): the relay drops a payload it has forwarded recently, and a
      rebroadcast is by definition the same signed message again; with the
      stamp its bytes differ, receivers still see the same signature and
      treat it as a duplicate. Every BROADCAST not right after a PERSIST is
      a re-send.
    - Timers carry no pointer: a fired timer is looked up by its zloop id
      in the driver's own table, so a timer cancelled at a height change
      (and possibly already due) can never touch freed memory.
    - A node outside V(h) runs the machine as an observer (it signs
      nothing) and logs once that it waits; it follows the chain from its
      decisions and from the blocks common/sync commits.
    - Liveness with lossy pub/sub: besides the rebroadcast at every
      timeout, cc_driver_heartbeat rebroadcasts when the machine has not
      moved for a while (a prevote step waits for 2f+1 prevotes before any
      timeout is scheduled, so without it a lost vote could stall).

    Ownership: the driver owns its consensus machine, timers and kept
    execs; it borrows the chain, mempool, key, loop, log and metrics,
    which must outlive it.
    =========================================================================
*/

#ifndef CC_VALIDATOR_DRIVER_H_INCLUDED
#define CC_VALIDATOR_DRIVER_H_INCLUDED

#include <czmq.h>

#include "block.h"
#include "chain.h"
#include "consensus.h"
#include "log.h"
#include "mempool.h"
#include "metrics.h"

//  Key of the last-signed record in the service family.
#define CC_DRIVER_LAST_SIGNED_KEY "consensus/last_signed"
//  Proposals whose finished exec is kept per height.
#define CC_DRIVER_KEPT_EXECS 4
//  Rebroadcast when the machine has not moved for this long.
#define CC_DRIVER_STALL_MS 2000

typedef struct _cc_driver_t cc_driver_t;

//  Publishes a serialized ConsensusMessage on topic "cns".
typedef void (cc_driver_publish_fn) (void *argument, const uint8_t *data, size_t size);

//  A block consensus decided was committed to the chain (block borrowed
//  for the call; it carries its commit). member: this node was in V(h).
typedef void (cc_driver_committed_fn) (void *argument, cc_block_t *block, bool member);

//  A fatal failure (the last-signed record could not be written).
typedef void (cc_driver_fatal_fn) (void *argument, const char *message);

//  The machine saw a member sign two conflicting votes: data is a
//  serialized Certchain__Evidence (borrowed for the call).
typedef void (cc_driver_evidence_fn) (void *argument, const uint8_t *data, size_t size);

typedef struct {
    cc_chain_t *chain;                  //  committed chain (borrowed)
    cc_mempool_t *mempool;              //  pooled txs (borrowed)
    cc_keypair_t *key;                  //  this validator's key (borrowed)
    zloop_t *loop;                      //  timers run here (borrowed)
    cc_log_t *log;                      //  borrowed
    cc_metrics_t *metrics;              //  counters (borrowed)
    size_t threads;                     //  signature threads for VALIDATE
    cc_driver_publish_fn *publish;      //  BROADCAST outputs go here
    cc_driver_committed_fn *committed;  //  after each decided block commits
    cc_driver_fatal_fn *fatal;          //  the driver can no longer sign
    cc_driver_evidence_fn *evidence;    //  EVIDENCE outputs go here (may be NULL)
    void *argument;                     //  passed to the callbacks
} cc_driver_config_t;

//  A snapshot for status pages and metrics.
typedef struct {
    uint64_t height;                    //  consensus height (0 before start)
    uint32_t round;                     //  consensus round
    cc_consensus_step_t step;           //  consensus step
    bool in_set;                        //  member of V(height)
    size_t validators;                  //  size of V(height)
    uint64_t network_height;            //  highest height a member signed for
    uint64_t evidence;                  //  EVIDENCE outputs so far
    bool failed;                        //  signing stopped after a store failure
} cc_driver_status_t;

//  --- Life cycle ------------------------------------------------------------------

//  Creates the driver: reads the persisted last-signed record (STORE or
//  BAD_FIELD in reason for a record that cannot be read: the validator
//  must not start then) and makes the consensus machine. Held until
//  cc_driver_set_hold (false). Caller owns it; NULL with reason on error.
cc_driver_t *
    cc_driver_new (const cc_driver_config_t *config, cc_reason_t *reason);

//  Ends its timers and destroys the machine and kept execs; nulls the
//  pointer; safe on NULL.
void
    cc_driver_destroy (cc_driver_t **self_p);

//  --- Inputs ----------------------------------------------------------------------

//  Holds consensus (true: behind the network, or not yet caught up at
//  start) or releases it: released, consensus runs at chain tip + 1,
//  starting that height now unless a decided height's timeout_commit is
//  still running.
void
    cc_driver_set_hold (cc_driver_t *self, bool hold);

//  A message from topic "cns". Returns the machine's code (0, or its
//  refusal: counted, never fatal).
int
    cc_driver_receive (cc_driver_t *self, const uint8_t *data, size_t size);

//  The chain was extended outside consensus (common/sync committed a
//  block): kept execs are dropped and the block's commit becomes the last
//  commit for the next proposal. Consensus moves on at the next release.
void
    cc_driver_chain_advanced (cc_driver_t *self, cc_block_t *block);

//  Called about once a second: rebroadcasts when the machine has not
//  moved for CC_DRIVER_STALL_MS.
void
    cc_driver_heartbeat (cc_driver_t *self, uint64_t now_ms);

//  --- Accessors ---------------------------------------------------------------------

//  Fills status with a snapshot.
void
    cc_driver_status (cc_driver_t *self, cc_driver_status_t *status);

#endif
