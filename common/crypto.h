/*  =========================================================================
    crypto - keys, signatures, hashes and Merkle trees

    Every node and every account is one Ed25519 key pair (libsodium); an
    address is the 32-byte public key, printed as 64 hex characters. Hashes
    are BLAKE2b-256. A signature covers domain || chain id || bytes, with a
    distinct domain per kind of object, so a signature made for one kind or
    one chain never verifies as another.

    Key files are text: the secret file holds the 32-byte seed in hex and is
    written 0600; the public file holds the public key in hex and is written
    0644. Loading a secret file that group or others may read is refused.

    The same identity serves CurveZMQ: cc_keypair_curve converts the Ed25519
    pair to X25519 keys.

    DESIGN: the Merkle tree is binary over leaf hashes; a level with an odd
    count promotes its last node unchanged (no duplication, so two different
    leaf lists never share a root). Leaves and inner nodes are hashed with
    distinct one-byte prefixes (0 and 1) against second-preimage tricks.
    =========================================================================
*/

#ifndef CC_CRYPTO_H_INCLUDED
#define CC_CRYPTO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CC_HASH_SIZE 32
#define CC_PUBKEY_SIZE 32
#define CC_SEED_SIZE 32
#define CC_SIGNATURE_SIZE 64
#define CC_CURVE_KEY_SIZE 32
#define CC_HEX_PUBKEY_SIZE (2 * CC_PUBKEY_SIZE + 1)
#define CC_CHAIN_ID_MAX 64

//  What a signature is for; each has its own domain string.
typedef enum {
    CC_DOMAIN_TX = 0,           //  a transaction body
    CC_DOMAIN_PROPOSAL,         //  a consensus proposal
    CC_DOMAIN_VOTE,             //  a prevote or precommit
    CC_DOMAIN_BLOCK,            //  a block header, by its proposer
    CC_DOMAIN_JOIN,             //  a join request or challenge answer
    CC_DOMAIN_CERTIFICATE,      //  a certificate statement by a CA
    CC_DOMAIN_COUNT
} cc_domain_t;

typedef struct _cc_keypair_t cc_keypair_t;

//  --- Key pairs ---------------------------------------------------------------

//  Creates a fresh random key pair. Caller owns it.
cc_keypair_t *
    cc_keypair_new (void);

//  Creates the key pair of a 32-byte seed (deterministic). Caller owns it.
cc_keypair_t *
    cc_keypair_new_from_seed (const uint8_t *seed);

//  Loads a secret key file. Refuses (NULL, reason PERMISSIONS) a file that
//  group or others may read, and (reason BAD_FIELD/IO) a malformed or
//  missing one. Caller owns the result.
cc_keypair_t *
    cc_keypair_load (const char *path, cc_reason_t *reason);

//  Writes the secret file at path (mode 0600, refuses to overwrite) and,
//  if public_path is not NULL, the public file (mode 0644). 0 or error.
int
    cc_keypair_save (cc_keypair_t *self, const char *path, const char *public_path,
                     cc_reason_t *reason);

//  Destroys a key pair, wiping its secret; nulls the pointer; safe on NULL.
void
    cc_keypair_destroy (cc_keypair_t **self_p);

//  The 32-byte public key, owned by the key pair.
const uint8_t *
    cc_keypair_public (cc_keypair_t *self);

//  The public key as 64 hex characters, owned by the key pair.
const char *
    cc_keypair_public_hex (cc_keypair_t *self);

//  Signs domain || chain_id || data into signature (64 bytes).
void
    cc_keypair_sign (cc_keypair_t *self, cc_domain_t domain, const char *chain_id,
                     const uint8_t *data, size_t size, uint8_t *signature);

//  The X25519 key pair of this identity, for CurveZMQ (32 bytes each).
int
    cc_keypair_curve (cc_keypair_t *self, uint8_t *curve_public, uint8_t *curve_secret);

//  Reads a public key file (64 hex characters) into pubkey. 0 or error.
int
    cc_pubkey_load (const char *path, uint8_t *pubkey, cc_reason_t *reason);

//  Converts an Ed25519 public key to its X25519 key. 0 or BAD_FIELD.
int
    cc_pubkey_curve (const uint8_t *pubkey, uint8_t *curve_public);

//  --- Signatures ----------------------------------------------------------------

//  True if signature is pubkey's over domain || chain_id || data.
bool
    cc_verify (const uint8_t *pubkey, cc_domain_t domain, const char *chain_id,
               const uint8_t *data, size_t size, const uint8_t *signature);

//  The domain string of a kind, e.g. "certchain/tx/1".
const char *
    cc_domain_name (cc_domain_t domain);

//  --- Hashes ----------------------------------------------------------------------

//  BLAKE2b-256 of data into hash.
void
    cc_hash (const void *data, size_t size, uint8_t *hash);

//  BLAKE2b-256 of two concatenated buffers.
void
    cc_hash2 (const void *data_a, size_t size_a, const void *data_b, size_t size_b,
              uint8_t *hash);

//  A 64-bit keyed hash (SipHash-2-4) of data under a random key of
//  CC_SHORT_HASH_KEY_SIZE bytes (crypto_shorthash_keygen), for the bucket of
//  a table whose keys outsiders choose: without the key nobody can aim
//  many keys at one bucket.
#define CC_SHORT_HASH_KEY_SIZE 16
uint64_t
    cc_short_hash (const uint8_t *key, const void *data, size_t size);

//  --- Hex -------------------------------------------------------------------------

//  Writes 2*size hex characters and a NUL into text.
void
    cc_hex_encode (const uint8_t *data, size_t size, char *text);

//  Decodes exactly size bytes from hex text (2*size chars, nothing after).
//  0 or BAD_FIELD.
int
    cc_hex_decode (const char *text, uint8_t *data, size_t size);

//  --- Merkle trees ------------------------------------------------------------

//  Root over count leaf hashes (leaves is count*32 bytes). The root of no
//  leaves is 32 zero bytes.
void
    cc_merkle_root (const uint8_t *leaves, size_t count, uint8_t *root);

//  Inclusion proof for leaf index: writes up to CC_MERKLE_MAX_DEPTH sibling
//  hashes (leaf to root) into proof and their count into depth. The shape
//  (which side each sibling stands on) follows from index and count.
//  0, or INVALID_ARG for an index out of range.
int
    cc_merkle_proof (const uint8_t *leaves, size_t count, size_t index, uint8_t *proof,
                     size_t *depth);

//  True if leaf at (index of count) with this proof hashes to root.
bool
    cc_merkle_verify (const uint8_t *leaf, size_t count, size_t index, const uint8_t *proof,
                      size_t depth, const uint8_t *root);

//  Largest proof depth (2^64 leaves).
#define CC_MERKLE_MAX_DEPTH 64

#endif
