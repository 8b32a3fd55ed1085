/*  =========================================================================
    crypto - keys, signatures, hashes and Merkle trees (libsodium)

    See crypto.h for the formats. The signed message is built as
    domain string || 0x00 || chain id length (1 byte) || chain id || data,
    so no (domain, chain id, data) triple can be read as another.
    =========================================================================
*/

#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _cc_keypair_t {
    uint8_t public_key [crypto_sign_PUBLICKEYBYTES];    //  Ed25519 public key
    uint8_t secret_key [crypto_sign_SECRETKEYBYTES];    //  seed || public key
    char public_hex [CC_HEX_PUBKEY_SIZE];               //  public key in hex
};

static const char *s_domains [CC_DOMAIN_COUNT] = {
    [CC_DOMAIN_TX] = "certchain/tx/1",
    [CC_DOMAIN_PROPOSAL] = "certchain/proposal/1",
    [CC_DOMAIN_VOTE] = "certchain/vote/1",
    [CC_DOMAIN_BLOCK] = "certchain/block/1",
    [CC_DOMAIN_JOIN] = "certchain/join/1",
    [CC_DOMAIN_CERTIFICATE] = "certchain/certificate/1",
};

//  Below this size the signed message is assembled on the stack.
#define S_STACK_MESSAGE 512

static int
s_sodium_ready (void)
{
    //  sodium_init is idempotent and thread-safe; returns 1 once done.
    return sodium_init () >= 0 ? 0 : CC_E_INTERNAL;
}

//  --- Key pairs -----------------------------------------------------------------

cc_keypair_t *
cc_keypair_new_from_seed (const uint8_t *seed)
{
    if (s_sodium_ready () != 0 || !seed)
        return NULL;
    cc_keypair_t *self = (cc_keypair_t *) calloc (1, sizeof (cc_keypair_t));
    if (!self)
        return NULL;
    crypto_sign_seed_keypair (self->public_key, self->secret_key, seed);
    cc_hex_encode (self->public_key, CC_PUBKEY_SIZE, self->public_hex);
    return self;
}

cc_keypair_t *
cc_keypair_new (void)
{
    if (s_sodium_ready () != 0)
        return NULL;
    uint8_t seed [CC_SEED_SIZE];
    randombytes_buf (seed, sizeof (seed));
    cc_keypair_t *self = cc_keypair_new_from_seed (seed);
    sodium_memzero (seed, sizeof (seed));
    return self;
}

void
cc_keypair_destroy (cc_keypair_t **self_p)
{
    if (self_p && *self_p) {
        sodium_memzero (*self_p, sizeof (cc_keypair_t));
        free (*self_p);
        *self_p = NULL;
    }
}

const uint8_t *
cc_keypair_public (cc_keypair_t *self)
{
    return self->public_key;
}

const char *
cc_keypair_public_hex (cc_keypair_t *self)
{
    return self->public_hex;
}

//  Reads a small text file holding one hex string of exactly size bytes.
static int
s_read_hex_file (const char *path, int fd, uint8_t *data, size_t size, cc_reason_t *reason)
{
    char text [256];
    ssize_t length = read (fd, text, sizeof (text) - 1);
    if (length < 0)
        return cc_reason_set (reason, CC_E_IO, "%s: %s", path, strerror (errno));
    text [length] = 0;
    //  Tolerate one trailing newline and surrounding blanks, nothing else.
    while (length > 0 && (text [length - 1] == '\n' || text [length - 1] == '\r'
                          || text [length - 1] == ' '))
        text [--length] = 0;
    if (cc_hex_decode (text, data, size) != 0)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "%s: expected %zu hex characters of key material", path,
                              2 * size);
    return 0;
}

cc_keypair_t *
cc_keypair_load (const char *path, cc_reason_t *reason)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cc_reason_set (reason, CC_E_IO, "cannot open key file %s: %s", path,
                       strerror (errno));
        return NULL;
    }
    struct stat info;
    if (fstat (fd, &info) != 0) {
        cc_reason_set (reason, CC_E_IO, "cannot stat key file %s: %s", path,
                       strerror (errno));
        close (fd);
        return NULL;
    }
    if (info.st_mode & (S_IRWXG | S_IRWXO)) {
        cc_reason_set (reason, CC_E_PERMISSIONS,
                       "secret key file %s is accessible by group or others (mode %04o); "
                       "run: chmod 600 %s",
                       path, (unsigned) (info.st_mode & 07777), path);
        close (fd);
        return NULL;
    }
    uint8_t seed [CC_SEED_SIZE];
    int rc = s_read_hex_file (path, fd, seed, sizeof (seed), reason);
    close (fd);
    if (rc != 0)
        return NULL;
    cc_keypair_t *self = cc_keypair_new_from_seed (seed);
    sodium_memzero (seed, sizeof (seed));
    if (!self)
        cc_reason_set (reason, CC_E_NOMEM, "cannot create key pair");
    return self;
}

//  Writes text to a new file with mode; refuses to replace an existing one.
static int
s_write_new_file (const char *path, const char *text, mode_t mode, cc_reason_t *reason)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return cc_reason_set (reason, errno == EEXIST ? CC_E_EXISTS : CC_E_IO,
                              "cannot create %s: %s", path, strerror (errno));
    //  The umask may have narrowed mode; make it exact.
    int rc = fchmod (fd, mode);
    size_t length = strlen (text);
    if (rc == 0 && write (fd, text, length) != (ssize_t) length)
        rc = -1;
    if (rc == 0)
        rc = fsync (fd);
    int saved = errno;
    close (fd);
    if (rc != 0) {
        unlink (path);
        return cc_reason_set (reason, CC_E_IO, "cannot write %s: %s", path, strerror (saved));
    }
    return 0;
}

int
cc_keypair_save (cc_keypair_t *self, const char *path, const char *public_path,
                 cc_reason_t *reason)
{
    char text [2 * CC_SEED_SIZE + 2];
    //  The seed is the first half of libsodium's secret key.
    cc_hex_encode (self->secret_key, CC_SEED_SIZE, text);
    strcat (text, "\n");
    int rc = s_write_new_file (path, text, 0600, reason);
    sodium_memzero (text, sizeof (text));
    if (rc == 0 && public_path) {
        char public_text [CC_HEX_PUBKEY_SIZE + 1];
        snprintf (public_text, sizeof (public_text), "%s\n", self->public_hex);
        rc = s_write_new_file (public_path, public_text, 0644, reason);
    }
    return rc;
}

int
cc_keypair_curve (cc_keypair_t *self, uint8_t *curve_public, uint8_t *curve_secret)
{
    if (crypto_sign_ed25519_pk_to_curve25519 (curve_public, self->public_key) != 0)
        return CC_E_BAD_FIELD;
    if (crypto_sign_ed25519_sk_to_curve25519 (curve_secret, self->secret_key) != 0)
        return CC_E_BAD_FIELD;
    return 0;
}

int
cc_pubkey_load (const char *path, uint8_t *pubkey, cc_reason_t *reason)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cc_reason_set (reason, CC_E_IO, "cannot open %s: %s", path, strerror (errno));
    int rc = s_read_hex_file (path, fd, pubkey, CC_PUBKEY_SIZE, reason);
    close (fd);
    return rc;
}

int
cc_pubkey_curve (const uint8_t *pubkey, uint8_t *curve_public)
{
    if (crypto_sign_ed25519_pk_to_curve25519 (curve_public, pubkey) != 0)
        return CC_E_BAD_FIELD;
    return 0;
}

//  --- Signatures ------------------------------------------------------------------

const char *
cc_domain_name (cc_domain_t domain)
{
    if ((int) domain < 0 || domain >= CC_DOMAIN_COUNT)
        return NULL;
    return s_domains [domain];
}

//  Assembles the signed message into buffer (or a fresh heap block when
//  it does not fit); returns the message and its size, or NULL.
static uint8_t *
s_message (cc_domain_t domain, const char *chain_id, const uint8_t *data, size_t size,
           uint8_t *buffer, size_t buffer_size, size_t *message_size)
{
    const char *domain_name = cc_domain_name (domain);
    if (!domain_name || !chain_id)
        return NULL;
    size_t domain_length = strlen (domain_name);
    size_t chain_length = strlen (chain_id);
    if (chain_length > CC_CHAIN_ID_MAX)
        return NULL;
    size_t total = domain_length + 2 + chain_length + size;
    uint8_t *message = total <= buffer_size ? buffer : (uint8_t *) malloc (total);
    if (!message)
        return NULL;
    uint8_t *cursor = message;
    memcpy (cursor, domain_name, domain_length);
    cursor += domain_length;
    *cursor++ = 0;
    *cursor++ = (uint8_t) chain_length;
    memcpy (cursor, chain_id, chain_length);
    cursor += chain_length;
    if (size)
        memcpy (cursor, data, size);
    *message_size = total;
    return message;
}

void
cc_keypair_sign (cc_keypair_t *self, cc_domain_t domain, const char *chain_id,
                 const uint8_t *data, size_t size, uint8_t *signature)
{
    uint8_t buffer [S_STACK_MESSAGE];
    size_t message_size = 0;
    uint8_t *message = s_message (domain, chain_id, data, size, buffer, sizeof (buffer),
                                  &message_size);
    if (!message) {
        //  Only an unknown domain, an over-long chain id or no memory get
        //  here; a zero signature never verifies.
        memset (signature, 0, CC_SIGNATURE_SIZE);
        return;
    }
    crypto_sign_detached (signature, NULL, message, message_size, self->secret_key);
    if (message != buffer)
        free (message);
}

bool
cc_verify (const uint8_t *pubkey, cc_domain_t domain, const char *chain_id,
           const uint8_t *data, size_t size, const uint8_t *signature)
{
    if (!pubkey || !signature || s_sodium_ready () != 0)
        return false;
    uint8_t buffer [S_STACK_MESSAGE];
    size_t message_size = 0;
    uint8_t *message = s_message (domain, chain_id, data, size, buffer, sizeof (buffer),
                                  &message_size);
    if (!message)
        return false;
    bool valid = crypto_sign_verify_detached (signature, message, message_size, pubkey) == 0;
    if (message != buffer)
        free (message);
    return valid;
}

//  --- Hashes --------------------------------------------------------------------

void
cc_hash (const void *data, size_t size, uint8_t *hash)
{
    crypto_generichash (hash, CC_HASH_SIZE, (const unsigned char *) data, size, NULL, 0);
}

void
cc_hash2 (const void *data_a, size_t size_a, const void *data_b, size_t size_b, uint8_t *hash)
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, CC_HASH_SIZE);
    crypto_generichash_update (&state, (const unsigned char *) data_a, size_a);
    crypto_generichash_update (&state, (const unsigned char *) data_b, size_b);
    crypto_generichash_final (&state, hash, CC_HASH_SIZE);
}

uint64_t
cc_short_hash (const uint8_t *key, const void *data, size_t size)
{
    uint8_t digest [crypto_shorthash_BYTES];
    crypto_shorthash (digest, (const unsigned char *) data, size, key);
    uint64_t value;
    memcpy (&value, digest, sizeof (value));
    return value;
}

//  --- Hex -----------------------------------------------------------------------

void
cc_hex_encode (const uint8_t *data, size_t size, char *text)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t index = 0; index < size; index++) {
        text [2 * index] = digits [data [index] >> 4];
        text [2 * index + 1] = digits [data [index] & 15];
    }
    text [2 * size] = 0;
}

static int
s_hex_digit (char digit)
{
    if (digit >= '0' && digit <= '9')
        return digit - '0';
    if (digit >= 'a' && digit <= 'f')
        return digit - 'a' + 10;
    if (digit >= 'A' && digit <= 'F')
        return digit - 'A' + 10;
    return -1;
}

int
cc_hex_decode (const char *text, uint8_t *data, size_t size)
{
    if (!text || strlen (text) != 2 * size)
        return CC_E_BAD_FIELD;
    for (size_t index = 0; index < size; index++) {
        int high = s_hex_digit (text [2 * index]);
        int low = s_hex_digit (text [2 * index + 1]);
        if (high < 0 || low < 0)
            return CC_E_BAD_FIELD;
        data [index] = (uint8_t) (high << 4 | low);
    }
    return 0;
}

//  --- Merkle trees -------------------------------------------------------------

static void
s_merkle_leaf (const uint8_t *leaf, uint8_t *node)
{
    uint8_t prefix = 0;
    cc_hash2 (&prefix, 1, leaf, CC_HASH_SIZE, node);
}

static void
s_merkle_inner (const uint8_t *left, const uint8_t *right, uint8_t *node)
{
    uint8_t input [1 + 2 * CC_HASH_SIZE];
    input [0] = 1;
    memcpy (input + 1, left, CC_HASH_SIZE);
    memcpy (input + 1 + CC_HASH_SIZE, right, CC_HASH_SIZE);
    cc_hash (input, sizeof (input), node);
}

//  Hashes the leaves into level (count nodes), then folds level in place
//  up to the root; when proof is given, records the siblings of index.
static int
s_merkle_fold (const uint8_t *leaves, size_t count, size_t index, uint8_t *root,
               uint8_t *proof, size_t *depth)
{
    if (count == 0) {
        memset (root, 0, CC_HASH_SIZE);
        if (depth)
            *depth = 0;
        return 0;
    }
    uint8_t *level = (uint8_t *) malloc (count * CC_HASH_SIZE);
    if (!level)
        return CC_E_NOMEM;
    for (size_t leaf = 0; leaf < count; leaf++)
        s_merkle_leaf (leaves + leaf * CC_HASH_SIZE, level + leaf * CC_HASH_SIZE);
    size_t width = count;
    size_t proof_depth = 0;
    while (width > 1) {
        if (proof) {
            size_t sibling = index ^ 1;
            if (sibling < width)
                memcpy (proof + CC_HASH_SIZE * proof_depth++, level + sibling * CC_HASH_SIZE,
                        CC_HASH_SIZE);
        }
        size_t next = 0;
        for (size_t node = 0; node < width; node += 2, next++) {
            uint8_t *target = level + next * CC_HASH_SIZE;
            if (node + 1 < width)
                s_merkle_inner (level + node * CC_HASH_SIZE, level + (node + 1) * CC_HASH_SIZE,
                                target);
            else
                memmove (target, level + node * CC_HASH_SIZE, CC_HASH_SIZE);
        }
        width = next;
        index /= 2;
    }
    memcpy (root, level, CC_HASH_SIZE);
    free (level);
    if (depth)
        *depth = proof_depth;
    return 0;
}

void
cc_merkle_root (const uint8_t *leaves, size_t count, uint8_t *root)
{
    if (s_merkle_fold (leaves, count, 0, root, NULL, NULL) != 0)
        memset (root, 0xff, CC_HASH_SIZE);     //  matches no real root
}

int
cc_merkle_proof (const uint8_t *leaves, size_t count, size_t index, uint8_t *proof,
                 size_t *depth)
{
    if (index >= count)
        return CC_E_INVALID_ARG;
    uint8_t root [CC_HASH_SIZE];
    return s_merkle_fold (leaves, count, index, root, proof, depth);
}

bool
cc_merkle_verify (const uint8_t *leaf, size_t count, size_t index, const uint8_t *proof,
                  size_t depth, const uint8_t *root)
{
    if (index >= count)
        return false;
    uint8_t node [CC_HASH_SIZE];
    s_merkle_leaf (leaf, node);
    size_t width = count;
    size_t used = 0;
    while (width > 1) {
        size_t sibling = index ^ 1;
        if (sibling < width) {
            if (used >= depth)
                return false;
            const uint8_t *other = proof + CC_HASH_SIZE * used++;
            if (index & 1)
                s_merkle_inner (other, node, node);
            else
                s_merkle_inner (node, other, node);
        }
        width = (width + 1) / 2;
        index /= 2;
    }
    return used == depth && sodium_memcmp (node, root, CC_HASH_SIZE) == 0;
}
