/*  =========================================================================
    pool - the CA's verification workers (see pool.h)
    =========================================================================
*/

#include "pool.h"

#include <assert.h>
#include <string.h>

//  One worker actor and what it holds.
typedef struct {
    zactor_t *actor;            //  the worker thread
    cc_pool_job_t *job;         //  job it runs (borrowed while running), or NULL
} s_worker_t;

struct _cc_pool_t {
    zloop_t *loop;              //  the CA's loop (borrowed)
    s_worker_t *workers;        //  the workers (owned array)
    size_t worker_count;        //  entries in workers
    size_t running;             //  workers holding a job
    zlistx_t *queue;            //  jobs waiting for a worker (owned)
    size_t max_queue;           //  most jobs queued
    cc_pool_done_fn *done;      //  told of finished jobs
    void *argument;             //  passed to done
};

//  --- Jobs ----------------------------------------------------------------------

cc_pool_job_t *
cc_pool_job_new (void)
{
    return (cc_pool_job_t *) calloc (1, sizeof (cc_pool_job_t));
}

void
cc_pool_job_destroy (cc_pool_job_t **job_p)
{
    if (job_p && *job_p) {
        cc_pool_job_t *job = *job_p;
        cc_codec_free ((ProtobufCMessage **) &job->record);
        cc_challenge_response_free (&job->response);
        zframe_destroy (&job->identity);
        free (job);
        *job_p = NULL;
    }
}

static void
s_job_run (cc_pool_job_t *job)
{
    cc_reason_clear (&job->reason);
    const Certchain__Challenge *challenge = job->record->challenge;
    job->rc = cc_challenge_verify (challenge, job->response, challenge->node.data,
                                   job->received_ms, &job->verdict, &job->reason);
}

//  --- Workers --------------------------------------------------------------------

//  A worker: takes job pointers from its pipe, verifies, sends them back.
static void
s_worker_actor (zsock_t *pipe, void *argument)
{
    zsock_signal (pipe, 0);
    while (true) {
        char *command = NULL;
        void *pointer = NULL;
        if (zsock_recv (pipe, "sp", &command, &pointer) != 0)
            break;
        bool terminate = !command || streq (command, "$TERM");
        if (!terminate && streq (command, "JOB") && pointer) {
            s_job_run ((cc_pool_job_t *) pointer);
            zsock_send (pipe, "p", pointer);
        }
        zstr_free (&command);
        if (terminate)
            break;
    }
}

//  Hands job to worker index.
static void
s_start (cc_pool_t *self, size_t index, cc_pool_job_t *job)
{
    s_worker_t *worker = &self->workers [index];
    worker->job = job;
    self->running++;
    zsock_send (worker->actor, "sp", "JOB", job);
}

static int
s_on_worker (zloop_t *loop, zsock_t *socket, void *argument)
{
    cc_pool_t *self = (cc_pool_t *) argument;
    void *pointer = NULL;
    if (zsock_recv (socket, "p", &pointer) != 0 || !pointer)
        return 0;
    for (size_t index = 0; index < self->worker_count; index++) {
        s_worker_t *worker = &self->workers [index];
        if (worker->job != pointer)
            continue;
        cc_pool_job_t *job = worker->job;
        worker->job = NULL;
        self->running--;
        //  Keep the worker busy before telling the loop: fairness to the queue.
        cc_pool_job_t *next = (cc_pool_job_t *) zlistx_detach (self->queue, NULL);
        if (next)
            s_start (self, index, next);
        self->done (self->argument, job);
        break;
    }
    return 0;
}

//  --- Life cycle ------------------------------------------------------------------------

cc_pool_t *
cc_pool_new (zloop_t *loop, size_t workers, size_t max_queue, cc_pool_done_fn *done,
             void *argument)
{
    assert (loop);
    assert (done);
    if (workers == 0)
        workers = 1;
    cc_pool_t *self = (cc_pool_t *) calloc (1, sizeof (cc_pool_t));
    if (!self)
        return NULL;
    self->loop = loop;
    self->done = done;
    self->argument = argument;
    self->max_queue = max_queue;
    self->queue = zlistx_new ();
    self->workers = (s_worker_t *) calloc (workers, sizeof (s_worker_t));
    if (!self->queue || !self->workers) {
        cc_pool_destroy (&self);
        return NULL;
    }
    for (size_t index = 0; index < workers; index++) {
        self->workers [index].actor = zactor_new (s_worker_actor, NULL);
        if (!self->workers [index].actor) {
            cc_pool_destroy (&self);
            return NULL;
        }
        self->worker_count++;
        zloop_reader (loop, zactor_sock (self->workers [index].actor), s_on_worker, self);
    }
    return self;
}

void
cc_pool_destroy (cc_pool_t **self_p)
{
    if (self_p && *self_p) {
        cc_pool_t *self = *self_p;
        for (size_t index = 0; index < self->worker_count; index++) {
            s_worker_t *worker = &self->workers [index];
            zloop_reader_end (self->loop, zactor_sock (worker->actor));
            //  Waits for a running verification, whose result is dropped.
            zactor_destroy (&worker->actor);
            cc_pool_job_destroy (&worker->job);
        }
        free (self->workers);
        if (self->queue) {
            cc_pool_job_t *job = NULL;
            while ((job = (cc_pool_job_t *) zlistx_detach (self->queue, NULL)))
                cc_pool_job_destroy (&job);
            zlistx_destroy (&self->queue);
        }
        free (self);
        *self_p = NULL;
    }
}

//  --- Jobs --------------------------------------------------------------------------------

bool
cc_pool_full (cc_pool_t *self)
{
    assert (self);
    return self->running >= self->worker_count && zlistx_size (self->queue) >= self->max_queue;
}

int
cc_pool_submit (cc_pool_t *self, cc_pool_job_t **job_p)
{
    assert (self);
    assert (job_p && *job_p);
    if (self->running < self->worker_count) {
        for (size_t index = 0; index < self->worker_count; index++)
            if (!self->workers [index].job) {
                s_start (self, index, *job_p);
                *job_p = NULL;
                return 0;
            }
    }
    if (zlistx_size (self->queue) >= self->max_queue)
        return CC_E_BUSY;
    zlistx_add_end (self->queue, *job_p);
    *job_p = NULL;
    return 0;
}

size_t
cc_pool_running (cc_pool_t *self)
{
    assert (self);
    return self->running;
}

size_t
cc_pool_queued (cc_pool_t *self)
{
    assert (self);
    return zlistx_size (self->queue);
}
