/*  =========================================================================
    test_crypto - keys, key files, domain-separated signatures, hashes, hex,
    X25519 conversion and Merkle proofs
    =========================================================================
*/

#include "fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

START_TEST (test_sign_verify_domains_and_chains)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_keypair_t *other = fixture_keypair (2);
    const uint8_t data [] = "pay 10 to bob";
    uint8_t signature [CC_SIGNATURE_SIZE];
    cc_keypair_sign (key, CC_DOMAIN_TX, "chain-a", data, sizeof (data), signature);

    ck_assert (cc_verify (cc_keypair_public (key), CC_DOMAIN_TX, "chain-a", data,
                          sizeof (data), signature));
    //  Another domain, another chain, another key, other bytes: all fail.
    for (int domain = 0; domain < CC_DOMAIN_COUNT; domain++)
        if (domain != CC_DOMAIN_TX)
            ck_assert (!cc_verify (cc_keypair_public (key), (cc_domain_t) domain, "chain-a",
                                   data, sizeof (data), signature));
    ck_assert (!cc_verify (cc_keypair_public (key), CC_DOMAIN_TX, "chain-b", data,
                           sizeof (data), signature));
    ck_assert (!cc_verify (cc_keypair_public (key), CC_DOMAIN_TX, "chain-a2", data,
                           sizeof (data), signature));
    ck_assert (!cc_verify (cc_keypair_public (other), CC_DOMAIN_TX, "chain-a", data,
                           sizeof (data), signature));
    ck_assert (!cc_verify (cc_keypair_public (key), CC_DOMAIN_TX, "chain-a", data,
                           sizeof (data) - 1, signature));
    signature [5] ^= 1;
    ck_assert (!cc_verify (cc_keypair_public (key), CC_DOMAIN_TX, "chain-a", data,
                           sizeof (data), signature));
    //  Large messages take the heap path and still verify.
    size_t big_size = 100000;
    uint8_t *big = calloc (1, big_size);
    cc_keypair_sign (key, CC_DOMAIN_VOTE, "chain-a", big, big_size, signature);
    ck_assert (cc_verify (cc_keypair_public (key), CC_DOMAIN_VOTE, "chain-a", big, big_size,
                          signature));
    free (big);
    cc_keypair_destroy (&key);
    cc_keypair_destroy (&other);
    ck_assert_ptr_null (key);
    cc_keypair_destroy (&key);     //  safe on NULL
}
END_TEST

START_TEST (test_key_files)
{
    char *dir = fixture_tempdir ("keys");
    char secret_path [512], public_path [512];
    snprintf (secret_path, sizeof (secret_path), "%s/node.key", dir);
    snprintf (public_path, sizeof (public_path), "%s/node.pub", dir);
    cc_keypair_t *key = cc_keypair_new ();
    cc_reason_t reason;
    ck_assert_int_eq (cc_keypair_save (key, secret_path, public_path, &reason), 0);

    struct stat info;
    ck_assert_int_eq (stat (secret_path, &info), 0);
    ck_assert_int_eq (info.st_mode & 0777, 0600);
    ck_assert_int_eq (stat (public_path, &info), 0);
    ck_assert_int_eq (info.st_mode & 0777, 0644);

    //  Round trip.
    cc_keypair_t *loaded = cc_keypair_load (secret_path, &reason);
    ck_assert_ptr_nonnull (loaded);
    ck_assert_mem_eq (cc_keypair_public (loaded), cc_keypair_public (key), CC_PUBKEY_SIZE);
    uint8_t pubkey [CC_PUBKEY_SIZE];
    ck_assert_int_eq (cc_pubkey_load (public_path, pubkey, &reason), 0);
    ck_assert_mem_eq (pubkey, cc_keypair_public (key), CC_PUBKEY_SIZE);

    //  Never overwrites.
    ck_assert_int_eq (cc_keypair_save (key, secret_path, NULL, &reason), CC_E_EXISTS);

    //  Readable by group: refused with a message that says how to fix it.
    chmod (secret_path, 0640);
    ck_assert_ptr_null (cc_keypair_load (secret_path, &reason));
    ck_assert_int_eq (reason.code, CC_E_PERMISSIONS);
    ck_assert_ptr_nonnull (strstr (reason.text, "chmod 600"));
    chmod (secret_path, 0604);
    ck_assert_ptr_null (cc_keypair_load (secret_path, &reason));
    ck_assert_int_eq (reason.code, CC_E_PERMISSIONS);

    //  Garbage content and missing file.
    chmod (secret_path, 0600);
    FILE *file = fopen (secret_path, "w");
    fputs ("not hex at all\n", file);
    fclose (file);
    ck_assert_ptr_null (cc_keypair_load (secret_path, &reason));
    ck_assert_int_eq (reason.code, CC_E_BAD_FIELD);
    ck_assert_ptr_null (cc_keypair_load ("/nonexistent/x.key", &reason));
    ck_assert_int_eq (reason.code, CC_E_IO);

    cc_keypair_destroy (&key);
    cc_keypair_destroy (&loaded);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_curve_conversion)
{
    cc_keypair_t *alice = fixture_keypair (3);
    cc_keypair_t *bob = fixture_keypair (4);
    uint8_t alice_public [32], alice_secret [32], bob_public [32], bob_secret [32];
    ck_assert_int_eq (cc_keypair_curve (alice, alice_public, alice_secret), 0);
    ck_assert_int_eq (cc_keypair_curve (bob, bob_public, bob_secret), 0);
    //  The public key converted alone equals the pair's; a shared secret agrees.
    uint8_t converted [32];
    ck_assert_int_eq (cc_pubkey_curve (cc_keypair_public (alice), converted), 0);
    ck_assert_mem_eq (converted, alice_public, 32);
    uint8_t shared_a [32], shared_b [32];
    ck_assert_int_eq (crypto_scalarmult (shared_a, alice_secret, bob_public), 0);
    ck_assert_int_eq (crypto_scalarmult (shared_b, bob_secret, alice_public), 0);
    ck_assert_mem_eq (shared_a, shared_b, 32);
    cc_keypair_destroy (&alice);
    cc_keypair_destroy (&bob);
}
END_TEST

START_TEST (test_hash_and_hex)
{
    //  BLAKE2b-256 of the empty string (RFC 7693 parameters, 32-byte output).
    uint8_t hash [CC_HASH_SIZE];
    cc_hash ("", 0, hash);
    char hex [65];
    cc_hex_encode (hash, 32, hex);
    ck_assert_str_eq (hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    uint8_t joined [CC_HASH_SIZE];
    cc_hash2 ("ab", 2, "c", 1, joined);
    cc_hash ("abc", 3, hash);
    ck_assert_mem_eq (joined, hash, 32);

    uint8_t back [32];
    ck_assert_int_eq (cc_hex_decode (hex, back, 32), 0);
    ck_assert_int_eq (cc_hex_decode ("abc", back, 2), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_hex_decode ("zz", back, 1), CC_E_BAD_FIELD);
    ck_assert_int_eq (cc_hex_decode ("ABcd", back, 2), 0);
    ck_assert_int_eq (back [0], 0xab);
}
END_TEST

START_TEST (test_merkle)
{
    //  For every tree size up to 33, every leaf's proof verifies, and fails
    //  against another leaf, index or root.
    for (size_t count = 1; count <= 33; count++) {
        uint8_t *leaves = malloc (count * 32);
        for (size_t leaf = 0; leaf < count; leaf++)
            cc_hash (&leaf, sizeof (leaf), leaves + leaf * 32);
        uint8_t root [32];
        cc_merkle_root (leaves, count, root);
        for (size_t index = 0; index < count; index++) {
            uint8_t proof [CC_MERKLE_MAX_DEPTH * 32];
            size_t depth = 0;
            ck_assert_int_eq (cc_merkle_proof (leaves, count, index, proof, &depth), 0);
            ck_assert (cc_merkle_verify (leaves + index * 32, count, index, proof, depth, root));
            if (count > 1) {
                size_t other = (index + 1) % count;
                ck_assert (!cc_merkle_verify (leaves + other * 32, count, index, proof, depth,
                                              root));
                ck_assert (!cc_merkle_verify (leaves + index * 32, count, other, proof, depth,
                                              root));
            }
            uint8_t wrong_root [32];
            memcpy (wrong_root, root, 32);
            wrong_root [0] ^= 1;
            ck_assert (!cc_merkle_verify (leaves + index * 32, count, index, proof, depth,
                                          wrong_root));
        }
        //  Changing any leaf changes the root.
        leaves [count / 2 * 32] ^= 0x80;
        uint8_t changed [32];
        cc_merkle_root (leaves, count, changed);
        ck_assert_mem_ne (changed, root, 32);
        ck_assert_int_eq (cc_merkle_proof (leaves, count, count, NULL, NULL),
                          CC_E_INVALID_ARG);
        free (leaves);
    }
    //  A tree of n leaves and the same leaves plus a copy of the last differ.
    uint8_t three [3 * 32], four [4 * 32], root3 [32], root4 [32];
    for (int leaf = 0; leaf < 3; leaf++)
        cc_hash (&leaf, sizeof (leaf), three + leaf * 32);
    memcpy (four, three, 96);
    memcpy (four + 96, three + 64, 32);
    cc_merkle_root (three, 3, root3);
    cc_merkle_root (four, 4, root4);
    ck_assert_mem_ne (root3, root4, 32);
    uint8_t empty [32], zero [32] = {0};
    cc_merkle_root (NULL, 0, empty);
    ck_assert_mem_eq (empty, zero, 32);
}
END_TEST

START_TEST (test_short_hash)
{
    uint8_t key_a [CC_SHORT_HASH_KEY_SIZE], key_b [CC_SHORT_HASH_KEY_SIZE];
    ck_assert_int_eq (CC_SHORT_HASH_KEY_SIZE, crypto_shorthash_KEYBYTES);
    memset (key_a, 1, sizeof (key_a));
    memset (key_b, 2, sizeof (key_b));
    uint64_t first = cc_short_hash (key_a, "certchain", 9);
    ck_assert_uint_eq (cc_short_hash (key_a, "certchain", 9), first);
    //  Another key or other bytes give another value.
    ck_assert_uint_ne (cc_short_hash (key_b, "certchain", 9), first);
    ck_assert_uint_ne (cc_short_hash (key_a, "certchaiN", 9), first);
    //  SipHash-2-4 as libsodium computes it, first 8 bytes.
    uint8_t digest [crypto_shorthash_BYTES];
    crypto_shorthash (digest, (const unsigned char *) "certchain", 9, key_a);
    uint64_t expected;
    memcpy (&expected, digest, sizeof (expected));
    ck_assert_uint_eq (first, expected);
}
END_TEST

START_TEST (test_error_names)
{
    ck_assert_str_eq (cc_error_name (CC_E_NONCE_GAP), "NONCE_GAP");
    ck_assert_str_eq (cc_error_name (0), "OK");
    ck_assert_str_eq (cc_error_name (-9999), "UNKNOWN");
    ck_assert_int_eq (cc_error_from_name ("UNAUTHORIZED_PROPOSER"), CC_E_UNAUTHORIZED_PROPOSER);
    ck_assert_int_eq (cc_error_from_name ("NO_SUCH"), 0);
    cc_reason_t reason;
    ck_assert_int_eq (cc_reason_set (&reason, CC_E_CONFIG, "field '%s'", "x"), CC_E_CONFIG);
    ck_assert_str_eq (cc_reason_text (&reason), "field 'x'");
    cc_reason_clear (&reason);
    ck_assert_str_eq (cc_reason_text (&reason), "success");
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("crypto");
    TCase *tcase = tcase_create ("core");
    tcase_add_test (tcase, test_sign_verify_domains_and_chains);
    tcase_add_test (tcase, test_key_files);
    tcase_add_test (tcase, test_curve_conversion);
    tcase_add_test (tcase, test_hash_and_hex);
    tcase_add_test (tcase, test_merkle);
    tcase_add_test (tcase, test_error_names);
    tcase_add_test (tcase, test_short_hash);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
