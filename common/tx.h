/*  =========================================================================
    tx - one transaction: its signed envelope, its hash and its decoded body

    A transaction travels as Signed{body, signature, signer} with body a
    serialized TxBody. Its hash is H(body bytes). cc_tx_decode only parses the
    envelope; cc_tx_open checks the signature over the exact body bytes (or
    trusts an earlier check, e.g. the mempool's), decodes the body and checks
    every field that does not need the state: chain id, signer, field sizes,
    a payload present. State rules (nonce, balance, who may certify) belong to
    state.c.

    Ownership: a cc_tx_t owns its envelope and decoded body. Once opened, it
    is read-only and may be shared between threads.
    =========================================================================
*/

#ifndef CC_TX_H_INCLUDED
#define CC_TX_H_INCLUDED

#include "codec.h"

typedef struct _cc_tx_t cc_tx_t;

//  Largest transaction envelope accepted anywhere.
#define CC_TX_MAX_SIZE (64 * 1024)
//  Longest Revoke reason.
#define CC_REASON_TEXT_MAX 256

//  Builds and signs a transaction. body's chain_id and signer are set here
//  (body is borrowed and restored). Caller owns the result; it is opened.
cc_tx_t *
    cc_tx_new (cc_keypair_t *signer, const char *chain_id, Certchain__TxBody *body);

//  Parses a serialized envelope (no signature check yet). NULL with
//  OVERSIZE, MALFORMED or BAD_FIELD in reason on bad input.
cc_tx_t *
    cc_tx_decode (const uint8_t *data, size_t size, cc_reason_t *reason);

//  Same, from an envelope already unpacked (copied).
cc_tx_t *
    cc_tx_from_envelope (const Certchain__Signed *envelope, cc_reason_t *reason);

//  Same, taking the envelope's bytes instead of copying them: its bytes
//  must come from malloc (as protobuf-c's unpack and cc_signed_make give
//  them), and envelope is left with empty bytes, to be freed as usual. On
//  failure nothing is taken. Decoding a block or a batch saves three copies
//  per transaction this way.
cc_tx_t *
    cc_tx_adopt_envelope (Certchain__Signed *envelope, cc_reason_t *reason);

//  Destroys a transaction; nulls the pointer; safe on NULL.
void
    cc_tx_destroy (cc_tx_t **self_p);

//  Verifies the signature (skipped when signature_checked is true), decodes
//  the body and checks the stateless rules: WRONG_CHAIN, BAD_SIGNATURE,
//  MALFORMED, BAD_FIELD, NO_PAYLOAD. The first result is remembered.
int
    cc_tx_open (cc_tx_t *self, const char *chain_id, bool signature_checked,
                cc_reason_t *reason);

//  True once cc_tx_open succeeded.
bool
    cc_tx_is_open (cc_tx_t *self);

//  H(body bytes), 32 bytes owned by the transaction.
const uint8_t *
    cc_tx_hash (cc_tx_t *self);

//  The envelope, owned by the transaction.
const Certchain__Signed *
    cc_tx_envelope (cc_tx_t *self);

//  The decoded body after cc_tx_open, else NULL. Owned by the transaction.
const Certchain__TxBody *
    cc_tx_body (cc_tx_t *self);

//  The signer's public key (32 bytes, from the envelope).
const uint8_t *
    cc_tx_signer (cc_tx_t *self);

//  Nonce and fee; 0 before cc_tx_open.
uint64_t
    cc_tx_nonce (cc_tx_t *self);
uint64_t
    cc_tx_fee (cc_tx_t *self);

//  Size of the serialized envelope in bytes.
size_t
    cc_tx_size (cc_tx_t *self);

//  Serializes the envelope into a fresh buffer (caller frees). 0 or error.
int
    cc_tx_encode (cc_tx_t *self, uint8_t **data_p, size_t *size_p);

//  Name of the payload kind: "transfer", "certify", ... or "none".
const char *
    cc_tx_kind_name (cc_tx_t *self);

#endif
