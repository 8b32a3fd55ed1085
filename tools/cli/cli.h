/*  =========================================================================
    cli - the frame of the `certchain` command-line tool

    `certchain COMMAND [OPTIONS] [ARGUMENTS]`: main.c holds the command
    table (one cc_cli_command_t per command: its name, options, number of
    arguments and the function that runs it); this module parses the
    command line against that table, resolves the service endpoints,
    talks to the services with a timeout on every request, and reports
    errors the one way every command does:

        certchain: send: insufficient balance (INSUFFICIENT_BALANCE)

    on stderr, exit code 1 (2 for a usage error). With --json a command
    writes its result into the cc_json_t that cc_cli_json returns, and the
    frame prints it as one object on stdout once the command returns.

    Endpoints come from, lowest first: the defaults of the network's port
    table, the environment (CERTCHAIN_RELAY, CERTCHAIN_VERIFIER,
    CERTCHAIN_CA), then the flags --relay, --verifier, --ca; common/config
    keeps that precedence. A command names the endpoints it needs, and
    only those flags are accepted by it.

    Adding a command: write its run function (in the module of its group,
    declared below), give it an option table, and add one entry to the
    table in main.c.

    Ownership: a cc_cli_t owns the parsed options, the endpoint
    configuration, its rpc clients and the JSON document; every string it
    returns is borrowed and valid while it lives.
    =========================================================================
*/

#ifndef CC_CLI_H_INCLUDED
#define CC_CLI_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "json.h"
#include "rpc.h"

//  Exit codes.
#define CC_CLI_EXIT_OK 0
#define CC_CLI_EXIT_FAILURE 1      //  the command failed (network, refusal, file)
#define CC_CLI_EXIT_USAGE 2        //  the command line was wrong

//  Per-request timeout when --timeout is not given, in milliseconds.
#define CC_CLI_DEFAULT_TIMEOUT_MS 5000

typedef struct _cc_cli_t cc_cli_t;

//  --- Command table -------------------------------------------------------------

//  How an option takes values.
typedef enum {
    CC_CLI_FLAG = 0,            //  --name, no value
    CC_CLI_VALUE,               //  --name VALUE or --name=VALUE, at most once
    CC_CLI_LIST                 //  --name VALUE, repeatable, values kept in order
} cc_cli_option_kind_t;

//  One option a command accepts.
typedef struct {
    const char *name;           //  long name without "--"; NULL ends a table
    cc_cli_option_kind_t kind;  //  flag, single value or repeatable
    const char *metavar;        //  name of the value in help ("FILE"), NULL for a flag
    const char *help;           //  one line of help
} cc_cli_option_t;

//  The services a command may talk to (bits of cc_cli_command_t.endpoints).
typedef enum {
    CC_CLI_RELAY = 1,           //  relay rpc: --relay, CERTCHAIN_RELAY
    CC_CLI_VERIFIER = 2,        //  verifier query: --verifier, CERTCHAIN_VERIFIER
    CC_CLI_CA = 4               //  CA join: --ca, CERTCHAIN_CA
} cc_cli_endpoint_t;

//  Runs a parsed command; returns its exit code (CC_CLI_EXIT_*).
typedef int (cc_cli_run_fn) (cc_cli_t *cli);

//  One command.
typedef struct {
    const char *name;           //  "send"; NULL ends the table
    const char *synopsis;       //  what follows the name in usage
    const char *summary;        //  one line saying what it does
    size_t min_args;            //  fewest positional arguments
    size_t max_args;            //  most positional arguments
    unsigned endpoints;         //  cc_cli_endpoint_t bits it talks to
    const cc_cli_option_t *options;     //  its own options, NULL-name terminated
    cc_cli_run_fn *run;         //  what runs it
} cc_cli_command_t;

//  Runs the tool: parses argv against commands (the table ends with a NULL
//  name), runs the command, prints its JSON document when --json was
//  given. Returns the process exit code.
int
    cc_cli_main (const cc_cli_command_t *commands, int argc, char **argv);

//  --- Reading the command line (for run functions) -----------------------------

//  The command being run.
const cc_cli_command_t *
    cc_cli_command (cc_cli_t *self);

//  The value of a VALUE option (the last of a LIST), or NULL when absent.
const char *
    cc_cli_option (cc_cli_t *self, const char *name);

//  True if a FLAG option was given.
bool
    cc_cli_flag (cc_cli_t *self, const char *name);

//  Values of a LIST option, in command-line order.
size_t
    cc_cli_option_count (cc_cli_t *self, const char *name);
const char *
    cc_cli_option_at (cc_cli_t *self, const char *name, size_t index);

//  Positional arguments.
size_t
    cc_cli_arg_count (cc_cli_t *self);
const char *
    cc_cli_arg (cc_cli_t *self, size_t index);

//  The JSON document to fill when --json was given, else NULL.
cc_json_t *
    cc_cli_json (cc_cli_t *self);

//  Per-request timeout in milliseconds; and whether --timeout was given.
int
    cc_cli_timeout_ms (cc_cli_t *self);
bool
    cc_cli_timeout_given (cc_cli_t *self);

//  The resolved endpoint of a service, and its name for messages.
const char *
    cc_cli_endpoint (cc_cli_t *self, cc_cli_endpoint_t which);

//  True when the endpoint was chosen rather than defaulted: its flag was
//  given or its environment variable is set (status asks the CA only then).
bool
    cc_cli_endpoint_given (cc_cli_t *self, cc_cli_endpoint_t which);
const char *
    cc_cli_service_name (cc_cli_endpoint_t which);

//  --- Parsing values --------------------------------------------------------------

//  A plain unsigned decimal number (digits only, no overflow). 0 or BAD_FIELD.
int
    cc_cli_parse_u64 (const char *text, uint64_t *value);

//  A public key given as 64 hex characters or as @FILE (a public key file).
//  0, or BAD_FIELD / IO with a message naming what was wrong.
int
    cc_cli_parse_pubkey (const char *text, uint8_t *pubkey, cc_reason_t *reason);

//  A 32-byte hash as 64 hex characters. 0 or BAD_FIELD with a message.
int
    cc_cli_parse_hash (const char *text, uint8_t *hash, cc_reason_t *reason);

//  --- Talking to services -----------------------------------------------------------

//  The rpc client of a service (made on first use; owned by the cli), or
//  NULL with a message in reason when the endpoint is not a valid one.
cc_rpc_client_t *
    cc_cli_client (cc_cli_t *self, cc_cli_endpoint_t which, cc_reason_t *reason);

//  Sends request to a service and waits for its reply up to timeout_ms (0
//  = the --timeout). The reply must be of kind expected (a
//  CERTCHAIN__REPLY__KIND_* value). 0 with *reply_p (caller frees with
//  cc_rpc_reply_free); TIMEOUT naming the service and endpoint; the
//  service's error code and message for an Error reply; MALFORMED for a
//  reply of another kind.
int
    cc_cli_call (cc_cli_t *self, cc_cli_endpoint_t which, Certchain__Request *request,
                 int expected, int timeout_ms, Certchain__Reply **reply_p, cc_reason_t *reason);

//  The DEALER on which the CA's join protocol runs (frames
//  ["join"][JoinMessage]; made on first use, owned by the cli), or NULL
//  with a message in reason when the CA endpoint is not a valid one.
zsock_t *
    cc_cli_join_socket (cc_cli_t *self, cc_reason_t *reason);

//  Sends message (its request_id set here, fresh) on the join socket and
//  waits up to timeout_ms (0 = the --timeout) for the JoinMessage with the
//  same request_id, which must be of kind expected (a
//  CERTCHAIN__JOIN_MESSAGE__KIND_* value). 0 with *reply_p (caller frees
//  with cc_codec_free); TIMEOUT naming the CA and its endpoint; the CA's
//  error code and message for an Error; MALFORMED for another kind.
int
    cc_cli_join_call (cc_cli_t *self, Certchain__JoinMessage *message, int expected,
                      int timeout_ms, Certchain__JoinMessage **reply_p, cc_reason_t *reason);

//  --- Reporting -----------------------------------------------------------------

//  Prints "certchain: COMMAND: MESSAGE (NAME)" on stderr and returns
//  CC_CLI_EXIT_FAILURE.
int
    cc_cli_fail (cc_cli_t *self, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Same, from a reason (its text and code).
int
    cc_cli_fail_reason (cc_cli_t *self, const cc_reason_t *reason);

//  Prints "certchain: COMMAND: MESSAGE (see certchain COMMAND --help)" on
//  stderr and returns CC_CLI_EXIT_USAGE.
int
    cc_cli_usage_error (cc_cli_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Copies text into buffer (size bytes) with control characters and
//  invalid UTF-8 replaced by '?', so text from the network can never drive
//  the terminal. Returns buffer.
const char *
    cc_cli_printable (const char *text, char *buffer, size_t size);

//  --- Commands (one module per group) -----------------------------------------------

//  local.c: files only, no network.
int cc_cli_keygen (cc_cli_t *cli);
int cc_cli_genesis (cc_cli_t *cli);
extern const cc_cli_option_t cc_cli_keygen_options [];
extern const cc_cli_option_t cc_cli_genesis_options [];

//  send.c: building, signing and submitting transactions.
int cc_cli_send (cc_cli_t *cli);
int cc_cli_revoke (cc_cli_t *cli);
extern const cc_cli_option_t cc_cli_send_options [];
extern const cc_cli_option_t cc_cli_revoke_options [];

//  The relay's chain id into chain_id (size bytes) and, when genesis_hash
//  is not NULL, its genesis hash (32 bytes). Returns the exit code (a
//  failure is reported).
int
    cc_cli_relay_chain (cc_cli_t *cli, char *chain_id, size_t size, uint8_t *genesis_hash);

//  The one path by which a command signs and submits a transaction: body
//  (payload and fee set by the caller) gets nonce = the signer's committed
//  nonce + 1 from the verifier when body->nonce is 0 (and the signer's
//  balance must cover spend + fee), is signed by key for chain_id,
//  submitted to the relay and, with wait, waited for until committed.
//  Prints hash (nonce in JSON) and, with wait, height. Returns the exit
//  code.
int
    cc_cli_submit (cc_cli_t *cli, cc_keypair_t *key, const char *chain_id,
                   Certchain__TxBody *body, uint64_t spend, bool wait);

//  ca.c: the certification authority: joining by hand, its audit log.
int cc_cli_join (cc_cli_t *cli);
int cc_cli_ca_log (cc_cli_t *cli);
extern const cc_cli_option_t cc_cli_join_options [];
extern const cc_cli_option_t cc_cli_ca_log_options [];

//  query.c: reading the chain from the verifier, and the services' status
//  (the CA's too, when its endpoint is given).
int cc_cli_account (cc_cli_t *cli);
int cc_cli_tx (cc_cli_t *cli);
int cc_cli_block (cc_cli_t *cli);
int cc_cli_status (cc_cli_t *cli);
int cc_cli_validators (cc_cli_t *cli);
extern const cc_cli_option_t cc_cli_no_options [];
extern const cc_cli_option_t cc_cli_status_options [];
extern const cc_cli_option_t cc_cli_validators_options [];

#endif
