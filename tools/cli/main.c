/*  =========================================================================
    certchain - the command-line tool of a CertChain network

    One table of commands; cli.c parses the command line against it and
    runs the chosen one. A new command is one entry here plus its run
    function in the module of its group: local.c (files), send.c
    (transactions), query.c (reading the chain, status), ca.c (the CA).
    =========================================================================
*/

#include "cli.h"

static const cc_cli_command_t s_commands [] = {
    { "keygen", "--out FILE [--json]",
      "make a key pair: FILE (secret, 0600) and FILE.pub (0644); prints the public key",
      0, 0, 0, cc_cli_keygen_options, cc_cli_keygen },
    { "genesis",
      "--out FILE --chain-id ID [--time-ms N] --ca KEY[:producing] ... [--validator KEY ...] "
      "[--account KEY=BALANCE ...] [--param NAME=VALUE ...] [--json]",
      "write a genesis file (KEY: 64 hex characters or @FILE.pub)",
      0, 0, 0, cc_cli_genesis_options, cc_cli_genesis },
    { "send",
      "--key FILE --to KEY --amount N [--fee N] [--nonce N] [--wait] [--timeout S] [--json]",
      "sign a transfer and submit it to the relay; --wait until committed",
      0, 0, CC_CLI_RELAY | CC_CLI_VERIFIER, cc_cli_send_options, cc_cli_send },
    { "account", "KEY [--json]", "an account's balance and nonce (from the verifier)",
      1, 1, CC_CLI_VERIFIER, cc_cli_no_options, cc_cli_account },
    { "tx", "HASH [--json]",
      "a committed transaction, its place and its checked inclusion proof",
      1, 1, CC_CLI_VERIFIER, cc_cli_no_options, cc_cli_tx },
    { "block", "HEIGHT|latest [--json]", "a committed block: header, transactions, signers",
      1, 1, CC_CLI_VERIFIER, cc_cli_no_options, cc_cli_block },
    { "status", "[--validator E ...] [--ca E] [--json]",
      "status of the relay, the verifier, the CA (if named) and the validators given",
      0, 0, CC_CLI_RELAY | CC_CLI_VERIFIER | CC_CLI_CA, cc_cli_status_options, cc_cli_status },
    { "validators", "[--height H] [--json]", "the validator set (from the verifier)",
      0, 0, CC_CLI_VERIFIER, cc_cli_validators_options, cc_cli_validators },
    { "join", "--key FILE [--data-dir DIR] [--threads N] [--wait] [--timeout S] [--json]",
      "join through the CA's challenge by hand: outcome, measured score, time taken",
      0, 0, CC_CLI_CA | CC_CLI_VERIFIER, cc_cli_join_options, cc_cli_join },
    { "revoke",
      "--key CA_KEY --node KEY --reason TEXT [--fee N] [--genesis FILE] [--wait] [--timeout S] "
      "[--json]",
      "revoke a validator (signed by a genesis CA; from the next height); --wait until committed",
      0, 0, CC_CLI_RELAY | CC_CLI_VERIFIER, cc_cli_revoke_options, cc_cli_revoke },
    { "ca-log", "[--from SEQ] [--count N] [--node KEY] [--json]",
      "the CA's audit log: one line per decision",
      0, 0, CC_CLI_CA, cc_cli_ca_log_options, cc_cli_ca_log },
    { NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

int
main (int argc, char **argv)
{
    return cc_cli_main (s_commands, argc, argv);
}
