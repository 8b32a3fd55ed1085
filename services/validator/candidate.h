/*  =========================================================================
    candidate - the validator's join protocol, run on its event loop

    A validator whose key is not in V(next height) becomes a block
    producer by passing the certification authority's challenge (DESIGN.md
    section 5). The candidate drives common/join's state machine over its
    own DEALER to the CA (config key ca/join) on the validator's zloop,
    without ever blocking it: the profile is measured and the request
    signed on a worker actor, the challenge is solved on another
    (cc_join_solve_start), and both are read back when their actor's pipe
    becomes readable. It also renews a member's certificate before it
    expires, the same way, without leaving the set.

    The state table (malamute's server model, Redis's repl_state):

      state           event                             next
      IDLE            update: banned on chain           IDLE (logged once)
                      update: member, renewal not due   MEMBER
                      update: not a member, or renewal  REQUESTING
                      due (and join enabled)
      REQUESTING      challenge                         SOLVING
                      refusal (result or error)         BACKOFF
                      not sent or no reply within       BACKOFF
                      CC_CANDIDATE_REPLY_MS
      SOLVING         solve ended: answers sent         ANSWERING
                      solve failed (time ran out)       BACKOFF
      ANSWERING       accepted (Certify hash, score)    WAITING_COMMIT
                      refusal                           BACKOFF
                      no reply in CC_CANDIDATE_REPLY_MS BACKOFF
      WAITING_COMMIT  a block holding our Certify, or   MEMBER
                      a record extended to its validity
                      nothing for CC_CANDIDATE_COMMIT_MS BACKOFF
      BACKOFF         its time is over                  IDLE
      MEMBER          out of V(next height)             IDLE (joins again)
                      renewal due                       REQUESTING
      any             a message that does not fit       unchanged (counted)
      any             cc_candidate_stop                 IDLE, for good
    Back-off: the CA's retry_after_ms when it gives one; else
    CC_CANDIDATE_BACKOFF_MS, doubled after each failure in a row up to
    CC_CANDIDATE_BACKOFF_MAX_MS; an acceptance resets it.

    Renewal is due when the certificate (valid_until from the validator's
    record) ends within max(validity / 4, CC_CANDIDATE_RENEW_MIN_BLOCKS)
    blocks of the next height, validity being what the CA granted last
    time (valid_until - height when it answered), else the genesis
    cert_validity. Genesis validators (valid_until UINT64_MAX) never
    renew. The state treats a Certify for an active node as a renewal.

    The candidate starts nothing while the validator is not caught up
    with the network (update's ready): its view of the set would be old.

    Ownership: the candidate owns its DEALER (made at the first join), its
    join and worker actors;
    it borrows the chain, key, loop, log and metrics, which must outlive
    it. One thread (the loop's).
    =========================================================================
*/

#ifndef CC_VALIDATOR_CANDIDATE_H_INCLUDED
#define CC_VALIDATOR_CANDIDATE_H_INCLUDED

#include <czmq.h>

#include "block.h"
#include "chain.h"
#include "log.h"
#include "metrics.h"

//  A request or an answer without reply for this long has failed.
#define CC_CANDIDATE_REPLY_MS 15000
//  An accepted join whose Certify is not committed within this long has failed.
#define CC_CANDIDATE_COMMIT_MS 120000
//  Back-off after a failure when the CA names none: first, and most.
#define CC_CANDIDATE_BACKOFF_MS 10000
#define CC_CANDIDATE_BACKOFF_MAX_MS 300000
//  Renewal starts at least this many blocks before the expiry.
#define CC_CANDIDATE_RENEW_MIN_BLOCKS 20

typedef struct _cc_candidate_t cc_candidate_t;

typedef enum {
    CC_CANDIDATE_IDLE = 0,          //  nothing under way: the next update decides
    CC_CANDIDATE_REQUESTING,        //  measuring, or request sent: waiting for a challenge
    CC_CANDIDATE_SOLVING,           //  solving the challenge on a worker
    CC_CANDIDATE_ANSWERING,         //  answers sent: waiting for the result
    CC_CANDIDATE_WAITING_COMMIT,    //  accepted: waiting for the Certify in a block
    CC_CANDIDATE_BACKOFF,           //  refused or failed: waiting to try again
    CC_CANDIDATE_MEMBER             //  in V(next height); renewal watched
} cc_candidate_state_t;

typedef struct {
    cc_chain_t *chain;              //  committed chain (borrowed)
    cc_keypair_t *key;              //  the validator's key (borrowed)
    zloop_t *loop;                  //  the validator's loop (borrowed)
    cc_log_t *log;                  //  borrowed
    cc_metrics_t *metrics;          //  counters (borrowed; may be NULL)
    const char *ca_endpoint;        //  the CA's join endpoint (copied)
    const char *data_dir;           //  where disk is measured (copied)
    size_t threads;                 //  solver threads (0: one per CPU)
    bool enabled;                   //  false: never join (follow only)
} cc_candidate_config_t;

//  --- Life cycle ------------------------------------------------------------------

//  A candidate in IDLE. Caller owns it; NULL when out of memory.
cc_candidate_t *
    cc_candidate_new (const cc_candidate_config_t *config);

//  Ends its readers, waits for a worker still running (a solve ends by the
//  challenge's own time budget), closes its socket; nulls the pointer;
//  safe on NULL.
void
    cc_candidate_destroy (cc_candidate_t **self_p);

//  --- Inputs ----------------------------------------------------------------------

//  Runs the table's time and state checks: call about once a second and
//  after every committed block. ready: the validator is caught up with the
//  network (only then is a join started or membership judged).
void
    cc_candidate_update (cc_candidate_t *self, bool ready, uint64_t now_ms);

//  A block was committed (by consensus or sync): finds our Certify in it.
void
    cc_candidate_on_block (cc_candidate_t *self, cc_block_t *block, uint64_t now_ms);

//  Abandons any join under way and starts none again (shutdown).
void
    cc_candidate_stop (cc_candidate_t *self);

//  --- Reading ---------------------------------------------------------------------

cc_candidate_state_t
    cc_candidate_state (cc_candidate_t *self);

//  Name of a state ("waiting_commit").
const char *
    cc_candidate_state_name (cc_candidate_state_t state);

//  Our certificate's first expired height from the committed state
//  (UINT64_MAX for a genesis validator), or 0 when we have no record.
uint64_t
    cc_candidate_valid_until (cc_candidate_t *self);

//  Joins accepted so far (new and renewals).
uint64_t
    cc_candidate_accepted (cc_candidate_t *self);

#endif
