/*  =========================================================================
    config - a service's configuration: defaults, ZPL file, environment, flags

    A program declares each key it understands (a path such as "relay/rpc"),
    with its default, the long flag that overrides it and a line of help.
    The effective value of a key comes from, lowest first: the default, the
    file given with -c/--config, an environment variable (when declared with
    cc_config_define_env), then a flag on the command line, wherever it
    stands. A key in the file that was not declared, an unknown flag, or a
    flag without its value is refused with CONFIG and a message saying
    which; --print-config prints the effective configuration as ZPL that
    loads again (each key under a "#  help" comment line).

    The same module reads ZPL text for other files (genesis): it checks the
    text line by line against the rules zconfig parses by before zconfig
    sees it, so a broken file is refused with its line number and what is
    wrong instead of zconfig's bare NULL.

    Ownership: a cc_config_t owns every string it returns; they stay valid
    until the key changes or the config is destroyed.
    =========================================================================
*/

#ifndef CC_CONFIG_H_INCLUDED
#define CC_CONFIG_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

//  Largest configuration file we read.
#define CC_CONFIG_MAX_FILE_SIZE (1024 * 1024)

typedef struct _cc_config_t cc_config_t;

//  --- Declaring keys ------------------------------------------------------------

//  A new, empty configuration for program (its name in usage and errors).
//  Caller owns it.
cc_config_t *
    cc_config_new (const char *program);

//  Destroys a configuration; nulls the pointer; safe on NULL.
void
    cc_config_destroy (cc_config_t **self_p);

//  Declares a key: its path ("relay/rpc", ZPL name characters, no leading
//  or trailing '/'), its default (NULL means ""), the long flag that
//  overrides it ("rpc" gives --rpc VALUE and --rpc=VALUE; NULL for none)
//  and its help text. 0, EXISTS for a path or flag already declared, or
//  INVALID_ARG for a malformed path or a reserved flag (config, help,
//  print-config).
int
    cc_config_define (cc_config_t *self, const char *path, const char *default_value,
                      const char *flag, const char *help);

//  Lets the environment variable named variable set a declared key; it
//  overrides the file and is overridden by flags. The variable is read now
//  and again by each cc_config_parse. 0, NOT_FOUND for an undeclared path,
//  CONFIG for a value that a ZPL file could not hold (a newline, both
//  quote characters).
int
    cc_config_define_env (cc_config_t *self, const char *path, const char *variable);

//  Sets the text shown after the program name in the usage line, e.g.
//  "COMMAND [ARGUMENTS]" for a tool with subcommands (default: none).
void
    cc_config_set_synopsis (cc_config_t *self, const char *synopsis);

//  --- Reading the command line and files ------------------------------------------

//  Parses argv (argv [0] is the program): -c FILE / --config FILE /
//  --config=FILE loads that ZPL file first; the environment is read again;
//  then every flag overrides, whatever its position. --print-config and
//  --help / -h set the flags read by cc_config_print_requested and
//  cc_config_help_requested. "--" ends the options. Other arguments are
//  collected in order (cc_config_arg). CONFIG with a message for an
//  unknown option, a missing value or a refused file key; IO for a file
//  that cannot be read. On error nothing of argv is applied.
int
    cc_config_parse (cc_config_t *self, int argc, char **argv, cc_reason_t *reason);

//  Loads a ZPL file: its keys override the defaults (and any file loaded
//  before). IO for a missing or unreadable file; CONFIG, naming the file,
//  for text that is not ZPL or a key that was not declared (nothing is
//  applied then).
int
    cc_config_load (cc_config_t *self, const char *path, cc_reason_t *reason);

//  Sets a key with the precedence of a flag. NOT_FOUND for an undeclared
//  path; CONFIG for a value a ZPL file could not hold.
int
    cc_config_set (cc_config_t *self, const char *path, const char *value, cc_reason_t *reason);

//  --- Reading values --------------------------------------------------------------

//  Parses a plain unsigned decimal, "0" to "18446744073709551615": 0,
//  BAD_FIELD for anything else, OVERSIZE past 2^64 - 1. Shared by every
//  reader of numbers in text (configuration, genesis, command lines).
int
    cc_config_text_u64 (const char *text, uint64_t *value);

//  Parses 1/0, true/false or yes/no (any case): 0 or BAD_FIELD.
int
    cc_config_text_bool (const char *text, bool *value);

//  The effective value of a key; NULL for an undeclared path.
const char *
    cc_config_get (cc_config_t *self, const char *path);

//  The effective value as a plain unsigned decimal number (no sign, no
//  suffix). NOT_FOUND for an undeclared path; CONFIG with
//  "relay/port: expected a number, got 'abc'" otherwise.
int
    cc_config_get_u64 (cc_config_t *self, const char *path, uint64_t *value,
                       cc_reason_t *reason);

//  Same, and within [low, high]: CONFIG with "validator/threads: expected 1
//  to 64, got 0" otherwise.
int
    cc_config_get_u64_range (cc_config_t *self, const char *path, uint64_t low,
                             uint64_t high, uint64_t *value, cc_reason_t *reason);

//  The effective value as a boolean: 1/0, true/false, yes/no (any case).
//  NOT_FOUND for an undeclared path; CONFIG for anything else.
int
    cc_config_get_bool (cc_config_t *self, const char *path, bool *value, cc_reason_t *reason);

//  True if the command line asked for --print-config, or --help / -h.
bool
    cc_config_print_requested (cc_config_t *self);
bool
    cc_config_help_requested (cc_config_t *self);

//  Non-option arguments of the last cc_config_parse, in order; the
//  strings belong to the config. NULL for an index out of range.
size_t
    cc_config_arg_count (cc_config_t *self);
const char *
    cc_config_arg (cc_config_t *self, size_t index);

//  --- Printing --------------------------------------------------------------------

//  Prints the effective configuration as ZPL (loadable by cc_config_load),
//  keys in declaration order grouped by section, each under its help.
void
    cc_config_print (cc_config_t *self, FILE *stream);

//  Prints usage: the options with their defaults, environment variables
//  and help, then the keys only a file can set.
void
    cc_config_usage (cc_config_t *self, FILE *stream);

//  --- ZPL text (shared with other file readers) ----------------------------------

//  Checks that text is ZPL as zconfig parses it (4-space indentation, name
//  characters, quoting, nothing after a value). 0, or CONFIG with
//  "ORIGIN: line N: what is wrong" in reason.
int
    cc_config_zpl_check (const char *text, const char *origin, cc_reason_t *reason);

//  Checks text, then parses it with zconfig_str_load. NULL with CONFIG on
//  failure. Caller owns the tree (zconfig_destroy).
zconfig_t *
    cc_config_zpl_parse (const char *text, const char *origin, cc_reason_t *reason);

//  Reads a text file of at most max_size bytes, then parses it as above.
//  NULL with IO (missing, unreadable) or CONFIG (too large, not text, not
//  ZPL), the message naming the file. Caller owns the tree.
zconfig_t *
    cc_config_zpl_load (const char *path, size_t max_size, cc_reason_t *reason);

#endif
