/*  =========================================================================
    candidate - the validator's join protocol, run on its event loop

    See candidate.h for the state table. Three things may be readable on
    the loop while a join runs: the DEALER to the CA (its replies), the
    pipe of the request worker (profile measured, request signed: its
    end-of-thread signal) and the pipe of the solver (common/join's
    background solve). Each worker's reader is removed, and its actor
    destroyed, in that reader's own handler (zloop then rebuilds its
    poll set before reading anything else), so no handler ever sees a
    socket that is gone.

    DESIGN
    - One DEALER, made at the first join (a genesis member never opens
      one), kept for the candidate's life, with ZMQ_IMMEDIATE and no send
      timeout: nothing is queued for a CA that is not connected (it would
      arrive in a burst when the CA comes back, each a challenge to
      waste). A request that cannot leave yet is kept and tried again at
      every update until the reply timeout. Replies to an abandoned join
      carry another request id and are refused by common/join, so the
      socket never needs replacing.
    - The request worker borrows the join while it runs; nothing else
      touches the join until its reader has destroyed the worker.
    - Times: the request carries the wall clock (the CA compares it with
      its own); every timeout here runs on the monotonic clock.
    =========================================================================
*/

#include "candidate.h"

#include "join.h"
#include "rpc.h"
#include "state.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

//  What the request worker gets and gives back.
typedef struct {
    cc_join_t *join;                //  borrowed while the worker runs
    uint64_t time_ms;               //  wall clock for the request
    uint8_t *data;                  //  the packed request (handed to the loop)
    size_t size;                    //  its size
    int rc;                         //  0 or why it failed
    cc_reason_t reason;             //  the failure
} s_request_job_t;

struct _cc_candidate_t {
    cc_chain_t *chain;              //  committed chain (borrowed)
    cc_keypair_t *key;              //  our key (borrowed)
    zloop_t *loop;                  //  the validator's loop (borrowed)
    cc_log_t *log;                  //  borrowed
    cc_metrics_t *metrics;          //  borrowed, may be NULL
    char *ca_endpoint;              //  the CA's join endpoint
    char *data_dir;                 //  where disk is measured
    size_t threads;                 //  solver threads
    bool enabled;                   //  joins allowed at all
    bool stopped;                   //  cc_candidate_stop was called
    cc_candidate_state_t state;     //  see the table in candidate.h
    zsock_t *dealer;                //  to the CA, NULL if it could not be made
    cc_join_t *join;                //  the join under way, or NULL
    zactor_t *worker;               //  the request worker, while it runs
    zsock_t *solver;                //  the solver's pipe we read, while it runs
    s_request_job_t job;            //  the request worker's record
    uint8_t *unsent;                //  the request, while the CA is not connected
    size_t unsent_size;             //  its size
    bool renewal;                   //  this join renews a certificate
    uint64_t deadline_ms;           //  reply timeout, commit timeout or end of back-off
    uint64_t started_ms;            //  when this join began (mono)
    uint64_t failures;              //  failures in a row (back-off doubling)
    uint8_t certify_tx [CC_HASH_SIZE];  //  the accepted Certify's hash
    uint64_t expect_valid_until;    //  its valid_until
    uint64_t validity;              //  blocks the CA granted last time, 0 unknown
    uint64_t accepted;              //  joins accepted so far
    bool told_banned;               //  "banned" logged
    bool told_off;                  //  "join disabled" logged
};

static void s_fail (cc_candidate_t *self, int code, bool from_ca, uint64_t retry_after_ms,
                    const char *text);
static int s_on_solved (zloop_t *loop, zsock_t *socket, void *argument);
static int s_on_ca (zloop_t *loop, zsock_t *socket, void *argument);

//  --- Helpers -----------------------------------------------------------------------

static uint64_t
s_mono (void)
{
    return (uint64_t) zclock_mono ();
}

static void
s_count (cc_candidate_t *self, const char *name, int code)
{
    if (!self->metrics)
        return;
    char full [80];
    if (code)
        snprintf (full, sizeof (full), "%s.%s", name, cc_error_name (code));
    else
        snprintf (full, sizeof (full), "%s", name);
    cc_metrics_add (self->metrics, full, 1);
}

static void
s_set_state (cc_candidate_t *self, cc_candidate_state_t state)
{
    if (state != self->state)
        cc_log_debug (self->log, "join: %s -> %s", cc_candidate_state_name (self->state),
                      cc_candidate_state_name (state));
    self->state = state;
}

//  Our validator record (caller frees), or NULL.
static Certchain__ValidatorRecord *
s_record (cc_candidate_t *self)
{
    Certchain__ValidatorRecord *record = NULL;
    if (cc_state_validator (cc_chain_state (self->chain), cc_keypair_public (self->key),
                            &record) != 0)
        return NULL;
    return record;
}

//  True if we are in V(tip + 1).
static bool
s_member (cc_candidate_t *self)
{
    cc_state_t *state = cc_chain_state (self->chain);
    cc_valset_t *valset = cc_state_valset (state, cc_state_height (state) + 1);
    bool member = valset && cc_valset_contains (valset, cc_keypair_public (self->key));
    cc_valset_destroy (&valset);
    return member;
}

//  True when the certificate of record should be renewed now (see
//  candidate.h).
static bool
s_renewal_due (cc_candidate_t *self, const Certchain__ValidatorRecord *record)
{
    if (!record || record->status != CERTCHAIN__VALIDATOR_STATUS__ACTIVE
        || record->valid_until == UINT64_MAX)
        return false;
    uint64_t next = cc_chain_height (self->chain) + 1;
    if (next >= record->valid_until)
        return false;           //  expired: not a renewal, a new join
    uint64_t validity = self->validity;
    if (validity == 0)
        validity = cc_genesis_params (cc_chain_genesis (self->chain))->cert_validity;
    if (validity == 0 && record->valid_until > record->since_height)
        validity = record->valid_until - record->since_height;
    uint64_t window = validity / 4;
    if (window < CC_CANDIDATE_RENEW_MIN_BLOCKS)
        window = CC_CANDIDATE_RENEW_MIN_BLOCKS;
    //  Strictly inside the window: a CA a block behind us opens its own
    //  renewal window (the last half) no later than this.
    return record->valid_until - next < window;
}

//  Ends the join object and any worker of it (reader context or outside
//  the loop only: see the file's comment).
static void
s_join_end (cc_candidate_t *self)
{
    if (self->worker) {
        zloop_reader_end (self->loop, zactor_sock (self->worker));
        zactor_destroy (&self->worker);
        free (self->job.data);
        self->job.data = NULL;
    }
    if (self->solver) {
        zloop_reader_end (self->loop, self->solver);
        self->solver = NULL;
    }
    free (self->unsent);
    self->unsent = NULL;
    self->unsent_size = 0;
    cc_join_destroy (&self->join);
}

//  Makes the DEALER to the CA if there is none. 0 or IO.
static int
s_connect (cc_candidate_t *self)
{
    if (self->dealer)
        return 0;
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer)
        return CC_E_IO;
    cc_rpc_socket_policy (self->dealer, CC_JOIN_MAX_MESSAGE_SIZE);
    zsock_set_immediate (self->dealer, 1);
    zsock_set_sndtimeo (self->dealer, 0);
    if (zsock_connect (self->dealer, "%s", self->ca_endpoint) != 0
        || zloop_reader (self->loop, self->dealer, s_on_ca, self) != 0) {
        cc_log_warn (self->log, "ca/join: cannot connect to '%s'", self->ca_endpoint);
        zsock_destroy (&self->dealer);
        return CC_E_IO;
    }
    zloop_reader_set_tolerant (self->loop, self->dealer);
    return 0;
}

//  Sends ["join"][data] to the CA. 0, or IO (not connected: the CA is
//  down or the connection not made yet). The frames of cc_rpc_send_bytes,
//  made here because a send that fails is routine on this socket and
//  zmsg_send keeps (does not destroy) a message it could not send.
static int
s_send (cc_candidate_t *self, const uint8_t *data, size_t size)
{
    if (!self->dealer)
        return CC_E_IO;
    zmsg_t *message = zmsg_new ();
    if (!message)
        return CC_E_NOMEM;
    zmsg_addstr (message, CC_FRAME_JOIN);
    zmsg_addmem (message, data, size);
    if (zmsg_send (&message, self->dealer) == 0)
        return 0;
    zmsg_destroy (&message);
    return CC_E_IO;
}

//  --- Outcomes ------------------------------------------------------------------------

//  The join ended with a refusal (from_ca) or a failure here: log, back off.
static void
s_fail (cc_candidate_t *self, int code, bool from_ca, uint64_t retry_after_ms,
        const char *text)
{
    self->failures++;
    uint64_t wait = retry_after_ms;
    if (wait == 0) {
        wait = CC_CANDIDATE_BACKOFF_MS;
        for (uint64_t step = 1; step < self->failures && wait < CC_CANDIDATE_BACKOFF_MAX_MS;
             step++)
            wait *= 2;
        if (wait > CC_CANDIDATE_BACKOFF_MAX_MS)
            wait = CC_CANDIDATE_BACKOFF_MAX_MS;
    }
    cc_log_warn (self->log, "join%s %s: %s: %s (next try in %" PRIu64 " ms)",
                 self->renewal ? " (renewal)" : "", from_ca ? "refused by the CA" : "failed",
                 cc_error_name (code), text, wait);
    s_count (self, from_ca ? "join.refused" : "join.failed", code);
    self->deadline_ms = s_mono () + wait;
    s_set_state (self, CC_CANDIDATE_BACKOFF);
}

//  The join machine reached DONE: accepted or not.
static void
s_done (cc_candidate_t *self)
{
    const cc_join_result_t *result = cc_join_result (self->join);
    if (!result->accepted) {
        cc_join_result_t copy = *result;
        s_join_end (self);
        s_fail (self, copy.code ? copy.code : CC_E_INTERNAL, copy.from_ca, copy.retry_after_ms,
                copy.reason);
        return;
    }
    self->accepted++;
    self->failures = 0;
    memcpy (self->certify_tx, result->certify_tx, CC_HASH_SIZE);
    self->expect_valid_until = result->valid_until;
    uint64_t tip = cc_chain_height (self->chain);
    if (result->valid_until > tip + 1)
        self->validity = result->valid_until - tip - 1;
    char hex [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (result->certify_tx, CC_HASH_SIZE, hex);
    cc_log_info (self->log, "join%s accepted: measured score %.0f hashes/s, %.1f Argon2 MiB/s "
                 "(answered %" PRIu64 " ms after the challenge); elapsed %" PRIu64 " ms "
                 "(solve %" PRIu64 " ms on %zu threads); Certify tx %s, valid until height %"
                 PRIu64, self->renewal ? " (renewal)" : "", result->hashes_per_second,
                 result->argon2_mib_per_second, result->score_elapsed_ms, result->elapsed_ms,
                 result->solve_ms, result->threads, hex, result->valid_until);
    s_count (self, "join.accepted", 0);
    s_join_end (self);
    self->deadline_ms = s_mono () + CC_CANDIDATE_COMMIT_MS;
    s_set_state (self, CC_CANDIDATE_WAITING_COMMIT);
}

//  The Certify is in the chain: a member from the next height.
static void
s_certified (cc_candidate_t *self, uint64_t height)
{
    char hex [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (self->certify_tx, CC_HASH_SIZE, hex);
    cc_log_info (self->log, "certified%s: Certify %.16s committed at height %" PRIu64 ", valid "
                 "until height %" PRIu64 "; %" PRIu64 " ms from the join request to the commit",
                 self->renewal ? " (renewed)" : "", hex, height, self->expect_valid_until,
                 s_mono () - self->started_ms);
    s_count (self, "join.certified", 0);
    s_set_state (self, CC_CANDIDATE_MEMBER);
}

//  --- Driving the join ------------------------------------------------------------------

//  Moves the machine on after an input (a reply, a finished worker).
static void
s_advance (cc_candidate_t *self)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    switch (cc_join_state (self->join)) {
        case CC_JOIN_CHALLENGED: {
            const Certchain__Challenge *challenge = cc_join_challenge (self->join);
            cc_log_info (self->log, "join: challenge of %zu packets, %" PRIu32 " bits, Argon2id "
                         "%" PRIu32 " KiB: solving", challenge->n_seeds,
                         challenge->difficulty_bits, challenge->argon2_memory_kib);
            if (cc_join_solve_start (self->join) != 0) {
                s_done (self);  //  could not start: DONE with NOMEM
                break;
            }
            self->solver = cc_join_solver_socket (self->join);
            if (zloop_reader (self->loop, self->solver, s_on_solved, self) != 0) {
                self->solver = NULL;
                cc_join_fail (self->join, (uint64_t) zclock_time (), CC_E_NOMEM,
                              "cannot watch the solver");
                s_done (self);
                break;
            }
            s_set_state (self, CC_CANDIDATE_SOLVING);
            break;
        }
        case CC_JOIN_SOLVED: {
            uint8_t *data = NULL;
            size_t size = 0;
            int rc = cc_join_answer (self->join, (uint64_t) zclock_time (), &data, &size,
                                     &reason);
            if (rc == 0 && s_send (self, data, size) != 0)
                cc_join_fail (self->join, (uint64_t) zclock_time (), CC_E_IO,
                              "cannot send the answers to the CA at %s", self->ca_endpoint);
            free (data);
            if (cc_join_state (self->join) == CC_JOIN_ANSWERED) {
                self->deadline_ms = s_mono () + CC_CANDIDATE_REPLY_MS;
                s_set_state (self, CC_CANDIDATE_ANSWERING);
            }
            else
                s_done (self);
            break;
        }
        case CC_JOIN_DONE:
            s_done (self);
            break;
        default:
            break;              //  waiting for more input
    }
}

static int
s_on_solved (zloop_t *loop, zsock_t *socket, void *argument)
{
    cc_candidate_t *self = (cc_candidate_t *) argument;
    zloop_reader_end (loop, socket);
    self->solver = NULL;
    if (!self->join || cc_join_state (self->join) != CC_JOIN_SOLVING)
        return 0;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_join_solve_finish (self->join, &reason);
    s_advance (self);
    return 0;
}

static int
s_on_requested (zloop_t *loop, zsock_t *socket, void *argument)
{
    cc_candidate_t *self = (cc_candidate_t *) argument;
    zloop_reader_end (loop, socket);
    zactor_destroy (&self->worker);
    s_request_job_t job = self->job;
    memset (&self->job, 0, sizeof (self->job));
    self->deadline_ms = s_mono () + CC_CANDIDATE_REPLY_MS;
    if (job.rc != 0) {
        free (job.data);
        s_done (self);          //  DONE: the profile could not be measured
        return 0;
    }
    if (s_send (self, job.data, job.size) == 0) {
        free (job.data);
        s_count (self, "join.requests", 0);
    }
    else {
        //  Not connected yet (or the CA is down): tried again by update.
        self->unsent = job.data;
        self->unsent_size = job.size;
    }
    return 0;
}

//  The request worker: measures the profile and signs the request.
static void
s_request_worker (zsock_t *pipe, void *argument)
{
    s_request_job_t *job = (s_request_job_t *) argument;
    zsock_signal (pipe, 0);
    cc_reason_clear (&job->reason);
    job->rc = cc_join_request (job->join, job->time_ms, &job->data, &job->size, &job->reason);
}

//  IDLE or MEMBER: starts a join (new or renewal).
static void
s_start (cc_candidate_t *self, bool renewal)
{
    self->renewal = renewal;
    self->started_ms = s_mono ();
    self->deadline_ms = UINT64_MAX;     //  set once the request is out
    const char *chain_id = cc_genesis_chain_id (cc_chain_genesis (self->chain));
    if (s_connect (self) != 0) {
        s_fail (self, CC_E_IO, false, 0, "cannot open a socket to the CA");
        return;
    }
    self->join = cc_join_new (self->key, chain_id, self->data_dir, self->threads);
    if (self->join) {
        memset (&self->job, 0, sizeof (self->job));
        self->job.join = self->join;
        self->job.time_ms = (uint64_t) zclock_time ();
        self->worker = zactor_new (s_request_worker, &self->job);
    }
    if (!self->join || !self->worker
        || zloop_reader (self->loop, zactor_sock (self->worker), s_on_requested, self) != 0) {
        s_join_end (self);
        s_fail (self, CC_E_NOMEM, false, 0, "cannot start the join");
        return;
    }
    cc_log_info (self->log, "%s: measuring the machine profile and asking the CA at %s",
                 renewal ? "renewing the certificate" : "joining (not a member of the set)",
                 self->ca_endpoint);
    s_set_state (self, CC_CANDIDATE_REQUESTING);
}

static int
s_on_ca (zloop_t *loop, zsock_t *socket, void *argument)
{
    cc_candidate_t *self = (cc_candidate_t *) argument;
    for (size_t count = 0; count < 64; count++) {
        if (count > 0 && !(zsock_events (socket) & ZMQ_POLLIN))
            break;
        zmsg_t *message = zmsg_recv (socket);
        if (!message)
            break;
        zframe_t *type = NULL, *payload = NULL;
        bool fits = cc_rpc_split (message, false, NULL, &type, &payload) == 0
                    && cc_rpc_frame_is (type, CC_FRAME_JOIN);
        int rc = CC_E_MALFORMED;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        //  Replies are only read while waiting for one; a late or stray
        //  message is counted and changes nothing (the table's default).
        if (fits && self->join
            && (self->state == CC_CANDIDATE_REQUESTING || self->state == CC_CANDIDATE_ANSWERING)
            && !self->worker && !self->unsent)
            rc = cc_join_receive (self->join, zframe_data (payload), zframe_size (payload),
                                  (uint64_t) zclock_time (), &reason);
        else
        if (fits)
            rc = cc_reason_set (&reason, CC_E_STALE, "no reply awaited while %s",
                                cc_candidate_state_name (self->state));
        zmsg_destroy (&message);
        if (rc != 0) {
            s_count (self, "join.ignored", rc);
            cc_log_debug (self->log, "join: message from the CA ignored: %s: %s",
                          cc_error_name (rc), cc_reason_text (&reason));
            continue;
        }
        s_advance (self);
    }
    return 0;
}

//  --- Life cycle ------------------------------------------------------------------------

cc_candidate_t *
cc_candidate_new (const cc_candidate_config_t *config)
{
    assert (config && config->chain && config->key && config->loop && config->log);
    assert (config->ca_endpoint);
    cc_candidate_t *self = (cc_candidate_t *) calloc (1, sizeof (cc_candidate_t));
    if (!self)
        return NULL;
    self->chain = config->chain;
    self->key = config->key;
    self->loop = config->loop;
    self->log = config->log;
    self->metrics = config->metrics;
    self->ca_endpoint = strdup (config->ca_endpoint);
    self->data_dir = strdup (config->data_dir ? config->data_dir : ".");
    self->threads = config->threads;
    self->enabled = config->enabled;
    self->state = CC_CANDIDATE_IDLE;
    if (!self->ca_endpoint || !self->data_dir) {
        cc_candidate_destroy (&self);
        return NULL;
    }
    return self;
}

void
cc_candidate_destroy (cc_candidate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cc_candidate_t *self = *self_p;
    s_join_end (self);
    if (self->dealer) {
        zloop_reader_end (self->loop, self->dealer);
        zsock_destroy (&self->dealer);
    }
    free (self->ca_endpoint);
    free (self->data_dir);
    free (self);
    *self_p = NULL;
}

//  --- Inputs ----------------------------------------------------------------------------

void
cc_candidate_update (cc_candidate_t *self, bool ready, uint64_t now_ms)
{
    assert (self);
    if (self->stopped)
        return;
    Certchain__ValidatorRecord *record = NULL;
    switch (self->state) {
        case CC_CANDIDATE_IDLE:
        case CC_CANDIDATE_MEMBER: {
            if (!ready)
                break;
            record = s_record (self);
            bool member = s_member (self);
            if (self->state == CC_CANDIDATE_MEMBER && !member) {
                cc_log_info (self->log, "no longer in the validator set from height %" PRIu64
                             "%s%s", cc_chain_height (self->chain) + 1,
                             record && record->reason && *record->reason ? ": " : "",
                             record && record->reason ? record->reason : "");
                s_set_state (self, CC_CANDIDATE_IDLE);
            }
            if (record && record->status == CERTCHAIN__VALIDATOR_STATUS__BANNED) {
                if (!self->told_banned)
                    cc_log_warn (self->log, "banned on chain at height %" PRIu64 " (%s): not "
                                 "joining", record->status_height,
                                 record->reason ? record->reason : "");
                self->told_banned = true;
                break;
            }
            bool renew = member && s_renewal_due (self, record);
            if (member && !renew) {
                if (self->state == CC_CANDIDATE_IDLE)
                    cc_log_info (self->log, "in the validator set; certificate valid %s",
                                 !record || record->valid_until == UINT64_MAX ? "for ever"
                                                                               : "until renewal");
                s_set_state (self, CC_CANDIDATE_MEMBER);
                break;
            }
            if (!self->enabled) {
                if (!self->told_off)
                    cc_log_info (self->log, "validator/join = 0: not joining, following the "
                                 "chain");
                self->told_off = true;
                break;
            }
            s_start (self, renew);
            break;
        }
        case CC_CANDIDATE_REQUESTING:
        case CC_CANDIDATE_ANSWERING:
            if (self->unsent && s_send (self, self->unsent, self->unsent_size) == 0) {
                free (self->unsent);
                self->unsent = NULL;
                self->deadline_ms = now_ms + CC_CANDIDATE_REPLY_MS;
                s_count (self, "join.requests", 0);
            }
            if (now_ms >= self->deadline_ms && !self->worker && self->join) {
                if (self->unsent)
                    cc_join_fail (self->join, (uint64_t) zclock_time (), CC_E_IO,
                                  "cannot reach the CA at %s within %d ms", self->ca_endpoint,
                                  CC_CANDIDATE_REPLY_MS);
                else
                    cc_join_fail (self->join, (uint64_t) zclock_time (), CC_E_TIMEOUT,
                                  "no reply from the CA at %s within %d ms", self->ca_endpoint,
                                  CC_CANDIDATE_REPLY_MS);
                s_done (self);
            }
            break;
        case CC_CANDIDATE_SOLVING:
            break;              //  the solve ends by the challenge's time budget
        case CC_CANDIDATE_WAITING_COMMIT:
            record = s_record (self);
            if (record && record->status == CERTCHAIN__VALIDATOR_STATUS__ACTIVE
                && record->valid_until >= self->expect_valid_until && s_member (self))
                s_certified (self, cc_chain_height (self->chain));
            else
            if (now_ms >= self->deadline_ms)
                s_fail (self, CC_E_TIMEOUT, false, 0, "the Certify was not committed in time");
            break;
        case CC_CANDIDATE_BACKOFF:
            if (now_ms >= self->deadline_ms) {
                s_set_state (self, CC_CANDIDATE_IDLE);
                if (record)
                    certchain__validator_record__free_unpacked (record, NULL);
                cc_candidate_update (self, ready, now_ms);
                return;
            }
            break;
        default:
            cc_log_error (self->log, "join: unknown state %d: back to idle", (int) self->state);
            s_join_end (self);
            s_set_state (self, CC_CANDIDATE_IDLE);
            break;
    }
    if (record)
        certchain__validator_record__free_unpacked (record, NULL);
}

void
cc_candidate_on_block (cc_candidate_t *self, cc_block_t *block, uint64_t now_ms)
{
    assert (self && block);
    if (self->state != CC_CANDIDATE_WAITING_COMMIT)
        return;
    for (size_t index = 0; index < cc_block_tx_count (block); index++)
        if (memcmp (cc_tx_hash (cc_block_tx (block, index)), self->certify_tx, CC_HASH_SIZE)
            == 0) {
            s_certified (self, cc_block_height (block));
            return;
        }
}

void
cc_candidate_stop (cc_candidate_t *self)
{
    assert (self);
    if (self->join || self->state != CC_CANDIDATE_IDLE)
        cc_log_debug (self->log, "join: stopped while %s", cc_candidate_state_name (self->state));
    s_join_end (self);
    self->stopped = true;
    if (self->state != CC_CANDIDATE_MEMBER)
        s_set_state (self, CC_CANDIDATE_IDLE);
}

//  --- Reading ---------------------------------------------------------------------------

cc_candidate_state_t
cc_candidate_state (cc_candidate_t *self)
{
    assert (self);
    return self->state;
}

const char *
cc_candidate_state_name (cc_candidate_state_t state)
{
    switch (state) {
        case CC_CANDIDATE_IDLE: return "idle";
        case CC_CANDIDATE_REQUESTING: return "requesting";
        case CC_CANDIDATE_SOLVING: return "solving";
        case CC_CANDIDATE_ANSWERING: return "answering";
        case CC_CANDIDATE_WAITING_COMMIT: return "waiting_commit";
        case CC_CANDIDATE_BACKOFF: return "backoff";
        case CC_CANDIDATE_MEMBER: return "member";
    }
    return "unknown";
}

uint64_t
cc_candidate_valid_until (cc_candidate_t *self)
{
    assert (self);
    Certchain__ValidatorRecord *record = s_record (self);
    uint64_t valid_until = record ? record->valid_until : 0;
    if (record)
        certchain__validator_record__free_unpacked (record, NULL);
    return valid_until;
}

uint64_t
cc_candidate_accepted (cc_candidate_t *self)
{
    assert (self);
    return self->accepted;
}
