/*  =========================================================================
    load - one measured run of pre-signed transfers (see load.h)

    DESIGN: one thread, one zmq_poll over two DEALERs (relay, verifier).
    Each pass sends what the rate or the window allows, keeps exactly one
    GetBlock in flight (for the next height), and drains every reply that
    is waiting. Per transfer the run keeps its submit and commit times in
    two arrays indexed like the set; a block's transactions are matched by
    hashing each body (the tx hash is H(body)) and looking it up in the
    set, so a block from anyone else's load is read past at the cost of
    one hash per transaction.
    =========================================================================
*/

#include "load.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block.h"
#include "codec.h"
#include "net.h"
#include "rpc.h"

//  Largest reply accepted from the verifier (a block is at most 32 MiB).
#define S_MAX_REPLY (64 * 1024 * 1024)
//  The longest single wait in the loop.
#define S_MAX_WAIT_MS 5
//  A GetBlock unanswered this long is asked again (the verifier restarted).
#define S_BLOCK_RETRY_US 3000000

//  Where a transfer stands.
typedef enum {
    S_WAITING = 0,              //  not sent yet
    S_SENT,                     //  its request left
    S_REFUSED,                  //  the relay refused it
    S_COMMITTED                 //  seen in a block at the verifier
} s_state_t;

//  The run in progress.
typedef struct {
    cc_bench_txset_t *set;              //  what is submitted
    const cc_bench_load_opts_t *opts;   //  how
    cc_bench_load_result_t *result;     //  what it found
    zsock_t *relay;                     //  DEALER to the relay's rpc
    zsock_t *verifier;                  //  DEALER to the verifier's query
    int64_t *submit_us;                 //  per transfer: when its request left
    int64_t *commit_us;                 //  per transfer: when its block came back
    uint8_t *state;                     //  per transfer: s_state_t
    size_t next_batch;                  //  next request to send
    size_t requests_out;                //  requests awaiting their reply
    uint64_t sent;                      //  transfers sent
    uint64_t settled;                   //  transfers committed or refused
    uint64_t next_height;               //  the height asked for next
    bool block_asked;                   //  a GetBlock is in flight
    int64_t block_asked_us;             //  since when
    int64_t poll_at_us;                 //  when to ask again
    uint64_t block_request_id;          //  id of the GetBlock in flight
    int64_t first_submit_us;            //  first request sent
    int64_t last_submit_us;             //  last request sent
    int64_t last_answer_us;             //  last reply of the relay
    int64_t last_commit_us;             //  last commit of ours seen
    int64_t last_progress_us;           //  last time a transfer settled
} s_run_t;

int64_t
cc_bench_now_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static void
s_note (s_run_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  Keeps the first problem seen, for the report.
static void
s_note (s_run_t *self, const char *format, ...)
{
    if (self->result->refusal [0])
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->result->refusal, sizeof (self->result->refusal), format, args);
    va_end (args);
}

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    if (!socket)
        return NULL;
    cc_rpc_socket_policy (socket, S_MAX_REPLY);
    if (zsock_connect (socket, "%s", endpoint) != 0)
        zsock_destroy (&socket);
    return socket;
}

//  Reads one Reply waiting on socket (NULL when none or malformed).
static Certchain__Reply *
s_recv (zsock_t *socket)
{
    zmsg_t *message = zmsg_recv_nowait (socket);
    if (!message)
        return NULL;
    zframe_t *type = NULL, *payload = NULL;
    Certchain__Reply *reply = NULL;
    if (cc_rpc_split (message, false, NULL, &type, &payload) == 0
        && cc_rpc_frame_is (type, CC_FRAME_REPLY)) {
        int code = 0;
        reply = (Certchain__Reply *) cc_codec_unpack (&certchain__reply__descriptor,
                                                      zframe_data (payload),
                                                      zframe_size (payload), S_MAX_REPLY,
                                                      &code);
    }
    zmsg_destroy (&message);
    return reply;
}

//  --- Submitting --------------------------------------------------------------------------

//  True when the rate or the window lets the next request go now.
static bool
s_may_send (s_run_t *self, int64_t now)
{
    if (self->next_batch == cc_bench_txset_batches (self->set)
        || self->requests_out >= self->opts->max_requests)
        return false;
    size_t count = cc_bench_txset_batch_count (self->set, self->next_batch);
    uint64_t open = self->sent - self->settled;
    if (open > 0 && open + count > self->opts->window)
        return false;
    if (self->opts->rate > 0 && self->sent > 0) {
        double due = self->opts->rate * (double) (now - self->first_submit_us) / 1e6;
        if ((double) self->sent >= due)
            return false;
    }
    return true;
}

static int
s_send_batch (s_run_t *self, int64_t now)
{
    size_t batch = self->next_batch;
    size_t size = 0;
    const uint8_t *request = cc_bench_txset_request (self->set, batch, &size);
    if (cc_rpc_send_bytes (self->relay, NULL, CC_FRAME_REQUEST, request, size) != 0)
        return CC_E_IO;
    //  Waiting for commits starts now when nothing was out: a pause in
    //  sending (a slow fixed rate) is not a stall.
    if (self->settled == self->sent)
        self->last_progress_us = now;
    size_t first = cc_bench_txset_batch_first (self->set, batch);
    size_t count = cc_bench_txset_batch_count (self->set, batch);
    for (size_t index = first; index < first + count; index++) {
        self->submit_us [index] = now;
        self->state [index] = S_SENT;
    }
    if (self->sent == 0)
        self->first_submit_us = now;
    self->last_submit_us = now;
    self->sent += count;
    self->next_batch++;
    self->requests_out++;
    return 0;
}

//  A SubmitResult (or an Error for the whole request) from the relay.
static void
s_on_submitted (s_run_t *self, Certchain__Reply *reply, int64_t now)
{
    if (reply->id == 0 || reply->id > cc_bench_txset_batches (self->set))
        return;
    size_t batch = (size_t) reply->id - 1;
    size_t first = cc_bench_txset_batch_first (self->set, batch);
    size_t count = cc_bench_txset_batch_count (self->set, batch);
    self->requests_out--;
    self->last_answer_us = now;
    for (size_t offset = 0; offset < count; offset++) {
        const Certchain__Error *error = NULL;
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_SUBMIT_RESULT) {
            if (offset < reply->submit_result->n_results)
                error = reply->submit_result->results [offset]->error;
        }
        else
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR)
            error = reply->error;
        size_t index = first + offset;
        if (!error || self->state [index] != S_SENT)
            continue;
        self->state [index] = S_REFUSED;
        self->result->refused++;
        self->settled++;
        self->last_progress_us = now;
        s_note (self, "relay refused a transfer: %s: %s",
                error->name ? error->name : "?", error->message ? error->message : "");
    }
}

//  --- Reading blocks back ------------------------------------------------------------------

static int
s_ask_block (s_run_t *self)
{
    Certchain__GetBlock get = CERTCHAIN__GET_BLOCK__INIT;
    get.height = self->next_height;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.id = ++self->block_request_id;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCK;
    request.get_block = &get;
    if (cc_rpc_send (self->verifier, NULL, CC_FRAME_REQUEST, &request.base) != 0)
        return CC_E_IO;
    self->block_asked = true;
    self->block_asked_us = cc_bench_now_us ();
    return 0;
}

//  A block (or NOT_FOUND) from the verifier.
static void
s_on_block (s_run_t *self, Certchain__Reply *reply, int64_t now)
{
    if (reply->id != self->block_request_id)
        return;         //  a late answer to an earlier question
    self->block_asked = false;
    if (reply->kind_case != CERTCHAIN__REPLY__KIND_BLOCK) {
        //  Not there yet: ask again shortly.
        self->poll_at_us = now + (int64_t) self->opts->poll_ms * 1000;
        return;
    }
    int code = 0;
    Certchain__Block *block = (Certchain__Block *) cc_codec_unpack (
        &certchain__block__descriptor, reply->block.data, reply->block.len, CC_BLOCK_MAX_SIZE,
        &code);
    if (!block) {
        s_note (self, "verifier sent an unreadable block at height %" PRIu64,
                self->next_height);
        self->poll_at_us = now + (int64_t) self->opts->poll_ms * 1000;
        return;
    }
    cc_bench_load_result_t *result = self->result;
    result->blocks++;
    result->block_txs += block->n_txs;
    if (block->n_txs > result->max_block_txs)
        result->max_block_txs = block->n_txs;
    result->end_height = self->next_height;
    for (size_t offset = 0; offset < block->n_txs; offset++) {
        uint8_t hash [CC_HASH_SIZE];
        const Certchain__Signed *envelope = block->txs [offset];
        cc_hash (envelope->body.data, envelope->body.len, hash);
        size_t index = 0;
        if (cc_bench_txset_find (self->set, hash, &index) != 0
            || self->state [index] == S_COMMITTED)
            continue;
        if (self->state [index] == S_REFUSED) {
            //  Refused by the relay yet committed (another path got it in).
            result->refused--;
            self->settled--;
        }
        self->state [index] = S_COMMITTED;
        self->commit_us [index] = now;
        result->committed++;
        self->settled++;
        self->last_commit_us = now;
        self->last_progress_us = now;
    }
    cc_codec_free ((ProtobufCMessage **) &block);
    self->next_height++;
    self->poll_at_us = now;     //  the next one may be there already
}

//  --- The run ----------------------------------------------------------------------------

static void
s_finish (s_run_t *self)
{
    cc_bench_load_result_t *result = self->result;
    size_t count = cc_bench_txset_size (self->set);
    result->submitted = self->sent;
    result->lost = self->sent - result->committed - result->refused;
    double *latencies = (double *) calloc (count, sizeof (double));
    size_t measured = 0;
    for (size_t index = 0; latencies && index < count; index++)
        if (self->state [index] == S_COMMITTED)
            latencies [measured++] = (double) (self->commit_us [index]
                                               - self->submit_us [index]) / 1000.0;
    cc_bench_summarize (latencies, measured, &result->latency_ms);
    free (latencies);
    //  Sending ends with the relay's last answer: a run that fits in one
    //  request still has a rate.
    int64_t sent_until = self->last_answer_us > self->last_submit_us ? self->last_answer_us
                                                                     : self->last_submit_us;
    double sending = (double) (sent_until - self->first_submit_us) / 1e6;
    result->send_rate = sending > 0 ? (double) self->sent / sending : 0;
    if (result->committed > 0) {
        result->duration_s = (double) (self->last_commit_us - self->first_submit_us) / 1e6;
        result->throughput = result->duration_s > 0
                           ? (double) result->committed / result->duration_s : 0;
    }
    if (result->lost > 0)
        s_note (self, "%" PRIu64 " accepted transfers never showed up at the verifier",
                result->lost);
}

int
cc_bench_load_run (cc_bench_txset_t *set, const char *relay, const char *verifier,
                   const cc_bench_load_opts_t *opts_in, cc_bench_load_result_t *result,
                   cc_reason_t *reason)
{
    assert (set);
    memset (result, 0, sizeof (*result));
    cc_bench_load_opts_t opts = *opts_in;
    if (opts.window == 0)
        opts.window = 10000;
    if (opts.max_requests == 0)
        opts.max_requests = 16;
    if (opts.drain_ms <= 0)
        opts.drain_ms = 20000;
    if (opts.poll_ms <= 0)
        opts.poll_ms = 5;

    s_run_t run;
    memset (&run, 0, sizeof (run));
    s_run_t *self = &run;
    self->set = set;
    self->opts = &opts;
    self->result = result;
    size_t count = cc_bench_txset_size (set);
    self->submit_us = (int64_t *) calloc (count, sizeof (int64_t));
    self->commit_us = (int64_t *) calloc (count, sizeof (int64_t));
    self->state = (uint8_t *) calloc (count, 1);
    self->relay = s_dealer (relay);
    self->verifier = s_dealer (verifier);
    int rc = 0;
    if (!self->submit_us || !self->commit_us || !self->state)
        rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    else
    if (!self->relay || !self->verifier)
        rc = cc_reason_set (reason, CC_E_IO, "cannot connect to %s or %s", relay, verifier);
    //  Start from the verifier's tip now: nothing of this set is older.
    uint64_t height = 0;
    if (rc == 0) {
        rc = cc_bench_net_status (verifier, 3000, &height, NULL);
        if (rc != 0)
            cc_reason_set (reason, rc, "verifier %s: no status: %s", verifier,
                           cc_error_message (rc));
    }
    result->start_height = height;
    result->end_height = height;
    self->next_height = height + 1;

    int64_t started = cc_bench_now_us ();
    self->last_progress_us = started;
    while (rc == 0) {
        int64_t now = cc_bench_now_us ();
        while (s_may_send (self, now) && rc == 0)
            rc = s_send_batch (self, now);
        if (rc != 0) {
            cc_reason_set (reason, rc, "cannot send to the relay %s", relay);
            break;
        }
        if (self->block_asked && now - self->block_asked_us > S_BLOCK_RETRY_US)
            self->block_asked = false;      //  its answer, if late, is ignored by id
        if (!self->block_asked && now >= self->poll_at_us && s_ask_block (self) != 0) {
            rc = cc_reason_set (reason, CC_E_IO, "cannot send to the verifier %s", verifier);
            break;
        }
        bool all_sent = self->next_batch == cc_bench_txset_batches (set);
        if (all_sent && self->settled == self->sent)
            break;
        //  Nothing settled for drain_ms while transfers are out: once all
        //  is sent these are stragglers; before, the window is held by
        //  transfers the network dropped (a full mempool), and waiting on
        //  would never end.
        if (self->settled < self->sent
            && now - self->last_progress_us > (int64_t) opts.drain_ms * 1000) {
            if (!all_sent)
                s_note (self, "no transfer committed for %d ms with %" PRIu64 " out: the run "
                        "stops before sending the rest", opts.drain_ms,
                        self->sent - self->settled);
            break;
        }
        if (opts.timeout_ms > 0 && now - started > (int64_t) opts.timeout_ms * 1000) {
            s_note (self, "run stopped after its limit of %d ms", opts.timeout_ms);
            break;
        }
        if (zsys_interrupted) {
            rc = cc_reason_set (reason, CC_E_IO, "interrupted");
            break;
        }
        zmq_pollitem_t items [2] = {
            {zsock_resolve (self->relay), 0, ZMQ_POLLIN, 0},
            {zsock_resolve (self->verifier), 0, ZMQ_POLLIN, 0},
        };
        //  Sleep no longer than until the next send or poll is due.
        int64_t wait_us = S_MAX_WAIT_MS * 1000;
        if (!self->block_asked && self->poll_at_us - now < wait_us)
            wait_us = self->poll_at_us - now;
        if (opts.rate > 0 && self->sent > 0 && !all_sent) {
            int64_t due = self->first_submit_us
                        + (int64_t) ((double) self->sent / opts.rate * 1e6);
            if (due - now < wait_us)
                wait_us = due - now;
        }
        if (wait_us < 0)
            wait_us = 0;
        if (zmq_poll (items, 2, (long) ((wait_us + 999) / 1000)) < 0)
            continue;       //  EINTR: zsys_interrupted is looked at above
        now = cc_bench_now_us ();
        Certchain__Reply *reply;
        while ((reply = s_recv (self->relay))) {
            s_on_submitted (self, reply, now);
            cc_rpc_reply_free (&reply);
        }
        while ((reply = s_recv (self->verifier))) {
            s_on_block (self, reply, now);
            cc_rpc_reply_free (&reply);
        }
    }
    if (rc == 0)
        s_finish (self);
    zsock_destroy (&self->relay);
    zsock_destroy (&self->verifier);
    free (self->submit_us);
    free (self->commit_us);
    free (self->state);
    return rc;
}
