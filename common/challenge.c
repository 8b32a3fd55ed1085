/*  =========================================================================
    challenge - issue, solve and verify the join protocol's timed challenge

    See challenge.h for the computation. The solver is a small pool of
    pthreads sharing one atomic packet counter: each thread takes the next
    unsolved packet, runs Argon2id on it (crypto_pwhash allocates the memory
    for that one evaluation, so a thread holds at most one Argon2 memory
    block at a time) and searches its nonce. Proof-of-work time varies a lot
    between packets (it is geometric), so taking packets one by one balances
    the threads better than a fixed split. The caller's thread is worker 0;
    if the system refuses more threads the ones that started do the work.
    Verification computes its Argon2 sample the same way on two threads,
    the caller's and one helper kept off the caller's CPU, and judges the
    results in the order the packets were drawn.

    DESIGN: nothing here is global. All solve state is in one s_solve_t on
    the caller's stack, results go to the response slot of each packet, and
    per-thread counters are summed after the threads are joined, so several
    solves (and verifies) may run at once in one process.
    =========================================================================
*/

#include "challenge.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  Domain string of the salt derivation; versioned like signature domains.
#define S_SALT_DOMAIN "certchain/challenge-salt/1"
//  Proof-of-work input: x || node key || nonce (8 bytes little-endian).
#define S_POW_INPUT_SIZE (CC_CHALLENGE_X_SIZE + CC_PUBKEY_SIZE + 8)
//  The solver looks at the stop flag and the clock every this many hashes
//  (about 15 ms of hashing on one core).
#define S_POLL_MASK 0xffffu
//  Largest serialized answer accepted: per packet x (34 bytes with its tag),
//  a nonce (up to 11) and the submessage header (2), with room to spare.
#define S_RESPONSE_MAX_SIZE (128 + CC_CHALLENGE_MAX_PACKETS * 64)

//  Shared state of one solve.
typedef struct {
    const Certchain__Challenge *challenge;      //  what is solved (borrowed)
    const uint8_t *node_key;                    //  the candidate's key (borrowed)
    uint8_t salt [CC_CHALLENGE_SALT_SIZE];      //  Argon2id salt of (id, node key)
    Certchain__ChallengeResponse *response;     //  answers, one slot per packet
    uint64_t started_ms;                        //  monotonic start of the solve
    uint64_t budget_ms;                         //  time the challenge allows
    atomic_size_t next_packet;                  //  next packet to take
    atomic_int status;                          //  first error; non-zero stops all
} s_solve_t;

//  One worker thread of a solve.
typedef struct {
    s_solve_t *solve;               //  shared state
    pthread_t thread;               //  the thread, when started
    bool started;                   //  true if pthread_create succeeded
    uint64_t hashes;                //  proof-of-work hashes this worker tried
    uint64_t argon2_evaluations;    //  Argon2id evaluations this worker did
} s_worker_t;

//  --- Helpers -------------------------------------------------------------------

static int
s_sodium_ready (void)
{
    return sodium_init () >= 0 ? 0 : CC_E_INTERNAL;
}

static double
s_monotonic_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec * 1000.0 + (double) now.tv_nsec / 1e6;
}

//  CPUs this process may run on: the affinity mask respects a container's
//  or taskset's limit, where the online count would not.
static size_t
s_cpu_count (void)
{
    cpu_set_t set;
    CPU_ZERO (&set);
    if (sched_getaffinity (0, sizeof (set), &set) == 0 && CPU_COUNT (&set) > 0)
        return (size_t) CPU_COUNT (&set);
    long online = sysconf (_SC_NPROCESSORS_ONLN);
    return online > 0 ? (size_t) online : 1;
}

//  True if hash starts with at least bits zero bits.
static bool
s_leading_zeros (const uint8_t *hash, uint32_t bits)
{
    if (bits > 8 * CC_HASH_SIZE)
        return false;
    size_t full = bits / 8;
    for (size_t index = 0; index < full; index++)
        if (hash [index])
            return false;
    unsigned rest = bits % 8;
    return rest == 0 || (hash [full] >> (8 - rest)) == 0;
}

static void
s_put_le64 (uint8_t *target, uint64_t value)
{
    for (int index = 0; index < 8; index++)
        target [index] = (uint8_t) (value >> (8 * index));
}

//  x = Argon2id (seed, salt); 0 or NOMEM (the only way it fails once the
//  limits were checked).
static int
s_argon2 (const uint8_t *seed, const uint8_t *salt, uint32_t ops, uint32_t memory_kib,
          uint8_t *x)
{
    if (crypto_pwhash (x, CC_CHALLENGE_X_SIZE, (const char *) seed, CC_CHALLENGE_SEED_SIZE,
                       salt, ops, (size_t) memory_kib * 1024, crypto_pwhash_ALG_ARGON2ID13)
        != 0)
        return CC_E_NOMEM;
    return 0;
}

static int
s_copy_bytes (ProtobufCBinaryData *target, const uint8_t *data, size_t size)
{
    target->data = (uint8_t *) malloc (size);
    if (!target->data)
        return CC_E_NOMEM;
    memcpy (target->data, data, size);
    target->len = size;
    return 0;
}

//  --- Parameters ------------------------------------------------------------------

cc_challenge_params_t
cc_challenge_params_default (void)
{
    cc_challenge_params_t params = {
        .packets = 32,
        .difficulty_bits = 16,
        .argon2_memory_kib = 8192,
        .argon2_ops = 1,
        .sample_size = 4,
        .deadline_ms = 5000,
    };
    return params;
}

int
cc_challenge_params_check (const cc_challenge_params_t *params, cc_reason_t *reason)
{
    assert (params);
    if (params->packets < 1 || params->packets > CC_CHALLENGE_MAX_PACKETS)
        return cc_reason_set (reason, CC_E_CONFIG, "challenge packets must be 1..%d, not %u",
                              CC_CHALLENGE_MAX_PACKETS, params->packets);
    if (params->difficulty_bits > CC_CHALLENGE_MAX_DIFFICULTY)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "challenge difficulty must be 0..%d bits, not %u",
                              CC_CHALLENGE_MAX_DIFFICULTY, params->difficulty_bits);
    if (params->argon2_memory_kib < CC_CHALLENGE_MIN_MEMORY_KIB
        || params->argon2_memory_kib > CC_CHALLENGE_MAX_MEMORY_KIB)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "challenge Argon2 memory must be %d..%d KiB, not %u",
                              CC_CHALLENGE_MIN_MEMORY_KIB, CC_CHALLENGE_MAX_MEMORY_KIB,
                              params->argon2_memory_kib);
    if (params->argon2_ops < 1 || params->argon2_ops > CC_CHALLENGE_MAX_OPS)
        return cc_reason_set (reason, CC_E_CONFIG, "challenge Argon2 ops must be 1..%d, not %u",
                              CC_CHALLENGE_MAX_OPS, params->argon2_ops);
    //  A sample of zero would never check the memory-hard half of the work.
    if (params->sample_size < 1)
        return cc_reason_set (reason, CC_E_CONFIG, "challenge sample size must be at least 1");
    if (params->deadline_ms < 1 || params->deadline_ms > CC_CHALLENGE_MAX_DEADLINE_MS)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "challenge deadline must be 1..%llu ms, not %llu",
                              (unsigned long long) CC_CHALLENGE_MAX_DEADLINE_MS,
                              (unsigned long long) params->deadline_ms);
    return 0;
}

//  --- Issue -----------------------------------------------------------------------

Certchain__Challenge *
cc_challenge_issue (const cc_challenge_params_t *params, const uint8_t *node_key,
                    uint64_t now_ms)
{
    assert (params);
    assert (node_key);
    if (s_sodium_ready () != 0 || cc_challenge_params_check (params, NULL) != 0
        || now_ms > UINT64_MAX - params->deadline_ms)
        return NULL;
    Certchain__Challenge *self = (Certchain__Challenge *) malloc (sizeof (*self));
    if (!self)
        return NULL;
    certchain__challenge__init (self);
    uint8_t id [CC_CHALLENGE_ID_SIZE];
    randombytes_buf (id, sizeof (id));
    self->seeds = (ProtobufCBinaryData *) calloc (params->packets, sizeof (ProtobufCBinaryData));
    if (!self->seeds || s_copy_bytes (&self->id, id, sizeof (id)) != 0
        || s_copy_bytes (&self->node, node_key, CC_PUBKEY_SIZE) != 0) {
        cc_challenge_free (&self);
        return NULL;
    }
    //  n_seeds counts only allocated seeds, so a partial one frees cleanly.
    for (uint32_t index = 0; index < params->packets; index++) {
        uint8_t *seed = (uint8_t *) malloc (CC_CHALLENGE_SEED_SIZE);
        if (!seed) {
            cc_challenge_free (&self);
            return NULL;
        }
        randombytes_buf (seed, CC_CHALLENGE_SEED_SIZE);
        self->seeds [index] = cc_bytes_view (seed, CC_CHALLENGE_SEED_SIZE);
        self->n_seeds++;
    }
    self->difficulty_bits = params->difficulty_bits;
    self->argon2_memory_kib = params->argon2_memory_kib;
    self->argon2_ops = params->argon2_ops;
    self->sample_size = params->sample_size;
    self->issued_ms = now_ms;
    self->deadline_ms = now_ms + params->deadline_ms;
    return self;
}

void
cc_challenge_free (Certchain__Challenge **challenge_p)
{
    if (challenge_p && *challenge_p) {
        certchain__challenge__free_unpacked (*challenge_p, NULL);
        *challenge_p = NULL;
    }
}

int
cc_challenge_check (const Certchain__Challenge *challenge, cc_reason_t *reason)
{
    assert (challenge);
    if (!cc_bytes_sized (challenge->id, CC_CHALLENGE_ID_SIZE))
        return cc_reason_set (reason, CC_E_BAD_FIELD, "challenge id must be %d bytes",
                              CC_CHALLENGE_ID_SIZE);
    if (!cc_bytes_sized (challenge->node, CC_PUBKEY_SIZE))
        return cc_reason_set (reason, CC_E_BAD_FIELD, "challenge node key must be %d bytes",
                              CC_PUBKEY_SIZE);
    if (challenge->n_seeds < 1 || challenge->n_seeds > CC_CHALLENGE_MAX_PACKETS)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "challenge has %zu packets, limit 1..%d",
                              challenge->n_seeds, CC_CHALLENGE_MAX_PACKETS);
    for (size_t index = 0; index < challenge->n_seeds; index++)
        if (!cc_bytes_sized (challenge->seeds [index], CC_CHALLENGE_SEED_SIZE))
            return cc_reason_set (reason, CC_E_BAD_FIELD,
                                  "challenge seed of packet %zu must be %d bytes", index,
                                  CC_CHALLENGE_SEED_SIZE);
    if (challenge->difficulty_bits > CC_CHALLENGE_MAX_DIFFICULTY)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "challenge difficulty %u bits is over the limit of %d",
                              challenge->difficulty_bits, CC_CHALLENGE_MAX_DIFFICULTY);
    if (challenge->argon2_memory_kib < CC_CHALLENGE_MIN_MEMORY_KIB
        || challenge->argon2_memory_kib > CC_CHALLENGE_MAX_MEMORY_KIB)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "challenge Argon2 memory %u KiB is outside %d..%d",
                              challenge->argon2_memory_kib, CC_CHALLENGE_MIN_MEMORY_KIB,
                              CC_CHALLENGE_MAX_MEMORY_KIB);
    if (challenge->argon2_ops < 1 || challenge->argon2_ops > CC_CHALLENGE_MAX_OPS)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "challenge Argon2 ops %u is outside 1..%d",
                              challenge->argon2_ops, CC_CHALLENGE_MAX_OPS);
    if (challenge->sample_size < 1)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "challenge sample size is 0");
    if (challenge->deadline_ms < challenge->issued_ms)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "challenge deadline before its issue");
    return 0;
}

bool
cc_challenge_expired (const Certchain__Challenge *challenge, uint64_t now_ms)
{
    assert (challenge);
    return now_ms > challenge->deadline_ms;
}

//  --- Building blocks -----------------------------------------------------------

void
cc_challenge_salt (const uint8_t *challenge_id, size_t id_size, const uint8_t *node_key,
                   uint8_t *salt)
{
    uint8_t hash [CC_HASH_SIZE];
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, CC_HASH_SIZE);
    crypto_generichash_update (&state, (const unsigned char *) S_SALT_DOMAIN,
                               sizeof (S_SALT_DOMAIN) - 1);
    crypto_generichash_update (&state, challenge_id, id_size);
    crypto_generichash_update (&state, node_key, CC_PUBKEY_SIZE);
    crypto_generichash_final (&state, hash, CC_HASH_SIZE);
    memcpy (salt, hash, CC_CHALLENGE_SALT_SIZE);
}

int
cc_challenge_packet_x (const Certchain__Challenge *challenge, const uint8_t *node_key,
                       size_t index, uint8_t *x)
{
    assert (challenge);
    assert (node_key);
    if (index >= challenge->n_seeds
        || !cc_bytes_sized (challenge->seeds [index], CC_CHALLENGE_SEED_SIZE))
        return CC_E_INVALID_ARG;
    if (s_sodium_ready () != 0)
        return CC_E_INTERNAL;
    uint8_t salt [CC_CHALLENGE_SALT_SIZE];
    cc_challenge_salt (challenge->id.data, challenge->id.len, node_key, salt);
    return s_argon2 (challenge->seeds [index].data, salt, challenge->argon2_ops,
                     challenge->argon2_memory_kib, x);
}

bool
cc_challenge_pow_valid (const uint8_t *x, const uint8_t *node_key, uint64_t nonce,
                        uint32_t difficulty_bits)
{
    uint8_t input [S_POW_INPUT_SIZE];
    memcpy (input, x, CC_CHALLENGE_X_SIZE);
    memcpy (input + CC_CHALLENGE_X_SIZE, node_key, CC_PUBKEY_SIZE);
    s_put_le64 (input + CC_CHALLENGE_X_SIZE + CC_PUBKEY_SIZE, nonce);
    uint8_t hash [CC_HASH_SIZE];
    cc_hash (input, sizeof (input), hash);
    return s_leading_zeros (hash, difficulty_bits);
}

//  --- Solve ---------------------------------------------------------------------

//  Records the first error of a solve; later ones are dropped.
static void
s_solve_fail (s_solve_t *solve, int code)
{
    int expected = 0;
    atomic_compare_exchange_strong (&solve->status, &expected, code);
}

//  True if the solve must stop: another worker failed, or time is up.
static bool
s_solve_stopping (s_solve_t *solve)
{
    if (atomic_load (&solve->status) != 0)
        return true;
    if ((uint64_t) s_monotonic_ms () - solve->started_ms > solve->budget_ms) {
        s_solve_fail (solve, CC_E_TIMEOUT);
        return true;
    }
    return false;
}

//  Finds the first nonce whose proof of work holds for x; false if stopped.
static bool
s_solve_pow (s_worker_t *worker, const uint8_t *x, uint64_t *nonce_p)
{
    s_solve_t *solve = worker->solve;
    uint32_t difficulty = solve->challenge->difficulty_bits;
    uint8_t input [S_POW_INPUT_SIZE];
    memcpy (input, x, CC_CHALLENGE_X_SIZE);
    memcpy (input + CC_CHALLENGE_X_SIZE, solve->node_key, CC_PUBKEY_SIZE);
    uint8_t hash [CC_HASH_SIZE];
    for (uint64_t nonce = 0;; nonce++) {
        s_put_le64 (input + CC_CHALLENGE_X_SIZE + CC_PUBKEY_SIZE, nonce);
        cc_hash (input, sizeof (input), hash);
        worker->hashes++;
        if (s_leading_zeros (hash, difficulty)) {
            *nonce_p = nonce;
            return true;
        }
        if ((nonce & S_POLL_MASK) == S_POLL_MASK && s_solve_stopping (solve))
            return false;
    }
}

static void *
s_worker_run (void *argument)
{
    s_worker_t *worker = (s_worker_t *) argument;
    s_solve_t *solve = worker->solve;
    const Certchain__Challenge *challenge = solve->challenge;
    while (!s_solve_stopping (solve)) {
        size_t index = atomic_fetch_add (&solve->next_packet, 1);
        if (index >= challenge->n_seeds)
            break;
        Certchain__PacketAnswer *answer = solve->response->answers [index];
        int rc = s_argon2 (challenge->seeds [index].data, solve->salt, challenge->argon2_ops,
                           challenge->argon2_memory_kib, answer->x.data);
        if (rc != 0) {
            s_solve_fail (solve, rc);
            break;
        }
        worker->argon2_evaluations++;
        if (!s_solve_pow (worker, answer->x.data, &answer->nonce))
            break;
    }
    return NULL;
}

//  An empty response to challenge from node_key: ids set, one answer with
//  a 32-byte x buffer per packet. NULL if memory runs out.
static Certchain__ChallengeResponse *
s_response_new (const Certchain__Challenge *challenge, const uint8_t *node_key)
{
    Certchain__ChallengeResponse *self =
        (Certchain__ChallengeResponse *) malloc (sizeof (*self));
    if (!self)
        return NULL;
    certchain__challenge_response__init (self);
    self->answers = (Certchain__PacketAnswer **) calloc (challenge->n_seeds,
                                                         sizeof (Certchain__PacketAnswer *));
    if (!self->answers
        || s_copy_bytes (&self->challenge_id, challenge->id.data, challenge->id.len) != 0
        || s_copy_bytes (&self->node, node_key, CC_PUBKEY_SIZE) != 0) {
        cc_challenge_response_free (&self);
        return NULL;
    }
    //  n_answers counts only complete answers, so a partial one frees cleanly.
    for (size_t index = 0; index < challenge->n_seeds; index++) {
        Certchain__PacketAnswer *answer =
            (Certchain__PacketAnswer *) malloc (sizeof (Certchain__PacketAnswer));
        uint8_t *x = (uint8_t *) calloc (1, CC_CHALLENGE_X_SIZE);
        if (!answer || !x) {
            free (answer);
            free (x);
            cc_challenge_response_free (&self);
            return NULL;
        }
        certchain__packet_answer__init (answer);
        answer->x = cc_bytes_view (x, CC_CHALLENGE_X_SIZE);
        self->answers [self->n_answers++] = answer;
    }
    return self;
}

int
cc_challenge_solve (const Certchain__Challenge *challenge, const uint8_t *node_key,
                    size_t threads, Certchain__ChallengeResponse **response_p,
                    cc_challenge_stats_t *stats)
{
    assert (challenge);
    assert (node_key);
    assert (response_p);
    *response_p = NULL;
    if (stats)
        memset (stats, 0, sizeof (*stats));
    if (s_sodium_ready () != 0)
        return CC_E_INTERNAL;
    int rc = cc_challenge_check (challenge, NULL);
    if (rc != 0)
        return rc;
    //  An answer for another key would be refused; don't do the work.
    if (memcmp (challenge->node.data, node_key, CC_PUBKEY_SIZE) != 0)
        return CC_E_WRONG_NODE_KEY;

    if (threads == 0)
        threads = s_cpu_count ();
    if (threads > challenge->n_seeds)
        threads = challenge->n_seeds;
    if (threads > CC_CHALLENGE_MAX_THREADS)
        threads = CC_CHALLENGE_MAX_THREADS;

    s_solve_t solve;
    memset (&solve, 0, sizeof (solve));
    solve.challenge = challenge;
    solve.node_key = node_key;
    cc_challenge_salt (challenge->id.data, challenge->id.len, node_key, solve.salt);
    solve.response = s_response_new (challenge, node_key);
    s_worker_t *workers = (s_worker_t *) calloc (threads, sizeof (s_worker_t));
    if (!solve.response || !workers) {
        cc_challenge_response_free (&solve.response);
        free (workers);
        return CC_E_NOMEM;
    }
    double started = s_monotonic_ms ();
    solve.started_ms = (uint64_t) started;
    solve.budget_ms = challenge->deadline_ms - challenge->issued_ms;
    atomic_init (&solve.next_packet, 0);
    atomic_init (&solve.status, 0);

    //  Worker 0 is this thread; a worker the system refuses to start is
    //  simply missing, the others take its packets.
    for (size_t index = 0; index < threads; index++)
        workers [index].solve = &solve;
    for (size_t index = 1; index < threads; index++)
        workers [index].started =
            pthread_create (&workers [index].thread, NULL, s_worker_run, &workers [index]) == 0;
    s_worker_run (&workers [0]);
    size_t used = 1;
    for (size_t index = 1; index < threads; index++)
        if (workers [index].started) {
            pthread_join (workers [index].thread, NULL);
            used++;
        }

    rc = atomic_load (&solve.status);
    if (stats) {
        stats->elapsed_ms = (uint64_t) (s_monotonic_ms () - started + 0.5);
        stats->threads = used;
        for (size_t index = 0; index < threads; index++) {
            stats->hashes += workers [index].hashes;
            stats->argon2_evaluations += workers [index].argon2_evaluations;
        }
    }
    free (workers);
    if (rc != 0) {
        cc_challenge_response_free (&solve.response);
        return rc;
    }
    *response_p = solve.response;
    return 0;
}

void
cc_challenge_response_free (Certchain__ChallengeResponse **response_p)
{
    if (response_p && *response_p) {
        certchain__challenge_response__free_unpacked (*response_p, NULL);
        *response_p = NULL;
    }
}

//  --- Verify --------------------------------------------------------------------

int
cc_challenge_open_response (const Certchain__Signed *envelope, const char *chain_id,
                            const Certchain__Challenge *challenge,
                            Certchain__ChallengeResponse **response_p, cc_reason_t *reason)
{
    assert (envelope);
    assert (challenge);
    assert (response_p);
    *response_p = NULL;
    ProtobufCMessage *body = NULL;
    int rc = cc_signed_open (envelope, CC_DOMAIN_JOIN, chain_id,
                             &certchain__challenge_response__descriptor, S_RESPONSE_MAX_SIZE,
                             &body);
    if (rc != 0) {
        cc_codec_free (&body);
        return cc_reason_set (reason, rc, "challenge answer envelope: %s",
                              cc_error_message (rc));
    }
    //  The signature holds, but whose is it? Only the challenged node may answer.
    if (!cc_bytes_sized (challenge->node, CC_PUBKEY_SIZE)
        || memcmp (envelope->signer.data, challenge->node.data, CC_PUBKEY_SIZE) != 0) {
        cc_codec_free (&body);
        return cc_reason_set (reason, CC_E_WRONG_NODE_KEY,
                              "challenge answer signed by another key than the challenged node's");
    }
    *response_p = (Certchain__ChallengeResponse *) body;
    return 0;
}

//  The Argon2 sample of one verification: the packets drawn, in order, and
//  what each one's Argon2 gave. Threads take the next drawn packet from
//  one atomic counter, as the solver's workers do.
typedef struct {
    const Certchain__Challenge *challenge;      //  the challenge (borrowed)
    size_t *order;                              //  packet indices, the drawn ones first
    size_t count;                               //  how many were drawn
    uint8_t salt [CC_CHALLENGE_SALT_SIZE];      //  Argon2id salt of (id, node key)
    uint8_t (*results) [CC_CHALLENGE_X_SIZE];   //  Argon2 output per drawn packet
    int *argon2_rc;                             //  0 or NOMEM per drawn packet
    atomic_size_t next;                         //  next drawn packet to compute
} s_sample_t;

static void *
s_sample_run (void *argument)
{
    s_sample_t *sample = (s_sample_t *) argument;
    const Certchain__Challenge *challenge = sample->challenge;
    while (true) {
        size_t drawn = atomic_fetch_add (&sample->next, 1);
        if (drawn >= sample->count)
            break;
        size_t index = sample->order [drawn];
        sample->argon2_rc [drawn] =
            s_argon2 (challenge->seeds [index].data, sample->salt, challenge->argon2_ops,
                      challenge->argon2_memory_kib, sample->results [drawn]);
    }
    return NULL;
}

//  Computes every drawn packet's Argon2 on two threads: this one and one
//  helper. Each holds one Argon2 memory block (8 MiB by default) while it
//  runs; more threads would multiply the CA's memory per answer. The
//  sample is small and every packet in it is computed whatever the others
//  give (a liar costs the same as an honest candidate), so the answer's
//  wall time drops by a third or more on two cores. The helper may only run on the CPUs
//  this thread is not on: a new thread is often placed on its creator's
//  CPU, where the two would take turns while another CPU idles (seen with
//  perf on a 2-CPU machine). This thread itself stays free to move, so the
//  scheduler may still bring them together; it rarely does within one
//  answer. Without another CPU in this process's affinity mask, or when
//  the system refuses a thread, this thread does the work alone (a CPU
//  quota of a cgroup is not looked at: the helper then only shares it).
static void
s_sample_compute (s_sample_t *sample)
{
    atomic_init (&sample->next, 0);
    cpu_set_t others;
    CPU_ZERO (&others);
    int current = sched_getcpu ();
    if (sample->count > 1 && current >= 0
        && sched_getaffinity (0, sizeof (others), &others) == 0) {
        CPU_CLR (current, &others);
    }
    else
        CPU_ZERO (&others);
    pthread_t helper;
    pthread_attr_t attributes;
    bool started = false;
    if (CPU_COUNT (&others) > 0 && pthread_attr_init (&attributes) == 0) {
        if (pthread_attr_setaffinity_np (&attributes, sizeof (others), &others) == 0)
            started = pthread_create (&helper, &attributes, s_sample_run, sample) == 0;
        pthread_attr_destroy (&attributes);
    }
    s_sample_run (sample);
    if (started)
        pthread_join (helper, NULL);
}

//  Frees what s_sample_t owns (each of them may be NULL).
static void
s_sample_free (s_sample_t *sample)
{
    free (sample->order);
    free (sample->results);
    free (sample->argon2_rc);
}

//  The checks of cc_challenge_verify, in order; fills verdict (not NULL).
static int
s_verify (const Certchain__Challenge *challenge, const Certchain__ChallengeResponse *response,
          const uint8_t *node_key, uint64_t now_ms, cc_challenge_verdict_t *verdict,
          cc_reason_t *reason)
{
    cc_reason_t check;
    if (cc_challenge_check (challenge, &check) != 0)
        return cc_reason_set (reason, check.code, "%s", check.text);
    verdict->elapsed_ms = now_ms >= challenge->issued_ms ? now_ms - challenge->issued_ms : 0;

    if (!cc_bytes_equal (response->challenge_id, challenge->id))
        return cc_reason_set (reason, CC_E_CHALLENGE_UNKNOWN,
                              "answer names another challenge than the one issued");
    if (!cc_bytes_sized (response->node, CC_PUBKEY_SIZE)
        || memcmp (response->node.data, node_key, CC_PUBKEY_SIZE) != 0)
        return cc_reason_set (reason, CC_E_WRONG_NODE_KEY,
                              "answer is bound to another node key");
    if (memcmp (challenge->node.data, node_key, CC_PUBKEY_SIZE) != 0)
        return cc_reason_set (reason, CC_E_WRONG_NODE_KEY,
                              "challenge was issued to another node key");
    if (now_ms > challenge->deadline_ms)
        return cc_reason_set (reason, CC_E_DEADLINE_MISSED,
                              "answer came %llu ms after the deadline",
                              (unsigned long long) (now_ms - challenge->deadline_ms));
    size_t packets = challenge->n_seeds;
    if (response->n_answers != packets)
        return cc_reason_set (reason, CC_E_WRONG_ANSWER_COUNT, "%zu answers for %zu packets",
                              response->n_answers, packets);
    for (size_t index = 0; index < packets; index++) {
        const Certchain__PacketAnswer *answer = response->answers [index];
        if (!answer || !cc_bytes_sized (answer->x, CC_CHALLENGE_X_SIZE))
            return cc_reason_set (reason, CC_E_BAD_FIELD,
                                  "x of packet %zu must be %d bytes", index,
                                  CC_CHALLENGE_X_SIZE);
    }
    //  Every proof of work: one hash each, cheap.
    for (size_t index = 0; index < packets; index++) {
        const Certchain__PacketAnswer *answer = response->answers [index];
        if (!cc_challenge_pow_valid (answer->x.data, node_key, answer->nonce,
                                     challenge->difficulty_bits))
            return cc_reason_set (reason, CC_E_POW_INVALID, "proof of work wrong at packet %zu",
                                  index);
    }
    //  Argon2 for sample_size distinct packets, drawn by a partial
    //  Fisher-Yates shuffle: the candidate cannot know which ones.
    size_t sample = challenge->sample_size < packets ? challenge->sample_size : packets;
    size_t *order = (size_t *) malloc (packets * sizeof (size_t));
    s_sample_t sample_check = {.challenge = challenge, .order = order, .count = sample};
    sample_check.results =
        (uint8_t (*) [CC_CHALLENGE_X_SIZE]) malloc (sample * CC_CHALLENGE_X_SIZE);
    sample_check.argon2_rc = (int *) calloc (sample, sizeof (int));
    if (!order || !sample_check.results || !sample_check.argon2_rc) {
        s_sample_free (&sample_check);
        return cc_reason_set (reason, CC_E_NOMEM, "no memory for the Argon2 sample");
    }
    for (size_t index = 0; index < packets; index++)
        order [index] = index;
    for (size_t drawn = 0; drawn < sample; drawn++) {
        size_t pick = drawn + randombytes_uniform ((uint32_t) (packets - drawn));
        size_t index = order [pick];
        order [pick] = order [drawn];
        order [drawn] = index;
    }
    cc_challenge_salt (challenge->id.data, challenge->id.len, node_key, sample_check.salt);
    s_sample_compute (&sample_check);
    //  Judged in the order drawn, as if one by one: the first wrong packet
    //  drawn is the one named, and only the ones before it count as checked.
    int rc = 0;
    for (size_t drawn = 0; drawn < sample && rc == 0; drawn++) {
        size_t index = order [drawn];
        if (sample_check.argon2_rc [drawn] != 0)
            rc = cc_reason_set (reason, CC_E_NOMEM, "no memory for Argon2 at packet %zu", index);
        else if (sodium_memcmp (sample_check.results [drawn], response->answers [index]->x.data,
                                CC_CHALLENGE_X_SIZE) != 0)
            rc = cc_reason_set (reason, CC_E_ARGON2_MISMATCH,
                                "Argon2 result wrong at packet %zu", index);
        else
            verdict->argon2_checked++;
    }
    s_sample_free (&sample_check);
    if (rc != 0)
        return rc;

    //  The score: the work an honest solver expects to do (2^d hashes and one
    //  Argon2 memory fill a packet) over the time the CA saw pass.
    double seconds = (double) (verdict->elapsed_ms ? verdict->elapsed_ms : 1) / 1000.0;
    verdict->score.hashes_per_second =
        ldexp ((double) packets, (int) challenge->difficulty_bits) / seconds;
    verdict->score.argon2_mib_per_second =
        (double) packets * ((double) challenge->argon2_memory_kib / 1024.0) / seconds;
    verdict->score.elapsed_ms = verdict->elapsed_ms;
    return 0;
}

int
cc_challenge_verify (const Certchain__Challenge *challenge,
                     const Certchain__ChallengeResponse *response, const uint8_t *node_key,
                     uint64_t now_ms, cc_challenge_verdict_t *verdict, cc_reason_t *reason)
{
    assert (challenge);
    assert (response);
    assert (node_key);
    double started = s_monotonic_ms ();
    cc_challenge_verdict_t local;
    if (!verdict)
        verdict = &local;
    memset (verdict, 0, sizeof (*verdict));
    certchain__challenge_score__init (&verdict->score);
    cc_reason_clear (reason);
    int rc = s_sodium_ready ();
    if (rc == 0)
        rc = s_verify (challenge, response, node_key, now_ms, verdict, reason);
    else
        cc_reason_set (reason, rc, "libsodium failed to initialise");
    verdict->verify_ms = s_monotonic_ms () - started;
    return rc;
}
