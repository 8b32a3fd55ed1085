/*  =========================================================================
    test_genesis - building, saving, loading and hashing a genesis, and
    every refusal of a malformed one, each naming its field
    =========================================================================
*/

#include "fixture.h"
#include "genesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  The hex public key of fixture key n, written into hex (65 bytes).
static const char *
s_hex (unsigned n, char *hex)
{
    cc_keypair_t *key = fixture_keypair (n);
    strcpy (hex, cc_keypair_public_hex (key));
    cc_keypair_destroy (&key);
    return hex;
}

//  A valid genesis text: two CAs (one producing), a validator, two
//  accounts, every parameter given. Caller frees.
static char *
s_base_text (void)
{
    char k1 [65], k2 [65], k3 [65], k4 [65], k5 [65];
    char *text = NULL;
    int rc = asprintf (&text,
                       "#  a test genesis\n"
                       "chain\n"
                       "    id = \"certchain-devnet\"\n"
                       "    time_ms = 1764147600000\n"
                       "params\n"
                       "    timeout_propose_ms = 1000\n"
                       "    timeout_prevote_ms = 500\n"
                       "    timeout_precommit_ms = 500\n"
                       "    timeout_delta_ms = 250\n"
                       "    timeout_commit_ms = 100\n"
                       "    max_block_txs = 5000\n"
                       "    max_block_bytes = 4194304\n"
                       "    cert_validity = 100000\n"
                       "    max_validators = 64\n"
                       "    jail_after = 50\n"
                       "ca\n"
                       "    1\n"
                       "        pubkey = \"%s\"\n"
                       "        produces = 1\n"
                       "    2\n"
                       "        pubkey = \"%s\"\n"
                       "        produces = 0\n"
                       "validator\n"
                       "    1\n"
                       "        pubkey = \"%s\"\n"
                       "account\n"
                       "    1\n"
                       "        address = \"%s\"\n"
                       "        balance = 1000000\n"
                       "    2\n"
                       "        address = \"%s\"\n"
                       "        balance = 5\n",
                       s_hex (1, k1), s_hex (2, k2), s_hex (100, k3), s_hex (1000, k4),
                       s_hex (1001, k5));
    ck_assert_int_gt (rc, 0);
    return text;
}

//  text with the first occurrence of find replaced. Caller frees.
static char *
s_edit (const char *text, const char *find, const char *replace)
{
    const char *at = strstr (text, find);
    ck_assert_msg (at != NULL, "'%s' not in the base text", find);
    char *edited = NULL;
    ck_assert_int_gt (asprintf (&edited, "%.*s%s%s", (int) (at - text), text, replace,
                                at + strlen (find)),
                      0);
    return edited;
}

//  text without the part from the first "from" up to the first "to" after
//  it (to the end when to is NULL). Caller frees.
static char *
s_cut (const char *text, const char *from, const char *to)
{
    const char *start = strstr (text, from);
    ck_assert_ptr_nonnull (start);
    const char *end = to ? strstr (start, to) : start + strlen (start);
    ck_assert_ptr_nonnull (end);
    char *cut = NULL;
    ck_assert_int_gt (asprintf (&cut, "%.*s%s", (int) (start - text), text, end), 0);
    return cut;
}

//  Line "    N\n        pubkey = "<hex of key>"\n" of fixture key n.
static char *
s_entry (const char *number, const char *field, unsigned key)
{
    char hex [65];
    char *entry = NULL;
    ck_assert_int_gt (asprintf (&entry, "    %s\n        %s = \"%s\"\n", number, field,
                                s_hex (key, hex)),
                      0);
    return entry;
}

START_TEST (test_parse_base)
{
    char *text = s_base_text ();
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_parse (text, &reason);
    ck_assert_msg (genesis != NULL, "%s", reason.text);
    ck_assert_str_eq (cc_genesis_chain_id (genesis), "certchain-devnet");
    ck_assert_uint_eq (cc_genesis_time_ms (genesis), 1764147600000ull);
    const Certchain__Genesis *proto = cc_genesis_proto (genesis);
    ck_assert_uint_eq (proto->n_cas, 2);
    ck_assert_uint_eq (proto->n_validators, 1);
    ck_assert_uint_eq (proto->n_accounts, 2);
    ck_assert_uint_eq (proto->accounts [0]->balance, 1000000);
    ck_assert_uint_eq (proto->accounts [1]->balance, 5);

    cc_keypair_t *ca1 = fixture_keypair (1), *ca2 = fixture_keypair (2);
    cc_keypair_t *validator = fixture_keypair (100), *account = fixture_keypair (1000);
    ck_assert (cc_genesis_is_ca (genesis, cc_keypair_public (ca1)));
    ck_assert (cc_genesis_ca_produces (genesis, cc_keypair_public (ca1)));
    ck_assert (cc_genesis_is_ca (genesis, cc_keypair_public (ca2)));
    ck_assert (!cc_genesis_ca_produces (genesis, cc_keypair_public (ca2)));
    ck_assert (!cc_genesis_is_ca (genesis, cc_keypair_public (validator)));
    ck_assert (!cc_genesis_ca_produces (genesis, cc_keypair_public (validator)));
    ck_assert (!cc_genesis_is_ca (genesis, cc_keypair_public (account)));
    ck_assert_mem_eq (proto->validators [0]->pubkey.data, cc_keypair_public (validator), 32);
    ck_assert_mem_eq (proto->accounts [0]->address.data, cc_keypair_public (account), 32);
    cc_keypair_destroy (&ca1);
    cc_keypair_destroy (&ca2);
    cc_keypair_destroy (&validator);
    cc_keypair_destroy (&account);

    //  Params left out take their defaults; the hash is the same.
    const uint8_t *hash = cc_genesis_hash (genesis);
    uint8_t expected [CC_HASH_SIZE];
    memcpy (expected, hash, CC_HASH_SIZE);
    char *without = s_cut (text, "params\n", "ca\n");
    cc_genesis_t *defaults = cc_genesis_parse (without, &reason);
    ck_assert_msg (defaults != NULL, "%s", reason.text);
    Certchain__ConsensusParams *params = cc_genesis_params (defaults);
    ck_assert_uint_eq (params->timeout_propose_ms, 1000);
    ck_assert_uint_eq (params->timeout_prevote_ms, 500);
    ck_assert_uint_eq (params->timeout_precommit_ms, 500);
    ck_assert_uint_eq (params->timeout_delta_ms, 250);
    ck_assert_uint_eq (params->timeout_commit_ms, 100);
    ck_assert_uint_eq (params->max_block_txs, 5000);
    ck_assert_uint_eq (params->max_block_bytes, 4194304);
    ck_assert_uint_eq (params->cert_validity, 100000);
    ck_assert_uint_eq (params->max_validators, 64);
    ck_assert_uint_eq (params->jail_after, 50);
    ck_assert_mem_eq (cc_genesis_hash (defaults), expected, CC_HASH_SIZE);

    //  The hash is H(packed Genesis).
    size_t size = certchain__genesis__get_packed_size (proto);
    uint8_t *packed = malloc (size);
    certchain__genesis__pack (proto, packed);
    uint8_t direct [CC_HASH_SIZE];
    cc_hash (packed, size, direct);
    ck_assert_mem_eq (direct, expected, CC_HASH_SIZE);
    free (packed);

    cc_genesis_destroy (&defaults);
    cc_genesis_destroy (&genesis);
    ck_assert_ptr_null (genesis);
    cc_genesis_destroy (&genesis);      //  safe on NULL
    free (without);
    free (text);
}
END_TEST

START_TEST (test_build_save_load)
{
    cc_genesis_t *genesis = cc_genesis_new ("certchain-devnet", 1764147600000ull);
    ck_assert_ptr_nonnull (genesis);
    cc_keypair_t *ca = fixture_keypair (1), *ca2 = fixture_keypair (2);
    cc_keypair_t *validator = fixture_keypair (100), *account = fixture_keypair (1000);
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (ca), true), 0);
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (ca2), false), 0);
    ck_assert_int_eq (cc_genesis_add_validator (genesis, cc_keypair_public (validator)), 0);
    ck_assert_int_eq (cc_genesis_add_account (genesis, cc_keypair_public (account), 1000000),
                      0);
    ck_assert_int_eq (cc_genesis_add_account (genesis, cc_keypair_public (ca), 5), 0);
    cc_genesis_params (genesis)->max_block_txs = 1234;
    cc_genesis_params (genesis)->cert_validity = 5000000000ull;

    //  Duplicates refused: a CA twice, a CA as validator, an account twice.
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (ca), false), CC_E_EXISTS);
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (validator), false),
                      CC_E_EXISTS);
    ck_assert_int_eq (cc_genesis_add_validator (genesis, cc_keypair_public (ca)), CC_E_EXISTS);
    ck_assert_int_eq (cc_genesis_add_validator (genesis, cc_keypair_public (validator)),
                      CC_E_EXISTS);
    ck_assert_int_eq (cc_genesis_add_account (genesis, cc_keypair_public (account), 1),
                      CC_E_EXISTS);
    cc_reason_t reason;
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), 0);

    char *dir = fixture_tempdir ("genesis");
    char path [512];
    snprintf (path, sizeof (path), "%s/genesis.zpl", dir);
    ck_assert_int_eq (cc_genesis_save (genesis, path, &reason), 0);
    struct stat info;
    ck_assert_int_eq (stat (path, &info), 0);
    ck_assert_int_eq (info.st_mode & 0777, 0644);

    //  Never overwrites.
    ck_assert_int_eq (cc_genesis_save (genesis, path, &reason), CC_E_EXISTS);
    ck_assert_int_eq (reason.code, CC_E_EXISTS);

    cc_genesis_t *loaded = cc_genesis_load (path, &reason);
    ck_assert_msg (loaded != NULL, "%s", reason.text);
    ck_assert_mem_eq (cc_genesis_hash (loaded), cc_genesis_hash (genesis), CC_HASH_SIZE);
    ck_assert_str_eq (cc_genesis_chain_id (loaded), "certchain-devnet");
    ck_assert_uint_eq (cc_genesis_params (loaded)->max_block_txs, 1234);
    ck_assert_uint_eq (cc_genesis_params (loaded)->cert_validity, 5000000000ull);
    ck_assert (cc_genesis_ca_produces (loaded, cc_keypair_public (ca)));
    ck_assert (cc_genesis_is_ca (loaded, cc_keypair_public (ca2)));
    ck_assert (!cc_genesis_ca_produces (loaded, cc_keypair_public (ca2)));

    //  The file has the documented layout.
    FILE *file = fopen (path, "r");
    char content [8192];
    size_t size = fread (content, 1, sizeof (content) - 1, file);
    content [size] = 0;
    fclose (file);
    ck_assert_ptr_nonnull (strstr (content, "chain\n    id = \"certchain-devnet\"\n"
                                            "    time_ms = 1764147600000\n"));
    ck_assert_ptr_nonnull (strstr (content, "    max_block_txs = 1234\n"));
    char expected [256];
    snprintf (expected, sizeof (expected), "ca\n    1\n        pubkey = \"%s\"\n"
              "        produces = 1\n", cc_keypair_public_hex (ca));
    ck_assert_ptr_nonnull (strstr (content, expected));
    snprintf (expected, sizeof (expected), "account\n    1\n        address = \"%s\"\n"
              "        balance = 1000000\n", cc_keypair_public_hex (account));
    ck_assert_ptr_nonnull (strstr (content, expected));

    //  A missing file is IO; a second save of the loaded one is refused too.
    ck_assert_ptr_null (cc_genesis_load ("/nonexistent/genesis.zpl", &reason));
    ck_assert_int_eq (reason.code, CC_E_IO);
    ck_assert_ptr_null (cc_genesis_load (dir, &reason));
    ck_assert_int_eq (reason.code, CC_E_IO);
    ck_assert_int_eq (cc_genesis_save (loaded, path, &reason), CC_E_EXISTS);

    //  An invalid genesis is not saved.
    cc_genesis_params (genesis)->max_validators = 0;
    char bad_path [600];
    snprintf (bad_path, sizeof (bad_path), "%s/bad.zpl", dir);
    ck_assert_int_eq (cc_genesis_save (genesis, bad_path, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "params/max_validators"));
    ck_assert_int_ne (stat (bad_path, &info), 0);

    cc_keypair_destroy (&ca);
    cc_keypair_destroy (&ca2);
    cc_keypair_destroy (&validator);
    cc_keypair_destroy (&account);
    cc_genesis_destroy (&genesis);
    cc_genesis_destroy (&loaded);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  Parses text (and frees it), which must be refused with CONFIG and a
//  message that starts with "genesis" and names field.
static void
s_refused (char *text, const char *field)
{
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_parse (text, &reason);
    ck_assert_msg (genesis == NULL, "accepted, expected a refusal naming %s:\n%s", field, text);
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    ck_assert_msg (strstr (reason.text, field) != NULL, "'%s' lacks '%s'", reason.text, field);
    ck_assert_msg (strncmp (reason.text, "genesis", 7) == 0, "'%s'", reason.text);
    free (text);
}

START_TEST (test_refusals)
{
    char *base = s_base_text ();
    char k1 [65], k2 [65], k3 [65], k4 [65];
    s_hex (1, k1);
    s_hex (2, k2);
    s_hex (100, k3);
    s_hex (1000, k4);
    char long_id [100];
    snprintf (long_id, sizeof (long_id), "id = \"%065d\"", 0);

    //  Chain.
    s_refused (s_edit (base, "    id = \"certchain-devnet\"\n", ""), "chain/id");
    s_refused (s_edit (base, "id = \"certchain-devnet\"", "id = \"\""), "chain/id");
    s_refused (s_edit (base, "id = \"certchain-devnet\"", long_id), "chain/id");
    s_refused (s_edit (base, "id = \"certchain-devnet\"", "id = \"cert chain\""), "chain/id");
    s_refused (s_edit (base, "id = \"certchain-devnet\"", "id = \"cert/chain\""), "chain/id");
    s_refused (s_edit (base, "    time_ms = 1764147600000\n", ""), "chain/time_ms");
    s_refused (s_edit (base, "time_ms = 1764147600000", "time_ms = soon"), "chain/time_ms");
    s_refused (s_edit (base, "    time_ms", "    color = \"blue\"\n    time_ms"), "chain/color");

    //  Keys: not hex, too short, missing, not a usable Ed25519 key.
    s_refused (s_edit (base, k2, "abcd"), "ca/2/pubkey");
    s_refused (s_edit (base, k2, "zz"), "ca/2/pubkey");
    char not_hex [65];
    snprintf (not_hex, sizeof (not_hex), "g%s", k2 + 1);
    s_refused (s_edit (base, k2, not_hex), "ca/2/pubkey");
    //  The identity point: 64 hex characters, but no usable key.
    const char *identity = "0100000000000000000000000000000000000000000000000000000000000000";
    s_refused (s_edit (base, k2, identity), "ca/2/pubkey");
    char missing [200];
    snprintf (missing, sizeof (missing), "        pubkey = \"%s\"\n", k2);
    s_refused (s_edit (base, missing, ""), "ca/2/pubkey");
    s_refused (s_edit (base, "produces = 0", "produces = maybe"), "ca/2/produces");
    s_refused (s_edit (base, k3, "00"), "validator/1/pubkey");
    s_refused (s_edit (base, k4, "123"), "account/1/address");
    s_refused (s_edit (base, "        balance = 5\n", ""), "account/2/balance");

    //  Members: no CA at all, no producer, keys twice.
    s_refused (s_cut (base, "ca\n", "validator\n"), "ca");
    char *no_validator = s_cut (base, "validator\n", "account\n");
    s_refused (s_edit (no_validator, "produces = 1", "produces = 0"), "produc");
    free (no_validator);
    s_refused (s_edit (base, k2, k1), "ca/2/pubkey");
    s_refused (s_edit (base, k3, k1), "validator/1/pubkey");
    char *entry = s_entry ("2", "pubkey", 100);
    char *with_entry = NULL;
    ck_assert_int_gt (asprintf (&with_entry, "%saccount\n", entry), 0);
    s_refused (s_edit (base, "account\n", with_entry), "validator/2/pubkey");
    free (with_entry);
    free (entry);
    entry = s_entry ("3", "address", 1000);
    char *text = NULL;
    ck_assert_int_gt (asprintf (&text, "%s%s        balance = 1\n", base, entry), 0);
    s_refused (text, "account/3/address");
    free (entry);

    //  Numbers.
    s_refused (s_edit (base, "balance = 1000000", "balance = abc"), "account/1/balance");
    s_refused (s_edit (base, "balance = 1000000", "balance = -5"), "account/1/balance");
    s_refused (s_edit (base, "balance = 1000000", "balance = 18446744073709551616"),
               "account/1/balance");
    s_refused (s_edit (base, "balance = 1000000", "balance = 12.5"), "account/1/balance");
    s_refused (s_edit (base, "balance = 1000000", "balance = \"\""), "account/1/balance");
    char *first = s_edit (base, "balance = 1000000", "balance = 9223372036854775808");
    s_refused (s_edit (first, "balance = 5", "balance = 9223372036854775808"),
               "account/2/balance");
    free (first);
    s_refused (s_edit (base, "max_block_txs = 5000", "max_block_txs = 4294967296"),
               "params/max_block_txs");
    s_refused (s_edit (base, "max_block_txs = 5000", "max_block_txs = 0"),
               "params/max_block_txs");
    s_refused (s_edit (base, "timeout_propose_ms = 1000", "timeout_propose_ms = 0"),
               "params/timeout_propose_ms");
    s_refused (s_edit (base, "timeout_prevote_ms = 500", "timeout_prevote_ms = 0"),
               "params/timeout_prevote_ms");
    s_refused (s_edit (base, "timeout_precommit_ms = 500", "timeout_precommit_ms = 0"),
               "params/timeout_precommit_ms");
    s_refused (s_edit (base, "timeout_delta_ms = 250", "timeout_delta_ms = 0"),
               "params/timeout_delta_ms");
    s_refused (s_edit (base, "timeout_commit_ms = 100", "timeout_commit_ms = 0"),
               "params/timeout_commit_ms");
    s_refused (s_edit (base, "max_block_bytes = 4194304", "max_block_bytes = 1023"),
               "params/max_block_bytes");
    s_refused (s_edit (base, "max_validators = 64", "max_validators = 0"),
               "params/max_validators");
    //  Two producers (CA 1 and the validator) do not fit in one seat.
    s_refused (s_edit (base, "max_validators = 64", "max_validators = 1"),
               "params/max_validators");
    s_refused (s_edit (base, "cert_validity = 100000", "cert_validity = 0"),
               "params/cert_validity");

    //  Structure: unknown sections and keys, numbering, repeats.
    s_refused (s_edit (base, "jail_after = 50", "jail_after = 50\n    slots = 3"),
               "params/slots");
    s_refused (s_edit (base, "params\n", "extra\n    thing = 1\nparams\n"), "extra");
    s_refused (s_edit (base, "produces = 1", "produces = 1\n        color = 1"), "ca/1/color");
    s_refused (s_edit (base, "ca\n    1\n", "ca\n    one\n"), "ca/one");
    s_refused (s_edit (base, "account\n    1\n", "account\n    2\n"), "account/2");
    s_refused (s_edit (base, "    2\n        address", "    3\n        address"), "account/3");
    s_refused (s_edit (base, "params\n", "chain\n    id = \"x\"\n    time_ms = 1\nparams\n"),
               "chain");
    s_refused (s_edit (base, "    jail_after = 50\n", "    jail_after = 50\n    jail_after = 40\n"),
               "params/jail_after");
    s_refused (s_edit (base, "params\n", "params = 5\n"), "params");
    s_refused (s_edit (base, "    jail_after = 50\n", "    jail_after\n        x = 1\n"),
               "params/jail_after");
    free (base);
}
END_TEST

START_TEST (test_accepted_edges)
{
    char *base = s_base_text ();
    cc_reason_t reason;
    char long_id [100];
    snprintf (long_id, sizeof (long_id), "id = \"A.b_c-%058d\"", 0);    //  64 characters
    const char *edits [][2] = {
        {"id = \"certchain-devnet\"", long_id},
        {"max_block_bytes = 4194304", "max_block_bytes = 1024"},
        {"max_block_txs = 5000", "max_block_txs = 4294967295"},
        {"jail_after = 50", "jail_after = 0"},
        {"balance = 1000000", "balance = 18446744073709551610"},   //  total fits exactly
        {"produces = 1", "produces = true"},
        {"        produces = 0\n", ""},                              //  defaults to 0
        {"time_ms = 1764147600000", "time_ms = 0"},
        {"    max_validators = 64\n", ""},                           //  one default
        {"chain\n", "# comment\n\nchain   # trailing comment\n"},
    };
    for (size_t index = 0; index < sizeof (edits) / sizeof (edits [0]); index++) {
        char *text = s_edit (base, edits [index][0], edits [index][1]);
        cc_genesis_t *genesis = cc_genesis_parse (text, &reason);
        ck_assert_msg (genesis != NULL, "edit %zu refused: %s", index, reason.text);
        cc_genesis_destroy (&genesis);
        free (text);
    }
    //  Sections in another order; no validators (a producing CA suffices).
    char *accounts = s_cut (base, "chain\n", "account\n");
    char *others = s_cut (base, "validator\n", NULL);
    char *text = NULL;
    ck_assert_int_gt (asprintf (&text, "%s%s", accounts, others), 0);
    free (accounts);
    free (others);
    cc_genesis_t *genesis = cc_genesis_parse (text, &reason);
    ck_assert_msg (genesis != NULL, "%s", reason.text);
    ck_assert_uint_eq (cc_genesis_proto (genesis)->n_validators, 0);
    cc_genesis_destroy (&genesis);
    free (text);

    //  No producing CA but a validator: accepted.
    text = s_edit (base, "produces = 1", "produces = 0");
    genesis = cc_genesis_parse (text, &reason);
    ck_assert_msg (genesis != NULL, "%s", reason.text);
    cc_genesis_destroy (&genesis);
    free (text);
    free (base);
}
END_TEST

START_TEST (test_not_zpl)
{
    cc_reason_t reason;
    char *base = s_base_text ();
    struct {
        const char *find, *replace, *expected;
    } cases [] = {
        {"    id =", "  id =", "line 3"},
        {"    id =", "\tid =", "line 3"},
        {"    id = \"certchain-devnet\"", "    id = \"certchain-devnet", "line 3"},
        {"    id = \"certchain-devnet\"", "    id = \"certchain-devnet\" x", "line 3"},
        {"params\n", "params\n            deep = 1\n", "line 6"},
        {"params\n", "params ! x\n", "line 5"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        char *text = s_edit (base, cases [index].find, cases [index].replace);
        ck_assert_ptr_null (cc_genesis_parse (text, &reason));
        ck_assert_int_eq (reason.code, CC_E_CONFIG);
        ck_assert_msg (strstr (reason.text, cases [index].expected) != NULL, "case %zu: '%s'",
                       index, reason.text);
        free (text);
    }
    //  The same through a file, with the file named.
    char *dir = fixture_tempdir ("genesis");
    char path [512];
    snprintf (path, sizeof (path), "%s/broken.zpl", dir);
    FILE *file = fopen (path, "w");
    fputs ("chain\n  id = \"x\"\n", file);
    fclose (file);
    ck_assert_ptr_null (cc_genesis_load (path, &reason));
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, path));
    ck_assert_ptr_nonnull (strstr (reason.text, "line 2"));
    //  Binary content.
    file = fopen (path, "w");
    fwrite ("chain\0\0\0", 1, 8, file);
    fclose (file);
    ck_assert_ptr_null (cc_genesis_load (path, &reason));
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    //  Empty file: no chain id.
    file = fopen (path, "w");
    fclose (file);
    ck_assert_ptr_null (cc_genesis_load (path, &reason));
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "chain/id"));
    fixture_rmtree (dir);
    free (dir);
    free (base);
}
END_TEST

START_TEST (test_validate_built)
{
    cc_reason_t reason;
    //  No CA.
    cc_genesis_t *genesis = cc_genesis_new ("certchain-test", 1);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "ca"));
    //  A CA that does not produce, and no validator.
    cc_keypair_t *ca = fixture_keypair (1), *validator = fixture_keypair (100);
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (ca), false), 0);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "produc"));
    ck_assert_int_eq (cc_genesis_add_validator (genesis, cc_keypair_public (validator)), 0);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), 0);
    //  Balances overflowing in total.
    cc_keypair_t *a = fixture_keypair (1000), *b = fixture_keypair (1001);
    ck_assert_int_eq (cc_genesis_add_account (genesis, cc_keypair_public (a), UINT64_MAX), 0);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), 0);
    ck_assert_int_eq (cc_genesis_add_account (genesis, cc_keypair_public (b), 1), 0);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "account/2/balance"));
    cc_genesis_destroy (&genesis);

    //  Bad chain ids.
    genesis = cc_genesis_new (NULL, 1);
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (ca), true), 0);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "chain/id"));
    cc_genesis_destroy (&genesis);
    genesis = cc_genesis_new ("bad\nid", 1);
    ck_assert_int_eq (cc_genesis_add_ca (genesis, cc_keypair_public (ca), true), 0);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "chain/id"));
    cc_genesis_destroy (&genesis);

    //  The fixture's genesis is valid.
    genesis = fixture_genesis (3, 2, 4, 1000);
    ck_assert_ptr_nonnull (genesis);
    ck_assert_int_eq (cc_genesis_validate (genesis, &reason), 0);
    cc_genesis_destroy (&genesis);

    cc_keypair_destroy (&ca);
    cc_keypair_destroy (&validator);
    cc_keypair_destroy (&a);
    cc_keypair_destroy (&b);
}
END_TEST

START_TEST (test_hash_changes)
{
    cc_genesis_t *genesis = fixture_genesis (2, 1, 2, 1000);
    ck_assert_ptr_nonnull (genesis);
    uint8_t seen [32][CC_HASH_SIZE];
    size_t count = 0;
    //  Records the current hash and checks it differs from every earlier one.
#define S_RECORD()                                                                     \
    do {                                                                               \
        memcpy (seen [count], cc_genesis_hash (genesis), CC_HASH_SIZE);                \
        for (size_t earlier = 0; earlier < count; earlier++)                           \
            ck_assert_msg (memcmp (seen [earlier], seen [count], CC_HASH_SIZE) != 0,   \
                           "change %zu gives the hash of change %zu", count, earlier); \
        count++;                                                                       \
    } while (0)

    S_RECORD ();
    //  Same content, same hash.
    ck_assert_mem_eq (cc_genesis_hash (genesis), seen [0], CC_HASH_SIZE);
    Certchain__Genesis *proto = (Certchain__Genesis *) cc_genesis_proto (genesis);
    Certchain__ConsensusParams *params = cc_genesis_params (genesis);
    params->timeout_propose_ms++;
    S_RECORD ();
    params->timeout_prevote_ms++;
    S_RECORD ();
    params->timeout_precommit_ms++;
    S_RECORD ();
    params->timeout_delta_ms++;
    S_RECORD ();
    params->timeout_commit_ms++;
    S_RECORD ();
    params->max_block_txs++;
    S_RECORD ();
    params->max_block_bytes++;
    S_RECORD ();
    params->cert_validity++;
    S_RECORD ();
    params->max_validators++;
    S_RECORD ();
    params->jail_after++;
    S_RECORD ();
    proto->genesis_time_ms++;
    S_RECORD ();
    proto->cas [1]->produces = !proto->cas [1]->produces;
    S_RECORD ();
    proto->cas [0]->pubkey.data [31] ^= 1;
    S_RECORD ();
    proto->validators [0]->pubkey.data [0] ^= 1;
    S_RECORD ();
    proto->accounts [1]->balance++;
    S_RECORD ();
    proto->accounts [0]->address.data [5] ^= 1;
    S_RECORD ();
    cc_keypair_t *extra = fixture_keypair (10000);
    ck_assert_int_eq (cc_genesis_add_account (genesis, cc_keypair_public (extra), 0), 0);
    S_RECORD ();
    cc_keypair_destroy (&extra);
    extra = fixture_keypair (10001);
    ck_assert_int_eq (cc_genesis_add_validator (genesis, cc_keypair_public (extra)), 0);
    S_RECORD ();
    cc_keypair_destroy (&extra);
    //  Order of entries matters too (file order is part of the identity).
    Certchain__GenesisAccount *swap = proto->accounts [0];
    proto->accounts [0] = proto->accounts [1];
    proto->accounts [1] = swap;
    S_RECORD ();
    //  And the chain id.
    cc_genesis_t *other = cc_genesis_new ("certchain-other", FIXTURE_GENESIS_TIME_MS);
    cc_genesis_t *same = cc_genesis_new (FIXTURE_CHAIN, FIXTURE_GENESIS_TIME_MS);
    ck_assert_mem_ne (cc_genesis_hash (other), cc_genesis_hash (same), CC_HASH_SIZE);
    cc_genesis_destroy (&other);
    cc_genesis_destroy (&same);
#undef S_RECORD
    cc_genesis_destroy (&genesis);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("genesis");
    TCase *tcase = tcase_create ("genesis");
    tcase_add_test (tcase, test_parse_base);
    tcase_add_test (tcase, test_build_save_load);
    tcase_add_test (tcase, test_refusals);
    tcase_add_test (tcase, test_accepted_edges);
    tcase_add_test (tcase, test_not_zpl);
    tcase_add_test (tcase, test_validate_built);
    tcase_add_test (tcase, test_hash_changes);
    suite_add_tcase (suite, tcase);
    return suite;
}

int
main (void)
{
    return fixture_run (s_suite ());
}
