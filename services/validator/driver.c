/*  =========================================================================
    driver - runs the consensus state machine on the validator's event loop

    See driver.h for what each output becomes. This file keeps the
    machine's outputs in order: s_drain takes them one by one; inputs the
    driver feeds while draining (a validity answer, the start of the next
    height) only queue more outputs, which the same drain then takes.
    =========================================================================
*/

#include "driver.h"

#include "sigcache.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

//  Last-signed record on disk: version, height, round, step, has_hash,
//  hash, locked round, locked hash (big-endian numbers).
#define S_RECORD_VERSION 1
#define S_RECORD_SIZE (1 + 8 + 4 + 1 + 1 + CC_HASH_SIZE + 4 + CC_HASH_SIZE)

//  Our signed messages of the last signed height: prefix, height, seq.
#define S_OWN_PREFIX "consensus/own/"
#define S_OWN_PREFIX_SIZE (sizeof (S_OWN_PREFIX) - 1)
#define S_OWN_KEY_SIZE (S_OWN_PREFIX_SIZE + 8 + 4)

//  A consensus timeout waiting on the loop.
typedef struct {
    int id;                             //  zloop timer id
    cc_consensus_timeout_kind_t kind;   //  which timeout
    uint64_t height;                    //  for this height
    uint32_t round;                     //  and round
} s_timer_t;

//  A block this node built or validated, with its finished execution.
typedef struct {
    uint8_t hash [CC_HASH_SIZE];        //  block hash (the value id)
    cc_block_t *block;                  //  the block, without commit
    cc_exec_t *exec;                    //  its finished exec on the tip
} s_kept_t;

struct _cc_driver_t {
    cc_chain_t *chain;                  //  committed chain (borrowed)
    cc_mempool_t *mempool;              //  pooled txs (borrowed)
    cc_keypair_t *key;                  //  our key (borrowed)
    zloop_t *loop;                      //  event loop (borrowed)
    cc_log_t *log;                      //  borrowed
    cc_metrics_t *metrics;              //  borrowed
    size_t threads;                     //  signature threads for VALIDATE
    cc_driver_publish_fn *publish;      //  BROADCAST sink
    cc_driver_committed_fn *committed;  //  told after each own commit
    cc_driver_fatal_fn *fatal;          //  told when signing must stop
    cc_driver_evidence_fn *on_evidence; //  told of each EVIDENCE output
    void *argument;                     //  for the callbacks
    int family;                         //  store index of the service family
    uint32_t timeout_commit_ms;         //  pause between heights
    size_t max_block_txs;               //  genesis block limits, for reaping
    size_t max_block_bytes;
    cc_consensus_t *consensus;          //  the state machine
    s_timer_t *timers;                  //  consensus timeouts waiting
    size_t timer_count;                 //  used entries of timers
    size_t timer_capacity;              //  allocated entries
    int commit_timer;                   //  zloop id of the pause, -1 none
    uint64_t commit_height;             //  height the pause will start
    s_kept_t kept [CC_DRIVER_KEPT_EXECS];   //  finished execs, oldest first
    size_t kept_count;                  //  used entries of kept
    Certchain__Commit *last_commit;     //  commit of last_commit_height
    uint64_t last_commit_height;        //  0: none loaded
    bool hold;                          //  consensus may not run now
    bool failed;                        //  signing stopped (store failure)
    bool draining;                      //  inside s_drain
    bool has_pending;                   //  pending_record not yet written
    cc_consensus_signed_t pending_record;   //  last PERSIST not yet written
    bool in_set;                        //  member of V(consensus height)
    bool told_waiting;                  //  "not in the set" already logged
    size_t validators;                  //  size of V(consensus height)
    uint64_t evidence;                  //  EVIDENCE outputs seen
    uint64_t own_height;                //  height of our messages on disk
    uint32_t own_seq;                   //  next sequence number at own_height
    zlistx_t *restored;                 //  our messages of restored_height
                                        //  read back at start (zchunk_t)
    uint64_t restored_height;           //  their height
    uint64_t last_resend;               //  last resend stamp used
    uint64_t seen_height;               //  progress marks: what the machine
    uint32_t seen_round;                //  looked like when last checked,
    cc_consensus_step_t seen_step;      //  and when it last changed
    uint64_t seen_ms;
};

static void s_drain (cc_driver_t *self);
static void s_ensure_running (cc_driver_t *self);

//  --- Last-signed record ------------------------------------------------------

static void
s_record_encode (const cc_consensus_signed_t *record, uint8_t *out)
{
    uint8_t *cursor = out;
    *cursor++ = S_RECORD_VERSION;
    cc_be64_put (cursor, record->height);
    cursor += 8;
    cc_be32_put (cursor, record->round);
    cursor += 4;
    *cursor++ = (uint8_t) record->step;
    *cursor++ = record->has_hash ? 1 : 0;
    memcpy (cursor, record->hash, CC_HASH_SIZE);
    cursor += CC_HASH_SIZE;
    cc_be32_put (cursor, (uint32_t) record->locked_round);
    cursor += 4;
    memcpy (cursor, record->locked_hash, CC_HASH_SIZE);
}

static int
s_record_decode (const uint8_t *data, size_t size, cc_consensus_signed_t *record,
                 cc_reason_t *reason)
{
    if (size != S_RECORD_SIZE || data [0] != S_RECORD_VERSION)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "last-signed record: %zu bytes, version %u; expected %d bytes, "
                              "version %d", size, size ? data [0] : 0, S_RECORD_SIZE,
                              S_RECORD_VERSION);
    memset (record, 0, sizeof (*record));
    const uint8_t *cursor = data + 1;
    record->height = cc_be64_get (cursor);
    cursor += 8;
    record->round = cc_be32_get (cursor);
    cursor += 4;
    uint8_t step = *cursor++;
    uint8_t has_hash = *cursor++;
    memcpy (record->hash, cursor, CC_HASH_SIZE);
    cursor += CC_HASH_SIZE;
    record->locked_round = (int32_t) cc_be32_get (cursor);
    cursor += 4;
    memcpy (record->locked_hash, cursor, CC_HASH_SIZE);
    if (step < CC_CONSENSUS_STEP_PROPOSE || step > CC_CONSENSUS_STEP_PRECOMMIT || has_hash > 1
        || record->locked_round < -1 || record->height == 0)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "last-signed record: step %u, has_hash %u, locked round %" PRId32
                              ", height %" PRIu64 " out of range", step, has_hash,
                              record->locked_round, record->height);
    record->step = (cc_consensus_step_t) step;
    record->has_hash = has_hash == 1;
    return 0;
}

static void
s_own_key (uint64_t height, uint32_t seq, uint8_t *key)
{
    memcpy (key, S_OWN_PREFIX, S_OWN_PREFIX_SIZE);
    cc_be64_put (key + S_OWN_PREFIX_SIZE, height);
    cc_be32_put (key + S_OWN_PREFIX_SIZE + 8, seq);
}

//  Writes the pending record, synced, with message (may be NULL): the one
//  it was signed for, kept so that a restart can send it again (a node
//  that restarted cannot sign another vote in that step, and without its
//  earlier one the others might never count 2f+1 of the step). Messages
//  of older heights are deleted in the same batch. False when it could
//  not be written (signing is then stopped for good).
static bool
s_flush_persist (cc_driver_t *self, const uint8_t *message, size_t size)
{
    if (!self->has_pending)
        return !self->failed;
    self->has_pending = false;
    if (self->failed)
        return false;
    uint8_t value [S_RECORD_SIZE];
    s_record_encode (&self->pending_record, value);
    cc_store_t *store = cc_chain_store (self->chain);
    cc_batch_t *batch = cc_store_batch (store);
    int rc = CC_E_NOMEM;
    if (batch) {
        cc_batch_put (batch, self->family, CC_DRIVER_LAST_SIGNED_KEY,
                      strlen (CC_DRIVER_LAST_SIGNED_KEY), value, sizeof (value));
        uint8_t key [S_OWN_KEY_SIZE];
        uint64_t height = self->pending_record.height;
        if (message && height != self->own_height) {
            for (uint32_t seq = 0; seq < self->own_seq; seq++) {
                s_own_key (self->own_height, seq, key);
                cc_batch_delete (batch, self->family, key, sizeof (key));
            }
            self->own_height = height;
            self->own_seq = 0;
        }
        if (message) {
            s_own_key (height, self->own_seq++, key);
            cc_batch_put (batch, self->family, key, sizeof (key), message, size);
        }
        rc = cc_store_commit (store, &batch, true);
        cc_batch_destroy (&batch);
    }
    if (rc != 0) {
        self->failed = true;
        cc_metrics_add (self->metrics, "error.persist", 1);
        cc_log_error (self->log, "cannot persist the last-signed step (%s): signing stopped",
                      cc_error_message (rc));
        if (self->fatal)
            self->fatal (self->argument, "cannot persist the last-signed step");
        return false;
    }
    return true;
}

//  --- Publishing ---------------------------------------------------------------------

//  Publishes a consensus message; a re-send gets the resend field (a
//  fresh stamp appended as field 1, varint) so that its bytes differ from
//  every earlier send and a relay's dedupe of repeated payloads lets it
//  through. Receivers recognise the signed content as a duplicate anyway.
static void
s_publish (cc_driver_t *self, const uint8_t *data, size_t size, bool resend)
{
    if (!resend) {
        self->publish (self->argument, data, size);
        return;
    }
    uint64_t stamp = (uint64_t) zclock_time ();
    if (stamp <= self->last_resend)
        stamp = self->last_resend + 1;
    self->last_resend = stamp;
    uint8_t *copy = (uint8_t *) malloc (size + 11);
    if (!copy)
        return;
    memcpy (copy, data, size);
    size_t length = size;
    copy [length++] = 0x08;             //  field 1, varint
    do {
        uint8_t byte = stamp & 0x7F;
        stamp >>= 7;
        copy [length++] = stamp ? (uint8_t) (byte | 0x80) : byte;
    } while (stamp);
    self->publish (self->argument, copy, length);
    free (copy);
    cc_metrics_add (self->metrics, "consensus.resent", 1);
}

//  Our messages read back at start, sent again while their height runs.
static void
s_republish_restored (cc_driver_t *self)
{
    if (!self->restored || self->restored_height != cc_consensus_height (self->consensus))
        return;
    for (zchunk_t *chunk = (zchunk_t *) zlistx_first (self->restored); chunk;
         chunk = (zchunk_t *) zlistx_next (self->restored))
        s_publish (self, zchunk_data (chunk), zchunk_size (chunk), true);
}

//  cc_consensus_rebroadcast, drained, plus our restored messages.
static void
s_rebroadcast (cc_driver_t *self)
{
    cc_consensus_rebroadcast (self->consensus);
    s_drain (self);
    s_republish_restored (self);
}

//  --- Kept executions ---------------------------------------------------------------

static void
s_kept_clear (cc_driver_t *self)
{
    for (size_t index = 0; index < self->kept_count; index++) {
        cc_block_destroy (&self->kept [index].block);
        cc_exec_destroy (&self->kept [index].exec);
    }
    self->kept_count = 0;
}

//  Keeps block and exec (taking both); the oldest goes when full.
static void
s_kept_add (cc_driver_t *self, cc_block_t **block_p, cc_exec_t **exec_p)
{
    for (size_t index = 0; index < self->kept_count; index++)
        if (memcmp (self->kept [index].hash, cc_block_hash (*block_p), CC_HASH_SIZE) == 0) {
            cc_block_destroy (block_p);
            cc_exec_destroy (exec_p);
            return;
        }
    if (self->kept_count == CC_DRIVER_KEPT_EXECS) {
        cc_block_destroy (&self->kept [0].block);
        cc_exec_destroy (&self->kept [0].exec);
        memmove (&self->kept [0], &self->kept [1], (CC_DRIVER_KEPT_EXECS - 1) * sizeof (s_kept_t));
        self->kept_count--;
    }
    s_kept_t *kept = &self->kept [self->kept_count++];
    memcpy (kept->hash, cc_block_hash (*block_p), CC_HASH_SIZE);
    kept->block = *block_p;
    kept->exec = *exec_p;
    *block_p = NULL;
    *exec_p = NULL;
}

//  Takes the kept entry for hash out (block and exec to the caller) and
//  drops all others. False if none matches.
static bool
s_kept_take (cc_driver_t *self, const uint8_t *hash, cc_block_t **block_p, cc_exec_t **exec_p)
{
    bool found = false;
    for (size_t index = 0; index < self->kept_count; index++)
        if (!found && memcmp (self->kept [index].hash, hash, CC_HASH_SIZE) == 0) {
            *block_p = self->kept [index].block;
            *exec_p = self->kept [index].exec;
            self->kept [index].block = NULL;
            self->kept [index].exec = NULL;
            found = true;
        }
    s_kept_clear (self);
    return found;
}

//  --- Last commit -------------------------------------------------------------------

//  Makes a copy of commit the last commit, for height.
static void
s_last_commit_set (cc_driver_t *self, const Certchain__Commit *commit, uint64_t height)
{
    cc_commit_destroy (&self->last_commit);
    self->last_commit_height = 0;
    if (!commit)
        return;
    uint8_t *data = NULL;
    size_t size = 0;
    int code = 0;
    if (cc_codec_pack (&commit->base, CC_MAX_MESSAGE_SIZE, &data, &size) == 0)
        self->last_commit = (Certchain__Commit *) cc_codec_unpack (
            &certchain__commit__descriptor, data, size, CC_MAX_MESSAGE_SIZE, &code);
    free (data);
    if (self->last_commit)
        self->last_commit_height = height;
}

//  The commit of the tip block (read from the chain when not at hand), or
//  NULL at genesis or when it cannot be read.
static const Certchain__Commit *
s_last_commit (cc_driver_t *self)
{
    uint64_t tip = cc_chain_height (self->chain);
    if (tip == 0)
        return NULL;
    if (self->last_commit && self->last_commit_height == tip)
        return self->last_commit;
    uint8_t *data = NULL;
    size_t size = 0;
    cc_block_t *block = NULL;
    if (cc_chain_block (self->chain, tip, &data, &size) == 0)
        block = cc_block_decode (data, size, NULL);
    free (data);
    s_last_commit_set (self, block ? cc_block_commit (block) : NULL, tip);
    cc_block_destroy (&block);
    return self->last_commit;
}

//  --- Timers ------------------------------------------------------------------------

static void
s_timer_remove_at (cc_driver_t *self, size_t index)
{
    self->timers [index] = self->timers [--self->timer_count];
}

//  Ends the consensus timeouts of heights below height (all: UINT64_MAX).
static void
s_timers_cancel_below (cc_driver_t *self, uint64_t height)
{
    for (size_t index = 0; index < self->timer_count;)
        if (self->timers [index].height < height) {
            zloop_timer_end (self->loop, self->timers [index].id);
            s_timer_remove_at (self, index);
        }
        else
            index++;
}

static void
s_commit_timer_cancel (cc_driver_t *self)
{
    if (self->commit_timer >= 0)
        zloop_timer_end (self->loop, self->commit_timer);
    self->commit_timer = -1;
}

static void
s_note_progress (cc_driver_t *self)
{
    uint64_t height = cc_consensus_height (self->consensus);
    uint32_t round = cc_consensus_round (self->consensus);
    cc_consensus_step_t step = cc_consensus_step (self->consensus);
    if (height != self->seen_height || round != self->seen_round || step != self->seen_step) {
        if (height == self->seen_height && round > self->seen_round)
            cc_log_info (self->log, "height %" PRIu64 ": round %" PRIu32 " (no decision in "
                         "round %" PRIu32 ")", height, round, self->seen_round);
        self->seen_height = height;
        self->seen_round = round;
        self->seen_step = step;
        self->seen_ms = (uint64_t) zclock_mono ();
    }
}

static int
s_on_timeout (zloop_t *loop, int timer_id, void *argument)
{
    cc_driver_t *self = (cc_driver_t *) argument;
    size_t index = 0;
    while (index < self->timer_count && self->timers [index].id != timer_id)
        index++;
    if (index == self->timer_count)
        return 0;               //  cancelled at a height change
    s_timer_t timer = self->timers [index];
    s_timer_remove_at (self, index);
    int rc = cc_consensus_timeout (self->consensus, timer.kind, timer.height, timer.round);
    if (rc == CC_E_DOUBLE_SIGN)
        cc_metrics_add (self->metrics, "consensus.refused_sign", 1);
    s_drain (self);
    if (timer.height == cc_consensus_height (self->consensus) && !self->hold)
        s_rebroadcast (self);
    s_note_progress (self);
    return 0;
}

static void
s_schedule (cc_driver_t *self, const cc_consensus_output_t *output)
{
    if (self->timer_count == self->timer_capacity) {
        size_t capacity = self->timer_capacity ? 2 * self->timer_capacity : 8;
        s_timer_t *timers = (s_timer_t *) realloc (self->timers, capacity * sizeof (s_timer_t));
        if (!timers) {
            cc_log_error (self->log, "out of memory scheduling a consensus timeout");
            return;
        }
        self->timers = timers;
        self->timer_capacity = capacity;
    }
    int id = zloop_timer (self->loop, output->duration_ms, 1, s_on_timeout, self);
    if (id < 0) {
        cc_log_error (self->log, "cannot schedule a consensus timeout");
        return;
    }
    s_timer_t *timer = &self->timers [self->timer_count++];
    timer->id = id;
    timer->kind = output->timeout;
    timer->height = output->height;
    timer->round = output->round;
}

static int
s_on_commit_timer (zloop_t *loop, int timer_id, void *argument)
{
    cc_driver_t *self = (cc_driver_t *) argument;
    if (timer_id != self->commit_timer)
        return 0;
    self->commit_timer = -1;
    s_ensure_running (self);
    return 0;
}

//  --- Heights ---------------------------------------------------------------------

//  Starts consensus at height with V(height).
static void
s_start_height (cc_driver_t *self, uint64_t height)
{
    cc_state_t *state = cc_chain_state (self->chain);
    cc_valset_t *valset = cc_state_valset (state, height);
    if (!valset) {
        cc_log_error (self->log, "no validator set for height %" PRIu64, height);
        return;
    }
    bool in_set = cc_valset_contains (valset, cc_keypair_public (self->key));
    if (!in_set && (!self->told_waiting || self->in_set)) {
        cc_log_info (self->log, "not in the validator set at height %" PRIu64 ": waiting",
                     height);
        self->told_waiting = true;
    }
    else
    if (in_set && !self->in_set && self->told_waiting)
        cc_log_info (self->log, "in the validator set from height %" PRIu64, height);
    self->in_set = in_set;
    self->validators = cc_valset_size (valset);
    //  Execs kept for the old tip are useless now; and the builder may
    //  keep a new one while the height starts.
    s_kept_clear (self);
    s_timers_cancel_below (self, height);
    int rc = cc_consensus_start_height (self->consensus, height, valset);
    cc_valset_destroy (&valset);
    if (rc == CC_E_DOUBLE_SIGN)
        cc_metrics_add (self->metrics, "consensus.refused_sign", 1);
    else
    if (rc != 0)
        cc_log_error (self->log, "cannot start height %" PRIu64 ": %s", height,
                      cc_error_message (rc));
    if (self->restored && self->restored_height == height) {
        //  Resuming the height we signed in before a restart: the machine
        //  learns its own earlier messages back, and the others get them
        //  again (see s_flush_persist).
        for (zchunk_t *chunk = (zchunk_t *) zlistx_first (self->restored); chunk;
             chunk = (zchunk_t *) zlistx_next (self->restored))
            cc_consensus_receive (self->consensus, zchunk_data (chunk), zchunk_size (chunk));
        cc_log_info (self->log, "resumed height %" PRIu64 " with %zu messages signed before "
                     "the restart", height, zlistx_size (self->restored));
        s_drain (self);
        s_republish_restored (self);
    }
    else
        zlistx_destroy (&self->restored);
    cc_log_debug (self->log, "height %" PRIu64 " started (%zu validators%s)", height,
                  self->validators, in_set ? ", member" : "");
    s_drain (self);
    s_note_progress (self);
}

//  Makes consensus run at tip + 1, unless held or pausing before it.
static void
s_ensure_running (cc_driver_t *self)
{
    if (self->hold || self->failed)
        return;
    uint64_t tip = cc_chain_height (self->chain);
    if (cc_consensus_height (self->consensus) > tip)
        return;
    if (self->commit_timer >= 0) {
        if (self->commit_height == tip + 1)
            return;
        s_commit_timer_cancel (self);
    }
    s_start_height (self, tip + 1);
}

//  --- Proposing ----------------------------------------------------------------------

typedef struct {
    uint8_t *hashes;            //  rejected tx hashes, 32 bytes each
    size_t count;               //  how many
    size_t capacity;            //  room for
} s_rejects_t;

static void
s_on_reject (void *argument, cc_tx_t *tx, size_t index, int code, const cc_reason_t *reason)
{
    s_rejects_t *rejects = (s_rejects_t *) argument;
    if (rejects->count == rejects->capacity) {
        size_t capacity = rejects->capacity ? 2 * rejects->capacity : 16;
        uint8_t *hashes = (uint8_t *) realloc (rejects->hashes, capacity * CC_HASH_SIZE);
        if (!hashes)
            return;
        rejects->hashes = hashes;
        rejects->capacity = capacity;
    }
    memcpy (rejects->hashes + rejects->count++ * CC_HASH_SIZE, cc_tx_hash (tx), CC_HASH_SIZE);
}

//  cc_consensus_build_fn: packs a block from the mempool on the tip.
static int
s_build (void *argument, uint64_t height, uint32_t round, uint8_t **bytes_p, size_t *size_p,
         uint8_t *hash_out)
{
    cc_driver_t *self = (cc_driver_t *) argument;
    if (height != cc_chain_height (self->chain) + 1)
        return CC_E_WRONG_HEIGHT;
    cc_tx_t **candidates = (cc_tx_t **) malloc (self->max_block_txs * sizeof (cc_tx_t *));
    if (!candidates)
        return CC_E_NOMEM;
    size_t count = cc_mempool_reap (self->mempool, self->max_block_txs, self->max_block_bytes,
                                    candidates);
    uint64_t now = (uint64_t) zclock_time ();
    uint64_t parent_time = cc_chain_tip_time (self->chain);
    s_rejects_t rejects = {NULL, 0, 0};
    cc_block_build_args_t args = {
        .state = cc_chain_state (self->chain),
        .proposer = self->key,
        .height = height,
        .round = round,
        .time_ms = now > parent_time ? now : parent_time,
        .parent_hash = cc_chain_tip_hash (self->chain),
        .last_commit = s_last_commit (self),
        .candidates = candidates,
        .count = count,
        .on_reject = s_on_reject,
        .reject_argument = &rejects,
    };
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_exec_t *exec = NULL;
    cc_block_t *block = cc_block_build (&args, &exec, &reason);
    free (candidates);
    //  The candidates were the pool's own: remove rejects only now.
    for (size_t index = 0; index < rejects.count; index++)
        cc_mempool_remove (self->mempool, rejects.hashes + index * CC_HASH_SIZE);
    if (rejects.count)
        cc_metrics_add (self->metrics, "mempool.rejected_in_block", rejects.count);
    free (rejects.hashes);
    if (!block) {
        cc_log_warn (self->log, "cannot build block %" PRIu64 " round %" PRIu32 ": %s", height,
                     round, cc_reason_text (&reason));
        cc_exec_destroy (&exec);
        return reason.code ? reason.code : CC_E_INTERNAL;
    }
    int rc = cc_block_encode (block, false, bytes_p, size_p);
    if (rc != 0) {
        cc_block_destroy (&block);
        cc_exec_destroy (&exec);
        return rc;
    }
    memcpy (hash_out, cc_block_hash (block), CC_HASH_SIZE);
    cc_log_debug (self->log, "proposing block %" PRIu64 " round %" PRIu32 " with %zu txs",
                  height, round, cc_block_tx_count (block));
    cc_metrics_add (self->metrics, "blocks.proposed", 1);
    s_kept_add (self, &block, &exec);
    return 0;
}

//  --- Validating and deciding ---------------------------------------------------------

//  VALIDATE: true when the block is valid on the tip (its exec kept).
static bool
s_validate (cc_driver_t *self, const cc_consensus_output_t *output)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_block_t *block = cc_block_decode (output->data, output->size, &reason);
    int rc = block ? 0 : reason.code;
    if (block && memcmp (cc_block_hash (block), output->hash, CC_HASH_SIZE) != 0)
        rc = cc_reason_set (&reason, CC_E_MALFORMED, "block hash differs from the proposal's");
    cc_exec_t *exec = NULL;
    if (rc == 0) {
        cc_sigcache_t cache;
        cc_sigcache_init (&cache, self->mempool, block);
        cc_block_verify_opts_t opts = {
            .require_commit = false,
            .threads = self->threads,
            .signature_checked = cc_sigcache_checked,
            .signature_argument = &cache,
        };
        rc = cc_chain_verify (self->chain, block, &opts, &exec, &reason);
        //  Signatures the cache did not know were verified by this call
        //  (or the block failed on one of them).
        if (cache.misses > 0)
            cc_metrics_add (self->metrics, "sig.verified", cache.misses);
        //  Every tx of a valid block has a verified signature: remember
        //  each (hash, signature), so a copy still waiting in the checker
        //  or arriving later is not verified again.
        if (rc == 0)
            cc_sigcache_remember_block (self->mempool, block);
    }
    if (rc != 0) {
        char name [64];
        snprintf (name, sizeof (name), "proposal.invalid.%s", cc_error_name (rc));
        cc_metrics_add (self->metrics, name, 1);
        cc_log_warn (self->log, "proposal for height %" PRIu64 " round %" PRIu32 " is invalid: %s",
                     output->height, output->round, cc_reason_text (&reason));
        cc_block_destroy (&block);
        cc_exec_destroy (&exec);
        return false;
    }
    s_kept_add (self, &block, &exec);
    return true;
}

//  Waits timeout_commit_ms, then starts height (or at once for 0).
static void
s_pause_before (cc_driver_t *self, uint64_t height)
{
    s_commit_timer_cancel (self);
    if (self->timeout_commit_ms == 0) {
        s_ensure_running (self);
        return;
    }
    self->commit_height = height;
    self->commit_timer = zloop_timer (self->loop, self->timeout_commit_ms, 1, s_on_commit_timer,
                                      self);
    if (self->commit_timer < 0)
        s_ensure_running (self);
}

//  DECIDE: commits the block with its commit, then pauses before the next.
static void
s_decide (cc_driver_t *self, const cc_consensus_output_t *output)
{
    uint64_t height = output->height;
    uint64_t tip = cc_chain_height (self->chain);
    if (height <= tip) {
        //  common/sync committed it first (from "blk" or the relay).
        s_kept_clear (self);
        s_ensure_running (self);
        return;
    }
    if (height != tip + 1) {
        cc_log_error (self->log, "decided height %" PRIu64 " but the tip is %" PRIu64, height,
                      tip);
        return;
    }
    cc_block_t *block = NULL;
    cc_exec_t *exec = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (!s_kept_take (self, output->hash, &block, &exec))
        block = cc_block_decode (output->data, output->size, &reason);
    int code = 0;
    Certchain__Commit *commit = (Certchain__Commit *) cc_codec_unpack (
        &certchain__commit__descriptor, output->commit, output->commit_size,
        CC_MAX_MESSAGE_SIZE, &code);
    int rc = !block ? reason.code
           : !commit ? cc_reason_set (&reason, code, "decided commit does not decode")
           : cc_block_set_commit (block, commit);
    if (rc == 0)
        rc = cc_chain_commit (self->chain, block, &exec, &reason);
    cc_exec_destroy (&exec);
    if (rc != 0) {
        //  The network decided it; the block will come back through
        //  common/sync ("blk" or GetBlocks) and move us on.
        cc_metrics_add (self->metrics, "error.commit", 1);
        cc_log_error (self->log, "cannot commit decided block %" PRIu64 ": %s", height,
                      cc_reason_text (&reason));
        cc_block_destroy (&block);
        cc_commit_destroy (&commit);
        return;
    }
    s_last_commit_set (self, commit, height);
    cc_commit_destroy (&commit);
    cc_metrics_add (self->metrics, "blocks.committed", 1);
    cc_log_debug (self->log, "committed block %" PRIu64 " round %" PRIu32 " (%zu txs)", height,
                  output->round, cc_block_tx_count (block));
    if (self->committed)
        self->committed (self->argument, block, self->in_set);
    cc_block_destroy (&block);
    s_pause_before (self, height + 1);
}

static void
s_evidence (cc_driver_t *self, const cc_consensus_output_t *output)
{
    self->evidence++;
    cc_metrics_add (self->metrics, "consensus.evidence", 1);
    cc_log_warn (self->log, "double-signing evidence at height %" PRIu64 " (%zu bytes)",
                 cc_consensus_height (self->consensus), output->size);
    if (self->on_evidence)
        self->on_evidence (self->argument, output->data, output->size);
}

//  Takes every output of the machine, in order.
static void
s_drain (cc_driver_t *self)
{
    if (self->draining)
        return;                 //  the outer drain takes what this input queued
    self->draining = true;
    cc_consensus_output_t *output;
    while ((output = cc_consensus_next (self->consensus))) {
        switch (output->kind) {
            case CC_CONSENSUS_PERSIST:
                self->pending_record = output->last_signed;
                self->has_pending = true;
                break;
            case CC_CONSENSUS_BROADCAST: {
                //  A BROADCAST right after a PERSIST is the message just
                //  signed; any other is a re-send (rebroadcast, relay).
                bool fresh = self->has_pending;
                if (s_flush_persist (self, fresh ? output->data : NULL, output->size))
                    s_publish (self, output->data, output->size, !fresh);
                else
                    cc_metrics_add (self->metrics, "consensus.unsent", 1);
                break;
            }
            case CC_CONSENSUS_SCHEDULE:
                s_schedule (self, output);
                break;
            case CC_CONSENSUS_VALIDATE: {
                bool valid = s_validate (self, output);
                int rc = cc_consensus_validity (self->consensus, output->hash, valid);
                if (rc == CC_E_DOUBLE_SIGN)
                    cc_metrics_add (self->metrics, "consensus.refused_sign", 1);
                break;
            }
            case CC_CONSENSUS_DECIDE:
                s_decide (self, output);
                break;
            case CC_CONSENSUS_EVIDENCE:
                s_evidence (self, output);
                break;
        }
        cc_consensus_output_destroy (&output);
    }
    s_flush_persist (self, NULL, 0);
    self->draining = false;
}

//  --- Life cycle ------------------------------------------------------------------------

typedef struct {
    cc_driver_t *self;          //  driver being made
    uint64_t height;            //  height of the last-signed record, 0 none
    cc_batch_t *stale;          //  deletes of messages of other heights
} s_load_t;

//  cc_store_visit_fn: keeps our messages of the last signed height.
static bool
s_load_own (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
            void *argument)
{
    s_load_t *load = (s_load_t *) argument;
    cc_driver_t *self = load->self;
    uint64_t height = key_size == S_OWN_KEY_SIZE ? cc_be64_get (key + S_OWN_PREFIX_SIZE) : 0;
    if (height == 0 || height != load->height) {
        cc_batch_delete (load->stale, self->family, key, key_size);
        return true;
    }
    uint32_t seq = cc_be32_get (key + S_OWN_PREFIX_SIZE + 8);
    zchunk_t *chunk = zchunk_new (value, value_size);
    if (chunk && !zlistx_add_end (self->restored, chunk))
        zchunk_destroy (&chunk);
    if (seq + 1 > self->own_seq)
        self->own_seq = seq + 1;
    self->own_height = height;
    return true;
}

//  Reads back the messages we signed at the last signed height.
static int
s_restore_own (cc_driver_t *self, uint64_t height, cc_reason_t *reason)
{
    cc_store_t *store = cc_chain_store (self->chain);
    self->restored = zlistx_new ();
    s_load_t load = {self, height, cc_store_batch (store)};
    if (!self->restored || !load.stale) {
        cc_batch_destroy (&load.stale);
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    }
    zlistx_set_destructor (self->restored, (zlistx_destructor_fn *) zchunk_destroy);
    self->restored_height = height;
    int rc = cc_store_scan (store, self->family, S_OWN_PREFIX, S_OWN_PREFIX_SIZE, s_load_own,
                            &load);
    if (rc == 0 && cc_batch_count (load.stale) > 0)
        rc = cc_store_commit (store, &load.stale, true);
    cc_batch_destroy (&load.stale);
    if (rc != 0)
        return cc_reason_set (reason, rc, "cannot read our signed messages: %s",
                              cc_error_message (rc));
    if (zlistx_size (self->restored) == 0)
        zlistx_destroy (&self->restored);
    return 0;
}

cc_driver_t *
cc_driver_new (const cc_driver_config_t *config, cc_reason_t *reason)
{
    assert (config && config->chain && config->mempool && config->key && config->loop);
    assert (config->log && config->metrics && config->publish);
    cc_store_t *store = cc_chain_store (config->chain);
    int family = cc_store_family (store, CC_CHAIN_SERVICE_FAMILY);
    if (family < 0) {
        cc_reason_set (reason, CC_E_STORE, "store has no '%s' family", CC_CHAIN_SERVICE_FAMILY);
        return NULL;
    }
    cc_consensus_signed_t record;
    bool has_record = false;
    uint8_t *value = NULL;
    size_t size = 0;
    int rc = cc_store_get (store, family, CC_DRIVER_LAST_SIGNED_KEY,
                           strlen (CC_DRIVER_LAST_SIGNED_KEY), &value, &size);
    if (rc == 0) {
        rc = s_record_decode (value, size, &record, reason);
        free (value);
        if (rc != 0)
            return NULL;
        has_record = true;
    }
    else
    if (rc != CC_E_NOT_FOUND) {
        cc_reason_set (reason, rc, "cannot read the last-signed record: %s",
                       cc_error_message (rc));
        return NULL;
    }
    cc_driver_t *self = (cc_driver_t *) calloc (1, sizeof (cc_driver_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    self->chain = config->chain;
    self->mempool = config->mempool;
    self->key = config->key;
    self->loop = config->loop;
    self->log = config->log;
    self->metrics = config->metrics;
    self->threads = config->threads;
    self->publish = config->publish;
    self->committed = config->committed;
    self->fatal = config->fatal;
    self->on_evidence = config->evidence;
    self->argument = config->argument;
    self->family = family;
    self->commit_timer = -1;
    self->hold = true;
    self->seen_ms = (uint64_t) zclock_mono ();

    cc_genesis_t *genesis = cc_chain_genesis (config->chain);
    const Certchain__ConsensusParams *params = cc_genesis_params (genesis);
    cc_consensus_timeouts_t timeouts = {
        .propose_ms = params->timeout_propose_ms,
        .prevote_ms = params->timeout_prevote_ms,
        .precommit_ms = params->timeout_precommit_ms,
        .delta_ms = params->timeout_delta_ms,
    };
    self->timeout_commit_ms = params->timeout_commit_ms;
    self->max_block_txs = params->max_block_txs ? params->max_block_txs : 5000;
    self->max_block_bytes = params->max_block_bytes ? params->max_block_bytes
                                                    : CC_BLOCK_MAX_SIZE / 2;
    self->consensus = cc_consensus_new (cc_genesis_chain_id (genesis), config->key, &timeouts,
                                        has_record ? &record : NULL);
    if (!self->consensus) {
        cc_reason_set (reason, CC_E_NOMEM, "cannot create the consensus machine");
        cc_driver_destroy (&self);
        return NULL;
    }
    cc_consensus_set_builder (self->consensus, s_build, self);
    if (s_restore_own (self, has_record ? record.height : 0, reason) != 0) {
        cc_driver_destroy (&self);
        return NULL;
    }
    if (has_record)
        cc_log_info (self->log, "last signed: height %" PRIu64 " round %" PRIu32 " %s",
                     record.height, record.round, cc_consensus_step_name (record.step));
    return self;
}

void
cc_driver_destroy (cc_driver_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cc_driver_t *self = *self_p;
    s_timers_cancel_below (self, UINT64_MAX);
    s_commit_timer_cancel (self);
    free (self->timers);
    s_kept_clear (self);
    cc_commit_destroy (&self->last_commit);
    cc_consensus_destroy (&self->consensus);
    zlistx_destroy (&self->restored);
    free (self);
    *self_p = NULL;
}

//  --- Inputs ------------------------------------------------------------------------------

void
cc_driver_set_hold (cc_driver_t *self, bool hold)
{
    assert (self);
    self->hold = hold;
    if (!hold)
        s_ensure_running (self);
}

int
cc_driver_receive (cc_driver_t *self, const uint8_t *data, size_t size)
{
    assert (self);
    int rc = cc_consensus_receive (self->consensus, data, size);
    if (rc == CC_E_DOUBLE_SIGN)
        cc_metrics_add (self->metrics, "consensus.refused_sign", 1);
    else
    if (rc != 0 && rc != CC_E_STALE) {
        char name [64];
        snprintf (name, sizeof (name), "consensus.refused.%s", cc_error_name (rc));
        cc_metrics_add (self->metrics, name, 1);
    }
    s_drain (self);
    s_note_progress (self);
    return rc;
}

void
cc_driver_chain_advanced (cc_driver_t *self, cc_block_t *block)
{
    assert (self && block);
    s_kept_clear (self);
    if (cc_block_commit (block))
        s_last_commit_set (self, cc_block_commit (block), cc_block_height (block));
    //  A pause for a height now committed is over.
    if (self->commit_timer >= 0 && self->commit_height <= cc_chain_height (self->chain))
        s_commit_timer_cancel (self);
}

void
cc_driver_heartbeat (cc_driver_t *self, uint64_t now_ms)
{
    assert (self);
    s_note_progress (self);
    uint64_t mono = (uint64_t) zclock_mono ();
    if (self->hold || self->failed || cc_consensus_height (self->consensus) == 0
        || mono - self->seen_ms < CC_DRIVER_STALL_MS)
        return;
    s_rebroadcast (self);
    self->seen_ms = mono;
    cc_metrics_add (self->metrics, "consensus.stall_rebroadcasts", 1);
}

//  --- Accessors ----------------------------------------------------------------------------

void
cc_driver_status (cc_driver_t *self, cc_driver_status_t *status)
{
    assert (self && status);
    cc_consensus_status_t machine;
    cc_consensus_status (self->consensus, &machine);
    memset (status, 0, sizeof (*status));
    status->height = machine.height;
    status->round = machine.round;
    status->step = machine.step;
    status->in_set = self->in_set;
    status->validators = self->validators;
    status->network_height = machine.highest_height_seen;
    status->evidence = self->evidence;
    status->failed = self->failed;
}
