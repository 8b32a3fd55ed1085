/*  =========================================================================
    policy - what a certification authority demands of a candidate

    The CA's policy file (config key ca/policy) is ZPL with two sections:

        policy
            min_cpu_cores = 4
            min_memory_mb = 2048
            ...
        banned
            <64 hex characters of a public key> = "why"

    Every key of "policy" has a default (cc_policy_new), so a missing file
    setting means the defaults. The limits on the machine profile
    (min_cpu_cores, min_memory_mb, min_disk_free_mb, require_gpu,
    min_gpu_memory_mb) are checked on the request, before any challenge;
    the limits on the measured score (min_hashes_per_second,
    min_argon2_mib_per_second) once the answer is verified. The challenge's
    size (packets, difficulty_bits, argon2_memory_kib, argon2_ops,
    sample_size, deadline_ms), the certificate validity in blocks
    (validity_blocks, default the genesis cert_validity), the rate limits
    (rate_per_key_per_minute, rate_per_source_per_minute, 0 = none), the
    back-off after a refusal (backoff_ms) and the largest clock difference
    accepted on a request (max_clock_skew_ms) complete it. "banned" lists
    keys the CA refuses whatever they prove.

    A refusal names the field and both numbers, e.g.
    "profile below policy: cpu_cores 2 < 4".

    Ownership: a cc_policy_t owns its values and ban list; accessors return
    borrowed pointers valid while the policy lives.
    =========================================================================
*/

#ifndef CC_CA_POLICY_H_INCLUDED
#define CC_CA_POLICY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "challenge.h"
#include "codec.h"

typedef struct _cc_policy_t cc_policy_t;

//  The numbers of a policy.
typedef struct {
    uint64_t min_cpu_cores;                 //  cores the candidate may run on
    uint64_t min_memory_mb;                 //  total memory, MiB
    uint64_t min_disk_free_mb;              //  free disk at its data directory, MiB
    bool require_gpu;                       //  at least one GPU
    uint64_t min_gpu_memory_mb;             //  largest GPU's memory, MiB (0 = any)
    uint64_t min_hashes_per_second;         //  measured proof-of-work rate
    uint64_t min_argon2_mib_per_second;     //  measured Argon2 memory rate
    cc_challenge_params_t challenge;        //  N, d, Argon2 limits, sample, deadline
    uint64_t validity_blocks;               //  certificate validity in blocks
    uint64_t rate_per_key_per_minute;       //  requests per key a minute (0 = no limit)
    uint64_t rate_per_source_per_minute;    //  requests per peer address a minute (0 = none)
    uint64_t backoff_ms;                    //  wait asked of a refused candidate
    uint64_t max_clock_skew_ms;             //  largest |request time - CA time|
} cc_policy_values_t;

//  --- Life cycle --------------------------------------------------------------------

//  The default policy, with validity_blocks = genesis_validity. Caller
//  owns it; NULL when out of memory.
cc_policy_t *
    cc_policy_new (uint64_t genesis_validity);

//  Loads the policy file at path on top of the defaults. NULL with CONFIG
//  (the file and key named: "policy.zpl: policy/packets: expected a number
//  from 1 to 4096, got 0") or IO in reason.
cc_policy_t *
    cc_policy_load (const char *path, uint64_t genesis_validity, cc_reason_t *reason);

//  Same from ZPL text; origin names it in messages.
cc_policy_t *
    cc_policy_parse (const char *text, const char *origin, uint64_t genesis_validity,
                     cc_reason_t *reason);

//  Destroys a policy; nulls the pointer; safe on NULL.
void
    cc_policy_destroy (cc_policy_t **self_p);

//  --- Reading --------------------------------------------------------------------

//  The numbers, owned by the policy.
const cc_policy_values_t *
    cc_policy_values (cc_policy_t *self);

//  Number of banned keys, and the one at index: its 32-byte key and reason
//  (both owned by the policy). NULL for an index out of range.
size_t
    cc_policy_banned_count (cc_policy_t *self);
const uint8_t *
    cc_policy_banned (cc_policy_t *self, size_t index, const char **reason_p);

//  --- Checks -----------------------------------------------------------------------

//  Checks a candidate's profile: BAD_FIELD for a profile that is missing
//  or malformed (names too long, too many GPUs), PROFILE_BELOW_POLICY with
//  the field named. 0 when it meets the policy.
int
    cc_policy_check_profile (cc_policy_t *self, const Certchain__MachineProfile *profile,
                             cc_reason_t *reason);

//  Checks a measured score: SCORE_BELOW_POLICY with the field named, or 0.
int
    cc_policy_check_score (cc_policy_t *self, const Certchain__ChallengeScore *score,
                           cc_reason_t *reason);

//  --- Output -----------------------------------------------------------------------

//  Prints the policy as ZPL a policy file may hold, each line after
//  prefix (e.g. "#  " to print it as comments).
void
    cc_policy_print (cc_policy_t *self, FILE *stream, const char *prefix);

#endif
