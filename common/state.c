/*  =========================================================================
    state - accounts, validators and the rules that change them

    The committed state of one process lives in the store's "state" family;
    a block is executed into a cc_exec_t that overlays its pending writes on
    the committed state, and the block's writes reach the store only through
    the caller's batch (cc_exec_write), so a block is applied whole or not at
    all. state.h states every rule; this file is how they are kept.

    Keys of the "state" family (values are packed protobufs unless noted):
      "a" + 32-byte address      Account {balance, nonce}
      "v" + 32-byte public key   ValidatorRecord
      "s" + 8-byte BE height h   V(h): its sorted public keys concatenated
                                 (n * 32 bytes), written by block h-1 only
                                 when V(h) differs from V(h-1); genesis
                                 writes V(1)
      "m" + name                 meta, not hashed: "mheight" (8-byte BE),
                                 "mapp_hash" (32 bytes), "mgenesis" (H of
                                 the genesis this store was made from)
    W, the hashed write list of a block, is every "a", "v" and "s" pair the
    block wrote, sorted by key (so accounts, then the snapshot, then the
    validator records), encoded as state.h says. Every account a block
    touches is written (the signer's nonce always changes, a recipient's
    balance grows, the proposer is touched only when a fee is paid), and
    every validator record it changed.

    DESIGN: validator records are few, so the state keeps all of them in
    memory (a sorted array loaded at open) and answers V(height + 1) from a
    cached set. Accounts are the hot path of transfers: they are read from
    the store through a bounded cache of committed values (S_CACHE_MAX
    entries, emptied at once when full: simple, and a block touches far fewer
    accounts), and an exec keeps its pending accounts in an open-addressing
    hash table keyed with SipHash under a random key, so crafted addresses
    cannot make probing slow. A transaction is checked completely against
    copies of the few values it touches (signer, recipient, proposer, one
    validator record) and only then written to the overlay, after the room
    for those writes was reserved: a failing transaction leaves no trace.

    Order of checks for every transaction: opened (signature, fields),
    chain id (WRONG_CHAIN), nonce (NONCE_REPLAY / NONCE_GAP), the payload's
    own rules, then money: amount + fee overflow (AMOUNT_OVERFLOW), balance
    (INSUFFICIENT_BALANCE), recipient and proposer credits (AMOUNT_OVERFLOW).

    Validator rules, at block h (changes take effect in V(h+1)):
      - a record is "active at height x" when status is ACTIVE and
        x < valid_until; V(x) = producing genesis CAs + records active at x.
      - Certify: valid_until must exceed h + 1 (else CERT_EXPIRED: the node
        would never be in a set). A node active at h is renewed (valid_until
        must grow, else ALREADY_ACTIVE; since_height kept); any other node
        not banned becomes ACTIVE with since_height h + 1. A node not active
        at h + 1 before the Certify needs room: V(h + 1) as it stands
        (producing CAs included, as genesis counts its producers) must hold
        fewer than params.max_validators members (0 = no limit). A genesis
        CA cannot be certified: a producing one is ALREADY_ACTIVE, another
        one BAD_FIELD (its role is fixed by genesis).
      - Revoke and Resign need a node active at h (else NOT_ACTIVE).
      - Jailing at the end of block h, K = params.jail_after > 0: the last
        commit of block h is the canonical commit of height h - 1, and the
        commits of heights h-K .. h-1 are the last K known. A record active
        at h is jailed when it was in the set for all of those heights and
        signed none of them: max(last_signed_height + 1, since_height) + K
        <= h. So a validator in the set from height 1 that never signs is
        jailed by block K + 1 (after missing the commits of 1..K), not
        earlier. Signers of the last commit get last_signed_height = h - 1
        first.

    The state and its execs are used by one thread at a time.
    =========================================================================
*/

#include "state.h"

#include <assert.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Most committed accounts kept in the read cache.
#define S_CACHE_MAX (64 * 1024)
//  Largest packed Account (two varints with tags).
#define S_ACCOUNT_MAX 24
//  Largest key of the state family: prefix + 32 bytes.
#define S_KEY_MAX (1 + CC_PUBKEY_SIZE)
//  Largest stored record or vote we decode.
#define S_RECORD_MAX (64 * 1024)

//  Slot states of the account table.
#define S_SLOT_EMPTY 0      //  free
#define S_SLOT_FOUND 1      //  account exists with these values
#define S_SLOT_MISSING 2    //  known not to exist (cache only)

//  --- Account table -------------------------------------------------------------

typedef struct {
    uint8_t address [CC_PUBKEY_SIZE];   //  account address
    uint64_t balance;                   //  its balance
    uint64_t nonce;                     //  its last nonce
    uint8_t slot;                       //  S_SLOT_*
} s_account_t;

typedef struct {
    s_account_t *slots;                         //  open addressing, linear probing
    size_t capacity;                            //  power of two
    size_t count;                               //  slots in use
    uint8_t key [crypto_shorthash_KEYBYTES];    //  SipHash key
} s_accounts_t;

static int
s_accounts_init (s_accounts_t *self, size_t capacity, const uint8_t *key)
{
    self->slots = (s_account_t *) calloc (capacity, sizeof (s_account_t));
    self->capacity = capacity;
    self->count = 0;
    memcpy (self->key, key, sizeof (self->key));
    return self->slots ? 0 : CC_E_NOMEM;
}

static void
s_accounts_fini (s_accounts_t *self)
{
    free (self->slots);
    self->slots = NULL;
    self->capacity = self->count = 0;
}

static void
s_accounts_clear (s_accounts_t *self)
{
    memset (self->slots, 0, self->capacity * sizeof (s_account_t));
    self->count = 0;
}

static size_t
s_accounts_home (s_accounts_t *self, const uint8_t *address)
{
    return (size_t) (cc_short_hash (self->key, address, CC_PUBKEY_SIZE)
                     & (self->capacity - 1));
}

//  The slot holding address, or the empty slot where it would go.
static s_account_t *
s_accounts_slot (s_accounts_t *self, const uint8_t *address)
{
    size_t index = s_accounts_home (self, address);
    while (true) {
        s_account_t *slot = &self->slots [index];
        if (slot->slot == S_SLOT_EMPTY
            || memcmp (slot->address, address, CC_PUBKEY_SIZE) == 0)
            return slot;
        index = (index + 1) & (self->capacity - 1);
    }
}

static s_account_t *
s_accounts_find (s_accounts_t *self, const uint8_t *address)
{
    s_account_t *slot = s_accounts_slot (self, address);
    return slot->slot == S_SLOT_EMPTY ? NULL : slot;
}

//  Makes room for extra more entries (load stays at most one half).
static int
s_accounts_reserve (s_accounts_t *self, size_t extra)
{
    if ((self->count + extra) * 2 <= self->capacity)
        return 0;
    size_t capacity = self->capacity;
    while ((self->count + extra) * 2 > capacity)
        capacity *= 2;
    s_accounts_t grown;
    if (s_accounts_init (&grown, capacity, self->key) != 0)
        return CC_E_NOMEM;
    for (size_t index = 0; index < self->capacity; index++)
        if (self->slots [index].slot != S_SLOT_EMPTY) {
            *s_accounts_slot (&grown, self->slots [index].address) = self->slots [index];
            grown.count++;
        }
    s_accounts_fini (self);
    *self = grown;
    return 0;
}

//  Sets an entry; room must have been reserved.
static void
s_accounts_set (s_accounts_t *self, const uint8_t *address, uint64_t balance, uint64_t nonce,
                uint8_t state)
{
    s_account_t *slot = s_accounts_slot (self, address);
    if (slot->slot == S_SLOT_EMPTY) {
        assert ((self->count + 1) * 2 <= self->capacity);
        memcpy (slot->address, address, CC_PUBKEY_SIZE);
        self->count++;
    }
    slot->balance = balance;
    slot->nonce = nonce;
    slot->slot = state;
}

//  --- Validator records -----------------------------------------------------------

typedef struct {
    Certchain__ValidatorRecord **items;     //  owned records, sorted by pubkey
    size_t count;                           //  records held
    size_t capacity;                        //  records allocated
} s_records_t;

static void
s_records_fini (s_records_t *self)
{
    for (size_t index = 0; index < self->count; index++)
        certchain__validator_record__free_unpacked (self->items [index], NULL);
    free (self->items);
    memset (self, 0, sizeof (*self));
}

//  Position of pubkey (found) or where it would go.
static size_t
s_records_search (const s_records_t *self, const uint8_t *pubkey, bool *found)
{
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = memcmp (self->items [middle]->pubkey.data, pubkey, CC_PUBKEY_SIZE);
        if (order == 0) {
            *found = true;
            return middle;
        }
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    *found = false;
    return low;
}

static Certchain__ValidatorRecord *
s_records_find (const s_records_t *self, const uint8_t *pubkey)
{
    bool found;
    size_t index = s_records_search (self, pubkey, &found);
    return found ? self->items [index] : NULL;
}

static int
s_records_reserve (s_records_t *self, size_t extra)
{
    if (self->count + extra <= self->capacity)
        return 0;
    size_t capacity = self->capacity ? self->capacity : 8;
    while (capacity < self->count + extra)
        capacity *= 2;
    Certchain__ValidatorRecord **items = (Certchain__ValidatorRecord **) realloc (
        self->items, capacity * sizeof (*items));
    if (!items)
        return CC_E_NOMEM;
    self->items = items;
    self->capacity = capacity;
    return 0;
}

//  Takes ownership of record, replacing (and freeing) one with the same
//  key; room for one more must have been reserved.
static void
s_records_put (s_records_t *self, Certchain__ValidatorRecord *record)
{
    bool found;
    size_t index = s_records_search (self, record->pubkey.data, &found);
    if (found) {
        certchain__validator_record__free_unpacked (self->items [index], NULL);
        self->items [index] = record;
        return;
    }
    assert (self->count < self->capacity);
    memmove (self->items + index + 1, self->items + index,
             (self->count - index) * sizeof (*self->items));
    self->items [index] = record;
    self->count++;
}

//  An owned deep copy of a record (which may hold borrowed fields), made
//  by packing and unpacking it. NULL on NOMEM.
static Certchain__ValidatorRecord *
s_record_make (const Certchain__ValidatorRecord *source)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_codec_pack (&source->base, S_RECORD_MAX, &data, &size) != 0)
        return NULL;
    Certchain__ValidatorRecord *record = certchain__validator_record__unpack (NULL, size, data);
    free (data);
    return record;
}

static bool
s_record_active (const Certchain__ValidatorRecord *record, uint64_t height)
{
    return record->status == CERTCHAIN__VALIDATOR_STATUS__ACTIVE
           && height < record->valid_until;
}

//  The genesis parameters; all zero (no limits) when the genesis has none.
static const Certchain__ConsensusParams *
s_params (cc_genesis_t *genesis)
{
    static const Certchain__ConsensusParams none = CERTCHAIN__CONSENSUS_PARAMS__INIT;
    const Certchain__ConsensusParams *params = cc_genesis_params (genesis);
    return params ? params : &none;
}

//  --- Keys ----------------------------------------------------------------------

//  "a"/"v" + 32 bytes into key; returns its size.
static size_t
s_key (char prefix, const uint8_t *data, uint8_t *key)
{
    key [0] = (uint8_t) prefix;
    memcpy (key + 1, data, CC_PUBKEY_SIZE);
    return 1 + CC_PUBKEY_SIZE;
}

static const char s_meta_height [] = "mheight";
static const char s_meta_app_hash [] = "mapp_hash";
static const char s_meta_genesis [] = "mgenesis";

//  --- Structures ------------------------------------------------------------------

//  One (key, value) pair of W.
typedef struct {
    uint8_t key [S_KEY_MAX];    //  the key
    size_t key_size;            //  its size
    uint8_t *value;             //  owned value bytes
    size_t value_size;          //  their size
} s_write_t;

struct _cc_state_t {
    cc_store_t *store;                  //  borrowed store
    int family;                         //  index of the "state" family
    cc_genesis_t *genesis;              //  borrowed genesis
    uint64_t height;                    //  last committed height
    uint8_t app_hash [CC_HASH_SIZE];    //  app hash after it
    s_records_t validators;             //  every validator record, committed
    s_accounts_t cache;                 //  committed accounts recently read
    cc_valset_t *valset_next;           //  V(height + 1)
    uint64_t *snapshots;                //  heights with a stored V snapshot, ascending
    size_t snapshot_count;              //  heights held
    size_t snapshot_capacity;           //  heights allocated
};

struct _cc_exec_t {
    cc_state_t *state;                  //  borrowed state under execution
    uint64_t height;                    //  block being executed
    uint8_t proposer [CC_PUBKEY_SIZE];  //  who receives the fees
    s_accounts_t accounts;              //  pending account values
    s_records_t validators;             //  pending validator records
    uint8_t *signers;                   //  last-commit signers, 32 bytes each
    size_t signer_count;                //  how many
    bool signers_lost;                  //  no memory to keep them: finish fails
    size_t tx_count;                    //  transactions applied
    bool finished;                      //  cc_exec_finish done
    uint8_t app_hash [CC_HASH_SIZE];    //  app hash once finished
    cc_valset_t *valset_next;           //  V(height + 1) once finished
    bool valset_changed;                //  V(height + 1) != V(height): snapshot written
    s_write_t *writes;                  //  W, sorted, once finished
    size_t write_count;                 //  pairs in W
};

//  --- Store reads -------------------------------------------------------------------

//  A committed account: cache first, then the store, filling the cache
//  when fill (an outsider's guess at an address must not evict the hot
//  accounts that execution reads).
static int
s_state_read (cc_state_t *self, const uint8_t *address, bool fill, uint64_t *balance,
              uint64_t *nonce, bool *found)
{
    s_account_t *slot = s_accounts_find (&self->cache, address);
    if (!slot) {
        uint8_t key [S_KEY_MAX];
        size_t key_size = s_key ('a', address, key);
        uint8_t *value = NULL;
        size_t size = 0;
        int rc = cc_store_get (self->store, self->family, key, key_size, &value, &size);
        uint64_t got_balance = 0, got_nonce = 0;
        if (rc == 0) {
            int code = 0;
            Certchain__Account *account = (Certchain__Account *) cc_codec_unpack (
                &certchain__account__descriptor, value, size, S_ACCOUNT_MAX, &code);
            free (value);
            if (!account)
                return CC_E_STORE;
            got_balance = account->balance;
            got_nonce = account->nonce;
            certchain__account__free_unpacked (account, NULL);
        }
        else if (rc != CC_E_NOT_FOUND)
            return rc;
        if (!fill) {
            *balance = got_balance;
            *nonce = got_nonce;
            *found = rc == 0;
            return 0;
        }
        if (self->cache.count >= S_CACHE_MAX)
            s_accounts_clear (&self->cache);
        s_accounts_set (&self->cache, address, got_balance, got_nonce,
                        rc == 0 ? S_SLOT_FOUND : S_SLOT_MISSING);
        slot = s_accounts_find (&self->cache, address);
    }
    *balance = slot->balance;
    *nonce = slot->nonce;
    *found = slot->slot == S_SLOT_FOUND;
    return 0;
}

//  A committed snapshot V(height) from key "s" + height.
static cc_valset_t *
s_state_load_snapshot (cc_state_t *self, uint64_t height)
{
    uint8_t key [9];
    key [0] = 's';
    cc_be64_put (key + 1, height);
    uint8_t *value = NULL;
    size_t size = 0;
    if (cc_store_get (self->store, self->family, key, sizeof (key), &value, &size) != 0)
        return NULL;
    cc_valset_t *valset = NULL;
    if (size % CC_PUBKEY_SIZE == 0)
        valset = cc_valset_new ();
    for (size_t offset = 0; valset && offset < size; offset += CC_PUBKEY_SIZE) {
        const uint8_t *pubkey = value + offset;
        if (cc_valset_add (valset, pubkey, cc_genesis_ca_produces (self->genesis, pubkey)) != 0)
            cc_valset_destroy (&valset);
    }
    free (value);
    return valset;
}

//  --- Committed state ---------------------------------------------------------------

static cc_exec_t *
    s_exec_new (cc_state_t *state, uint64_t height, const uint8_t *proposer);
static int
    s_exec_genesis (cc_state_t *self, cc_reason_t *reason);
static cc_valset_t *
    s_valset_build (cc_state_t *state, cc_exec_t *exec, uint64_t height);

typedef struct {
    cc_state_t *state;  //  state being loaded
    int code;           //  first error
} s_load_t;

static bool
s_load_record (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
               void *argument)
{
    s_load_t *load = (s_load_t *) argument;
    Certchain__ValidatorRecord *record = NULL;
    if (key_size == S_KEY_MAX && value_size <= S_RECORD_MAX)
        record = certchain__validator_record__unpack (NULL, value_size, value);
    if (!record || !cc_bytes_sized (record->pubkey, CC_PUBKEY_SIZE)
        || memcmp (record->pubkey.data, key + 1, CC_PUBKEY_SIZE) != 0
        || s_records_reserve (&load->state->validators, 1) != 0) {
        if (record)
            certchain__validator_record__free_unpacked (record, NULL);
        load->code = CC_E_STORE;
        return false;
    }
    s_records_put (&load->state->validators, record);
    return true;
}

//  Makes room for one more snapshot height.
static int
s_snapshot_reserve (cc_state_t *self)
{
    if (self->snapshot_count < self->snapshot_capacity)
        return 0;
    size_t capacity = self->snapshot_capacity ? 2 * self->snapshot_capacity : 16;
    uint64_t *snapshots = (uint64_t *) realloc (self->snapshots, capacity * sizeof (uint64_t));
    if (!snapshots)
        return CC_E_NOMEM;
    self->snapshots = snapshots;
    self->snapshot_capacity = capacity;
    return 0;
}

static int
s_snapshot_append (cc_state_t *self, uint64_t height)
{
    if (s_snapshot_reserve (self) != 0)
        return CC_E_NOMEM;
    self->snapshots [self->snapshot_count++] = height;
    return 0;
}

static bool
s_load_snapshot_height (const uint8_t *key, size_t key_size, const uint8_t *value,
                        size_t value_size, void *argument)
{
    s_load_t *load = (s_load_t *) argument;
    if (key_size != 9 || s_snapshot_append (load->state, cc_be64_get (key + 1)) != 0) {
        load->code = CC_E_STORE;
        return false;
    }
    return true;
}

//  Reads a fixed-size meta value. 0, NOT_FOUND or STORE.
static int
s_meta_get (cc_state_t *self, const char *name, uint8_t *target, size_t size)
{
    uint8_t *value = NULL;
    size_t value_size = 0;
    int rc = cc_store_get (self->store, self->family, name, strlen (name), &value, &value_size);
    if (rc != 0)
        return rc;
    if (value_size == size)
        memcpy (target, value, size);
    free (value);
    return value_size == size ? 0 : CC_E_STORE;
}

//  Loads the committed state of a store made from this genesis.
static int
s_state_load (cc_state_t *self, cc_reason_t *reason)
{
    uint8_t height [8];
    if (s_meta_get (self, s_meta_height, height, sizeof (height)) != 0
        || s_meta_get (self, s_meta_app_hash, self->app_hash, CC_HASH_SIZE) != 0)
        return cc_reason_set (reason, CC_E_STORE, "state: height or app hash unreadable");
    self->height = cc_be64_get (height);
    s_load_t load = {self, 0};
    int rc = cc_store_scan (self->store, self->family, "v", 1, s_load_record, &load);
    if (rc == 0)
        rc = load.code;
    if (rc == 0)
        rc = cc_store_scan (self->store, self->family, "s", 1, s_load_snapshot_height, &load);
    if (rc == 0)
        rc = load.code;
    if (rc != 0)
        return cc_reason_set (reason, rc, "state: validator records or snapshots unreadable");
    self->valset_next = s_valset_build (self, NULL, self->height + 1);
    if (!self->valset_next)
        return cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
    return 0;
}

cc_state_t *
cc_state_new (cc_store_t *store, cc_genesis_t *genesis, cc_reason_t *reason)
{
    assert (store);
    assert (genesis);
    int family = cc_store_family (store, CC_STATE_FAMILY);
    if (family < 0) {
        cc_reason_set (reason, CC_E_CONFIG, "state: store opened without the '%s' family",
                       CC_STATE_FAMILY);
        return NULL;
    }
    cc_state_t *self = (cc_state_t *) calloc (1, sizeof (cc_state_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
        return NULL;
    }
    self->store = store;
    self->family = family;
    self->genesis = genesis;
    uint8_t key [crypto_shorthash_KEYBYTES];
    randombytes_buf (key, sizeof (key));
    int rc = s_accounts_init (&self->cache, 2 * S_CACHE_MAX, key);
    if (rc != 0) {
        cc_reason_set (reason, rc, "state: out of memory");
        cc_state_destroy (&self);
        return NULL;
    }
    uint8_t stored_genesis [CC_HASH_SIZE];
    rc = s_meta_get (self, s_meta_genesis, stored_genesis, CC_HASH_SIZE);
    if (rc == CC_E_NOT_FOUND)
        rc = s_exec_genesis (self, reason);
    else if (rc != 0)
        rc = cc_reason_set (reason, rc, "state: genesis hash unreadable");
    else if (memcmp (stored_genesis, cc_genesis_hash (genesis), CC_HASH_SIZE) != 0) {
        char hex [2 * CC_HASH_SIZE + 1];
        cc_hex_encode (stored_genesis, CC_HASH_SIZE, hex);
        rc = cc_reason_set (reason, CC_E_CONFIG,
                            "state: the store holds the chain of another genesis (%s)", hex);
    }
    else
        rc = s_state_load (self, reason);
    if (rc != 0)
        cc_state_destroy (&self);
    return self;
}

void
cc_state_destroy (cc_state_t **self_p)
{
    if (self_p && *self_p) {
        cc_state_t *self = *self_p;
        s_records_fini (&self->validators);
        s_accounts_fini (&self->cache);
        cc_valset_destroy (&self->valset_next);
        free (self->snapshots);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
cc_state_height (cc_state_t *self)
{
    return self->height;
}

const uint8_t *
cc_state_app_hash (cc_state_t *self)
{
    return self->app_hash;
}

cc_genesis_t *
cc_state_genesis (cc_state_t *self)
{
    return self->genesis;
}

int
cc_state_account (cc_state_t *self, const uint8_t *address, uint64_t *balance,
                  uint64_t *nonce)
{
    bool found = false;
    *balance = *nonce = 0;
    int rc = s_state_read (self, address, true, balance, nonce, &found);
    if (rc != 0)
        return rc;
    return found ? 0 : CC_E_NOT_FOUND;
}

int
cc_state_account_peek (cc_state_t *self, const uint8_t *address, uint64_t *balance,
                       uint64_t *nonce)
{
    bool found = false;
    *balance = *nonce = 0;
    int rc = s_state_read (self, address, false, balance, nonce, &found);
    if (rc != 0)
        return rc;
    return found ? 0 : CC_E_NOT_FOUND;
}

int
cc_state_validator (cc_state_t *self, const uint8_t *pubkey,
                    Certchain__ValidatorRecord **record_p)
{
    *record_p = NULL;
    Certchain__ValidatorRecord *record = s_records_find (&self->validators, pubkey);
    if (!record)
        return CC_E_NOT_FOUND;
    *record_p = s_record_make (record);
    return *record_p ? 0 : CC_E_NOMEM;
}

cc_valset_t *
cc_state_valset (cc_state_t *self, uint64_t height)
{
    if (height == 0 || height > self->height + 1)
        return NULL;
    if (height == self->height + 1)
        return cc_valset_dup (self->valset_next);
    //  Greatest snapshot height <= height; genesis wrote one for 1.
    size_t low = 0, high = self->snapshot_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (self->snapshots [middle] <= height)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0)
        return NULL;
    return s_state_load_snapshot (self, self->snapshots [low - 1]);
}

int
cc_state_validators (cc_state_t *self, Certchain__ValidatorRecord ***records_p,
                     size_t *count_p)
{
    *records_p = NULL;
    *count_p = 0;
    size_t count = self->validators.count;
    Certchain__ValidatorRecord **records = (Certchain__ValidatorRecord **) calloc (
        count ? count : 1, sizeof (*records));
    if (!records)
        return CC_E_NOMEM;
    for (size_t index = 0; index < count; index++) {
        records [index] = s_record_make (self->validators.items [index]);
        if (!records [index]) {
            for (size_t done = 0; done < index; done++)
                certchain__validator_record__free_unpacked (records [done], NULL);
            free (records);
            return CC_E_NOMEM;
        }
    }
    *records_p = records;
    *count_p = count;
    return 0;
}

//  --- Execution: reads through the overlay -------------------------------------------

static int
s_exec_read (cc_exec_t *self, const uint8_t *address, uint64_t *balance, uint64_t *nonce,
             bool *found)
{
    s_account_t *slot = s_accounts_find (&self->accounts, address);
    if (slot) {
        *balance = slot->balance;
        *nonce = slot->nonce;
        *found = true;
        return 0;
    }
    return s_state_read (self->state, address, true, balance, nonce, found);
}

//  A validator record as this execution sees it, or NULL.
static const Certchain__ValidatorRecord *
s_exec_record (cc_exec_t *self, const uint8_t *pubkey)
{
    const Certchain__ValidatorRecord *record = s_records_find (&self->validators, pubkey);
    return record ? record : s_records_find (&self->state->validators, pubkey);
}

//  Calls visit for every record of the merged view (pending over
//  committed), in key order.
typedef void (s_visit_fn) (const Certchain__ValidatorRecord *record, void *argument);

static void
s_exec_visit (cc_state_t *state, cc_exec_t *exec, s_visit_fn *visit, void *argument)
{
    const s_records_t *committed = &state->validators;
    static const s_records_t none = {NULL, 0, 0};
    const s_records_t *pending = exec ? &exec->validators : &none;
    size_t left = 0, right = 0;
    while (left < committed->count || right < pending->count) {
        int order;
        if (left == committed->count)
            order = 1;
        else
        if (right == pending->count)
            order = -1;
        else
            order = memcmp (committed->items [left]->pubkey.data,
                            pending->items [right]->pubkey.data, CC_PUBKEY_SIZE);
        if (order < 0)
            visit (committed->items [left++], argument);
        else {
            visit (pending->items [right++], argument);
            if (order == 0)
                left++;
        }
    }
}

typedef struct {
    uint64_t height;        //  height asked about
    size_t count;           //  records active at it
    cc_valset_t *valset;    //  set being built, or NULL to count only
    int code;               //  first error
} s_active_t;

static void
s_visit_active (const Certchain__ValidatorRecord *record, void *argument)
{
    s_active_t *active = (s_active_t *) argument;
    if (!s_record_active (record, active->height))
        return;
    active->count++;
    if (active->valset) {
        int rc = cc_valset_add (active->valset, record->pubkey.data, false);
        if (rc != 0 && rc != CC_E_EXISTS)
            active->code = rc;
    }
}

//  V(height) from the genesis CAs and the records seen by exec (or the
//  committed records when exec is NULL). Caller owns it; NULL on NOMEM.
static cc_valset_t *
s_valset_build (cc_state_t *state, cc_exec_t *exec, uint64_t height)
{
    cc_valset_t *valset = cc_valset_new ();
    if (!valset)
        return NULL;
    const Certchain__Genesis *genesis = cc_genesis_proto (state->genesis);
    for (size_t index = 0; index < genesis->n_cas; index++) {
        const Certchain__GenesisCa *ca = genesis->cas [index];
        if (ca->produces && cc_bytes_sized (ca->pubkey, CC_PUBKEY_SIZE)) {
            int rc = cc_valset_add (valset, ca->pubkey.data, true);
            if (rc != 0 && rc != CC_E_EXISTS)
                cc_valset_destroy (&valset);
            if (!valset)
                return NULL;
        }
    }
    s_active_t active = {height, 0, valset, 0};
    s_exec_visit (state, exec, s_visit_active, &active);
    if (active.code != 0)
        cc_valset_destroy (&valset);
    return valset;
}

//  --- Execution: the rules of each payload -------------------------------------------

//  What a transaction will change, gathered before anything is written.
typedef struct {
    const uint8_t *address;     //  account address (borrowed)
    uint64_t balance;           //  new balance
    uint64_t nonce;             //  new nonce
} s_entry_t;

typedef struct {
    s_entry_t entries [3];                  //  signer, recipient, proposer (deduplicated)
    size_t count;                           //  entries used
    Certchain__ValidatorRecord *record;     //  new validator record, owned, or NULL
} s_change_t;

//  Index of address in change, loading it through the overlay if absent.
static int
s_change_entry (cc_exec_t *self, s_change_t *change, const uint8_t *address, size_t *index)
{
    for (size_t at = 0; at < change->count; at++)
        if (memcmp (change->entries [at].address, address, CC_PUBKEY_SIZE) == 0) {
            *index = at;
            return 0;
        }
    assert (change->count < 3);
    s_entry_t *entry = &change->entries [change->count];
    bool found;
    int rc = s_exec_read (self, address, &entry->balance, &entry->nonce, &found);
    if (rc != 0)
        return rc;
    entry->address = address;
    *index = change->count++;
    return 0;
}

static int
s_credit (cc_exec_t *self, s_change_t *change, const uint8_t *address, uint64_t amount,
          const char *who, cc_reason_t *reason)
{
    size_t index;
    int rc = s_change_entry (self, change, address, &index);
    if (rc != 0)
        return cc_reason_set (reason, rc, "state: account unreadable");
    s_entry_t *entry = &change->entries [index];
    if (entry->balance > UINT64_MAX - amount)
        return cc_reason_set (reason, CC_E_AMOUNT_OVERFLOW,
                              "%s balance %" PRIu64 " + %" PRIu64 " overflows", who,
                              entry->balance, amount);
    entry->balance += amount;
    return 0;
}

//  A record built from base (or a fresh one) for node, to be changed by
//  the caller before s_record_make. Fields stay borrowed.
static Certchain__ValidatorRecord
s_record_from (const Certchain__ValidatorRecord *base, const uint8_t *node)
{
    Certchain__ValidatorRecord record;
    if (base)
        record = *base;
    else {
        certchain__validator_record__init (&record);
        record.pubkey = cc_bytes_view (node, CC_PUBKEY_SIZE);
    }
    return record;
}

//  Size of V(height + 1) as this execution sees it so far: producing
//  genesis CAs and records active at height + 1.
static size_t
s_members_next (cc_exec_t *self)
{
    s_active_t active = {self->height + 1, 0, NULL, 0};
    s_exec_visit (self->state, self, s_visit_active, &active);
    const Certchain__Genesis *genesis = cc_genesis_proto (self->state->genesis);
    for (size_t index = 0; index < genesis->n_cas; index++)
        if (genesis->cas [index]->produces)
            active.count++;
    return active.count;
}

static int
s_check_certify (cc_exec_t *self, const uint8_t *signer, const Certchain__Certify *certify,
                 s_change_t *change, cc_reason_t *reason)
{
    cc_genesis_t *genesis = self->state->genesis;
    const uint8_t *node = certify->node.data;
    char hex [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (node, CC_PUBKEY_SIZE, hex);
    if (!cc_genesis_is_ca (genesis, signer))
        return cc_reason_set (reason, CC_E_NOT_CA, "certify: signer is not a genesis CA");
    if (cc_genesis_ca_produces (genesis, node))
        return cc_reason_set (reason, CC_E_ALREADY_ACTIVE,
                              "certify: %s is a producing genesis CA, always in the set", hex);
    if (cc_genesis_is_ca (genesis, node))
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "certify: %s is a genesis CA; its role is fixed by genesis", hex);
    const Certchain__ValidatorRecord *record = s_exec_record (self, node);
    if (record && record->status == CERTCHAIN__VALIDATOR_STATUS__BANNED)
        return cc_reason_set (reason, CC_E_BANNED, "certify: %s is banned (%s)", hex,
                              record->reason ? record->reason : "");
    if (certify->valid_until <= self->height + 1)
        return cc_reason_set (reason, CC_E_CERT_EXPIRED,
                              "certify: valid until %" PRIu64
                              " would end before the node enters the set at %" PRIu64,
                              certify->valid_until, self->height + 1);
    bool renewal = record && s_record_active (record, self->height);
    if (renewal && certify->valid_until <= record->valid_until)
        return cc_reason_set (reason, CC_E_ALREADY_ACTIVE,
                              "certify: %s is active until %" PRIu64
                              "; a renewal must extend it (got %" PRIu64 ")",
                              hex, record->valid_until, certify->valid_until);
    uint32_t max_validators = s_params (genesis)->max_validators;
    if (!(record && s_record_active (record, self->height + 1)) && max_validators > 0
        && s_members_next (self) >= max_validators)
        return cc_reason_set (reason, CC_E_VALSET_FULL,
                              "certify: the set already holds its maximum of %u members",
                              max_validators);
    Certchain__ValidatorRecord next = s_record_from (record, node);
    next.status = CERTCHAIN__VALIDATOR_STATUS__ACTIVE;
    next.valid_until = certify->valid_until;
    next.profile = certify->profile;
    next.score = certify->score;
    next.certified_by = cc_bytes_view (signer, CC_PUBKEY_SIZE);
    if (!renewal) {
        next.since_height = self->height + 1;
        next.status_height = self->height;
        next.reason = (char *) "";
    }
    change->record = s_record_make (&next);
    return change->record ? 0 : cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
}

//  Sets the status of a known record; reason text is copied.
static int
s_change_status (cc_exec_t *self, const Certchain__ValidatorRecord *record,
                 Certchain__ValidatorStatus status, const char *text, s_change_t *change,
                 cc_reason_t *reason)
{
    Certchain__ValidatorRecord next = *record;
    next.status = status;
    next.reason = (char *) text;
    next.status_height = self->height;
    change->record = s_record_make (&next);
    return change->record ? 0 : cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
}

static int
s_check_revoke (cc_exec_t *self, const uint8_t *signer, const Certchain__Revoke *revoke,
                s_change_t *change, cc_reason_t *reason)
{
    char hex [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (revoke->node.data, CC_PUBKEY_SIZE, hex);
    if (!cc_genesis_is_ca (self->state->genesis, signer))
        return cc_reason_set (reason, CC_E_NOT_CA, "revoke: signer is not a genesis CA");
    const Certchain__ValidatorRecord *record = s_exec_record (self, revoke->node.data);
    if (!record)
        return cc_reason_set (reason, CC_E_UNKNOWN_NODE, "revoke: %s has no certificate", hex);
    if (!s_record_active (record, self->height))
        return cc_reason_set (reason, CC_E_NOT_ACTIVE, "revoke: %s is not active", hex);
    const char *text = revoke->reason && *revoke->reason ? revoke->reason : "revoked by a CA";
    return s_change_status (self, record, CERTCHAIN__VALIDATOR_STATUS__REVOKED, text, change,
                            reason);
}

static int
s_check_resign (cc_exec_t *self, const uint8_t *signer, s_change_t *change,
                cc_reason_t *reason)
{
    const Certchain__ValidatorRecord *record = s_exec_record (self, signer);
    if (!record || !s_record_active (record, self->height))
        return cc_reason_set (reason, CC_E_NOT_ACTIVE,
                              "resign: signer is not an active validator");
    return s_change_status (self, record, CERTCHAIN__VALIDATOR_STATUS__RESIGNED, "resigned",
                            change, reason);
}

//  Opens one vote of an evidence. 0 or INVALID_EVIDENCE.
static int
s_open_vote (cc_exec_t *self, const Certchain__Signed *envelope, const char *which,
             Certchain__Vote **vote_p, cc_reason_t *reason)
{
    ProtobufCMessage *message = NULL;
    int rc = cc_signed_open (envelope, CC_DOMAIN_VOTE, cc_genesis_chain_id (self->state->genesis),
                             &certchain__vote__descriptor, S_RECORD_MAX, &message);
    if (rc != 0)
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE, "evidence: %s: %s", which,
                              cc_error_message (rc));
    Certchain__Vote *vote = (Certchain__Vote *) message;
    *vote_p = vote;
    if (!cc_bytes_equal (vote->validator, envelope->signer))
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE,
                              "evidence: %s is signed by another key than its validator", which);
    if (vote->type != CERTCHAIN__VOTE_TYPE__PREVOTE
        && vote->type != CERTCHAIN__VOTE_TYPE__PRECOMMIT)
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE, "evidence: %s has no vote type",
                              which);
    if (vote->block_hash.len != 0 && vote->block_hash.len != CC_HASH_SIZE)
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE,
                              "evidence: %s has a malformed block hash", which);
    return 0;
}

static int
s_check_evidence_votes (cc_exec_t *self, const Certchain__Evidence *evidence,
                        Certchain__Vote *votes [2], cc_reason_t *reason)
{
    int rc = s_open_vote (self, evidence->vote_a, "vote a", &votes [0], reason);
    if (rc == 0)
        rc = s_open_vote (self, evidence->vote_b, "vote b", &votes [1], reason);
    if (rc != 0)
        return rc;
    if (!cc_bytes_equal (evidence->vote_a->signer, evidence->vote_b->signer))
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE,
                              "evidence: the votes are signed by two different keys");
    if (votes [0]->height != votes [1]->height || votes [0]->round != votes [1]->round
        || votes [0]->type != votes [1]->type)
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE,
                              "evidence: the votes are for different heights, rounds or types");
    if (cc_bytes_equal (votes [0]->block_hash, votes [1]->block_hash))
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE,
                              "evidence: the votes are for the same block; no conflict");
    return 0;
}

static int
s_check_evidence (cc_exec_t *self, const uint8_t *signer, const Certchain__Evidence *evidence,
                  s_change_t *change, cc_reason_t *reason)
{
    Certchain__Vote *votes [2] = {NULL, NULL};
    int rc = s_check_evidence_votes (self, evidence, votes, reason);
    if (rc == 0) {
        const uint8_t *offender = evidence->vote_a->signer.data;
        char hex [CC_HEX_PUBKEY_SIZE];
        cc_hex_encode (offender, CC_PUBKEY_SIZE, hex);
        const Certchain__ValidatorRecord *record = s_exec_record (self, offender);
        if (memcmp (offender, signer, CC_PUBKEY_SIZE) == 0)
            rc = cc_reason_set (reason, CC_E_SELF_EVIDENCE,
                                "evidence: submitted by the offender itself");
        else
        if (!record)
            rc = cc_reason_set (reason, CC_E_UNKNOWN_NODE,
                                "evidence: %s is not a certified node", hex);
        else
        if (record->status == CERTCHAIN__VALIDATOR_STATUS__BANNED)
            rc = cc_reason_set (reason, CC_E_ALREADY_PUNISHED,
                                "evidence: %s is already banned", hex);
        else {
            char text [128];
            snprintf (text, sizeof (text),
                      "double-signed %s votes at height %" PRIu64 " round %u",
                      votes [0]->type == CERTCHAIN__VOTE_TYPE__PREVOTE ? "prevote"
                                                                       : "precommit",
                      votes [0]->height, votes [0]->round);
            rc = s_change_status (self, record, CERTCHAIN__VALIDATOR_STATUS__BANNED, text,
                                  change, reason);
        }
    }
    for (int index = 0; index < 2; index++)
        if (votes [index])
            certchain__vote__free_unpacked (votes [index], NULL);
    return rc;
}

//  --- Execution ---------------------------------------------------------------------

static cc_exec_t *
s_exec_new (cc_state_t *state, uint64_t height, const uint8_t *proposer)
{
    cc_exec_t *self = (cc_exec_t *) calloc (1, sizeof (cc_exec_t));
    if (!self)
        return NULL;
    self->state = state;
    self->height = height;
    if (proposer)
        memcpy (self->proposer, proposer, CC_PUBKEY_SIZE);
    if (s_accounts_init (&self->accounts, 64, state->cache.key) != 0) {
        free (self);
        return NULL;
    }
    return self;
}

cc_exec_t *
cc_exec_new (cc_state_t *state, uint64_t height, const uint8_t *proposer)
{
    assert (state);
    assert (proposer);
    if (height != state->height + 1)
        return NULL;
    return s_exec_new (state, height, proposer);
}

static void
s_writes_free (cc_exec_t *self)
{
    for (size_t index = 0; index < self->write_count; index++)
        free (self->writes [index].value);
    free (self->writes);
    self->writes = NULL;
    self->write_count = 0;
}

void
cc_exec_destroy (cc_exec_t **self_p)
{
    if (self_p && *self_p) {
        cc_exec_t *self = *self_p;
        s_accounts_fini (&self->accounts);
        s_records_fini (&self->validators);
        free (self->signers);
        cc_valset_destroy (&self->valset_next);
        s_writes_free (self);
        free (self);
        *self_p = NULL;
    }
}

void
cc_exec_set_last_commit_signers (cc_exec_t *self, const uint8_t *signers, size_t count)
{
    free (self->signers);
    self->signers = NULL;
    self->signer_count = 0;
    self->signers_lost = false;
    if (count == 0)
        return;
    //  Out of memory is reported by cc_exec_finish, so a block is never
    //  finished with a different liveness record than other nodes'.
    self->signers = (uint8_t *) malloc (count * CC_PUBKEY_SIZE);
    if (self->signers) {
        memcpy (self->signers, signers, count * CC_PUBKEY_SIZE);
        self->signer_count = count;
    }
    else
        self->signers_lost = true;
}

int
cc_exec_apply (cc_exec_t *self, cc_tx_t *tx, cc_reason_t *reason)
{
    if (self->finished)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "state: block already finished");
    const char *chain_id = cc_genesis_chain_id (self->state->genesis);
    int rc = cc_tx_open (tx, chain_id, false, reason);
    if (rc != 0)
        return rc;
    const Certchain__TxBody *body = cc_tx_body (tx);
    //  A tx opened earlier for another chain is still refused here.
    if (!body->chain_id || strcmp (body->chain_id, chain_id) != 0)
        return cc_reason_set (reason, CC_E_WRONG_CHAIN,
                              "transaction for chain '%s', this chain is '%s'",
                              body->chain_id ? body->chain_id : "", chain_id);
    const uint8_t *signer = cc_tx_signer (tx);
    s_change_t change;
    memset (&change, 0, sizeof (change));
    size_t index;
    rc = s_change_entry (self, &change, signer, &index);
    if (rc != 0)
        return cc_reason_set (reason, rc, "state: account unreadable");
    uint64_t last_nonce = change.entries [0].nonce;
    if (body->nonce <= last_nonce)
        return cc_reason_set (reason, CC_E_NONCE_REPLAY,
                              "nonce %" PRIu64 " already used (last %" PRIu64 ")", body->nonce,
                              last_nonce);
    if (body->nonce - last_nonce > 1)
        return cc_reason_set (reason, CC_E_NONCE_GAP,
                              "nonce %" PRIu64 " but the next is %" PRIu64, body->nonce,
                              last_nonce + 1);
    uint64_t amount = 0;
    switch (body->payload_case) {
        case CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER:
            amount = body->transfer->amount;
            if (amount == 0)
                rc = cc_reason_set (reason, CC_E_ZERO_AMOUNT, "transfer of 0");
            break;
        case CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY:
            rc = s_check_certify (self, signer, body->certify, &change, reason);
            break;
        case CERTCHAIN__TX_BODY__PAYLOAD_REVOKE:
            rc = s_check_revoke (self, signer, body->revoke, &change, reason);
            break;
        case CERTCHAIN__TX_BODY__PAYLOAD_EVIDENCE:
            rc = s_check_evidence (self, signer, body->evidence, &change, reason);
            break;
        case CERTCHAIN__TX_BODY__PAYLOAD_RESIGN:
            rc = s_check_resign (self, signer, &change, reason);
            break;
        default:
            rc = cc_reason_set (reason, CC_E_NO_PAYLOAD, "transaction has no payload");
    }
    //  Money: the signer pays amount + fee, the recipient and proposer
    //  are credited, each sum checked.
    if (rc == 0 && amount > UINT64_MAX - body->fee)
        rc = cc_reason_set (reason, CC_E_AMOUNT_OVERFLOW,
                            "amount %" PRIu64 " + fee %" PRIu64 " overflows", amount,
                            body->fee);
    if (rc == 0 && change.entries [0].balance < amount + body->fee)
        rc = cc_reason_set (reason, CC_E_INSUFFICIENT_BALANCE,
                            "balance %" PRIu64 " below amount + fee %" PRIu64,
                            change.entries [0].balance, amount + body->fee);
    if (rc == 0) {
        change.entries [0].balance -= amount + body->fee;
        change.entries [0].nonce = body->nonce;
        if (amount > 0)
            rc = s_credit (self, &change, body->transfer->to.data, amount, "recipient",
                           reason);
    }
    if (rc == 0 && body->fee > 0)
        rc = s_credit (self, &change, self->proposer, body->fee, "proposer", reason);
    //  Reserve the room for every write, then write: nothing can fail after.
    if (rc == 0 && (s_accounts_reserve (&self->accounts, change.count) != 0
                    || s_records_reserve (&self->validators, 1) != 0))
        rc = cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
    if (rc != 0) {
        if (change.record)
            certchain__validator_record__free_unpacked (change.record, NULL);
        return rc;
    }
    for (index = 0; index < change.count; index++)
        s_accounts_set (&self->accounts, change.entries [index].address,
                        change.entries [index].balance, change.entries [index].nonce,
                        S_SLOT_FOUND);
    if (change.record)
        s_records_put (&self->validators, change.record);
    self->tx_count++;
    return 0;
}

//  --- Execution: end of block ----------------------------------------------------------

//  Replaces the pending record of record's key by a changed copy.
static int
s_exec_put_record (cc_exec_t *self, const Certchain__ValidatorRecord *next)
{
    Certchain__ValidatorRecord *record = s_record_make (next);
    if (!record || s_records_reserve (&self->validators, 1) != 0) {
        if (record)
            certchain__validator_record__free_unpacked (record, NULL);
        return CC_E_NOMEM;
    }
    s_records_put (&self->validators, record);
    return 0;
}

typedef struct {
    uint64_t height;        //  block being finished
    uint32_t jail_after;    //  K
    uint8_t *jailed;        //  pubkeys to jail, 32 bytes each
    size_t count;           //  how many
    int code;               //  first error
} s_jail_t;

static void
s_visit_jail (const Certchain__ValidatorRecord *record, void *argument)
{
    s_jail_t *jail = (s_jail_t *) argument;
    if (!s_record_active (record, jail->height))
        return;
    //  First height whose commit it had to sign and has not: the later of
    //  the height after its last signature and its first height in the set.
    uint64_t first_missed = record->last_signed_height + 1;
    if (record->since_height > first_missed)
        first_missed = record->since_height;
    if (first_missed > jail->height || jail->height - first_missed < jail->jail_after)
        return;
    uint8_t *jailed = (uint8_t *) realloc (jail->jailed, (jail->count + 1) * CC_PUBKEY_SIZE);
    if (!jailed) {
        jail->code = CC_E_NOMEM;
        return;
    }
    jail->jailed = jailed;
    memcpy (jailed + jail->count++ * CC_PUBKEY_SIZE, record->pubkey.data, CC_PUBKEY_SIZE);
}

//  Liveness: records the last commit's signers, then jails the absent.
static int
s_exec_liveness (cc_exec_t *self)
{
    if (self->height < 2)
        return 0;   //  no commit before block 2's last commit (height 1)
    for (size_t index = 0; index < self->signer_count; index++) {
        const Certchain__ValidatorRecord *record
            = s_exec_record (self, self->signers + index * CC_PUBKEY_SIZE);
        if (record && record->last_signed_height < self->height - 1) {
            Certchain__ValidatorRecord next = *record;
            next.last_signed_height = self->height - 1;
            if (s_exec_put_record (self, &next) != 0)
                return CC_E_NOMEM;
        }
    }
    uint32_t jail_after = s_params (self->state->genesis)->jail_after;
    if (jail_after == 0)
        return 0;
    s_jail_t jail = {self->height, jail_after, NULL, 0, 0};
    s_exec_visit (self->state, self, s_visit_jail, &jail);
    char text [64];
    snprintf (text, sizeof (text), "absent from the last %u commits", jail_after);
    for (size_t index = 0; index < jail.count && jail.code == 0; index++) {
        Certchain__ValidatorRecord next
            = *s_exec_record (self, jail.jailed + index * CC_PUBKEY_SIZE);
        next.status = CERTCHAIN__VALIDATOR_STATUS__JAILED;
        next.reason = text;
        next.status_height = self->height;
        jail.code = s_exec_put_record (self, &next);
    }
    free (jail.jailed);
    return jail.code;
}

static int
s_write_compare (const void *a, const void *b)
{
    const s_write_t *left = (const s_write_t *) a, *right = (const s_write_t *) b;
    size_t size = left->key_size < right->key_size ? left->key_size : right->key_size;
    int order = memcmp (left->key, right->key, size);
    if (order != 0)
        return order;
    return left->key_size < right->key_size ? -1 : left->key_size > right->key_size;
}

//  Builds W (sorted) from the pending accounts, the snapshot and the
//  pending records.
static int
s_exec_build_writes (cc_exec_t *self)
{
    size_t total = self->accounts.count + self->validators.count + 1;
    self->writes = (s_write_t *) calloc (total, sizeof (s_write_t));
    if (!self->writes)
        return CC_E_NOMEM;
    for (size_t index = 0; index < self->accounts.capacity; index++) {
        const s_account_t *slot = &self->accounts.slots [index];
        if (slot->slot != S_SLOT_FOUND)
            continue;
        s_write_t *write = &self->writes [self->write_count++];
        write->key_size = s_key ('a', slot->address, write->key);
        Certchain__Account account = CERTCHAIN__ACCOUNT__INIT;
        account.balance = slot->balance;
        account.nonce = slot->nonce;
        write->value_size = certchain__account__get_packed_size (&account);
        write->value = (uint8_t *) malloc (write->value_size ? write->value_size : 1);
        if (!write->value)
            return CC_E_NOMEM;
        certchain__account__pack (&account, write->value);
    }
    if (self->valset_changed) {
        s_write_t *write = &self->writes [self->write_count++];
        write->key [0] = 's';
        cc_be64_put (write->key + 1, self->height + 1);
        write->key_size = 9;
        size_t count = cc_valset_size (self->valset_next);
        write->value_size = count * CC_PUBKEY_SIZE;
        write->value = (uint8_t *) malloc (write->value_size ? write->value_size : 1);
        if (!write->value)
            return CC_E_NOMEM;
        for (size_t index = 0; index < count; index++)
            memcpy (write->value + index * CC_PUBKEY_SIZE,
                    cc_valset_member (self->valset_next, index), CC_PUBKEY_SIZE);
    }
    for (size_t index = 0; index < self->validators.count; index++) {
        const Certchain__ValidatorRecord *record = self->validators.items [index];
        s_write_t *write = &self->writes [self->write_count++];
        write->key_size = s_key ('v', record->pubkey.data, write->key);
        if (cc_codec_pack (&record->base, S_RECORD_MAX, &write->value, &write->value_size) != 0)
            return CC_E_NOMEM;
    }
    qsort (self->writes, self->write_count, sizeof (s_write_t), s_write_compare);
    return 0;
}

//  app_hash = H(previous || H(W)).
static void
s_exec_hash (cc_exec_t *self, const uint8_t *previous)
{
    crypto_generichash_state hasher;
    crypto_generichash_init (&hasher, NULL, 0, CC_HASH_SIZE);
    for (size_t index = 0; index < self->write_count; index++) {
        const s_write_t *write = &self->writes [index];
        uint8_t size [4];
        cc_be32_put (size, (uint32_t) write->key_size);
        crypto_generichash_update (&hasher, size, 4);
        crypto_generichash_update (&hasher, write->key, write->key_size);
        cc_be32_put (size, (uint32_t) write->value_size);
        crypto_generichash_update (&hasher, size, 4);
        crypto_generichash_update (&hasher, write->value, write->value_size);
    }
    uint8_t writes_hash [CC_HASH_SIZE];
    crypto_generichash_final (&hasher, writes_hash, CC_HASH_SIZE);
    cc_hash2 (previous, CC_HASH_SIZE, writes_hash, CC_HASH_SIZE, self->app_hash);
}

int
cc_exec_finish (cc_exec_t *self, uint8_t *app_hash)
{
    if (self->finished)
        return CC_E_INVALID_ARG;
    cc_state_t *state = self->state;
    if (self->signers_lost)
        return CC_E_NOMEM;
    int rc = s_exec_liveness (self);
    if (rc != 0)
        return rc;
    self->valset_next = s_valset_build (state, self, self->height + 1);
    if (!self->valset_next)
        return CC_E_NOMEM;
    self->valset_changed = !state->valset_next
                           || !cc_valset_equal (state->valset_next, self->valset_next);
    rc = s_exec_build_writes (self);
    //  Room in the state for the commit, which cannot fail.
    if (rc == 0)
        rc = s_records_reserve (&state->validators, self->validators.count);
    if (rc == 0 && self->valset_changed)
        rc = s_snapshot_reserve (state);
    if (rc != 0) {
        s_writes_free (self);
        cc_valset_destroy (&self->valset_next);
        return rc;
    }
    s_exec_hash (self, state->app_hash);
    self->finished = true;
    if (app_hash)
        memcpy (app_hash, self->app_hash, CC_HASH_SIZE);
    return 0;
}

size_t
cc_exec_tx_count (cc_exec_t *self)
{
    return self->tx_count;
}

int
cc_exec_account (cc_exec_t *self, const uint8_t *address, uint64_t *balance, uint64_t *nonce)
{
    bool found = false;
    *balance = *nonce = 0;
    int rc = s_exec_read (self, address, balance, nonce, &found);
    if (rc != 0)
        return rc;
    return found ? 0 : CC_E_NOT_FOUND;
}

int
cc_exec_write (cc_exec_t *self, cc_batch_t *batch)
{
    if (!self->finished)
        return CC_E_INVALID_ARG;
    int family = self->state->family;
    for (size_t index = 0; index < self->write_count; index++) {
        const s_write_t *write = &self->writes [index];
        cc_batch_put (batch, family, write->key, write->key_size, write->value,
                      write->value_size);
    }
    uint8_t height [8];
    cc_be64_put (height, self->height);
    cc_batch_put (batch, family, s_meta_height, strlen (s_meta_height), height, 8);
    cc_batch_put (batch, family, s_meta_app_hash, strlen (s_meta_app_hash), self->app_hash,
                  CC_HASH_SIZE);
    cc_batch_put (batch, family, s_meta_genesis, strlen (s_meta_genesis),
                  cc_genesis_hash (self->state->genesis), CC_HASH_SIZE);
    return 0;
}

void
cc_state_commit (cc_state_t *self, cc_exec_t **exec_p)
{
    assert (exec_p && *exec_p);
    cc_exec_t *exec = *exec_p;
    assert (exec->state == self);
    assert (exec->finished);
    //  Genesis (height 0) is committed by an empty state.
    assert (exec->height == self->height + 1 || (exec->height == 0 && !self->valset_next));
    for (size_t index = 0; index < exec->validators.count; index++)
        s_records_put (&self->validators, exec->validators.items [index]);
    exec->validators.count = 0;
    for (size_t index = 0; index < exec->accounts.capacity; index++) {
        const s_account_t *slot = &exec->accounts.slots [index];
        if (slot->slot != S_SLOT_FOUND)
            continue;
        if (!s_accounts_find (&self->cache, slot->address)
            && self->cache.count >= S_CACHE_MAX)
            s_accounts_clear (&self->cache);
        s_accounts_set (&self->cache, slot->address, slot->balance, slot->nonce,
                        S_SLOT_FOUND);
    }
    if (exec->valset_changed) {
        int rc = s_snapshot_append (self, exec->height + 1);
        assert (rc == 0);   //  room reserved by cc_exec_finish
        (void) rc;
    }
    cc_valset_destroy (&self->valset_next);
    self->valset_next = exec->valset_next;
    exec->valset_next = NULL;
    self->height = exec->height;
    memcpy (self->app_hash, exec->app_hash, CC_HASH_SIZE);
    cc_exec_destroy (exec_p);
}

//  --- Genesis state -----------------------------------------------------------------

//  Writes and commits the genesis state (height 0) into an empty store.
static int
s_exec_genesis (cc_state_t *self, cc_reason_t *reason)
{
    const Certchain__Genesis *genesis = cc_genesis_proto (self->genesis);
    cc_exec_t *exec = s_exec_new (self, 0, NULL);
    if (!exec)
        return cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
    int rc = 0;
    for (size_t index = 0; index < genesis->n_accounts && rc == 0; index++) {
        const Certchain__GenesisAccount *account = genesis->accounts [index];
        if (!cc_bytes_sized (account->address, CC_PUBKEY_SIZE))
            rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: account %zu: bad address",
                                index + 1);
        else
        if (s_accounts_find (&exec->accounts, account->address.data))
            rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: account %zu: listed twice",
                                index + 1);
        else
        if (s_accounts_reserve (&exec->accounts, 1) != 0)
            rc = cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
        else
            s_accounts_set (&exec->accounts, account->address.data, account->balance, 0,
                            S_SLOT_FOUND);
    }
    for (size_t index = 0; index < genesis->n_validators && rc == 0; index++) {
        const Certchain__GenesisValidator *validator = genesis->validators [index];
        if (!cc_bytes_sized (validator->pubkey, CC_PUBKEY_SIZE)) {
            rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: validator %zu: bad key",
                                index + 1);
            break;
        }
        Certchain__ValidatorRecord record = CERTCHAIN__VALIDATOR_RECORD__INIT;
        record.pubkey = validator->pubkey;
        record.status = CERTCHAIN__VALIDATOR_STATUS__ACTIVE;
        record.since_height = 1;
        record.valid_until = UINT64_MAX;
        record.profile = validator->profile;
        if (s_exec_put_record (exec, &record) != 0)
            rc = cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
    }
    if (rc == 0 && (rc = cc_exec_finish (exec, NULL)) != 0)
        cc_reason_set (reason, rc, "state: genesis state: %s", cc_error_message (rc));
    cc_batch_t *batch = rc == 0 ? cc_store_batch (self->store) : NULL;
    if (rc == 0 && !batch)
        rc = cc_reason_set (reason, CC_E_NOMEM, "state: out of memory");
    if (rc == 0 && (rc = cc_exec_write (exec, batch)) == 0
        && (rc = cc_store_commit (self->store, &batch, true)) != 0)
        cc_reason_set (reason, rc, "state: cannot write the genesis state");
    cc_batch_destroy (&batch);
    if (rc == 0)
        cc_state_commit (self, &exec);
    cc_exec_destroy (&exec);
    return rc;
}
