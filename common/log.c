/*  =========================================================================
    log - one line per event, with time, level and service

    Formats the whole line (timestamp, level, service, escaped message) in
    one buffer, then hands it to the stream in one fwrite and a flush under
    flockfile, so lines from several threads never interleave and a line
    is on its way before the call returns (a crash loses no event).
    =========================================================================
*/

#include "log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct _cc_log_t {
    char *service;          //  name written in every line
    FILE *stream;           //  where lines go (borrowed)
    int level;              //  threshold; read and written atomically
};

//  Room for the timestamp, level and service before the message.
#define S_PREFIX_MAX 128

cc_log_t *
cc_log_new (const char *service, FILE *stream)
{
    cc_log_t *self = (cc_log_t *) calloc (1, sizeof (cc_log_t));
    if (!self)
        return NULL;
    self->service = strdup (service ? service : "certchain");
    if (!self->service) {
        free (self);
        return NULL;
    }
    self->stream = stream ? stream : stderr;
    self->level = CC_LOG_INFO;
    return self;
}

void
cc_log_destroy (cc_log_t **self_p)
{
    assert (self_p);
    cc_log_t *self = *self_p;
    if (!self)
        return;
    free (self->service);
    free (self);
    *self_p = NULL;
}

void
cc_log_set_level (cc_log_t *self, cc_log_level_t level)
{
    assert (self);
    assert (level >= CC_LOG_DEBUG && level <= CC_LOG_ERROR);
    __atomic_store_n (&self->level, (int) level, __ATOMIC_RELAXED);
}

cc_log_level_t
cc_log_level (cc_log_t *self)
{
    assert (self);
    return (cc_log_level_t) __atomic_load_n (&self->level, __ATOMIC_RELAXED);
}

bool
cc_log_enabled (cc_log_t *self, cc_log_level_t level)
{
    return (int) level >= (int) cc_log_level (self);
}

static const char *s_names [] = {"debug", "info", "warn", "error"};

int
cc_log_level_from_name (const char *name)
{
    if (!name)
        return CC_E_CONFIG;
    for (int level = CC_LOG_DEBUG; level <= CC_LOG_ERROR; level++)
        if (strcasecmp (name, s_names [level]) == 0)
            return level;
    if (strcasecmp (name, "warning") == 0)
        return CC_LOG_WARN;
    return CC_E_CONFIG;
}

const char *
cc_log_level_name (cc_log_level_t level)
{
    return level >= CC_LOG_DEBUG && level <= CC_LOG_ERROR ? s_names [level] : "unknown";
}

//  --- Writing ---------------------------------------------------------------------

//  Copies text into line at *used, escaping control characters, up to
//  limit bytes; true if all of text fit.
static bool
s_escape (char *line, size_t *used, size_t limit, const char *text)
{
    static const char hex [] = "0123456789abcdef";
    size_t at = *used;
    for (const unsigned char *scan = (const unsigned char *) text; *scan; scan++) {
        char escaped [4] = {'\\', 0, 0, 0};
        size_t size = 2;
        if (*scan == '\n')
            escaped [1] = 'n';
        else
        if (*scan == '\r')
            escaped [1] = 'r';
        else
        if (*scan == '\t')
            escaped [1] = 't';
        else
        if (*scan < 0x20 || *scan == 0x7f) {
            escaped [0] = '\\';
            escaped [1] = 'x';
            escaped [2] = hex [*scan >> 4];
            escaped [3] = hex [*scan & 15];
            size = 4;
        }
        else {
            escaped [0] = (char) *scan;
            size = 1;
        }
        if (at + size > limit) {
            *used = at;
            return false;
        }
        memcpy (line + at, escaped, size);
        at += size;
    }
    *used = at;
    return true;
}

void
cc_log_write (cc_log_t *self, cc_log_level_t level, const char *format, va_list args)
{
    assert (self);
    assert (format);
    assert (level >= CC_LOG_DEBUG && level <= CC_LOG_ERROR);
    if (!cc_log_enabled (self, level))
        return;

    //  Formatted on the stack: no allocation on the logging path.
    char message [CC_LOG_MAX_MESSAGE + 1];
    int length = vsnprintf (message, sizeof (message), format, args);
    if (length < 0)
        return;
    bool cut = (size_t) length > CC_LOG_MAX_MESSAGE;

    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r (&now.tv_sec, &utc);
    char stamp [32];
    strftime (stamp, sizeof (stamp), "%Y-%m-%dT%H:%M:%S", &utc);

    static const char *labels [] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    //  Prefix, escaped message (cut when escaping makes it too long),
    //  "...", newline.
    char line [S_PREFIX_MAX + CC_LOG_MAX_MESSAGE + 8];
    int prefix = snprintf (line, S_PREFIX_MAX, "%s.%03ldZ %s %.64s: ", stamp,
                           (long) (now.tv_nsec / 1000000), labels [level], self->service);
    size_t used = prefix > 0 && prefix < S_PREFIX_MAX ? (size_t) prefix : 0;
    if (!s_escape (line, &used, S_PREFIX_MAX + CC_LOG_MAX_MESSAGE, message))
        cut = true;
    if (cut) {
        memcpy (line + used, "...", 3);
        used += 3;
    }
    line [used++] = '\n';

    flockfile (self->stream);
    fwrite_unlocked (line, 1, used, self->stream);
    fflush_unlocked (self->stream);
    funlockfile (self->stream);
}

void
cc_log_debug (cc_log_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    cc_log_write (self, CC_LOG_DEBUG, format, args);
    va_end (args);
}

void
cc_log_info (cc_log_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    cc_log_write (self, CC_LOG_INFO, format, args);
    va_end (args);
}

void
cc_log_warn (cc_log_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    cc_log_write (self, CC_LOG_WARN, format, args);
    va_end (args);
}

void
cc_log_error (cc_log_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    cc_log_write (self, CC_LOG_ERROR, format, args);
    va_end (args);
}
