/*  =========================================================================
    genesis - the first state of a chain, and its identity

    A genesis names the chain, its time, its certification authorities (and
    whether each also produces blocks), optional initial validators, initial
    balances and the consensus parameters. It is stored as a ZPL text file
    (made by `certchain genesis`) and held in memory as a Genesis protobuf;
    its hash, H(packed Genesis), is part of every node's identity of the
    chain: a node given another genesis refuses to talk past the handshake.

    Loading refuses a malformed genesis with a message that names the field,
    e.g. "genesis: ca/1/pubkey: expected 64 hex characters".

    Ownership: a cc_genesis_t owns its protobuf; accessors return borrowed
    pointers valid while the genesis lives.
    =========================================================================
*/

#ifndef CC_GENESIS_H_INCLUDED
#define CC_GENESIS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

typedef struct _cc_genesis_t cc_genesis_t;

//  A new genesis with no members, no accounts and default parameters.
//  Caller owns it.
cc_genesis_t *
    cc_genesis_new (const char *chain_id, uint64_t genesis_time_ms);

//  Loads and validates a genesis file. NULL with reason CONFIG (naming the
//  field) or IO.
cc_genesis_t *
    cc_genesis_load (const char *path, cc_reason_t *reason);

//  Parses and validates genesis text in ZPL (as in a file).
cc_genesis_t *
    cc_genesis_parse (const char *text, cc_reason_t *reason);

//  Validates and writes the genesis as a ZPL file (refuses to overwrite).
int
    cc_genesis_save (cc_genesis_t *self, const char *path, cc_reason_t *reason);

//  Destroys a genesis; nulls the pointer; safe on NULL.
void
    cc_genesis_destroy (cc_genesis_t **self_p);

//  --- Building ------------------------------------------------------------------

//  Adds a CA (producing or not), an initial validator, an account.
//  EXISTS for a key already present; 0 otherwise.
int
    cc_genesis_add_ca (cc_genesis_t *self, const uint8_t *pubkey, bool produces);
int
    cc_genesis_add_validator (cc_genesis_t *self, const uint8_t *pubkey);
int
    cc_genesis_add_account (cc_genesis_t *self, const uint8_t *address, uint64_t balance);

//  The consensus parameters, to read or change before saving.
Certchain__ConsensusParams *
    cc_genesis_params (cc_genesis_t *self);

//  Checks every field; 0 or CONFIG with the field named in reason.
int
    cc_genesis_validate (cc_genesis_t *self, cc_reason_t *reason);

//  --- Reading -------------------------------------------------------------------

//  The genesis protobuf, owned by the genesis.
const Certchain__Genesis *
    cc_genesis_proto (cc_genesis_t *self);

//  The chain id, owned by the genesis.
const char *
    cc_genesis_chain_id (cc_genesis_t *self);

//  Genesis time in milliseconds since the epoch.
uint64_t
    cc_genesis_time_ms (cc_genesis_t *self);

//  H(packed Genesis): 32 bytes owned by the genesis, recomputed on change.
const uint8_t *
    cc_genesis_hash (cc_genesis_t *self);

//  True if pubkey is a CA of this genesis; and if that CA produces blocks.
bool
    cc_genesis_is_ca (cc_genesis_t *self, const uint8_t *pubkey);
bool
    cc_genesis_ca_produces (cc_genesis_t *self, const uint8_t *pubkey);

#endif
