/*  =========================================================================
    join - the candidate side of the join protocol

    See join.h for the state table. The machine keeps the whole JoinMessage
    that carried the challenge (the challenge points into it), the answers
    from cc_challenge_solve and the outcome. Request ids are random, so the
    replies to an earlier join on the same connection never match this one;
    the answer travels with request_id + 1.

    DESIGN: the background solve is a czmq actor that borrows the challenge
    and writes its results into a job record owned by the join. The actor
    returns as soon as the solve ends, and zactor's own end-of-thread signal
    is what makes the solver socket readable, so the loop needs no message
    format of its own. While the solve runs nothing else touches the job or
    the challenge: every step is refused in state SOLVING, and destroying
    or failing the join waits for the actor first (the solve stops by the
    challenge's own time budget at the latest).
    =========================================================================
*/

#include "join.h"

#include <assert.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>

#include "profile.h"
#include "rpc.h"

//  What the solver actor gets and gives back.
typedef struct {
    const Certchain__Challenge *challenge;      //  borrowed from the join
    uint8_t node [CC_PUBKEY_SIZE];              //  the candidate's key
    size_t threads;                             //  solver threads (0: per CPU)
    Certchain__ChallengeResponse *response;     //  answers, handed to the join
    cc_challenge_stats_t stats;                 //  what the solve did
    int rc;                                     //  0 or the solve's failure
    cc_reason_t reason;                         //  why it failed
} s_job_t;

struct _cc_join_t {
    cc_keypair_t *key;                          //  the candidate's key (borrowed)
    char chain_id [CC_CHAIN_ID_MAX + 1];        //  chain the join is for
    char *data_dir;                             //  where disk is measured (owned)
    size_t threads;                             //  solver threads (0: per CPU)
    cc_join_state_t state;                      //  see join.h
    uint64_t request_id;                        //  id of our request; answer is + 1
    uint64_t started_ms;                        //  now_ms of the request
    Certchain__MachineProfile *profile;         //  measured at the request
    Certchain__JoinMessage *challenge_message;  //  the message holding the challenge
    Certchain__ChallengeResponse *response;     //  our answers
    cc_join_result_t result;                    //  outcome, filled at DONE
    zactor_t *solver;                           //  background solve, when running
    s_job_t job;                                //  the background solve's record
};

//  --- Helpers ---------------------------------------------------------------------

//  Ends the join with a result whose code and reason are set already.
static void
s_done (cc_join_t *self, uint64_t now_ms)
{
    if (self->state == CC_JOIN_START)
        self->started_ms = now_ms;
    self->state = CC_JOIN_DONE;
    self->result.elapsed_ms = now_ms >= self->started_ms ? now_ms - self->started_ms : 0;
}

//  Ends the join with a local failure.
static void
s_fail (cc_join_t *self, uint64_t now_ms, int code, const char *text)
{
    self->result.accepted = false;
    self->result.code = code;
    self->result.from_ca = false;
    snprintf (self->result.reason, sizeof (self->result.reason), "%s", text);
    s_done (self, now_ms);
}

//  Takes what a finished solve produced.
static void
s_take_solve (cc_join_t *self, s_job_t *job, uint64_t now_ms, cc_reason_t *reason)
{
    self->result.solve_ms = job->stats.elapsed_ms;
    self->result.hashes = job->stats.hashes;
    self->result.threads = job->stats.threads;
    if (job->rc == 0) {
        self->response = job->response;
        job->response = NULL;
        self->state = CC_JOIN_SOLVED;
        cc_reason_clear (reason);
        return;
    }
    cc_challenge_response_free (&job->response);
    cc_reason_set (reason, job->rc, "cannot solve the challenge: %s",
                   cc_reason_text (&job->reason));
    s_fail (self, now_ms, job->rc, reason->text);
}

static void
s_solve_job (s_job_t *job)
{
    cc_reason_clear (&job->reason);
    job->rc = cc_challenge_solve (job->challenge, job->node, job->threads, &job->response,
                                  &job->stats);
    if (job->rc != 0)
        cc_reason_set (&job->reason, job->rc, "%s", cc_error_message (job->rc));
}

//  The solver actor: signals that it started, solves, and returns; the
//  end-of-thread signal of zactor tells the loop it is done.
static void
s_solver_actor (zsock_t *pipe, void *argument)
{
    zsock_signal (pipe, 0);
    s_solve_job ((s_job_t *) argument);
}

//  Stops waiting for a background solve (blocking until it ended).
static void
s_solver_join (cc_join_t *self)
{
    if (self->solver) {
        zactor_destroy (&self->solver);
        cc_challenge_response_free (&self->job.response);
    }
}

//  --- Life cycle ----------------------------------------------------------------------

cc_join_t *
cc_join_new (cc_keypair_t *key, const char *chain_id, const char *data_dir, size_t threads)
{
    assert (key);
    assert (chain_id);
    if (sodium_init () < 0)
        return NULL;
    cc_join_t *self = (cc_join_t *) calloc (1, sizeof (cc_join_t));
    if (!self)
        return NULL;
    self->key = key;
    snprintf (self->chain_id, sizeof (self->chain_id), "%s", chain_id);
    self->data_dir = strdup (data_dir ? data_dir : ".");
    if (!self->data_dir) {
        free (self);
        return NULL;
    }
    self->threads = threads;
    //  Random, odd and below 2^63: never 0, and request_id + 1 never wraps.
    uint64_t id = 0;
    randombytes_buf (&id, sizeof (id));
    self->request_id = (id >> 1) | 1;
    self->state = CC_JOIN_START;
    return self;
}

void
cc_join_destroy (cc_join_t **self_p)
{
    if (self_p && *self_p) {
        cc_join_t *self = *self_p;
        s_solver_join (self);
        cc_profile_free (&self->profile);
        cc_codec_free ((ProtobufCMessage **) &self->challenge_message);
        cc_challenge_response_free (&self->response);
        free (self->data_dir);
        free (self);
        *self_p = NULL;
    }
}

//  --- Building blocks -------------------------------------------------------------------

//  Packs JoinMessage{request_id, <kind> = Signed{body}} into a fresh buffer.
static int
s_pack_signed (cc_keypair_t *key, const char *chain_id, uint64_t request_id, bool is_request,
               const ProtobufCMessage *body, uint8_t **data_p, size_t *size_p)
{
    Certchain__Signed envelope = CERTCHAIN__SIGNED__INIT;
    int rc = cc_signed_make (key, CC_DOMAIN_JOIN, chain_id, body, &envelope);
    if (rc != 0)
        return rc;
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = request_id;
    if (is_request) {
        message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_REQUEST;
        message.request = &envelope;
    }
    else {
        message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESPONSE;
        message.response = &envelope;
    }
    rc = cc_codec_pack (&message.base, CC_JOIN_MAX_MESSAGE_SIZE, data_p, size_p);
    cc_signed_clear (&envelope);
    return rc;
}

int
cc_join_pack_request (cc_keypair_t *key, const char *chain_id, uint64_t request_id,
                      const Certchain__MachineProfile *profile, uint64_t time_ms,
                      uint8_t **data_p, size_t *size_p)
{
    assert (key);
    assert (profile);
    Certchain__JoinRequest request = CERTCHAIN__JOIN_REQUEST__INIT;
    request.node = cc_bytes_view (cc_keypair_public (key), CC_PUBKEY_SIZE);
    request.profile = (Certchain__MachineProfile *) profile;
    request.time_ms = time_ms;
    return s_pack_signed (key, chain_id, request_id, true, &request.base, data_p, size_p);
}

int
cc_join_pack_response (cc_keypair_t *key, const char *chain_id, uint64_t request_id,
                       const Certchain__ChallengeResponse *response, uint8_t **data_p,
                       size_t *size_p)
{
    assert (key);
    assert (response);
    return s_pack_signed (key, chain_id, request_id, false, &response->base, data_p, size_p);
}

int
cc_join_result_read (const Certchain__JoinMessage *message, cc_join_result_t *result)
{
    assert (message);
    assert (result);
    memset (result, 0, sizeof (*result));
    result->from_ca = true;
    if (message->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_ERROR && message->error) {
        int code = message->error->code;
        result->code = code > 0 ? -code : code;
        if (result->code == 0)
            result->code = CC_E_INTERNAL;
        snprintf (result->reason, sizeof (result->reason), "%s",
                  message->error->message && *message->error->message
                      ? message->error->message
                      : cc_error_message (result->code));
        return 0;
    }
    if (message->kind_case != CERTCHAIN__JOIN_MESSAGE__KIND_RESULT || !message->result)
        return CC_E_UNSUPPORTED;
    const Certchain__JoinResult *answer = message->result;
    result->accepted = answer->accepted;
    int code = answer->code;
    result->code = answer->accepted ? 0 : (code > 0 ? -code : code);
    if (!answer->accepted && result->code == 0)
        result->code = CC_E_INTERNAL;
    const char *text = answer->reason && *answer->reason
                           ? answer->reason
                           : (answer->accepted ? "accepted" : cc_error_message (result->code));
    snprintf (result->reason, sizeof (result->reason), "%s", text);
    if (cc_bytes_sized (answer->certify_tx, CC_HASH_SIZE))
        memcpy (result->certify_tx, answer->certify_tx.data, CC_HASH_SIZE);
    if (answer->score) {
        result->hashes_per_second = answer->score->hashes_per_second;
        result->argon2_mib_per_second = answer->score->argon2_mib_per_second;
        result->score_elapsed_ms = answer->score->elapsed_ms;
    }
    result->retry_after_ms = answer->retry_after_ms;
    result->valid_until = answer->valid_until;
    return 0;
}

//  --- Steps ---------------------------------------------------------------------------

int
cc_join_request (cc_join_t *self, uint64_t now_ms, uint8_t **data_p, size_t *size_p,
                 cc_reason_t *reason)
{
    assert (self);
    *data_p = NULL;
    *size_p = 0;
    if (self->state != CC_JOIN_START)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "join already %s",
                              cc_join_state_name (self->state));
    self->started_ms = now_ms;
    cc_reason_t why;
    cc_reason_clear (&why);
    int rc = cc_profile_measure (self->data_dir, &self->profile, &why);
    if (rc != 0) {
        cc_reason_set (reason, rc, "cannot measure the machine profile: %s",
                       cc_reason_text (&why));
        s_fail (self, now_ms, rc, reason->text);
        return rc;
    }
    rc = cc_join_pack_request (self->key, self->chain_id, self->request_id, self->profile,
                               now_ms, data_p, size_p);
    if (rc != 0) {
        cc_reason_set (reason, rc, "cannot build the join request: %s", cc_error_message (rc));
        s_fail (self, now_ms, rc, reason->text);
        return rc;
    }
    self->state = CC_JOIN_REQUESTED;
    return 0;
}

//  A challenge arrived in REQUESTED: keep it if it is one we can solve.
static int
s_on_challenge (cc_join_t *self, Certchain__JoinMessage **message_p, uint64_t now_ms,
                cc_reason_t *reason)
{
    Certchain__JoinMessage *message = *message_p;
    const Certchain__Challenge *challenge = message->challenge;
    cc_reason_t why;
    cc_reason_clear (&why);
    if (!challenge || cc_challenge_check (challenge, &why) != 0) {
        //  A CA that sends this is broken or hostile: no point waiting on.
        cc_reason_set (reason, CC_E_BAD_FIELD, "the CA sent a malformed challenge: %s",
                       challenge ? cc_reason_text (&why) : "empty");
        s_fail (self, now_ms, CC_E_BAD_FIELD, reason->text);
        return 0;
    }
    if (memcmp (challenge->node.data, cc_keypair_public (self->key), CC_PUBKEY_SIZE) != 0) {
        cc_reason_set (reason, CC_E_WRONG_NODE_KEY,
                       "the CA sent a challenge for another node key");
        s_fail (self, now_ms, CC_E_WRONG_NODE_KEY, reason->text);
        return 0;
    }
    self->challenge_message = message;
    *message_p = NULL;
    self->state = CC_JOIN_CHALLENGED;
    return 0;
}

int
cc_join_receive (cc_join_t *self, const uint8_t *data, size_t size, uint64_t now_ms,
                 cc_reason_t *reason)
{
    assert (self);
    int code = 0;
    Certchain__JoinMessage *message = (Certchain__JoinMessage *) cc_codec_unpack (
        &certchain__join_message__descriptor, data, size, CC_JOIN_MAX_MESSAGE_SIZE, &code);
    if (!message)
        return cc_reason_set (reason, code, "not a JoinMessage: %s", cc_error_message (code));
    int rc = 0;
    bool answer_id = message->request_id == self->request_id + 1;
    bool request_id = message->request_id == self->request_id;
    switch (message->kind_case) {
        case CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE:
            if (self->state != CC_JOIN_REQUESTED)
                rc = cc_reason_set (reason, CC_E_UNSUPPORTED, "a challenge while %s",
                                    cc_join_state_name (self->state));
            else
            if (!request_id)
                rc = cc_reason_set (reason, CC_E_STALE,
                                    "a challenge for request %" PRIu64 ", ours is %" PRIu64,
                                    message->request_id, self->request_id);
            else
                rc = s_on_challenge (self, &message, now_ms, reason);
            break;
        case CERTCHAIN__JOIN_MESSAGE__KIND_RESULT:
        case CERTCHAIN__JOIN_MESSAGE__KIND_ERROR: {
            //  An error with id 0 answers a message the CA could not read.
            bool unread = message->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_ERROR
                          && message->request_id == 0;
            bool ours = (self->state == CC_JOIN_REQUESTED && (request_id || unread))
                        || (self->state == CC_JOIN_ANSWERED && (answer_id || unread));
            if (self->state != CC_JOIN_REQUESTED && self->state != CC_JOIN_ANSWERED)
                rc = cc_reason_set (reason, CC_E_UNSUPPORTED, "a result while %s",
                                    cc_join_state_name (self->state));
            else
            if (!ours)
                rc = cc_reason_set (reason, CC_E_STALE,
                                    "a result for request %" PRIu64 " while %s",
                                    message->request_id, cc_join_state_name (self->state));
            else {
                cc_join_result_t local = self->result;
                cc_join_result_read (message, &self->result);
                self->result.solve_ms = local.solve_ms;
                self->result.hashes = local.hashes;
                self->result.threads = local.threads;
                s_done (self, now_ms);
            }
            break;
        }
        default:
            rc = cc_reason_set (reason, CC_E_UNSUPPORTED, "a CA does not send this kind (%d)",
                                (int) message->kind_case);
            break;
    }
    cc_codec_free ((ProtobufCMessage **) &message);
    return rc;
}

int
cc_join_solve (cc_join_t *self, cc_reason_t *reason)
{
    assert (self);
    if (self->state != CC_JOIN_CHALLENGED)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "nothing to solve while %s",
                              cc_join_state_name (self->state));
    s_job_t job;
    memset (&job, 0, sizeof (job));
    job.challenge = self->challenge_message->challenge;
    memcpy (job.node, cc_keypair_public (self->key), CC_PUBKEY_SIZE);
    job.threads = self->threads;
    s_solve_job (&job);
    uint64_t now_ms = self->started_ms + job.stats.elapsed_ms;
    s_take_solve (self, &job, now_ms, reason);
    return job.rc;
}

int
cc_join_solve_start (cc_join_t *self)
{
    assert (self);
    if (self->state != CC_JOIN_CHALLENGED)
        return CC_E_INVALID_ARG;
    memset (&self->job, 0, sizeof (self->job));
    self->job.challenge = self->challenge_message->challenge;
    memcpy (self->job.node, cc_keypair_public (self->key), CC_PUBKEY_SIZE);
    self->job.threads = self->threads;
    self->solver = zactor_new (s_solver_actor, &self->job);
    if (!self->solver) {
        s_fail (self, self->started_ms, CC_E_NOMEM, "cannot start the solver thread");
        return CC_E_NOMEM;
    }
    self->state = CC_JOIN_SOLVING;
    return 0;
}

zsock_t *
cc_join_solver_socket (cc_join_t *self)
{
    assert (self);
    return self->solver ? zactor_sock (self->solver) : NULL;
}

int
cc_join_solve_finish (cc_join_t *self, cc_reason_t *reason)
{
    assert (self);
    if (self->state != CC_JOIN_SOLVING || !self->solver)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "no solve runs while %s",
                              cc_join_state_name (self->state));
    //  Waits for the end-of-thread signal that made the socket readable.
    zactor_destroy (&self->solver);
    uint64_t now_ms = self->started_ms + self->job.stats.elapsed_ms;
    s_take_solve (self, &self->job, now_ms, reason);
    return self->job.rc;
}

int
cc_join_answer (cc_join_t *self, uint64_t now_ms, uint8_t **data_p, size_t *size_p,
                cc_reason_t *reason)
{
    assert (self);
    *data_p = NULL;
    *size_p = 0;
    if (self->state != CC_JOIN_SOLVED)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "no answers to send while %s",
                              cc_join_state_name (self->state));
    int rc = cc_join_pack_response (self->key, self->chain_id, self->request_id + 1,
                                    self->response, data_p, size_p);
    if (rc != 0) {
        cc_reason_set (reason, rc, "cannot build the answer: %s", cc_error_message (rc));
        s_fail (self, now_ms, rc, reason->text);
        return rc;
    }
    self->state = CC_JOIN_ANSWERED;
    return 0;
}

void
cc_join_fail (cc_join_t *self, uint64_t now_ms, int code, const char *format, ...)
{
    assert (self);
    if (self->state == CC_JOIN_DONE)
        return;
    s_solver_join (self);
    char text [sizeof (self->result.reason)];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    s_fail (self, now_ms, code, text);
}

//  --- Reading ----------------------------------------------------------------------------

cc_join_state_t
cc_join_state (cc_join_t *self)
{
    assert (self);
    return self->state;
}

const char *
cc_join_state_name (cc_join_state_t state)
{
    switch (state) {
        case CC_JOIN_START: return "start";
        case CC_JOIN_REQUESTED: return "requested";
        case CC_JOIN_CHALLENGED: return "challenged";
        case CC_JOIN_SOLVING: return "solving";
        case CC_JOIN_SOLVED: return "solved";
        case CC_JOIN_ANSWERED: return "answered";
        case CC_JOIN_DONE: return "done";
    }
    return "unknown";
}

const cc_join_result_t *
cc_join_result (cc_join_t *self)
{
    assert (self);
    return &self->result;
}

const Certchain__MachineProfile *
cc_join_profile (cc_join_t *self)
{
    assert (self);
    return self->profile;
}

const Certchain__Challenge *
cc_join_challenge (cc_join_t *self)
{
    assert (self);
    return self->challenge_message ? self->challenge_message->challenge : NULL;
}

const Certchain__ChallengeResponse *
cc_join_response (cc_join_t *self)
{
    assert (self);
    return self->response;
}

//  --- Blocking convenience -----------------------------------------------------------------

//  Sends [join][data] on the dealer; ends the join on failure.
static void
s_send (cc_join_t *self, zsock_t *dealer, uint8_t *data, size_t size)
{
    if (cc_rpc_send_bytes (dealer, NULL, CC_FRAME_JOIN, data, size) != 0)
        cc_join_fail (self, (uint64_t) zclock_time (), CC_E_IO, "cannot send to the CA");
}

//  Waits up to left_ms for one join message and hands it to the machine.
static void
s_receive (cc_join_t *self, zsock_t *dealer, zpoller_t *poller, int left_ms)
{
    if (!zpoller_wait (poller, left_ms))
        return;
    zmsg_t *message = zmsg_recv (dealer);
    zframe_t *type = NULL, *payload = NULL;
    if (message && cc_rpc_split (message, false, NULL, &type, &payload) == 0
        && cc_rpc_frame_is (type, CC_FRAME_JOIN)) {
        cc_reason_t reason;
        cc_reason_clear (&reason);
        //  Anything that does not fit is ignored; the deadline bounds the wait.
        cc_join_receive (self, zframe_data (payload), zframe_size (payload),
                         (uint64_t) zclock_time (), &reason);
    }
    zmsg_destroy (&message);
}

int
cc_join_run (const char *ca_endpoint, cc_keypair_t *key, const char *chain_id,
             const char *data_dir, int timeout_ms, size_t threads, cc_join_result_t *result)
{
    assert (ca_endpoint);
    assert (result);
    memset (result, 0, sizeof (*result));
    cc_join_t *self = cc_join_new (key, chain_id, data_dir, threads);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zpoller_t *poller = dealer ? zpoller_new (dealer, NULL) : NULL;
    if (!self || !poller) {
        zpoller_destroy (&poller);
        zsock_destroy (&dealer);
        cc_join_destroy (&self);
        result->code = CC_E_NOMEM;
        snprintf (result->reason, sizeof (result->reason), "out of memory");
        return CC_E_NOMEM;
    }
    cc_rpc_socket_policy (dealer, CC_JOIN_MAX_MESSAGE_SIZE);
    int64_t deadline = zclock_mono () + timeout_ms;
    if (zsock_connect (dealer, "%s", ca_endpoint) != 0)
        cc_join_fail (self, (uint64_t) zclock_time (), CC_E_CONFIG,
                      "cannot connect to the CA at '%s'", ca_endpoint);
    while (cc_join_state (self) != CC_JOIN_DONE) {
        cc_reason_t reason;
        cc_reason_clear (&reason);
        uint8_t *data = NULL;
        size_t size = 0;
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) {
            cc_join_fail (self, (uint64_t) zclock_time (), CC_E_TIMEOUT,
                          "no outcome from the CA within %d ms (%s)", timeout_ms,
                          cc_join_state_name (cc_join_state (self)));
            break;
        }
        switch (cc_join_state (self)) {
            case CC_JOIN_START:
                if (cc_join_request (self, (uint64_t) zclock_time (), &data, &size, &reason) == 0)
                    s_send (self, dealer, data, size);
                break;
            case CC_JOIN_CHALLENGED:
                cc_join_solve (self, &reason);
                break;
            case CC_JOIN_SOLVED:
                if (cc_join_answer (self, (uint64_t) zclock_time (), &data, &size, &reason) == 0)
                    s_send (self, dealer, data, size);
                break;
            default:
                s_receive (self, dealer, poller, (int) left);
                break;
        }
        free (data);
    }
    *result = *cc_join_result (self);
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    cc_join_destroy (&self);
    if (result->accepted)
        return 0;
    return result->code != 0 ? result->code : CC_E_INTERNAL;
}
