/*  =========================================================================
    tx - one transaction: its signed envelope, its hash and its decoded body
    =========================================================================
*/

#include "tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _cc_tx_t {
    Certchain__Signed envelope;     //  the envelope's fields (owned: copied or adopted)
    uint8_t hash [CC_HASH_SIZE];    //  H(body bytes)
    size_t size;                    //  serialized envelope size
    Certchain__TxBody *body;        //  decoded body once opened, else NULL
    int open_result;                //  first cc_tx_open result, 1 = not tried
    char open_text [160];           //  its specific message
};

//  The envelope's shape: 0, or MALFORMED, OVERSIZE or BAD_FIELD in reason.
static int
s_envelope_check (const Certchain__Signed *envelope, cc_reason_t *reason)
{
    if (!envelope)
        return cc_reason_set (reason, CC_E_MALFORMED, "transaction: no envelope");
    if (certchain__signed__get_packed_size (envelope) > CC_TX_MAX_SIZE)
        return cc_reason_set (reason, CC_E_OVERSIZE, "transaction larger than %d bytes",
                              CC_TX_MAX_SIZE);
    if (!cc_bytes_sized (envelope->signer, CC_PUBKEY_SIZE)
        || !cc_bytes_sized (envelope->signature, CC_SIGNATURE_SIZE))
        return cc_reason_set (reason, CC_E_BAD_FIELD, "transaction envelope needs a 32-byte "
                              "signer and 64-byte signature");
    return 0;
}

//  A new tx owning the bytes of envelope (moved in, not copied); NULL
//  (reason NOMEM) leaves them with the caller.
static cc_tx_t *
s_tx_wrap (const Certchain__Signed *envelope, cc_reason_t *reason)
{
    cc_tx_t *self = (cc_tx_t *) calloc (1, sizeof (cc_tx_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    certchain__signed__init (&self->envelope);
    self->envelope.body = envelope->body;
    self->envelope.signature = envelope->signature;
    self->envelope.signer = envelope->signer;
    cc_hash (self->envelope.body.data, self->envelope.body.len, self->hash);
    self->size = certchain__signed__get_packed_size (&self->envelope);
    self->open_result = 1;
    return self;
}

cc_tx_t *
cc_tx_from_envelope (const Certchain__Signed *envelope, cc_reason_t *reason)
{
    if (s_envelope_check (envelope, reason) != 0)
        return NULL;
    Certchain__Signed copy;
    if (cc_signed_copy (envelope, &copy) != 0) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    cc_tx_t *self = s_tx_wrap (&copy, reason);
    if (!self)
        cc_signed_clear (&copy);
    return self;
}

cc_tx_t *
cc_tx_decode (const uint8_t *data, size_t size, cc_reason_t *reason)
{
    int code = 0;
    Certchain__Signed *envelope = (Certchain__Signed *) cc_codec_unpack (
        &certchain__signed__descriptor, data, size, CC_TX_MAX_SIZE, &code);
    if (!envelope) {
        cc_reason_set (reason, code, "transaction: %s", cc_error_message (code));
        return NULL;
    }
    cc_tx_t *self = cc_tx_adopt_envelope (envelope, reason);
    certchain__signed__free_unpacked (envelope, NULL);
    return self;
}

cc_tx_t *
cc_tx_adopt_envelope (Certchain__Signed *envelope, cc_reason_t *reason)
{
    if (s_envelope_check (envelope, reason) != 0)
        return NULL;
    cc_tx_t *self = s_tx_wrap (envelope, reason);
    if (self)
        envelope->body = envelope->signature = envelope->signer = (ProtobufCBinaryData) {0, NULL};
    return self;
}

cc_tx_t *
cc_tx_new (cc_keypair_t *signer, const char *chain_id, Certchain__TxBody *body)
{
    char *saved_chain = body->chain_id;
    ProtobufCBinaryData saved_signer = body->signer;
    body->chain_id = (char *) chain_id;
    body->signer = cc_bytes_view (cc_keypair_public (signer), CC_PUBKEY_SIZE);
    Certchain__Signed envelope;
    int rc = cc_signed_make (signer, CC_DOMAIN_TX, chain_id, &body->base, &envelope);
    body->chain_id = saved_chain;
    body->signer = saved_signer;
    if (rc != 0)
        return NULL;
    cc_tx_t *self = cc_tx_adopt_envelope (&envelope, NULL);
    cc_signed_clear (&envelope);
    if (self && cc_tx_open (self, chain_id, true, NULL) != 0)
        cc_tx_destroy (&self);
    return self;
}

void
cc_tx_destroy (cc_tx_t **self_p)
{
    if (self_p && *self_p) {
        cc_tx_t *self = *self_p;
        cc_signed_clear (&self->envelope);
        if (self->body)
            certchain__tx_body__free_unpacked (self->body, NULL);
        free (self);
        *self_p = NULL;
    }
}

//  --- Stateless checks -------------------------------------------------------

static int
s_check_node_field (ProtobufCBinaryData node, const char *what, cc_reason_t *reason)
{
    if (!cc_bytes_sized (node, CC_PUBKEY_SIZE))
        return cc_reason_set (reason, CC_E_BAD_FIELD, "%s must be a 32-byte public key", what);
    return 0;
}

static int
s_check_body (const Certchain__TxBody *body, const char *chain_id, const uint8_t *signer,
              cc_reason_t *reason)
{
    if (!body->chain_id || strcmp (body->chain_id, chain_id) != 0)
        return cc_reason_set (reason, CC_E_WRONG_CHAIN,
                              "transaction for chain '%s', this chain is '%s'",
                              body->chain_id ? body->chain_id : "", chain_id);
    if (!cc_bytes_sized (body->signer, CC_PUBKEY_SIZE)
        || memcmp (body->signer.data, signer, CC_PUBKEY_SIZE) != 0)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "transaction body signer differs from envelope signer");
    switch (body->payload_case) {
        case CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER:
            return s_check_node_field (body->transfer->to, "transfer.to", reason);
        case CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY:
            if (!body->certify->profile || !body->certify->score)
                return cc_reason_set (reason, CC_E_BAD_FIELD,
                                      "certify needs a machine profile and a score");
            return s_check_node_field (body->certify->node, "certify.node", reason);
        case CERTCHAIN__TX_BODY__PAYLOAD_REVOKE:
            if (body->revoke->reason && strlen (body->revoke->reason) > CC_REASON_TEXT_MAX)
                return cc_reason_set (reason, CC_E_BAD_FIELD,
                                      "revoke.reason longer than %d characters",
                                      CC_REASON_TEXT_MAX);
            return s_check_node_field (body->revoke->node, "revoke.node", reason);
        case CERTCHAIN__TX_BODY__PAYLOAD_EVIDENCE:
            if (!body->evidence->vote_a || !body->evidence->vote_b)
                return cc_reason_set (reason, CC_E_INVALID_EVIDENCE,
                                      "evidence needs two signed votes");
            return 0;
        case CERTCHAIN__TX_BODY__PAYLOAD_RESIGN:
            return 0;
        default:
            return cc_reason_set (reason, CC_E_NO_PAYLOAD, "transaction has no payload");
    }
}

int
cc_tx_open (cc_tx_t *self, const char *chain_id, bool signature_checked, cc_reason_t *reason)
{
    if (self->open_result != 1) {
        if (self->open_result != 0)
            return cc_reason_set (reason, self->open_result, "%s", self->open_text);
        return 0;
    }
    cc_reason_t local;
    cc_reason_clear (&local);
    if (!signature_checked
        && !cc_verify (self->envelope.signer.data, CC_DOMAIN_TX, chain_id,
                       self->envelope.body.data, self->envelope.body.len,
                       self->envelope.signature.data))
        cc_reason_set (&local, CC_E_BAD_SIGNATURE, "transaction signature does not verify");
    else {
        int code = 0;
        self->body = (Certchain__TxBody *) cc_codec_unpack (
            &certchain__tx_body__descriptor, self->envelope.body.data, self->envelope.body.len,
            CC_TX_MAX_SIZE, &code);
        if (!self->body)
            cc_reason_set (&local, code, "transaction body: %s", cc_error_message (code));
        else
            s_check_body (self->body, chain_id, self->envelope.signer.data, &local);
        if (local.code != 0 && self->body) {
            certchain__tx_body__free_unpacked (self->body, NULL);
            self->body = NULL;
        }
    }
    self->open_result = local.code;
    snprintf (self->open_text, sizeof (self->open_text), "%s", cc_reason_text (&local));
    if (local.code != 0)
        return cc_reason_set (reason, local.code, "%s", self->open_text);
    return 0;
}

//  --- Accessors ----------------------------------------------------------------

bool
cc_tx_is_open (cc_tx_t *self)
{
    return self->open_result == 0;
}

const uint8_t *
cc_tx_hash (cc_tx_t *self)
{
    return self->hash;
}

const Certchain__Signed *
cc_tx_envelope (cc_tx_t *self)
{
    return &self->envelope;
}

const Certchain__TxBody *
cc_tx_body (cc_tx_t *self)
{
    return self->open_result == 0 ? self->body : NULL;
}

const uint8_t *
cc_tx_signer (cc_tx_t *self)
{
    return self->envelope.signer.data;
}

uint64_t
cc_tx_nonce (cc_tx_t *self)
{
    return self->body && self->open_result == 0 ? self->body->nonce : 0;
}

uint64_t
cc_tx_fee (cc_tx_t *self)
{
    return self->body && self->open_result == 0 ? self->body->fee : 0;
}

size_t
cc_tx_size (cc_tx_t *self)
{
    return self->size;
}

int
cc_tx_encode (cc_tx_t *self, uint8_t **data_p, size_t *size_p)
{
    return cc_codec_pack (&self->envelope.base, CC_MAX_MESSAGE_SIZE, data_p, size_p);
}

const char *
cc_tx_kind_name (cc_tx_t *self)
{
    if (!self->body)
        return "none";
    switch (self->body->payload_case) {
        case CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER: return "transfer";
        case CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY: return "certify";
        case CERTCHAIN__TX_BODY__PAYLOAD_REVOKE: return "revoke";
        case CERTCHAIN__TX_BODY__PAYLOAD_EVIDENCE: return "evidence";
        case CERTCHAIN__TX_BODY__PAYLOAD_RESIGN: return "resign";
        default: return "none";
    }
}
