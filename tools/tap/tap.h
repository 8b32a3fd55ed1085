/*  =========================================================================
    tap - a monitor on a relay's pub socket

    certchain-tap subscribes to every topic of a relay (or the ones asked
    for) and shows what flows: one line per message (per transaction for
    the relay's "txb" batches), decoded (topic, type, height and round,
    the ids that matter, size), or JSON lines; or, with
    --stats, messages/s and bytes/s per topic every second; or, with --top,
    a live table of every service's latest metrics event.

    The decoder never trusts what it reads: a message that does not decode
    gives a line saying so, never a crash. It checks no signatures (a
    monitor shows what travels, valid or not); the verifier is the judge.

    Ownership: a cc_tap_t owns its socket and its tables; the options'
    strings are borrowed and must outlive it.
    =========================================================================
*/

#ifndef CC_TAP_H_INCLUDED
#define CC_TAP_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "json.h"

typedef struct _cc_tap_t cc_tap_t;

//  How a tap runs.
typedef struct {
    const char *endpoint;       //  the relay's pub endpoint
    const char **topics;        //  topics to show (exact), NULL/0 for all
    size_t topic_count;         //  number of topics
    bool json;                  //  JSON lines instead of text
    bool stats;                 //  per-topic rates every second instead of messages
    bool top;                   //  live table of metrics events instead of messages
    uint64_t count;             //  stop after this many lines shown (0 = never)
    uint64_t duration_ms;       //  stop after this long (0 = never)
    FILE *out;                  //  where lines go (NULL = stdout)
} cc_tap_opts_t;

//  A tap subscribed to opts->endpoint. NULL with CONFIG in reason for an
//  endpoint ZeroMQ refuses. Caller owns it.
cc_tap_t *
    cc_tap_new (const cc_tap_opts_t *opts, cc_reason_t *reason);

//  Destroys a tap and its socket; nulls the pointer; safe on NULL.
void
    cc_tap_destroy (cc_tap_t **self_p);

//  Shows messages until the count or the duration is reached, or SIGINT /
//  SIGTERM. 0, or IO when the output cannot be written.
int
    cc_tap_run (cc_tap_t *self);

//  Entries shown so far (lines or JSON objects; messages with --stats
//  or --top).
uint64_t
    cc_tap_messages (cc_tap_t *self);

//  Told after each entry cc_tap_describe wrote (the line or the JSON
//  object is complete); returns false to skip the message's other entries.
typedef bool (cc_tap_emit_fn) (void *argument);

//  Describes one message (its topic frame and payload, received at
//  time_ms) as entries: a JSON object in json when json is not NULL (reset
//  before each entry), else one text line (no newline) in line. A message
//  is one entry, except a "txb" TxBatch holding transactions: one entry
//  per transaction, shaped like a "tx" entry plus batch_index and
//  batch_txs. After each entry emit (may be NULL) is called with argument.
//  Never fails: what does not decode is described as undecodable, with the
//  reason. Returns the number of entries written.
size_t
    cc_tap_describe (const uint8_t *topic, size_t topic_size, const uint8_t *data, size_t size,
                     uint64_t time_ms, cc_json_t *json, char *line, size_t line_size,
                     cc_tap_emit_fn *emit, void *argument);

#endif
