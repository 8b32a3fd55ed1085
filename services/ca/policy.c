/*  =========================================================================
    policy - what a certification authority demands of a candidate

    One table describes every key of the "policy" section: its name, where
    its value lives, its range and its help line. Loading, range checks and
    printing all walk that table, so a new key is one line. Values are
    plain unsigned decimals (cc_config_text_u64) or booleans
    (cc_config_text_bool), as in every other CertChain file.
    =========================================================================
*/

#include "policy.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "profile.h"

#define S_MIB ((uint64_t) 1024 * 1024)

//  How a key's value is stored.
typedef enum {
    S_U64,          //  uint64_t
    S_U32,          //  uint32_t
    S_BOOL          //  bool
} s_kind_t;

//  One key of the "policy" section.
typedef struct {
    const char *name;           //  key in the file
    s_kind_t kind;              //  how it is stored
    size_t offset;              //  where in cc_policy_values_t
    uint64_t min;               //  smallest value accepted
    uint64_t max;               //  largest value accepted
    const char *help;           //  one line for the printed policy
} s_field_t;

#define S_AT(member) offsetof (cc_policy_values_t, member)

static const s_field_t s_fields [] = {
    {"min_cpu_cores", S_U64, S_AT (min_cpu_cores), 0, UINT32_MAX,
     "cores the candidate may run on, at least"},
    {"min_memory_mb", S_U64, S_AT (min_memory_mb), 0, UINT64_MAX / S_MIB,
     "total memory in MiB, at least"},
    {"min_disk_free_mb", S_U64, S_AT (min_disk_free_mb), 0, UINT64_MAX / S_MIB,
     "free disk at the candidate's data directory in MiB, at least"},
    {"require_gpu", S_BOOL, S_AT (require_gpu), 0, 1,
     "1: at least one GPU is required"},
    {"min_gpu_memory_mb", S_U64, S_AT (min_gpu_memory_mb), 0, UINT64_MAX / S_MIB,
     "memory of the largest GPU in MiB, at least (0: any; above 0 requires a GPU)"},
    {"min_hashes_per_second", S_U64, S_AT (min_hashes_per_second), 0, UINT64_MAX,
     "measured proof-of-work hashes per second, at least"},
    {"min_argon2_mib_per_second", S_U64, S_AT (min_argon2_mib_per_second), 0, UINT64_MAX,
     "measured Argon2id memory filled per second in MiB, at least"},
    {"packets", S_U32, S_AT (challenge.packets), 1, CC_CHALLENGE_MAX_PACKETS,
     "challenge size N: packets to solve"},
    {"difficulty_bits", S_U32, S_AT (challenge.difficulty_bits), 0, CC_CHALLENGE_MAX_DIFFICULTY,
     "leading zero bits of each packet's proof of work"},
    {"argon2_memory_kib", S_U32, S_AT (challenge.argon2_memory_kib), CC_CHALLENGE_MIN_MEMORY_KIB,
     CC_CHALLENGE_MAX_MEMORY_KIB, "Argon2id memory per packet in KiB"},
    {"argon2_ops", S_U32, S_AT (challenge.argon2_ops), 1, CC_CHALLENGE_MAX_OPS,
     "Argon2id passes per packet"},
    {"sample_size", S_U32, S_AT (challenge.sample_size), 1, CC_CHALLENGE_MAX_PACKETS,
     "packets whose Argon2 output the CA recomputes (all when >= packets)"},
    {"deadline_ms", S_U64, S_AT (challenge.deadline_ms), 1, CC_CHALLENGE_MAX_DEADLINE_MS,
     "time from challenge to answer, on the CA's clock"},
    {"validity_blocks", S_U64, S_AT (validity_blocks), 2, UINT32_MAX,
     "certificate validity in blocks (default: the genesis cert_validity)"},
    {"rate_per_key_per_minute", S_U64, S_AT (rate_per_key_per_minute), 0, UINT32_MAX,
     "join requests per candidate key a minute (0: no limit)"},
    {"rate_per_source_per_minute", S_U64, S_AT (rate_per_source_per_minute), 0, UINT32_MAX,
     "join requests per peer address a minute (0: no limit)"},
    {"backoff_ms", S_U64, S_AT (backoff_ms), 0, 24ull * 3600 * 1000,
     "a refused candidate may ask again after this long"},
    {"max_clock_skew_ms", S_U64, S_AT (max_clock_skew_ms), 1, 24ull * 3600 * 1000,
     "largest difference between a request's time and the CA's clock"},
};

#define S_FIELD_COUNT (sizeof (s_fields) / sizeof (s_fields [0]))

//  One banned key.
typedef struct {
    uint8_t pubkey [CC_PUBKEY_SIZE];    //  the key
    char *reason;                       //  why (owned)
} s_ban_t;

struct _cc_policy_t {
    cc_policy_values_t values;          //  the numbers
    s_ban_t *bans;                      //  banned keys (owned array)
    size_t ban_count;                   //  entries in bans
};

//  --- Values by table --------------------------------------------------------------

static uint64_t
s_get (const cc_policy_values_t *values, const s_field_t *field)
{
    const char *base = (const char *) values + field->offset;
    switch (field->kind) {
        case S_U64: return *(const uint64_t *) (const void *) base;
        case S_U32: return *(const uint32_t *) (const void *) base;
        case S_BOOL: return *(const bool *) (const void *) base ? 1 : 0;
    }
    return 0;
}

static void
s_set (cc_policy_values_t *values, const s_field_t *field, uint64_t value)
{
    char *base = (char *) values + field->offset;
    switch (field->kind) {
        case S_U64: *(uint64_t *) (void *) base = value; break;
        case S_U32: *(uint32_t *) (void *) base = (uint32_t) value; break;
        case S_BOOL: *(bool *) (void *) base = value != 0; break;
    }
}

static const s_field_t *
s_field (const char *name)
{
    for (size_t index = 0; index < S_FIELD_COUNT; index++)
        if (strcmp (s_fields [index].name, name) == 0)
            return &s_fields [index];
    return NULL;
}

//  --- Life cycle --------------------------------------------------------------------

cc_policy_t *
cc_policy_new (uint64_t genesis_validity)
{
    cc_policy_t *self = (cc_policy_t *) calloc (1, sizeof (cc_policy_t));
    if (!self)
        return NULL;
    cc_policy_values_t *values = &self->values;
    values->min_cpu_cores = 1;
    values->min_memory_mb = 512;
    values->min_disk_free_mb = 100;
    values->require_gpu = false;
    values->min_gpu_memory_mb = 0;
    values->min_hashes_per_second = 0;
    values->min_argon2_mib_per_second = 0;
    values->challenge = cc_challenge_params_default ();
    values->validity_blocks = genesis_validity;
    values->rate_per_key_per_minute = 6;
    values->rate_per_source_per_minute = 30;
    values->backoff_ms = 10000;
    values->max_clock_skew_ms = 300000;
    return self;
}

void
cc_policy_destroy (cc_policy_t **self_p)
{
    if (self_p && *self_p) {
        cc_policy_t *self = *self_p;
        for (size_t index = 0; index < self->ban_count; index++)
            free (self->bans [index].reason);
        free (self->bans);
        free (self);
        *self_p = NULL;
    }
}

//  --- Loading ------------------------------------------------------------------------

static int
s_read_policy (cc_policy_t *self, zconfig_t *section, const char *origin, cc_reason_t *reason)
{
    for (zconfig_t *node = zconfig_child (section); node; node = zconfig_next (node)) {
        const char *name = zconfig_name (node);
        const char *text = zconfig_value (node) ? zconfig_value (node) : "";
        const s_field_t *field = s_field (name);
        if (!field)
            return cc_reason_set (reason, CC_E_CONFIG, "%s: policy/%s: unknown key", origin,
                                  name);
        if (zconfig_child (node))
            return cc_reason_set (reason, CC_E_CONFIG, "%s: policy/%s: expected a value, "
                                  "not a section", origin, name);
        uint64_t value = 0;
        if (field->kind == S_BOOL) {
            bool flag = false;
            if (cc_config_text_bool (text, &flag) != 0)
                return cc_reason_set (reason, CC_E_CONFIG,
                                      "%s: policy/%s: expected 1/0, true/false or yes/no, "
                                      "got '%s'", origin, name, text);
            value = flag ? 1 : 0;
        }
        else
        if (cc_config_text_u64 (text, &value) != 0 || value < field->min || value > field->max)
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: policy/%s: expected a number from %" PRIu64 " to %" PRIu64
                                  ", got '%s'", origin, name, field->min, field->max, text);
        s_set (&self->values, field, value);
    }
    return 0;
}

static int
s_read_banned (cc_policy_t *self, zconfig_t *section, const char *origin, cc_reason_t *reason)
{
    size_t count = 0;
    for (zconfig_t *node = zconfig_child (section); node; node = zconfig_next (node))
        count++;
    if (count == 0)
        return 0;
    self->bans = (s_ban_t *) calloc (count, sizeof (s_ban_t));
    if (!self->bans)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    for (zconfig_t *node = zconfig_child (section); node; node = zconfig_next (node)) {
        s_ban_t *ban = &self->bans [self->ban_count];
        if (cc_hex_decode (zconfig_name (node), ban->pubkey, CC_PUBKEY_SIZE) != 0)
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: banned/%s: expected a public key of 64 hex characters",
                                  origin, zconfig_name (node));
        ban->reason = strdup (zconfig_value (node) ? zconfig_value (node) : "");
        if (!ban->reason)
            return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        self->ban_count++;
    }
    return 0;
}

//  Checks the values together, after the per-key ranges.
static int
s_validate (cc_policy_t *self, const char *origin, cc_reason_t *reason)
{
    cc_reason_t why;
    cc_reason_clear (&why);
    if (cc_challenge_params_check (&self->values.challenge, &why) != 0)
        return cc_reason_set (reason, CC_E_CONFIG, "%s: policy: %s", origin,
                              cc_reason_text (&why));
    if (self->values.validity_blocks < 2)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "%s: policy/validity_blocks: %" PRIu64 " is below 2 (a certificate "
                              "must cover at least the height after its block); set it in the "
                              "policy or raise the genesis cert_validity",
                              origin, self->values.validity_blocks);
    return 0;
}

//  Reads a parsed file into a new policy (the tree stays the caller's).
static cc_policy_t *
s_from_tree (zconfig_t *tree, const char *origin, uint64_t genesis_validity,
             cc_reason_t *reason)
{
    cc_policy_t *self = cc_policy_new (genesis_validity);
    int rc = self ? 0 : cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    bool seen_policy = false, seen_banned = false;
    for (zconfig_t *node = zconfig_child (tree); node && rc == 0; node = zconfig_next (node)) {
        const char *name = zconfig_name (node);
        bool *seen = streq (name, "policy") ? &seen_policy
                     : streq (name, "banned") ? &seen_banned : NULL;
        if (!seen)
            rc = cc_reason_set (reason, CC_E_CONFIG,
                                "%s: '%s': unknown section (expected policy and banned)",
                                origin, name);
        else
        if (*seen)
            rc = cc_reason_set (reason, CC_E_CONFIG, "%s: section '%s' appears twice", origin,
                                name);
        else {
            *seen = true;
            rc = seen == &seen_policy ? s_read_policy (self, node, origin, reason)
                                      : s_read_banned (self, node, origin, reason);
        }
    }
    if (rc == 0)
        rc = s_validate (self, origin, reason);
    if (rc != 0)
        cc_policy_destroy (&self);
    return self;
}

cc_policy_t *
cc_policy_parse (const char *text, const char *origin, uint64_t genesis_validity,
                 cc_reason_t *reason)
{
    assert (text);
    assert (origin);
    zconfig_t *tree = cc_config_zpl_parse (text, origin, reason);
    if (!tree)
        return NULL;
    cc_policy_t *self = s_from_tree (tree, origin, genesis_validity, reason);
    zconfig_destroy (&tree);
    return self;
}

cc_policy_t *
cc_policy_load (const char *path, uint64_t genesis_validity, cc_reason_t *reason)
{
    assert (path);
    zconfig_t *tree = cc_config_zpl_load (path, CC_CONFIG_MAX_FILE_SIZE, reason);
    if (!tree)
        return NULL;
    cc_policy_t *self = s_from_tree (tree, path, genesis_validity, reason);
    zconfig_destroy (&tree);
    return self;
}

//  --- Reading ---------------------------------------------------------------------------

const cc_policy_values_t *
cc_policy_values (cc_policy_t *self)
{
    assert (self);
    return &self->values;
}

size_t
cc_policy_banned_count (cc_policy_t *self)
{
    assert (self);
    return self->ban_count;
}

const uint8_t *
cc_policy_banned (cc_policy_t *self, size_t index, const char **reason_p)
{
    assert (self);
    if (index >= self->ban_count)
        return NULL;
    if (reason_p)
        *reason_p = self->bans [index].reason;
    return self->bans [index].pubkey;
}

//  --- Checks ------------------------------------------------------------------------------

int
cc_policy_check_profile (cc_policy_t *self, const Certchain__MachineProfile *profile,
                         cc_reason_t *reason)
{
    assert (self);
    const cc_policy_values_t *policy = &self->values;
    if (!profile)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "the request carries no machine profile");
    if (profile->cpu_model && strlen (profile->cpu_model) > CC_PROFILE_NAME_MAX)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "profile cpu_model longer than %d bytes",
                              CC_PROFILE_NAME_MAX);
    if (profile->n_gpus > CC_PROFILE_MAX_GPUS)
        return cc_reason_set (reason, CC_E_BAD_FIELD, "profile lists %zu GPUs (at most %d)",
                              profile->n_gpus, CC_PROFILE_MAX_GPUS);
    uint64_t gpu_memory = 0;
    for (size_t index = 0; index < profile->n_gpus; index++) {
        const Certchain__Gpu *gpu = profile->gpus [index];
        if (!gpu || (gpu->name && strlen (gpu->name) > CC_PROFILE_NAME_MAX))
            return cc_reason_set (reason, CC_E_BAD_FIELD, "profile GPU %zu is malformed", index);
        if (gpu->memory_bytes > gpu_memory)
            gpu_memory = gpu->memory_bytes;
    }
    if (profile->cpu_cores < policy->min_cpu_cores)
        return cc_reason_set (reason, CC_E_PROFILE_BELOW_POLICY,
                              "profile below policy: cpu_cores %" PRIu32 " < %" PRIu64,
                              profile->cpu_cores, policy->min_cpu_cores);
    if (profile->memory_bytes / S_MIB < policy->min_memory_mb)
        return cc_reason_set (reason, CC_E_PROFILE_BELOW_POLICY,
                              "profile below policy: memory_mb %" PRIu64 " < %" PRIu64,
                              profile->memory_bytes / S_MIB, policy->min_memory_mb);
    if (profile->disk_free_bytes / S_MIB < policy->min_disk_free_mb)
        return cc_reason_set (reason, CC_E_PROFILE_BELOW_POLICY,
                              "profile below policy: disk_free_mb %" PRIu64 " < %" PRIu64,
                              profile->disk_free_bytes / S_MIB, policy->min_disk_free_mb);
    bool need_gpu = policy->require_gpu || policy->min_gpu_memory_mb > 0;
    if (need_gpu && profile->n_gpus == 0)
        return cc_reason_set (reason, CC_E_PROFILE_BELOW_POLICY,
                              "profile below policy: gpus 0 < 1 (a GPU is required)");
    if (gpu_memory / S_MIB < policy->min_gpu_memory_mb)
        return cc_reason_set (reason, CC_E_PROFILE_BELOW_POLICY,
                              "profile below policy: gpu_memory_mb %" PRIu64 " < %" PRIu64,
                              gpu_memory / S_MIB, policy->min_gpu_memory_mb);
    return 0;
}

int
cc_policy_check_score (cc_policy_t *self, const Certchain__ChallengeScore *score,
                       cc_reason_t *reason)
{
    assert (self);
    assert (score);
    const cc_policy_values_t *policy = &self->values;
    if (score->hashes_per_second < (double) policy->min_hashes_per_second)
        return cc_reason_set (reason, CC_E_SCORE_BELOW_POLICY,
                              "score below policy: hashes_per_second %.0f < %" PRIu64,
                              score->hashes_per_second, policy->min_hashes_per_second);
    if (score->argon2_mib_per_second < (double) policy->min_argon2_mib_per_second)
        return cc_reason_set (reason, CC_E_SCORE_BELOW_POLICY,
                              "score below policy: argon2_mib_per_second %.1f < %" PRIu64,
                              score->argon2_mib_per_second, policy->min_argon2_mib_per_second);
    return 0;
}

//  --- Output ---------------------------------------------------------------------------------

void
cc_policy_print (cc_policy_t *self, FILE *stream, const char *prefix)
{
    assert (self);
    if (!prefix)
        prefix = "";
    fprintf (stream, "%spolicy\n", prefix);
    for (size_t index = 0; index < S_FIELD_COUNT; index++) {
        const s_field_t *field = &s_fields [index];
        fprintf (stream, "%s    #  %s\n", prefix, field->help);
        fprintf (stream, "%s    %s = %" PRIu64 "\n", prefix, field->name,
                 s_get (&self->values, field));
    }
    if (self->ban_count > 0) {
        fprintf (stream, "%sbanned\n", prefix);
        for (size_t index = 0; index < self->ban_count; index++) {
            char hex [CC_HEX_PUBKEY_SIZE];
            cc_hex_encode (self->bans [index].pubkey, CC_PUBKEY_SIZE, hex);
            //  The reason came from a ZPL file, so it lacks one quote kind.
            const char *quote = strchr (self->bans [index].reason, '"') ? "'" : "\"";
            fprintf (stream, "%s    %s = %s%s%s\n", prefix, hex, quote,
                     self->bans [index].reason, quote);
        }
    }
}
