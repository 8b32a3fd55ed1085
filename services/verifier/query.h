/*  =========================================================================
    query - the verifier's read API on its ROUTER "query"

    What a client (the CLI, a block explorer, a test) may ask the verifier
    about the chain it verified:
      GetStatus       service "verifier", chain id, height, tip hash, app
                      hash, discards recorded, size of V(tip + 1), genesis
                      hash
      GetAccount      AccountInfo{address, balance, nonce, height}; an
                      account never seen reads as balance 0, nonce 0
      GetTx           TxInfo{tx, height, index, block hash, tx root, proof}:
                      the Merkle inclusion proof (leaf to root) of the tx
                      hash among the block's tx hashes, which a client
                      checks with cc_merkle_verify against the tx root
      GetBlock        the block (with its commit) at a height, with a hash,
                      or the latest (height 0 and no hash)
      GetValidators   V(height) for 1 .. tip + 1 (0 = tip + 1, the next):
                      each member's committed ValidatorRecord; a genesis CA
                      has no record and is given as {pubkey} with is_ca
      ListDiscarded   the discarded-block log from a sequence number
    Anything else is answered Error UNSUPPORTED; a field of the wrong size
    BAD_FIELD; a height, hash or tx the chain does not hold NOT_FOUND.

    Ownership: answering borrows the chain and the discard log.
    =========================================================================
*/

#ifndef CC_VERIFIER_QUERY_H_INCLUDED
#define CC_VERIFIER_QUERY_H_INCLUDED

#include <czmq.h>

#include "chain.h"
#include "discards.h"
#include "rpc.h"

//  Answers request on router to identity. 0 when its result was sent,
//  else the code of the Error reply that was sent instead (IO if even
//  that could not be sent).
int
    cc_query_answer (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
                     cc_chain_t *chain, cc_discards_t *discards);

#endif
