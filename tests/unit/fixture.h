/*  =========================================================================
    fixture - helpers shared by the unit tests

    Deterministic keys from small integers, temporary directories, and a
    default chain id, so every test builds its world the same way; a
    genesis of numbered CAs, validators and accounts; and signed
    transactions and votes of every kind.

    Key numbering used by fixture_genesis (fixture_keypair (n)):
      CA i         = FIXTURE_CA (i)        = 1 + i       (i = 0 .. cas - 1)
      validator i  = FIXTURE_VALIDATOR (i) = 100 + i
      account i    = FIXTURE_ACCOUNT (i)   = 1000 + i
    Keys from 10000 up are free for tests (candidates, outsiders) as long
    as a genesis has at most 9000 accounts.
    =========================================================================
*/

#ifndef CC_FIXTURE_H_INCLUDED
#define CC_FIXTURE_H_INCLUDED

#include <check.h>
#include "crypto.h"
#include "genesis.h"
#include "tx.h"

#define FIXTURE_CHAIN "certchain-test"

//  Key pair number n: the same keys in every run. Caller owns it.
cc_keypair_t *
    fixture_keypair (unsigned n);

//  Creates a fresh empty directory under /tmp and returns its path
//  (caller frees). Removed by fixture_rmtree.
char *
    fixture_tempdir (const char *name);

//  Removes a directory tree.
void
    fixture_rmtree (const char *path);

//  --- Genesis and transactions ------------------------------------------------

#define FIXTURE_CA(i) (1u + (unsigned) (i))
#define FIXTURE_VALIDATOR(i) (100u + (unsigned) (i))
#define FIXTURE_ACCOUNT(i) (1000u + (unsigned) (i))
#define FIXTURE_GENESIS_TIME_MS 1700000000000ull

//  A genesis of chain FIXTURE_CHAIN at FIXTURE_GENESIS_TIME_MS with cas
//  producing CAs, validators initial validators (no profile) and accounts
//  accounts of balance each, numbered as above; default parameters (change
//  them through cc_genesis_params). Caller owns it.
cc_genesis_t *
    fixture_genesis (size_t cas, size_t validators, size_t accounts, uint64_t balance);

//  Signed, opened transactions on FIXTURE_CHAIN (caller owns each).
//  Transfer amount from `from` to address `to`.
cc_tx_t *
    fixture_transfer (cc_keypair_t *from, const uint8_t *to, uint64_t amount, uint64_t fee,
                      uint64_t nonce);
//  Certify of node by ca, valid until height valid_until (a small fixed
//  machine profile and score).
cc_tx_t *
    fixture_certify (cc_keypair_t *ca, const uint8_t *node, uint64_t valid_until,
                     uint64_t fee, uint64_t nonce);
//  Revoke of node by ca with reason text (NULL for none).
cc_tx_t *
    fixture_revoke (cc_keypair_t *ca, const uint8_t *node, const char *reason, uint64_t fee,
                    uint64_t nonce);
//  Resign by the validator itself.
cc_tx_t *
    fixture_resign (cc_keypair_t *node, uint64_t fee, uint64_t nonce);
//  Evidence, submitted by signer, that offender signed two precommits for
//  (height, round) with different block hashes.
cc_tx_t *
    fixture_evidence (cc_keypair_t *signer, cc_keypair_t *offender, uint64_t height,
                      uint32_t round, uint64_t fee, uint64_t nonce);
//  Evidence made of two given signed votes (borrowed), for invalid cases.
cc_tx_t *
    fixture_evidence_of (cc_keypair_t *signer, const Certchain__Signed *vote_a,
                         const Certchain__Signed *vote_b, uint64_t fee, uint64_t nonce);

//  Signs a vote by key on FIXTURE_CHAIN (Vote.validator = key's public key;
//  block_hash NULL = nil vote) into envelope; release with cc_signed_clear.
//  0 or error.
int
    fixture_vote (cc_keypair_t *key, Certchain__VoteType type, uint64_t height,
                  uint32_t round, const uint8_t *block_hash, Certchain__Signed *envelope);

//  Runs a Check suite and returns the process exit code.
int
    fixture_run (Suite *suite);

#endif
