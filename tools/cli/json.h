/*  =========================================================================
    json - a small writer for the JSON the command-line tools print

    The CLI prints one JSON object per command with --json, and the tap
    one object per line; both build it here, so every string is escaped the
    same way: quotes, backslashes and control characters are escaped, and a
    byte sequence that is not valid UTF-8 (a peer's error message, a CPU
    model string) becomes U+FFFD, so the output always parses as JSON.

    Usage: open the top object, then add members with a key (inside an
    object) or with key NULL (inside an array), nesting objects and arrays
    with the _open/_close calls. The writer adds commas itself and
    checks the nesting with asserts (a misuse of this API, not outside
    input).

    Ownership: a cc_json_t owns its text; cc_json_text returns it borrowed.
    =========================================================================
*/

#ifndef CC_JSON_H_INCLUDED
#define CC_JSON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct _cc_json_t cc_json_t;

//  Deepest nesting of objects and arrays the writer tracks.
#define CC_JSON_MAX_DEPTH 32

//  --- Life cycle ------------------------------------------------------------

//  A new, empty writer. Caller owns it.
cc_json_t *
    cc_json_new (void);

//  Destroys a writer and its text; nulls the pointer; safe on NULL.
void
    cc_json_destroy (cc_json_t **self_p);

//  Empties the writer for the next document (the tap writes one per line).
void
    cc_json_reset (cc_json_t *self);

//  The text written so far (NUL-terminated), owned by the writer.
const char *
    cc_json_text (cc_json_t *self);

//  False once an allocation failed; the text is then incomplete.
bool
    cc_json_ok (cc_json_t *self);

//  Writes the finished document and a newline to stream. 0, or -1 when the
//  document is incomplete (still open, or an allocation failed).
int
    cc_json_print (cc_json_t *self, FILE *stream);

//  --- Structure -------------------------------------------------------------

//  Opens an object or an array, as member key of the enclosing object (key
//  NULL at the top or inside an array), and closes it again.
void
    cc_json_object_open (cc_json_t *self, const char *key);
void
    cc_json_object_close (cc_json_t *self);
void
    cc_json_array_open (cc_json_t *self, const char *key);
void
    cc_json_array_close (cc_json_t *self);

//  --- Values ----------------------------------------------------------------

//  A string (NULL writes null); escaped as the file header says.
void
    cc_json_string (cc_json_t *self, const char *key, const char *value);

//  A string of size bytes that need not be NUL-terminated.
void
    cc_json_string_n (cc_json_t *self, const char *key, const char *value, size_t size);

//  Bytes as a lower-case hex string ("" for size 0).
void
    cc_json_hex (cc_json_t *self, const char *key, const uint8_t *data, size_t size);

//  Numbers, a boolean and null. A double that is not finite writes null.
void
    cc_json_u64 (cc_json_t *self, const char *key, uint64_t value);
void
    cc_json_i64 (cc_json_t *self, const char *key, int64_t value);
void
    cc_json_double (cc_json_t *self, const char *key, double value);
void
    cc_json_bool (cc_json_t *self, const char *key, bool value);
void
    cc_json_null (cc_json_t *self, const char *key);

//  --- Escaping (shared with the tools' plain-text output) --------------------

//  Length of the valid UTF-8 sequence at text (at most size bytes), or 0
//  when the bytes there are not one (overlong, surrogate, truncated, above
//  U+10FFFF).
size_t
    cc_json_utf8_length (const uint8_t *text, size_t size);

#endif
