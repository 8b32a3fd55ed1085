/*  =========================================================================
    query - reading the chain and the services' status

    account, tx, block and validators ask the verifier: it is the process
    that verified every block it holds, so what it answers is what the
    chain says. `tx` does not take the inclusion on trust: it fetches the
    block the verifier names, checks that the block hash and tx root match
    and verifies the Merkle proof of the transaction's own hash against
    that root (cc_merkle_verify), and says so in proof_valid.

    status asks the relay, the verifier, the CA (only when its endpoint is
    given: --ca or CERTCHAIN_CA; it answers GetStatus on its join socket)
    and every --validator admin endpoint at once, so a service that is
    down costs one timeout, not one each; a service that does not answer
    shows an error in its place and makes the exit code 1.
    =========================================================================
*/

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "block.h"
#include "cli.h"
#include "tx.h"

const cc_cli_option_t cc_cli_no_options [] = {
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

//  --- Helpers -----------------------------------------------------------------

//  A bytes field as hex into text (2 * size + 1 bytes); "" when empty or
//  longer than max bytes.
static const char *
s_hex (ProtobufCBinaryData field, char *text, size_t max)
{
    if (field.len == 0 || field.len > max)
        text [0] = 0;
    else
        cc_hex_encode (field.data, field.len, text);
    return text;
}

//  Lower-case name of a validator status ("active").
static void
s_status_name (int status, char *name, size_t size)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&certchain__validator_status__descriptor, status);
    snprintf (name, size, "%s", value ? value->name : "unknown");
    for (char *scan = name; *scan; scan++)
        *scan = (char) tolower ((unsigned char) *scan);
}

//  Asks the verifier; prints the error and returns the exit code on failure.
static int
s_ask_verifier (cc_cli_t *cli, Certchain__Request *request, int expected,
                Certchain__Reply **reply_p)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_call (cli, CC_CLI_VERIFIER, request, expected, 0, reply_p, &reason) != 0)
        return cc_cli_fail_reason (cli, &reason);
    return CC_CLI_EXIT_OK;
}

//  --- account -------------------------------------------------------------------

int
cc_cli_account (cc_cli_t *cli)
{
    uint8_t address [CC_PUBKEY_SIZE];
    cc_reason_t reason;
    cc_reason_clear (&reason);
    const char *text = cc_cli_arg (cli, 0);
    if (cc_cli_parse_pubkey (text, address, &reason) != 0)
        return text [0] == '@' ? cc_cli_fail_reason (cli, &reason)
                               : cc_cli_usage_error (cli, "%s", cc_reason_text (&reason));
    Certchain__GetAccount get_account = CERTCHAIN__GET_ACCOUNT__INIT;
    get_account.address = cc_bytes_view (address, CC_PUBKEY_SIZE);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_ACCOUNT;
    request.get_account = &get_account;
    Certchain__Reply *reply = NULL;
    int rc = cc_cli_call (cli, CC_CLI_VERIFIER, &request, CERTCHAIN__REPLY__KIND_ACCOUNT, 0,
                          &reply, &reason);
    //  An address nobody ever paid is an empty account, not an error.
    if (rc != 0 && rc != CC_E_NOT_FOUND)
        return cc_cli_fail_reason (cli, &reason);
    uint64_t balance = reply ? reply->account->balance : 0;
    uint64_t nonce = reply ? reply->account->nonce : 0;
    uint64_t height = reply ? reply->account->height : 0;
    cc_rpc_reply_free (&reply);
    char hex [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (address, CC_PUBKEY_SIZE, hex);
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        cc_json_string (json, "address", hex);
        cc_json_u64 (json, "balance", balance);
        cc_json_u64 (json, "nonce", nonce);
        cc_json_u64 (json, "height", height);
        cc_json_object_close (json);
    }
    else
        printf ("address: %s\nbalance: %" PRIu64 "\nnonce: %" PRIu64 "\nheight: %" PRIu64 "\n",
                hex, balance, nonce, height);
    return CC_CLI_EXIT_OK;
}

//  --- tx --------------------------------------------------------------------------

//  Checks the inclusion of the tx whose hash is leaf as info tells it:
//  fetches the block at info's height, which must have info's block hash
//  and tx root, and verifies the proof against that root with the block's
//  tx count. True if all of it holds.
static bool
s_proof_valid (cc_cli_t *cli, const Certchain__TxInfo *info, const uint8_t *leaf)
{
    if (!cc_bytes_sized (info->block_hash, CC_HASH_SIZE)
        || !cc_bytes_sized (info->tx_root, CC_HASH_SIZE)
        || info->n_proof > CC_MERKLE_MAX_DEPTH || info->height == 0)
        return false;
    uint8_t proof [CC_MERKLE_MAX_DEPTH * CC_HASH_SIZE];
    for (size_t index = 0; index < info->n_proof; index++) {
        if (!cc_bytes_sized (info->proof [index], CC_HASH_SIZE))
            return false;
        memcpy (proof + index * CC_HASH_SIZE, info->proof [index].data, CC_HASH_SIZE);
    }
    Certchain__GetBlock get_block = CERTCHAIN__GET_BLOCK__INIT;
    get_block.height = info->height;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCK;
    request.get_block = &get_block;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_call (cli, CC_CLI_VERIFIER, &request, CERTCHAIN__REPLY__KIND_BLOCK, 0, &reply,
                     &reason)
        != 0)
        return false;
    cc_block_t *block = cc_block_decode (reply->block.data, reply->block.len, &reason);
    cc_rpc_reply_free (&reply);
    if (!block)
        return false;
    const Certchain__BlockHeader *header = cc_block_header (block);
    bool valid = cc_block_height (block) == info->height
              && memcmp (cc_block_hash (block), info->block_hash.data, CC_HASH_SIZE) == 0
              && cc_bytes_equal (header->tx_root, info->tx_root)
              && cc_merkle_verify (leaf, cc_block_tx_count (block), info->index, proof,
                                   info->n_proof, info->tx_root.data);
    cc_block_destroy (&block);
    return valid;
}

int
cc_cli_tx (cc_cli_t *cli)
{
    uint8_t hash [CC_HASH_SIZE];
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_parse_hash (cc_cli_arg (cli, 0), hash, &reason) != 0)
        return cc_cli_usage_error (cli, "%s", cc_reason_text (&reason));
    Certchain__GetTx get_tx = CERTCHAIN__GET_TX__INIT;
    get_tx.hash = cc_bytes_view (hash, CC_HASH_SIZE);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_TX;
    request.get_tx = &get_tx;
    Certchain__Reply *reply = NULL;
    int rc = s_ask_verifier (cli, &request, CERTCHAIN__REPLY__KIND_TX_INFO, &reply);
    if (rc != CC_CLI_EXIT_OK)
        return rc;
    const Certchain__TxInfo *info = reply->tx_info;
    cc_tx_t *tx = info->tx ? cc_tx_from_envelope (info->tx, &reason) : NULL;
    if (!tx || memcmp (cc_tx_hash (tx), hash, CC_HASH_SIZE) != 0) {
        cc_tx_destroy (&tx);
        cc_rpc_reply_free (&reply);
        return cc_cli_fail (cli, CC_E_MALFORMED, "the verifier answered another transaction");
    }
    //  The body is decoded for display only: the verifier checked it.
    int code = 0;
    Certchain__TxBody *body = (Certchain__TxBody *) cc_codec_unpack (
        &certchain__tx_body__descriptor, cc_tx_envelope (tx)->body.data,
        cc_tx_envelope (tx)->body.len, CC_TX_MAX_SIZE, &code);
    bool proof_valid = s_proof_valid (cli, info, cc_tx_hash (tx));

    char hash_hex [2 * CC_HASH_SIZE + 1], block_hex [2 * CC_HASH_SIZE + 1],
        root_hex [2 * CC_HASH_SIZE + 1], signer_hex [CC_HEX_PUBKEY_SIZE],
        to_hex [CC_HEX_PUBKEY_SIZE] = "";
    cc_hex_encode (hash, CC_HASH_SIZE, hash_hex);
    cc_hex_encode (cc_tx_signer (tx), CC_PUBKEY_SIZE, signer_hex);
    s_hex (info->block_hash, block_hex, CC_HASH_SIZE);
    s_hex (info->tx_root, root_hex, CC_HASH_SIZE);
    const char *kind = "unknown";
    const Certchain__Transfer *transfer = NULL;
    if (body) {
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
            &certchain__tx_body__descriptor, (unsigned) body->payload_case);
        kind = field ? field->name : "none";
        if (body->payload_case == CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER && body->transfer) {
            transfer = body->transfer;
            s_hex (transfer->to, to_hex, CC_PUBKEY_SIZE);
        }
    }
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        cc_json_string (json, "hash", hash_hex);
        cc_json_u64 (json, "height", info->height);
        cc_json_u64 (json, "index", info->index);
        cc_json_string (json, "block_hash", block_hex);
        cc_json_string (json, "tx_root", root_hex);
        cc_json_string (json, "kind", kind);
        cc_json_string (json, "signer", signer_hex);
        if (body) {
            cc_json_u64 (json, "nonce", body->nonce);
            cc_json_u64 (json, "fee", body->fee);
        }
        if (transfer) {
            cc_json_string (json, "to", to_hex);
            cc_json_u64 (json, "amount", transfer->amount);
        }
        cc_json_bool (json, "proof_valid", proof_valid);
        cc_json_object_close (json);
    }
    else {
        printf ("hash: %s\nheight: %" PRIu64 "\nindex: %u\nblock_hash: %s\nkind: %s\n"
                "signer: %s\n",
                hash_hex, info->height, info->index, block_hex, kind, signer_hex);
        if (body)
            printf ("nonce: %" PRIu64 "\nfee: %" PRIu64 "\n", body->nonce, body->fee);
        if (transfer)
            printf ("to: %s\namount: %" PRIu64 "\n", to_hex, transfer->amount);
        printf ("proof_valid: %s\n", proof_valid ? "true" : "false");
    }
    cc_codec_free ((ProtobufCMessage **) &body);
    cc_tx_destroy (&tx);
    cc_rpc_reply_free (&reply);
    return CC_CLI_EXIT_OK;
}

//  --- block -----------------------------------------------------------------------

int
cc_cli_block (cc_cli_t *cli)
{
    const char *which = cc_cli_arg (cli, 0);
    uint64_t height = 0;
    char printable [64];
    if (strcmp (which, "latest") != 0 && (cc_cli_parse_u64 (which, &height) != 0 || height == 0))
        return cc_cli_usage_error (cli, "expected a height (1 or more) or 'latest', got '%s'",
                                   cc_cli_printable (which, printable, sizeof (printable)));
    Certchain__GetBlock get_block = CERTCHAIN__GET_BLOCK__INIT;
    get_block.height = height;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCK;
    request.get_block = &get_block;
    Certchain__Reply *reply = NULL;
    int rc = s_ask_verifier (cli, &request, CERTCHAIN__REPLY__KIND_BLOCK, &reply);
    if (rc != CC_CLI_EXIT_OK)
        return rc;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_block_t *block = cc_block_decode (reply->block.data, reply->block.len, &reason);
    cc_rpc_reply_free (&reply);
    if (!block)
        return cc_cli_fail (cli, reason.code, "the verifier sent a block that does not decode: %s",
                            cc_reason_text (&reason));

    char hash [2 * CC_HASH_SIZE + 1], proposer [CC_HEX_PUBKEY_SIZE], parent [2 * CC_HASH_SIZE + 1],
        app [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (cc_block_hash (block), CC_HASH_SIZE, hash);
    cc_hex_encode (cc_block_proposer (block), CC_PUBKEY_SIZE, proposer);
    cc_hex_encode (cc_block_parent_hash (block), CC_HASH_SIZE, parent);
    cc_hex_encode (cc_block_app_hash (block), CC_HASH_SIZE, app);
    const char *chain_id = cc_block_chain_id (block);
    const Certchain__Commit *commit = cc_block_commit (block);
    size_t signer_count = commit ? commit->n_precommits : 0;
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        cc_json_u64 (json, "height", cc_block_height (block));
        cc_json_string (json, "hash", hash);
        cc_json_u64 (json, "round", cc_block_round (block));
        cc_json_u64 (json, "time_ms", cc_block_time (block));
        cc_json_string (json, "proposer", proposer);
        cc_json_string (json, "parent_hash", parent);
        cc_json_string (json, "app_hash", app);
        cc_json_u64 (json, "tx_count", cc_block_tx_count (block));
        cc_json_array_open (json, "txs");
    }
    else
        printf ("height: %" PRIu64 "\nhash: %s\nround: %u\ntime_ms: %" PRIu64 "\nproposer: %s\n"
                "parent_hash: %s\napp_hash: %s\ntxs: %zu\n",
                cc_block_height (block), hash, cc_block_round (block), cc_block_time (block),
                proposer, parent, app, cc_block_tx_count (block));
    for (size_t index = 0; index < cc_block_tx_count (block); index++) {
        cc_tx_t *tx = cc_block_tx (block, index);
        //  For display: the verifier checked the signatures when it stored it.
        if (!cc_tx_is_open (tx))
            cc_tx_open (tx, chain_id, true, NULL);
        char tx_hash [2 * CC_HASH_SIZE + 1], signer [CC_HEX_PUBKEY_SIZE];
        cc_hex_encode (cc_tx_hash (tx), CC_HASH_SIZE, tx_hash);
        cc_hex_encode (cc_tx_signer (tx), CC_PUBKEY_SIZE, signer);
        const char *kind = cc_tx_is_open (tx) ? cc_tx_kind_name (tx) : "invalid";
        if (json) {
            cc_json_object_open (json, NULL);
            cc_json_string (json, "hash", tx_hash);
            cc_json_string (json, "kind", kind);
            cc_json_string (json, "signer", signer);
            cc_json_object_close (json);
        }
        else
            printf ("  %s %-9s %s\n", tx_hash, kind, signer);
    }
    if (json) {
        cc_json_array_close (json);
        cc_json_array_open (json, "commit_signers");
    }
    else
        printf ("commit_signers: %zu\n", signer_count);
    for (size_t index = 0; index < signer_count; index++) {
        char signer [CC_HEX_PUBKEY_SIZE];
        s_hex (commit->precommits [index]->signer, signer, CC_PUBKEY_SIZE);
        if (json)
            cc_json_string (json, NULL, signer);
        else
            printf ("  %s\n", signer);
    }
    if (json) {
        cc_json_array_close (json);
        cc_json_object_close (json);
    }
    cc_block_destroy (&block);
    return CC_CLI_EXIT_OK;
}

//  --- validators ------------------------------------------------------------------

const cc_cli_option_t cc_cli_validators_options [] = {
    { "height", CC_CLI_VALUE, "H", "the set that signs height H (default: the next height)" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

int
cc_cli_validators (cc_cli_t *cli)
{
    uint64_t height = 0;
    const char *height_text = cc_cli_option (cli, "height");
    char printable [64];
    if (height_text && cc_cli_parse_u64 (height_text, &height) != 0)
        return cc_cli_usage_error (cli, "--height: expected a number, got '%s'",
                                   cc_cli_printable (height_text, printable, sizeof (printable)));
    Certchain__GetValidators get_validators = CERTCHAIN__GET_VALIDATORS__INIT;
    get_validators.height = height;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_VALIDATORS;
    request.get_validators = &get_validators;
    Certchain__Reply *reply = NULL;
    int rc = s_ask_verifier (cli, &request, CERTCHAIN__REPLY__KIND_VALIDATORS, &reply);
    if (rc != CC_CLI_EXIT_OK)
        return rc;
    const Certchain__Validators *set = reply->validators;
    char valset [2 * CC_HASH_SIZE + 1];
    s_hex (set->valset_hash, valset, CC_HASH_SIZE);
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        cc_json_u64 (json, "height", set->height);
        cc_json_string (json, "valset_hash", valset);
        cc_json_array_open (json, "validators");
    }
    else
        printf ("height: %" PRIu64 "\nvalidators: %zu\n", set->height, set->n_validators);
    for (size_t index = 0; index < set->n_validators; index++) {
        const Certchain__ValidatorInfo *info = set->validators [index];
        const Certchain__ValidatorRecord *record = info ? info->record : NULL;
        if (!record)
            continue;
        char pubkey [CC_HEX_PUBKEY_SIZE], status [32];
        s_hex (record->pubkey, pubkey, CC_PUBKEY_SIZE);
        //  A genesis CA has no certificate record: it is a member by genesis.
        if (info->is_ca && record->status == CERTCHAIN__VALIDATOR_STATUS__STATUS_UNKNOWN)
            snprintf (status, sizeof (status), "genesis");
        else
            s_status_name ((int) record->status, status, sizeof (status));
        if (json) {
            cc_json_object_open (json, NULL);
            cc_json_string (json, "pubkey", pubkey);
            cc_json_string (json, "status", status);
            cc_json_bool (json, "is_ca", info->is_ca);
            cc_json_u64 (json, "since_height", record->since_height);
            cc_json_u64 (json, "valid_until", record->valid_until);
            cc_json_u64 (json, "last_signed_height", record->last_signed_height);
            if (record->reason && *record->reason)
                cc_json_string (json, "reason", record->reason);
            cc_json_object_close (json);
        }
        else {
            char until [24] = "never";
            if (record->valid_until && record->valid_until != UINT64_MAX)
                snprintf (until, sizeof (until), "%" PRIu64, record->valid_until);
            printf ("  %s %-8s%s since %" PRIu64 " until %s\n", pubkey, status,
                    info->is_ca ? " ca" : "", record->since_height, until);
        }
    }
    if (json) {
        cc_json_array_close (json);
        cc_json_object_close (json);
    }
    cc_rpc_reply_free (&reply);
    return CC_CLI_EXIT_OK;
}

//  --- status ----------------------------------------------------------------------

const cc_cli_option_t cc_cli_status_options [] = {
    { "validator", CC_CLI_LIST, "E", "also ask this validator admin endpoint" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

//  One service asked for its status.
typedef struct {
    const char *role;           //  "relay", "verifier", "ca" or "validator"
    const char *endpoint;       //  where it is asked (borrowed)
    cc_rpc_client_t *client;    //  its own client (owned)
    uint64_t request_id;        //  id of the GetStatus sent, 0 if not sent
    Certchain__Reply *reply;    //  its Status reply, or NULL
    cc_reason_t reason;         //  why there is none
} s_target_t;

//  Collects the reply of target before deadline (ms, monotonic).
static void
s_collect (s_target_t *target, int64_t deadline, int timeout_ms)
{
    if (target->request_id == 0)
        return;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) {
            cc_reason_set (&target->reason, CC_E_TIMEOUT, "no reply from the %s at %s within %.3g s",
                           target->role, target->endpoint, timeout_ms / 1000.0);
            return;
        }
        Certchain__Reply *reply = cc_rpc_client_recv (target->client, (int) left);
        if (!reply || reply->id != target->request_id) {
            cc_rpc_reply_free (&reply);
            continue;
        }
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error) {
            int code = -(int) reply->error->code;
            cc_reason_set (&target->reason, code, "the %s answered: %s", target->role,
                           reply->error->message ? reply->error->message
                                                 : cc_error_message (code));
            cc_rpc_reply_free (&reply);
        }
        else
        if (reply->kind_case != CERTCHAIN__REPLY__KIND_STATUS || !reply->status) {
            cc_reason_set (&target->reason, CC_E_MALFORMED, "unexpected reply from the %s",
                           target->role);
            cc_rpc_reply_free (&reply);
        }
        else
            target->reply = reply;
        return;
    }
}

static void
s_status_json (cc_json_t *json, const char *key, s_target_t *target)
{
    cc_json_object_open (json, key);
    cc_json_string (json, "endpoint", target->endpoint);
    if (!target->reply) {
        cc_json_string (json, "error", cc_reason_text (&target->reason));
        cc_json_string (json, "code", cc_error_name (target->reason.code));
        cc_json_object_close (json);
        return;
    }
    const Certchain__Status *status = target->reply->status;
    char hex [2 * CC_HASH_SIZE + 1];
    cc_json_string (json, "service", status->service);
    cc_json_string (json, "node", status->node);
    cc_json_string (json, "chain_id", status->chain_id);
    cc_json_u64 (json, "height", status->height);
    cc_json_string (json, "tip_hash", s_hex (status->tip_hash, hex, CC_HASH_SIZE));
    cc_json_string (json, "app_hash", s_hex (status->app_hash, hex, CC_HASH_SIZE));
    cc_json_u64 (json, "round", status->round);
    cc_json_u64 (json, "mempool", status->mempool);
    cc_json_u64 (json, "discarded", status->discarded);
    cc_json_u64 (json, "validators", status->validators);
    cc_json_bool (json, "in_set", status->in_set);
    cc_json_string (json, "genesis_hash", s_hex (status->genesis_hash, hex, CC_HASH_SIZE));
    if (strcmp (target->role, "ca") == 0)
        //  The CA's "mempool" is its Certify transactions not committed yet.
        cc_json_u64 (json, "pending", status->mempool);
    cc_json_object_close (json);
}

static void
s_status_line (s_target_t *target)
{
    char endpoint [64], node [24] = "-", text [256];
    cc_cli_printable (target->endpoint, endpoint, sizeof (endpoint));
    if (!target->reply) {
        printf ("%-10s %-24s error: %s\n", target->role, endpoint,
                cc_cli_printable (cc_reason_text (&target->reason), text, sizeof (text)));
        return;
    }
    const Certchain__Status *status = target->reply->status;
    if (status->node && *status->node)
        cc_cli_printable (status->node, node, 17);
    char tip [2 * CC_HASH_SIZE + 1];
    s_hex (status->tip_hash, tip, CC_HASH_SIZE);
    tip [16] = 0;
    printf ("%-10s %-24s %8" PRIu64 " %5u %7u %9" PRIu64 " %-16s %-16s %s\n", target->role,
            endpoint, status->height, status->round, status->mempool, status->discarded,
            node, tip [0] ? tip : "-", status->in_set ? "in set" : "");
}

int
cc_cli_status (cc_cli_t *cli)
{
    size_t validator_count = cc_cli_option_count (cli, "validator");
    //  The CA has a default endpoint like every service, but a network
    //  without a CA is common: it is asked only when named.
    size_t ca_count = cc_cli_endpoint_given (cli, CC_CLI_CA) ? 1 : 0;
    size_t first_validator = 2 + ca_count;
    size_t count = first_validator + validator_count;
    s_target_t *targets = (s_target_t *) calloc (count, sizeof (s_target_t));
    if (!targets)
        return cc_cli_fail (cli, CC_E_NOMEM, "out of memory");
    targets [0].role = "relay";
    targets [0].endpoint = cc_cli_endpoint (cli, CC_CLI_RELAY);
    targets [1].role = "verifier";
    targets [1].endpoint = cc_cli_endpoint (cli, CC_CLI_VERIFIER);
    if (ca_count) {
        targets [2].role = "ca";
        targets [2].endpoint = cc_cli_endpoint (cli, CC_CLI_CA);
    }
    for (size_t index = 0; index < validator_count; index++) {
        targets [first_validator + index].role = "validator";
        targets [first_validator + index].endpoint = cc_cli_option_at (cli, "validator", index);
    }
    //  Every request goes out first, then the replies are collected against
    //  one deadline: a dead service costs one timeout in all.
    Certchain__GetStatus get_status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get_status;
    for (size_t index = 0; index < count; index++) {
        s_target_t *target = &targets [index];
        target->client = cc_rpc_client_new (target->endpoint, CC_MAX_MESSAGE_SIZE);
        if (!target->client)
            cc_reason_set (&target->reason, CC_E_CONFIG, "cannot connect to '%s'",
                           target->endpoint);
        else
        if ((target->request_id = cc_rpc_client_send (target->client, &request)) == 0)
            cc_reason_set (&target->reason, CC_E_IO, "cannot send to the %s", target->role);
    }
    int timeout_ms = cc_cli_timeout_ms (cli);
    int64_t deadline = zclock_mono () + timeout_ms;
    int rc = CC_CLI_EXIT_OK;
    for (size_t index = 0; index < count; index++) {
        s_collect (&targets [index], deadline, timeout_ms);
        if (!targets [index].reply)
            rc = cc_cli_fail_reason (cli, &targets [index].reason);
    }
    cc_json_t *json = cc_cli_json (cli);
    if (json) {
        cc_json_object_open (json, NULL);
        s_status_json (json, "relay", &targets [0]);
        s_status_json (json, "verifier", &targets [1]);
        if (ca_count)
            s_status_json (json, "ca", &targets [2]);
        cc_json_array_open (json, "validators");
        for (size_t index = first_validator; index < count; index++)
            s_status_json (json, NULL, &targets [index]);
        cc_json_array_close (json);
        cc_json_object_close (json);
    }
    else {
        printf ("%-10s %-24s %8s %5s %7s %9s %-16s %-16s\n", "SERVICE", "ENDPOINT", "HEIGHT",
                "ROUND", "MEMPOOL", "DISCARDED", "NODE", "TIP");
        for (size_t index = 0; index < count; index++)
            s_status_line (&targets [index]);
    }
    for (size_t index = 0; index < count; index++) {
        cc_rpc_reply_free (&targets [index].reply);
        cc_rpc_client_destroy (&targets [index].client);
    }
    free (targets);
    return rc;
}
