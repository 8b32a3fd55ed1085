/*  =========================================================================
    metrics - a service's counters and its metrics event

    Every service keeps its figures here (height, round, mempool size,
    committed transactions, discards and errors by reason) and publishes a
    MetricsEvent every second on topic "evt". Named counters use stable
    names such as "discard.UNAUTHORIZED_PROPOSER" or "drop.MALFORMED", so a
    monitor can show them without knowing each service.

    The committed tx/s figure is the rate over the last publication period.
    =========================================================================
*/

#ifndef CC_METRICS_H_INCLUDED
#define CC_METRICS_H_INCLUDED

#include <czmq.h>

#include "codec.h"

typedef struct _cc_metrics_t cc_metrics_t;

//  New metrics for a service ("relay", "validator", ...) and node (hex key
//  or name; may be empty). Caller owns it.
cc_metrics_t *
    cc_metrics_new (const char *service, const char *node);

//  Destroys the metrics; nulls the pointer; safe on NULL.
void
    cc_metrics_destroy (cc_metrics_t **self_p);

//  Adds delta to a named counter (created at 0).
void
    cc_metrics_add (cc_metrics_t *self, const char *name, uint64_t delta);

//  A named counter's value (0 if never added to).
uint64_t
    cc_metrics_get (cc_metrics_t *self, const char *name);

//  Sum of all counters whose name starts with prefix.
uint64_t
    cc_metrics_sum (cc_metrics_t *self, const char *prefix);

//  Current figures.
void
    cc_metrics_set_height (cc_metrics_t *self, uint64_t height);
void
    cc_metrics_set_round (cc_metrics_t *self, uint32_t round);
void
    cc_metrics_set_mempool (cc_metrics_t *self, uint32_t size);

//  Counts transactions committed (for the tx/s rate and the total).
void
    cc_metrics_committed (cc_metrics_t *self, uint64_t txs);

//  Total transactions committed.
uint64_t
    cc_metrics_committed_total (cc_metrics_t *self);

//  Builds the event for now (ms since the epoch) and starts a new rate
//  period. Caller frees with cc_metrics_event_free.
Certchain__MetricsEvent *
    cc_metrics_event (cc_metrics_t *self, uint64_t now_ms);

//  Frees an event from cc_metrics_event; nulls the pointer.
void
    cc_metrics_event_free (Certchain__MetricsEvent **event_p);

//  Builds the event and publishes it as [evt][MetricsEvent] on socket.
int
    cc_metrics_publish (cc_metrics_t *self, zsock_t *socket, uint64_t now_ms);

#endif
