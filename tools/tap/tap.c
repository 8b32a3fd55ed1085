/*  =========================================================================
    tap - a monitor on a relay's pub socket

    See tap.h. One loop: a SUB socket polled with a timeout that ends at
    the next whole second, when --stats prints its rates and --top redraws
    its table. Every message is decoded for display through one "sink"
    that writes either "key=value" text (ids cut to an 8-character prefix
    so a line stays readable) or a JSON member (ids in full, for scripts),
    so the two outputs cannot drift apart.

    A "txb" message (the relay's batch of submitted transactions) is shown
    as one entry per transaction, each like a "tx" message plus its place
    in the batch (batch_index from 0, batch_txs), so a reader following
    transactions sees every one whichever topic carried it; --count counts
    these entries, --stats counts the messages on the wire.

    DESIGN: the tap is a slow subscriber by nature (it formats every
    message). It takes at most S_DRAIN_MAX messages per wake-up so the
    once-a-second output stays on time; beyond the socket's high-water
    mark ZeroMQ drops messages for it, which is the right failure for a
    monitor: the network is never slowed down by someone watching it.
    =========================================================================
*/

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "codec.h"
#include "rpc.h"
#include "tap.h"
#include "tx.h"

//  Hex characters of an id shown in a text line.
#define S_PREFIX 8
//  Most messages read per wake-up before the clock is looked at again.
#define S_DRAIN_MAX 1000
//  Most services the --top table keeps (the oldest is replaced).
#define S_TOP_MAX 1024
//  Largest message the SUB takes: a committed block and its frame.
#define S_MAX_MESSAGE (CC_BLOCK_MAX_SIZE + 64 * 1024)
//  Largest metrics event and consensus message body decoded.
#define S_EVENT_MAX (1024 * 1024)
#define S_SMALL_MAX 4096

//  Topics counted by --stats; anything else counts as "other".
static const char *s_topics [] = { "tx", "cns", "blk", "evt", "txb", "other" };
#define S_TOPIC_COUNT (sizeof (s_topics) / sizeof (s_topics [0]))

//  Rates of one topic over the current second.
typedef struct {
    uint64_t messages;          //  messages this second
    uint64_t bytes;             //  payload bytes this second
} s_rate_t;

//  The latest metrics event of one service.
typedef struct {
    char service [32];          //  service name (printable)
    char node [80];             //  node key or name (printable)
    uint64_t height;            //  its height
    uint32_t round;             //  its consensus round
    uint32_t mempool;           //  its mempool size
    double tx_per_s;            //  committed tx/s over its last period
    uint64_t committed;         //  transactions committed in all
    uint64_t discarded;         //  blocks discarded
    uint64_t errors;            //  errors counted
    int64_t seen;               //  when its last event arrived (monotonic ms)
} s_service_t;

struct _cc_tap_t {
    cc_tap_opts_t opts;         //  how it runs (strings borrowed)
    FILE *out;                  //  where lines go
    zsock_t *sub;               //  SUB on the relay's pub
    cc_json_t *json;            //  document of the current JSON line
    uint64_t messages;          //  messages shown (after the topic filter)
    s_rate_t rates [S_TOPIC_COUNT];     //  --stats counters of this second
    s_service_t *services;      //  --top table
    size_t service_count;       //  entries in it
    bool tty;                   //  out is a terminal (--top redraws in place)
};

//  --- The sink: text or JSON --------------------------------------------------

typedef struct {
    cc_json_t *json;            //  JSON mode: the document, else NULL
    char *line;                 //  text mode: the line
    size_t size;                //  its capacity
    size_t length;              //  bytes written
} s_sink_t;

static void
s_put (s_sink_t *sink, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_put (s_sink_t *sink, const char *format, ...)
{
    if (sink->length + 1 >= sink->size)
        return;
    va_list args;
    va_start (args, format);
    int written = vsnprintf (sink->line + sink->length, sink->size - sink->length, format, args);
    va_end (args);
    if (written > 0)
        sink->length += (size_t) written < sink->size - sink->length
                      ? (size_t) written : sink->size - sink->length - 1;
}

//  Copies size bytes of untrusted text into buffer, printable ASCII only
//  (spaces too when spaces is true, since a space would split a
//  key=value field), at most max characters (and the buffer's size).
static const char *
s_printable_text (const char *text, size_t size, size_t max, bool spaces, char *buffer,
                  size_t buffer_size)
{
    size_t out = 0;
    for (size_t index = 0; index < size && out < max && out + 1 < buffer_size; index++) {
        unsigned char byte = (unsigned char) text [index];
        bool keep = byte > 0x20 && byte < 0x7F && byte != '"';
        buffer [out++] = keep || (spaces && byte == ' ') ? (char) byte : '?';
    }
    buffer [out] = 0;
    return buffer;
}

static const char *
s_printable (const char *text, size_t size, size_t max, char *buffer, size_t buffer_size)
{
    return s_printable_text (text, size, max, false, buffer, buffer_size);
}

static void
s_field_str (s_sink_t *sink, const char *key, const char *value, size_t size)
{
    if (sink->json)
        cc_json_string_n (sink->json, key, value, size);
    else {
        char printable [128];
        s_put (sink, " %s=%s", key, s_printable (value, size, 64, printable, sizeof (printable)));
    }
}

static void
s_field_u64 (s_sink_t *sink, const char *key, uint64_t value)
{
    if (sink->json)
        cc_json_u64 (sink->json, key, value);
    else
        s_put (sink, " %s=%" PRIu64, key, value);
}

static void
s_field_i64 (s_sink_t *sink, const char *key, int64_t value)
{
    if (sink->json)
        cc_json_i64 (sink->json, key, value);
    else
        s_put (sink, " %s=%" PRId64, key, value);
}

static void
s_field_double (s_sink_t *sink, const char *key, double value)
{
    if (sink->json)
        cc_json_double (sink->json, key, value);
    else
        s_put (sink, " %s=%.1f", key, value);
}

//  An id: full hex in JSON, a prefix in text; empty is nil (null).
static void
s_field_hex (s_sink_t *sink, const char *key, ProtobufCBinaryData field)
{
    //  Ids are 32 bytes; a longer field is shown by its first 32.
    size_t size = field.len > 32 ? 32 : field.len;
    char hex [65];
    if (size)
        cc_hex_encode (field.data, size, hex);
    if (sink->json) {
        if (size)
            cc_json_string (sink->json, key, hex);
        else
            cc_json_null (sink->json, key);
    }
    else {
        if (size > S_PREFIX / 2)
            hex [S_PREFIX] = 0;
        s_put (sink, " %s=%s", key, size ? hex : "nil");
    }
}

static void
s_field_raw (s_sink_t *sink, const char *key, const uint8_t *data, size_t size)
{
    s_field_hex (sink, key, cc_bytes_view (data, size));
}

//  The type word: JSON member "type", or the third column of a line.
static void
s_type (s_sink_t *sink, const char *type)
{
    if (sink->json)
        cc_json_string (sink->json, "type", type);
    else
        s_put (sink, " %-11s", type);
}

//  --- Decoding, one topic each ---------------------------------------------------

//  Name of the payload kind of a tx body ("transfer"), from the schema.
static const char *
s_payload_name (const Certchain__TxBody *body)
{
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
        &certchain__tx_body__descriptor, (unsigned) body->payload_case);
    return field ? field->name : "none";
}

//  Describes a decoded transaction (borrowed).
static int
s_describe_decoded_tx (s_sink_t *sink, cc_tx_t *tx, cc_reason_t *reason)
{
    const Certchain__Signed *envelope = cc_tx_envelope (tx);
    int code = 0;
    Certchain__TxBody *body = (Certchain__TxBody *) cc_codec_unpack (
        &certchain__tx_body__descriptor, envelope->body.data, envelope->body.len, CC_TX_MAX_SIZE,
        &code);
    if (!body)
        return cc_reason_set (reason, code, "tx body: %s", cc_error_message (code));
    s_type (sink, s_payload_name (body));
    s_field_raw (sink, "hash", cc_tx_hash (tx), CC_HASH_SIZE);
    s_field_raw (sink, "signer", cc_tx_signer (tx), CC_PUBKEY_SIZE);
    s_field_u64 (sink, "nonce", body->nonce);
    s_field_u64 (sink, "fee", body->fee);
    if (body->payload_case == CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER && body->transfer) {
        s_field_hex (sink, "to", body->transfer->to);
        s_field_u64 (sink, "amount", body->transfer->amount);
    }
    else
    if (body->payload_case == CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY && body->certify)
        s_field_hex (sink, "node", body->certify->node);
    else
    if (body->payload_case == CERTCHAIN__TX_BODY__PAYLOAD_REVOKE && body->revoke) {
        s_field_hex (sink, "node", body->revoke->node);
        if (body->revoke->reason)
            s_field_str (sink, "reason", body->revoke->reason, strlen (body->revoke->reason));
    }
    cc_codec_free ((ProtobufCMessage **) &body);
    return 0;
}

static int
s_describe_tx (s_sink_t *sink, const uint8_t *data, size_t size, cc_reason_t *reason)
{
    cc_tx_t *tx = cc_tx_decode (data, size, reason);
    if (!tx)
        return reason->code;
    int rc = s_describe_decoded_tx (sink, tx, reason);
    cc_tx_destroy (&tx);
    return rc;
}

//  Decodes a Signed envelope's body as descriptor's message (no signature
//  check: a monitor shows what travels).
static ProtobufCMessage *
s_open_signed (const Certchain__Signed *envelope, const ProtobufCMessageDescriptor *descriptor,
               const char *what, cc_reason_t *reason)
{
    if (!envelope)
        return (cc_reason_set (reason, CC_E_MALFORMED, "%s: no envelope", what), NULL);
    int code = 0;
    ProtobufCMessage *body = cc_codec_unpack (descriptor, envelope->body.data, envelope->body.len,
                                              S_SMALL_MAX, &code);
    if (!body)
        cc_reason_set (reason, code, "%s body: %s", what, cc_error_message (code));
    return body;
}

static int
s_describe_consensus (s_sink_t *sink, const uint8_t *data, size_t size, cc_reason_t *reason)
{
    int code = 0;
    Certchain__ConsensusMessage *message = (Certchain__ConsensusMessage *) cc_codec_unpack (
        &certchain__consensus_message__descriptor, data, size, CC_BLOCK_MAX_SIZE, &code);
    if (!message)
        return cc_reason_set (reason, code, "consensus message: %s", cc_error_message (code));
    int rc = 0;
    if (message->kind_case == CERTCHAIN__CONSENSUS_MESSAGE__KIND_PROPOSAL && message->proposal) {
        Certchain__Proposal *proposal = (Certchain__Proposal *) s_open_signed (
            message->proposal->proposal, &certchain__proposal__descriptor, "proposal", reason);
        if (proposal) {
            s_type (sink, "proposal");
            s_field_u64 (sink, "height", proposal->height);
            s_field_u64 (sink, "round", proposal->round);
            s_field_hex (sink, "proposer", proposal->proposer);
            s_field_hex (sink, "block", proposal->block_hash);
            s_field_i64 (sink, "valid_round", proposal->valid_round);
            s_field_u64 (sink, "block_size", message->proposal->block.len);
            cc_codec_free ((ProtobufCMessage **) &proposal);
        }
        else
            rc = reason->code;
    }
    else
    if (message->kind_case == CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE) {
        Certchain__Vote *vote = (Certchain__Vote *) s_open_signed (
            message->vote, &certchain__vote__descriptor, "vote", reason);
        if (vote) {
            s_type (sink, vote->type == CERTCHAIN__VOTE_TYPE__PREVOTE     ? "prevote"
                        : vote->type == CERTCHAIN__VOTE_TYPE__PRECOMMIT ? "precommit"
                                                                          : "vote");
            s_field_u64 (sink, "height", vote->height);
            s_field_u64 (sink, "round", vote->round);
            s_field_hex (sink, "validator", vote->validator);
            s_field_hex (sink, "block", vote->block_hash);
            cc_codec_free ((ProtobufCMessage **) &vote);
        }
        else
            rc = reason->code;
    }
    else
        rc = cc_reason_set (reason, CC_E_MALFORMED, "consensus message of no known kind");
    cc_codec_free ((ProtobufCMessage **) &message);
    return rc;
}

static int
s_describe_block (s_sink_t *sink, const uint8_t *data, size_t size, cc_reason_t *reason)
{
    cc_block_t *block = cc_block_decode (data, size, reason);
    if (!block)
        return reason->code;
    const Certchain__Commit *commit = cc_block_commit (block);
    s_type (sink, "block");
    s_field_u64 (sink, "height", cc_block_height (block));
    s_field_u64 (sink, "round", cc_block_round (block));
    s_field_raw (sink, "hash", cc_block_hash (block), CC_HASH_SIZE);
    s_field_raw (sink, "proposer", cc_block_proposer (block), CC_PUBKEY_SIZE);
    s_field_u64 (sink, "txs", cc_block_tx_count (block));
    s_field_u64 (sink, "signers", commit ? commit->n_precommits : 0);
    cc_block_destroy (&block);
    return 0;
}

static Certchain__MetricsEvent *
s_event_decode (const uint8_t *data, size_t size, cc_reason_t *reason)
{
    int code = 0;
    Certchain__MetricsEvent *event = (Certchain__MetricsEvent *) cc_codec_unpack (
        &certchain__metrics_event__descriptor, data, size, S_EVENT_MAX, &code);
    if (!event)
        cc_reason_set (reason, code, "metrics event: %s", cc_error_message (code));
    return event;
}

static int
s_describe_event (s_sink_t *sink, const uint8_t *data, size_t size, cc_reason_t *reason)
{
    Certchain__MetricsEvent *event = s_event_decode (data, size, reason);
    if (!event)
        return reason->code;
    s_type (sink, "metrics");
    const char *service = event->service ? event->service : "";
    const char *node = event->node ? event->node : "";
    s_field_str (sink, "service", service, strlen (service));
    //  A node is a 64-hex key: shown by its prefix in text, like other ids.
    s_field_str (sink, "node", node, sink->json ? strlen (node) : strnlen (node, S_PREFIX));
    s_field_u64 (sink, "height", event->height);
    s_field_u64 (sink, "round", event->round);
    s_field_u64 (sink, "mempool", event->mempool);
    s_field_double (sink, "tx_per_s", event->committed_tx_per_s);
    s_field_u64 (sink, "committed", event->committed_txs);
    s_field_u64 (sink, "discarded", event->discarded);
    s_field_u64 (sink, "errors", event->errors);
    cc_codec_free ((ProtobufCMessage **) &event);
    return 0;
}

//  --- Describing a message -------------------------------------------------------

static bool
s_topic_is (const uint8_t *topic, size_t topic_size, const char *name)
{
    return topic_size == strlen (name) && memcmp (topic, name, topic_size) == 0;
}

//  Writes "HH:MM:SS.mmm" (UTC) of time_ms into text (13 bytes).
static void
s_clock (uint64_t time_ms, char *text, size_t size)
{
    time_t seconds = (time_t) (time_ms / 1000);
    struct tm parts;
    gmtime_r (&seconds, &parts);
    snprintf (text, size, "%02d:%02d:%02d.%03d", parts.tm_hour, parts.tm_min, parts.tm_sec,
              (int) (time_ms % 1000));
}

//  Starts an entry: the time and the topic.
static void
s_entry_open (s_sink_t *sink, const uint8_t *topic, size_t topic_size, uint64_t time_ms)
{
    char clock [16], printable [32];
    s_clock (time_ms, clock, sizeof (clock));
    if (sink->json) {
        cc_json_reset (sink->json);
        cc_json_object_open (sink->json, NULL);
        cc_json_u64 (sink->json, "time_ms", time_ms);
        cc_json_string (sink->json, "time", clock);
        cc_json_string_n (sink->json, "topic", (const char *) topic, topic_size);
    }
    else {
        sink->line [0] = 0;
        sink->length = 0;
        s_put (sink, "%s %-3s", clock,
               s_printable ((const char *) topic, topic_size, 8, printable, sizeof (printable)));
    }
}

//  Ends an entry: what did not decode (rc, reason), then the size.
static void
s_entry_close (s_sink_t *sink, int rc, cc_reason_t *reason, size_t size)
{
    //  A decoder writes nothing before it has decoded, so on failure the
    //  line is still at its type column.
    if (rc != 0) {
        const char *text = cc_reason_text (reason);
        s_type (sink, "undecodable");
        s_field_str (sink, "code", cc_error_name (rc), strlen (cc_error_name (rc)));
        char quoted [128];
        if (sink->json)
            cc_json_string (sink->json, "error", text);
        else
            s_put (sink, " error=\"%s\"",
                   s_printable_text (text, strlen (text), 120, true, quoted, sizeof (quoted)));
    }
    s_field_u64 (sink, "size", size);
    if (sink->json)
        cc_json_object_close (sink->json);
}

//  The entries of a "txb" batch that decodes and holds transactions (one
//  per tx), or 0 when it is to be described as one message.
static size_t
s_describe_batch (s_sink_t *sink, const uint8_t *topic, size_t topic_size, const uint8_t *data,
                  size_t size, uint64_t time_ms, cc_tap_emit_fn *emit, void *argument)
{
    int code = 0;
    Certchain__TxBatch *batch = (Certchain__TxBatch *) cc_codec_unpack (
        &certchain__tx_batch__descriptor, data, size, S_MAX_MESSAGE, &code);
    if (!batch || batch->n_txs == 0) {
        cc_codec_free ((ProtobufCMessage **) &batch);
        return 0;
    }
    size_t entries = 0;
    bool more = true;
    for (size_t index = 0; index < batch->n_txs && more; index++) {
        s_entry_open (sink, topic, topic_size, time_ms);
        cc_reason_t reason;
        cc_reason_clear (&reason);
        cc_tx_t *tx = cc_tx_from_envelope (batch->txs [index], &reason);
        int rc = tx ? s_describe_decoded_tx (sink, tx, &reason) : reason.code;
        if (rc == 0) {
            s_field_u64 (sink, "batch_index", index);
            s_field_u64 (sink, "batch_txs", batch->n_txs);
        }
        s_entry_close (sink, rc, &reason, protobuf_c_message_get_packed_size (
                                              &batch->txs [index]->base));
        cc_tx_destroy (&tx);
        entries++;
        more = !emit || emit (argument);
    }
    cc_codec_free ((ProtobufCMessage **) &batch);
    return entries;
}

size_t
cc_tap_describe (const uint8_t *topic, size_t topic_size, const uint8_t *data, size_t size,
                 uint64_t time_ms, cc_json_t *json, char *line, size_t line_size,
                 cc_tap_emit_fn *emit, void *argument)
{
    assert (json || (line && line_size > 0));
    s_sink_t sink = { json, line, line_size, 0 };
    if (s_topic_is (topic, topic_size, CC_TOPIC_TX_BATCH)) {
        size_t entries = s_describe_batch (&sink, topic, topic_size, data, size, time_ms, emit,
                                           argument);
        if (entries > 0)
            return entries;
    }
    s_entry_open (&sink, topic, topic_size, time_ms);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc;
    if (s_topic_is (topic, topic_size, CC_TOPIC_TX))
        rc = s_describe_tx (&sink, data, size, &reason);
    else
    if (s_topic_is (topic, topic_size, CC_TOPIC_TX_BATCH)) {
        //  Here only when it is not a TxBatch of at least one tx.
        int code = 0;
        Certchain__TxBatch *batch = (Certchain__TxBatch *) cc_codec_unpack (
            &certchain__tx_batch__descriptor, data, size, S_MAX_MESSAGE, &code);
        if (batch) {
            s_type (&sink, "batch");
            s_field_u64 (&sink, "batch_txs", 0);
            rc = 0;
        }
        else
            rc = cc_reason_set (&reason, code, "transaction batch: %s", cc_error_message (code));
        cc_codec_free ((ProtobufCMessage **) &batch);
    }
    else
    if (s_topic_is (topic, topic_size, CC_TOPIC_CONSENSUS))
        rc = s_describe_consensus (&sink, data, size, &reason);
    else
    if (s_topic_is (topic, topic_size, CC_TOPIC_BLOCK))
        rc = s_describe_block (&sink, data, size, &reason);
    else
    if (s_topic_is (topic, topic_size, CC_TOPIC_EVENT))
        rc = s_describe_event (&sink, data, size, &reason);
    else
        rc = cc_reason_set (&reason, CC_E_MALFORMED, "unknown topic");
    s_entry_close (&sink, rc, &reason, size);
    if (emit)
        emit (argument);
    return 1;
}

//  --- Life cycle ----------------------------------------------------------------

cc_tap_t *
cc_tap_new (const cc_tap_opts_t *opts, cc_reason_t *reason)
{
    assert (opts && opts->endpoint);
    cc_tap_t *self = (cc_tap_t *) calloc (1, sizeof (cc_tap_t));
    if (!self)
        return NULL;
    self->opts = *opts;
    self->out = opts->out ? opts->out : stdout;
    self->tty = isatty (fileno (self->out));
    self->json = cc_json_new ();
    self->services = opts->top ? (s_service_t *) calloc (S_TOP_MAX, sizeof (s_service_t)) : NULL;
    self->sub = zsock_new (ZMQ_SUB);
    if (!self->json || !self->sub || (opts->top && !self->services)) {
        cc_tap_destroy (&self);
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    cc_rpc_socket_policy (self->sub, S_MAX_MESSAGE);
    //  Subscriptions are prefixes: each topic is also matched exactly on
    //  arrival. --top needs only the metrics events.
    if (opts->topic_count)
        for (size_t index = 0; index < opts->topic_count; index++)
            zsock_set_subscribe (self->sub, opts->topics [index]);
    else
        zsock_set_subscribe (self->sub, opts->top ? CC_TOPIC_EVENT : "");
    if (zsock_connect (self->sub, "%s", opts->endpoint) != 0) {
        cc_reason_set (reason, CC_E_CONFIG, "cannot connect to '%s': %s", opts->endpoint,
                       zmq_strerror (zmq_errno ()));
        cc_tap_destroy (&self);
        return NULL;
    }
    return self;
}

void
cc_tap_destroy (cc_tap_t **self_p)
{
    if (self_p && *self_p) {
        cc_tap_t *self = *self_p;
        zsock_destroy (&self->sub);
        cc_json_destroy (&self->json);
        free (self->services);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
cc_tap_messages (cc_tap_t *self)
{
    assert (self);
    return self->messages;
}

//  --- --stats ---------------------------------------------------------------------

static size_t
s_topic_index (const uint8_t *topic, size_t topic_size)
{
    for (size_t index = 0; index + 1 < S_TOPIC_COUNT; index++)
        if (s_topic_is (topic, topic_size, s_topics [index]))
            return index;
    return S_TOPIC_COUNT - 1;
}

//  Prints the rates of the second that just ended and starts the next.
static void
s_stats_tick (cc_tap_t *self, uint64_t time_ms)
{
    char clock [16];
    s_clock (time_ms, clock, sizeof (clock));
    if (self->opts.json) {
        cc_json_reset (self->json);
        cc_json_object_open (self->json, NULL);
        cc_json_u64 (self->json, "time_ms", time_ms);
        cc_json_string (self->json, "time", clock);
        cc_json_string (self->json, "type", "stats");
        cc_json_object_open (self->json, "topics");
        for (size_t index = 0; index < S_TOPIC_COUNT; index++) {
            cc_json_object_open (self->json, s_topics [index]);
            cc_json_u64 (self->json, "messages_per_s", self->rates [index].messages);
            cc_json_u64 (self->json, "bytes_per_s", self->rates [index].bytes);
            cc_json_object_close (self->json);
        }
        cc_json_object_close (self->json);
        cc_json_object_close (self->json);
        cc_json_print (self->json, self->out);
    }
    else {
        fprintf (self->out, "%s stats", clock);
        for (size_t index = 0; index < S_TOPIC_COUNT; index++)
            fprintf (self->out, " | %s %" PRIu64 " msg/s %" PRIu64 " B/s", s_topics [index],
                     self->rates [index].messages, self->rates [index].bytes);
        fputc ('\n', self->out);
    }
    memset (self->rates, 0, sizeof (self->rates));
}

//  --- --top ----------------------------------------------------------------------

//  Keeps the latest event of its service (by service name and node).
static void
s_top_update (cc_tap_t *self, const uint8_t *data, size_t size, int64_t now)
{
    cc_reason_t reason;
    Certchain__MetricsEvent *event = s_event_decode (data, size, &reason);
    if (!event)
        return;
    char service [32], node [80];
    const char *service_text = event->service ? event->service : "";
    const char *node_text = event->node ? event->node : "";
    s_printable (service_text, strlen (service_text), sizeof (service) - 1, service,
                 sizeof (service));
    s_printable (node_text, strlen (node_text), sizeof (node) - 1, node, sizeof (node));
    s_service_t *entry = NULL;
    for (size_t index = 0; index < self->service_count && !entry; index++)
        if (strcmp (self->services [index].service, service) == 0
            && strcmp (self->services [index].node, node) == 0)
            entry = &self->services [index];
    if (!entry && self->service_count < S_TOP_MAX)
        entry = &self->services [self->service_count++];
    if (!entry) {
        //  Full: the service silent the longest makes room.
        entry = &self->services [0];
        for (size_t index = 1; index < self->service_count; index++)
            if (self->services [index].seen < entry->seen)
                entry = &self->services [index];
    }
    snprintf (entry->service, sizeof (entry->service), "%s", service);
    snprintf (entry->node, sizeof (entry->node), "%s", node);
    entry->height = event->height;
    entry->round = event->round;
    entry->mempool = event->mempool;
    entry->tx_per_s = event->committed_tx_per_s;
    entry->committed = event->committed_txs;
    entry->discarded = event->discarded;
    entry->errors = event->errors;
    entry->seen = now;
    cc_codec_free ((ProtobufCMessage **) &event);
}

static int
s_service_compare (const void *a, const void *b)
{
    const s_service_t *left = (const s_service_t *) a, *right = (const s_service_t *) b;
    int order = strcmp (left->service, right->service);
    return order ? order : strcmp (left->node, right->node);
}

static void
s_top_tick (cc_tap_t *self, uint64_t time_ms, int64_t now)
{
    qsort (self->services, self->service_count, sizeof (s_service_t), s_service_compare);
    char clock [16];
    s_clock (time_ms, clock, sizeof (clock));
    if (self->opts.json) {
        cc_json_reset (self->json);
        cc_json_object_open (self->json, NULL);
        cc_json_u64 (self->json, "time_ms", time_ms);
        cc_json_string (self->json, "time", clock);
        cc_json_string (self->json, "type", "top");
        cc_json_array_open (self->json, "services");
        for (size_t index = 0; index < self->service_count; index++) {
            const s_service_t *entry = &self->services [index];
            cc_json_object_open (self->json, NULL);
            cc_json_string (self->json, "service", entry->service);
            cc_json_string (self->json, "node", entry->node);
            cc_json_u64 (self->json, "height", entry->height);
            cc_json_u64 (self->json, "round", entry->round);
            cc_json_u64 (self->json, "mempool", entry->mempool);
            cc_json_double (self->json, "tx_per_s", entry->tx_per_s);
            cc_json_u64 (self->json, "committed", entry->committed);
            cc_json_u64 (self->json, "discarded", entry->discarded);
            cc_json_u64 (self->json, "errors", entry->errors);
            cc_json_u64 (self->json, "age_ms", (uint64_t) (now - entry->seen));
            cc_json_object_close (self->json);
        }
        cc_json_array_close (self->json);
        cc_json_object_close (self->json);
        cc_json_print (self->json, self->out);
        return;
    }
    //  On a terminal the table is redrawn in place; into a file or a pipe
    //  it is written again each second, separated by a blank line.
    if (self->tty)
        fputs ("\033[H\033[2J", self->out);
    fprintf (self->out, "certchain-tap %s  %s  %zu services\n", self->opts.endpoint, clock,
             self->service_count);
    fprintf (self->out, "%-10s %-16s %8s %5s %7s %8s %10s %8s %6s %6s\n", "SERVICE", "NODE",
             "HEIGHT", "ROUND", "MEMPOOL", "TX/S", "COMMITTED", "DISCARDS", "ERRORS", "AGE");
    for (size_t index = 0; index < self->service_count; index++) {
        const s_service_t *entry = &self->services [index];
        //  The node by its prefix, like every id in text.
        char node [17];
        const char *source = entry->node [0] ? entry->node : "-";
        size_t length = strnlen (source, sizeof (node) - 1);
        memcpy (node, source, length);
        node [length] = 0;
        fprintf (self->out,
                 "%-10s %-16s %8" PRIu64 " %5u %7u %8.1f %10" PRIu64 " %8" PRIu64 " %6" PRIu64
                 " %5.1fs\n",
                 entry->service [0] ? entry->service : "-", node, entry->height, entry->round,
                 entry->mempool, entry->tx_per_s, entry->committed, entry->discarded,
                 entry->errors, (double) (now - entry->seen) / 1000.0);
    }
    if (!self->tty)
        fputc ('\n', self->out);
}

//  --- The loop ------------------------------------------------------------------

//  True if the message's topic is one the tap shows.
static bool
s_wanted (cc_tap_t *self, const uint8_t *topic, size_t topic_size)
{
    if (self->opts.topic_count == 0)
        return !self->opts.top || s_topic_is (topic, topic_size, CC_TOPIC_EVENT);
    for (size_t index = 0; index < self->opts.topic_count; index++)
        if (s_topic_is (topic, topic_size, self->opts.topics [index]))
            return true;
    return false;
}

//  Where s_show writes an entry.
typedef struct {
    cc_tap_t *self;             //  the tap
    char *line;                 //  text mode: the entry's line, else NULL (JSON)
} s_shown_t;

//  cc_tap_emit_fn: writes the entry just described and counts it; false
//  once --count is reached, so a batch stops there.
static bool
s_show (void *argument)
{
    s_shown_t *shown = (s_shown_t *) argument;
    cc_tap_t *self = shown->self;
    if (shown->line)
        fprintf (self->out, "%s\n", shown->line);
    else
        cc_json_print (self->json, self->out);
    self->messages++;
    return !self->opts.count || self->messages < self->opts.count;
}

//  Handles one received message.
static void
s_handle (cc_tap_t *self, zmsg_t *message, int64_t now)
{
    zframe_t *topic_frame = NULL, *payload = NULL;
    static const uint8_t no_topic [1] = { 0 };
    const uint8_t *topic = no_topic, *data = NULL;
    size_t topic_size = 0, size = 0;
    bool shaped = cc_rpc_split (message, false, NULL, &topic_frame, &payload) == 0;
    if (shaped) {
        topic = zframe_data (topic_frame);
        topic_size = zframe_size (topic_frame);
        data = zframe_data (payload);
        size = zframe_size (payload);
    }
    else {
        //  Not [topic][payload]: shown under its first frame, undecodable.
        zframe_t *first = zmsg_first (message);
        if (first) {
            topic = zframe_data (first);
            topic_size = zframe_size (first);
        }
        size = zmsg_content_size (message);
    }
    if (!s_wanted (self, topic, topic_size))
        return;
    size_t index = s_topic_index (topic, topic_size);
    self->rates [index].messages++;
    self->rates [index].bytes += size;
    if (self->opts.top) {
        self->messages++;
        if (shaped)
            s_top_update (self, data, size, now);
        return;
    }
    if (self->opts.stats) {
        self->messages++;
        return;
    }
    uint64_t time_ms = (uint64_t) zclock_time ();
    if (!shaped) {
        self->messages++;
        //  Described as a message of an unknown shape, with its size.
        char clock [16], printable [32];
        s_clock (time_ms, clock, sizeof (clock));
        if (self->opts.json) {
            cc_json_reset (self->json);
            cc_json_object_open (self->json, NULL);
            cc_json_u64 (self->json, "time_ms", time_ms);
            cc_json_string (self->json, "time", clock);
            cc_json_string_n (self->json, "topic", (const char *) topic, topic_size);
            cc_json_string (self->json, "type", "undecodable");
            cc_json_string (self->json, "code", "MALFORMED");
            cc_json_string (self->json, "error", "not two frames");
            cc_json_u64 (self->json, "size", size);
            cc_json_object_close (self->json);
            cc_json_print (self->json, self->out);
        }
        else
            fprintf (self->out, "%s %-3s undecodable code=MALFORMED error=\"%zu frames\" size=%zu\n",
                     clock, s_printable ((const char *) topic, topic_size, 8, printable,
                                         sizeof (printable)),
                     zmsg_size (message), size);
        return;
    }
    char line [1024];
    s_shown_t shown = { self, self->opts.json ? NULL : line };
    if (self->opts.json)
        cc_tap_describe (topic, topic_size, data, size, time_ms, self->json, NULL, 0, s_show,
                         &shown);
    else
        cc_tap_describe (topic, topic_size, data, size, time_ms, NULL, line, sizeof (line),
                         s_show, &shown);
}

int
cc_tap_run (cc_tap_t *self)
{
    assert (self);
    zpoller_t *poller = zpoller_new (self->sub, NULL);
    if (!poller)
        return CC_E_NOMEM;
    int64_t start = zclock_mono ();
    int64_t next_tick = start + 1000;
    bool done = false;
    while (!done && !zsys_interrupted) {
        int64_t now = zclock_mono ();
        if (self->opts.duration_ms && now - start >= (int64_t) self->opts.duration_ms)
            break;
        if (now >= next_tick) {
            uint64_t time_ms = (uint64_t) zclock_time ();
            if (self->opts.stats)
                s_stats_tick (self, time_ms);
            if (self->opts.top)
                s_top_tick (self, time_ms, now);
            fflush (self->out);
            next_tick += 1000;
            if (next_tick <= now)
                next_tick = now + 1000;
        }
        int64_t wait = next_tick - now;
        if (self->opts.duration_ms) {
            int64_t left = start + (int64_t) self->opts.duration_ms - now;
            if (left < wait)
                wait = left;
        }
        if (!zpoller_wait (poller, (int) (wait > 0 ? wait : 0))) {
            if (zpoller_terminated (poller))
                break;
            continue;
        }
        for (size_t drained = 0; drained < S_DRAIN_MAX && !done; drained++) {
            if (!(zsock_events (self->sub) & ZMQ_POLLIN))
                break;
            zmsg_t *message = zmsg_recv (self->sub);
            if (!message)
                break;
            s_handle (self, message, zclock_mono ());
            zmsg_destroy (&message);
            if (self->opts.count && self->messages >= self->opts.count)
                done = true;
        }
    }
    zpoller_destroy (&poller);
    fflush (self->out);
    return ferror (self->out) ? CC_E_IO : 0;
}
