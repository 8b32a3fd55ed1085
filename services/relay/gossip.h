/*  =========================================================================
    gossip - the relay's format and size checks of gossip messages

    Validators and other services publish into the relay's XSUB `gossip`
    socket; the relay forwards what it accepts on its XPUB `pub`. It cannot
    judge signatures against a validator set for messages of heights it
    has not reached, and does not try: it checks only what any node can
    check alone, so junk never reaches the subscribers and is counted
    instead. Per topic (the first frame):
      "cns"  a ConsensusMessage: a vote is a Signed{Vote} with 32-byte
             signer, 64-byte signature, a prevote or precommit naming the
             envelope's signer and a nil or 32-byte block hash; a proposal
             is a Signed{Proposal} naming its signer, with a valid round of
             -1 or less than its round, and a block whose shape decodes
             (cc_block_decode) and whose hash is the proposal's block hash;
      "tx"   a Signed transaction that decodes (cc_tx_decode) and whose
             body passes the stateless checks (cc_tx_open) without its
             signature: validators' mempools verify signatures;
      "txb"  a TxBatch (what the relay itself publishes for submitted
             transactions): at most CC_GOSSIP_BATCH_MAX_SIZE bytes and
             CC_GOSSIP_BATCH_MAX_TXS transactions, at least one, each
             passing the "tx" checks; one bad transaction refuses the
             whole batch (nothing of it is forwarded);
      "evt"  a MetricsEvent that decodes;
    anything else, "blk" included (blocks enter through UploadBlock only),
    is refused with UNSUPPORTED.

    The checks are pure functions of their input, shared by nothing else;
    deduplication lives in the relay, which owns the recent set.
    =========================================================================
*/

#ifndef CC_RELAY_GOSSIP_H_INCLUDED
#define CC_RELAY_GOSSIP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "error.h"

//  Largest MetricsEvent accepted from gossip.
#define CC_GOSSIP_EVENT_MAX_SIZE (256 * 1024)
//  Largest TxBatch accepted from gossip, in bytes and in transactions. The
//  relay's own "txb" publications stay within both.
#define CC_GOSSIP_BATCH_MAX_SIZE (4 * 1024 * 1024)
#define CC_GOSSIP_BATCH_MAX_TXS 10000

//  Checks one gossip message: topic (topic_size bytes, not terminated) and
//  payload. max_size bounds a consensus message (the relay's message size
//  limit). 0, or UNSUPPORTED (unknown topic), OVERSIZE, MALFORMED,
//  BAD_FIELD, WRONG_CHAIN or NO_PAYLOAD with a message in reason.
int
    cc_gossip_check (const char *chain_id, const uint8_t *topic, size_t topic_size,
                     const uint8_t *payload, size_t size, size_t max_size,
                     cc_reason_t *reason);

#endif
