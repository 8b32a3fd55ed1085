/*  =========================================================================
    ceiling - Ed25519 verifications per second on this machine (see
    ceiling.h)

    A set of distinct signed messages is made once per measurement: each
    message is the size of what a transfer's signature covers (the tx
    domain, a chain id and a transfer body), signed by one of a few hundred
    keys, as a block's transactions are signed by many accounts. Each
    thread verifies the set in turn from its own starting point until the
    common deadline, counting. The deadline is checked every 64
    verifications so the clock read costs nothing next to them.

    DESIGN: distinct signatures, not one signature verified over and over.
    libsodium's verification runs in variable time: the same signature,
    key and message take the same branches every time, and the processor
    learns them, so a loop over one signature runs 4-9% faster than any
    node can verify the distinct signatures it receives. The one-signature
    figure is still measured, and every ratio is reported against it too,
    so the two yardsticks can be compared; the targets are judged against
    the ceiling of distinct signatures.
    =========================================================================
*/

#include "ceiling.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

//  The signed message: about the size of what a transfer's signature
//  covers ("certchain/tx/1" || chain id || a TxBody with a transfer).
#define S_MESSAGE_SIZE 160
//  Verifications between two looks at the clock.
#define S_STRIDE 64
//  Distinct signed messages in the set, and the keys that signed them.
#define S_SET_SIZE 4096
#define S_SIGNERS 512

//  One signed message of the set.
typedef struct {
    uint8_t public_key [crypto_sign_PUBLICKEYBYTES];
    uint8_t signature [crypto_sign_BYTES];
    uint8_t message [S_MESSAGE_SIZE];
} s_signed_t;

//  One verifying thread.
typedef struct {
    pthread_t thread;                   //  the thread
    const s_signed_t *set;              //  what it verifies (shared, read only)
    size_t set_size;                    //  entries in set
    size_t first;                       //  where in the set it starts
    int64_t deadline_ns;                //  stop at this monotonic time
    atomic_bool *failed;                //  set when a signature did not verify
    uint64_t count;                     //  verifications done
} s_worker_t;

static int64_t
s_now_ns (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
}

static void *
s_worker_run (void *argument)
{
    s_worker_t *self = (s_worker_t *) argument;
    size_t next = self->first;
    uint64_t count = 0;
    while (s_now_ns () < self->deadline_ns) {
        for (int index = 0; index < S_STRIDE; index++) {
            const s_signed_t *entry = &self->set [next];
            if (crypto_sign_verify_detached (entry->signature, entry->message,
                                             sizeof (entry->message), entry->public_key) != 0)
                atomic_store (self->failed, true);
            if (++next == self->set_size)
                next = 0;
        }
        count += S_STRIDE;
    }
    self->count = count;
    return NULL;
}

//  A set of size signed messages from up to S_SIGNERS keys; NULL if memory
//  runs out. The caller frees it.
static s_signed_t *
s_set_new (size_t size)
{
    s_signed_t *set = (s_signed_t *) calloc (size, sizeof (s_signed_t));
    size_t signers = size < S_SIGNERS ? size : S_SIGNERS;
    uint8_t *secret_keys = (uint8_t *) sodium_malloc (signers * crypto_sign_SECRETKEYBYTES);
    if (!set || !secret_keys) {
        free (set);
        if (secret_keys)
            sodium_free (secret_keys);
        return NULL;
    }
    for (size_t index = 0; index < signers; index++)
        crypto_sign_keypair (set [index].public_key,
                             secret_keys + index * crypto_sign_SECRETKEYBYTES);
    for (size_t index = 0; index < size; index++) {
        s_signed_t *entry = &set [index];
        const uint8_t *secret_key = secret_keys + (index % signers) * crypto_sign_SECRETKEYBYTES;
        if (index >= signers)
            memcpy (entry->public_key, set [index % signers].public_key,
                    sizeof (entry->public_key));
        randombytes_buf (entry->message, sizeof (entry->message));
        memcpy (entry->message, "certchain/tx/1bench-chain", 25);
        crypto_sign_detached (entry->signature, NULL, entry->message, sizeof (entry->message),
                              secret_key);
    }
    sodium_free (secret_keys);
    return set;
}

//  Runs threads workers over the first set_size entries of set for
//  duration_ms; *rate gets verifications/s.
static int
s_measure (const s_signed_t *set, size_t set_size, size_t threads, int duration_ms,
           double *rate)
{
    s_worker_t *workers = (s_worker_t *) calloc (threads, sizeof (s_worker_t));
    if (!workers)
        return CC_E_NOMEM;
    atomic_bool failed = false;
    int64_t started = s_now_ns ();
    int64_t deadline = started + (int64_t) duration_ms * 1000000;
    size_t running = 0;
    for (; running < threads; running++) {
        workers [running].set = set;
        workers [running].set_size = set_size;
        workers [running].first = running * set_size / threads;
        workers [running].deadline_ns = deadline;
        workers [running].failed = &failed;
        if (pthread_create (&workers [running].thread, NULL, s_worker_run,
                            &workers [running]) != 0)
            break;
    }
    uint64_t total = 0;
    for (size_t index = 0; index < running; index++) {
        pthread_join (workers [index].thread, NULL);
        total += workers [index].count;
    }
    int64_t elapsed = s_now_ns () - started;
    free (workers);
    if (running < threads || atomic_load (&failed))
        return CC_E_INTERNAL;
    *rate = elapsed > 0 ? (double) total * 1e9 / (double) elapsed : 0;
    return 0;
}

int
cc_bench_ceiling_measure (size_t threads, int duration_ms, cc_bench_ceiling_t *ceiling)
{
    memset (ceiling, 0, sizeof (*ceiling));
    if (sodium_init () < 0)
        return CC_E_INTERNAL;
    if (threads == 0) {
        long online = sysconf (_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? (size_t) online : 1;
    }
    ceiling->threads = threads;
    ceiling->duration_s = (double) duration_ms / 1000.0;
    ceiling->signatures = S_SET_SIZE;
    s_signed_t *set = s_set_new (S_SET_SIZE);
    if (!set)
        return CC_E_NOMEM;
    int rc = s_measure (set, S_SET_SIZE, 1, duration_ms, &ceiling->one_core);
    if (rc == 0)
        rc = s_measure (set, S_SET_SIZE, threads, duration_ms, &ceiling->all_cores);
    if (rc == 0)
        rc = s_measure (set, 1, threads, duration_ms, &ceiling->all_cores_one_signature);
    free (set);
    return rc;
}

double
cc_bench_ceiling_tx (const cc_bench_ceiling_t *ceiling, size_t members, size_t verifiers)
{
    size_t per_tx = members + verifiers;
    return per_tx ? ceiling->all_cores / (double) per_tx : 0;
}
