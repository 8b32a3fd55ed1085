/*  =========================================================================
    workload - accounts and pre-signed transfer batches (see workload.h)

    DESIGN: batches are the unit of work of the signing threads: thread t
    builds batches t, t + T, t + 2T, ... and for each one creates its
    transfers (cc_tx_new), packs the Request and keeps only the packed
    bytes and the hashes, destroying the transactions at once; so memory
    holds one batch of live transactions per thread, not the whole run.
    Finding a transfer by hash (for every transaction of every block the
    bench reads back) is a binary search over a sorted array of
    (first 8 bytes of the hash, index), the full hash compared on a match.
    =========================================================================
*/

#include "workload.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "rpc.h"
#include "tx.h"

struct _cc_bench_accounts_t {
    size_t count;               //  number of accounts
    cc_keypair_t **keys;        //  their key pairs (owned)
    uint8_t *publics;           //  their public keys, contiguous
    uint64_t *nonces;           //  last nonce used by each
};

//  One entry of the lookup table.
typedef struct {
    uint64_t prefix;            //  first 8 bytes of the hash
    uint32_t index;             //  the transfer
} s_entry_t;

struct _cc_bench_txset_t {
    size_t count;               //  transfers
    size_t batch;               //  transfers per request (the last may hold fewer)
    size_t batches;             //  requests
    uint8_t *hashes;            //  count * 32 bytes
    uint8_t **requests;         //  packed Request of each batch (owned)
    size_t *request_sizes;      //  their sizes
    s_entry_t *table;           //  sorted lookup table
    double sign_seconds;        //  time spent building
};

//  --- Accounts ---------------------------------------------------------------------------

cc_bench_accounts_t *
cc_bench_accounts_new (size_t count)
{
    cc_bench_accounts_t *self = (cc_bench_accounts_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    self->count = count;
    self->keys = (cc_keypair_t **) calloc (count ? count : 1, sizeof (cc_keypair_t *));
    self->publics = (uint8_t *) calloc (count ? count : 1, CC_PUBKEY_SIZE);
    self->nonces = (uint64_t *) calloc (count ? count : 1, sizeof (uint64_t));
    bool ok = self->keys && self->publics && self->nonces;
    for (size_t index = 0; ok && index < count; index++) {
        self->keys [index] = cc_keypair_new ();
        ok = self->keys [index] != NULL;
        if (ok)
            memcpy (self->publics + index * CC_PUBKEY_SIZE,
                    cc_keypair_public (self->keys [index]), CC_PUBKEY_SIZE);
    }
    if (!ok)
        cc_bench_accounts_destroy (&self);
    return self;
}

void
cc_bench_accounts_destroy (cc_bench_accounts_t **self_p)
{
    assert (self_p);
    cc_bench_accounts_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; self->keys && index < self->count; index++)
        cc_keypair_destroy (&self->keys [index]);
    free (self->keys);
    free (self->publics);
    free (self->nonces);
    free (self);
    *self_p = NULL;
}

size_t
cc_bench_accounts_size (cc_bench_accounts_t *self)
{
    assert (self);
    return self->count;
}

const uint8_t *
cc_bench_accounts_publics (cc_bench_accounts_t *self)
{
    assert (self);
    return self->publics;
}

cc_keypair_t *
cc_bench_accounts_key (cc_bench_accounts_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->keys [index];
}

uint64_t
cc_bench_accounts_nonce (cc_bench_accounts_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->nonces [index];
}

//  --- Building a transfer set --------------------------------------------------------------

//  What one signing thread needs.
typedef struct {
    pthread_t thread;                   //  the thread
    cc_bench_txset_t *set;              //  the set being built
    cc_bench_accounts_t *accounts;      //  signers (read-only here)
    size_t first;                       //  first account of the range
    size_t span;                        //  accounts in the range
    const char *chain_id;               //  the chain
    size_t start;                       //  first batch of this thread
    size_t stride;                      //  batches between two of this thread's
    cc_keypair_t *payer;                //  funding: the one sender, else NULL
    uint64_t payer_nonce;               //  funding: the payer's last nonce
    uint64_t amount;                    //  amount of each transfer
    int rc;                             //  0, or the first failure
} s_signer_t;

//  Builds, signs and packs batch number batch. 0 or error.
static int
s_build_batch (s_signer_t *self, size_t batch)
{
    cc_bench_txset_t *set = self->set;
    size_t first = batch * set->batch;
    size_t count = set->count - first < set->batch ? set->count - first : set->batch;
    cc_tx_t **txs = (cc_tx_t **) calloc (count, sizeof (cc_tx_t *));
    Certchain__Signed **envelopes = (Certchain__Signed **) calloc (count,
                                                                   sizeof (Certchain__Signed *));
    int rc = txs && envelopes ? 0 : CC_E_NOMEM;
    for (size_t offset = 0; rc == 0 && offset < count; offset++) {
        size_t index = first + offset;
        size_t sender = self->first + index % self->span;
        size_t recipient = self->first + (index + 1) % self->span;
        Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
        cc_keypair_t *key = self->accounts->keys [sender];
        body.nonce = self->accounts->nonces [sender] + 1 + index / self->span;
        if (self->payer) {
            key = self->payer;
            recipient = self->first + index;
            body.nonce = self->payer_nonce + 1 + index;
        }
        Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
        transfer.to = cc_bytes_view (self->accounts->publics + recipient * CC_PUBKEY_SIZE,
                                     CC_PUBKEY_SIZE);
        transfer.amount = self->amount;
        body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
        body.transfer = &transfer;
        txs [offset] = cc_tx_new (key, self->chain_id, &body);
        if (!txs [offset]) {
            rc = CC_E_INTERNAL;
            break;
        }
        envelopes [offset] = (Certchain__Signed *) cc_tx_envelope (txs [offset]);
        memcpy (set->hashes + index * CC_HASH_SIZE, cc_tx_hash (txs [offset]), CC_HASH_SIZE);
    }
    if (rc == 0) {
        Certchain__SubmitTxBatch submit = CERTCHAIN__SUBMIT_TX_BATCH__INIT;
        submit.n_txs = count;
        submit.txs = envelopes;
        Certchain__Request request = CERTCHAIN__REQUEST__INIT;
        request.id = batch + 1;
        request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX_BATCH;
        request.submit_tx_batch = &submit;
        rc = cc_codec_pack (&request.base, CC_MAX_MESSAGE_SIZE, &set->requests [batch],
                            &set->request_sizes [batch]);
    }
    for (size_t offset = 0; txs && offset < count; offset++)
        cc_tx_destroy (&txs [offset]);
    free (txs);
    free (envelopes);
    return rc;
}

static void *
s_signer_run (void *argument)
{
    s_signer_t *self = (s_signer_t *) argument;
    for (size_t batch = self->start; self->rc == 0 && batch < self->set->batches;
         batch += self->stride)
        self->rc = s_build_batch (self, batch);
    return NULL;
}

static int
s_compare_entry (const void *a, const void *b)
{
    const s_entry_t *left = (const s_entry_t *) a;
    const s_entry_t *right = (const s_entry_t *) b;
    return left->prefix < right->prefix ? -1 : left->prefix > right->prefix ? 1 : 0;
}

static uint64_t
s_prefix (const uint8_t *hash)
{
    uint64_t prefix;
    memcpy (&prefix, hash, sizeof (prefix));
    return prefix;
}

//  Builds a set: transfers within [first, first + span), or (payer not
//  NULL) from payer to each account of the range.
static cc_bench_txset_t *
s_txset_build (cc_bench_accounts_t *accounts, size_t first, size_t span, const char *chain_id,
               size_t count, size_t batch, size_t threads, cc_keypair_t *payer,
               uint64_t payer_nonce, uint64_t amount, cc_reason_t *reason)
{
    assert (accounts);
    assert (chain_id);
    if (span == 0 || first + span > accounts->count || count == 0 || batch == 0
        || count > UINT32_MAX) {
        cc_reason_set (reason, CC_E_INVALID_ARG, "transfer set: bad account range or count");
        return NULL;
    }
    if (threads == 0) {
        long online = sysconf (_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? (size_t) online : 1;
    }
    cc_bench_txset_t *self = (cc_bench_txset_t *) calloc (1, sizeof (*self));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    struct timespec started, ended;
    clock_gettime (CLOCK_MONOTONIC, &started);
    self->count = count;
    self->batch = batch;
    self->batches = (count + batch - 1) / batch;
    self->hashes = (uint8_t *) calloc (count, CC_HASH_SIZE);
    self->requests = (uint8_t **) calloc (self->batches, sizeof (uint8_t *));
    self->request_sizes = (size_t *) calloc (self->batches, sizeof (size_t));
    self->table = (s_entry_t *) calloc (count, sizeof (s_entry_t));
    s_signer_t *signers = (s_signer_t *) calloc (threads, sizeof (s_signer_t));
    if (!self->hashes || !self->requests || !self->request_sizes || !self->table || !signers) {
        free (signers);
        cc_bench_txset_destroy (&self);
        cc_reason_set (reason, CC_E_NOMEM, "out of memory for %zu transfers", count);
        return NULL;
    }
    size_t running = 0;
    for (; running < threads; running++) {
        s_signer_t *signer = &signers [running];
        signer->set = self;
        signer->accounts = accounts;
        signer->first = first;
        signer->span = span;
        signer->chain_id = chain_id;
        signer->start = running;
        signer->stride = threads;
        signer->payer = payer;
        signer->payer_nonce = payer_nonce;
        signer->amount = amount;
        if (pthread_create (&signer->thread, NULL, s_signer_run, signer) != 0)
            break;
    }
    int rc = running == threads ? 0 : CC_E_INTERNAL;
    for (size_t index = 0; index < running; index++) {
        pthread_join (signers [index].thread, NULL);
        if (rc == 0)
            rc = signers [index].rc;
    }
    free (signers);
    if (rc != 0) {
        cc_bench_txset_destroy (&self);
        cc_reason_set (reason, rc, "signing the transfers: %s", cc_error_message (rc));
        return NULL;
    }
    //  The accounts' nonces move past what the set used.
    for (size_t offset = 0; !payer && offset < span; offset++)
        accounts->nonces [first + offset] += count / span + (offset < count % span ? 1 : 0);
    for (size_t index = 0; index < count; index++) {
        self->table [index].prefix = s_prefix (self->hashes + index * CC_HASH_SIZE);
        self->table [index].index = (uint32_t) index;
    }
    qsort (self->table, count, sizeof (s_entry_t), s_compare_entry);
    clock_gettime (CLOCK_MONOTONIC, &ended);
    self->sign_seconds = (double) (ended.tv_sec - started.tv_sec)
                       + (double) (ended.tv_nsec - started.tv_nsec) / 1e9;
    return self;
}

cc_bench_txset_t *
cc_bench_txset_new (cc_bench_accounts_t *accounts, size_t first, size_t span,
                    const char *chain_id, size_t count, size_t batch, size_t threads,
                    cc_reason_t *reason)
{
    return s_txset_build (accounts, first, span, chain_id, count, batch, threads, NULL, 0, 1,
                          reason);
}

cc_bench_txset_t *
cc_bench_txset_new_funding (cc_bench_accounts_t *accounts, cc_keypair_t *payer,
                            uint64_t payer_nonce, uint64_t amount, const char *chain_id,
                            size_t batch, cc_reason_t *reason)
{
    assert (payer);
    return s_txset_build (accounts, 0, accounts->count, chain_id, accounts->count, batch, 0,
                          payer, payer_nonce, amount, reason);
}

void
cc_bench_txset_destroy (cc_bench_txset_t **self_p)
{
    assert (self_p);
    cc_bench_txset_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; self->requests && index < self->batches; index++)
        free (self->requests [index]);
    free (self->requests);
    free (self->request_sizes);
    free (self->hashes);
    free (self->table);
    free (self);
    *self_p = NULL;
}

//  --- Reading ----------------------------------------------------------------------------------

size_t
cc_bench_txset_size (cc_bench_txset_t *self)
{
    assert (self);
    return self->count;
}

size_t
cc_bench_txset_batches (cc_bench_txset_t *self)
{
    assert (self);
    return self->batches;
}

size_t
cc_bench_txset_batch_first (cc_bench_txset_t *self, size_t batch)
{
    assert (self);
    assert (batch < self->batches);
    return batch * self->batch;
}

size_t
cc_bench_txset_batch_count (cc_bench_txset_t *self, size_t batch)
{
    assert (self);
    assert (batch < self->batches);
    size_t first = batch * self->batch;
    return self->count - first < self->batch ? self->count - first : self->batch;
}

const uint8_t *
cc_bench_txset_request (cc_bench_txset_t *self, size_t batch, size_t *size_p)
{
    assert (self);
    assert (batch < self->batches);
    *size_p = self->request_sizes [batch];
    return self->requests [batch];
}

const uint8_t *
cc_bench_txset_hash (cc_bench_txset_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->hashes + index * CC_HASH_SIZE;
}

int
cc_bench_txset_find (cc_bench_txset_t *self, const uint8_t *hash, size_t *index_p)
{
    assert (self);
    uint64_t prefix = s_prefix (hash);
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (self->table [middle].prefix < prefix)
            low = middle + 1;
        else
            high = middle;
    }
    for (; low < self->count && self->table [low].prefix == prefix; low++) {
        size_t index = self->table [low].index;
        if (memcmp (self->hashes + index * CC_HASH_SIZE, hash, CC_HASH_SIZE) == 0) {
            *index_p = index;
            return 0;
        }
    }
    return CC_E_NOT_FOUND;
}

double
cc_bench_txset_sign_seconds (cc_bench_txset_t *self)
{
    assert (self);
    return self->sign_seconds;
}
