/*  =========================================================================
    error - names and messages of the CertChain error codes

    The table is generated from CC_ERROR_LIST in error.h, so a code, its name
    and its message are written exactly once.
    =========================================================================
*/

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int code;               //  negative code
    const char *name;       //  stable name
    const char *message;    //  sentence for humans
} s_error_entry_t;

static const s_error_entry_t s_errors [] = {
#define CC_ERROR_ENTRY(name, number, text) {-(number), #name, text},
    CC_ERROR_LIST (CC_ERROR_ENTRY)
#undef CC_ERROR_ENTRY
};

#define S_ERROR_COUNT (sizeof (s_errors) / sizeof (s_errors [0]))

static const s_error_entry_t *
s_lookup (int code)
{
    for (size_t index = 0; index < S_ERROR_COUNT; index++)
        if (s_errors [index].code == code)
            return &s_errors [index];
    return NULL;
}

const char *
cc_error_name (int code)
{
    if (code == CC_OK)
        return "OK";
    const s_error_entry_t *entry = s_lookup (code);
    return entry ? entry->name : "UNKNOWN";
}

const char *
cc_error_message (int code)
{
    if (code == CC_OK)
        return "success";
    const s_error_entry_t *entry = s_lookup (code);
    return entry ? entry->message : "unknown error";
}

int
cc_error_from_name (const char *name)
{
    for (size_t index = 0; name && index < S_ERROR_COUNT; index++)
        if (strcmp (s_errors [index].name, name) == 0)
            return s_errors [index].code;
    return 0;
}

int
cc_reason_set (cc_reason_t *reason, int code, const char *format, ...)
{
    if (reason) {
        reason->code = code;
        va_list args;
        va_start (args, format);
        vsnprintf (reason->text, sizeof (reason->text), format, args);
        va_end (args);
    }
    return code;
}

void
cc_reason_clear (cc_reason_t *reason)
{
    if (reason) {
        reason->code = CC_OK;
        reason->text [0] = 0;
    }
}

const char *
cc_reason_text (const cc_reason_t *reason)
{
    if (reason->text [0])
        return reason->text;
    return cc_error_message (reason->code);
}
