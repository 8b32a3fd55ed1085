/*  =========================================================================
    challenge - the timed computational challenge of the join protocol

    A certification authority proves that a candidate node really has the
    machine it claims by giving it work that only such a machine finishes in
    time (DESIGN.md section 5). The CA issues a Challenge of N packets, each a
    32-byte random seed; for every packet the candidate computes

        salt  = first 16 bytes of H("certchain/challenge-salt/1" || id || node key)
        x     = Argon2id (seed, salt, ops, memory)          32 bytes
        nonce : H(x || node key || nonce as 8 bytes LE) has >= d leading zero bits

    and returns every (x, nonce), signed with its node key (domain JOIN),
    before the deadline. The CA checks the deadline on its own clock, every
    proof of work (one hash each) and recomputes x for a random sample of
    packets, then turns the elapsed time into a measured score.

    All messages are the protobuf types of proto/join.proto, so they travel
    as they are. Everything this module allocates uses protobuf-c's default
    allocator layout (plain malloc per field), so a challenge or response
    from here and one from cc_codec_unpack are freed the same way: with
    cc_challenge_free / cc_challenge_response_free.

    DESIGN: the salt binds the Argon2 work to one challenge and one node key,
    and the proof-of-work hash binds each nonce to the node key, so an answer
    can neither be precomputed nor handed to another node. Argon2 makes every
    packet cost memory bandwidth, the proof of work costs raw hashing; the CA
    pays one hash a packet plus sample_size Argon2 evaluations.

    Replay and expiry are the CA's bookkeeping (it records used challenge
    ids); cc_challenge_expired is the building block.
    =========================================================================
*/

#ifndef CC_CHALLENGE_H_INCLUDED
#define CC_CHALLENGE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define CC_CHALLENGE_ID_SIZE 16     //  random challenge id
#define CC_CHALLENGE_SEED_SIZE 32   //  one packet's random seed
#define CC_CHALLENGE_X_SIZE 32      //  one packet's Argon2id output
#define CC_CHALLENGE_SALT_SIZE 16   //  Argon2id salt (crypto_pwhash_SALTBYTES)

//  Structural limits of a challenge. A challenge outside them is refused
//  (BAD_FIELD) by both sides: it could not be a reasonable join challenge,
//  and a candidate must not let a CA make it allocate or spin without end.
#define CC_CHALLENGE_MAX_PACKETS 4096
#define CC_CHALLENGE_MAX_DIFFICULTY 40          //  2^40 hashes a packet: days
#define CC_CHALLENGE_MIN_MEMORY_KIB 8           //  libsodium's Argon2id minimum
#define CC_CHALLENGE_MAX_MEMORY_KIB (1024 * 1024)
#define CC_CHALLENGE_MAX_OPS 32
#define CC_CHALLENGE_MAX_DEADLINE_MS (24 * 3600 * 1000ULL)
//  Most worker threads a solve starts.
#define CC_CHALLENGE_MAX_THREADS 256

//  What the CA asks (from its policy). Defaults are DESIGN's sizing: about
//  0.4 s of work for an honest 2-core machine, ~15 ms for the CA to verify.
typedef struct {
    uint32_t packets;               //  N, packets in the challenge (32)
    uint32_t difficulty_bits;       //  d, leading zero bits of each proof of work (16)
    uint32_t argon2_memory_kib;     //  Argon2id memory per evaluation, KiB (8192)
    uint32_t argon2_ops;            //  Argon2id passes (1)
    uint32_t sample_size;           //  packets whose Argon2 the CA recomputes (4)
    uint64_t deadline_ms;           //  time allowed from issue to answer (5000)
} cc_challenge_params_t;

//  What a solve did.
typedef struct {
    uint64_t elapsed_ms;            //  wall time of the solve (monotonic clock)
    uint64_t hashes;                //  proof-of-work hashes tried
    uint64_t argon2_evaluations;    //  Argon2id evaluations done
    size_t threads;                 //  worker threads used
} cc_challenge_stats_t;

//  What a verification measured. The score is a protobuf ChallengeScore,
//  ready to be copied into a Certify transaction.
typedef struct {
    uint64_t elapsed_ms;                //  now - issued (0 if the clock went back)
    Certchain__ChallengeScore score;    //  measured rates; zero unless verified
    uint32_t argon2_checked;            //  packets whose Argon2 was recomputed
    double verify_ms;                   //  time the verification took (informational)
} cc_challenge_verdict_t;

//  --- Parameters --------------------------------------------------------------

//  The default parameters (DESIGN.md section 5).
cc_challenge_params_t
    cc_challenge_params_default (void);

//  Checks parameters against the structural limits above; 0 or CONFIG with
//  the offending field in reason. The CA calls it on its policy at start.
int
    cc_challenge_params_check (const cc_challenge_params_t *params, cc_reason_t *reason);

//  --- Issue (CA side) -----------------------------------------------------------

//  Creates a challenge for node_key (32 bytes): a random 16-byte id, N random
//  seeds, issued_ms = now_ms, deadline_ms = now_ms + params->deadline_ms
//  (absolute, on the CA's clock). NULL if params fail cc_challenge_params_check
//  or memory runs out. Caller owns the result (cc_challenge_free).
Certchain__Challenge *
    cc_challenge_issue (const cc_challenge_params_t *params, const uint8_t *node_key,
                        uint64_t now_ms);

//  Frees a challenge from cc_challenge_issue or cc_codec_unpack; nulls the
//  pointer; safe on NULL.
void
    cc_challenge_free (Certchain__Challenge **challenge_p);

//  Checks a challenge's fields (sizes and limits); 0 or BAD_FIELD with the
//  field in reason. Both solve and verify run it first.
int
    cc_challenge_check (const Certchain__Challenge *challenge, cc_reason_t *reason);

//  True once now_ms is past the challenge's deadline.
bool
    cc_challenge_expired (const Certchain__Challenge *challenge, uint64_t now_ms);

//  --- Solve (candidate side) -----------------------------------------------------

//  Solves challenge for node_key on threads worker threads (0: one per CPU
//  this process may run on). Fills *response_p with the answers in packet
//  order (caller owns it: cc_challenge_response_free) and stats (may be
//  NULL). Refuses BAD_FIELD for a malformed challenge, WRONG_NODE_KEY when
//  the challenge is for another node, TIMEOUT when the solve runs longer
//  than the challenge allows (deadline - issued, so no clock is compared),
//  NOMEM when Argon2 cannot get its memory. Thread-safe.
int
    cc_challenge_solve (const Certchain__Challenge *challenge, const uint8_t *node_key,
                        size_t threads, Certchain__ChallengeResponse **response_p,
                        cc_challenge_stats_t *stats);

//  Frees a response from cc_challenge_solve, cc_challenge_open_response or
//  cc_codec_unpack; nulls the pointer; safe on NULL.
void
    cc_challenge_response_free (Certchain__ChallengeResponse **response_p);

//  --- Verify (CA side) --------------------------------------------------------

//  Opens the candidate's Signed{ChallengeResponse}: checks the signature
//  for (JOIN, chain_id) with cc_signed_open (BAD_FIELD, BAD_SIGNATURE,
//  OVERSIZE, MALFORMED), then that the signer is the challenge's node
//  (WRONG_NODE_KEY: an answer signed by another key). Caller owns
//  *response_p (cc_challenge_response_free); NULL on error.
int
    cc_challenge_open_response (const Certchain__Signed *envelope, const char *chain_id,
                                const Certchain__Challenge *challenge,
                                Certchain__ChallengeResponse **response_p,
                                cc_reason_t *reason);

//  Verifies response to challenge from node_key at now_ms (CA clock), in
//  this order: CHALLENGE_UNKNOWN (another challenge id), WRONG_NODE_KEY
//  (response node, node_key and challenge node differ), DEADLINE_MISSED,
//  WRONG_ANSWER_COUNT, BAD_FIELD (an x of the wrong size), POW_INVALID (every
//  packet's proof of work, one hash each), ARGON2_MISMATCH (Argon2 recomputed
//  for sample_size distinct random packets, all when sample_size >= N). The
//  reason text names the packet ("proof of work wrong at packet 7"). NOMEM
//  if Argon2 cannot get its memory. verdict (may be NULL) gets elapsed_ms and
//  verify_ms always, the score on success. The sample's Argon2 runs on the
//  caller's thread and one helper thread on another CPU (when the process
//  may use one), so verification holds two Argon2 memory blocks at most.
int
    cc_challenge_verify (const Certchain__Challenge *challenge,
                         const Certchain__ChallengeResponse *response, const uint8_t *node_key,
                         uint64_t now_ms, cc_challenge_verdict_t *verdict,
                         cc_reason_t *reason);

//  --- Building blocks -----------------------------------------------------------

//  The Argon2id salt (16 bytes) of a challenge id and node key.
void
    cc_challenge_salt (const uint8_t *challenge_id, size_t id_size, const uint8_t *node_key,
                       uint8_t *salt);

//  Computes x (32 bytes) for packet index of challenge and node_key.
//  0, INVALID_ARG for an index out of range, or NOMEM.
int
    cc_challenge_packet_x (const Certchain__Challenge *challenge, const uint8_t *node_key,
                           size_t index, uint8_t *x);

//  True if H(x || node_key || nonce LE) has at least difficulty_bits leading
//  zero bits.
bool
    cc_challenge_pow_valid (const uint8_t *x, const uint8_t *node_key, uint64_t nonce,
                            uint32_t difficulty_bits);

#endif
