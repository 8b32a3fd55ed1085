/*  =========================================================================
    codec - protobuf packing and unpacking with size limits, and envelopes

    Everything that arrives from outside is unpacked through here: the size is
    checked before protobuf-c sees a byte, and a malformed input comes back as
    MALFORMED instead of a crash. Signed envelopes are opened signature first:
    cc_signed_open verifies the signature over the exact body bytes and only
    then decodes them.
    =========================================================================
*/

#ifndef CC_CODEC_H_INCLUDED
#define CC_CODEC_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.pb-c.h"
#include "crypto.h"
#include "error.h"
#include "join.pb-c.h"
#include "rpc.pb-c.h"

//  Default ceiling for one message on any socket or in any file.
#define CC_MAX_MESSAGE_SIZE (16 * 1024 * 1024)

//  Unpacks size bytes as a message of descriptor. Refuses OVERSIZE when
//  size > max_size and MALFORMED when protobuf-c cannot parse it. Caller
//  owns the result and frees it with cc_codec_free.
ProtobufCMessage *
    cc_codec_unpack (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data,
                     size_t size, size_t max_size, int *code);

//  Frees an unpacked message; nulls the pointer; safe on NULL.
void
    cc_codec_free (ProtobufCMessage **message_p);

//  Packs message into a fresh buffer (caller frees with free). Refuses
//  OVERSIZE when the packed size exceeds max_size.
int
    cc_codec_pack (const ProtobufCMessage *message, size_t max_size, uint8_t **data_p,
                   size_t *size_p);

//  True if a bytes field holds exactly size bytes.
bool
    cc_bytes_sized (ProtobufCBinaryData field, size_t size);

//  True if two bytes fields are equal.
bool
    cc_bytes_equal (ProtobufCBinaryData a, ProtobufCBinaryData b);

//  A bytes field viewing data (no copy).
ProtobufCBinaryData
    cc_bytes_view (const uint8_t *data, size_t size);

//  --- Big-endian numbers in keys ---------------------------------------------

//  Store keys hold numbers big-endian so RocksDB's byte order is numeric
//  order. Put writes 8 (or 4) bytes at target; get reads them back.
void
    cc_be64_put (uint8_t *target, uint64_t value);
uint64_t
    cc_be64_get (const uint8_t *source);
void
    cc_be32_put (uint8_t *target, uint32_t value);
uint32_t
    cc_be32_get (const uint8_t *source);

//  --- Signed envelopes --------------------------------------------------------

//  Packs body, signs it for (domain, chain_id) and fills envelope with
//  freshly allocated body, signature and signer; release with
//  cc_signed_clear. 0 or error.
int
    cc_signed_make (cc_keypair_t *keypair, cc_domain_t domain, const char *chain_id,
                    const ProtobufCMessage *body, Certchain__Signed *envelope);

//  Frees what cc_signed_make allocated in envelope (not envelope itself).
void
    cc_signed_clear (Certchain__Signed *envelope);

//  Checks the envelope's field sizes and its signature over body for
//  (domain, chain_id), then decodes body as descriptor's message (at most
//  max_size bytes). BAD_FIELD, BAD_SIGNATURE, OVERSIZE or MALFORMED on
//  failure. Caller owns *body_p (cc_codec_free).
int
    cc_signed_open (const Certchain__Signed *envelope, cc_domain_t domain,
                    const char *chain_id, const ProtobufCMessageDescriptor *descriptor,
                    size_t max_size, ProtobufCMessage **body_p);

//  Duplicates an envelope into freshly allocated fields (cc_signed_clear).
int
    cc_signed_copy (const Certchain__Signed *source, Certchain__Signed *target);

#endif
