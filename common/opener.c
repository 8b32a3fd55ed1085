/*  =========================================================================
    opener - blocks decoded and their transactions opened on worker
    threads, ahead of the thread that applies them

    See opener.h. The queue is a list of entries, oldest first, under one
    mutex. A job is either "decode entry E" or "open transactions [a, b) of
    entry E"; whoever looks for work (a worker, or the owner waiting in
    cc_opener_pop) takes the first job of the oldest entry that has one,
    runs it without the lock and reports back under the lock. An entry is
    ready when it failed to decode or all its transactions were opened;
    no job touches it after that, so the owner may take it.

    Decoding runs ahead of the owner only while fewer than
    CC_OPENER_AHEAD_TXS transactions wait decoded, so a long queue of
    large blocks is held as bytes, not as decoded objects.

    Clearing moves the entries aside and frees them once no job is in
    progress, since a job in progress still points at its entry.
    =========================================================================
*/

#include "opener.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tx.h"

typedef struct _s_entry_t {
    struct _s_entry_t *next;    //  next younger entry
    uint8_t *data;              //  the block's bytes until decoded (owned)
    size_t size;                //  their size
    cc_block_t *block;          //  decoded block (owned), NULL before or on failure
    cc_reason_t reason;         //  why it did not decode
    bool decoding;              //  a decode job was handed out
    bool decoded;               //  the decode job finished
    size_t tx_count;            //  transactions of the decoded block
    size_t next_tx;             //  first transaction not handed out yet
    size_t opened;              //  transactions opened
    bool ready;                 //  nothing left to do: the owner may take it
    bool cleared;               //  dropped by cc_opener_clear, freed once idle
} s_entry_t;

typedef struct {
    s_entry_t *entry;           //  the entry worked on
    bool decode;                //  decode it, else open [begin, end)
    size_t begin;               //  first transaction
    size_t end;                 //  one past the last
} s_job_t;

struct _cc_opener_t {
    char *chain_id;             //  the chain transactions must be for (owned)
    bool check_signatures;      //  false: opened as signature-checked
    pthread_mutex_t mutex;      //  guards everything below
    pthread_cond_t work;        //  workers wait here for a job
    pthread_cond_t progress;    //  the owner waits here for a ready entry or idleness
    pthread_t *threads;         //  worker ids (owned)
    size_t thread_count;        //  workers started
    s_entry_t *head;            //  oldest entry
    s_entry_t *tail;            //  youngest entry
    size_t count;               //  entries queued
    size_t bytes;               //  their serialized size
    size_t busy;                //  jobs in progress
    size_t decoded_txs;         //  transactions of the decoded entries queued
    bool stopping;              //  workers leave
    int fd;                     //  eventfd: readable when an entry got ready
};

//  --- Jobs (the mutex held where said) ------------------------------------------

static void
s_entry_destroy (s_entry_t **entry_p)
{
    s_entry_t *entry = *entry_p;
    if (!entry)
        return;
    free (entry->data);
    cc_block_destroy (&entry->block);
    free (entry);
    *entry_p = NULL;
}

//  Mutex held: the first job of the oldest entry that has one.
static bool
s_take_job (cc_opener_t *self, s_job_t *job)
{
    for (s_entry_t *entry = self->head; entry; entry = entry->next) {
        if (!entry->decoding
        &&  (entry == self->head || self->decoded_txs < CC_OPENER_AHEAD_TXS)) {
            entry->decoding = true;
            *job = (s_job_t) {entry, true, 0, 0};
            self->busy++;
            return true;
        }
        if (entry->decoded && entry->next_tx < entry->tx_count) {
            size_t begin = entry->next_tx;
            size_t end = begin + CC_OPENER_CHUNK < entry->tx_count ? begin + CC_OPENER_CHUNK
                                                                   : entry->tx_count;
            entry->next_tx = end;
            *job = (s_job_t) {entry, false, begin, end};
            self->busy++;
            return true;
        }
    }
    return false;
}

//  Mutex held: entry has nothing left to do; tell the owner.
static void
s_mark_ready (cc_opener_t *self, s_entry_t *entry)
{
    entry->ready = true;
    if (self->fd >= 0) {
        uint64_t one = 1;
        //  Fails only when the counter is full, which still reads as ready.
        ssize_t written = write (self->fd, &one, sizeof (one));
        (void) written;
    }
}

//  Runs a job without the mutex, then reports it with the mutex taken;
//  returns with the mutex held.
static void
s_run_job (cc_opener_t *self, s_job_t *job)
{
    s_entry_t *entry = job->entry;
    pthread_mutex_unlock (&self->mutex);
    if (job->decode) {
        cc_reason_t reason;
        cc_reason_clear (&reason);
        cc_block_t *block = cc_block_decode (entry->data, entry->size, &reason);
        //  Nobody else touches the bytes once the decode job is handed out.
        free (entry->data);
        entry->data = NULL;
        pthread_mutex_lock (&self->mutex);
        entry->block = block;
        entry->reason = reason;
        entry->tx_count = block ? cc_block_tx_count (block) : 0;
        entry->decoded = true;
        if (!entry->cleared)
            self->decoded_txs += entry->tx_count;
        if (entry->tx_count == 0)
            s_mark_ready (self, entry);
    }
    else {
        for (size_t index = job->begin; index < job->end; index++)
            cc_tx_open (cc_block_tx (entry->block, index), self->chain_id,
                        !self->check_signatures, NULL);
        pthread_mutex_lock (&self->mutex);
        entry->opened += job->end - job->begin;
        if (entry->opened == entry->tx_count)
            s_mark_ready (self, entry);
    }
    self->busy--;
    pthread_cond_broadcast (&self->progress);
    //  A decoded block brings chunks for the others.
    if (job->decode)
        pthread_cond_broadcast (&self->work);
}

static void *
s_worker (void *argument)
{
    cc_opener_t *self = (cc_opener_t *) argument;
    pthread_mutex_lock (&self->mutex);
    while (!self->stopping) {
        s_job_t job;
        if (s_take_job (self, &job))
            s_run_job (self, &job);
        else
            pthread_cond_wait (&self->work, &self->mutex);
    }
    pthread_mutex_unlock (&self->mutex);
    return NULL;
}

//  --- Life cycle ------------------------------------------------------------------

cc_opener_t *
cc_opener_new (const char *chain_id, size_t threads, bool check_signatures)
{
    assert (chain_id);
    cc_opener_t *self = (cc_opener_t *) calloc (1, sizeof (cc_opener_t));
    if (!self)
        return NULL;
    self->fd = -1;
    self->check_signatures = check_signatures;
    self->chain_id = strdup (chain_id);
    self->threads = (pthread_t *) calloc (threads ? threads : 1, sizeof (pthread_t));
    if (!self->chain_id || !self->threads) {
        free (self->chain_id);
        free (self->threads);
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->work, NULL);
    pthread_cond_init (&self->progress, NULL);
    if (threads > 0) {
        self->fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (self->fd < 0) {
            cc_opener_destroy (&self);
            return NULL;
        }
    }
    for (size_t index = 0; index < threads; index++) {
        if (pthread_create (&self->threads [index], NULL, s_worker, self) != 0)
            break;
        self->thread_count++;
    }
    if (threads > 0 && self->thread_count == 0)
        cc_opener_destroy (&self);
    return self;
}

void
cc_opener_destroy (cc_opener_t **self_p)
{
    assert (self_p);
    cc_opener_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&self->mutex);
    self->stopping = true;
    pthread_cond_broadcast (&self->work);
    pthread_mutex_unlock (&self->mutex);
    for (size_t index = 0; index < self->thread_count; index++)
        pthread_join (self->threads [index], NULL);
    //  Every worker is gone: no job is in progress.
    while (self->head) {
        s_entry_t *entry = self->head;
        self->head = entry->next;
        s_entry_destroy (&entry);
    }
    if (self->fd >= 0)
        close (self->fd);
    pthread_cond_destroy (&self->progress);
    pthread_cond_destroy (&self->work);
    pthread_mutex_destroy (&self->mutex);
    free (self->threads);
    free (self->chain_id);
    free (self);
    *self_p = NULL;
}

//  --- The queue ---------------------------------------------------------------------

int
cc_opener_push (cc_opener_t *self, const uint8_t *data, size_t size)
{
    assert (self);
    s_entry_t *entry = (s_entry_t *) calloc (1, sizeof (s_entry_t));
    if (!entry)
        return CC_E_NOMEM;
    entry->data = (uint8_t *) malloc (size ? size : 1);
    if (!entry->data) {
        free (entry);
        return CC_E_NOMEM;
    }
    if (size)
        memcpy (entry->data, data, size);
    entry->size = size;
    pthread_mutex_lock (&self->mutex);
    if (self->tail)
        self->tail->next = entry;
    else
        self->head = entry;
    self->tail = entry;
    self->count++;
    self->bytes += size;
    pthread_cond_signal (&self->work);
    pthread_mutex_unlock (&self->mutex);
    return 0;
}

bool
cc_opener_ready (cc_opener_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    bool ready = self->head && self->head->ready;
    pthread_mutex_unlock (&self->mutex);
    return ready;
}

//  Mutex held, head ready: unlinks it, releases the mutex and returns its
//  block (NULL with its reason when it did not decode).
static cc_block_t *
s_unlink_head (cc_opener_t *self, cc_reason_t *reason)
{
    s_entry_t *entry = self->head;
    self->head = entry->next;
    if (!self->head)
        self->tail = NULL;
    self->count--;
    self->bytes -= entry->size;
    self->decoded_txs -= entry->tx_count;
    //  Room to decode ahead again.
    pthread_cond_broadcast (&self->work);
    pthread_mutex_unlock (&self->mutex);
    cc_block_t *block = entry->block;
    entry->block = NULL;
    if (!block && reason)
        *reason = entry->reason;
    s_entry_destroy (&entry);
    return block;
}

cc_block_t *
cc_opener_pop (cc_opener_t *self, cc_reason_t *reason)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    s_entry_t *entry = self->head;
    if (!entry) {
        pthread_mutex_unlock (&self->mutex);
        cc_reason_set (reason, CC_E_INVALID_ARG, "no block queued");
        return NULL;
    }
    //  Help rather than wait: the owner's thread is one more worker.
    while (!entry->ready) {
        s_job_t job;
        if (s_take_job (self, &job))
            s_run_job (self, &job);
        else
            pthread_cond_wait (&self->progress, &self->mutex);
    }
    return s_unlink_head (self, reason);
}

cc_block_t *
cc_opener_take (cc_opener_t *self, cc_reason_t *reason, bool *next_ready)
{
    assert (self);
    cc_reason_clear (reason);
    pthread_mutex_lock (&self->mutex);
    if (!self->head || !self->head->ready) {
        pthread_mutex_unlock (&self->mutex);
        if (next_ready)
            *next_ready = false;
        return NULL;
    }
    if (next_ready)
        *next_ready = self->head->next && self->head->next->ready;
    return s_unlink_head (self, reason);
}

void
cc_opener_clear (cc_opener_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    s_entry_t *aside = self->head;
    for (s_entry_t *entry = aside; entry; entry = entry->next)
        entry->cleared = true;
    self->head = self->tail = NULL;
    self->count = 0;
    self->bytes = 0;
    self->decoded_txs = 0;
    while (self->busy > 0)
        pthread_cond_wait (&self->progress, &self->mutex);
    pthread_mutex_unlock (&self->mutex);
    while (aside) {
        s_entry_t *entry = aside;
        aside = entry->next;
        s_entry_destroy (&entry);
    }
}

//  One counter read under the lock (the workers change them).
static size_t
s_read_locked (cc_opener_t *self, const size_t *counter)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    size_t value = *counter;
    pthread_mutex_unlock (&self->mutex);
    return value;
}

size_t
cc_opener_count (cc_opener_t *self)
{
    return s_read_locked (self, &self->count);
}

size_t
cc_opener_bytes (cc_opener_t *self)
{
    return s_read_locked (self, &self->bytes);
}

size_t
cc_opener_decoded (cc_opener_t *self)
{
    return s_read_locked (self, &self->decoded_txs);
}

//  --- Signal ------------------------------------------------------------------------

int
cc_opener_fd (cc_opener_t *self)
{
    assert (self);
    return self->fd;
}

void
cc_opener_acknowledge (cc_opener_t *self)
{
    assert (self);
    if (self->fd < 0)
        return;
    uint64_t value;
    ssize_t got = read (self->fd, &value, sizeof (value));
    (void) got;         //  EAGAIN: nothing was signalled
}

void
cc_opener_rearm (cc_opener_t *self)
{
    assert (self);
    if (self->fd < 0)
        return;
    uint64_t one = 1;
    ssize_t written = write (self->fd, &one, sizeof (one));
    (void) written;
}
