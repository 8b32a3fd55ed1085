/*  =========================================================================
    certify - join and burst measurements of the CA (see certify.h)
    =========================================================================
*/

#include "certify.h"

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"
#include "codec.h"
#include "join.h"
#include "load.h"
#include "profile.h"
#include "rpc.h"

//  Longest wait for one join, one commit, one reply.
#define S_JOIN_TIMEOUT_MS 30000
#define S_COMMIT_TIMEOUT_MS 30000
#define S_REPLY_TIMEOUT_MS 3000
//  A burst's candidates wait this long for their challenge and result.
#define S_BURST_TIMEOUT_MS 180000
//  Audit entries asked per AuditQuery.
#define S_AUDIT_PAGE 200

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return NULL;
    cc_rpc_socket_policy (dealer, CC_JOIN_MAX_MESSAGE_SIZE * 4);
    if (zsock_connect (dealer, "%s", endpoint) != 0)
        zsock_destroy (&dealer);
    return dealer;
}

//  Waits for the JoinMessage answering request_id (0 matches any).
//  Caller frees it (cc_codec_free); NULL on timeout.
static Certchain__JoinMessage *
s_join_wait (zsock_t *dealer, uint64_t request_id, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int64_t deadline = zclock_mono () + timeout_ms;
    Certchain__JoinMessage *found = NULL;
    while (poller && !found && !zsys_interrupted) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0 || !zpoller_wait (poller, (int) (left < 200 ? left : 200))) {
            if (left <= 0)
                break;
            continue;
        }
        zmsg_t *message = zmsg_recv (dealer);
        zframe_t *type = NULL, *payload = NULL;
        if (message && cc_rpc_split (message, false, NULL, &type, &payload) == 0
            && cc_rpc_frame_is (type, CC_FRAME_JOIN)) {
            int code = 0;
            Certchain__JoinMessage *reply = (Certchain__JoinMessage *) cc_codec_unpack (
                &certchain__join_message__descriptor, zframe_data (payload),
                zframe_size (payload), CC_JOIN_MAX_MESSAGE_SIZE * 4, &code);
            if (reply && (reply->request_id == request_id || reply->request_id == 0))
                found = reply;
            else
                cc_codec_free ((ProtobufCMessage **) &reply);
        }
        zmsg_destroy (&message);
    }
    zpoller_destroy (&poller);
    return found;
}

//  Appends verify_ms of every accepted decision with seq > after_seq in
//  the CA's audit log to *values (realloc'ed, *count entries). 0 or error.
static int
s_audit_verify_ms (const char *ca_join, uint64_t after_seq, double **values, size_t *count)
{
    zsock_t *dealer = s_dealer (ca_join);
    if (!dealer)
        return CC_E_IO;
    uint64_t from = after_seq + 1;
    int rc = 0;
    for (uint64_t request_id = 7; rc == 0; request_id++) {
        Certchain__AuditQuery query = CERTCHAIN__AUDIT_QUERY__INIT;
        query.from_seq = from;
        query.max_count = S_AUDIT_PAGE;
        Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
        message.request_id = request_id;
        message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_QUERY;
        message.audit_query = &query;
        if (cc_rpc_send (dealer, NULL, CC_FRAME_JOIN, &message.base) != 0) {
            rc = CC_E_IO;
            break;
        }
        Certchain__JoinMessage *reply = s_join_wait (dealer, request_id, S_REPLY_TIMEOUT_MS);
        if (!reply || reply->kind_case != CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_LOG) {
            cc_codec_free ((ProtobufCMessage **) &reply);
            rc = CC_E_TIMEOUT;
            break;
        }
        const Certchain__AuditLog *log = reply->audit_log;
        for (size_t index = 0; index < log->n_entries; index++) {
            const Certchain__AuditEntry *entry = log->entries [index];
            if (entry->decision != CERTCHAIN__AUDIT_DECISION__AUDIT_ACCEPTED)
                continue;
            double *grown = (double *) realloc (*values, (*count + 1) * sizeof (double));
            if (!grown) {
                rc = CC_E_NOMEM;
                break;
            }
            *values = grown;
            (*values) [(*count)++] = entry->verify_ms;
        }
        bool more = log->n_entries > 0 && log->next_seq > from && log->next_seq <= log->last_seq;
        from = log->next_seq;
        cc_codec_free ((ProtobufCMessage **) &reply);
        if (!more)
            break;
    }
    zsock_destroy (&dealer);
    return rc;
}

//  The newest seq of the CA's audit log (0: empty or unreadable).
static uint64_t
s_audit_last (const char *ca_join)
{
    zsock_t *dealer = s_dealer (ca_join);
    if (!dealer)
        return 0;
    Certchain__AuditQuery query = CERTCHAIN__AUDIT_QUERY__INIT;
    query.max_count = 1;
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = 5;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_QUERY;
    message.audit_query = &query;
    uint64_t last = 0;
    if (cc_rpc_send (dealer, NULL, CC_FRAME_JOIN, &message.base) == 0) {
        Certchain__JoinMessage *reply = s_join_wait (dealer, 5, S_REPLY_TIMEOUT_MS);
        if (reply && reply->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_LOG)
            last = reply->audit_log->last_seq;
        cc_codec_free ((ProtobufCMessage **) &reply);
    }
    zsock_destroy (&dealer);
    return last;
}

//  --- Sequential joins -----------------------------------------------------------------------

//  True once the verifier has the transaction hash.
static bool
s_tx_committed (cc_rpc_client_t *verifier, const uint8_t *hash)
{
    Certchain__GetTx get = CERTCHAIN__GET_TX__INIT;
    get.hash = cc_bytes_view (hash, CC_HASH_SIZE);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_TX;
    request.get_tx = &get;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    bool found = cc_rpc_client_call (verifier, &request, S_REPLY_TIMEOUT_MS, &reply, &reason) == 0
              && reply->kind_case == CERTCHAIN__REPLY__KIND_TX_INFO;
    cc_rpc_reply_free (&reply);
    return found;
}

//  Waits until the verifier counts members validators and has committed
//  two blocks since: the grown set commits. 0 or TIMEOUT.
static int
s_wait_members (const char *verifier, uint32_t members, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    uint64_t since = 0;
    while (zclock_mono () < deadline && !zsys_interrupted) {
        uint64_t height = 0;
        uint32_t validators = 0;
        if (cc_bench_net_status (verifier, S_REPLY_TIMEOUT_MS, &height, &validators) == 0
            && validators >= members) {
            if (since == 0)
                since = height;
            else
            if (height >= since + 2)
                return 0;
        }
        zclock_sleep (50);
    }
    return CC_E_TIMEOUT;
}

int
cc_bench_joins_run (cc_bench_net_t *net, size_t joins, cc_bench_joins_t *result,
                    cc_reason_t *reason)
{
    memset (result, 0, sizeof (*result));
    result->joins = joins;
    const char *chain_id = cc_genesis_chain_id (cc_bench_net_genesis (net));
    const char *ca_join = cc_bench_net_ca_join (net);
    uint64_t audit_from = s_audit_last (ca_join);
    double *join_ms = (double *) calloc (joins ? joins : 1, sizeof (double));
    double *solve_ms = (double *) calloc (joins ? joins : 1, sizeof (double));
    cc_rpc_client_t *verifier = cc_rpc_client_new (cc_bench_net_verifier (net),
                                                   CC_MAX_MESSAGE_SIZE);
    if (!join_ms || !solve_ms || !verifier) {
        free (join_ms);
        free (solve_ms);
        cc_rpc_client_destroy (&verifier);
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    }
    uint32_t members = 0;
    cc_bench_net_status (cc_bench_net_verifier (net), S_REPLY_TIMEOUT_MS, NULL, &members);
    for (size_t index = 0; index < joins && !zsys_interrupted; index++) {
        cc_keypair_t *key = cc_keypair_new ();
        cc_join_result_t joined;
        memset (&joined, 0, sizeof (joined));
        int64_t started = cc_bench_now_us ();
        int rc = key ? cc_join_run (ca_join, key, chain_id, cc_bench_net_dir (net),
                                    S_JOIN_TIMEOUT_MS, 0, &joined)
                     : CC_E_NOMEM;
        if (rc != 0 || !joined.accepted) {
            snprintf (result->problem, sizeof (result->problem), "join %zu refused: %s: %.120s",
                      index + 1, cc_error_name (rc), joined.reason);
            cc_keypair_destroy (&key);
            break;
        }
        int64_t deadline = zclock_mono () + S_COMMIT_TIMEOUT_MS;
        bool committed = false;
        while (!committed && zclock_mono () < deadline && !zsys_interrupted) {
            committed = s_tx_committed (verifier, joined.certify_tx);
            if (!committed)
                zclock_sleep (5);
        }
        if (!committed) {
            snprintf (result->problem, sizeof (result->problem),
                      "join %zu: Certify not committed at the verifier within %d ms", index + 1,
                      S_COMMIT_TIMEOUT_MS);
            cc_keypair_destroy (&key);
            break;
        }
        join_ms [result->certified] = (double) (cc_bench_now_us () - started) / 1000.0;
        solve_ms [result->certified] = (double) joined.solve_ms;
        result->certified++;
        //  The new member runs before the next join, or the chain stalls.
        char name [32];
        const char *admin = NULL;
        snprintf (name, sizeof (name), "joined-%zu", index + 1);
        cc_reason_t why;
        cc_reason_clear (&why);
        rc = cc_bench_net_add_validator (net, name, key, &admin, &why);
        cc_keypair_destroy (&key);
        if (rc == 0)
            rc = s_wait_members (cc_bench_net_verifier (net), members + (uint32_t) index + 1,
                                 60000);
        if (rc != 0) {
            snprintf (result->problem, sizeof (result->problem),
                      "join %zu: the new member did not commit with the set: %s", index + 1,
                      why.code ? cc_reason_text (&why) : cc_error_message (rc));
            break;
        }
    }
    cc_rpc_client_destroy (&verifier);
    cc_bench_summarize (join_ms, result->certified, &result->join_ms);
    cc_bench_summarize (solve_ms, result->certified, &result->solve_ms);
    free (join_ms);
    free (solve_ms);
    double *verify = NULL;
    size_t verified = 0;
    if (s_audit_verify_ms (ca_join, audit_from, &verify, &verified) != 0
        && !result->problem [0])
        snprintf (result->problem, sizeof (result->problem), "cannot read the CA's audit log");
    cc_bench_summarize (verify, verified, &result->verify_ms);
    free (verify);
    return zsys_interrupted ? cc_reason_set (reason, CC_E_IO, "interrupted") : 0;
}

//  --- Burst --------------------------------------------------------------------------------

//  Where the candidates wait for each other, so all answer at once. A
//  barrier would hang if a thread failed to start; the gate learns how
//  many threads really run once they are all started.
typedef struct {
    pthread_mutex_t mutex;              //  guards the counts
    pthread_cond_t changed;             //  signalled on every change
    size_t arrived;                     //  candidates waiting at the gate
    size_t expected;                    //  candidates running (SIZE_MAX until known)
} s_gate_t;

static void
s_gate_wait (s_gate_t *gate)
{
    pthread_mutex_lock (&gate->mutex);
    gate->arrived++;
    pthread_cond_broadcast (&gate->changed);
    while (gate->arrived < gate->expected)
        pthread_cond_wait (&gate->changed, &gate->mutex);
    pthread_mutex_unlock (&gate->mutex);
}

static void
s_gate_expect (s_gate_t *gate, size_t expected)
{
    pthread_mutex_lock (&gate->mutex);
    gate->expected = expected;
    pthread_cond_broadcast (&gate->changed);
    pthread_mutex_unlock (&gate->mutex);
}

//  One candidate of the burst.
typedef struct {
    pthread_t thread;                   //  its thread
    s_gate_t *gate;                     //  all answer at once
    const char *ca_join;                //  the CA
    const char *chain_id;               //  the chain
    const char *data_dir;               //  where the profile measures the disk
    bool ready;                         //  solved, answer packed
    int64_t sent_us;                    //  when the answer left
    int64_t result_us;                  //  when the result came
    bool accepted;                      //  the CA's verdict
    int64_t solve_ms;                   //  local solve time
    char problem [160];                 //  why it did not get accepted
} s_candidate_t;

static void *
s_candidate_run (void *argument)
{
    s_candidate_t *self = (s_candidate_t *) argument;
    cc_keypair_t *key = cc_keypair_new ();
    zsock_t *dealer = s_dealer (self->ca_join);
    Certchain__MachineProfile *profile = NULL;
    Certchain__JoinMessage *reply = NULL;
    Certchain__ChallengeResponse *response = NULL;
    uint8_t *request = NULL, *answer = NULL;
    size_t request_size = 0, answer_size = 0;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    uint64_t request_id = ((uint64_t) randombytes_random () << 1) | 1;
    snprintf (self->problem, sizeof (self->problem), "no challenge");
    if (key && dealer && cc_profile_measure (self->data_dir, &profile, &reason) == 0
        && cc_join_pack_request (key, self->chain_id, request_id, profile,
                                 (uint64_t) zclock_time (), &request, &request_size) == 0
        && cc_rpc_send_bytes (dealer, NULL, CC_FRAME_JOIN, request, request_size) == 0)
        reply = s_join_wait (dealer, request_id, S_BURST_TIMEOUT_MS);
    if (reply && reply->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE) {
        int64_t started = zclock_mono ();
        int rc = cc_challenge_solve (reply->challenge, cc_keypair_public (key), 1, &response,
                                     NULL);
        if (rc == 0)
            rc = cc_join_pack_response (key, self->chain_id, request_id + 1, response, &answer,
                                        &answer_size);
        self->solve_ms = zclock_mono () - started;
        self->ready = rc == 0;
        if (rc != 0)
            snprintf (self->problem, sizeof (self->problem), "solving: %s", cc_error_name (rc));
    }
    else
    if (reply) {
        cc_join_result_t refused;
        memset (&refused, 0, sizeof (refused));
        cc_join_result_read (reply, &refused);
        snprintf (self->problem, sizeof (self->problem), "request refused: %s: %.100s",
                  cc_error_name (refused.code), refused.reason);
    }
    s_gate_wait (self->gate);
    if (self->ready) {
        self->sent_us = cc_bench_now_us ();
        Certchain__JoinMessage *verdict = NULL;
        if (cc_rpc_send_bytes (dealer, NULL, CC_FRAME_JOIN, answer, answer_size) == 0)
            verdict = s_join_wait (dealer, request_id + 1, S_BURST_TIMEOUT_MS);
        self->result_us = cc_bench_now_us ();
        cc_join_result_t outcome;
        memset (&outcome, 0, sizeof (outcome));
        if (verdict && cc_join_result_read (verdict, &outcome) == 0) {
            self->accepted = outcome.accepted;
            snprintf (self->problem, sizeof (self->problem), "%s: %.120s",
                      cc_error_name (outcome.code), outcome.reason);
        }
        else
            snprintf (self->problem, sizeof (self->problem), "no result");
        cc_codec_free ((ProtobufCMessage **) &verdict);
    }
    free (request);
    free (answer);
    cc_challenge_response_free (&response);
    cc_codec_free ((ProtobufCMessage **) &reply);
    cc_profile_free (&profile);
    zsock_destroy (&dealer);
    cc_keypair_destroy (&key);
    return NULL;
}

int
cc_bench_burst_run (cc_bench_net_t *net, size_t candidates, cc_bench_burst_t *result,
                    cc_reason_t *reason)
{
    memset (result, 0, sizeof (*result));
    result->candidates = candidates;
    if (candidates == 0)
        return 0;
    const char *ca_join = cc_bench_net_ca_join (net);
    uint64_t audit_from = s_audit_last (ca_join);
    s_candidate_t *list = (s_candidate_t *) calloc (candidates, sizeof (s_candidate_t));
    if (!list)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    s_gate_t gate;
    pthread_mutex_init (&gate.mutex, NULL);
    pthread_cond_init (&gate.changed, NULL);
    gate.arrived = 0;
    gate.expected = SIZE_MAX;
    size_t running = 0;
    for (; running < candidates; running++) {
        s_candidate_t *candidate = &list [running];
        candidate->gate = &gate;
        candidate->ca_join = ca_join;
        candidate->chain_id = cc_genesis_chain_id (cc_bench_net_genesis (net));
        candidate->data_dir = cc_bench_net_dir (net);
        if (pthread_create (&candidate->thread, NULL, s_candidate_run, candidate) != 0)
            break;
    }
    s_gate_expect (&gate, running);
    for (size_t index = 0; index < running; index++)
        pthread_join (list [index].thread, NULL);
    pthread_cond_destroy (&gate.changed);
    pthread_mutex_destroy (&gate.mutex);
    if (running < candidates)
        snprintf (result->problem, sizeof (result->problem),
                  "only %zu of %zu candidate threads started", running, candidates);
    candidates = running;
    int64_t first_sent = INT64_MAX, last_result = 0;
    double solve_total = 0;
    for (size_t index = 0; index < candidates; index++) {
        s_candidate_t *candidate = &list [index];
        if (candidate->accepted)
            result->accepted++;
        else
        if (!result->problem [0])
            snprintf (result->problem, sizeof (result->problem), "candidate %zu: %s",
                      index + 1, candidate->problem);
        if (!candidate->ready)
            continue;
        result->answered++;
        solve_total += (double) candidate->solve_ms;
        if (candidate->sent_us < first_sent)
            first_sent = candidate->sent_us;
        if (candidate->result_us > last_result)
            last_result = candidate->result_us;
    }
    free (list);
    if (result->answered > 0) {
        result->answer_seconds = (double) (last_result - first_sent) / 1e6;
        result->answers_per_s = result->answer_seconds > 0
                              ? (double) result->answered / result->answer_seconds : 0;
        result->mean_solve_ms = solve_total / (double) result->answered;
    }
    double *verify = NULL;
    size_t verified = 0;
    if (s_audit_verify_ms (ca_join, audit_from, &verify, &verified) != 0
        && !result->problem [0])
        snprintf (result->problem, sizeof (result->problem), "cannot read the CA's audit log");
    cc_bench_summarize (verify, verified, &result->verify_ms);
    free (verify);
    return 0;
}
