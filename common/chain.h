/*  =========================================================================
    chain - the committed chain of one process, over its own store

    A chain is a store (one RocksDB database) holding the state and the
    committed blocks, plus the tip in memory. Column families:
      "state"   the state records (CC_STATE_FAMILY, written by state.c)
      "blocks"  height (8 bytes big-endian) -> serialized Block with commit
      "hashes"  block hash -> height (8 bytes big-endian)
      "txs"     tx hash -> packed TxLocation{height, index}
      "meta"    "tip" -> height (8 BE) || block hash (32) || time (8 BE)
    Height 0 is the genesis: its "hash" is the genesis hash and its time the
    genesis time, so block 1 names the genesis hash as its parent.

    cc_chain_commit writes a whole block (block, hash index, tx locations,
    state writes, tip) in one batch with sync on, and only then makes it the
    committed state: a crash at any moment leaves the block fully there or
    not at all, and a reopen finds the last committed tip.

    Ownership: the chain owns its store and state and borrows the genesis,
    which must outlive it.
    =========================================================================
*/

#ifndef CC_CHAIN_H_INCLUDED
#define CC_CHAIN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "genesis.h"
#include "state.h"
#include "store.h"

typedef struct _cc_chain_t cc_chain_t;

//  Column family for the owning service's own records (cc_chain_store,
//  cc_store_family): the chain never reads or writes it.
#define CC_CHAIN_SERVICE_FAMILY "service"

//  Opens (creating if missing) the chain stored at dir for genesis, with a
//  block cache of cache_bytes (0 = default). NULL with reason: STORE or IO
//  (the store, e.g. held by another process), CONFIG (a store made from
//  another genesis), STORE (tip and state disagree). Caller owns it.
cc_chain_t *
    cc_chain_open (const char *dir, cc_genesis_t *genesis, size_t cache_bytes,
                   cc_reason_t *reason);

//  Closes the chain (state, then store); nulls the pointer; safe on NULL.
void
    cc_chain_destroy (cc_chain_t **self_p);

//  Height of the tip (0 = genesis only).
uint64_t
    cc_chain_height (cc_chain_t *self);

//  Hash of the tip block (the genesis hash at height 0), 32 bytes owned by
//  the chain.
const uint8_t *
    cc_chain_tip_hash (cc_chain_t *self);

//  Time of the tip block (the genesis time at height 0).
uint64_t
    cc_chain_tip_time (cc_chain_t *self);

//  The committed state, store and genesis (borrowed from the chain).
cc_state_t *
    cc_chain_state (cc_chain_t *self);
cc_store_t *
    cc_chain_store (cc_chain_t *self);
cc_genesis_t *
    cc_chain_genesis (cc_chain_t *self);

//  cc_block_verify of block as the next block on top of the tip.
int
    cc_chain_verify (cc_chain_t *self, cc_block_t *block, const cc_block_verify_opts_t *opts,
                     cc_exec_t **exec_p, cc_reason_t *reason);

//  Commits block as the next block. The block must carry its commit
//  (COMMIT_BELOW_QUORUM otherwise). When exec_p is NULL or *exec_p is NULL,
//  the block is verified and executed first (cc_chain_verify with the
//  commit required, inline). When *exec_p is the finished exec of an
//  earlier verification or build of this very block, the height, parent
//  and commit are checked and the exec's writes are used as they are.
//  Takes ownership of *exec_p in every case and nulls it. 0, or the
//  verdict (the chain unchanged), or STORE.
int
    cc_chain_commit (cc_chain_t *self, cc_block_t *block, cc_exec_t **exec_p,
                     cc_reason_t *reason);

//  --- Reading committed blocks -------------------------------------------------

//  The serialized block (with its commit) at height, into a fresh buffer
//  (caller frees). 0, NOT_FOUND or STORE.
int
    cc_chain_block (cc_chain_t *self, uint64_t height, uint8_t **data_p, size_t *size_p);

//  The same for a block hash (32 bytes); height_p (may be NULL) gets its
//  height. With data_p NULL only the height is read. 0, NOT_FOUND or STORE.
int
    cc_chain_block_by_hash (cc_chain_t *self, const uint8_t *hash, uint64_t *height_p,
                            uint8_t **data_p, size_t *size_p);

//  Where the committed tx with this hash (32 bytes) is. 0, NOT_FOUND or STORE;
//  UNSUPPORTED while the tx index is off.
int
    cc_chain_tx (cc_chain_t *self, const uint8_t *hash, uint64_t *height, uint32_t *index);

//  Turns the tx index off (or on again; it is on when opened). A chain that
//  nobody asks where a tx is (a validator's, as DESIGN gives it blocks and
//  state, and the CA's view; the relay and the verifier keep the index)
//  saves one store entry per transaction of every block. Blocks committed
//  while it is off stay out of the index.
void
    cc_chain_set_tx_index (cc_chain_t *self, bool on);

//  The committed tx with this hash with its height, index, block hash, tx
//  root and Merkle inclusion proof (leaf to root), as served by GetTx.
//  0 with *info_p (caller frees with cc_chain_tx_info_free), NOT_FOUND, or
//  STORE / NOMEM with a message in reason.
int
    cc_chain_tx_info (cc_chain_t *self, const uint8_t *hash, Certchain__TxInfo **info_p,
                      cc_reason_t *reason);

//  Fills what every service's GetStatus says of its chain: service and node
//  names (borrowed), chain id, height, tip and app hashes, genesis hash, the
//  size of the next validator set and, when member is not NULL, whether that
//  key is in it. Pointers in status borrow from the chain; the caller adds
//  its own fields and sends the status before the chain changes.
void
    cc_chain_status (cc_chain_t *self, const char *service, const char *node,
                     const uint8_t *member, Certchain__Status *status);

//  Frees a TxInfo from cc_chain_tx_info; nulls the pointer; safe on NULL.
void
    cc_chain_tx_info_free (Certchain__TxInfo **info_p);

#endif
