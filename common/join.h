/*  =========================================================================
    join - the candidate side of the join protocol

    A node that wants to produce blocks proves itself to a certification
    authority (DESIGN.md section 5). This module is the candidate's half:
    `certchain join` drives it blocking, and a validator started with a key
    that is not in the set drives it from its event loop. The exchange, on
    a DEALER connected to the CA's ROUTER `join`, frames ["join"][JoinMessage]:

        candidate                               CA
        request  Signed{JoinRequest}   ---->
                                       <----    challenge  (or result: refused)
        (solve on worker threads)
        response Signed{ChallengeResponse} --->
                                       <----    result     (accepted or refused)

    cc_join_t is an explicit state machine that owns no socket:

        state        input                       next state
        START        cc_join_request             REQUESTED (request bytes out)
        REQUESTED    challenge for our key       CHALLENGED
                     challenge for another key   DONE (WRONG_NODE_KEY, local)
                     result / error              DONE (refused by the CA)
        CHALLENGED   cc_join_solve or            SOLVED (or DONE: TIMEOUT, NOMEM)
                     cc_join_solve_start ...
                     cc_join_solve_finish
        SOLVED       cc_join_answer              ANSWERED (response bytes out)
        ANSWERED     result / error              DONE
        any          cc_join_fail                DONE (a local failure)
        DONE         -                           -
    A message that does not fit the state (another request id, a challenge
    after the answer, junk) is refused with a code and changes nothing, so
    a late or forged message can never move the machine backwards.

    The caller moves bytes: each step that sends returns the packed
    JoinMessage for the caller to send as ["join"][bytes]; each message
    received goes to cc_join_receive. Solving is the one heavy step: a
    blocking caller runs cc_join_solve inline; an event loop calls
    cc_join_solve_start, polls cc_join_solver_socket and, when it is
    readable, calls cc_join_solve_finish. cc_join_run is the blocking
    convenience that does all of it over its own DEALER.

    The profile sent is measured here (cc_profile_measure at the data
    directory), never taken from the caller: there is no way to hand this
    module a profile to claim.

    Ownership: the join borrows its key pair, which must outlive it; it
    owns the measured profile, the challenge and the answers.
    =========================================================================
*/

#ifndef CC_JOIN_H_INCLUDED
#define CC_JOIN_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "challenge.h"
#include "codec.h"
#include "crypto.h"

typedef struct _cc_join_t cc_join_t;

//  Largest JoinMessage a candidate accepts from a CA (a challenge of
//  CC_CHALLENGE_MAX_PACKETS seeds is about 140 KiB).
#define CC_JOIN_MAX_MESSAGE_SIZE (1024 * 1024)

typedef enum {
    CC_JOIN_START = 0,          //  nothing sent yet: cc_join_request next
    CC_JOIN_REQUESTED,          //  request out: waiting for a challenge or a refusal
    CC_JOIN_CHALLENGED,         //  challenge checked: solve it next
    CC_JOIN_SOLVING,            //  a background solve runs (cc_join_solve_start)
    CC_JOIN_SOLVED,             //  answers ready: cc_join_answer next
    CC_JOIN_ANSWERED,           //  answers out: waiting for the result
    CC_JOIN_DONE                //  outcome known: cc_join_result
} cc_join_state_t;

//  The outcome of a join, as the candidate saw it.
typedef struct {
    bool accepted;                      //  certified: the CA submitted a Certify tx
    int code;                           //  0, or the refusal or failure code (negative)
    bool from_ca;                       //  code and reason came from the CA
    char reason [240];                  //  the CA's reason, or what failed here
    uint8_t certify_tx [CC_HASH_SIZE];  //  hash of the Certify tx when accepted
    uint64_t valid_until;               //  first height the certificate is expired
    double hashes_per_second;           //  score the CA measured
    double argon2_mib_per_second;       //  score the CA measured
    uint64_t score_elapsed_ms;          //  issue-to-answer time the CA measured
    uint64_t retry_after_ms;            //  refused: wait at least this long
    uint64_t elapsed_ms;                //  here: from request to outcome
    uint64_t solve_ms;                  //  here: time spent solving
    uint64_t hashes;                    //  here: proof-of-work hashes tried
    size_t threads;                     //  here: solver threads used
} cc_join_result_t;

//  --- Life cycle ----------------------------------------------------------------

//  A join for key (borrowed) on chain_id, measuring the disk at data_dir
//  (NULL: the current directory) and solving on threads worker threads
//  (0: one per CPU). Caller owns it; NULL when out of memory.
cc_join_t *
    cc_join_new (cc_keypair_t *key, const char *chain_id, const char *data_dir,
                 size_t threads);

//  Destroys a join; waits for a background solve to end first (it ends
//  by the challenge's own time budget at the latest). Nulls the pointer;
//  safe on NULL.
void
    cc_join_destroy (cc_join_t **self_p);

//  --- Steps -----------------------------------------------------------------------

//  START: measures the profile, signs JoinRequest{node, profile, now_ms}
//  and packs it as JoinMessage{request_id, request} into *data_p (caller
//  frees). State REQUESTED. A profile that cannot be measured ends the
//  join (DONE, IO with the reason). INVALID_ARG in another state.
int
    cc_join_request (cc_join_t *self, uint64_t now_ms, uint8_t **data_p, size_t *size_p,
                     cc_reason_t *reason);

//  A JoinMessage received from the CA. 0 when it moved the machine (see
//  the table above); otherwise it is ignored and the code says why:
//  MALFORMED / OVERSIZE (not a JoinMessage), STALE (another request id),
//  UNSUPPORTED (a kind that does not fit the state).
int
    cc_join_receive (cc_join_t *self, const uint8_t *data, size_t size, uint64_t now_ms,
                     cc_reason_t *reason);

//  CHALLENGED: solves inline (blocking). State SOLVED, or DONE with the
//  failure (TIMEOUT when the challenge's time runs out, NOMEM). Returns
//  0 or that code.
int
    cc_join_solve (cc_join_t *self, cc_reason_t *reason);

//  CHALLENGED: starts the solve on a worker actor. State SOLVING; poll
//  cc_join_solver_socket, then call cc_join_solve_finish. 0, INVALID_ARG
//  in another state, NOMEM when the actor cannot start (DONE).
int
    cc_join_solve_start (cc_join_t *self);

//  The socket that becomes readable once the background solve ended;
//  NULL when none runs. A zloop user removes its reader for this socket
//  (zloop_reader_end) before cc_join_solve_finish, which destroys it.
zsock_t *
    cc_join_solver_socket (cc_join_t *self);

//  SOLVING, once the solver socket is readable (blocks until the solve
//  ended otherwise): state SOLVED or DONE, as cc_join_solve.
int
    cc_join_solve_finish (cc_join_t *self, cc_reason_t *reason);

//  SOLVED: signs the answers and packs JoinMessage{request_id, response}
//  into *data_p (caller frees). State ANSWERED.
int
    cc_join_answer (cc_join_t *self, uint64_t now_ms, uint8_t **data_p, size_t *size_p,
                    cc_reason_t *reason);

//  Ends the join with a local failure (e.g. TIMEOUT when the caller's
//  clock ran out, IO when a send failed); no effect once DONE. A solve in
//  the background is waited for first.
void
    cc_join_fail (cc_join_t *self, uint64_t now_ms, int code, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

//  --- Reading --------------------------------------------------------------------

cc_join_state_t
    cc_join_state (cc_join_t *self);

//  Name of a state ("requested").
const char *
    cc_join_state_name (cc_join_state_t state);

//  The outcome (meaningful once DONE), owned by the join.
const cc_join_result_t *
    cc_join_result (cc_join_t *self);

//  The measured profile (after cc_join_request) and the challenge (from
//  CHALLENGED on), owned by the join; NULL before.
const Certchain__MachineProfile *
    cc_join_profile (cc_join_t *self);
const Certchain__Challenge *
    cc_join_challenge (cc_join_t *self);

//  The answers (from SOLVED on), owned by the join; NULL before.
const Certchain__ChallengeResponse *
    cc_join_response (cc_join_t *self);

//  --- Building blocks (also for test tools) --------------------------------------

//  Packs JoinMessage{request_id, request = Signed{JoinRequest{key's public
//  key, profile, time_ms}}} signed by key (domain JOIN, chain_id) into a
//  fresh buffer (caller frees). 0 or error.
int
    cc_join_pack_request (cc_keypair_t *key, const char *chain_id, uint64_t request_id,
                          const Certchain__MachineProfile *profile, uint64_t time_ms,
                          uint8_t **data_p, size_t *size_p);

//  Packs JoinMessage{request_id, response = Signed{response}} signed by key
//  (domain JOIN, chain_id) into a fresh buffer (caller frees). 0 or error.
int
    cc_join_pack_response (cc_keypair_t *key, const char *chain_id, uint64_t request_id,
                           const Certchain__ChallengeResponse *response, uint8_t **data_p,
                           size_t *size_p);

//  Fills result from a message of kind result or error (the code made
//  negative, reason copied, from_ca set; the candidate-side figures left
//  at 0). 0, or UNSUPPORTED for another kind.
int
    cc_join_result_read (const Certchain__JoinMessage *message, cc_join_result_t *result);

//  --- Blocking convenience ---------------------------------------------------------

//  Runs a whole join against the CA at ca_endpoint within timeout_ms:
//  request, challenge, solve (on threads worker threads, 0 = one per CPU),
//  answer, result. Fills result in every case (result->from_ca tells a CA
//  verdict from a local failure). 0 when accepted; else the CA's refusal
//  code or a local failure (TIMEOUT, IO, ...).
int
    cc_join_run (const char *ca_endpoint, cc_keypair_t *key, const char *chain_id,
                 const char *data_dir, int timeout_ms, size_t threads,
                 cc_join_result_t *result);

#endif
