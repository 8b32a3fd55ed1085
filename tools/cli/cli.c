/*  =========================================================================
    cli - the frame of the `certchain` command-line tool

    See cli.h. Parsing is a small loop of its own rather than common/config:
    the commands need boolean flags (--json, --wait) and repeatable options
    (genesis --ca ...), which a configuration key does not hold. The
    endpoints, which are configuration in the proper sense (a default, an
    environment variable, a flag over both), do go through common/config.

    DESIGN: every request has a deadline, because a DEALER connects
    lazily and a service that is down never answers; the frame turns that
    silence into one TIMEOUT line naming the service and its endpoint.
    =========================================================================
*/

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "block.h"
#include "cli.h"
#include "config.h"
#include "join.h"

//  Largest reply taken: a block with its commit, and the reply around it.
#define S_MAX_REPLY_SIZE (CC_BLOCK_MAX_SIZE + 64 * 1024)

//  Options every command takes.
static const cc_cli_option_t s_common_options [] = {
    { "json", CC_CLI_FLAG, NULL, "print one JSON object on stdout" },
    { "timeout", CC_CLI_VALUE, "S", "seconds to wait for each reply (default 5)" },
    { "help", CC_CLI_FLAG, NULL, "show this help" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

//  One endpoint: its flag, configuration key, environment variable and default
//  (the network's port table).
typedef struct {
    cc_cli_endpoint_t which;    //  the service
    const char *name;           //  its name in messages
    const char *flag;           //  the flag that sets it
    const char *key;            //  its configuration key
    const char *variable;       //  the environment variable
    const char *default_value;  //  the default endpoint
    const char *help;           //  help line
} s_endpoint_t;

static const s_endpoint_t s_endpoints [] = {
    { CC_CLI_RELAY, "relay", "relay", "relay/rpc", "CERTCHAIN_RELAY", "tcp://127.0.0.1:7101",
      "relay rpc endpoint" },
    { CC_CLI_VERIFIER, "verifier", "verifier", "verifier/query", "CERTCHAIN_VERIFIER",
      "tcp://127.0.0.1:7301", "verifier query endpoint" },
    { CC_CLI_CA, "CA", "ca", "ca/join", "CERTCHAIN_CA", "tcp://127.0.0.1:7401",
      "CA join endpoint" },
};
#define S_ENDPOINT_COUNT (sizeof (s_endpoints) / sizeof (s_endpoints [0]))

//  The values an option was given.
typedef struct {
    const cc_cli_option_t *option;  //  the option (borrowed from a table)
    const char **values;        //  its values, borrowed from argv
    size_t count;               //  how many
    bool given;                 //  seen on the command line (flags)
} s_slot_t;

struct _cc_cli_t {
    const cc_cli_command_t *command;    //  the command being run
    s_slot_t *slots;            //  one per option the command accepts
    size_t slot_count;          //  number of slots
    cc_cli_option_t endpoint_options [S_ENDPOINT_COUNT];  //  the endpoint flags it takes
    char endpoint_help [S_ENDPOINT_COUNT][128];     //  their help lines
    const char **args;          //  positional arguments, borrowed from argv
    size_t arg_count;           //  number of them
    cc_config_t *config;        //  endpoints: default, environment, flag
    cc_json_t *json;            //  the --json document, or NULL
    int timeout_ms;             //  per-request timeout
    bool timeout_given;         //  --timeout was on the command line
    cc_rpc_client_t *clients [S_ENDPOINT_COUNT];  //  one client per service, lazily
    zsock_t *join;              //  DEALER for the CA's join frames, lazily
    zpoller_t *join_poller;     //  polls it
};

//  --- Helpers -----------------------------------------------------------------

static const s_endpoint_t *
s_endpoint (cc_cli_endpoint_t which)
{
    for (size_t index = 0; index < S_ENDPOINT_COUNT; index++)
        if (s_endpoints [index].which == which)
            return &s_endpoints [index];
    assert (false);
    return NULL;
}

static size_t
s_endpoint_index (cc_cli_endpoint_t which)
{
    return (size_t) (s_endpoint (which) - s_endpoints);
}

static s_slot_t *
s_slot (cc_cli_t *self, const char *name, size_t length)
{
    for (size_t index = 0; index < self->slot_count; index++) {
        const char *option = self->slots [index].option->name;
        if (strlen (option) == length && memcmp (option, name, length) == 0)
            return &self->slots [index];
    }
    return NULL;
}

//  The slot of an option the command declared; asking for one it did not
//  declare is a bug in the command.
static s_slot_t *
s_slot_named (cc_cli_t *self, const char *name)
{
    s_slot_t *slot = s_slot (self, name, strlen (name));
    assert (slot);
    return slot;
}

//  --- Usage ---------------------------------------------------------------------

static void
s_print_options (FILE *stream, const cc_cli_option_t *options)
{
    for (const cc_cli_option_t *option = options; option && option->name; option++) {
        char left [64];
        snprintf (left, sizeof (left), "--%s%s%s%s", option->name,
                  option->metavar ? " " : "", option->metavar ? option->metavar : "",
                  option->kind == CC_CLI_LIST ? " ..." : "");
        fprintf (stream, "  %-26s %s\n", left, option->help);
    }
}

static void
s_usage (const cc_cli_command_t *commands, FILE *stream)
{
    fprintf (stream, "usage: certchain COMMAND [OPTIONS] [ARGUMENTS]\n\ncommands:\n");
    for (const cc_cli_command_t *command = commands; command->name; command++)
        fprintf (stream, "  %-12s %s\n", command->name, command->summary);
    fprintf (stream, "\nRun 'certchain COMMAND --help' for the options of a command.\n"
                     "Endpoints come from --relay, --verifier, --ca, else from\n");
    for (size_t index = 0; index < S_ENDPOINT_COUNT; index++)
        fprintf (stream, "  %-20s (default %s)\n", s_endpoints [index].variable,
                 s_endpoints [index].default_value);
}

static void
s_command_usage (cc_cli_t *self, FILE *stream)
{
    const cc_cli_command_t *command = self->command;
    fprintf (stream, "usage: certchain %s %s\n\n%s\n\noptions:\n", command->name,
             command->synopsis, command->summary);
    s_print_options (stream, command->options);
    //  Endpoint options are a sparse array: one slot per service.
    for (size_t index = 0; index < S_ENDPOINT_COUNT; index++) {
        cc_cli_option_t one [2] = { self->endpoint_options [index], { NULL, CC_CLI_FLAG, NULL, NULL } };
        s_print_options (stream, one);
    }
    //  A common option the command declares itself was printed with it.
    for (const cc_cli_option_t *option = s_common_options; option->name; option++) {
        bool own = false;
        for (const cc_cli_option_t *mine = command->options; mine && mine->name; mine++)
            own = own || strcmp (mine->name, option->name) == 0;
        cc_cli_option_t one [2] = { *option, { NULL, CC_CLI_FLAG, NULL, NULL } };
        if (!own)
            s_print_options (stream, one);
    }
}

//  --- Life cycle ----------------------------------------------------------------

static void
s_cli_destroy (cc_cli_t **self_p)
{
    if (self_p && *self_p) {
        cc_cli_t *self = *self_p;
        for (size_t index = 0; index < S_ENDPOINT_COUNT; index++)
            cc_rpc_client_destroy (&self->clients [index]);
        zpoller_destroy (&self->join_poller);
        zsock_destroy (&self->join);
        for (size_t index = 0; index < self->slot_count; index++)
            free (self->slots [index].values);
        free (self->slots);
        free (self->args);
        cc_config_destroy (&self->config);
        cc_json_destroy (&self->json);
        free (self);
        *self_p = NULL;
    }
}

//  A cli for command with a slot per option it accepts; NULL when out of
//  memory.
static cc_cli_t *
s_cli_new (const cc_cli_command_t *command, int argc)
{
    cc_cli_t *self = (cc_cli_t *) calloc (1, sizeof (cc_cli_t));
    if (!self)
        return NULL;
    self->command = command;
    self->timeout_ms = CC_CLI_DEFAULT_TIMEOUT_MS;
    size_t capacity = S_ENDPOINT_COUNT;
    for (const cc_cli_option_t *option = command->options; option && option->name; option++)
        capacity++;
    for (const cc_cli_option_t *option = s_common_options; option->name; option++)
        capacity++;
    self->slots = (s_slot_t *) calloc (capacity, sizeof (s_slot_t));
    self->args = (const char **) calloc ((size_t) argc + 1, sizeof (char *));
    self->config = cc_config_new ("certchain");
    if (!self->slots || !self->args || !self->config) {
        s_cli_destroy (&self);
        return NULL;
    }
    //  Command options first: a command's own --ca or --validator (a key in
    //  genesis) is what it means there, and its own --timeout entry gives
    //  that option the help that fits it (the frame still applies it).
    for (const cc_cli_option_t *option = command->options; option && option->name; option++)
        self->slots [self->slot_count++].option = option;
    for (size_t index = 0; index < S_ENDPOINT_COUNT; index++) {
        const s_endpoint_t *endpoint = &s_endpoints [index];
        if ((command->endpoints & endpoint->which)
            && !s_slot (self, endpoint->flag, strlen (endpoint->flag))) {
            cc_cli_option_t *option = &self->endpoint_options [index];
            option->name = endpoint->flag;
            option->kind = CC_CLI_VALUE;
            option->metavar = "E";
            snprintf (self->endpoint_help [index], sizeof (self->endpoint_help [index]),
                      "%s (env %s, default %s)", endpoint->help, endpoint->variable,
                      endpoint->default_value);
            option->help = self->endpoint_help [index];
            self->slots [self->slot_count++].option = option;
        }
    }
    for (const cc_cli_option_t *option = s_common_options; option->name; option++)
        if (!s_slot (self, option->name, strlen (option->name)))
            self->slots [self->slot_count++].option = option;
    for (size_t index = 0; index < self->slot_count; index++) {
        self->slots [index].values = (const char **) calloc ((size_t) argc + 1, sizeof (char *));
        if (!self->slots [index].values) {
            s_cli_destroy (&self);
            return NULL;
        }
    }
    return self;
}

//  --- Parsing -------------------------------------------------------------------

//  Parses argv [first..] into slots and positional arguments.
//  CC_CLI_EXIT_OK or CC_CLI_EXIT_USAGE (printed).
static int
s_parse (cc_cli_t *self, int argc, char **argv, int first)
{
    bool options_done = false;
    for (int index = first; index < argc; index++) {
        const char *arg = argv [index];
        if (options_done || arg [0] != '-' || strcmp (arg, "-") == 0) {
            self->args [self->arg_count++] = arg;
            continue;
        }
        if (strcmp (arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp (arg, "-h") == 0) {
            s_slot_named (self, "help")->given = true;
            continue;
        }
        if (arg [1] != '-')
            return cc_cli_usage_error (self, "unknown option '%s'", arg);
        const char *name = arg + 2;
        const char *equals = strchr (name, '=');
        size_t length = equals ? (size_t) (equals - name) : strlen (name);
        s_slot_t *slot = s_slot (self, name, length);
        if (!slot)
            return cc_cli_usage_error (self, "unknown option '--%.*s'", (int) length, name);
        if (slot->option->kind == CC_CLI_FLAG) {
            if (equals)
                return cc_cli_usage_error (self, "option '--%s' takes no value",
                                           slot->option->name);
            slot->given = true;
            continue;
        }
        const char *value = equals ? equals + 1 : NULL;
        if (!value) {
            //  "--out --json" is a forgotten value, not a file named "--json".
            if (index + 1 >= argc || strncmp (argv [index + 1], "--", 2) == 0)
                return cc_cli_usage_error (self, "option '--%s' needs a value (%s)",
                                           slot->option->name, slot->option->metavar);
            value = argv [++index];
        }
        if (slot->option->kind == CC_CLI_VALUE && slot->count > 0)
            return cc_cli_usage_error (self, "option '--%s' given twice", slot->option->name);
        slot->values [slot->count++] = value;
        slot->given = true;
    }
    return CC_CLI_EXIT_OK;
}

//  Applies the options the frame itself handles: endpoints, timeout, json.
static int
s_apply_common (cc_cli_t *self)
{
    //  Only the endpoints the command talks to are read, so a stray
    //  variable never breaks a command that does not need it.
    for (size_t index = 0; index < S_ENDPOINT_COUNT; index++) {
        const s_endpoint_t *endpoint = &s_endpoints [index];
        if (!(self->command->endpoints & endpoint->which))
            continue;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        int rc = cc_config_define (self->config, endpoint->key, endpoint->default_value, NULL,
                                   endpoint->help);
        if (rc == 0 && cc_config_define_env (self->config, endpoint->key, endpoint->variable) != 0)
            return cc_cli_usage_error (self, "%s: not a usable endpoint", endpoint->variable);
        //  The flag, when the command has its own option of that name
        //  (genesis --ca KEY), is not an endpoint.
        const char *value = self->endpoint_options [index].name
                          ? cc_cli_option (self, endpoint->flag) : NULL;
        if (rc == 0 && value)
            rc = cc_config_set (self->config, endpoint->key, value, &reason);
        if (rc != 0)
            return cc_cli_usage_error (self, "--%s: %s", endpoint->flag, cc_reason_text (&reason));
    }
    const char *timeout = cc_cli_option (self, "timeout");
    if (timeout) {
        char *end = NULL;
        errno = 0;
        double seconds = strtod (timeout, &end);
        if (errno || end == timeout || *end || !isfinite (seconds) || seconds <= 0
            || seconds > 86400)
            return cc_cli_usage_error (self, "--timeout: expected seconds (0 < S <= 86400), "
                                       "got '%s'", timeout);
        self->timeout_ms = (int) ceil (seconds * 1000);
        self->timeout_given = true;
    }
    if (cc_cli_flag (self, "json")) {
        self->json = cc_json_new ();
        if (!self->json)
            return cc_cli_fail (self, CC_E_NOMEM, "out of memory");
    }
    return CC_CLI_EXIT_OK;
}

int
cc_cli_main (const cc_cli_command_t *commands, int argc, char **argv)
{
    //  A command-line tool dies on Ctrl-C like any other; czmq's handler
    //  would only set a flag nobody here polls.
    zsys_handler_set (NULL);
    if (argc < 2) {
        s_usage (commands, stderr);
        return CC_CLI_EXIT_USAGE;
    }
    const char *name = argv [1];
    if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0 || strcmp (name, "help") == 0) {
        s_usage (commands, stdout);
        return CC_CLI_EXIT_OK;
    }
    const cc_cli_command_t *command = commands;
    while (command->name && strcmp (command->name, name) != 0)
        command++;
    if (!command->name) {
        char printable [64];
        fprintf (stderr, "certchain: unknown command '%s' (see certchain --help)\n",
                 cc_cli_printable (name, printable, sizeof (printable)));
        return CC_CLI_EXIT_USAGE;
    }
    cc_cli_t *self = s_cli_new (command, argc);
    if (!self) {
        fprintf (stderr, "certchain: %s: out of memory (NOMEM)\n", command->name);
        return CC_CLI_EXIT_FAILURE;
    }
    int rc = s_parse (self, argc, argv, 2);
    if (rc == CC_CLI_EXIT_OK && cc_cli_flag (self, "help")) {
        s_command_usage (self, stdout);
        s_cli_destroy (&self);
        return CC_CLI_EXIT_OK;
    }
    if (rc == CC_CLI_EXIT_OK && self->arg_count < command->min_args)
        rc = cc_cli_usage_error (self, "missing argument: certchain %s %s", command->name,
                                 command->synopsis);
    if (rc == CC_CLI_EXIT_OK && self->arg_count > command->max_args) {
        char printable [64];
        rc = cc_cli_usage_error (self, "unexpected argument '%s'",
                                 cc_cli_printable (self->args [command->max_args], printable,
                                                   sizeof (printable)));
    }
    if (rc == CC_CLI_EXIT_OK)
        rc = s_apply_common (self);
    if (rc == CC_CLI_EXIT_OK) {
        rc = command->run (self);
        //  A command that filled its document prints it, even when it
        //  reports a partial failure (status with a service down).
        if (self->json && cc_json_print (self->json, stdout) != 0 && rc == CC_CLI_EXIT_OK)
            rc = cc_cli_fail (self, CC_E_NOMEM, "incomplete JSON output");
    }
    if (fflush (stdout) != 0 && rc == CC_CLI_EXIT_OK)
        rc = cc_cli_fail (self, CC_E_IO, "cannot write the output: %s", strerror (errno));
    s_cli_destroy (&self);
    return rc;
}

//  --- Reading the command line --------------------------------------------------

const cc_cli_command_t *
cc_cli_command (cc_cli_t *self)
{
    assert (self);
    return self->command;
}

const char *
cc_cli_option (cc_cli_t *self, const char *name)
{
    s_slot_t *slot = s_slot_named (self, name);
    return slot->count ? slot->values [slot->count - 1] : NULL;
}

bool
cc_cli_flag (cc_cli_t *self, const char *name)
{
    return s_slot_named (self, name)->given;
}

size_t
cc_cli_option_count (cc_cli_t *self, const char *name)
{
    return s_slot_named (self, name)->count;
}

const char *
cc_cli_option_at (cc_cli_t *self, const char *name, size_t index)
{
    s_slot_t *slot = s_slot_named (self, name);
    return index < slot->count ? slot->values [index] : NULL;
}

size_t
cc_cli_arg_count (cc_cli_t *self)
{
    assert (self);
    return self->arg_count;
}

const char *
cc_cli_arg (cc_cli_t *self, size_t index)
{
    assert (self);
    return index < self->arg_count ? self->args [index] : NULL;
}

cc_json_t *
cc_cli_json (cc_cli_t *self)
{
    assert (self);
    return self->json;
}

int
cc_cli_timeout_ms (cc_cli_t *self)
{
    assert (self);
    return self->timeout_ms;
}

bool
cc_cli_timeout_given (cc_cli_t *self)
{
    assert (self);
    return self->timeout_given;
}

const char *
cc_cli_endpoint (cc_cli_t *self, cc_cli_endpoint_t which)
{
    assert (self);
    assert (self->command->endpoints & which);
    return cc_config_get (self->config, s_endpoint (which)->key);
}

bool
cc_cli_endpoint_given (cc_cli_t *self, cc_cli_endpoint_t which)
{
    assert (self);
    assert (self->command->endpoints & which);
    size_t index = s_endpoint_index (which);
    if (self->endpoint_options [index].name && cc_cli_option (self, s_endpoints [index].flag))
        return true;
    const char *variable = getenv (s_endpoints [index].variable);
    return variable && *variable;
}

const char *
cc_cli_service_name (cc_cli_endpoint_t which)
{
    return s_endpoint (which)->name;
}

//  --- Parsing values --------------------------------------------------------------

int
cc_cli_parse_u64 (const char *text, uint64_t *value)
{
    if (!text || !*text)
        return CC_E_BAD_FIELD;
    uint64_t result = 0;
    for (const char *scan = text; *scan; scan++) {
        if (*scan < '0' || *scan > '9')
            return CC_E_BAD_FIELD;
        uint64_t digit = (uint64_t) (*scan - '0');
        if (result > (UINT64_MAX - digit) / 10)
            return CC_E_BAD_FIELD;
        result = result * 10 + digit;
    }
    *value = result;
    return 0;
}

int
cc_cli_parse_pubkey (const char *text, uint8_t *pubkey, cc_reason_t *reason)
{
    char printable [80];
    if (text [0] == '@') {
        if (!text [1])
            return cc_reason_set (reason, CC_E_BAD_FIELD, "'@' needs a public key file name");
        return cc_pubkey_load (text + 1, pubkey, reason);
    }
    if (cc_hex_decode (text, pubkey, CC_PUBKEY_SIZE) != 0)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "'%s' is not a public key: expected 64 hex characters or "
                              "@FILE.pub",
                              cc_cli_printable (text, printable, sizeof (printable)));
    return 0;
}

int
cc_cli_parse_hash (const char *text, uint8_t *hash, cc_reason_t *reason)
{
    char printable [80];
    if (cc_hex_decode (text, hash, CC_HASH_SIZE) != 0)
        return cc_reason_set (reason, CC_E_BAD_FIELD,
                              "'%s' is not a hash: expected 64 hex characters",
                              cc_cli_printable (text, printable, sizeof (printable)));
    return 0;
}

//  --- Talking to services -----------------------------------------------------------

cc_rpc_client_t *
cc_cli_client (cc_cli_t *self, cc_cli_endpoint_t which, cc_reason_t *reason)
{
    assert (self);
    size_t index = s_endpoint_index (which);
    if (!self->clients [index]) {
        const char *endpoint = cc_cli_endpoint (self, which);
        //  A malformed endpoint makes zmq_connect fail at once.
        self->clients [index] = cc_rpc_client_new (endpoint, S_MAX_REPLY_SIZE);
        if (!self->clients [index]) {
            char printable [128];
            cc_reason_set (reason, CC_E_CONFIG, "cannot connect to the %s at '%s' (%s)",
                           s_endpoint (which)->name,
                           cc_cli_printable (endpoint, printable, sizeof (printable)),
                           zmq_strerror (zmq_errno ()));
        }
    }
    return self->clients [index];
}

int
cc_cli_call (cc_cli_t *self, cc_cli_endpoint_t which, Certchain__Request *request,
             int expected, int timeout_ms, Certchain__Reply **reply_p, cc_reason_t *reason)
{
    *reply_p = NULL;
    cc_rpc_client_t *client = cc_cli_client (self, which, reason);
    if (!client)
        return reason->code;
    if (timeout_ms <= 0)
        timeout_ms = self->timeout_ms;
    int rc = cc_rpc_client_call (client, request, timeout_ms, reply_p, reason);
    if (rc == CC_E_TIMEOUT) {
        char printable [128];
        return cc_reason_set (reason, CC_E_TIMEOUT, "no reply from the %s at %s within %.3g s",
                              s_endpoint (which)->name,
                              cc_cli_printable (cc_cli_endpoint (self, which), printable,
                                                sizeof (printable)),
                              timeout_ms / 1000.0);
    }
    if (rc != 0)
        return rc;
    if ((int) (*reply_p)->kind_case != expected) {
        cc_rpc_reply_free (reply_p);
        return cc_reason_set (reason, CC_E_MALFORMED, "unexpected reply from the %s",
                              s_endpoint (which)->name);
    }
    return 0;
}

zsock_t *
cc_cli_join_socket (cc_cli_t *self, cc_reason_t *reason)
{
    assert (self);
    if (!self->join) {
        const char *endpoint = cc_cli_endpoint (self, CC_CLI_CA);
        zsock_t *socket = zsock_new (ZMQ_DEALER);
        zpoller_t *poller = socket ? zpoller_new (socket, NULL) : NULL;
        if (socket)
            cc_rpc_socket_policy (socket, CC_JOIN_MAX_MESSAGE_SIZE);
        if (!poller || zsock_connect (socket, "%s", endpoint) != 0) {
            char printable [128];
            cc_reason_set (reason, CC_E_CONFIG, "cannot connect to the CA at '%s' (%s)",
                           cc_cli_printable (endpoint, printable, sizeof (printable)),
                           zmq_strerror (zmq_errno ()));
            zpoller_destroy (&poller);
            zsock_destroy (&socket);
            return NULL;
        }
        self->join = socket;
        self->join_poller = poller;
    }
    return self->join;
}

int
cc_cli_join_call (cc_cli_t *self, Certchain__JoinMessage *message, int expected,
                  int timeout_ms, Certchain__JoinMessage **reply_p, cc_reason_t *reason)
{
    assert (message);
    *reply_p = NULL;
    zsock_t *socket = cc_cli_join_socket (self, reason);
    if (!socket)
        return reason->code;
    if (timeout_ms <= 0)
        timeout_ms = self->timeout_ms;
    //  A random id, so a late answer to another exchange on this
    //  connection never passes for this one's.
    randombytes_buf (&message->request_id, sizeof (message->request_id));
    int rc = cc_rpc_send (socket, NULL, CC_FRAME_JOIN, &message->base);
    if (rc != 0)
        return cc_reason_set (reason, rc, "cannot send to the CA: %s", cc_error_message (rc));
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0 || !zpoller_wait (self->join_poller, (int) left)) {
            char printable [128];
            return cc_reason_set (reason, CC_E_TIMEOUT, "no reply from the CA at %s within %.3g s",
                                  cc_cli_printable (cc_cli_endpoint (self, CC_CLI_CA), printable,
                                                    sizeof (printable)),
                                  timeout_ms / 1000.0);
        }
        zmsg_t *received = zmsg_recv (socket);
        zframe_t *type = NULL, *payload = NULL;
        Certchain__JoinMessage *reply = NULL;
        int code = 0;
        if (received && cc_rpc_split (received, false, NULL, &type, &payload) == 0
            && cc_rpc_frame_is (type, CC_FRAME_JOIN))
            reply = (Certchain__JoinMessage *) cc_codec_unpack (
                &certchain__join_message__descriptor, zframe_data (payload),
                zframe_size (payload), CC_JOIN_MAX_MESSAGE_SIZE, &code);
        zmsg_destroy (&received);
        //  Junk and answers to something else are passed over; the
        //  deadline bounds the wait.
        if (!reply || reply->request_id != message->request_id) {
            cc_codec_free ((ProtobufCMessage **) &reply);
            continue;
        }
        if (reply->kind_case == CERTCHAIN__JOIN_MESSAGE__KIND_ERROR && reply->error) {
            code = -(int) reply->error->code;
            if (code >= 0)
                code = CC_E_MALFORMED;
            cc_reason_set (reason, code, "%s",
                           reply->error->message && *reply->error->message
                               ? reply->error->message
                               : cc_error_message (code));
            cc_codec_free ((ProtobufCMessage **) &reply);
            return code;
        }
        if ((int) reply->kind_case != expected) {
            cc_codec_free ((ProtobufCMessage **) &reply);
            return cc_reason_set (reason, CC_E_MALFORMED, "unexpected reply from the CA");
        }
        *reply_p = reply;
        return 0;
    }
}

//  --- Reporting -----------------------------------------------------------------

static void
s_report (cc_cli_t *self, const char *message, const char *suffix)
{
    char printable [512];
    fprintf (stderr, "certchain: %s: %s %s\n", self->command->name,
             cc_cli_printable (message, printable, sizeof (printable)), suffix);
}

int
cc_cli_fail (cc_cli_t *self, int code, const char *format, ...)
{
    char message [512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof (message), format, args);
    va_end (args);
    char suffix [48];
    snprintf (suffix, sizeof (suffix), "(%s)", cc_error_name (code));
    s_report (self, message, suffix);
    return CC_CLI_EXIT_FAILURE;
}

int
cc_cli_fail_reason (cc_cli_t *self, const cc_reason_t *reason)
{
    return cc_cli_fail (self, reason->code, "%s", cc_reason_text (reason));
}

int
cc_cli_usage_error (cc_cli_t *self, const char *format, ...)
{
    char message [512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof (message), format, args);
    va_end (args);
    char suffix [64];
    snprintf (suffix, sizeof (suffix), "(see certchain %s --help)", self->command->name);
    s_report (self, message, suffix);
    return CC_CLI_EXIT_USAGE;
}

const char *
cc_cli_printable (const char *text, char *buffer, size_t size)
{
    assert (size > 0);
    size_t length = strlen (text), out = 0, index = 0;
    while (index < length && out + 1 < size) {
        uint8_t byte = (uint8_t) text [index];
        size_t sequence = byte < 0x80 ? 1
                                      : cc_json_utf8_length ((const uint8_t *) text + index,
                                                             length - index);
        //  C0 and C1 controls (U+0080..U+009F is 0xC2 0x80..0x9F) included.
        bool control = byte < 0x20 || byte == 0x7F
                    || (sequence == 2 && byte == 0xC2 && (uint8_t) text [index + 1] < 0xA0);
        if (control || sequence == 0) {
            buffer [out++] = '?';
            index++;
        }
        else
        if (out + sequence < size) {
            memcpy (buffer + out, text + index, sequence);
            out += sequence;
            index += sequence;
        }
        else
            break;
    }
    buffer [out] = 0;
    return buffer;
}
