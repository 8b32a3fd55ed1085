/*  =========================================================================
    sync - catching up a chain from the relay, and taking blocks off "blk"

    The catch-up keeps one GetBlocks request in flight and a queue of
    fetched blocks behind it, so the relay serves the next batch while the
    blocks of the last one are verified and committed:

      event                    action
      behind, nothing in       send GetBlocks{next, batch}, where next is the
      flight, not backed off,  height after the last block queued (tip + 1
      queue under its bytes    when none is), so the next request leaves as
      cap                      soon as a reply is queued
      Blocks reply (ours)      queue the blocks from next on (copies) for the
                               opener; empty: judge blocks kept aside; one
                               that brought nothing: back off if behind
      Error or other reply     back off
      timeout (tick)           remember the id as abandoned, ask again
      reply to an abandoned    queue what extends next (nothing else)
      id
      a queued block ready     (cc_sync_work, one block per call) verify and
                               commit it; a discard or a block that does not
                               decode empties the queue and backs off
      reply of another id      not ours (false)

    The opener's workers decode the queued blocks and open their
    transactions (signatures) ahead of cc_sync_work, which only executes
    and commits, on the caller's thread: one block per call, so a service
    that calls it from its event loop when cc_sync_fd is readable keeps
    answering queries while it catches up.

    want = max (target, lowest kept-aside height - 1) and "backed off"
    means now < retry_ms (set timeout_ms ahead after an error, an empty or
    discarded batch, so a relay that keeps serving a bad block is not asked
    in a tight loop). A reply that does not start at or below next (the
    queue was emptied since it was asked) is not contiguous and is dropped.

    Blocks kept aside (from "blk", beyond tip + 1) never raise the target:
    they are unverified, and a rogue block claiming a far height must not
    make a validator believe it is behind forever. Instead they make sync
    fetch from the next height, and an empty reply (the relay has nothing
    from there on; a reply that is merely short may be the relay's size
    cap) proves that the relay does not hold a block kept aside at or past
    that height before that request was sent, since the relay stores every
    block before publishing it; such a block is discarded as WRONG_HEIGHT.

    DESIGN: a block at or below the tip that differs from the stored one
    is named by the most telling check that still applies to a past height
    (chain id, proposer membership and schedule in V(h), its commit against
    V(h)), and only a block that passes them all is a true CONFLICT: a
    second block with a quorum commit at the same height, which means more
    than a third of V(h) signed twice.
    =========================================================================
*/

#include "sync.h"

#include "opener.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Abandoned request ids whose late replies are still recognised.
#define S_ABANDONED 8

//  A request given up on: its id and the height it asked from.
typedef struct {
    uint64_t id;                //  0 = free slot
    uint64_t from;              //  GetBlocks from_height
} s_abandoned_t;

//  A block from "blk" kept aside until the blocks before it arrive.
typedef struct {
    cc_block_t *block;          //  decoded block (owned)
    uint64_t serial;            //  requests sent before it arrived
} s_kept_t;

struct _cc_sync_t {
    cc_chain_t *chain;                  //  the chain caught up (borrowed)
    cc_rpc_client_t *relay;             //  DEALER to the relay (borrowed)
    cc_sync_opts_t opts;                //  options with defaults filled in
    cc_sync_block_fn *on_block;         //  told of each block processed, may be NULL
    void *argument;                     //  passed to on_block
    uint64_t target;                    //  highest height the network is known to have
    cc_opener_t *opener;                //  queued blocks, opened by its workers (owned)
    uint64_t queue_end;                 //  height after the last block queued
    uint64_t request_id;                //  GetBlocks in flight, 0 = none
    uint64_t request_from;              //  the height it asked from
    uint64_t request_serial;            //  requests sent so far, the one in flight included
    uint64_t sent_ms;                   //  when the request in flight was sent
    uint64_t retry_ms;                  //  no new request before this time
    s_abandoned_t abandoned [S_ABANDONED];  //  requests given up on
    size_t abandoned_next;              //  ring position for the next one
    s_kept_t kept [CC_SYNC_MAX_PENDING];    //  blocks kept aside, by height
    size_t kept_count;                  //  entries in use
};

//  --- Helpers -------------------------------------------------------------------

//  Tells on_block, if any.
static void
s_report (cc_sync_t *self, cc_block_t *block, int verdict, const cc_reason_t *reason)
{
    if (self->on_block)
        self->on_block (self->argument, block, verdict, reason);
}

//  First 8 bytes of a hash in hex, for messages.
static void
s_short_hex (const uint8_t *hash, char *text)
{
    cc_hex_encode (hash, 8, text);
}

//  The height sync wants to reach: the target, or just below the lowest
//  block kept aside.
static uint64_t
s_want (cc_sync_t *self)
{
    uint64_t want = self->target;
    if (self->kept_count > 0) {
        uint64_t below = cc_block_height (self->kept [0].block) - 1;
        if (below > want)
            want = below;
    }
    return want;
}

//  The caller's now_ms moved on by the time spent since started (a
//  monotonic reading): verifying a batch may take seconds, and a request
//  sent after it must not look that old already. Works whatever clock the
//  caller's now_ms comes from.
static uint64_t
s_later (uint64_t now_ms, int64_t started)
{
    int64_t spent = zclock_mono () - started;
    return spent > 0 ? now_ms + (uint64_t) spent : now_ms;
}

//  The height the next request asks from: after the last block queued,
//  or after the tip when the queue is empty (or behind the tip, blocks from
//  "blk" having overtaken it).
static uint64_t
s_next_height (cc_sync_t *self)
{
    uint64_t after_tip = cc_chain_height (self->chain) + 1;
    if (cc_opener_count (self->opener) > 0 && self->queue_end > after_tip)
        return self->queue_end;
    return after_tip;
}

//  Sends GetBlocks from the next height when behind, nothing is in
//  flight, the queue is under its cap and the back-off is over.
static void
s_request (cc_sync_t *self, uint64_t now_ms)
{
    if (self->request_id != 0 || now_ms < self->retry_ms)
        return;
    uint64_t from = s_next_height (self);
    if (from > s_want (self) || cc_opener_bytes (self->opener) >= self->opts.queue_bytes)
        return;
    Certchain__GetBlocks get_blocks = CERTCHAIN__GET_BLOCKS__INIT;
    get_blocks.from_height = from;
    get_blocks.max_count = self->opts.batch;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCKS;
    request.get_blocks = &get_blocks;
    uint64_t id = cc_rpc_client_send (self->relay, &request);
    if (id == 0) {
        //  The socket refused (e.g. at its high-water mark): try later.
        self->retry_ms = now_ms + self->opts.timeout_ms;
        return;
    }
    self->request_id = id;
    self->request_from = from;
    self->request_serial++;
    self->sent_ms = now_ms;
}

//  Remembers the request in flight as abandoned, so its late reply is
//  still recognised.
static void
s_abandon (cc_sync_t *self)
{
    self->abandoned [self->abandoned_next] = (s_abandoned_t) {self->request_id,
                                                              self->request_from};
    self->abandoned_next = (self->abandoned_next + 1) % S_ABANDONED;
    self->request_id = 0;
}

//  True (and forgets it) if id was abandoned; *from gets what it asked.
static bool
s_was_abandoned (cc_sync_t *self, uint64_t id, uint64_t *from)
{
    for (size_t index = 0; index < S_ABANDONED; index++)
        if (self->abandoned [index].id == id) {
            *from = self->abandoned [index].from;
            self->abandoned [index].id = 0;
            return true;
        }
    return false;
}

//  --- Applying blocks ----------------------------------------------------------

//  Verifies block as the next one (opening its transactions on threads
//  workers, 1 = inline: all opened already) and commits it; reports the
//  outcome.
static int
s_commit (cc_sync_t *self, cc_block_t *block, size_t threads, cc_reason_t *reason)
{
    cc_block_verify_opts_t opts = {
        .require_commit = true,
        .threads = threads,
        .trust_signatures = self->opts.trust_signatures,
        .signature_checked = self->opts.signature_checked,
        .signature_argument = self->opts.signature_argument,
    };
    cc_exec_t *exec = NULL;
    cc_reason_clear (reason);
    int rc = cc_chain_verify (self->chain, block, &opts, &exec, reason);
    if (rc == 0)
        rc = cc_chain_commit (self->chain, block, &exec, reason);
    cc_exec_destroy (&exec);
    s_report (self, block, rc, reason);
    return rc;
}

//  The verdict on a block at a height already committed with another
//  hash: the first check that still applies to a past height, else
//  CONFLICT.
static int
s_judge_conflict (cc_sync_t *self, cc_block_t *block, const uint8_t *stored_hash,
                  cc_reason_t *reason)
{
    uint64_t height = cc_block_height (block);
    cc_state_t *state = cc_chain_state (self->chain);
    const char *chain_id = cc_genesis_chain_id (cc_chain_genesis (self->chain));
    if (strcmp (cc_block_chain_id (block), chain_id) != 0)
        return cc_reason_set (reason, CC_E_WRONG_CHAIN, "block %llu is for chain '%s'",
                              (unsigned long long) height, cc_block_chain_id (block));
    cc_valset_t *valset = cc_state_valset (state, height);
    if (!valset)
        return cc_reason_set (reason, CC_E_NOMEM, "no validator set for height %llu",
                              (unsigned long long) height);
    char proposer [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (cc_block_proposer (block), CC_PUBKEY_SIZE, proposer);
    int rc = 0;
    if (!cc_valset_contains (valset, cc_block_proposer (block)))
        rc = cc_reason_set (reason, CC_E_UNAUTHORIZED_PROPOSER,
                            "proposer %s of block %llu is not in V(%llu)", proposer,
                            (unsigned long long) height, (unsigned long long) height);
    else
    if (memcmp (cc_valset_proposer (valset, height, cc_block_round (block)),
                cc_block_proposer (block), CC_PUBKEY_SIZE) != 0)
        rc = cc_reason_set (reason, CC_E_NOT_SCHEDULED,
                            "proposer %s is not scheduled for height %llu round %u",
                            proposer, (unsigned long long) height, cc_block_round (block));
    else {
        rc = cc_commit_verify (cc_block_commit (block), chain_id, height, cc_block_hash (block),
                               valset, NULL, NULL, reason);
        if (rc == 0) {
            char offered [17], stored [17];
            s_short_hex (cc_block_hash (block), offered);
            s_short_hex (stored_hash, stored);
            rc = cc_reason_set (reason, CC_E_CONFLICT,
                                "block %llu %s.. conflicts with the committed block %s.. "
                                "(both carry a quorum commit)",
                                (unsigned long long) height, offered, stored);
        }
    }
    cc_valset_destroy (&valset);
    return rc;
}

//  A block at or below the tip: 0 if it is the stored one, else its
//  verdict (reported).
static int
s_check_old (cc_sync_t *self, cc_block_t *block, cc_reason_t *reason)
{
    uint64_t height = cc_block_height (block);
    cc_reason_clear (reason);
    if (height == cc_chain_height (self->chain)) {
        if (memcmp (cc_block_hash (block), cc_chain_tip_hash (self->chain), CC_HASH_SIZE) == 0)
            return 0;
        int rc = s_judge_conflict (self, block, cc_chain_tip_hash (self->chain), reason);
        s_report (self, block, rc, reason);
        return rc;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_chain_block (self->chain, height, &data, &size);
    if (rc != 0)
        return cc_reason_set (reason, rc, "cannot read committed block %llu",
                              (unsigned long long) height);
    cc_block_t *stored = cc_block_decode (data, size, reason);
    free (data);
    if (!stored)
        return cc_reason_set (reason, CC_E_STORE, "committed block %llu does not decode",
                              (unsigned long long) height);
    if (memcmp (cc_block_hash (block), cc_block_hash (stored), CC_HASH_SIZE) != 0) {
        rc = s_judge_conflict (self, block, cc_block_hash (stored), reason);
        s_report (self, block, rc, reason);
    }
    cc_block_destroy (&stored);
    return rc;
}

//  Whether the block in data is one the chain holds (same height, same
//  hash): nothing to do for it, as s_check_old would find.
static bool
s_holds (cc_sync_t *self, const uint8_t *data, size_t size)
{
    uint64_t height = 0;
    uint8_t hash [CC_HASH_SIZE];
    if (cc_block_peek (data, size, &height, hash) != 0
        || height == 0 || height > cc_chain_height (self->chain))
        return false;
    if (height == cc_chain_height (self->chain))
        return memcmp (hash, cc_chain_tip_hash (self->chain), CC_HASH_SIZE) == 0;
    uint64_t stored = 0;
    return cc_chain_block_by_hash (self->chain, hash, &stored, NULL, NULL) == 0
           && stored == height;
}

//  Applies one block wherever it stands: at or below the tip it is
//  checked against the stored block, otherwise verified (its transactions
//  opened on threads workers) and committed.
static int
s_apply (cc_sync_t *self, cc_block_t *block, size_t threads, cc_reason_t *reason)
{
    uint64_t height = cc_block_height (block);
    if (height > 0 && height <= cc_chain_height (self->chain))
        return s_check_old (self, block, reason);
    return s_commit (self, block, threads, reason);
}

//  Keeps block aside (taken), sorted by height; when full, the farthest
//  block goes.
static void
s_keep (cc_sync_t *self, cc_block_t **block_p)
{
    cc_block_t *block = *block_p;
    *block_p = NULL;
    uint64_t height = cc_block_height (block);
    for (size_t index = 0; index < self->kept_count; index++)
        if (memcmp (cc_block_hash (self->kept [index].block), cc_block_hash (block),
                    CC_HASH_SIZE) == 0) {
            cc_block_destroy (&block);
            return;
        }
    if (self->kept_count == CC_SYNC_MAX_PENDING) {
        s_kept_t *last = &self->kept [self->kept_count - 1];
        if (height >= cc_block_height (last->block)) {
            cc_block_destroy (&block);
            return;
        }
        cc_block_destroy (&last->block);
        self->kept_count--;
    }
    size_t at = self->kept_count;
    while (at > 0 && cc_block_height (self->kept [at - 1].block) > height)
        at--;
    memmove (&self->kept [at + 1], &self->kept [at],
             (self->kept_count - at) * sizeof (s_kept_t));
    self->kept [at].block = block;
    self->kept [at].serial = self->request_serial;
    self->kept_count++;
}

//  Removes the kept block at index and returns it (caller owns it).
static cc_block_t *
s_take (cc_sync_t *self, size_t index)
{
    cc_block_t *block = self->kept [index].block;
    memmove (&self->kept [index], &self->kept [index + 1],
             (self->kept_count - index - 1) * sizeof (s_kept_t));
    self->kept_count--;
    return block;
}

//  Applies the kept blocks that now reach the tip, in order.
static void
s_apply_kept (cc_sync_t *self)
{
    while (self->kept_count > 0
       &&  cc_block_height (self->kept [0].block) <= cc_chain_height (self->chain) + 1) {
        cc_block_t *block = s_take (self, 0);
        cc_reason_t reason;
        s_apply (self, block, self->opts.threads, &reason);
        cc_block_destroy (&block);
    }
}

//  After an empty reply to request number serial, which asked from from:
//  the relay holds nothing at or past from, so every block kept aside
//  before that request was sent, at or past from and beyond tip + 1, is
//  not part of the relay's chain.
static void
s_judge_kept (cc_sync_t *self, uint64_t serial, uint64_t from)
{
    uint64_t tip = cc_chain_height (self->chain);
    size_t index = 0;
    while (index < self->kept_count) {
        uint64_t height = cc_block_height (self->kept [index].block);
        if (self->kept [index].serial >= serial || height <= tip + 1 || height < from) {
            index++;
            continue;
        }
        cc_block_t *block = s_take (self, index);
        cc_reason_t reason;
        cc_reason_set (&reason, CC_E_WRONG_HEIGHT,
                       "block %llu is beyond the relay's chain (relay answered up to %llu)",
                       (unsigned long long) cc_block_height (block),
                       (unsigned long long) from - 1);
        s_report (self, block, reason.code, &reason);
        cc_block_destroy (&block);
    }
}

//  Queues the blocks of a Blocks reply to a request from from that extend
//  the queue (those below the next height are there already). Returns how
//  many were queued; 0 for a reply that does not reach the next height.
static size_t
s_queue_reply (cc_sync_t *self, const Certchain__Blocks *blocks, uint64_t from)
{
    uint64_t next = s_next_height (self);
    if (from > next || next - from >= blocks->n_blocks)
        return 0;
    size_t queued = 0;
    for (size_t index = (size_t) (next - from); index < blocks->n_blocks; index++) {
        if (cc_opener_push (self->opener, blocks->blocks [index].data,
                            blocks->blocks [index].len) != 0)
            break;      //  out of memory: the rest is asked again later
        queued++;
    }
    if (queued > 0)
        self->queue_end = next + queued;
    return queued;
}

//  Empties the queue and backs off: a queued block was refused, so the
//  ones after it cannot extend the chain.
static void
s_drop_queue (cc_sync_t *self, uint64_t now_ms)
{
    cc_opener_clear (self->opener);
    self->retry_ms = now_ms + self->opts.timeout_ms;
}

//  --- Life cycle -----------------------------------------------------------------

cc_sync_t *
cc_sync_new (cc_chain_t *chain, cc_rpc_client_t *relay, const cc_sync_opts_t *opts,
             cc_sync_block_fn *on_block, void *argument)
{
    assert (chain);
    assert (relay);
    cc_sync_t *self = (cc_sync_t *) calloc (1, sizeof (cc_sync_t));
    if (!self)
        return NULL;
    self->chain = chain;
    self->relay = relay;
    if (opts)
        self->opts = *opts;
    if (self->opts.batch == 0)
        self->opts.batch = CC_SYNC_DEFAULT_BATCH;
    if (self->opts.timeout_ms == 0)
        self->opts.timeout_ms = CC_SYNC_DEFAULT_TIMEOUT_MS;
    if (self->opts.threads == 0)
        self->opts.threads = CC_SYNC_DEFAULT_THREADS;
    if (self->opts.queue_bytes == 0)
        self->opts.queue_bytes = CC_SYNC_QUEUE_BYTES;
    self->on_block = on_block;
    self->argument = argument;
    self->opener = cc_opener_new (cc_genesis_chain_id (cc_chain_genesis (chain)),
                                  self->opts.threads, !self->opts.trust_signatures);
    if (!self->opener)
        cc_sync_destroy (&self);
    return self;
}

void
cc_sync_destroy (cc_sync_t **self_p)
{
    assert (self_p);
    cc_sync_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->kept_count; index++)
        cc_block_destroy (&self->kept [index].block);
    cc_opener_destroy (&self->opener);
    free (self);
    *self_p = NULL;
}

//  --- Catching up ----------------------------------------------------------------

void
cc_sync_target (cc_sync_t *self, uint64_t height, uint64_t now_ms)
{
    assert (self);
    if (height > self->target)
        self->target = height;
    s_request (self, now_ms);
}

bool
cc_sync_on_reply (cc_sync_t *self, Certchain__Reply *reply, uint64_t now_ms)
{
    assert (self);
    if (!reply || reply->id == 0)
        return false;
    bool blocks = reply->kind_case == CERTCHAIN__REPLY__KIND_BLOCKS && reply->blocks;
    if (reply->id != self->request_id) {
        uint64_t from = 0;
        if (!s_was_abandoned (self, reply->id, &from))
            return false;
        //  A late answer: its blocks are as good as any, queue what extends
        //  the queue, and leave the request in flight alone.
        if (blocks)
            s_queue_reply (self, reply->blocks, from);
        s_request (self, now_ms);
        return true;
    }
    uint64_t serial = self->request_serial;
    uint64_t from = self->request_from;
    self->request_id = 0;
    if (blocks) {
        size_t queued = s_queue_reply (self, reply->blocks, from);
        //  A short reply may only be the relay's size cap: ask on at once.
        //  An empty one says the relay has nothing from there on; one that
        //  brought nothing new is no reason to ask again at once either.
        if (queued == 0) {
            if (reply->blocks->n_blocks == 0)
                s_judge_kept (self, serial, from);
            if (s_next_height (self) <= s_want (self))
                self->retry_ms = now_ms + self->opts.timeout_ms;
        }
    }
    else {
        //  An Error (or a reply of the wrong kind): the relay may not have
        //  the blocks yet; NOT_FOUND says it has nothing from there on.
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error
        &&  -reply->error->code == CC_E_NOT_FOUND)
            s_judge_kept (self, serial, from);
        self->retry_ms = now_ms + self->opts.timeout_ms;
    }
    s_request (self, now_ms);
    return true;
}

int
cc_sync_fd (cc_sync_t *self)
{
    assert (self);
    return cc_opener_fd (self->opener);
}

bool
cc_sync_work (cc_sync_t *self, uint64_t now_ms)
{
    assert (self);
    cc_opener_acknowledge (self->opener);
    int64_t started = zclock_mono ();
    cc_reason_t reason;
    bool next_ready = false;
    cc_block_t *block = cc_opener_take (self->opener, &reason, &next_ready);
    if (!block && reason.code == 0)
        return false;           //  none ready: the descriptor says when
    int rc = 0;
    if (block) {
        //  Its transactions are open: verification runs inline.
        rc = s_apply (self, block, 1, &reason);
        cc_block_destroy (&block);
    }
    else
        rc = reason.code ? reason.code : CC_E_MALFORMED;
    if (rc == 0)
        s_apply_kept (self);
    else
        s_drop_queue (self, now_ms);
    //  One block per call: come back on the next turn for the next one
    //  (after a discard the queue is empty).
    if (rc == 0 && next_ready)
        cc_opener_rearm (self->opener);
    s_request (self, s_later (now_ms, started));
    return true;
}

void
cc_sync_tick (cc_sync_t *self, uint64_t now_ms)
{
    assert (self);
    if (self->request_id != 0) {
        if (now_ms - self->sent_ms < self->opts.timeout_ms)
            return;
        s_abandon (self);
    }
    s_request (self, now_ms);
}

bool
cc_sync_behind (cc_sync_t *self)
{
    assert (self);
    return cc_chain_height (self->chain) < self->target;
}

uint64_t
cc_sync_target_height (cc_sync_t *self)
{
    assert (self);
    return self->target;
}

//  --- Blocks from the "blk" topic ------------------------------------------------

int
cc_sync_offer (cc_sync_t *self, const uint8_t *data, size_t size, uint64_t now_ms,
               cc_reason_t *reason)
{
    assert (self);
    cc_reason_t local;
    if (!reason)
        reason = &local;
    cc_reason_clear (reason);
    //  A member hears each block it committed again on "blk": known by its
    //  hash, it is not decoded at all.
    if (s_holds (self, data, size))
        return 0;
    cc_block_t *block = cc_block_decode (data, size, reason);
    if (!block)
        return reason->code ? reason->code : CC_E_MALFORMED;
    uint64_t height = cc_block_height (block);
    uint64_t tip = cc_chain_height (self->chain);
    if (height > tip + 1) {
        s_keep (self, &block);
        s_request (self, now_ms);
        return 0;
    }
    int64_t started = zclock_mono ();
    int rc = s_apply (self, block, self->opts.threads, reason);
    cc_block_destroy (&block);
    if (rc == 0)
        s_apply_kept (self);
    s_request (self, s_later (now_ms, started));
    return rc;
}
