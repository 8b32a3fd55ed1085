/*  =========================================================================
    log - one line per event, with time, level and service

    Every process logs the same way:

        2026-11-26T09:06:05.123Z INFO  relay: committed block 12

    UTC time to the millisecond, the level padded to five characters, the
    service name, then the message. Events below the threshold are dropped.
    A message may carry text from outside (a peer's reason, a file name),
    so control characters, newlines included, are written escaped (\n, \t,
    \x1b): one event is always exactly one line, and nobody can forge a
    line in someone else's log. Each line goes out in a single write under
    the stream's lock, so threads may log at once without mixing lines.
    A message longer than CC_LOG_MAX_MESSAGE bytes (once escaped) is cut
    and ends in "...".

    Ownership: the log borrows its stream (stderr when NULL was given); the
    caller closes it, after destroying the log.
    =========================================================================
*/

#ifndef CC_LOG_H_INCLUDED
#define CC_LOG_H_INCLUDED

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"

//  Longest message written whole, after escaping.
#define CC_LOG_MAX_MESSAGE 4096

typedef enum {
    CC_LOG_DEBUG = 0,       //  detail for developers
    CC_LOG_INFO = 1,        //  normal events an operator may follow
    CC_LOG_WARN = 2,        //  something wrong that the process survives
    CC_LOG_ERROR = 3        //  something failed
} cc_log_level_t;

typedef struct _cc_log_t cc_log_t;

//  A log for service (its name in every line) writing to stream (NULL for
//  stderr), with threshold INFO. Caller owns it.
cc_log_t *
    cc_log_new (const char *service, FILE *stream);

//  Destroys a log (not its stream); nulls the pointer; safe on NULL.
void
    cc_log_destroy (cc_log_t **self_p);

//  Sets the threshold: events below level are dropped. Safe while other
//  threads log.
void
    cc_log_set_level (cc_log_t *self, cc_log_level_t level);

//  The threshold.
cc_log_level_t
    cc_log_level (cc_log_t *self);

//  True if an event at level would be written (to skip costly formatting).
bool
    cc_log_enabled (cc_log_t *self, cc_log_level_t level);

//  The level named "debug", "info", "warn" (or "warning") or "error", any
//  case; CONFIG (negative) for another name.
int
    cc_log_level_from_name (const char *name);

//  The lower-case name of a level ("info").
const char *
    cc_log_level_name (cc_log_level_t level);

//  Writes one event at level, printf-style.
void
    cc_log_write (cc_log_t *self, cc_log_level_t level, const char *format, va_list args)
    __attribute__ ((format (printf, 3, 0)));

void
    cc_log_debug (cc_log_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
void
    cc_log_info (cc_log_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
void
    cc_log_warn (cc_log_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
void
    cc_log_error (cc_log_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

#endif
