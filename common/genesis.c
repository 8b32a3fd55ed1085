/*  =========================================================================
    genesis - the first state of a chain, and its identity

    Reads and writes the genesis file (ZPL, through config's checked
    reader), holds it as a Genesis protobuf and hashes it. The file looks
    like this (sections may come in any order; ca, validator and account
    entries are numbered 1..n in file order; params may be left out, each
    then takes its default):

        chain
            id = "certchain-devnet"
            time_ms = 1764147600000
        params
            timeout_propose_ms = 1000
            ...
        ca
            1
                pubkey = "<64 hex>"
                produces = 1
        validator
            1
                pubkey = "<64 hex>"
        account
            1
                address = "<64 hex>"
                balance = 1000000

    DESIGN: every refusal names the field by its path in the file
    ("ca/2/pubkey"), since an operator fixes a genesis by hand. Validation
    is one function run by load, parse and save alike, so a file that
    loads is exactly a genesis that could have been saved. The total of
    balances must fit in 64 bits, so no later sum of balances can
    overflow. The hash is over the protobuf built in file order, so the
    same file gives the same hash on every node.
    =========================================================================
*/

#include "genesis.h"

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

//  Largest genesis file we read.
#define S_MAX_FILE_SIZE CC_MAX_MESSAGE_SIZE

//  Protobuf entries with their key stored inline (the message comes first,
//  so a pointer to the entry is a pointer to the message).
typedef struct {
    Certchain__GenesisCa message;       //  pubkey points at key
    uint8_t key [CC_PUBKEY_SIZE];       //  the CA's public key
} s_ca_t;

typedef struct {
    Certchain__GenesisValidator message;    //  pubkey points at key
    uint8_t key [CC_PUBKEY_SIZE];           //  the validator's public key
} s_validator_t;

typedef struct {
    Certchain__GenesisAccount message;      //  address points at key
    uint8_t key [CC_PUBKEY_SIZE];           //  the account's address
} s_account_t;

struct _cc_genesis_t {
    Certchain__Genesis proto;           //  the genesis; arrays owned below
    Certchain__ConsensusParams params;  //  proto.params points here
    size_t ca_capacity;                 //  allocated slots of proto.cas
    size_t validator_capacity;          //  of proto.validators
    size_t account_capacity;            //  of proto.accounts
    uint8_t hash [CC_HASH_SIZE];        //  last computed H(packed proto)
};

//  --- Creating and destroying -----------------------------------------------------

static void
s_params_default (Certchain__ConsensusParams *params)
{
    certchain__consensus_params__init (params);
    params->timeout_propose_ms = 1000;
    params->timeout_prevote_ms = 500;
    params->timeout_precommit_ms = 500;
    params->timeout_delta_ms = 250;
    params->timeout_commit_ms = 100;
    params->max_block_txs = 5000;
    params->max_block_bytes = 4194304;
    params->cert_validity = 100000;
    params->max_validators = 64;
    params->jail_after = 50;
}

cc_genesis_t *
cc_genesis_new (const char *chain_id, uint64_t genesis_time_ms)
{
    cc_genesis_t *self = (cc_genesis_t *) calloc (1, sizeof (cc_genesis_t));
    if (!self)
        return NULL;
    certchain__genesis__init (&self->proto);
    s_params_default (&self->params);
    self->proto.params = &self->params;
    self->proto.chain_id = strdup (chain_id ? chain_id : "");
    self->proto.genesis_time_ms = genesis_time_ms;
    if (!self->proto.chain_id) {
        free (self);
        return NULL;
    }
    return self;
}

void
cc_genesis_destroy (cc_genesis_t **self_p)
{
    assert (self_p);
    cc_genesis_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->proto.n_cas; index++)
        free (self->proto.cas [index]);
    for (size_t index = 0; index < self->proto.n_validators; index++)
        free (self->proto.validators [index]);
    for (size_t index = 0; index < self->proto.n_accounts; index++)
        free (self->proto.accounts [index]);
    free (self->proto.cas);
    free (self->proto.validators);
    free (self->proto.accounts);
    free (self->proto.chain_id);
    free (self);
    *self_p = NULL;
}

//  --- Building ------------------------------------------------------------------

//  Makes room for one more pointer in an array. 0 or NOMEM.
static int
s_grow (void ***array_p, size_t count, size_t *capacity_p)
{
    if (count < *capacity_p)
        return 0;
    size_t capacity = *capacity_p ? *capacity_p * 2 : 8;
    void **array = (void **) realloc (*array_p, capacity * sizeof (void *));
    if (!array)
        return CC_E_NOMEM;
    *array_p = array;
    *capacity_p = capacity;
    return 0;
}

//  Appends without checking for duplicates (validation names them).
static int
s_append_ca (cc_genesis_t *self, const uint8_t *pubkey, size_t size, bool produces)
{
    if (s_grow ((void ***) &self->proto.cas, self->proto.n_cas, &self->ca_capacity))
        return CC_E_NOMEM;
    s_ca_t *entry = (s_ca_t *) calloc (1, sizeof (s_ca_t));
    if (!entry)
        return CC_E_NOMEM;
    certchain__genesis_ca__init (&entry->message);
    memcpy (entry->key, pubkey, size);
    entry->message.pubkey = cc_bytes_view (entry->key, size);
    entry->message.produces = produces;
    self->proto.cas [self->proto.n_cas++] = &entry->message;
    return 0;
}

static int
s_append_validator (cc_genesis_t *self, const uint8_t *pubkey, size_t size)
{
    if (s_grow ((void ***) &self->proto.validators, self->proto.n_validators,
                &self->validator_capacity))
        return CC_E_NOMEM;
    s_validator_t *entry = (s_validator_t *) calloc (1, sizeof (s_validator_t));
    if (!entry)
        return CC_E_NOMEM;
    certchain__genesis_validator__init (&entry->message);
    memcpy (entry->key, pubkey, size);
    entry->message.pubkey = cc_bytes_view (entry->key, size);
    self->proto.validators [self->proto.n_validators++] = &entry->message;
    return 0;
}

static int
s_append_account (cc_genesis_t *self, const uint8_t *address, size_t size, uint64_t balance)
{
    if (s_grow ((void ***) &self->proto.accounts, self->proto.n_accounts,
                &self->account_capacity))
        return CC_E_NOMEM;
    s_account_t *entry = (s_account_t *) calloc (1, sizeof (s_account_t));
    if (!entry)
        return CC_E_NOMEM;
    certchain__genesis_account__init (&entry->message);
    memcpy (entry->key, address, size);
    entry->message.address = cc_bytes_view (entry->key, size);
    entry->message.balance = balance;
    self->proto.accounts [self->proto.n_accounts++] = &entry->message;
    return 0;
}

//  True if pubkey is already a CA or an initial validator.
static bool
s_is_member (cc_genesis_t *self, const uint8_t *pubkey)
{
    ProtobufCBinaryData key = cc_bytes_view (pubkey, CC_PUBKEY_SIZE);
    for (size_t index = 0; index < self->proto.n_cas; index++)
        if (cc_bytes_equal (self->proto.cas [index]->pubkey, key))
            return true;
    for (size_t index = 0; index < self->proto.n_validators; index++)
        if (cc_bytes_equal (self->proto.validators [index]->pubkey, key))
            return true;
    return false;
}

int
cc_genesis_add_ca (cc_genesis_t *self, const uint8_t *pubkey, bool produces)
{
    assert (self);
    assert (pubkey);
    if (s_is_member (self, pubkey))
        return CC_E_EXISTS;
    return s_append_ca (self, pubkey, CC_PUBKEY_SIZE, produces);
}

int
cc_genesis_add_validator (cc_genesis_t *self, const uint8_t *pubkey)
{
    assert (self);
    assert (pubkey);
    if (s_is_member (self, pubkey))
        return CC_E_EXISTS;
    return s_append_validator (self, pubkey, CC_PUBKEY_SIZE);
}

int
cc_genesis_add_account (cc_genesis_t *self, const uint8_t *address, uint64_t balance)
{
    assert (self);
    assert (address);
    ProtobufCBinaryData key = cc_bytes_view (address, CC_PUBKEY_SIZE);
    for (size_t index = 0; index < self->proto.n_accounts; index++)
        if (cc_bytes_equal (self->proto.accounts [index]->address, key))
            return CC_E_EXISTS;
    return s_append_account (self, address, CC_PUBKEY_SIZE, balance);
}

Certchain__ConsensusParams *
cc_genesis_params (cc_genesis_t *self)
{
    assert (self);
    return &self->params;
}

//  --- Validation ----------------------------------------------------------------

//  One key of the genesis, for finding duplicates by sorting.
typedef struct {
    const uint8_t *key;     //  32 bytes
    const char *section;    //  "ca", "validator" or "account"
    size_t number;          //  entry number in its section, from 1
    size_t order;           //  position in the file, for a stable sort
} s_entry_t;

static int
s_entry_compare (const void *a, const void *b)
{
    const s_entry_t *left = (const s_entry_t *) a;
    const s_entry_t *right = (const s_entry_t *) b;
    int rc = memcmp (left->key, right->key, CC_PUBKEY_SIZE);
    if (rc)
        return rc;
    return left->order < right->order ? -1 : left->order > right->order;
}

//  Refuses the first entry whose key an earlier entry already has.
static int
s_check_duplicates (s_entry_t *entries, size_t count, const char *field, cc_reason_t *reason)
{
    qsort (entries, count, sizeof (s_entry_t), s_entry_compare);
    //  Report the duplicate that comes first in the file, with the entry
    //  that had the key before it.
    const s_entry_t *worst = NULL, *first = NULL;
    for (size_t index = 1; index < count; index++) {
        if (memcmp (entries [index].key, entries [index - 1].key, CC_PUBKEY_SIZE) != 0)
            continue;
        size_t start = index - 1;
        while (start > 0 && memcmp (entries [start - 1].key, entries [index].key,
                                    CC_PUBKEY_SIZE) == 0)
            start--;
        if (!worst || entries [index].order < worst->order) {
            worst = &entries [index];
            first = &entries [start];
        }
    }
    if (worst)
        return cc_reason_set (reason, CC_E_CONFIG, "genesis: %s/%zu/%s: duplicate of %s/%zu",
                              worst->section, worst->number, field, first->section,
                              first->number);
    return 0;
}

//  Checks a member's public key: 32 bytes and a usable Ed25519 point.
static int
s_check_pubkey (ProtobufCBinaryData key, const char *section, size_t number, const char *field,
                cc_reason_t *reason)
{
    uint8_t curve [CC_CURVE_KEY_SIZE];
    if (!cc_bytes_sized (key, CC_PUBKEY_SIZE))
        return cc_reason_set (reason, CC_E_CONFIG, "genesis: %s/%zu/%s: expected 32 bytes",
                              section, number, field);
    if (cc_pubkey_curve (key.data, curve) != 0)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "genesis: %s/%zu/%s: not a valid Ed25519 public key", section,
                              number, field);
    return 0;
}

static int
s_check_params (const Certchain__ConsensusParams *params, cc_reason_t *reason)
{
    struct {
        const char *name;       //  field under params/
        uint64_t value;         //  its value
        uint64_t minimum;       //  smallest accepted
    } checks [] = {
        {"timeout_propose_ms", params->timeout_propose_ms, 1},
        {"timeout_prevote_ms", params->timeout_prevote_ms, 1},
        {"timeout_precommit_ms", params->timeout_precommit_ms, 1},
        {"timeout_delta_ms", params->timeout_delta_ms, 1},
        {"timeout_commit_ms", params->timeout_commit_ms, 1},
        {"max_block_txs", params->max_block_txs, 1},
        {"max_block_bytes", params->max_block_bytes, 1024},
        {"cert_validity", params->cert_validity, 1},
        {"max_validators", params->max_validators, 1},
    };
    for (size_t index = 0; index < sizeof (checks) / sizeof (checks [0]); index++)
        if (checks [index].value < checks [index].minimum)
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "genesis: params/%s: must be at least %" PRIu64 ", got %" PRIu64,
                                  checks [index].name, checks [index].minimum,
                                  checks [index].value);
    return 0;
}

static int
s_check_chain_id (const char *chain_id, cc_reason_t *reason)
{
    if (!chain_id || !*chain_id)
        return cc_reason_set (reason, CC_E_CONFIG, "genesis: chain/id is missing");
    if (strlen (chain_id) > CC_CHAIN_ID_MAX)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "genesis: chain/id: longer than %d characters", CC_CHAIN_ID_MAX);
    for (const char *scan = chain_id; *scan; scan++) {
        char c = *scan;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "genesis: chain/id: only letters, digits, '.', '_' and '-' "
                                  "are allowed");
    }
    return 0;
}

int
cc_genesis_validate (cc_genesis_t *self, cc_reason_t *reason)
{
    assert (self);
    const Certchain__Genesis *proto = &self->proto;
    int rc = s_check_chain_id (proto->chain_id, reason);
    if (rc == 0)
        rc = s_check_params (&self->params, reason);
    if (rc)
        return rc;
    if (proto->n_cas == 0)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "genesis: ca: at least one certification authority is required");

    //  Members: keys well formed, no key twice among CAs and validators.
    size_t members = proto->n_cas + proto->n_validators;
    size_t producers = proto->n_validators;
    s_entry_t *entries = (s_entry_t *) calloc (members + proto->n_accounts + 1,
                                               sizeof (s_entry_t));
    if (!entries)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    for (size_t index = 0; index < proto->n_cas && rc == 0; index++) {
        rc = s_check_pubkey (proto->cas [index]->pubkey, "ca", index + 1, "pubkey", reason);
        entries [index] = (s_entry_t) {proto->cas [index]->pubkey.data, "ca", index + 1, index};
        producers += proto->cas [index]->produces;
    }
    for (size_t index = 0; index < proto->n_validators && rc == 0; index++) {
        rc = s_check_pubkey (proto->validators [index]->pubkey, "validator", index + 1, "pubkey",
                             reason);
        entries [proto->n_cas + index] = (s_entry_t) {
            proto->validators [index]->pubkey.data, "validator", index + 1,
            proto->n_cas + index};
    }
    if (rc == 0)
        rc = s_check_duplicates (entries, members, "pubkey", reason);
    if (rc == 0 && producers == 0)
        rc = cc_reason_set (reason, CC_E_CONFIG,
                            "genesis: no block producer: set 'produces = 1' on a ca or add a "
                            "validator");
    if (rc == 0 && producers > self->params.max_validators)
        rc = cc_reason_set (reason, CC_E_CONFIG,
                            "genesis: params/max_validators: %zu block producers in genesis "
                            "exceed it (%u)",
                            producers, self->params.max_validators);

    //  Accounts: addresses well formed and distinct, balances summable.
    uint64_t total = 0;
    for (size_t index = 0; index < proto->n_accounts && rc == 0; index++) {
        const Certchain__GenesisAccount *account = proto->accounts [index];
        if (!cc_bytes_sized (account->address, CC_PUBKEY_SIZE))
            rc = cc_reason_set (reason, CC_E_CONFIG,
                                "genesis: account/%zu/address: expected 32 bytes", index + 1);
        else
        if (account->balance > UINT64_MAX - total)
            rc = cc_reason_set (reason, CC_E_CONFIG,
                                "genesis: account/%zu/balance: the total of balances "
                                "overflows 64 bits",
                                index + 1);
        total += account->balance;
        entries [index] = (s_entry_t) {account->address.data, "account", index + 1, index};
    }
    if (rc == 0)
        rc = s_check_duplicates (entries, proto->n_accounts, "address", reason);
    free (entries);
    return rc;
}

//  --- Reading the ZPL tree ---------------------------------------------------------

//  Parses a plain unsigned decimal no larger than maximum, for field path.
static int
s_parse_number (const char *text, uint64_t maximum, const char *path, uint64_t *value,
                cc_reason_t *reason)
{
    uint64_t number = 0;
    int rc = cc_config_text_u64 (text, &number);
    if (rc == CC_E_BAD_FIELD)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "genesis: %s: expected a whole number, got '%.40s'", path, text);
    if (rc != 0 || number > maximum)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "genesis: %s: out of range (at most %" PRIu64 "), got '%.40s'",
                              path, maximum, text);
    *value = number;
    return 0;
}

static int
s_parse_key (const char *text, const char *path, uint8_t *key, cc_reason_t *reason)
{
    if (strlen (text) != 2 * CC_PUBKEY_SIZE || cc_hex_decode (text, key, CC_PUBKEY_SIZE) != 0)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "genesis: %s: expected 64 hex characters", path);
    return 0;
}

static int
s_parse_bool (const char *text, const char *path, bool *value, cc_reason_t *reason)
{
    if (cc_config_text_bool (text, value) != 0)
        return cc_reason_set (reason, CC_E_CONFIG, "genesis: %s: expected 1 or 0, got '%.40s'",
                              path, text);
    return 0;
}

//  The fields a section or entry may hold, and which were seen.
typedef struct {
    const char *name;           //  field name
    const char *value;          //  its value once seen, borrowed
} s_field_t;

//  Reads the children of node into fields (all values; no sections), by
//  name; refuses unknown names, fields given twice and sub-sections.
static int
s_read_fields (zconfig_t *node, const char *prefix, s_field_t *fields, size_t count,
               cc_reason_t *reason)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        const char *name = zconfig_name (child);
        size_t index = 0;
        while (index < count && strcmp (fields [index].name, name) != 0)
            index++;
        if (index == count)
            return cc_reason_set (reason, CC_E_CONFIG, "genesis: %s/%.64s: unknown key", prefix,
                                  name);
        if (fields [index].value)
            return cc_reason_set (reason, CC_E_CONFIG, "genesis: %s/%s: given twice", prefix,
                                  name);
        if (zconfig_child (child))
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "genesis: %s/%s: expected a value, not a section", prefix,
                                  name);
        fields [index].value = zconfig_value (child) ? zconfig_value (child) : "";
    }
    return 0;
}

static int
s_read_chain (cc_genesis_t *self, zconfig_t *node, cc_reason_t *reason)
{
    s_field_t fields [] = {{"id", NULL}, {"time_ms", NULL}};
    int rc = s_read_fields (node, "chain", fields, 2, reason);
    if (rc)
        return rc;
    if (!fields [0].value || !*fields [0].value)
        return cc_reason_set (reason, CC_E_CONFIG, "genesis: chain/id is missing");
    if (!fields [1].value)
        return cc_reason_set (reason, CC_E_CONFIG, "genesis: chain/time_ms is missing");
    char *chain_id = strdup (fields [0].value);
    if (!chain_id)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    free (self->proto.chain_id);
    self->proto.chain_id = chain_id;
    return s_parse_number (fields [1].value, UINT64_MAX, "chain/time_ms",
                           &self->proto.genesis_time_ms, reason);
}

static int
s_read_params (cc_genesis_t *self, zconfig_t *node, cc_reason_t *reason)
{
    Certchain__ConsensusParams *params = &self->params;
    s_field_t fields [] = {
        {"timeout_propose_ms", NULL}, {"timeout_prevote_ms", NULL},
        {"timeout_precommit_ms", NULL}, {"timeout_delta_ms", NULL},
        {"timeout_commit_ms", NULL}, {"max_block_txs", NULL},
        {"max_block_bytes", NULL}, {"cert_validity", NULL},
        {"max_validators", NULL}, {"jail_after", NULL},
    };
    uint32_t *narrow [] = {
        &params->timeout_propose_ms, &params->timeout_prevote_ms,
        &params->timeout_precommit_ms, &params->timeout_delta_ms,
        &params->timeout_commit_ms, &params->max_block_txs,
        &params->max_block_bytes, NULL,
        &params->max_validators, &params->jail_after,
    };
    size_t count = sizeof (fields) / sizeof (fields [0]);
    int rc = s_read_fields (node, "params", fields, count, reason);
    for (size_t index = 0; index < count && rc == 0; index++) {
        if (!fields [index].value)
            continue;       //  keeps its default
        char path [64];
        snprintf (path, sizeof (path), "params/%s", fields [index].name);
        uint64_t value = 0;
        rc = s_parse_number (fields [index].value, narrow [index] ? UINT32_MAX : UINT64_MAX,
                             path, &value, reason);
        if (rc == 0 && narrow [index])
            *narrow [index] = (uint32_t) value;
        else
        if (rc == 0)
            params->cert_validity = value;
    }
    return rc;
}

//  Reads the numbered entries of a ca, validator or account section.
static int
s_read_entries (cc_genesis_t *self, zconfig_t *node, const char *section, cc_reason_t *reason)
{
    size_t number = 0;
    for (zconfig_t *entry = zconfig_child (node); entry; entry = zconfig_next (entry)) {
        number++;
        char expected [32], prefix [64], path [96];
        snprintf (expected, sizeof (expected), "%zu", number);
        if (strcmp (zconfig_name (entry), expected) != 0)
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "genesis: %s/%.32s: entries must be numbered 1, 2, 3... in "
                                  "order (expected %zu)",
                                  section, zconfig_name (entry), number);
        snprintf (prefix, sizeof (prefix), "%s/%zu", section, number);
        if (zconfig_value (entry) && *zconfig_value (entry))
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "genesis: %s: expected a section, not a value", prefix);
        uint8_t key [CC_PUBKEY_SIZE];
        int rc = 0;
        if (strcmp (section, "account") == 0) {
            s_field_t fields [] = {{"address", NULL}, {"balance", NULL}};
            uint64_t balance = 0;
            rc = s_read_fields (entry, prefix, fields, 2, reason);
            for (size_t field = 0; field < 2 && rc == 0; field++)
                if (!fields [field].value)
                    rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: %s/%s is missing",
                                        prefix, fields [field].name);
            snprintf (path, sizeof (path), "%s/address", prefix);
            if (rc == 0)
                rc = s_parse_key (fields [0].value, path, key, reason);
            snprintf (path, sizeof (path), "%s/balance", prefix);
            if (rc == 0)
                rc = s_parse_number (fields [1].value, UINT64_MAX, path, &balance, reason);
            if (rc == 0 && s_append_account (self, key, CC_PUBKEY_SIZE, balance))
                rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        }
        else {
            bool is_ca = strcmp (section, "ca") == 0;
            s_field_t fields [] = {{"pubkey", NULL}, {"produces", NULL}};
            bool produces = false;
            rc = s_read_fields (entry, prefix, fields, is_ca ? 2 : 1, reason);
            snprintf (path, sizeof (path), "%s/pubkey", prefix);
            if (rc == 0 && !fields [0].value)
                rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: %s is missing", path);
            if (rc == 0)
                rc = s_parse_key (fields [0].value, path, key, reason);
            snprintf (path, sizeof (path), "%s/produces", prefix);
            if (rc == 0 && fields [1].value)
                rc = s_parse_bool (fields [1].value, path, &produces, reason);
            if (rc == 0 && (is_ca ? s_append_ca (self, key, CC_PUBKEY_SIZE, produces)
                                  : s_append_validator (self, key, CC_PUBKEY_SIZE)))
                rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        }
        if (rc)
            return rc;
    }
    return 0;
}

//  Builds and validates a genesis from a parsed ZPL tree.
static cc_genesis_t *
s_genesis_from_tree (zconfig_t *tree, cc_reason_t *reason)
{
    cc_genesis_t *self = cc_genesis_new ("", 0);
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    const char *sections [] = {"chain", "params", "ca", "validator", "account"};
    bool seen [5] = {false};
    int rc = 0;
    for (zconfig_t *node = zconfig_child (tree); node && rc == 0; node = zconfig_next (node)) {
        const char *name = zconfig_name (node);
        size_t index = 0;
        while (index < 5 && strcmp (sections [index], name) != 0)
            index++;
        if (index == 5)
            rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: unknown section '%.64s'", name);
        else
        if (seen [index])
            rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: section '%s' given twice", name);
        else
        if (zconfig_value (node) && *zconfig_value (node))
            rc = cc_reason_set (reason, CC_E_CONFIG,
                                "genesis: %s: expected a section, not a value", name);
        else {
            seen [index] = true;
            if (index == 0)
                rc = s_read_chain (self, node, reason);
            else
            if (index == 1)
                rc = s_read_params (self, node, reason);
            else
                rc = s_read_entries (self, node, name, reason);
        }
    }
    if (rc == 0 && !seen [0])
        rc = cc_reason_set (reason, CC_E_CONFIG, "genesis: chain/id is missing");
    if (rc == 0)
        rc = cc_genesis_validate (self, reason);
    if (rc)
        cc_genesis_destroy (&self);
    return self;
}

cc_genesis_t *
cc_genesis_parse (const char *text, cc_reason_t *reason)
{
    assert (text);
    zconfig_t *tree = cc_config_zpl_parse (text, "genesis", reason);
    if (!tree)
        return NULL;
    cc_genesis_t *self = s_genesis_from_tree (tree, reason);
    zconfig_destroy (&tree);
    if (self)
        cc_reason_clear (reason);
    return self;
}

cc_genesis_t *
cc_genesis_load (const char *path, cc_reason_t *reason)
{
    assert (path);
    //  Read by config's checked reader rather than zconfig_load, which
    //  answers NULL alike for a missing file and a syntax error and logs
    //  the error itself on stdout.
    zconfig_t *tree = cc_config_zpl_load (path, S_MAX_FILE_SIZE, reason);
    if (!tree)
        return NULL;
    cc_genesis_t *self = s_genesis_from_tree (tree, reason);
    zconfig_destroy (&tree);
    if (self)
        cc_reason_clear (reason);
    return self;
}

//  --- Saving ----------------------------------------------------------------------

static void
s_write_key (FILE *file, const char *name, ProtobufCBinaryData key)
{
    char hex [2 * CC_PUBKEY_SIZE + 1];
    cc_hex_encode (key.data, key.len, hex);
    fprintf (file, "        %s = \"%s\"\n", name, hex);
}

int
cc_genesis_save (cc_genesis_t *self, const char *path, cc_reason_t *reason)
{
    assert (self);
    assert (path);
    int rc = cc_genesis_validate (self, reason);
    if (rc)
        return rc;
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            return cc_reason_set (reason, CC_E_EXISTS, "%s: already exists, not overwritten",
                                  path);
        return cc_reason_set (reason, CC_E_IO, "%s: cannot create: %s", path, strerror (errno));
    }
    FILE *file = fdopen (fd, "w");
    if (!file) {
        close (fd);
        unlink (path);
        return cc_reason_set (reason, CC_E_IO, "%s: cannot write: %s", path, strerror (errno));
    }
    char hash [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (cc_genesis_hash (self), CC_HASH_SIZE, hash);
    const Certchain__Genesis *proto = &self->proto;
    const Certchain__ConsensusParams *params = &self->params;
    fprintf (file, "#   CertChain genesis of chain %s\n#   hash %s\n\n", proto->chain_id, hash);
    fprintf (file, "chain\n    id = \"%s\"\n    time_ms = %" PRIu64 "\n", proto->chain_id,
             proto->genesis_time_ms);
    fprintf (file,
             "params\n"
             "    timeout_propose_ms = %u\n"
             "    timeout_prevote_ms = %u\n"
             "    timeout_precommit_ms = %u\n"
             "    timeout_delta_ms = %u\n"
             "    timeout_commit_ms = %u\n"
             "    max_block_txs = %u\n"
             "    max_block_bytes = %u\n"
             "    cert_validity = %" PRIu64 "\n"
             "    max_validators = %u\n"
             "    jail_after = %u\n",
             params->timeout_propose_ms, params->timeout_prevote_ms,
             params->timeout_precommit_ms, params->timeout_delta_ms, params->timeout_commit_ms,
             params->max_block_txs, params->max_block_bytes, params->cert_validity,
             params->max_validators, params->jail_after);
    fprintf (file, "ca\n");
    for (size_t index = 0; index < proto->n_cas; index++) {
        fprintf (file, "    %zu\n", index + 1);
        s_write_key (file, "pubkey", proto->cas [index]->pubkey);
        fprintf (file, "        produces = %d\n", proto->cas [index]->produces ? 1 : 0);
    }
    if (proto->n_validators)
        fprintf (file, "validator\n");
    for (size_t index = 0; index < proto->n_validators; index++) {
        fprintf (file, "    %zu\n", index + 1);
        s_write_key (file, "pubkey", proto->validators [index]->pubkey);
    }
    if (proto->n_accounts)
        fprintf (file, "account\n");
    for (size_t index = 0; index < proto->n_accounts; index++) {
        fprintf (file, "    %zu\n", index + 1);
        s_write_key (file, "address", proto->accounts [index]->address);
        fprintf (file, "        balance = %" PRIu64 "\n", proto->accounts [index]->balance);
    }
    //  A genesis is written once and read by every node: make it durable.
    bool failed = fflush (file) != 0 || ferror (file) || fsync (fd) != 0;
    int error = errno;
    if (fclose (file) != 0)
        failed = true;
    if (failed) {
        unlink (path);
        return cc_reason_set (reason, CC_E_IO, "%s: cannot write: %s", path, strerror (error));
    }
    cc_reason_clear (reason);
    return 0;
}

//  --- Reading -------------------------------------------------------------------

const Certchain__Genesis *
cc_genesis_proto (cc_genesis_t *self)
{
    assert (self);
    return &self->proto;
}

const char *
cc_genesis_chain_id (cc_genesis_t *self)
{
    assert (self);
    return self->proto.chain_id;
}

uint64_t
cc_genesis_time_ms (cc_genesis_t *self)
{
    assert (self);
    return self->proto.genesis_time_ms;
}

//  A protobuf-c output buffer that hashes what is packed into it, so the
//  hash needs no allocation.
typedef struct {
    ProtobufCBuffer base;               //  protobuf-c's interface, first
    crypto_generichash_state state;     //  BLAKE2b-256 so far
} s_hash_buffer_t;

static void
s_hash_append (ProtobufCBuffer *buffer, size_t size, const uint8_t *data)
{
    s_hash_buffer_t *self = (s_hash_buffer_t *) buffer;
    crypto_generichash_update (&self->state, data, size);
}

const uint8_t *
cc_genesis_hash (cc_genesis_t *self)
{
    assert (self);
    //  Recomputed on every call: the params are writable through
    //  cc_genesis_params, so a cached hash could go stale unseen. Same
    //  result as cc_hash over the packed bytes.
    s_hash_buffer_t buffer;
    buffer.base.append = s_hash_append;
    crypto_generichash_init (&buffer.state, NULL, 0, CC_HASH_SIZE);
    certchain__genesis__pack_to_buffer (&self->proto, &buffer.base);
    crypto_generichash_final (&buffer.state, self->hash, CC_HASH_SIZE);
    return self->hash;
}

//  The CA entry of pubkey, or NULL.
static const Certchain__GenesisCa *
s_find_ca (cc_genesis_t *self, const uint8_t *pubkey)
{
    ProtobufCBinaryData key = cc_bytes_view (pubkey, CC_PUBKEY_SIZE);
    for (size_t index = 0; index < self->proto.n_cas; index++)
        if (cc_bytes_equal (self->proto.cas [index]->pubkey, key))
            return self->proto.cas [index];
    return NULL;
}

bool
cc_genesis_is_ca (cc_genesis_t *self, const uint8_t *pubkey)
{
    assert (self);
    assert (pubkey);
    return s_find_ca (self, pubkey) != NULL;
}

bool
cc_genesis_ca_produces (cc_genesis_t *self, const uint8_t *pubkey)
{
    assert (self);
    assert (pubkey);
    const Certchain__GenesisCa *ca = s_find_ca (self, pubkey);
    return ca && ca->produces;
}
