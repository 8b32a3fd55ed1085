/*  =========================================================================
    pool - the CA's verification workers

    Verifying an answer costs one hash per packet and sample_size Argon2id
    evaluations (about 15 ms with the default policy), far too long for the
    CA's event loop, which must keep answering requests meanwhile. The pool
    runs cc_challenge_verify on worker actors: the loop submits a job,
    the pool hands it to an idle worker or queues it (bounded), and when
    the worker is done the loop's done callback gets the job back, on the
    loop's own thread.

    A job carries everything the verification needs (the challenge record
    and the opened answer, both owned by the job) and everything the loop
    needs afterwards to answer the candidate (its identity frame, request
    id and peer address). The time the answer arrived is fixed by the loop
    before the job is queued, so neither the queue nor the workers can
    make an honest candidate miss its deadline.

    DESIGN: each worker is a zactor; a job travels to it and back as a
    pointer on the actor's pipe ("p"). While a worker holds a job the loop
    never touches it. The pool registers each worker's pipe with the loop
    given at creation.

    Ownership: the pool owns queued jobs and its workers; a job handed to
    the done callback belongs to the callback (cc_pool_job_destroy).
    =========================================================================
*/

#ifndef CC_CA_POOL_H_INCLUDED
#define CC_CA_POOL_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "challenge.h"
#include "codec.h"

typedef struct _cc_pool_t cc_pool_t;

//  One verification.
typedef struct {
    //  Inputs (owned by the job)
    Certchain__PendingChallenge *record;        //  the challenge and its request's profile
    Certchain__ChallengeResponse *response;     //  the opened answer
    uint64_t received_ms;                       //  CA clock when the answer arrived
    //  For the answer to the candidate (owned by the job)
    zframe_t *identity;                         //  ROUTER identity of the candidate
    uint64_t request_id;                        //  id to echo
    char source [64];                           //  peer address, "" when unknown
    //  Outputs, set by the worker
    int rc;                                     //  0 or the verifier's refusal
    cc_reason_t reason;                         //  why refused
    cc_challenge_verdict_t verdict;             //  elapsed, score, verify time
} cc_pool_job_t;

//  Told on the loop's thread for each finished job, which it now owns.
typedef void (cc_pool_done_fn) (void *argument, cc_pool_job_t *job);

//  --- Life cycle ----------------------------------------------------------------------

//  A pool of workers (at least 1) on loop (borrowed), queueing at most
//  max_queue jobs beyond those running. Caller owns it; NULL when the
//  workers cannot start.
cc_pool_t *
    cc_pool_new (zloop_t *loop, size_t workers, size_t max_queue, cc_pool_done_fn *done,
                 void *argument);

//  Stops the workers (a running verification finishes first) and destroys
//  queued jobs without calling done. Nulls the pointer; safe on NULL.
void
    cc_pool_destroy (cc_pool_t **self_p);

//  --- Jobs -------------------------------------------------------------------------------

//  A new empty job. Caller owns it; NULL when out of memory.
cc_pool_job_t *
    cc_pool_job_new (void);

//  Destroys a job and what it owns; nulls the pointer; safe on NULL.
void
    cc_pool_job_destroy (cc_pool_job_t **job_p);

//  True when a submit now would be refused (every worker busy and the
//  queue full).
bool
    cc_pool_full (cc_pool_t *self);

//  Takes the job: runs it on an idle worker or queues it. 0, or BUSY
//  (the job stays the caller's).
int
    cc_pool_submit (cc_pool_t *self, cc_pool_job_t **job_p);

//  Jobs running and queued.
size_t
    cc_pool_running (cc_pool_t *self);
size_t
    cc_pool_queued (cc_pool_t *self);

#endif
