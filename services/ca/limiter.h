/*  =========================================================================
    limiter - request rate limits and back-off, per candidate key and per
    peer address

    The CA answers every join request with either a refusal or a challenge
    that costs it a stored record and, later, Argon2 work; so it caps how
    often one key, and one address, may ask (the policy's
    rate_per_key_per_minute and rate_per_source_per_minute), and after a
    refusal it asks the candidate to wait (backoff_ms) and holds it to that.

    Each name ("key:<hex>", "src:<address>") keeps the times of its recent
    requests within the window (a sliding window, not a fixed minute), so
    a candidate is told exactly when its next request will be taken.

    DESIGN: state is in memory only; a CA restart forgets it, which costs
    at most one more window of requests. The table is bounded: entries
    with nothing left in the window are pruned, and past
    CC_LIMITER_MAX_NAMES names new names are refused (fail closed) until
    pruning makes room, so a flood of fresh addresses cannot grow it.

    Ownership: the limiter owns its table; names are copied.
    =========================================================================
*/

#ifndef CC_CA_LIMITER_H_INCLUDED
#define CC_CA_LIMITER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _cc_limiter_t cc_limiter_t;

//  Most names tracked at once.
#define CC_LIMITER_MAX_NAMES 100000

//  A limiter over a window of window_ms. Caller owns it; NULL on NOMEM.
cc_limiter_t *
    cc_limiter_new (uint64_t window_ms);

//  Destroys the limiter; nulls the pointer; safe on NULL.
void
    cc_limiter_destroy (cc_limiter_t **self_p);

//  Counts one request of name at now_ms if fewer than limit were counted
//  within the window (limit 0: no limit, nothing counted) and it is not
//  held back: true. Else false, with *retry_after_ms (may be NULL) the
//  time until a request would be taken.
bool
    cc_limiter_hit (cc_limiter_t *self, const char *name, uint64_t limit, uint64_t now_ms,
                    uint64_t *retry_after_ms);

//  Holds name back until until_ms (a refused candidate's back-off); an
//  earlier hold is extended, never shortened.
void
    cc_limiter_hold (cc_limiter_t *self, const char *name, uint64_t until_ms);

//  True while name is held back at now_ms; *retry_after_ms (may be NULL)
//  gets the time left.
bool
    cc_limiter_held (cc_limiter_t *self, const char *name, uint64_t now_ms,
                     uint64_t *retry_after_ms);

//  Forgets names with nothing in the window and no hold left.
void
    cc_limiter_prune (cc_limiter_t *self, uint64_t now_ms);

//  Names tracked now.
size_t
    cc_limiter_size (cc_limiter_t *self);

#endif
