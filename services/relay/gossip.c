/*  =========================================================================
    gossip - the relay's format and size checks of gossip messages

    Each check decodes with the size-limited codec, so a hostile payload
    costs at most one bounded decode and never a crash. Field sizes are
    checked here rather than left to the validators because a message that
    fails them can never be valid anywhere: forwarding it would only spend
    every subscriber's bandwidth.
    =========================================================================
*/

#include "gossip.h"

#include <string.h>

#include "block.h"
#include "codec.h"
#include "rpc.h"
#include "tx.h"

//  Largest Proposal body (two 32-byte fields and three numbers).
#define S_PROPOSAL_MAX_SIZE 512

//  --- Helpers ---------------------------------------------------------------------

static bool
s_topic_is (const uint8_t *topic, size_t topic_size, const char *name)
{
    size_t length = strlen (name);
    return topic_size == length && memcmp (topic, name, length) == 0;
}

//  A Signed envelope's sizes: 32-byte signer, 64-byte signature, a body.
static int
s_check_envelope (const Certchain__Signed *envelope, const char *what, cc_reason_t *reason)
{
    if (!envelope)
        return cc_reason_set (reason, CC_E_MALFORMED, "%s: missing", what);
    if (!cc_bytes_sized (envelope->signer, CC_PUBKEY_SIZE)
        || !cc_bytes_sized (envelope->signature, CC_SIGNATURE_SIZE) || envelope->body.len == 0)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "%s: needs a body, a 32-byte signer and a 64-byte signature",
                              what);
    return 0;
}

//  --- Consensus messages ------------------------------------------------------------

static int
s_check_vote (const Certchain__Signed *envelope, cc_reason_t *reason)
{
    int rc = s_check_envelope (envelope, "vote", reason);
    if (rc != 0)
        return rc;
    int code = 0;
    Certchain__Vote *vote = (Certchain__Vote *) cc_codec_unpack (
        &certchain__vote__descriptor, envelope->body.data, envelope->body.len,
        CC_VOTE_MAX_SIZE, &code);
    if (!vote)
        return cc_reason_set (reason, code, "vote body: %s", cc_error_message (code));
    if (vote->type != CERTCHAIN__VOTE_TYPE__PREVOTE
        && vote->type != CERTCHAIN__VOTE_TYPE__PRECOMMIT)
        rc = cc_reason_set (reason, CC_E_BAD_FIELD, "vote type %d is neither prevote nor precommit",
                            (int) vote->type);
    else
    if (vote->block_hash.len != 0 && !cc_bytes_sized (vote->block_hash, CC_HASH_SIZE))
        rc = cc_reason_set (reason, CC_E_BAD_FIELD, "vote block hash must be empty or 32 bytes");
    else
    if (!cc_bytes_equal (vote->validator, envelope->signer))
        rc = cc_reason_set (reason, CC_E_BAD_FIELD, "vote names another validator than its signer");
    certchain__vote__free_unpacked (vote, NULL);
    return rc;
}

static int
s_check_proposal (const Certchain__ProposalMessage *message, cc_reason_t *reason)
{
    if (!message)
        return cc_reason_set (reason, CC_E_MALFORMED, "proposal message: missing");
    int rc = s_check_envelope (message->proposal, "proposal", reason);
    if (rc != 0)
        return rc;
    int code = 0;
    Certchain__Proposal *proposal = (Certchain__Proposal *) cc_codec_unpack (
        &certchain__proposal__descriptor, message->proposal->body.data,
        message->proposal->body.len, S_PROPOSAL_MAX_SIZE, &code);
    if (!proposal)
        return cc_reason_set (reason, code, "proposal body: %s", cc_error_message (code));
    if (!cc_bytes_sized (proposal->block_hash, CC_HASH_SIZE))
        rc = cc_reason_set (reason, CC_E_BAD_FIELD, "proposal block hash must be 32 bytes");
    else
    if (!cc_bytes_equal (proposal->proposer, message->proposal->signer))
        rc = cc_reason_set (reason, CC_E_BAD_FIELD,
                            "proposal names another proposer than its signer");
    else
    if (proposal->valid_round < -1 || (proposal->valid_round >= 0
                                       && (uint32_t) proposal->valid_round >= proposal->round))
        rc = cc_reason_set (reason, CC_E_BAD_FIELD, "proposal valid round %d for round %u",
                            (int) proposal->valid_round, (unsigned) proposal->round);
    if (rc == 0) {
        cc_reason_t why;
        cc_reason_clear (&why);
        cc_block_t *block = cc_block_decode (message->block.data, message->block.len, &why);
        if (!block)
            rc = cc_reason_set (reason, why.code, "proposal block: %s", cc_reason_text (&why));
        else
        if (memcmp (cc_block_hash (block), proposal->block_hash.data, CC_HASH_SIZE) != 0)
            rc = cc_reason_set (reason, CC_E_BAD_FIELD,
                                "proposal block hash differs from the block's");
        cc_block_destroy (&block);
    }
    certchain__proposal__free_unpacked (proposal, NULL);
    return rc;
}

static int
s_check_consensus (const uint8_t *payload, size_t size, size_t max_size, cc_reason_t *reason)
{
    int code = 0;
    Certchain__ConsensusMessage *message = (Certchain__ConsensusMessage *) cc_codec_unpack (
        &certchain__consensus_message__descriptor, payload, size, max_size, &code);
    if (!message)
        return cc_reason_set (reason, code, "consensus message: %s", cc_error_message (code));
    int rc = 0;
    if (message->kind_case == CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE)
        rc = s_check_vote (message->vote, reason);
    else
    if (message->kind_case == CERTCHAIN__CONSENSUS_MESSAGE__KIND_PROPOSAL)
        rc = s_check_proposal (message->proposal, reason);
    else
        rc = cc_reason_set (reason, CC_E_MALFORMED, "consensus message: neither vote nor proposal");
    cc_codec_free ((ProtobufCMessage **) &message);
    return rc;
}

//  --- Transactions and events ----------------------------------------------------

static int
s_check_tx (const char *chain_id, const uint8_t *payload, size_t size, cc_reason_t *reason)
{
    cc_tx_t *tx = cc_tx_decode (payload, size, reason);
    if (!tx)
        return reason ? reason->code : CC_E_MALFORMED;
    //  "signature checked" skips only the signature: the body is decoded
    //  and every stateless field rule applies.
    int rc = cc_tx_open (tx, chain_id, true, reason);
    cc_tx_destroy (&tx);
    return rc;
}

//  Every transaction of a TxBatch must pass s_check_tx's rules; the batch
//  is decoded once and each envelope adopted by a tx and checked.
static int
s_check_tx_batch (const char *chain_id, const uint8_t *payload, size_t size, size_t max_size,
                  cc_reason_t *reason)
{
    size_t limit = max_size < CC_GOSSIP_BATCH_MAX_SIZE ? max_size : CC_GOSSIP_BATCH_MAX_SIZE;
    int code = 0;
    Certchain__TxBatch *batch = (Certchain__TxBatch *) cc_codec_unpack (
        &certchain__tx_batch__descriptor, payload, size, limit, &code);
    if (!batch)
        return cc_reason_set (reason, code, "transaction batch: %s", cc_error_message (code));
    int rc = 0;
    if (batch->n_txs == 0)
        rc = cc_reason_set (reason, CC_E_MALFORMED, "transaction batch: no transactions");
    else
    if (batch->n_txs > CC_GOSSIP_BATCH_MAX_TXS)
        rc = cc_reason_set (reason, CC_E_OVERSIZE,
                            "transaction batch: %zu transactions, at most %d", batch->n_txs,
                            CC_GOSSIP_BATCH_MAX_TXS);
    for (size_t index = 0; rc == 0 && index < batch->n_txs; index++) {
        cc_reason_t why;
        cc_reason_clear (&why);
        cc_tx_t *tx = cc_tx_adopt_envelope (batch->txs [index], &why);
        int result = tx ? cc_tx_open (tx, chain_id, true, &why) : why.code;
        if (result != 0)
            rc = cc_reason_set (reason, result, "transaction %zu of %zu: %s", index + 1,
                                batch->n_txs, cc_reason_text (&why));
        cc_tx_destroy (&tx);
    }
    cc_codec_free ((ProtobufCMessage **) &batch);
    return rc;
}

static int
s_check_event (const uint8_t *payload, size_t size, cc_reason_t *reason)
{
    int code = 0;
    ProtobufCMessage *event = cc_codec_unpack (&certchain__metrics_event__descriptor, payload,
                                               size, CC_GOSSIP_EVENT_MAX_SIZE, &code);
    if (!event)
        return cc_reason_set (reason, code, "metrics event: %s", cc_error_message (code));
    cc_codec_free (&event);
    return 0;
}

//  --- Entry point ----------------------------------------------------------------

int
cc_gossip_check (const char *chain_id, const uint8_t *topic, size_t topic_size,
                 const uint8_t *payload, size_t size, size_t max_size, cc_reason_t *reason)
{
    if (s_topic_is (topic, topic_size, CC_TOPIC_CONSENSUS))
        return s_check_consensus (payload, size, max_size, reason);
    if (s_topic_is (topic, topic_size, CC_TOPIC_TX))
        return s_check_tx (chain_id, payload, size, reason);
    if (s_topic_is (topic, topic_size, CC_TOPIC_TX_BATCH))
        return s_check_tx_batch (chain_id, payload, size, max_size, reason);
    if (s_topic_is (topic, topic_size, CC_TOPIC_EVENT))
        return s_check_event (payload, size, reason);
    return cc_reason_set (reason, CC_E_UNSUPPORTED, "topic of %zu bytes not relayed", topic_size);
}
