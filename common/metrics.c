/*  =========================================================================
    metrics - a service's counters and its metrics event
    =========================================================================
*/

#include "metrics.h"

#include "rpc.h"

#include <string.h>

struct _cc_metrics_t {
    char *service;              //  service name
    char *node;                 //  node key or name
    zhashx_t *counters;         //  name -> uint64_t * (owned)
    uint64_t height;            //  last committed height
    uint32_t round;             //  current consensus round
    uint32_t mempool;           //  transactions pooled
    uint64_t committed;         //  transactions committed, in total
    uint64_t period_start_ms;   //  start of the rate period, 0 = none yet
    uint64_t rate_base;         //  committed count when the period started
};

static void
s_free_counter (void **item)
{
    free (*item);
    *item = NULL;
}

cc_metrics_t *
cc_metrics_new (const char *service, const char *node)
{
    cc_metrics_t *self = (cc_metrics_t *) calloc (1, sizeof (cc_metrics_t));
    if (!self)
        return NULL;
    self->service = strdup (service);
    self->node = strdup (node ? node : "");
    self->counters = zhashx_new ();
    if (!self->service || !self->node || !self->counters) {
        cc_metrics_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->counters, s_free_counter);
    return self;
}

void
cc_metrics_destroy (cc_metrics_t **self_p)
{
    if (self_p && *self_p) {
        cc_metrics_t *self = *self_p;
        zhashx_destroy (&self->counters);
        free (self->service);
        free (self->node);
        free (self);
        *self_p = NULL;
    }
}

void
cc_metrics_add (cc_metrics_t *self, const char *name, uint64_t delta)
{
    uint64_t *counter = (uint64_t *) zhashx_lookup (self->counters, name);
    if (!counter) {
        counter = (uint64_t *) calloc (1, sizeof (uint64_t));
        if (!counter)
            return;
        zhashx_insert (self->counters, name, counter);
    }
    *counter += delta;
}

uint64_t
cc_metrics_get (cc_metrics_t *self, const char *name)
{
    uint64_t *counter = (uint64_t *) zhashx_lookup (self->counters, name);
    return counter ? *counter : 0;
}

uint64_t
cc_metrics_sum (cc_metrics_t *self, const char *prefix)
{
    uint64_t sum = 0;
    size_t length = strlen (prefix);
    for (uint64_t *counter = (uint64_t *) zhashx_first (self->counters); counter;
         counter = (uint64_t *) zhashx_next (self->counters)) {
        const char *name = (const char *) zhashx_cursor (self->counters);
        if (strncmp (name, prefix, length) == 0)
            sum += *counter;
    }
    return sum;
}

void
cc_metrics_set_height (cc_metrics_t *self, uint64_t height)
{
    self->height = height;
}

void
cc_metrics_set_round (cc_metrics_t *self, uint32_t round)
{
    self->round = round;
}

void
cc_metrics_set_mempool (cc_metrics_t *self, uint32_t size)
{
    self->mempool = size;
}

void
cc_metrics_committed (cc_metrics_t *self, uint64_t txs)
{
    self->committed += txs;
}

uint64_t
cc_metrics_committed_total (cc_metrics_t *self)
{
    return self->committed;
}

Certchain__MetricsEvent *
cc_metrics_event (cc_metrics_t *self, uint64_t now_ms)
{
    Certchain__MetricsEvent *event =
        (Certchain__MetricsEvent *) calloc (1, sizeof (Certchain__MetricsEvent));
    if (!event)
        return NULL;
    certchain__metrics_event__init (event);
    event->service = strdup (self->service);
    event->node = strdup (self->node);
    event->time_ms = now_ms;
    event->height = self->height;
    event->round = self->round;
    event->mempool = self->mempool;
    event->committed_txs = self->committed;
    if (self->period_start_ms && now_ms > self->period_start_ms)
        event->committed_tx_per_s = (double) (self->committed - self->rate_base) * 1000.0
                                    / (double) (now_ms - self->period_start_ms);
    self->period_start_ms = now_ms;
    self->rate_base = self->committed;
    event->discarded = cc_metrics_sum (self, "discard.");
    event->errors = cc_metrics_sum (self, "error.") + cc_metrics_sum (self, "drop.");

    size_t count = zhashx_size (self->counters);
    event->counters = (Certchain__Counter **) calloc (count ? count : 1,
                                                       sizeof (Certchain__Counter *));
    zlistx_t *names = zhashx_keys (self->counters);
    zlistx_set_comparator (names, (zlistx_comparator_fn *) strcmp);
    zlistx_sort (names);
    for (const char *name = (const char *) zlistx_first (names); name && event->counters;
         name = (const char *) zlistx_next (names)) {
        Certchain__Counter *counter = (Certchain__Counter *) calloc (1, sizeof (Certchain__Counter));
        if (!counter)
            break;
        certchain__counter__init (counter);
        counter->name = strdup (name);
        counter->value = cc_metrics_get (self, name);
        event->counters [event->n_counters++] = counter;
    }
    zlistx_destroy (&names);
    return event;
}

void
cc_metrics_event_free (Certchain__MetricsEvent **event_p)
{
    //  Built with the default allocator field by field, so protobuf-c's
    //  free_unpacked releases exactly what was allocated.
    cc_codec_free ((ProtobufCMessage **) event_p);
}

int
cc_metrics_publish (cc_metrics_t *self, zsock_t *socket, uint64_t now_ms)
{
    Certchain__MetricsEvent *event = cc_metrics_event (self, now_ms);
    if (!event)
        return CC_E_NOMEM;
    int rc = cc_rpc_send (socket, NULL, CC_TOPIC_EVENT, &event->base);
    cc_metrics_event_free (&event);
    return rc;
}
