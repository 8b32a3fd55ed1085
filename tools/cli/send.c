/*  =========================================================================
    send - build, sign and submit transactions (send, revoke)

    `certchain send --key FILE --to KEY --amount N [--fee N] [--nonce N]
    [--wait] [--timeout S]` and `certchain revoke --key CA_KEY --node KEY
    --reason TEXT [--fee N] [--wait]` share one path, cc_cli_submit: the
    chain id comes from the relay's status (the tx goes there anyway), the
    nonce from the verifier's view of the signer's account (its committed
    nonce + 1) unless one is given, and the balance is checked on the way
    so an obvious refusal is told at once instead of the transaction
    vanishing in a mempool. The body is signed with cc_tx_new and handed
    to the relay with SubmitTx.

    With --wait the verifier is asked for the transaction until it is
    committed; --timeout then bounds the whole wait (default 30 s), and
    each request within it gets at most the usual 5 s.

    DESIGN: the relay checks only a transaction's format, and a mempool
    drops one the state refuses without telling anybody, so a Revoke that
    cannot apply would simply never commit. revoke therefore checks first
    what the state will check: the signer must be a genesis CA (NOT_CA)
    and the node an active member of the next validator set (NOT_ACTIVE).
    The verifier's GetValidators shows producing CAs (is_ca); a CA that
    does not produce blocks is in no validator set, so for it --genesis
    FILE names the genesis to look the key up in (the file must be the
    network's own: its hash is compared with the relay's).
    =========================================================================
*/

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "genesis.h"
#include "tx.h"

//  How long --wait waits by default, and how often it asks.
#define S_WAIT_DEFAULT_MS 30000
#define S_WAIT_POLL_MS 200

const cc_cli_option_t cc_cli_send_options [] = {
    { "key", CC_CLI_VALUE, "FILE", "secret key file of the sender" },
    { "to", CC_CLI_VALUE, "KEY", "recipient (hex or @FILE.pub)" },
    { "amount", CC_CLI_VALUE, "N", "amount to transfer" },
    { "fee", CC_CLI_VALUE, "N", "fee (default 0)" },
    { "nonce", CC_CLI_VALUE, "N", "nonce (default: committed nonce + 1)" },
    { "wait", CC_CLI_FLAG, NULL, "wait until committed (--timeout bounds it, default 30)" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

//  Reads a required or optional number option into value.
static int
s_number (cc_cli_t *cli, const char *name, bool required, uint64_t *value)
{
    const char *text = cc_cli_option (cli, name);
    if (!text) {
        if (required)
            return cc_cli_usage_error (cli, "--%s N is required", name);
        return CC_CLI_EXIT_OK;
    }
    char printable [64];
    if (cc_cli_parse_u64 (text, value) != 0)
        return cc_cli_usage_error (cli, "--%s: expected a number, got '%s'", name,
                                   cc_cli_printable (text, printable, sizeof (printable)));
    return CC_CLI_EXIT_OK;
}

//  --- The shared path ----------------------------------------------------------

int
cc_cli_relay_chain (cc_cli_t *cli, char *chain_id, size_t size, uint8_t *genesis_hash)
{
    Certchain__GetStatus get_status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get_status;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_call (cli, CC_CLI_RELAY, &request, CERTCHAIN__REPLY__KIND_STATUS, 0, &reply,
                     &reason)
        != 0)
        return cc_cli_fail_reason (cli, &reason);
    int rc = CC_CLI_EXIT_OK;
    const char *text = reply->status->chain_id;
    if (!text || !*text || strlen (text) >= size)
        rc = cc_cli_fail (cli, CC_E_MALFORMED, "the relay did not tell its chain id");
    else
    if (genesis_hash && !cc_bytes_sized (reply->status->genesis_hash, CC_HASH_SIZE))
        rc = cc_cli_fail (cli, CC_E_MALFORMED, "the relay did not tell its genesis hash");
    else {
        snprintf (chain_id, size, "%s", text);
        if (genesis_hash)
            memcpy (genesis_hash, reply->status->genesis_hash.data, CC_HASH_SIZE);
    }
    cc_rpc_reply_free (&reply);
    return rc;
}

//  The signer's committed balance and nonce, from the verifier; an account
//  the verifier does not know has neither.
static int
s_account (cc_cli_t *cli, const uint8_t *address, uint64_t *balance, uint64_t *nonce)
{
    Certchain__GetAccount get_account = CERTCHAIN__GET_ACCOUNT__INIT;
    get_account.address = cc_bytes_view (address, CC_PUBKEY_SIZE);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_ACCOUNT;
    request.get_account = &get_account;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_cli_call (cli, CC_CLI_VERIFIER, &request, CERTCHAIN__REPLY__KIND_ACCOUNT, 0,
                          &reply, &reason);
    *balance = 0;
    *nonce = 0;
    if (rc == CC_E_NOT_FOUND)
        return CC_CLI_EXIT_OK;
    if (rc != 0)
        return cc_cli_fail_reason (cli, &reason);
    *balance = reply->account->balance;
    *nonce = reply->account->nonce;
    cc_rpc_reply_free (&reply);
    return CC_CLI_EXIT_OK;
}

//  Hands tx to the relay; the relay's verdict on it comes back per tx.
static int
s_submit (cc_cli_t *cli, cc_tx_t *tx)
{
    Certchain__SubmitTx submit = CERTCHAIN__SUBMIT_TX__INIT;
    submit.tx = (Certchain__Signed *) cc_tx_envelope (tx);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX;
    request.submit_tx = &submit;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_call (cli, CC_CLI_RELAY, &request, CERTCHAIN__REPLY__KIND_SUBMIT_RESULT, 0, &reply,
                     &reason)
        != 0)
        return cc_cli_fail_reason (cli, &reason);
    int rc = CC_CLI_EXIT_OK;
    const Certchain__SubmitResult *result = reply->submit_result;
    if (result->n_results != 1 || !result->results [0])
        rc = cc_cli_fail (cli, CC_E_MALFORMED, "the relay answered %zu results for one tx",
                          result->n_results);
    else
    if (result->results [0]->error) {
        const Certchain__Error *error = result->results [0]->error;
        int code = -(int) error->code;
        rc = cc_cli_fail (cli, code, "%s",
                          error->message && *error->message ? error->message
                                                            : cc_error_message (code));
    }
    cc_rpc_reply_free (&reply);
    return rc;
}

//  Asks the verifier for the tx until it is committed or the wait is over;
//  *height_p receives its height.
static int
s_wait (cc_cli_t *cli, const uint8_t *hash, uint64_t *height_p)
{
    int wait_ms = cc_cli_timeout_given (cli) ? cc_cli_timeout_ms (cli) : S_WAIT_DEFAULT_MS;
    int64_t deadline = zclock_mono () + wait_ms;
    Certchain__GetTx get_tx = CERTCHAIN__GET_TX__INIT;
    get_tx.hash = cc_bytes_view (hash, CC_HASH_SIZE);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_TX;
    request.get_tx = &get_tx;
    cc_reason_t last;
    cc_reason_clear (&last);
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        int request_ms = left < CC_CLI_DEFAULT_TIMEOUT_MS ? (int) left : CC_CLI_DEFAULT_TIMEOUT_MS;
        Certchain__Reply *reply = NULL;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        int rc = cc_cli_call (cli, CC_CLI_VERIFIER, &request, CERTCHAIN__REPLY__KIND_TX_INFO,
                              request_ms, &reply, &reason);
        if (rc == 0) {
            *height_p = reply->tx_info->height;
            cc_rpc_reply_free (&reply);
            return CC_CLI_EXIT_OK;
        }
        //  Not there yet (or the verifier is busy or restarting): ask again.
        last = reason;
        left = deadline - zclock_mono ();
        if (left > 0)
            zclock_sleep (left < S_WAIT_POLL_MS ? (int) left : S_WAIT_POLL_MS);
    }
    char hex [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (hash, CC_HASH_SIZE, hex);
    return cc_cli_fail (cli, CC_E_TIMEOUT, "tx %s not committed within %.3g s (last answer: %s)",
                        hex, wait_ms / 1000.0,
                        last.code ? cc_reason_text (&last) : "none");
}

int
cc_cli_submit (cc_cli_t *cli, cc_keypair_t *key, const char *chain_id, Certchain__TxBody *body,
               uint64_t spend, bool wait)
{
    int rc = CC_CLI_EXIT_OK;
    if (body->nonce == 0) {
        uint64_t balance = 0, committed_nonce = 0;
        rc = s_account (cli, cc_keypair_public (key), &balance, &committed_nonce);
        if (rc == CC_CLI_EXIT_OK && (spend > UINT64_MAX - body->fee || balance < spend + body->fee))
            rc = cc_cli_fail (cli, CC_E_INSUFFICIENT_BALANCE,
                              "insufficient balance: %" PRIu64 " available, %" PRIu64
                              " + fee %" PRIu64 " needed",
                              balance, spend, body->fee);
        body->nonce = committed_nonce + 1;
    }
    cc_tx_t *tx = NULL;
    if (rc == CC_CLI_EXIT_OK) {
        tx = cc_tx_new (key, chain_id, body);
        if (!tx)
            rc = cc_cli_fail (cli, CC_E_INTERNAL, "cannot build the transaction");
    }
    if (rc == CC_CLI_EXIT_OK)
        rc = s_submit (cli, tx);
    uint64_t height = 0;
    if (rc == CC_CLI_EXIT_OK && wait)
        rc = s_wait (cli, cc_tx_hash (tx), &height);
    if (rc == CC_CLI_EXIT_OK) {
        char hash [2 * CC_HASH_SIZE + 1];
        cc_hex_encode (cc_tx_hash (tx), CC_HASH_SIZE, hash);
        cc_json_t *json = cc_cli_json (cli);
        if (json) {
            cc_json_object_open (json, NULL);
            cc_json_string (json, "hash", hash);
            cc_json_u64 (json, "nonce", body->nonce);
            if (wait)
                cc_json_u64 (json, "height", height);
            cc_json_object_close (json);
        }
        else {
            printf ("hash: %s\n", hash);
            if (wait)
                printf ("height: %" PRIu64 "\n", height);
        }
    }
    cc_tx_destroy (&tx);
    return rc;
}

//  --- send ----------------------------------------------------------------------

int
cc_cli_send (cc_cli_t *cli)
{
    const char *key_path = cc_cli_option (cli, "key");
    const char *to_text = cc_cli_option (cli, "to");
    if (!key_path)
        return cc_cli_usage_error (cli, "--key FILE is required");
    if (!to_text)
        return cc_cli_usage_error (cli, "--to KEY is required");
    uint64_t amount = 0, fee = 0, nonce = 0;
    int rc = s_number (cli, "amount", true, &amount);
    if (rc == CC_CLI_EXIT_OK)
        rc = s_number (cli, "fee", false, &fee);
    if (rc == CC_CLI_EXIT_OK)
        rc = s_number (cli, "nonce", false, &nonce);
    if (rc != CC_CLI_EXIT_OK)
        return rc;
    if (cc_cli_option (cli, "nonce") && nonce == 0)
        return cc_cli_usage_error (cli, "--nonce: nonces start at 1");
    uint8_t to [CC_PUBKEY_SIZE];
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_parse_pubkey (to_text, to, &reason) != 0)
        return to_text [0] == '@' ? cc_cli_fail (cli, reason.code, "--to: %s",
                                                 cc_reason_text (&reason))
                                  : cc_cli_usage_error (cli, "--to: %s", cc_reason_text (&reason));
    cc_keypair_t *key = cc_keypair_load (key_path, &reason);
    if (!key)
        return cc_cli_fail_reason (cli, &reason);
    char chain_id [CC_CHAIN_ID_MAX + 1];
    rc = cc_cli_relay_chain (cli, chain_id, sizeof (chain_id), NULL);
    if (rc == CC_CLI_EXIT_OK) {
        Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
        transfer.to = cc_bytes_view (to, CC_PUBKEY_SIZE);
        transfer.amount = amount;
        Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
        body.nonce = nonce;
        body.fee = fee;
        body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
        body.transfer = &transfer;
        rc = cc_cli_submit (cli, key, chain_id, &body, amount, cc_cli_flag (cli, "wait"));
    }
    cc_keypair_destroy (&key);
    return rc;
}

//  --- revoke --------------------------------------------------------------------

const cc_cli_option_t cc_cli_revoke_options [] = {
    { "key", CC_CLI_VALUE, "FILE", "secret key file of a genesis CA" },
    { "node", CC_CLI_VALUE, "KEY", "the validator to revoke (hex or @FILE.pub)" },
    { "reason", CC_CLI_VALUE, "TEXT", "why (1 to 256 bytes, recorded on chain)" },
    { "fee", CC_CLI_VALUE, "N", "fee (default 0)" },
    { "genesis", CC_CLI_VALUE, "FILE",
      "the network's genesis, to recognise a CA that does not produce blocks" },
    { "wait", CC_CLI_FLAG, NULL, "wait until committed (--timeout bounds it, default 30)" },
    { NULL, CC_CLI_FLAG, NULL, NULL }
};

//  Is the signer a genesis CA, by the genesis file at path, which must be
//  the network's (genesis_hash, from the relay)?
static int
s_genesis_is_ca (cc_cli_t *cli, const char *path, const uint8_t *genesis_hash,
                 const uint8_t *signer, bool *is_ca)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_genesis_t *genesis = cc_genesis_load (path, &reason);
    if (!genesis)
        return cc_cli_fail (cli, reason.code, "--genesis: %s", cc_reason_text (&reason));
    int rc = CC_CLI_EXIT_OK;
    if (memcmp (cc_genesis_hash (genesis), genesis_hash, CC_HASH_SIZE) != 0) {
        char printable [128];
        rc = cc_cli_fail (cli, CC_E_WRONG_CHAIN, "--genesis: %s is not the genesis of the "
                          "relay's chain (its hash differs)",
                          cc_cli_printable (path, printable, sizeof (printable)));
    }
    else
        *is_ca = cc_genesis_is_ca (genesis, signer);
    cc_genesis_destroy (&genesis);
    return rc;
}

//  Checks what the state will check of a Revoke (see the file header):
//  the signer is a genesis CA and node an active member of the next set.
static int
s_revoke_check (cc_cli_t *cli, const uint8_t *signer, const uint8_t *node,
                const uint8_t *genesis_hash)
{
    Certchain__GetValidators get_validators = CERTCHAIN__GET_VALIDATORS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_VALIDATORS;
    request.get_validators = &get_validators;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_call (cli, CC_CLI_VERIFIER, &request, CERTCHAIN__REPLY__KIND_VALIDATORS, 0,
                     &reply, &reason)
        != 0)
        return cc_cli_fail_reason (cli, &reason);
    const Certchain__Validators *set = reply->validators;
    bool signer_is_ca = false, node_member = false, node_is_ca = false;
    for (size_t index = 0; index < set->n_validators; index++) {
        const Certchain__ValidatorInfo *info = set->validators [index];
        if (!info || !info->record || !cc_bytes_sized (info->record->pubkey, CC_PUBKEY_SIZE))
            continue;
        const uint8_t *pubkey = info->record->pubkey.data;
        if (info->is_ca && memcmp (pubkey, signer, CC_PUBKEY_SIZE) == 0)
            signer_is_ca = true;
        if (memcmp (pubkey, node, CC_PUBKEY_SIZE) == 0) {
            node_member = true;
            node_is_ca = info->is_ca;
        }
    }
    uint64_t height = set->height;
    cc_rpc_reply_free (&reply);
    const char *genesis_path = cc_cli_option (cli, "genesis");
    int rc = CC_CLI_EXIT_OK;
    if (genesis_path)
        rc = s_genesis_is_ca (cli, genesis_path, genesis_hash, signer, &signer_is_ca);
    if (rc != CC_CLI_EXIT_OK)
        return rc;
    char signer_hex [CC_HEX_PUBKEY_SIZE], node_hex [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (signer, CC_PUBKEY_SIZE, signer_hex);
    cc_hex_encode (node, CC_PUBKEY_SIZE, node_hex);
    if (!signer_is_ca) {
        if (genesis_path)
            return cc_cli_fail (cli, CC_E_NOT_CA, "the key %s is not a CA of the genesis: "
                                "only a genesis CA may revoke", signer_hex);
        return cc_cli_fail (cli, CC_E_NOT_CA, "the key %s is not a block-producing CA of the "
                            "validator set (height %" PRIu64 "): only a genesis CA may revoke "
                            "(a CA that produces no blocks: give --genesis FILE)",
                            signer_hex, height);
    }
    if (node_is_ca)
        return cc_cli_fail (cli, CC_E_UNKNOWN_NODE, "%s is a genesis CA, not a certified "
                            "validator: it cannot be revoked", node_hex);
    if (!node_member)
        return cc_cli_fail (cli, CC_E_NOT_ACTIVE, "%s is not an active validator (not in the "
                            "validator set of height %" PRIu64 ")", node_hex, height);
    return CC_CLI_EXIT_OK;
}

int
cc_cli_revoke (cc_cli_t *cli)
{
    const char *key_path = cc_cli_option (cli, "key");
    const char *node_text = cc_cli_option (cli, "node");
    const char *text = cc_cli_option (cli, "reason");
    if (!key_path)
        return cc_cli_usage_error (cli, "--key FILE is required");
    if (!node_text)
        return cc_cli_usage_error (cli, "--node KEY is required");
    if (!text)
        return cc_cli_usage_error (cli, "--reason TEXT is required");
    size_t length = strlen (text);
    if (length == 0 || length > CC_REASON_TEXT_MAX)
        return cc_cli_usage_error (cli, "--reason: 1 to %d bytes, got %zu", CC_REASON_TEXT_MAX,
                                   length);
    //  Recorded on chain and shown by every tool: text, not terminal control.
    char printable [CC_REASON_TEXT_MAX + 1];
    if (strcmp (cc_cli_printable (text, printable, sizeof (printable)), text) != 0)
        return cc_cli_usage_error (cli, "--reason: only printable UTF-8 text");
    uint64_t fee = 0;
    int rc = s_number (cli, "fee", false, &fee);
    if (rc != CC_CLI_EXIT_OK)
        return rc;
    uint8_t node [CC_PUBKEY_SIZE];
    cc_reason_t reason;
    cc_reason_clear (&reason);
    if (cc_cli_parse_pubkey (node_text, node, &reason) != 0)
        return node_text [0] == '@'
                 ? cc_cli_fail (cli, reason.code, "--node: %s", cc_reason_text (&reason))
                 : cc_cli_usage_error (cli, "--node: %s", cc_reason_text (&reason));
    cc_keypair_t *key = cc_keypair_load (key_path, &reason);
    if (!key)
        return cc_cli_fail_reason (cli, &reason);
    char chain_id [CC_CHAIN_ID_MAX + 1];
    uint8_t genesis_hash [CC_HASH_SIZE];
    rc = cc_cli_relay_chain (cli, chain_id, sizeof (chain_id), genesis_hash);
    if (rc == CC_CLI_EXIT_OK)
        rc = s_revoke_check (cli, cc_keypair_public (key), node, genesis_hash);
    if (rc == CC_CLI_EXIT_OK) {
        Certchain__Revoke revoke = CERTCHAIN__REVOKE__INIT;
        revoke.node = cc_bytes_view (node, CC_PUBKEY_SIZE);
        revoke.reason = (char *) text;
        Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
        body.fee = fee;
        body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_REVOKE;
        body.revoke = &revoke;
        rc = cc_cli_submit (cli, key, chain_id, &body, 0, cc_cli_flag (cli, "wait"));
    }
    cc_keypair_destroy (&key);
    return rc;
}
