/*  =========================================================================
    limiter - request rate limits and back-off per key and per address

    Each name has a small ring of request times, grown as needed up to the
    limit asked for, and a hold time. A request is taken when fewer than
    `limit` times lie within the window; the oldest time in a full ring
    says when the next one will be.
    =========================================================================
*/

#include "limiter.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  One name's recent requests.
typedef struct {
    uint64_t *times;            //  ring of request times (owned), oldest at head
    size_t capacity;            //  slots in times
    size_t head;                //  index of the oldest time
    size_t count;               //  times held
    uint64_t held_until;        //  back-off end (0: none)
} s_entry_t;

struct _cc_limiter_t {
    zhashx_t *entries;          //  name -> s_entry_t (owned)
    uint64_t window_ms;         //  how far back requests count
};

static void
s_entry_destroy (void **item)
{
    s_entry_t *entry = (s_entry_t *) *item;
    if (entry) {
        free (entry->times);
        free (entry);
        *item = NULL;
    }
}

//  Drops times that left the window.
static void
s_entry_expire (s_entry_t *entry, uint64_t window_ms, uint64_t now_ms)
{
    while (entry->count > 0) {
        uint64_t oldest = entry->times [entry->head];
        if (oldest + window_ms > now_ms)
            break;
        entry->head = (entry->head + 1) % entry->capacity;
        entry->count--;
    }
}

//  The entry of name, created when missing; NULL when the table is full.
static s_entry_t *
s_entry (cc_limiter_t *self, const char *name)
{
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, name);
    if (entry)
        return entry;
    if (zhashx_size (self->entries) >= CC_LIMITER_MAX_NAMES)
        return NULL;
    entry = (s_entry_t *) calloc (1, sizeof (s_entry_t));
    if (!entry)
        return NULL;
    zhashx_insert (self->entries, name, entry);
    return entry;
}

//  Makes room for limit times, keeping the order.
static bool
s_entry_reserve (s_entry_t *entry, size_t limit)
{
    if (entry->capacity >= limit)
        return true;
    uint64_t *times = (uint64_t *) calloc (limit, sizeof (uint64_t));
    if (!times)
        return false;
    for (size_t index = 0; index < entry->count; index++)
        times [index] = entry->times [(entry->head + index) % entry->capacity];
    free (entry->times);
    entry->times = times;
    entry->capacity = limit;
    entry->head = 0;
    return true;
}

//  --- Life cycle ----------------------------------------------------------------

cc_limiter_t *
cc_limiter_new (uint64_t window_ms)
{
    cc_limiter_t *self = (cc_limiter_t *) calloc (1, sizeof (cc_limiter_t));
    if (!self)
        return NULL;
    self->entries = zhashx_new ();
    if (!self->entries) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->entries, s_entry_destroy);
    self->window_ms = window_ms;
    return self;
}

void
cc_limiter_destroy (cc_limiter_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->entries);
        free (*self_p);
        *self_p = NULL;
    }
}

//  --- Limits -----------------------------------------------------------------------

bool
cc_limiter_hit (cc_limiter_t *self, const char *name, uint64_t limit, uint64_t now_ms,
                uint64_t *retry_after_ms)
{
    assert (self);
    assert (name);
    if (retry_after_ms)
        *retry_after_ms = 0;
    if (limit == 0)
        return true;
    s_entry_t *entry = s_entry (self, name);
    if (!entry || !s_entry_reserve (entry, (size_t) limit)) {
        //  Full table or no memory: refuse, and ask for a window's wait.
        if (retry_after_ms)
            *retry_after_ms = self->window_ms;
        return false;
    }
    s_entry_expire (entry, self->window_ms, now_ms);
    if (entry->count >= limit) {
        if (retry_after_ms)
            *retry_after_ms = entry->times [entry->head] + self->window_ms - now_ms;
        return false;
    }
    entry->times [(entry->head + entry->count) % entry->capacity] = now_ms;
    entry->count++;
    return true;
}

void
cc_limiter_hold (cc_limiter_t *self, const char *name, uint64_t until_ms)
{
    assert (self);
    s_entry_t *entry = s_entry (self, name);
    if (entry && until_ms > entry->held_until)
        entry->held_until = until_ms;
}

bool
cc_limiter_held (cc_limiter_t *self, const char *name, uint64_t now_ms,
                 uint64_t *retry_after_ms)
{
    assert (self);
    if (retry_after_ms)
        *retry_after_ms = 0;
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, name);
    if (!entry || entry->held_until <= now_ms)
        return false;
    if (retry_after_ms)
        *retry_after_ms = entry->held_until - now_ms;
    return true;
}

void
cc_limiter_prune (cc_limiter_t *self, uint64_t now_ms)
{
    assert (self);
    zlistx_t *names = zhashx_keys (self->entries);
    if (!names)
        return;
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names)) {
        s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, name);
        s_entry_expire (entry, self->window_ms, now_ms);
        if (entry->count == 0 && entry->held_until <= now_ms)
            zhashx_delete (self->entries, name);
    }
    zlistx_destroy (&names);
}

size_t
cc_limiter_size (cc_limiter_t *self)
{
    assert (self);
    return zhashx_size (self->entries);
}
