/*  =========================================================================
    ceiling - Ed25519 verifications per second on this machine (see
    ceiling.h)

    Each thread signs one message of its own (a transfer body behind the
    tx domain and a chain id, as cc_verify builds it) and verifies it in a
    loop until the common deadline, counting. The deadline is checked every
    64 verifications so the clock read costs nothing next to them.
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

//  One verifying thread.
typedef struct {
    pthread_t thread;                   //  the thread
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
    uint8_t public_key [crypto_sign_PUBLICKEYBYTES];
    uint8_t secret_key [crypto_sign_SECRETKEYBYTES];
    uint8_t message [S_MESSAGE_SIZE];
    uint8_t signature [crypto_sign_BYTES];
    crypto_sign_keypair (public_key, secret_key);
    randombytes_buf (message, sizeof (message));
    memcpy (message, "certchain/tx/1bench-chain", 25);
    crypto_sign_detached (signature, NULL, message, sizeof (message), secret_key);
    sodium_memzero (secret_key, sizeof (secret_key));
    uint64_t count = 0;
    while (s_now_ns () < self->deadline_ns) {
        for (int index = 0; index < S_STRIDE; index++)
            if (crypto_sign_verify_detached (signature, message, sizeof (message),
                                             public_key) != 0)
                atomic_store (self->failed, true);
        count += S_STRIDE;
    }
    self->count = count;
    return NULL;
}

//  Runs threads workers for duration_ms; *rate gets verifications/s.
static int
s_measure (size_t threads, int duration_ms, double *rate)
{
    s_worker_t *workers = (s_worker_t *) calloc (threads, sizeof (s_worker_t));
    if (!workers)
        return CC_E_NOMEM;
    atomic_bool failed = false;
    int64_t started = s_now_ns ();
    int64_t deadline = started + (int64_t) duration_ms * 1000000;
    size_t running = 0;
    for (; running < threads; running++) {
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
    int rc = s_measure (1, duration_ms, &ceiling->one_core);
    if (rc == 0)
        rc = s_measure (threads, duration_ms, &ceiling->all_cores);
    return rc;
}

double
cc_bench_ceiling_tx (const cc_bench_ceiling_t *ceiling, size_t members, size_t verifiers)
{
    size_t per_tx = members + verifiers;
    return per_tx ? ceiling->all_cores / (double) per_tx : 0;
}
