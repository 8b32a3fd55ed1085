/*  =========================================================================
    mempool - transactions waiting to be packed into a block

    The contract, the packing order and the complexity of each call are in
    mempool.h. This file keeps four views of the same entries in step:

    - by_hash: every pooled entry by tx hash (cc_keymap);
    - signers: one queue per signer, entries sorted by nonce (a cc_keymap
      of queues, plus a doubly linked list in arrival order for reaping);
    - heap: a min-heap of the queues by the fee of their LAST entry, the only
      entries eviction may take;
    - two rings of hashes: signatures verified here, and txs committed
      recently.

    DESIGN: the maps' hashes must be keyed (a client chooses tx bodies and
    public keys, and could otherwise fill one run of slots). So every key is
    an s_key_t carrying its bytes and its SipHash under the pool's random
    key, computed once by s_key_make, and the maps (cc_keymap: one flat
    array, a lookup is mostly one cache miss) are given both.

    Eviction is done as a trial: tails are detached one by one (updating the
    heap as their queues shrink) until the newcomer fits or the cheapest
    remaining tail is not cheaper than it; if it does not fit, the detached
    entries are put back in reverse order and the pool is as before.
    =========================================================================
*/

#include "mempool.h"

#include "keymap.h"

#include <assert.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY_SIZE 32
#define S_NOT_IN_HEAP SIZE_MAX
#define S_RING_MIN 256

_Static_assert (CC_HASH_SIZE == S_KEY_SIZE && CC_PUBKEY_SIZE == S_KEY_SIZE,
                "tx hashes and public keys share one key type");

//  --- Structures ------------------------------------------------------------------

//  A 32-byte key (tx hash or signer public key) and its keyed hash.
typedef struct {
    uint64_t hash;                  //  SipHash of bytes under the pool's key
    uint8_t bytes [S_KEY_SIZE];     //  the tx hash or public key itself
} s_key_t;

typedef struct _s_signer_t s_signer_t;

//  One pooled transaction.
typedef struct {
    cc_tx_t *tx;                    //  the transaction, owned
    s_key_t key;                    //  its hash; key of self->by_hash
    s_signer_t *signer;             //  the queue it stands in
    uint64_t nonce;                 //  cc_tx_nonce, cached
    uint64_t fee;                   //  cc_tx_fee, cached
    size_t size;                    //  cc_tx_size, cached
    uint64_t sequence;              //  arrival number; breaks fee ties
} s_entry_t;

//  The queue of one signer's pooled transactions.
struct _s_signer_t {
    s_key_t key;                    //  public key; key of self->signers
    s_entry_t **queue;              //  entries, nonce strictly ascending
    size_t count;                   //  entries in queue
    size_t capacity;                //  room in queue
    size_t heap_index;              //  place in self->heap or S_NOT_IN_HEAP
    s_signer_t *prev;               //  previous queue in arrival order
    s_signer_t *next;               //  next queue in arrival order
};

//  One remembered hash.
typedef struct {
    s_key_t key;                    //  tx hash
    uint8_t signature [CC_SIGNATURE_SIZE];  //  the signature seen with it
    bool used;                      //  slot holds a key
} s_slot_t;

//  A bounded set of hashes; the oldest is forgotten first.
typedef struct {
    s_slot_t *slots;                //  capacity slots
    size_t capacity;                //  number of slots
    size_t next;                    //  slot to overwrite next
    cc_keymap_t *index;             //  tx hash -> s_slot_t
} s_ring_t;

//  Where a signer's run stands while reaping.
typedef struct {
    s_signer_t *signer;             //  the queue
    size_t position;                //  next entry to take
} s_cursor_t;

struct _cc_mempool_t {
    char *chain_id;                 //  chain whose transactions are admitted
    size_t max_txs;                 //  cap on pooled transactions
    size_t max_bytes;               //  cap on pooled envelope bytes
    uint64_t max_gap;               //  farthest nonce beyond the committed one
    cc_mempool_nonce_fn *nonce_fn;  //  committed nonce of a signer, or NULL
    void *argument;                 //  for nonce_fn
    uint8_t hash_key [crypto_shorthash_KEYBYTES];   //  random SipHash key
    cc_keymap_t *by_hash;           //  tx hash -> s_entry_t, all entries
    cc_keymap_t *signers;           //  public key -> s_signer_t, non-empty queues
    s_signer_t *first;              //  oldest queue (arrival order)
    s_signer_t *last;               //  newest queue
    s_signer_t **heap;              //  min-heap of queues by tail fee
    size_t heap_count;              //  queues in heap
    size_t heap_capacity;           //  room in heap, >= number of queues
    size_t bytes;                   //  sum of pooled entry sizes
    uint64_t sequence;              //  arrival counter
    s_ring_t checked;               //  hashes whose signature was verified
    s_ring_t recent;                //  hashes committed recently
    s_entry_t **victims;            //  scratch: entries detached by eviction
    size_t victims_capacity;        //  room in victims
    s_cursor_t *cursors;            //  scratch: reap cursors
    size_t cursors_capacity;        //  room in cursors
    cc_mempool_stats_t stats;       //  counters
};

//  --- Keys --------------------------------------------------------------------------

static void
s_key_make (cc_mempool_t *self, const uint8_t *bytes, s_key_t *key)
{
    key->hash = cc_short_hash (self->hash_key, bytes, S_KEY_SIZE);
    memcpy (key->bytes, bytes, S_KEY_SIZE);
}

//  The maps, by s_key_t (which must outlive its entry in the map).
static int
s_map_insert (cc_keymap_t *map, const s_key_t *key, void *item)
{
    return cc_keymap_insert (map, key->hash, key->bytes, item);
}

static void *
s_map_lookup (cc_keymap_t *map, const s_key_t *key)
{
    return cc_keymap_lookup (map, key->hash, key->bytes);
}

static void
s_map_delete (cc_keymap_t *map, const s_key_t *key)
{
    cc_keymap_delete (map, key->hash, key->bytes);
}

//  --- Rings of remembered hashes --------------------------------------------------

static int
s_ring_init (s_ring_t *ring, size_t capacity)
{
    ring->capacity = capacity;
    ring->next = 0;
    ring->slots = (s_slot_t *) calloc (capacity, sizeof (s_slot_t));
    ring->index = cc_keymap_new (capacity);
    return ring->slots && ring->index ? 0 : CC_E_NOMEM;
}

static void
s_ring_clear (s_ring_t *ring)
{
    cc_keymap_destroy (&ring->index);
    free (ring->slots);
    ring->slots = NULL;
}

static s_slot_t *
s_ring_find (s_ring_t *ring, const s_key_t *key)
{
    return (s_slot_t *) s_map_lookup (ring->index, key);
}

//  Remembers key with signature (refreshing the signature if known),
//  forgetting the oldest key when full.
static void
s_ring_put (s_ring_t *ring, const s_key_t *key, const uint8_t *signature)
{
    s_slot_t *slot = s_ring_find (ring, key);
    if (!slot) {
        slot = &ring->slots [ring->next];
        ring->next = (ring->next + 1) % ring->capacity;
        if (slot->used)
            s_map_delete (ring->index, &slot->key);
        slot->key = *key;
        slot->used = true;
        //  On out of memory the slot is merely not found: a cache miss.
        s_map_insert (ring->index, &slot->key, slot);
    }
    memcpy (slot->signature, signature, CC_SIGNATURE_SIZE);
}

//  --- Fee heap of queues (by their last entry) ----------------------------------

static s_entry_t *
s_signer_tail (s_signer_t *signer)
{
    return signer->queue [signer->count - 1];
}

//  True if a's tail should be evicted before b's: lower fee, then newer.
static bool
s_heap_before (s_signer_t *a, s_signer_t *b)
{
    s_entry_t *tail_a = s_signer_tail (a);
    s_entry_t *tail_b = s_signer_tail (b);
    if (tail_a->fee != tail_b->fee)
        return tail_a->fee < tail_b->fee;
    return tail_a->sequence > tail_b->sequence;
}

static void
s_heap_place (cc_mempool_t *self, size_t index, s_signer_t *signer)
{
    self->heap [index] = signer;
    signer->heap_index = index;
}

static void
s_heap_up (cc_mempool_t *self, size_t index)
{
    s_signer_t *signer = self->heap [index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (!s_heap_before (signer, self->heap [parent]))
            break;
        s_heap_place (self, index, self->heap [parent]);
        index = parent;
    }
    s_heap_place (self, index, signer);
}

static void
s_heap_down (cc_mempool_t *self, size_t index)
{
    s_signer_t *signer = self->heap [index];
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= self->heap_count)
            break;
        if (child + 1 < self->heap_count
            && s_heap_before (self->heap [child + 1], self->heap [child]))
            child++;
        if (!s_heap_before (self->heap [child], signer))
            break;
        s_heap_place (self, index, self->heap [child]);
        index = child;
    }
    s_heap_place (self, index, signer);
}

//  Room is reserved when a queue is created, so a push never fails.
static void
s_heap_push (cc_mempool_t *self, s_signer_t *signer)
{
    assert (signer->heap_index == S_NOT_IN_HEAP && signer->count > 0);
    assert (self->heap_count < self->heap_capacity);
    s_heap_place (self, self->heap_count++, signer);
    s_heap_up (self, signer->heap_index);
}

static void
s_heap_remove (cc_mempool_t *self, s_signer_t *signer)
{
    size_t index = signer->heap_index;
    if (index == S_NOT_IN_HEAP)
        return;
    signer->heap_index = S_NOT_IN_HEAP;
    s_signer_t *moved = self->heap [--self->heap_count];
    if (moved != signer) {
        s_heap_place (self, index, moved);
        s_heap_up (self, index);
        s_heap_down (self, moved->heap_index);
    }
}

//  After signer's tail changed: moves it to its place (or in or out).
static void
s_heap_fix (cc_mempool_t *self, s_signer_t *signer)
{
    if (signer->count == 0)
        s_heap_remove (self, signer);
    else
    if (signer->heap_index == S_NOT_IN_HEAP)
        s_heap_push (self, signer);
    else {
        s_heap_up (self, signer->heap_index);
        s_heap_down (self, signer->heap_index);
    }
}

//  --- Signer queues -------------------------------------------------------------

//  Lower bound: sets *position to the first entry with nonce >= nonce and
//  returns true if that entry has exactly this nonce.
static bool
s_signer_find (s_signer_t *signer, uint64_t nonce, size_t *position)
{
    size_t low = 0, high = signer->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (signer->queue [middle]->nonce < nonce)
            low = middle + 1;
        else
            high = middle;
    }
    *position = low;
    return low < signer->count && signer->queue [low]->nonce == nonce;
}

static s_signer_t *
s_signer_new (cc_mempool_t *self, const s_key_t *key)
{
    size_t signers = cc_keymap_size (self->signers);
    if (self->heap_capacity <= signers) {
        size_t capacity = self->heap_capacity ? 2 * self->heap_capacity : 64;
        s_signer_t **heap = (s_signer_t **) realloc (self->heap, capacity * sizeof (*heap));
        if (!heap)
            return NULL;
        self->heap = heap;
        self->heap_capacity = capacity;
    }
    s_signer_t *signer = (s_signer_t *) calloc (1, sizeof (s_signer_t));
    if (!signer)
        return NULL;
    signer->key = *key;
    signer->heap_index = S_NOT_IN_HEAP;
    if (s_map_insert (self->signers, &signer->key, signer) != 0) {
        free (signer);
        return NULL;
    }
    signer->prev = self->last;
    if (self->last)
        self->last->next = signer;
    else
        self->first = signer;
    self->last = signer;
    return signer;
}

//  Destroys an emptied queue.
static void
s_signer_destroy (cc_mempool_t *self, s_signer_t *signer)
{
    assert (signer->count == 0);
    s_heap_remove (self, signer);
    s_map_delete (self->signers, &signer->key);
    if (signer->prev)
        signer->prev->next = signer->next;
    else
        self->first = signer->next;
    if (signer->next)
        signer->next->prev = signer->prev;
    else
        self->last = signer->prev;
    free (signer->queue);
    free (signer);
}

static int
s_signer_reserve (s_signer_t *signer)
{
    if (signer->count < signer->capacity)
        return 0;
    size_t capacity = signer->capacity ? 2 * signer->capacity : 4;
    s_entry_t **queue = (s_entry_t **) realloc (signer->queue, capacity * sizeof (*queue));
    if (!queue)
        return CC_E_NOMEM;
    signer->queue = queue;
    signer->capacity = capacity;
    return 0;
}

//  --- Entries -------------------------------------------------------------------

static uint64_t
s_committed_nonce (cc_mempool_t *self, const uint8_t *signer)
{
    return self->nonce_fn ? self->nonce_fn (self->argument, signer) : 0;
}

static void
s_entry_destroy (s_entry_t *entry)
{
    cc_tx_destroy (&entry->tx);
    free (entry);
}

//  Takes an entry out of every view and destroys it with its tx.
static void
s_entry_drop (cc_mempool_t *self, s_entry_t *entry)
{
    s_signer_t *signer = entry->signer;
    size_t position;
    bool found = s_signer_find (signer, entry->nonce, &position);
    assert (found && signer->queue [position] == entry);
    (void) found;
    bool was_tail = position == signer->count - 1;
    memmove (signer->queue + position, signer->queue + position + 1,
             (signer->count - position - 1) * sizeof (s_entry_t *));
    signer->count--;
    s_map_delete (self->by_hash, &entry->key);
    self->bytes -= entry->size;
    s_entry_destroy (entry);
    if (signer->count == 0)
        s_signer_destroy (self, signer);
    else
    if (was_tail)
        s_heap_fix (self, signer);
}

//  Inserts an opened tx whose checks all passed and for which there is room.
static int
s_entry_insert (cc_mempool_t *self, cc_tx_t *tx, const s_key_t *key,
                const s_key_t *signer_key)
{
    s_signer_t *signer = (s_signer_t *) s_map_lookup (self->signers, signer_key);
    if (!signer)
        signer = s_signer_new (self, signer_key);
    s_entry_t *entry = signer ? (s_entry_t *) calloc (1, sizeof (s_entry_t)) : NULL;
    if (entry)
        entry->key = *key;      //  the map keeps a pointer to it
    if (!entry || s_signer_reserve (signer) != 0
        || s_map_insert (self->by_hash, &entry->key, entry) != 0) {
        free (entry);
        if (signer && signer->count == 0)
            s_signer_destroy (self, signer);
        return CC_E_NOMEM;
    }
    entry->tx = tx;
    entry->signer = signer;
    entry->nonce = cc_tx_nonce (tx);
    entry->fee = cc_tx_fee (tx);
    entry->size = cc_tx_size (tx);
    entry->sequence = ++self->sequence;
    size_t position;
    bool exists = s_signer_find (signer, entry->nonce, &position);
    assert (!exists);
    (void) exists;
    memmove (signer->queue + position + 1, signer->queue + position,
             (signer->count - position) * sizeof (s_entry_t *));
    signer->queue [position] = entry;
    signer->count++;
    self->bytes += entry->size;
    if (position == signer->count - 1)
        s_heap_fix (self, signer);
    return 0;
}

//  --- Eviction ----------------------------------------------------------------------

static bool
s_fits (cc_mempool_t *self, size_t freed_count, size_t freed_bytes, size_t size)
{
    return cc_keymap_size (self->by_hash) - freed_count + 1 <= self->max_txs
           && self->bytes - freed_bytes + size <= self->max_bytes;
}

//  Makes room for a newcomer (own: its signer's queue or NULL) by evicting
//  cheaper tails. 0 when it now fits; MEMPOOL_FULL (or NOMEM), with the pool
//  unchanged, when it cannot.
static int
s_make_room (cc_mempool_t *self, s_signer_t *own, uint64_t nonce, uint64_t fee, size_t size)
{
    size_t victims = 0, freed_count = 0, freed_bytes = 0;
    bool parked = false;            //  own queue taken out of the heap
    int rc = 0;
    while (!s_fits (self, freed_count, freed_bytes, size)) {
        if (self->heap_count == 0) {
            rc = CC_E_MEMPOOL_FULL;
            break;
        }
        s_signer_t *signer = self->heap [0];
        s_entry_t *tail = s_signer_tail (signer);
        if (signer == own && tail->nonce < nonce) {
            //  Evicting it would leave the newcomer behind a gap.
            s_heap_remove (self, own);
            parked = true;
            continue;
        }
        if (tail->fee >= fee) {
            rc = CC_E_MEMPOOL_FULL;
            break;
        }
        if (victims == self->victims_capacity) {
            size_t capacity = victims ? 2 * victims : 16;
            s_entry_t **grown = (s_entry_t **) realloc (self->victims,
                                                        capacity * sizeof (*grown));
            if (!grown) {
                rc = CC_E_NOMEM;
                break;
            }
            self->victims = grown;
            self->victims_capacity = capacity;
        }
        //  Detach the tail (its slot in queue still points to it).
        signer->count--;
        s_heap_fix (self, signer);
        self->victims [victims++] = tail;
        freed_count++;
        freed_bytes += tail->size;
    }
    if (rc != 0) {
        //  Put everything back, last detached first.
        while (victims > 0) {
            s_entry_t *entry = self->victims [--victims];
            s_signer_t *signer = entry->signer;
            assert (signer->queue [signer->count] == entry);
            signer->count++;
            s_heap_fix (self, signer);
        }
    }
    //  The rollback above may already have pushed own back.
    if (parked)
        s_heap_fix (self, own);
    for (size_t index = 0; index < victims; index++) {
        s_entry_t *entry = self->victims [index];
        s_signer_t *signer = entry->signer;
        //  The victim detached last from a queue sits at queue [0] once the
        //  queue is empty: only then may the queue go.
        bool empties = signer->count == 0 && signer->queue [0] == entry;
        s_map_delete (self->by_hash, &entry->key);
        self->bytes -= entry->size;
        s_entry_destroy (entry);
        self->stats.evicted++;
        if (empties)
            s_signer_destroy (self, signer);
    }
    return rc;
}

//  --- Lifecycle -------------------------------------------------------------------

cc_mempool_t *
cc_mempool_new (const char *chain_id, size_t max_txs, size_t max_bytes,
                cc_mempool_nonce_fn *nonce_fn, void *argument)
{
    assert (chain_id);
    if (max_txs == 0 || max_bytes == 0 || sodium_init () < 0)
        return NULL;
    cc_mempool_t *self = (cc_mempool_t *) calloc (1, sizeof (cc_mempool_t));
    if (!self)
        return NULL;
    self->chain_id = strdup (chain_id);
    self->max_txs = max_txs;
    self->max_bytes = max_bytes;
    self->max_gap = CC_MEMPOOL_MAX_GAP;
    self->nonce_fn = nonce_fn;
    self->argument = argument;
    crypto_shorthash_keygen (self->hash_key);
    self->by_hash = cc_keymap_new (max_txs < S_RING_MIN ? max_txs : S_RING_MIN);
    self->signers = cc_keymap_new (0);
    size_t checked = max_txs < S_RING_MIN / 2 ? S_RING_MIN : 2 * max_txs;
    size_t recent = max_txs < S_RING_MIN ? S_RING_MIN : max_txs;
    int rc_checked = s_ring_init (&self->checked, checked);
    int rc_recent = s_ring_init (&self->recent, recent);
    if (!self->chain_id || !self->by_hash || !self->signers || rc_checked || rc_recent)
        cc_mempool_destroy (&self);
    return self;
}

void
cc_mempool_destroy (cc_mempool_t **self_p)
{
    if (self_p && *self_p) {
        cc_mempool_t *self = *self_p;
        if (self->by_hash) {
            size_t cursor = 0;
            s_entry_t *entry;
            while ((entry = (s_entry_t *) cc_keymap_next (self->by_hash, &cursor)))
                s_entry_destroy (entry);
            cc_keymap_destroy (&self->by_hash);
        }
        s_signer_t *signer = self->first;
        while (signer) {
            s_signer_t *next = signer->next;
            free (signer->queue);
            free (signer);
            signer = next;
        }
        cc_keymap_destroy (&self->signers);
        s_ring_clear (&self->checked);
        s_ring_clear (&self->recent);
        free (self->heap);
        free (self->victims);
        free (self->cursors);
        free (self->chain_id);
        free (self);
        *self_p = NULL;
    }
}

void
cc_mempool_set_max_gap (cc_mempool_t *self, uint64_t max_gap)
{
    assert (self);
    self->max_gap = max_gap;
}

//  --- Admission and removal -------------------------------------------------------

static int
s_refuse (cc_mempool_t *self, cc_reason_t *reason, int code, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_refuse (cc_mempool_t *self, cc_reason_t *reason, int code, const char *format, ...)
{
    self->stats.refused++;
    if ((size_t) -code < CC_MEMPOOL_CODE_SLOTS)
        self->stats.refused_by_code [-code]++;
    if (reason) {
        char text [sizeof (reason->text)];
        va_list args;
        va_start (args, format);
        vsnprintf (text, sizeof (text), format, args);
        va_end (args);
        cc_reason_set (reason, code, "%s", text);
    }
    return code;
}

int
cc_mempool_add (cc_mempool_t *self, cc_tx_t **tx_p, cc_reason_t *reason)
{
    assert (self);
    assert (tx_p && *tx_p);
    cc_tx_t *tx = *tx_p;

    //  Cheap refusals first: no signature check for a hash already known.
    s_key_t key;
    s_key_make (self, cc_tx_hash (tx), &key);
    if (s_map_lookup (self->by_hash, &key))
        return s_refuse (self, reason, CC_E_DUPLICATE, "transaction already in the mempool");
    if (s_ring_find (&self->recent, &key))
        return s_refuse (self, reason, CC_E_DUPLICATE, "transaction committed recently");

    //  The one signature verification of this tx in this process.
    if (!cc_tx_is_open (tx)) {
        const uint8_t *signature = cc_tx_envelope (tx)->signature.data;
        s_slot_t *slot = s_ring_find (&self->checked, &key);
        bool checked = slot && memcmp (slot->signature, signature, CC_SIGNATURE_SIZE) == 0;
        cc_reason_t opened;
        cc_reason_clear (&opened);
        int rc = cc_tx_open (tx, self->chain_id, checked, &opened);
        if (checked)
            self->stats.signature_hits++;
        else
            self->stats.verifications++;
        if (rc != 0)
            return s_refuse (self, reason, rc, "%s", cc_reason_text (&opened));
        if (!checked)
            s_ring_put (&self->checked, &key, signature);
    }
    else {
        //  Opened by the caller, perhaps for another chain.
        const char *chain_id = cc_tx_body (tx)->chain_id;
        if (strcmp (chain_id, self->chain_id) != 0)
            return s_refuse (self, reason, CC_E_WRONG_CHAIN,
                             "transaction for chain '%s', this chain is '%s'", chain_id,
                             self->chain_id);
    }

    //  Nonce rules against the committed state and the pooled queue.
    const uint8_t *signer_bytes = cc_tx_signer (tx);
    uint64_t nonce = cc_tx_nonce (tx);
    uint64_t committed = s_committed_nonce (self, signer_bytes);
    if (nonce <= committed)
        return s_refuse (self, reason, CC_E_NONCE_REPLAY,
                         "nonce %" PRIu64 " already used (committed nonce %" PRIu64 ")",
                         nonce, committed);
    if (nonce - committed > self->max_gap)
        return s_refuse (self, reason, CC_E_NONCE_GAP,
                         "nonce %" PRIu64 " is more than %" PRIu64
                         " beyond the committed nonce %" PRIu64,
                         nonce, self->max_gap, committed);
    s_key_t signer_key;
    s_key_make (self, signer_bytes, &signer_key);
    s_signer_t *signer = (s_signer_t *) s_map_lookup (self->signers, &signer_key);
    size_t position;
    if (signer && s_signer_find (signer, nonce, &position))
        return s_refuse (self, reason, CC_E_DUPLICATE,
                         "signer already has a pooled transaction with nonce %" PRIu64, nonce);

    //  Caps, evicting cheaper tails if the newcomer pays more.
    size_t size = cc_tx_size (tx);
    if (size > self->max_bytes)
        return s_refuse (self, reason, CC_E_MEMPOOL_FULL,
                         "transaction of %zu bytes exceeds the mempool's %zu bytes", size,
                         self->max_bytes);
    int rc = s_make_room (self, signer, nonce, cc_tx_fee (tx), size);
    if (rc == CC_E_MEMPOOL_FULL)
        return s_refuse (self, reason, rc,
                         "mempool full (%zu txs, %zu bytes) and no cheaper transaction "
                         "to evict for fee %" PRIu64,
                         cc_keymap_size (self->by_hash), self->bytes, cc_tx_fee (tx));
    if (rc == 0)
        rc = s_entry_insert (self, tx, &key, &signer_key);
    if (rc != 0)
        return s_refuse (self, reason, rc, "mempool: out of memory");
    self->stats.admitted++;
    *tx_p = NULL;
    return 0;
}

int
cc_mempool_remove (cc_mempool_t *self, const uint8_t *tx_hash)
{
    assert (self);
    s_key_t key;
    s_key_make (self, tx_hash, &key);
    s_entry_t *entry = (s_entry_t *) s_map_lookup (self->by_hash, &key);
    if (!entry)
        return CC_E_NOT_FOUND;
    s_entry_drop (self, entry);
    self->stats.removed++;
    return 0;
}

//  Drops signer's entries whose nonce is <= committed (a prefix).
static void
s_signer_drop_stale (cc_mempool_t *self, s_signer_t *signer, uint64_t committed)
{
    size_t stale = 0;
    while (stale < signer->count && signer->queue [stale]->nonce <= committed) {
        s_entry_t *entry = signer->queue [stale++];
        s_map_delete (self->by_hash, &entry->key);
        self->bytes -= entry->size;
        s_entry_destroy (entry);
        self->stats.stale++;
    }
    if (stale == 0)
        return;
    //  The tail, hence the heap, changes only if the queue empties.
    memmove (signer->queue, signer->queue + stale,
             (signer->count - stale) * sizeof (s_entry_t *));
    signer->count -= stale;
    if (signer->count == 0)
        s_signer_destroy (self, signer);
}

void
cc_mempool_update (cc_mempool_t *self, cc_tx_t **committed, size_t count)
{
    assert (self);
    assert (committed || count == 0);
    for (size_t index = 0; index < count; index++) {
        cc_tx_t *tx = committed [index];
        if (!tx)
            continue;
        s_key_t key;
        s_key_make (self, cc_tx_hash (tx), &key);
        s_entry_t *entry = (s_entry_t *) s_map_lookup (self->by_hash, &key);
        if (entry) {
            s_entry_drop (self, entry);
            self->stats.committed++;
        }
        const uint8_t *signature = cc_tx_envelope (tx)->signature.data;
        s_ring_put (&self->recent, &key, signature);
        s_ring_put (&self->checked, &key, signature);
    }
    //  Only the signers of this block's txs saw their nonce move.
    for (size_t index = 0; index < count; index++) {
        cc_tx_t *tx = committed [index];
        if (!tx)
            continue;
        s_key_t signer_key;
        s_key_make (self, cc_tx_signer (tx), &signer_key);
        s_signer_t *signer = (s_signer_t *) s_map_lookup (self->signers, &signer_key);
        if (signer)
            s_signer_drop_stale (self, signer, s_committed_nonce (self, cc_tx_signer (tx)));
    }
}

//  --- Packing -----------------------------------------------------------------------

size_t
cc_mempool_reap (cc_mempool_t *self, size_t max_txs, size_t max_bytes, cc_tx_t **out)
{
    assert (self);
    assert (out || max_txs == 0);
    size_t signers = cc_keymap_size (self->signers);
    if (max_txs == 0 || signers == 0)
        return 0;
    if (self->cursors_capacity < signers) {
        s_cursor_t *cursors = (s_cursor_t *) realloc (self->cursors,
                                                      signers * sizeof (s_cursor_t));
        if (!cursors)
            return 0;
        self->cursors = cursors;
        self->cursors_capacity = signers;
    }
    //  One cursor per signer whose next nonce (committed + 1) is pooled.
    size_t active = 0;
    for (s_signer_t *signer = self->first; signer; signer = signer->next) {
        uint64_t committed = s_committed_nonce (self, signer->key.bytes);
        size_t position;
        if (committed < UINT64_MAX && s_signer_find (signer, committed + 1, &position))
            self->cursors [active++] = (s_cursor_t) {signer, position};
    }
    //  Round robin: one tx per signer per turn, while its run lasts.
    size_t taken = 0, bytes = 0;
    while (active > 0 && taken < max_txs) {
        size_t kept = 0;
        for (size_t index = 0; index < active && taken < max_txs; index++) {
            s_cursor_t cursor = self->cursors [index];
            s_entry_t *entry = cursor.signer->queue [cursor.position];
            if (entry->size > max_bytes - bytes)
                continue;           //  this signer's run ends here
            out [taken++] = entry->tx;
            bytes += entry->size;
            cursor.position++;
            if (cursor.position < cursor.signer->count
                && cursor.signer->queue [cursor.position]->nonce == entry->nonce + 1)
                self->cursors [kept++] = cursor;
        }
        active = kept;
    }
    return taken;
}

//  --- Queries -------------------------------------------------------------------------

size_t
cc_mempool_size (cc_mempool_t *self)
{
    assert (self);
    return cc_keymap_size (self->by_hash);
}

size_t
cc_mempool_bytes (cc_mempool_t *self)
{
    assert (self);
    return self->bytes;
}

cc_tx_t *
cc_mempool_get (cc_mempool_t *self, const uint8_t *tx_hash)
{
    assert (self);
    assert (tx_hash);
    s_key_t key;
    s_key_make (self, tx_hash, &key);
    s_entry_t *entry = (s_entry_t *) s_map_lookup (self->by_hash, &key);
    return entry ? entry->tx : NULL;
}

bool
cc_mempool_contains (cc_mempool_t *self, const uint8_t *tx_hash)
{
    return cc_mempool_get (self, tx_hash) != NULL;
}

bool
cc_mempool_signature_checked (cc_mempool_t *self, const uint8_t *tx_hash)
{
    assert (self);
    assert (tx_hash);
    s_key_t key;
    s_key_make (self, tx_hash, &key);
    return s_map_lookup (self->by_hash, &key) || s_ring_find (&self->checked, &key)
           || s_ring_find (&self->recent, &key);
}

bool
cc_mempool_signature_matches (cc_mempool_t *self, cc_tx_t *tx)
{
    assert (self);
    assert (tx);
    const uint8_t *signature = cc_tx_envelope (tx)->signature.data;
    s_key_t key;
    s_key_make (self, cc_tx_hash (tx), &key);
    s_entry_t *entry = (s_entry_t *) s_map_lookup (self->by_hash, &key);
    if (entry
        && memcmp (cc_tx_envelope (entry->tx)->signature.data, signature, CC_SIGNATURE_SIZE)
               == 0)
        return true;
    s_slot_t *slot = s_ring_find (&self->checked, &key);
    if (slot && memcmp (slot->signature, signature, CC_SIGNATURE_SIZE) == 0)
        return true;
    slot = s_ring_find (&self->recent, &key);
    return slot && memcmp (slot->signature, signature, CC_SIGNATURE_SIZE) == 0;
}

void
cc_mempool_signature_remember (cc_mempool_t *self, cc_tx_t *tx)
{
    assert (self);
    assert (tx);
    s_key_t key;
    s_key_make (self, cc_tx_hash (tx), &key);
    s_ring_put (&self->checked, &key, cc_tx_envelope (tx)->signature.data);
}

void
cc_mempool_stats (cc_mempool_t *self, cc_mempool_stats_t *stats)
{
    assert (self);
    assert (stats);
    *stats = self->stats;
}
