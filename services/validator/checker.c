/*  =========================================================================
    checker - the validator's pool of signature-check workers

    See checker.h for the design. A worker is a czmq actor; the pool and
    its workers talk over the actor pipe with two-frame messages
    ["CHECK"][batch pointer] one way and [batch pointer] back.
    =========================================================================
*/

#include "checker.h"

#include <assert.h>
#include <string.h>

//  One batch of transactions, travelling between the loop and a worker.
typedef struct {
    cc_tx_t *txs [CC_CHECKER_BATCH];    //  owned transactions
    int codes [CC_CHECKER_BATCH];       //  cc_tx_open result per tx
    size_t count;                       //  transactions in the batch
    size_t worker;                      //  index of the worker holding it
    void *handle;                       //  its place in the in-flight list
} s_batch_t;

struct _cc_checker_t {
    zloop_t *loop;                      //  borrowed event loop
    char chain_id [CC_CHAIN_ID_MAX + 1];    //  chain the txs must be for
    size_t threads;                     //  number of workers
    zactor_t **workers;                 //  the worker actors
    size_t *in_flight;                  //  batches each worker holds
    s_batch_t *filling;                 //  batch being filled, or NULL
    zlistx_t *queue;                    //  full batches waiting for a worker
    zlistx_t *outstanding;              //  batches held by workers
    size_t pending;                     //  txs held: filling, queued, in flight
    size_t max_pending;                 //  bound on pending
    cc_checker_done_fn *done;           //  told of each checked tx
    void *argument;                     //  passed to done and known
    cc_checker_known_fn *known;         //  skips txs already verified, or NULL
    uint64_t checked;                   //  txs checked so far
    uint64_t skipped;                   //  txs handed back unchecked as known
    uint64_t failed;                    //  of which failed
};

//  --- Batches -----------------------------------------------------------------

static void
s_batch_destroy (s_batch_t **batch_p)
{
    if (batch_p && *batch_p) {
        s_batch_t *batch = *batch_p;
        for (size_t index = 0; index < batch->count; index++)
            cc_tx_destroy (&batch->txs [index]);
        free (batch);
        *batch_p = NULL;
    }
}

//  --- Worker (runs in its own thread) -----------------------------------------

typedef struct {
    char chain_id [CC_CHAIN_ID_MAX + 1];    //  copy: the worker owns nothing else
} s_worker_args_t;

static void
s_worker (zsock_t *pipe, void *args)
{
    s_worker_args_t *worker_args = (s_worker_args_t *) args;
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *message = zmsg_recv (pipe);
        if (!message) {
            //  A signal (SIGTERM) only interrupts the call: the owner ends
            //  the worker with $TERM, and until then may still send work.
            if (zmq_errno () == EINTR)
                continue;
            break;
        }
        char *command = zmsg_popstr (message);
        bool terminate = !command || streq (command, "$TERM");
        if (!terminate && streq (command, "CHECK")) {
            zframe_t *frame = zmsg_pop (message);
            s_batch_t *batch = NULL;
            if (frame && zframe_size (frame) == sizeof (batch))
                memcpy (&batch, zframe_data (frame), sizeof (batch));
            zframe_destroy (&frame);
            if (batch) {
                cc_reason_t reason;
                for (size_t index = 0; index < batch->count; index++)
                    batch->codes [index] = cc_tx_open (batch->txs [index],
                                                       worker_args->chain_id, false, &reason);
                zmsg_t *reply = zmsg_new ();
                zmsg_addmem (reply, &batch, sizeof (batch));
                zmsg_send (&reply, pipe);
            }
        }
        zstr_free (&command);
        zmsg_destroy (&message);
        if (terminate)
            break;
    }
    free (worker_args);
}

//  --- Dispatching -------------------------------------------------------------

//  Takes out of batch every tx the known function knows (verified by a
//  proposal while it waited here) and hands it to done unopened; keeps the
//  order of the others. The mempool decides a known tx by hash AND
//  signature, so nothing is trusted on the strength of this test alone.
static void
s_skip_known (cc_checker_t *self, s_batch_t *batch)
{
    if (!self->known)
        return;
    size_t kept = 0;
    for (size_t index = 0; index < batch->count; index++) {
        cc_tx_t *tx = batch->txs [index];
        batch->txs [index] = NULL;
        if (self->known (self->argument, tx)) {
            self->skipped++;
            self->pending--;
            self->done (self->argument, &tx, 0);
            cc_tx_destroy (&tx);
        }
        else
            batch->txs [kept++] = tx;
    }
    batch->count = kept;
}

//  Hands queued batches to workers with room, least busy first.
static void
s_dispatch (cc_checker_t *self)
{
    while (zlistx_size (self->queue) > 0) {
        size_t best = 0;
        for (size_t index = 1; index < self->threads; index++)
            if (self->in_flight [index] < self->in_flight [best])
                best = index;
        if (self->in_flight [best] >= CC_CHECKER_IN_FLIGHT)
            return;
        s_batch_t *batch = (s_batch_t *) zlistx_first (self->queue);
        zlistx_delete (self->queue, zlistx_cursor (self->queue));
        //  Last moment before the worker: a proposal may have verified
        //  some of these txs while the batch waited.
        s_skip_known (self, batch);
        if (batch->count == 0) {
            s_batch_destroy (&batch);
            continue;
        }
        batch->worker = best;
        batch->handle = zlistx_add_end (self->outstanding, batch);
        zmsg_t *message = zmsg_new ();
        zmsg_addstr (message, "CHECK");
        zmsg_addmem (message, &batch, sizeof (batch));
        if (!batch->handle || zmsg_send (&message, self->workers [best]) != 0) {
            //  Cannot reach the worker (out of memory, shutting down):
            //  the txs are dropped, as a full backlog would drop them.
            zmsg_destroy (&message);
            if (batch->handle)
                zlistx_delete (self->outstanding, batch->handle);
            self->pending -= batch->count;
            s_batch_destroy (&batch);
            continue;
        }
        self->in_flight [best]++;
    }
}

//  A worker handed a batch back: report each tx, then refill the workers.
static int
s_worker_reply (zloop_t *loop, zsock_t *pipe, void *argument)
{
    cc_checker_t *self = (cc_checker_t *) argument;
    zmsg_t *message = zmsg_recv (pipe);
    if (!message)
        return 0;
    zframe_t *frame = zmsg_first (message);
    s_batch_t *batch = NULL;
    if (frame && zframe_size (frame) == sizeof (batch))
        memcpy (&batch, zframe_data (frame), sizeof (batch));
    zmsg_destroy (&message);
    if (!batch)
        return 0;
    zlistx_delete (self->outstanding, batch->handle);
    self->in_flight [batch->worker]--;
    self->pending -= batch->count;
    for (size_t index = 0; index < batch->count; index++) {
        self->checked++;
        if (batch->codes [index] != 0)
            self->failed++;
        self->done (self->argument, &batch->txs [index], batch->codes [index]);
        cc_tx_destroy (&batch->txs [index]);
    }
    batch->count = 0;
    s_batch_destroy (&batch);
    s_dispatch (self);
    return 0;
}

//  --- Life cycle --------------------------------------------------------------

cc_checker_t *
cc_checker_new (zloop_t *loop, const char *chain_id, size_t threads, size_t max_pending,
                cc_checker_done_fn *done, void *argument)
{
    if (!loop || !chain_id || strlen (chain_id) > CC_CHAIN_ID_MAX || threads == 0
        || max_pending == 0 || !done)
        return NULL;
    cc_checker_t *self = (cc_checker_t *) calloc (1, sizeof (cc_checker_t));
    if (!self)
        return NULL;
    self->loop = loop;
    strcpy (self->chain_id, chain_id);
    self->max_pending = max_pending;
    self->done = done;
    self->argument = argument;
    self->workers = (zactor_t **) calloc (threads, sizeof (zactor_t *));
    self->in_flight = (size_t *) calloc (threads, sizeof (size_t));
    self->queue = zlistx_new ();
    self->outstanding = zlistx_new ();
    if (!self->workers || !self->in_flight || !self->queue || !self->outstanding) {
        cc_checker_destroy (&self);
        return NULL;
    }
    for (size_t index = 0; index < threads; index++) {
        s_worker_args_t *args = (s_worker_args_t *) calloc (1, sizeof (s_worker_args_t));
        if (!args) {
            cc_checker_destroy (&self);
            return NULL;
        }
        strcpy (args->chain_id, chain_id);
        self->workers [index] = zactor_new (s_worker, args);
        if (!self->workers [index]) {
            free (args);
            cc_checker_destroy (&self);
            return NULL;
        }
        self->threads = index + 1;
        if (zloop_reader (loop, (zsock_t *) zactor_sock (self->workers [index]),
                          s_worker_reply, self) != 0) {
            cc_checker_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
cc_checker_destroy (cc_checker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cc_checker_t *self = *self_p;
    for (size_t index = 0; index < self->threads; index++) {
        zloop_reader_end (self->loop, (zsock_t *) zactor_sock (self->workers [index]));
        //  Waits for the worker thread to end: after this no batch is in use.
        zactor_destroy (&self->workers [index]);
    }
    if (self->outstanding)
        for (s_batch_t *batch = (s_batch_t *) zlistx_first (self->outstanding); batch;
             batch = (s_batch_t *) zlistx_next (self->outstanding))
            s_batch_destroy (&batch);
    if (self->queue)
        for (s_batch_t *batch = (s_batch_t *) zlistx_first (self->queue); batch;
             batch = (s_batch_t *) zlistx_next (self->queue))
            s_batch_destroy (&batch);
    s_batch_destroy (&self->filling);
    zlistx_destroy (&self->outstanding);
    zlistx_destroy (&self->queue);
    free (self->workers);
    free (self->in_flight);
    free (self);
    *self_p = NULL;
}

void
cc_checker_set_known (cc_checker_t *self, cc_checker_known_fn *known)
{
    assert (self);
    self->known = known;
}

//  --- Submitting --------------------------------------------------------------

int
cc_checker_submit (cc_checker_t *self, cc_tx_t **tx_p)
{
    assert (self && tx_p && *tx_p);
    if (self->pending >= self->max_pending)
        return CC_E_BUSY;
    if (!self->filling) {
        self->filling = (s_batch_t *) calloc (1, sizeof (s_batch_t));
        if (!self->filling)
            return CC_E_NOMEM;
    }
    self->filling->txs [self->filling->count++] = *tx_p;
    *tx_p = NULL;
    self->pending++;
    if (self->filling->count == CC_CHECKER_BATCH)
        cc_checker_flush (self);
    return 0;
}

void
cc_checker_flush (cc_checker_t *self)
{
    assert (self);
    if (self->filling && self->filling->count > 0) {
        if (!zlistx_add_end (self->queue, self->filling)) {
            self->pending -= self->filling->count;
            s_batch_destroy (&self->filling);
        }
        self->filling = NULL;
    }
    s_dispatch (self);
}

size_t
cc_checker_pending (cc_checker_t *self)
{
    assert (self);
    return self->pending;
}

uint64_t
cc_checker_checked (cc_checker_t *self)
{
    assert (self);
    return self->checked;
}

uint64_t
cc_checker_skipped (cc_checker_t *self)
{
    assert (self);
    return self->skipped;
}

uint64_t
cc_checker_failed (cc_checker_t *self)
{
    assert (self);
    return self->failed;
}
