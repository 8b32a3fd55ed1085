/*  =========================================================================
    codec - protobuf packing and unpacking with size limits, and envelopes

    protobuf-c's default allocator is used throughout, so any message that
    came from cc_codec_unpack is freed with protobuf_c_message_free_unpacked.
    =========================================================================
*/

#include "codec.h"

#include <stdlib.h>
#include <string.h>

ProtobufCMessage *
cc_codec_unpack (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data,
                 size_t size, size_t max_size, int *code)
{
    int dummy;
    if (!code)
        code = &dummy;
    if (size > max_size) {
        *code = CC_E_OVERSIZE;
        return NULL;
    }
    if (!data && size > 0) {
        *code = CC_E_MALFORMED;
        return NULL;
    }
    //  protobuf-c reads nothing for size 0 but wants a valid pointer.
    static const uint8_t empty = 0;
    ProtobufCMessage *message = protobuf_c_message_unpack (descriptor, NULL, size,
                                                           data ? data : &empty);
    *code = message ? CC_OK : CC_E_MALFORMED;
    return message;
}

void
cc_codec_free (ProtobufCMessage **message_p)
{
    if (message_p && *message_p) {
        protobuf_c_message_free_unpacked (*message_p, NULL);
        *message_p = NULL;
    }
}

int
cc_codec_pack (const ProtobufCMessage *message, size_t max_size, uint8_t **data_p,
               size_t *size_p)
{
    size_t size = protobuf_c_message_get_packed_size (message);
    if (size > max_size)
        return CC_E_OVERSIZE;
    //  malloc (0) may return NULL; always hand back a real buffer.
    uint8_t *data = (uint8_t *) malloc (size ? size : 1);
    if (!data)
        return CC_E_NOMEM;
    protobuf_c_message_pack (message, data);
    *data_p = data;
    *size_p = size;
    return 0;
}

bool
cc_bytes_sized (ProtobufCBinaryData field, size_t size)
{
    return field.len == size && (size == 0 || field.data != NULL);
}

bool
cc_bytes_equal (ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    return a.len == b.len && (a.len == 0 || memcmp (a.data, b.data, a.len) == 0);
}

ProtobufCBinaryData
cc_bytes_view (const uint8_t *data, size_t size)
{
    ProtobufCBinaryData field = {size, (uint8_t *) data};
    return field;
}

//  --- Big-endian numbers in keys ---------------------------------------------

void
cc_be64_put (uint8_t *target, uint64_t value)
{
    for (int index = 7; index >= 0; index--, value >>= 8)
        target [index] = (uint8_t) value;
}

uint64_t
cc_be64_get (const uint8_t *source)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | source [index];
    return value;
}

void
cc_be32_put (uint8_t *target, uint32_t value)
{
    for (int index = 3; index >= 0; index--, value >>= 8)
        target [index] = (uint8_t) value;
}

uint32_t
cc_be32_get (const uint8_t *source)
{
    return (uint32_t) source [0] << 24 | (uint32_t) source [1] << 16
           | (uint32_t) source [2] << 8 | source [3];
}

//  --- Signed envelopes --------------------------------------------------------

int
cc_signed_make (cc_keypair_t *keypair, cc_domain_t domain, const char *chain_id,
                const ProtobufCMessage *body, Certchain__Signed *envelope)
{
    certchain__signed__init (envelope);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_codec_pack (body, CC_MAX_MESSAGE_SIZE, &data, &size);
    if (rc != 0)
        return rc;
    uint8_t *signature = (uint8_t *) malloc (CC_SIGNATURE_SIZE);
    uint8_t *signer = (uint8_t *) malloc (CC_PUBKEY_SIZE);
    if (!signature || !signer) {
        free (data);
        free (signature);
        free (signer);
        return CC_E_NOMEM;
    }
    cc_keypair_sign (keypair, domain, chain_id, data, size, signature);
    memcpy (signer, cc_keypair_public (keypair), CC_PUBKEY_SIZE);
    envelope->body = cc_bytes_view (data, size);
    envelope->signature = cc_bytes_view (signature, CC_SIGNATURE_SIZE);
    envelope->signer = cc_bytes_view (signer, CC_PUBKEY_SIZE);
    return 0;
}

void
cc_signed_clear (Certchain__Signed *envelope)
{
    if (!envelope)
        return;
    free (envelope->body.data);
    free (envelope->signature.data);
    free (envelope->signer.data);
    certchain__signed__init (envelope);
}

static int
s_copy_bytes (ProtobufCBinaryData source, ProtobufCBinaryData *target)
{
    target->len = source.len;
    target->data = (uint8_t *) malloc (source.len ? source.len : 1);
    if (!target->data)
        return CC_E_NOMEM;
    if (source.len)
        memcpy (target->data, source.data, source.len);
    return 0;
}

int
cc_signed_copy (const Certchain__Signed *source, Certchain__Signed *target)
{
    certchain__signed__init (target);
    if (s_copy_bytes (source->body, &target->body) != 0
        || s_copy_bytes (source->signature, &target->signature) != 0
        || s_copy_bytes (source->signer, &target->signer) != 0) {
        cc_signed_clear (target);
        return CC_E_NOMEM;
    }
    return 0;
}

int
cc_signed_open (const Certchain__Signed *envelope, cc_domain_t domain, const char *chain_id,
                const ProtobufCMessageDescriptor *descriptor, size_t max_size,
                ProtobufCMessage **body_p)
{
    *body_p = NULL;
    if (!envelope || !cc_bytes_sized (envelope->signature, CC_SIGNATURE_SIZE)
        || !cc_bytes_sized (envelope->signer, CC_PUBKEY_SIZE))
        return CC_E_BAD_FIELD;
    if (envelope->body.len > max_size)
        return CC_E_OVERSIZE;
    if (!cc_verify (envelope->signer.data, domain, chain_id, envelope->body.data,
                    envelope->body.len, envelope->signature.data))
        return CC_E_BAD_SIGNATURE;
    int code = 0;
    *body_p = cc_codec_unpack (descriptor, envelope->body.data, envelope->body.len, max_size,
                               &code);
    return code;
}
