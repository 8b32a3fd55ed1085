/*  =========================================================================
    valset - a validator set V(h): who may propose and vote at one height

    V(h) is the producing CAs of genesis plus every validator whose
    certificate is active in the state after block h-1. Members are kept
    sorted by public key and all have equal voting power, so:
      quorum q = floor(2n/3) + 1   (Tendermint's 2f+1)
      weak quorum = n - q + 1      (Tendermint's f+1: at least one honest)
      proposer(h, r) = member at index (h + r) mod n
    The set's hash is H(n as 4 bytes big-endian || sorted public keys).

    Ownership: a set owns copies of the keys it holds.
    =========================================================================
*/

#ifndef CC_VALSET_H_INCLUDED
#define CC_VALSET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

typedef struct _cc_valset_t cc_valset_t;

//  An empty set. Caller owns it.
cc_valset_t *
    cc_valset_new (void);

//  A copy of a set. Caller owns it.
cc_valset_t *
    cc_valset_dup (const cc_valset_t *self);

//  Destroys a set; nulls the pointer; safe on NULL.
void
    cc_valset_destroy (cc_valset_t **self_p);

//  Adds a member (kept sorted). EXISTS if already present, NOMEM.
int
    cc_valset_add (cc_valset_t *self, const uint8_t *pubkey, bool is_ca);

//  Number of members.
size_t
    cc_valset_size (const cc_valset_t *self);

//  Member at index (sorted order), 32 bytes owned by the set.
const uint8_t *
    cc_valset_member (const cc_valset_t *self, size_t index);

//  True if the member at index is a genesis CA.
bool
    cc_valset_member_is_ca (const cc_valset_t *self, size_t index);

//  Index of pubkey, or -1 if it is not a member.
int
    cc_valset_index (const cc_valset_t *self, const uint8_t *pubkey);

//  True if pubkey is a member.
bool
    cc_valset_contains (const cc_valset_t *self, const uint8_t *pubkey);

//  floor(2n/3) + 1; 0 for an empty set.
size_t
    cc_valset_quorum (const cc_valset_t *self);

//  n - quorum + 1: more than a third; 0 for an empty set.
size_t
    cc_valset_weak_quorum (const cc_valset_t *self);

//  The proposer of (height, round), or NULL for an empty set.
const uint8_t *
    cc_valset_proposer (const cc_valset_t *self, uint64_t height, uint32_t round);

//  The set's hash into hash (32 bytes).
void
    cc_valset_hash (const cc_valset_t *self, uint8_t *hash);

//  True if both sets hold the same members.
bool
    cc_valset_equal (const cc_valset_t *a, const cc_valset_t *b);

#endif
