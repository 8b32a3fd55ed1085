/*  =========================================================================
    json - a small writer for the JSON the command-line tools print

    See json.h. The text grows in one heap buffer; a small stack remembers,
    for each open object or array, its kind and whether a member was
    already written (so the next one needs a comma).

    DESIGN: an allocation failure does not abort the program (the tap runs
    for hours); it marks the writer broken, later calls do nothing, and
    cc_json_print refuses to print a partial document.
    =========================================================================
*/

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

//  What is open at one nesting level.
typedef struct {
    char kind;              //  '{' for an object, '[' for an array
    bool has_member;        //  a member was written: the next needs a comma
} s_level_t;

struct _cc_json_t {
    char *text;             //  the document so far, NUL-terminated
    size_t length;          //  bytes in text before the NUL
    size_t capacity;        //  bytes allocated for text
    bool ok;                //  false after a failed allocation
    bool started;           //  the top-level value was begun
    size_t depth;           //  open objects and arrays
    s_level_t levels [CC_JSON_MAX_DEPTH];   //  what each of them is
};

//  --- Life cycle ------------------------------------------------------------

cc_json_t *
cc_json_new (void)
{
    cc_json_t *self = (cc_json_t *) calloc (1, sizeof (cc_json_t));
    if (!self)
        return NULL;
    self->capacity = 256;
    self->text = (char *) malloc (self->capacity);
    if (!self->text) {
        free (self);
        return NULL;
    }
    self->text [0] = 0;
    self->ok = true;
    return self;
}

void
cc_json_destroy (cc_json_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->text);
        free (*self_p);
        *self_p = NULL;
    }
}

void
cc_json_reset (cc_json_t *self)
{
    assert (self);
    self->length = 0;
    self->text [0] = 0;
    self->ok = true;
    self->started = false;
    self->depth = 0;
}

const char *
cc_json_text (cc_json_t *self)
{
    assert (self);
    return self->text;
}

bool
cc_json_ok (cc_json_t *self)
{
    assert (self);
    return self->ok;
}

int
cc_json_print (cc_json_t *self, FILE *stream)
{
    assert (self);
    if (!self->ok || !self->started || self->depth > 0)
        return -1;
    fputs (self->text, stream);
    fputc ('\n', stream);
    return 0;
}

//  --- Raw output --------------------------------------------------------------

//  Appends size bytes; on a failed allocation marks the writer broken.
static void
s_append (cc_json_t *self, const char *data, size_t size)
{
    if (!self->ok)
        return;
    if (self->length + size + 1 > self->capacity) {
        size_t capacity = self->capacity;
        while (self->length + size + 1 > capacity)
            capacity *= 2;
        char *text = (char *) realloc (self->text, capacity);
        if (!text) {
            self->ok = false;
            return;
        }
        self->text = text;
        self->capacity = capacity;
    }
    memcpy (self->text + self->length, data, size);
    self->length += size;
    self->text [self->length] = 0;
}

static void
s_append_str (cc_json_t *self, const char *text)
{
    s_append (self, text, strlen (text));
}

//  --- Escaping ---------------------------------------------------------------

size_t
cc_json_utf8_length (const uint8_t *text, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t lead = text [0];
    if (lead < 0x80)
        return 1;
    size_t length;
    uint32_t point, minimum;
    if ((lead & 0xE0) == 0xC0) {
        length = 2;
        point = lead & 0x1F;
        minimum = 0x80;
    }
    else
    if ((lead & 0xF0) == 0xE0) {
        length = 3;
        point = lead & 0x0F;
        minimum = 0x800;
    }
    else
    if ((lead & 0xF8) == 0xF0) {
        length = 4;
        point = lead & 0x07;
        minimum = 0x10000;
    }
    else
        return 0;
    if (size < length)
        return 0;
    for (size_t index = 1; index < length; index++) {
        if ((text [index] & 0xC0) != 0x80)
            return 0;
        point = (point << 6) | (text [index] & 0x3F);
    }
    if (point < minimum || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF))
        return 0;
    return length;
}

//  Writes value as a quoted JSON string.
static void
s_append_quoted (cc_json_t *self, const char *value, size_t size)
{
    const uint8_t *scan = (const uint8_t *) value;
    s_append (self, "\"", 1);
    size_t index = 0;
    while (index < size) {
        uint8_t byte = scan [index];
        //  Runs of plain characters are copied in one go.
        size_t run = index;
        while (run < size && scan [run] >= 0x20 && scan [run] < 0x7F && scan [run] != '"'
               && scan [run] != '\\')
            run++;
        if (run > index) {
            s_append (self, value + index, run - index);
            index = run;
            continue;
        }
        if (byte == '"')
            s_append (self, "\\\"", 2);
        else
        if (byte == '\\')
            s_append (self, "\\\\", 2);
        else
        if (byte == '\n')
            s_append (self, "\\n", 2);
        else
        if (byte == '\r')
            s_append (self, "\\r", 2);
        else
        if (byte == '\t')
            s_append (self, "\\t", 2);
        else
        if (byte < 0x20 || byte == 0x7F) {
            char escape [8];
            snprintf (escape, sizeof (escape), "\\u%04x", byte);
            s_append_str (self, escape);
        }
        else {
            size_t length = cc_json_utf8_length (scan + index, size - index);
            if (length == 0) {
                s_append_str (self, "\\ufffd");
                index++;
                continue;
            }
            s_append (self, value + index, length);
            index += length;
            continue;
        }
        index++;
    }
    s_append (self, "\"", 1);
}

//  --- Structure -------------------------------------------------------------

//  Starts a value: the comma before it and, inside an object, its key.
static void
s_begin (cc_json_t *self, const char *key)
{
    assert (self);
    if (self->depth == 0) {
        //  One top-level value per document.
        assert (!self->started);
        assert (!key);
        self->started = true;
        return;
    }
    s_level_t *level = &self->levels [self->depth - 1];
    assert (level->kind == '{' ? key != NULL : key == NULL);
    if (level->has_member)
        s_append (self, ",", 1);
    level->has_member = true;
    if (key) {
        s_append_quoted (self, key, strlen (key));
        s_append (self, ":", 1);
    }
}

static void
s_open (cc_json_t *self, const char *key, char kind)
{
    s_begin (self, key);
    assert (self->depth < CC_JSON_MAX_DEPTH);
    self->levels [self->depth].kind = kind;
    self->levels [self->depth].has_member = false;
    self->depth++;
    s_append (self, kind == '{' ? "{" : "[", 1);
}

static void
s_close (cc_json_t *self, char kind)
{
    assert (self);
    assert (self->depth > 0 && self->levels [self->depth - 1].kind == kind);
    self->depth--;
    s_append (self, kind == '{' ? "}" : "]", 1);
}

void
cc_json_object_open (cc_json_t *self, const char *key)
{
    s_open (self, key, '{');
}

void
cc_json_object_close (cc_json_t *self)
{
    s_close (self, '{');
}

void
cc_json_array_open (cc_json_t *self, const char *key)
{
    s_open (self, key, '[');
}

void
cc_json_array_close (cc_json_t *self)
{
    s_close (self, '[');
}

//  --- Values ----------------------------------------------------------------

void
cc_json_string (cc_json_t *self, const char *key, const char *value)
{
    if (!value)
        cc_json_null (self, key);
    else
        cc_json_string_n (self, key, value, strlen (value));
}

void
cc_json_string_n (cc_json_t *self, const char *key, const char *value, size_t size)
{
    s_begin (self, key);
    s_append_quoted (self, value, size);
}

void
cc_json_hex (cc_json_t *self, const char *key, const uint8_t *data, size_t size)
{
    static const char digits [] = "0123456789abcdef";
    s_begin (self, key);
    s_append (self, "\"", 1);
    for (size_t index = 0; index < size; index++) {
        char pair [2] = { digits [data [index] >> 4], digits [data [index] & 15] };
        s_append (self, pair, 2);
    }
    s_append (self, "\"", 1);
}

void
cc_json_u64 (cc_json_t *self, const char *key, uint64_t value)
{
    char text [24];
    snprintf (text, sizeof (text), "%" PRIu64, value);
    s_begin (self, key);
    s_append_str (self, text);
}

void
cc_json_i64 (cc_json_t *self, const char *key, int64_t value)
{
    char text [24];
    snprintf (text, sizeof (text), "%" PRId64, value);
    s_begin (self, key);
    s_append_str (self, text);
}

void
cc_json_double (cc_json_t *self, const char *key, double value)
{
    if (!isfinite (value)) {
        cc_json_null (self, key);
        return;
    }
    //  Ten significant digits are plenty for rates and scores, and read
    //  better than a round-trip %.17g ("0.10000000000000001").
    char text [40];
    snprintf (text, sizeof (text), "%.10g", value);
    s_begin (self, key);
    s_append_str (self, text);
}

void
cc_json_bool (cc_json_t *self, const char *key, bool value)
{
    s_begin (self, key);
    s_append_str (self, value ? "true" : "false");
}

void
cc_json_null (cc_json_t *self, const char *key)
{
    s_begin (self, key);
    s_append_str (self, "null");
}
