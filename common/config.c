/*  =========================================================================
    config - a service's configuration: defaults, ZPL file, environment, flags

    Each declared key keeps one value per source (default, file,
    environment, flag) and the effective value is the highest one set, so
    the order in which files, the environment and flags are applied never
    matters. Files are ZPL read through zconfig after our own line checker
    (cc_config_zpl_check) has accepted them.

    DESIGN: a value must be printable back as ZPL, which has no escapes: a
    value is a single line, quoted with " or ', so it may not hold a newline
    nor both quote characters. Values from flags and the environment are
    checked for that when they arrive, so cc_config_print always writes a
    file that loads again to the same values.
    =========================================================================
*/

#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

//  Longest line zconfig reads whole (it cuts longer ones silently).
#define S_ZPL_MAX_LINE 1024

//  One declared key.
typedef struct {
    char *path;             //  "relay/rpc"
    char *default_value;    //  value when nothing else sets it
    char *flag;             //  long flag without dashes, or NULL
    char *help;             //  one line (or a few) for humans
    char *env;              //  environment variable, or NULL
    char *file_value;       //  from a loaded file, or NULL
    char *env_value;        //  from the environment, or NULL
    char *flag_value;       //  from a flag or cc_config_set, or NULL
} s_key_t;

struct _cc_config_t {
    char *program;          //  name for usage and messages
    char *synopsis;         //  usage text after [OPTIONS], or NULL
    s_key_t **keys;         //  declared keys, in declaration order
    size_t key_count;       //  how many
    char **args;            //  non-option arguments of the last parse
    size_t arg_count;       //  how many
    bool print_requested;   //  --print-config was given
    bool help_requested;    //  --help or -h was given
};

//  --- Keys ------------------------------------------------------------------------

static s_key_t *
s_key_find (cc_config_t *self, const char *path)
{
    for (size_t index = 0; index < self->key_count; index++)
        if (strcmp (self->keys [index]->path, path) == 0)
            return self->keys [index];
    return NULL;
}

static s_key_t *
s_key_find_flag (cc_config_t *self, const char *flag, size_t length)
{
    for (size_t index = 0; index < self->key_count; index++) {
        const char *candidate = self->keys [index]->flag;
        if (candidate && strlen (candidate) == length && memcmp (candidate, flag, length) == 0)
            return self->keys [index];
    }
    return NULL;
}

static void
s_key_destroy (s_key_t **key_p)
{
    s_key_t *key = *key_p;
    if (!key)
        return;
    free (key->path);
    free (key->default_value);
    free (key->flag);
    free (key->help);
    free (key->env);
    free (key->file_value);
    free (key->env_value);
    free (key->flag_value);
    free (key);
    *key_p = NULL;
}

//  The value a key has now: the highest source that set it.
static const char *
s_key_value (const s_key_t *key)
{
    if (key->flag_value)
        return key->flag_value;
    if (key->env_value)
        return key->env_value;
    if (key->file_value)
        return key->file_value;
    return key->default_value;
}

//  Replaces *slot with a copy of value (NULL clears). 0 or NOMEM.
static int
s_replace (char **slot, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup (value)))
        return CC_E_NOMEM;
    free (*slot);
    *slot = copy;
    return 0;
}

//  True if ZPL can hold value: one line, not both quote characters.
static bool
s_value_printable (const char *value)
{
    if (strchr (value, '\n') || strchr (value, '\r'))
        return false;
    return !(strchr (value, '"') && strchr (value, '\''));
}

static bool
s_is_namechar (char c)
{
    //  The characters zconfig accepts in a name.
    return isalnum ((unsigned char) c) || c == '$' || c == '-' || c == '_' || c == '@'
           || c == '.' || c == '&' || c == '+' || c == '/';
}

static bool
s_path_valid (const char *path)
{
    size_t length = strlen (path);
    if (length == 0 || path [0] == '/' || path [length - 1] == '/' || strstr (path, "//"))
        return false;
    for (size_t index = 0; index < length; index++)
        if (!s_is_namechar (path [index]))
            return false;
    return true;
}

//  --- Declaring keys ------------------------------------------------------------

cc_config_t *
cc_config_new (const char *program)
{
    cc_config_t *self = (cc_config_t *) calloc (1, sizeof (cc_config_t));
    if (!self)
        return NULL;
    self->program = strdup (program ? program : "certchain");
    if (!self->program) {
        free (self);
        return NULL;
    }
    return self;
}

static void
s_args_clear (cc_config_t *self)
{
    for (size_t index = 0; index < self->arg_count; index++)
        free (self->args [index]);
    free (self->args);
    self->args = NULL;
    self->arg_count = 0;
}

void
cc_config_destroy (cc_config_t **self_p)
{
    assert (self_p);
    cc_config_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->key_count; index++)
        s_key_destroy (&self->keys [index]);
    free (self->keys);
    s_args_clear (self);
    free (self->program);
    free (self->synopsis);
    free (self);
    *self_p = NULL;
}

int
cc_config_define (cc_config_t *self, const char *path, const char *default_value,
                  const char *flag, const char *help)
{
    assert (self);
    assert (path);
    if (!s_path_valid (path))
        return CC_E_INVALID_ARG;
    if (default_value && !s_value_printable (default_value))
        return CC_E_INVALID_ARG;
    if (flag) {
        if (!*flag || *flag == '-' || strchr (flag, '=') || strcmp (flag, "config") == 0
            || strcmp (flag, "help") == 0 || strcmp (flag, "print-config") == 0)
            return CC_E_INVALID_ARG;
        if (s_key_find_flag (self, flag, strlen (flag)))
            return CC_E_EXISTS;
    }
    if (s_key_find (self, path))
        return CC_E_EXISTS;

    s_key_t **keys = (s_key_t **) realloc (self->keys, (self->key_count + 1) * sizeof (s_key_t *));
    if (!keys)
        return CC_E_NOMEM;
    self->keys = keys;
    s_key_t *key = (s_key_t *) calloc (1, sizeof (s_key_t));
    if (!key)
        return CC_E_NOMEM;
    if (s_replace (&key->path, path)
        || s_replace (&key->default_value, default_value ? default_value : "")
        || s_replace (&key->flag, flag) || s_replace (&key->help, help ? help : "")) {
        s_key_destroy (&key);
        return CC_E_NOMEM;
    }
    self->keys [self->key_count++] = key;
    return 0;
}

//  Reads a key's environment variable into its env value.
static int
s_key_read_env (cc_config_t *self, s_key_t *key, cc_reason_t *reason)
{
    if (!key->env)
        return 0;
    const char *value = getenv (key->env);
    if (value && !s_value_printable (value))
        return cc_reason_set (reason, CC_E_CONFIG,
                              "%s: environment variable %s: a value may not hold a newline "
                              "or both quote characters",
                              self->program, key->env);
    if (s_replace (&key->env_value, value))
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    return 0;
}

int
cc_config_define_env (cc_config_t *self, const char *path, const char *variable)
{
    assert (self);
    assert (path);
    assert (variable && *variable);
    s_key_t *key = s_key_find (self, path);
    if (!key)
        return CC_E_NOT_FOUND;
    if (s_replace (&key->env, variable))
        return CC_E_NOMEM;
    return s_key_read_env (self, key, NULL);
}

void
cc_config_set_synopsis (cc_config_t *self, const char *synopsis)
{
    assert (self);
    s_replace (&self->synopsis, synopsis);
}

//  --- Reading the command line and files ------------------------------------------

//  One flag seen on the command line, applied once everything checked out.
typedef struct {
    s_key_t *key;           //  the key it sets
    const char *value;      //  borrowed from argv
} s_assignment_t;

int
cc_config_parse (cc_config_t *self, int argc, char **argv, cc_reason_t *reason)
{
    assert (self);
    assert (argc >= 0);
    cc_reason_clear (reason);
    s_assignment_t *assignments =
        (s_assignment_t *) calloc ((size_t) argc + 1, sizeof (s_assignment_t));
    const char **args = (const char **) calloc ((size_t) argc + 1, sizeof (char *));
    if (!assignments || !args) {
        free (assignments);
        free (args);
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    }
    size_t assignment_count = 0, arg_count = 0;
    const char *config_file = NULL;
    bool print_requested = false, help_requested = false, options_done = false;
    int rc = 0;

    //  First pass: check every argument, remember what to apply.
    for (int index = 1; index < argc && rc == 0; index++) {
        const char *arg = argv [index];
        if (options_done || arg [0] != '-' || strcmp (arg, "-") == 0) {
            args [arg_count++] = arg;
            continue;
        }
        if (strcmp (arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            help_requested = true;
            continue;
        }
        if (strcmp (arg, "--print-config") == 0) {
            print_requested = true;
            continue;
        }
        //  The rest take a value: --name=VALUE or --name VALUE (-c FILE).
        const char *name = NULL, *value = NULL;
        size_t name_length = 0;
        if (strcmp (arg, "-c") == 0) {
            name = "config";
            name_length = 6;
        }
        else
        if (arg [1] == '-') {
            name = arg + 2;
            const char *equals = strchr (name, '=');
            name_length = equals ? (size_t) (equals - name) : strlen (name);
            if (equals)
                value = equals + 1;
        }
        bool is_config = name && name_length == 6 && memcmp (name, "config", 6) == 0;
        s_key_t *key = name && !is_config ? s_key_find_flag (self, name, name_length) : NULL;
        if (!is_config && !key) {
            rc = cc_reason_set (reason, CC_E_CONFIG, "%s: unknown option '%.*s' (see --help)",
                                self->program,
                                (int) (name ? name_length + 2 : strlen (arg)), arg);
            break;
        }
        if (!value) {
            //  A following option is not taken as a value: "--rpc --pub x"
            //  is a forgotten value, not an endpoint called "--pub".
            if (index + 1 >= argc
                || (argv [index + 1][0] == '-' && argv [index + 1][1] == '-')) {
                rc = cc_reason_set (reason, CC_E_CONFIG, "%s: option '%s' needs a value",
                                    self->program, arg);
                break;
            }
            value = argv [++index];
        }
        if (is_config) {
            if (config_file) {
                rc = cc_reason_set (reason, CC_E_CONFIG, "%s: --config given twice",
                                    self->program);
                break;
            }
            config_file = value;
        }
        else
        if (!s_value_printable (value))
            rc = cc_reason_set (reason, CC_E_CONFIG,
                                "%s: option '--%s': a value may not hold a newline or both "
                                "quote characters",
                                self->program, key->flag);
        else {
            assignments [assignment_count].key = key;
            assignments [assignment_count++].value = value;
        }
    }
    //  Then the file, the environment, and the flags over them.
    if (rc == 0 && config_file)
        rc = cc_config_load (self, config_file, reason);
    for (size_t index = 0; index < self->key_count && rc == 0; index++)
        rc = s_key_read_env (self, self->keys [index], reason);
    for (size_t index = 0; index < assignment_count && rc == 0; index++)
        if (s_replace (&assignments [index].key->flag_value, assignments [index].value))
            rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    if (rc == 0) {
        s_args_clear (self);
        self->args = (char **) calloc (arg_count + 1, sizeof (char *));
        if (!self->args)
            rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        for (size_t index = 0; index < arg_count && rc == 0; index++) {
            if (!(self->args [index] = strdup (args [index])))
                rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
            else
                self->arg_count++;
        }
        self->print_requested = print_requested;
        self->help_requested = help_requested;
    }
    free (assignments);
    free (args);
    return rc;
}

//  Collects the (path, value) pairs of a ZPL tree: a node with a value is a
//  key (its path joins the names above it with '/'), a node with children a
//  section. Refuses undeclared keys and keys given twice.
typedef struct {
    cc_config_t *config;    //  the declared keys
    const char *origin;     //  file name for messages
    s_key_t **keys;         //  keys found, one per declared key at most
    const char **values;    //  their values, borrowed from the tree
    size_t count;           //  how many found
    cc_reason_t *reason;    //  where refusals go
} s_collect_t;

static int
s_collect (s_collect_t *collect, zconfig_t *node, const char *prefix)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        char path [S_ZPL_MAX_LINE * 2];
        const char *name = zconfig_name (child);
        int length = snprintf (path, sizeof (path), "%s%s%s", prefix, *prefix ? "/" : "", name);
        if (length < 0 || (size_t) length >= sizeof (path))
            return cc_reason_set (collect->reason, CC_E_CONFIG, "config %s: key path too long",
                                  collect->origin);
        const char *value = zconfig_value (child);
        bool has_children = zconfig_child (child) != NULL;
        s_key_t *key = s_key_find (collect->config, path);
        if (key && (!has_children || (value && *value))) {
            for (size_t index = 0; index < collect->count; index++)
                if (collect->keys [index] == key)
                    return cc_reason_set (collect->reason, CC_E_CONFIG,
                                          "config %s: key '%s' given twice", collect->origin,
                                          path);
            collect->keys [collect->count] = key;
            collect->values [collect->count++] = value ? value : "";
        }
        else
        if (!has_children) {
            //  An empty section (all its keys commented out) is harmless.
            bool is_section = false;
            size_t path_length = strlen (path);
            for (size_t index = 0; index < collect->config->key_count && !is_section; index++) {
                const char *declared = collect->config->keys [index]->path;
                is_section = strncmp (declared, path, path_length) == 0
                             && declared [path_length] == '/';
            }
            if (!is_section || (value && *value))
                return cc_reason_set (collect->reason, CC_E_CONFIG,
                                      "config %s: unknown key '%s'", collect->origin, path);
        }
        else
        if (value && *value)
            return cc_reason_set (collect->reason, CC_E_CONFIG,
                                  "config %s: unknown key '%s'", collect->origin, path);
        if (has_children) {
            int rc = s_collect (collect, child, path);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int
cc_config_load (cc_config_t *self, const char *path, cc_reason_t *reason)
{
    assert (self);
    assert (path);
    zconfig_t *tree = cc_config_zpl_load (path, CC_CONFIG_MAX_FILE_SIZE, reason);
    if (!tree)
        return reason ? reason->code : CC_E_CONFIG;
    s_collect_t collect = {self, path, NULL, NULL, 0, reason};
    collect.keys = (s_key_t **) calloc (self->key_count + 1, sizeof (s_key_t *));
    collect.values = (const char **) calloc (self->key_count + 1, sizeof (char *));
    int rc = 0;
    if (!collect.keys || !collect.values)
        rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = s_collect (&collect, tree, "");
    //  Apply only once the whole file checked out.
    for (size_t index = 0; index < collect.count && rc == 0; index++)
        if (s_replace (&collect.keys [index]->file_value, collect.values [index]))
            rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    free (collect.keys);
    free (collect.values);
    zconfig_destroy (&tree);
    return rc;
}

int
cc_config_set (cc_config_t *self, const char *path, const char *value, cc_reason_t *reason)
{
    assert (self);
    assert (path);
    assert (value);
    s_key_t *key = s_key_find (self, path);
    if (!key)
        return cc_reason_set (reason, CC_E_NOT_FOUND, "%s: unknown key '%s'", self->program,
                              path);
    if (!s_value_printable (value))
        return cc_reason_set (reason, CC_E_CONFIG,
                              "%s: a value may not hold a newline or both quote characters",
                              path);
    if (s_replace (&key->flag_value, value))
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    return 0;
}

//  --- Reading values --------------------------------------------------------------

int
cc_config_text_u64 (const char *text, uint64_t *value)
{
    uint64_t number = 0;
    if (!text || !*text)
        return CC_E_BAD_FIELD;
    for (const char *scan = text; *scan; scan++) {
        unsigned digit = (unsigned) (*scan - '0');
        if (digit > 9)
            return CC_E_BAD_FIELD;
        if (number > (UINT64_MAX - digit) / 10)
            return CC_E_OVERSIZE;
        number = number * 10 + digit;
    }
    *value = number;
    return 0;
}

int
cc_config_text_bool (const char *text, bool *value)
{
    if (!text)
        return CC_E_BAD_FIELD;
    if (strcmp (text, "1") == 0 || strcasecmp (text, "true") == 0
        || strcasecmp (text, "yes") == 0)
        *value = true;
    else
    if (strcmp (text, "0") == 0 || strcasecmp (text, "false") == 0
        || strcasecmp (text, "no") == 0)
        *value = false;
    else
        return CC_E_BAD_FIELD;
    return 0;
}

const char *
cc_config_get (cc_config_t *self, const char *path)
{
    assert (self);
    assert (path);
    s_key_t *key = s_key_find (self, path);
    return key ? s_key_value (key) : NULL;
}

int
cc_config_get_u64 (cc_config_t *self, const char *path, uint64_t *value, cc_reason_t *reason)
{
    assert (value);
    const char *text = cc_config_get (self, path);
    if (!text)
        return cc_reason_set (reason, CC_E_NOT_FOUND, "%s: unknown key '%s'", self->program,
                              path);
    if (cc_config_text_u64 (text, value) != 0)
        return cc_reason_set (reason, CC_E_CONFIG, "%s: expected a number, got '%s'", path,
                              text);
    return 0;
}

int
cc_config_get_u64_range (cc_config_t *self, const char *path, uint64_t low, uint64_t high,
                         uint64_t *value, cc_reason_t *reason)
{
    int rc = cc_config_get_u64 (self, path, value, reason);
    if (rc == 0 && (*value < low || *value > high))
        rc = cc_reason_set (reason, CC_E_CONFIG, "%s: expected %" PRIu64 " to %" PRIu64
                            ", got %" PRIu64, path, low, high, *value);
    return rc;
}

int
cc_config_get_bool (cc_config_t *self, const char *path, bool *value, cc_reason_t *reason)
{
    assert (value);
    const char *text = cc_config_get (self, path);
    if (!text)
        return cc_reason_set (reason, CC_E_NOT_FOUND, "%s: unknown key '%s'", self->program,
                              path);
    if (cc_config_text_bool (text, value) != 0)
        return cc_reason_set (reason, CC_E_CONFIG,
                              "%s: expected true or false (1/0, yes/no), got '%s'", path, text);
    return 0;
}

bool
cc_config_print_requested (cc_config_t *self)
{
    assert (self);
    return self->print_requested;
}

bool
cc_config_help_requested (cc_config_t *self)
{
    assert (self);
    return self->help_requested;
}

size_t
cc_config_arg_count (cc_config_t *self)
{
    assert (self);
    return self->arg_count;
}

const char *
cc_config_arg (cc_config_t *self, size_t index)
{
    assert (self);
    return index < self->arg_count ? self->args [index] : NULL;
}

//  --- Printing --------------------------------------------------------------------

//  Prints text as comment lines at an indentation, one per line of text.
static void
s_print_comment (FILE *stream, int indent, const char *text)
{
    while (*text) {
        size_t length = strcspn (text, "\n");
        fprintf (stream, "%*s#  %.*s\n", indent, "", (int) length, text);
        text += length;
        if (*text == '\n')
            text++;
    }
}

//  Prints the nodes under node (their sections made by zconfig_put in
//  declaration order), each key with its help above it.
static void
s_print_tree (cc_config_t *self, FILE *stream, zconfig_t *node, const char *prefix, int level)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        char path [S_ZPL_MAX_LINE * 2];
        int length = snprintf (path, sizeof (path), "%s%s%s", prefix, *prefix ? "/" : "",
                               zconfig_name (child));
        //  Declared paths are short; a longer one cannot name a declared key.
        if (length < 0 || (size_t) length >= sizeof (path))
            continue;
        s_key_t *key = s_key_find (self, path);
        if (level == 0 && child != zconfig_child (node))
            fprintf (stream, "\n");
        if (key) {
            const char *value = s_key_value (key);
            char quote = strchr (value, '"') ? '\'' : '"';
            s_print_comment (stream, level * 4, key->help);
            fprintf (stream, "%*s%s = %c%s%c\n", level * 4, "", zconfig_name (child), quote,
                     value, quote);
        }
        else
            fprintf (stream, "%*s%s\n", level * 4, "", zconfig_name (child));
        s_print_tree (self, stream, child, path, level + 1);
    }
}

void
cc_config_print (cc_config_t *self, FILE *stream)
{
    assert (self);
    assert (stream);
    //  zconfig_put builds the sections in first-declared order.
    zconfig_t *tree = zconfig_new ("root", NULL);
    if (!tree)
        return;
    for (size_t index = 0; index < self->key_count; index++)
        zconfig_put (tree, self->keys [index]->path, "");
    fprintf (stream, "#  Effective configuration of %s\n\n", self->program);
    s_print_tree (self, stream, tree, "", 0);
    zconfig_destroy (&tree);
    fflush (stream);
}

void
cc_config_usage (cc_config_t *self, FILE *stream)
{
    assert (self);
    assert (stream);
    fprintf (stream, "Usage: %s [OPTIONS]%s%s\n\nOptions:\n", self->program,
             self->synopsis ? " " : "", self->synopsis ? self->synopsis : "");
    fprintf (stream, "  -c, --config FILE\n        read the configuration from FILE (ZPL)\n");
    fprintf (stream, "      --print-config\n        print the effective configuration\n");
    fprintf (stream, "  -h, --help\n        show this help\n");
    bool file_only = false;
    for (size_t index = 0; index < self->key_count; index++) {
        s_key_t *key = self->keys [index];
        if (!key->flag) {
            file_only = true;
            continue;
        }
        fprintf (stream, "      --%s VALUE\n        %s (default \"%s\"; key %s", key->flag,
                 key->help, key->default_value, key->path);
        if (key->env)
            fprintf (stream, "; environment %s", key->env);
        fprintf (stream, ")\n");
    }
    if (file_only) {
        fprintf (stream, "\nKeys set only in the configuration file:\n");
        for (size_t index = 0; index < self->key_count; index++) {
            s_key_t *key = self->keys [index];
            if (key->flag)
                continue;
            fprintf (stream, "  %s\n        %s (default \"%s\"", key->path, key->help,
                     key->default_value);
            if (key->env)
                fprintf (stream, "; environment %s", key->env);
            fprintf (stream, ")\n");
        }
    }
    fflush (stream);
}

//  --- ZPL text (shared with other file readers) ----------------------------------

//  Nothing but spaces or a comment left on a line.
static bool
s_line_rest_empty (const char *scan)
{
    while (isspace ((unsigned char) *scan))
        scan++;
    return *scan == 0 || *scan == '#';
}

int
cc_config_zpl_check (const char *text, const char *origin, cc_reason_t *reason)
{
    assert (text);
    assert (origin);
    //  depth: how deep the last item stands, so how deep the next may go.
    size_t depth = 0;
    int number = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line) : strlen (line);
        number++;
        if (length > S_ZPL_MAX_LINE)
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: line %d: longer than %d characters", origin, number,
                                  S_ZPL_MAX_LINE);
        char buffer [S_ZPL_MAX_LINE + 1];
        memcpy (buffer, line, length);
        buffer [length] = 0;
        while (length && isspace ((unsigned char) buffer [length - 1]))
            buffer [--length] = 0;
        line = end ? end + 1 : line + strlen (line);

        char *scan = buffer;
        while (*scan == ' ')
            scan++;
        size_t spaces = (size_t) (scan - buffer);
        if (*scan == '\t')
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: line %d: indent with spaces, not tabs", origin, number);
        if (spaces % 4)
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: line %d: indent by multiples of 4 spaces", origin,
                                  number);
        char *name = scan;
        while (s_is_namechar (*scan))
            scan++;
        size_t name_length = (size_t) (scan - name);
        if (name_length == 0) {
            if (!s_line_rest_empty (scan))
                return cc_reason_set (reason, CC_E_CONFIG,
                                      "%s: line %d: expected a name, got '%.40s'", origin,
                                      number, scan);
            continue;
        }
        if (name [0] == '/' || name [name_length - 1] == '/')
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: line %d: a name may not begin or end with '/'", origin,
                                  number);
        while (isspace ((unsigned char) *scan))
            scan++;
        if (*scan == '=') {
            scan++;
            while (isspace ((unsigned char) *scan))
                scan++;
            if (*scan == '"' || *scan == '\'') {
                char *close = strchr (scan + 1, *scan);
                if (!close)
                    return cc_reason_set (reason, CC_E_CONFIG,
                                          "%s: line %d: missing closing %c", origin, number,
                                          *scan);
                if (!s_line_rest_empty (close + 1))
                    return cc_reason_set (reason, CC_E_CONFIG,
                                          "%s: line %d: unexpected text after the value: "
                                          "'%.40s'",
                                          origin, number, close + 1);
            }
        }
        else
        if (!s_line_rest_empty (scan))
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: line %d: expected '=' after '%.*s', got '%.40s'", origin,
                                  number, (int) name_length, name, scan);
        size_t level = spaces / 4;
        if (level > depth)
            return cc_reason_set (reason, CC_E_CONFIG,
                                  "%s: line %d: indented deeper than the line above allows",
                                  origin, number);
        depth = level + 1;
    }
    return 0;
}

zconfig_t *
cc_config_zpl_parse (const char *text, const char *origin, cc_reason_t *reason)
{
    assert (text);
    if (cc_config_zpl_check (text, origin, reason) != 0)
        return NULL;
    zconfig_t *tree = zconfig_str_load (text);
    if (!tree)
        //  Our checker follows zconfig's rules; should they part, say so.
        cc_reason_set (reason, CC_E_CONFIG, "%s: not valid ZPL", origin);
    return tree;
}

zconfig_t *
cc_config_zpl_load (const char *path, size_t max_size, cc_reason_t *reason)
{
    assert (path);
    FILE *file = fopen (path, "rb");
    if (!file) {
        cc_reason_set (reason, CC_E_IO, "%s: cannot read: %s", path, strerror (errno));
        return NULL;
    }
    struct stat info;
    if (fstat (fileno (file), &info) != 0 || !S_ISREG (info.st_mode)) {
        cc_reason_set (reason, CC_E_IO, "%s: not a regular file", path);
        fclose (file);
        return NULL;
    }
    if ((uint64_t) info.st_size > max_size) {
        cc_reason_set (reason, CC_E_CONFIG, "%s: larger than %zu bytes", path, max_size);
        fclose (file);
        return NULL;
    }
    char *text = (char *) malloc ((size_t) info.st_size + 1);
    if (!text) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        fclose (file);
        return NULL;
    }
    size_t size = fread (text, 1, (size_t) info.st_size, file);
    bool failed = ferror (file) != 0;
    fclose (file);
    if (failed) {
        cc_reason_set (reason, CC_E_IO, "%s: cannot read: %s", path, strerror (errno));
        free (text);
        return NULL;
    }
    text [size] = 0;
    if (memchr (text, 0, size)) {
        cc_reason_set (reason, CC_E_CONFIG, "%s: not a text file", path);
        free (text);
        return NULL;
    }
    zconfig_t *tree = cc_config_zpl_parse (text, path, reason);
    free (text);
    return tree;
}
