/*  =========================================================================
    keymap - an open-addressing map from 32-byte keys to items

    The hot lookups of a busy node (is this tx hash pooled, was its
    signature checked, whose queue is this signer's) are by 32-byte keys
    that are hashes or public keys, several per transaction. A chained
    table pays three dependent cache misses a lookup (bucket, node, key);
    this map keeps each slot's 64-bit hash next to the key and item
    pointers in one flat array, probed linearly, so a lookup is usually
    one miss and a mismatch is decided without touching the key.

    The caller computes each key's hash. It must be keyed (cc_short_hash
    under a random key) wherever outsiders choose the keys, or they could
    fill one run of slots; the map uses its low bits as the home slot.

    Ownership: the map owns its slots only. It keeps a pointer to each
    key's bytes, which the caller keeps valid and unchanged while the key
    is in the map (the key usually lives in its item). Not thread-safe:
    one thread owns it.
    =========================================================================
*/

#ifndef CC_KEYMAP_H_INCLUDED
#define CC_KEYMAP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define CC_KEYMAP_KEY_SIZE 32

typedef struct _cc_keymap_t cc_keymap_t;

//  An empty map with room for about expected keys before it first grows
//  (0 is fine). NULL when out of memory. Caller owns it.
cc_keymap_t *
    cc_keymap_new (size_t expected);

//  Destroys the map (not the items); nulls the pointer; safe on NULL.
void
    cc_keymap_destroy (cc_keymap_t **self_p);

//  Maps key (CC_KEYMAP_KEY_SIZE bytes, with its hash) to item (not NULL).
//  0; DUPLICATE when key is there already (the map is unchanged); NOMEM
//  when the map could not grow (unchanged too).
int
    cc_keymap_insert (cc_keymap_t *self, uint64_t hash, const uint8_t *key, void *item);

//  The item of key, or NULL.
void *
    cc_keymap_lookup (cc_keymap_t *self, uint64_t hash, const uint8_t *key);

//  Removes key; returns its item, or NULL when it was not there.
void *
    cc_keymap_delete (cc_keymap_t *self, uint64_t hash, const uint8_t *key);

//  Number of keys held.
size_t
    cc_keymap_size (cc_keymap_t *self);

//  Visits the items in no particular order: set *cursor to 0, then call
//  until NULL. Inserting or deleting during a visit ends its meaning.
void *
    cc_keymap_next (cc_keymap_t *self, size_t *cursor);

#endif
