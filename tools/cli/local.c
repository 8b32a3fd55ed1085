/*  =========================================================================
    local - the commands that only touch files: keygen and genesis

    `certchain keygen --out FILE` makes a node or account identity: the
    secret seed in FILE (0600) and the public key in FILE.pub (0644),
    through cc_keypair_save, which never overwrites.

    `certchain genesis --out FILE --chain-id ID ...` writes the first state
    of a chain through common/genesis, which validates every field. Keys
    are given as 64 hex characters or as @FILE.pub; --param sets any field
    of ConsensusParams by its protobuf name, found through the descriptor,
    so a parameter added to the schema is settable here without a change.
    =========================================================================
*/

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "genesis.h"
#include "service.h"

//  --- keygen --------------------------------------------------------------------

const cc_cli_option_t cc_cli_keygen_options [] = {
    { "out", CC_CLI_VALUE, "FILE", "secret key file to write (FILE.pub gets the public key)" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

int
cc_cli_keygen (cc_cli_t *cli)
{
    const char *path = cc_cli_option (cli, "out");
    if (!path || !*path)
        return cc_cli_usage_error (cli, "--out FILE is required");
    char public_path [4096];
    if ((size_t) snprintf (public_path, sizeof (public_path), "%s.pub", path)
        >= sizeof (public_path))
        return cc_cli_usage_error (cli, "--out: path too long");
    //  Both files must be new: check the public one too before writing the
    //  secret, so a refusal leaves nothing half made.
    struct stat info;
    if (lstat (path, &info) == 0 || lstat (public_path, &info) == 0)
        return cc_cli_fail (cli, CC_E_EXISTS, "%s: already exists, not overwritten",
                            lstat (path, &info) == 0 ? path : public_path);
    cc_keypair_t *keypair = cc_keypair_new ();
    if (!keypair)
        return cc_cli_fail (cli, CC_E_NOMEM, "cannot make a key pair");
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_keypair_save (keypair, path, public_path, &reason);
    if (rc != 0) {
        //  The secret may have been written before the public file failed.
        struct stat written;
        if (lstat (public_path, &written) != 0 && lstat (path, &written) == 0)
            unlink (path);
        cc_keypair_destroy (&keypair);
        return cc_cli_fail_reason (cli, &reason);
    }
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        cc_json_string (json, "pubkey", cc_keypair_public_hex (keypair));
        cc_json_string (json, "path", path);
        cc_json_string (json, "public_path", public_path);
        cc_json_object_close (json);
    }
    else
        printf ("%s\n", cc_keypair_public_hex (keypair));
    cc_keypair_destroy (&keypair);
    return CC_CLI_EXIT_OK;
}

//  --- genesis -------------------------------------------------------------------

const cc_cli_option_t cc_cli_genesis_options [] = {
    { "out", CC_CLI_VALUE, "FILE", "genesis file to write (never overwritten)" },
    { "chain-id", CC_CLI_VALUE, "ID", "the chain's name" },
    { "time-ms", CC_CLI_VALUE, "N", "genesis time, ms since the epoch (default: now)" },
    { "ca", CC_CLI_LIST, "KEY[:producing]", "a certification authority (KEY: hex or @FILE.pub)" },
    { "validator", CC_CLI_LIST, "KEY", "an initial validator" },
    { "account", CC_CLI_LIST, "KEY=BALANCE", "an initial account balance" },
    { "param", CC_CLI_LIST, "NAME=VALUE", "a consensus parameter, e.g. timeout_propose_ms=1000" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

//  Splits "KEY<separator>REST" (separator searched from the right, since
//  a key file name may hold anything) into key (copied into buffer) and
//  rest; NULL rest when the separator is absent.
static const char *
s_split (const char *text, char separator, char *buffer, size_t size, const char **rest_p)
{
    const char *mark = strrchr (text, separator);
    size_t length = mark ? (size_t) (mark - text) : strlen (text);
    if (length >= size)
        length = size - 1;
    memcpy (buffer, text, length);
    buffer [length] = 0;
    *rest_p = mark ? mark + 1 : NULL;
    return buffer;
}

//  Parses a key option value; prints the error and returns the exit code.
static int
s_key (cc_cli_t *cli, const char *option, const char *text, uint8_t *pubkey)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_parse_pubkey (text, pubkey, &reason) == 0)
        return CC_CLI_EXIT_OK;
    //  Malformed hex is a wrong command line; an unreadable file is not.
    if (text [0] != '@')
        return cc_cli_usage_error (cli, "--%s: %s", option, cc_reason_text (&reason));
    return cc_cli_fail (cli, reason.code, "--%s: %s", option, cc_reason_text (&reason));
}

//  Sets one ConsensusParams field from "name=value".
static int
s_param (cc_cli_t *cli, Certchain__ConsensusParams *params, const char *text)
{
    char name [128], printable [128];
    const char *value = NULL;
    s_split (text, '=', name, sizeof (name), &value);
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field_by_name (
        &certchain__consensus_params__descriptor, name);
    if (!field || (field->type != PROTOBUF_C_TYPE_UINT32 && field->type != PROTOBUF_C_TYPE_UINT64)
        || field->label == PROTOBUF_C_LABEL_REPEATED) {
        char names [1024] = "";
        for (unsigned index = 0; index < certchain__consensus_params__descriptor.n_fields;
             index++) {
            if (index)
                strncat (names, ", ", sizeof (names) - strlen (names) - 1);
            strncat (names, certchain__consensus_params__descriptor.fields [index].name,
                     sizeof (names) - strlen (names) - 1);
        }
        return cc_cli_usage_error (cli, "--param: unknown parameter '%s' (known: %s)",
                                   cc_cli_printable (name, printable, sizeof (printable)), names);
    }
    uint64_t number = 0;
    if (!value || cc_cli_parse_u64 (value, &number) != 0
        || (field->type == PROTOBUF_C_TYPE_UINT32 && number > UINT32_MAX))
        return cc_cli_usage_error (cli, "--param %s: expected NAME=NUMBER, got '%s'", field->name,
                                   cc_cli_printable (text, printable, sizeof (printable)));
    uint8_t *slot = (uint8_t *) params + field->offset;
    if (field->type == PROTOBUF_C_TYPE_UINT32) {
        uint32_t narrow = (uint32_t) number;
        memcpy (slot, &narrow, sizeof (narrow));
    }
    else
        memcpy (slot, &number, sizeof (number));
    return CC_CLI_EXIT_OK;
}

//  Adds every --ca, --validator, --account and --param to genesis.
static int
s_genesis_fill (cc_cli_t *cli, cc_genesis_t *genesis)
{
    char key_text [4096], printable [128];
    uint8_t pubkey [CC_PUBKEY_SIZE];
    int rc = CC_CLI_EXIT_OK;
    for (size_t index = 0; index < cc_cli_option_count (cli, "ca") && rc == 0; index++) {
        const char *text = cc_cli_option_at (cli, "ca", index);
        const char *mode = NULL;
        //  "KEY:producing"; a key without the suffix is a CA that does not
        //  produce blocks (an "@file" may itself contain ':').
        size_t length = strlen (text);
        bool produces = length > 10 && strcmp (text + length - 10, ":producing") == 0;
        if (produces)
            s_split (text, ':', key_text, sizeof (key_text), &mode);
        else
            snprintf (key_text, sizeof (key_text), "%s", text);
        rc = s_key (cli, "ca", key_text, pubkey);
        if (rc == 0 && cc_genesis_add_ca (genesis, pubkey, produces) != 0)
            rc = cc_cli_fail (cli, CC_E_EXISTS, "--ca %s: key given twice",
                              cc_cli_printable (key_text, printable, sizeof (printable)));
    }
    for (size_t index = 0; index < cc_cli_option_count (cli, "validator") && rc == 0; index++) {
        const char *text = cc_cli_option_at (cli, "validator", index);
        rc = s_key (cli, "validator", text, pubkey);
        if (rc == 0 && cc_genesis_add_validator (genesis, pubkey) != 0)
            rc = cc_cli_fail (cli, CC_E_EXISTS, "--validator %s: key given twice",
                              cc_cli_printable (text, printable, sizeof (printable)));
    }
    for (size_t index = 0; index < cc_cli_option_count (cli, "account") && rc == 0; index++) {
        const char *text = cc_cli_option_at (cli, "account", index);
        const char *balance_text = NULL;
        s_split (text, '=', key_text, sizeof (key_text), &balance_text);
        uint64_t balance = 0;
        if (!balance_text || cc_cli_parse_u64 (balance_text, &balance) != 0) {
            rc = cc_cli_usage_error (cli, "--account: expected KEY=BALANCE, got '%s'",
                                     cc_cli_printable (text, printable, sizeof (printable)));
            break;
        }
        rc = s_key (cli, "account", key_text, pubkey);
        if (rc == 0 && cc_genesis_add_account (genesis, pubkey, balance) != 0)
            rc = cc_cli_fail (cli, CC_E_EXISTS, "--account %s: account given twice",
                              cc_cli_printable (key_text, printable, sizeof (printable)));
    }
    for (size_t index = 0; index < cc_cli_option_count (cli, "param") && rc == 0; index++)
        rc = s_param (cli, cc_genesis_params (genesis), cc_cli_option_at (cli, "param", index));
    return rc;
}

int
cc_cli_genesis (cc_cli_t *cli)
{
    const char *path = cc_cli_option (cli, "out");
    const char *chain_id = cc_cli_option (cli, "chain-id");
    if (!path || !*path)
        return cc_cli_usage_error (cli, "--out FILE is required");
    if (!chain_id)
        return cc_cli_usage_error (cli, "--chain-id ID is required");
    if (cc_cli_option_count (cli, "ca") == 0)
        return cc_cli_usage_error (cli, "at least one --ca KEY is required");
    uint64_t time_ms = cc_service_now_ms ();
    const char *time_text = cc_cli_option (cli, "time-ms");
    char printable [128];
    if (time_text && cc_cli_parse_u64 (time_text, &time_ms) != 0)
        return cc_cli_usage_error (cli, "--time-ms: expected a number, got '%s'",
                                   cc_cli_printable (time_text, printable, sizeof (printable)));
    cc_genesis_t *genesis = cc_genesis_new (chain_id, time_ms);
    if (!genesis)
        return cc_cli_fail (cli, CC_E_NOMEM, "out of memory");
    int rc = s_genesis_fill (cli, genesis);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (rc == CC_CLI_EXIT_OK && cc_genesis_save (genesis, path, &reason) != 0) {
        //  common/genesis prefixes its messages with "genesis: ", which
        //  the command's own prefix already says.
        const char *text = cc_reason_text (&reason);
        if (strncmp (text, "genesis: ", 9) == 0)
            text += 9;
        rc = cc_cli_fail (cli, reason.code, "%s", text);
    }
    cc_genesis_destroy (&genesis);
    if (rc != CC_CLI_EXIT_OK)
        return rc;

    //  Report the hash of the file as every node will read it.
    genesis = cc_genesis_load (path, &reason);
    if (!genesis)
        return cc_cli_fail_reason (cli, &reason);
    char hash [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (cc_genesis_hash (genesis), CC_HASH_SIZE, hash);
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        cc_json_string (json, "path", path);
        cc_json_string (json, "hash", hash);
        cc_json_string (json, "chain_id", cc_genesis_chain_id (genesis));
        cc_json_object_close (json);
    }
    else
        printf ("path: %s\nchain_id: %s\nhash: %s\n", path,
                cc_cli_printable (cc_genesis_chain_id (genesis), printable, sizeof (printable)),
                hash);
    cc_genesis_destroy (&genesis);
    return CC_CLI_EXIT_OK;
}
