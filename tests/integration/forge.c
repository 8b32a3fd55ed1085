/*  =========================================================================
    certchain-forge - a test-only tool that crafts what honest software
    never sends, and a few raw probes the integration tests need

    The integration tests drive real processes; most of what they do goes
    through the CLI. This tool makes the rest: blocks that a syncing node
    must discard (a never-certified proposer, a real validator out of its
    turn, a commit below quorum), transactions with a broken signature or
    replayed from the chain, junk frames for every kind of socket, two
    conflicting votes signed by one member (double-sign, the equivocation
    that Evidence punishes), and fast pre-signed transfer batches for load. It also prints raw replies
    (status with app hash, discarded blocks, metrics events, a stopped
    store's blocks, with each transaction's kind and the node it names) as
    JSON, so a test can compare nodes exactly.

    Every command prints one JSON object on stdout (dump and events print
    one per line) and exits 0, or prints one line on stderr and exits 1
    (2 for bad usage). Run `certchain-forge --help` for the commands.

    DESIGN: to build the next block, the forge needs the chain's current
    state. It rebuilds it: it opens a fresh chain in a temporary directory
    and fetches every committed block from an endpoint (--source: a relay's
    rpc socket with GetBlocks, or a verifier's query socket, one GetBlock
    per height when GetBlocks is not answered), verifying and committing
    each exactly as a syncing node would. That needs no access to another
    process's store and no stopped process, and a block that does not
    verify stops the forge loudly. The forged block is then uploaded with
    UploadBlock to --relay-rpc (a relay started with --unsafe-skip-checks
    publishes it on "blk" as it is, for the verifier to judge).
    =========================================================================
*/

#include <czmq.h>
#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "chain.h"
#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "genesis.h"
#include "rpc.h"
#include "state.h"
#include "tx.h"
#include "valset.h"

//  Largest reply the forge accepts (a GetBlocks batch of full blocks).
#define S_MAX_REPLY (64 * 1024 * 1024)
//  Blocks asked per GetBlocks request while rebuilding.
#define S_FETCH_BATCH 50
//  Most key files one option may name.
#define S_MAX_KEYS 256
//  Default wait for one reply.
#define S_TIMEOUT_MS 10000

//  --- Options ------------------------------------------------------------

//  The command line: the command and its "--name value" options.
typedef struct {
    const char *command;        //  first argument
    int count;                  //  number of options
    const char *names [64];     //  option names without "--"
    const char *values [64];    //  their values
} s_args_t;

//  The last value of option name, or fallback.
static const char *
s_opt (s_args_t *self, const char *name, const char *fallback)
{
    for (int index = self->count - 1; index >= 0; index--)
        if (streq (self->names [index], name))
            return self->values [index];
    return fallback;
}

//  The value of a required option; exits 2 when it is missing.
static const char *
s_need (s_args_t *self, const char *name)
{
    const char *value = s_opt (self, name, NULL);
    if (!value) {
        fprintf (stderr, "certchain-forge %s: --%s is required\n", self->command, name);
        exit (2);
    }
    return value;
}

//  An unsigned option; exits 2 when it is not a number.
static uint64_t
s_opt_u64 (s_args_t *self, const char *name, uint64_t fallback)
{
    const char *text = s_opt (self, name, NULL);
    if (!text)
        return fallback;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno || end == text || *end || *text == '-') {
        fprintf (stderr, "certchain-forge %s: --%s: expected a number, got '%s'\n",
                 self->command, name, text);
        exit (2);
    }
    return value;
}

//  Fails with a message on stderr and exit code 1.
static int
s_fail (const char *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "certchain-forge %s: ", command);
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    return 1;
}

//  --- JSON output -----------------------------------------------------------

static void
s_json_hex (const uint8_t *data, size_t size)
{
    putchar ('"');
    for (size_t index = 0; index < size; index++)
        printf ("%02x", data [index]);
    putchar ('"');
}

static void
s_json_bytes (ProtobufCBinaryData field)
{
    s_json_hex (field.data, field.len);
}

static void
s_json_string (const char *text)
{
    putchar ('"');
    for (const unsigned char *cursor = (const unsigned char *) (text ? text : "");
         *cursor; cursor++) {
        if (*cursor == '"' || *cursor == '\\')
            printf ("\\%c", *cursor);
        else
        if (*cursor < 0x20)
            printf ("\\u%04x", *cursor);
        else
            putchar (*cursor);
    }
    putchar ('"');
}

//  {"code":N,"name":"...","message":"..."} for an error code and message.
static void
s_json_error (int code, const char *message)
{
    printf ("{\"code\":%d,\"name\":", code < 0 ? -code : code);
    s_json_string (cc_error_name (code < 0 ? code : -code));
    printf (",\"message\":");
    s_json_string (message);
    printf ("}");
}

//  --- Keys ----------------------------------------------------------------------

//  Loads key files named by a comma-separated list, or every *.key file of
//  a directory (sorted by name). Returns their number (0 on error, with a
//  message printed); keys receive owned key pairs.
static size_t
s_load_keys (const char *command, const char *spec, cc_keypair_t **keys, size_t max)
{
    zlistx_t *paths = zlistx_new ();
    zlistx_set_destructor (paths, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_comparator (paths, (zlistx_comparator_fn *) strcmp);
    DIR *directory = opendir (spec);
    if (directory) {
        struct dirent *entry;
        while ((entry = readdir (directory))) {
            size_t length = strlen (entry->d_name);
            if (length > 4 && streq (entry->d_name + length - 4, ".key"))
                zlistx_add_end (paths, zsys_sprintf ("%s/%s", spec, entry->d_name));
        }
        closedir (directory);
        zlistx_sort (paths);
    }
    else {
        char *copy = strdup (spec);
        for (char *item = strtok (copy, ","); item; item = strtok (NULL, ","))
            zlistx_add_end (paths, strdup (item));
        free (copy);
    }
    size_t count = 0;
    for (char *path = (char *) zlistx_first (paths); path;
         path = (char *) zlistx_next (paths)) {
        if (count == max) {
            s_fail (command, "more than %zu keys", max);
            goto failed;
        }
        cc_reason_t reason;
        keys [count] = cc_keypair_load (path, &reason);
        if (!keys [count]) {
            s_fail (command, "%s: %s", path, cc_reason_text (&reason));
            goto failed;
        }
        count++;
    }
    zlistx_destroy (&paths);
    if (count == 0)
        s_fail (command, "no key files in '%s'", spec);
    return count;

failed:
    for (size_t index = 0; index < count; index++)
        cc_keypair_destroy (&keys [index]);
    zlistx_destroy (&paths);
    return 0;
}

static void
s_free_keys (cc_keypair_t **keys, size_t count)
{
    for (size_t index = 0; index < count; index++)
        cc_keypair_destroy (&keys [index]);
}

//  The key among keys whose public key is pubkey, or NULL.
static cc_keypair_t *
s_key_of (cc_keypair_t **keys, size_t count, const uint8_t *pubkey)
{
    for (size_t index = 0; index < count; index++)
        if (memcmp (cc_keypair_public (keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return keys [index];
    return NULL;
}

//  --- Requests ------------------------------------------------------------------

//  Sends request to client and waits up to S_TIMEOUT_MS for its reply.
//  0 with *reply_p (caller frees), or the error with its message in reason.
static int
s_call (cc_rpc_client_t *client, Certchain__Request *request, Certchain__Reply **reply_p,
        cc_reason_t *reason)
{
    return cc_rpc_client_call (client, request, S_TIMEOUT_MS, reply_p, reason);
}

//  --- Rebuilding the chain from an endpoint -------------------------------------

//  Asks for the one block at height (GetBlock, for endpoints that do not
//  answer GetBlocks). 0 with *reply_p (caller frees), or the error.
static int
s_fetch_one (cc_rpc_client_t *client, uint64_t height, Certchain__Reply **reply_p,
             cc_reason_t *reason)
{
    Certchain__GetBlock get = CERTCHAIN__GET_BLOCK__INIT;
    get.height = height;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCK;
    request.get_block = &get;
    return s_call (client, &request, reply_p, reason);
}

//  Verifies and commits one fetched block on chain. 0 or the verdict.
static int
s_apply (cc_chain_t *chain, const uint8_t *data, size_t size, cc_reason_t *reason)
{
    cc_block_t *block = cc_block_decode (data, size, reason);
    if (!block)
        return reason->code;
    int rc = cc_chain_commit (chain, block, NULL, reason);
    cc_block_destroy (&block);
    return rc;
}

//  Opens a fresh chain in a temporary directory (*dir_p, caller removes and
//  frees) and commits every block the source holds, up to height upto (0 =
//  all). NULL with a message printed on error.
static cc_chain_t *
s_rebuild (const char *command, cc_genesis_t *genesis, const char *source, uint64_t upto,
           char **dir_p)
{
    char template [] = "/tmp/certchain-forge-XXXXXX";
    if (!mkdtemp (template)) {
        s_fail (command, "mkdtemp: %s", strerror (errno));
        return NULL;
    }
    *dir_p = strdup (template);
    cc_reason_t reason;
    cc_chain_t *chain = cc_chain_open (template, genesis, 0, &reason);
    if (!chain) {
        s_fail (command, "open chain: %s", cc_reason_text (&reason));
        return NULL;
    }
    cc_rpc_client_t *client = cc_rpc_client_new (source, S_MAX_REPLY);
    bool batches = true;                //  false once GetBlocks is refused
    int rc = 0;
    while (rc == 0 && (upto == 0 || cc_chain_height (chain) < upto)) {
        uint64_t next = cc_chain_height (chain) + 1;
        Certchain__Reply *reply = NULL;
        if (batches) {
            Certchain__GetBlocks get = CERTCHAIN__GET_BLOCKS__INIT;
            get.from_height = next;
            get.max_count = S_FETCH_BATCH;
            Certchain__Request request = CERTCHAIN__REQUEST__INIT;
            request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCKS;
            request.get_blocks = &get;
            rc = s_call (client, &request, &reply, &reason);
            if (rc == CC_E_UNSUPPORTED || rc == CC_E_MALFORMED) {
                batches = false;        //  a verifier's query socket
                rc = 0;
                continue;
            }
            if (rc == CC_E_NOT_FOUND || rc == CC_E_WRONG_HEIGHT) {
                rc = 0;
                break;
            }
            if (rc != 0)
                break;
            if (reply->kind_case != CERTCHAIN__REPLY__KIND_BLOCKS
            ||  reply->blocks->n_blocks == 0) {
                cc_rpc_reply_free (&reply);
                break;
            }
            for (size_t index = 0; rc == 0 && index < reply->blocks->n_blocks; index++) {
                if (upto && cc_chain_height (chain) >= upto)
                    break;
                rc = s_apply (chain, reply->blocks->blocks [index].data,
                              reply->blocks->blocks [index].len, &reason);
            }
        }
        else {
            rc = s_fetch_one (client, next, &reply, &reason);
            if (rc == CC_E_NOT_FOUND || rc == CC_E_WRONG_HEIGHT) {
                rc = 0;
                break;
            }
            if (rc != 0)
                break;
            if (reply->kind_case != CERTCHAIN__REPLY__KIND_BLOCK) {
                cc_rpc_reply_free (&reply);
                break;
            }
            rc = s_apply (chain, reply->block.data, reply->block.len, &reason);
        }
        cc_rpc_reply_free (&reply);
    }
    cc_rpc_client_destroy (&client);
    if (rc != 0) {
        s_fail (command, "rebuilding from %s at height %" PRIu64 ": %s: %s", source,
                cc_chain_height (chain) + 1, cc_error_name (rc), cc_reason_text (&reason));
        cc_chain_destroy (&chain);
        return NULL;
    }
    if (upto && cc_chain_height (chain) < upto) {
        s_fail (command, "%s holds only %" PRIu64 " blocks, %" PRIu64 " needed", source,
                cc_chain_height (chain), upto);
        cc_chain_destroy (&chain);
        return NULL;
    }
    return chain;
}

//  Removes a directory tree made by s_rebuild.
static void
s_remove_tree (char **dir_p)
{
    if (*dir_p) {
        char *command = zsys_sprintf ("rm -rf '%s'", *dir_p);
        if (system (command) != 0)
            fprintf (stderr, "certchain-forge: could not remove %s\n", *dir_p);
        zstr_free (&command);
        zstr_free (dir_p);
    }
}

//  --- Forged blocks ---------------------------------------------------------------

//  Which misbehaviour a forged block shows.
typedef enum {
    S_ROGUE,            //  proposer never certified, commit by outsiders
    S_OUT_OF_TURN,      //  real member, not scheduled; commit by real keys
    S_BELOW_QUORUM,     //  scheduled proposer; commit of q - 1 real keys
} s_forgery_t;

//  Builds the next block on chain by proposer with a commit of signers,
//  uploads it to relay and prints the outcome.
static int
s_forge_block (const char *command, cc_chain_t *chain, uint32_t round, cc_keypair_t *proposer,
               cc_keypair_t **signers, size_t signer_count, const char *relay,
               const char *out_path)
{
    uint64_t height = cc_chain_height (chain) + 1;
    cc_block_t *parent = NULL;
    if (height > 1) {
        uint8_t *data = NULL;
        size_t size = 0;
        if (cc_chain_block (chain, height - 1, &data, &size) != 0)
            return s_fail (command, "cannot read block %" PRIu64, height - 1);
        parent = cc_block_decode (data, size, NULL);
        free (data);
        if (!parent)
            return s_fail (command, "cannot decode block %" PRIu64, height - 1);
    }
    uint64_t now = (uint64_t) zclock_time ();
    uint64_t time_ms = cc_chain_tip_time (chain) + 1;
    if (now > time_ms)
        time_ms = now;
    cc_block_build_args_t args = {
        .state = cc_chain_state (chain),
        .proposer = proposer,
        .height = height,
        .round = round,
        .time_ms = time_ms,
        .parent_hash = cc_chain_tip_hash (chain),
        .last_commit = parent ? cc_block_commit (parent) : NULL,
    };
    cc_reason_t reason;
    cc_block_t *block = cc_block_build (&args, NULL, &reason);
    cc_block_destroy (&parent);
    if (!block)
        return s_fail (command, "build: %s", cc_reason_text (&reason));

    const char *chain_id = cc_genesis_chain_id (cc_chain_genesis (chain));
    Certchain__Commit *commit = cc_commit_new (height, round, cc_block_hash (block));
    for (size_t index = 0; index < signer_count; index++) {
        Certchain__Signed vote;
        if (cc_vote_sign (signers [index], chain_id, CERTCHAIN__VOTE_TYPE__PRECOMMIT, height,
                          round, cc_block_hash (block), &vote) != 0
        ||  cc_commit_add (commit, &vote) != 0) {
            cc_commit_destroy (&commit);
            cc_block_destroy (&block);
            return s_fail (command, "cannot sign the commit");
        }
        cc_signed_clear (&vote);
    }
    int rc = cc_block_set_commit (block, commit);
    cc_commit_destroy (&commit);
    uint8_t *data = NULL;
    size_t size = 0;
    if (rc == 0)
        rc = cc_block_encode (block, true, &data, &size);
    if (rc != 0) {
        cc_block_destroy (&block);
        return s_fail (command, "encode: %s", cc_error_name (rc));
    }
    if (out_path) {
        FILE *file = fopen (out_path, "wb");
        if (!file || fwrite (data, 1, size, file) != size) {
            if (file)
                fclose (file);
            free (data);
            cc_block_destroy (&block);
            return s_fail (command, "%s: %s", out_path, strerror (errno));
        }
        fclose (file);
    }

    int upload_rc = 0;
    if (relay) {
        cc_rpc_client_t *client = cc_rpc_client_new (relay, S_MAX_REPLY);
        Certchain__UploadBlock upload = CERTCHAIN__UPLOAD_BLOCK__INIT;
        upload.block = cc_bytes_view (data, size);
        Certchain__Request request = CERTCHAIN__REQUEST__INIT;
        request.kind_case = CERTCHAIN__REQUEST__KIND_UPLOAD_BLOCK;
        request.upload_block = &upload;
        Certchain__Reply *reply = NULL;
        cc_reason_clear (&reason);
        upload_rc = s_call (client, &request, &reply, &reason);
        cc_rpc_reply_free (&reply);
        cc_rpc_client_destroy (&client);
    }
    printf ("{\"height\":%" PRIu64 ",\"round\":%u,\"hash\":", height, round);
    s_json_hex (cc_block_hash (block), CC_HASH_SIZE);
    printf (",\"proposer\":");
    s_json_hex (cc_keypair_public (proposer), CC_PUBKEY_SIZE);
    printf (",\"precommits\":%zu,\"size\":%zu,\"uploaded\":%s", signer_count, size,
            relay ? "true" : "false");
    if (relay && upload_rc != 0) {
        printf (",\"error\":");
        s_json_error (upload_rc, cc_reason_text (&reason));
    }
    printf ("}\n");
    free (data);
    cc_block_destroy (&block);
    return 0;
}

//  rogue-block, out-of-turn and below-quorum.
static int
s_cmd_forge (s_args_t *args, s_forgery_t forgery)
{
    const char *command = args->command;
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_load (s_need (args, "genesis"), &reason);
    if (!genesis)
        return s_fail (command, "%s", cc_reason_text (&reason));
    const char *relay = s_opt (args, "relay-rpc", NULL);
    const char *source = s_opt (args, "source", relay);
    if (!source)
        return s_fail (command, "--source or --relay-rpc is required");
    uint32_t round = (uint32_t) s_opt_u64 (args, "round", 0);

    cc_keypair_t *keys [S_MAX_KEYS] = {NULL};   //  real keys given (--keys)
    size_t key_count = 0;
    cc_keypair_t *outsiders [S_MAX_KEYS] = {NULL};      //  fresh keys, never certified
    size_t outsider_count = 0;
    cc_keypair_t *signers [S_MAX_KEYS] = {NULL};        //  borrowed from the two above
    size_t signer_count = 0;
    cc_keypair_t *proposer = NULL;                      //  borrowed, or owned_proposer
    cc_keypair_t *owned_proposer = NULL;
    char *dir = NULL;
    int rc = 1;
    cc_valset_t *valset = NULL;
    cc_chain_t *chain = NULL;

    if (forgery != S_ROGUE) {
        key_count = s_load_keys (command, s_need (args, "keys"), keys, S_MAX_KEYS);
        if (key_count == 0)
            goto done;
    }
    chain = s_rebuild (command, genesis, source, s_opt_u64 (args, "upto", 0), &dir);
    if (!chain)
        goto done;
    uint64_t height = cc_chain_height (chain) + 1;
    valset = cc_state_valset (cc_chain_state (chain), height);
    if (!valset || cc_valset_size (valset) == 0) {
        s_fail (command, "V(%" PRIu64 ") is empty", height);
        goto done;
    }
    size_t quorum = cc_valset_quorum (valset);
    const uint8_t *scheduled = cc_valset_proposer (valset, height, round);

    if (forgery == S_ROGUE) {
        const char *key_path = s_opt (args, "key", NULL);
        owned_proposer = key_path ? cc_keypair_load (key_path, &reason) : cc_keypair_new ();
        if (!owned_proposer) {
            s_fail (command, "%s: %s", key_path, cc_reason_text (&reason));
            goto done;
        }
        if (cc_valset_contains (valset, cc_keypair_public (owned_proposer))) {
            s_fail (command, "the key given is a member of V(%" PRIu64 ")", height);
            goto done;
        }
        proposer = owned_proposer;
        size_t wanted = (size_t) s_opt_u64 (args, "signers", cc_valset_size (valset));
        if (wanted > S_MAX_KEYS)
            wanted = S_MAX_KEYS;
        signers [signer_count++] = proposer;
        while (signer_count < wanted) {
            outsiders [outsider_count] = cc_keypair_new ();
            signers [signer_count++] = outsiders [outsider_count++];
        }
    }
    else {
        //  Real members among the keys given, in set order.
        cc_keypair_t *members [S_MAX_KEYS];
        size_t member_count = 0;
        for (size_t index = 0; index < cc_valset_size (valset); index++) {
            cc_keypair_t *key = s_key_of (keys, key_count, cc_valset_member (valset, index));
            if (key && member_count < S_MAX_KEYS)
                members [member_count++] = key;
        }
        if (forgery == S_OUT_OF_TURN) {
            for (size_t index = 0; index < member_count && !proposer; index++)
                if (memcmp (cc_keypair_public (members [index]), scheduled,
                            CC_PUBKEY_SIZE) != 0)
                    proposer = members [index];
            if (!proposer) {
                s_fail (command, "no key given is a member of V(%" PRIu64 ") other than "
                        "the scheduled proposer", height);
                goto done;
            }
            for (size_t index = 0; index < member_count; index++)
                signers [signer_count++] = members [index];
            if (signer_count < quorum) {
                s_fail (command, "only %zu member keys given, quorum is %zu", signer_count,
                        quorum);
                goto done;
            }
        }
        else {
            proposer = s_key_of (keys, key_count, scheduled);
            if (!proposer) {
                s_fail (command, "the key of the scheduled proposer of (%" PRIu64 ", %u) "
                        "was not given", height, round);
                goto done;
            }
            //  q - 1 members, the proposer first.
            signers [signer_count++] = proposer;
            for (size_t index = 0; index < member_count && signer_count + 1 < quorum;
                 index++)
                if (members [index] != proposer)
                    signers [signer_count++] = members [index];
            if (quorum > 1 && signer_count + 1 != quorum) {
                s_fail (command, "not enough member keys for q - 1 = %zu", quorum - 1);
                goto done;
            }
            if (quorum == 1)
                signer_count = 0;
        }
    }
    rc = s_forge_block (command, chain, round, proposer, signers, signer_count, relay,
                        s_opt (args, "out", NULL));
done:
    cc_chain_destroy (&chain);
    cc_valset_destroy (&valset);
    cc_keypair_destroy (&owned_proposer);
    s_free_keys (outsiders, outsider_count);
    s_free_keys (keys, key_count);
    s_remove_tree (&dir);
    cc_genesis_destroy (&genesis);
    return rc;
}

//  --- Transactions -------------------------------------------------------------

//  Prints a submit reply's results as "results":[{"hash","error"}...].
static void
s_print_results (Certchain__Reply *reply)
{
    printf ("\"results\":[");
    if (reply && reply->kind_case == CERTCHAIN__REPLY__KIND_SUBMIT_RESULT) {
        for (size_t index = 0; index < reply->submit_result->n_results; index++) {
            Certchain__TxResult *result = reply->submit_result->results [index];
            printf ("%s{\"hash\":", index ? "," : "");
            s_json_bytes (result->hash);
            printf (",\"error\":");
            if (result->error)
                s_json_error (result->error->code, result->error->message);
            else
                printf ("null");
            printf ("}");
        }
    }
    printf ("]");
}

//  Submits one envelope with SubmitTx to relay (when given) and prints
//  {"hash","hex","error","results"}.
static int
s_submit_one (const char *command, const char *relay, const Certchain__Signed *envelope,
              const uint8_t *hash)
{
    uint8_t *packed = NULL;
    size_t size = 0;
    if (cc_codec_pack (&envelope->base, CC_MAX_MESSAGE_SIZE, &packed, &size) != 0)
        return s_fail (command, "cannot pack the envelope");
    printf ("{\"hash\":");
    s_json_hex (hash, CC_HASH_SIZE);
    printf (",\"hex\":");
    s_json_hex (packed, size);
    free (packed);
    if (relay) {
        cc_rpc_client_t *client = cc_rpc_client_new (relay, S_MAX_REPLY);
        Certchain__SubmitTx submit = CERTCHAIN__SUBMIT_TX__INIT;
        submit.tx = (Certchain__Signed *) envelope;
        Certchain__Request request = CERTCHAIN__REQUEST__INIT;
        request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX;
        request.submit_tx = &submit;
        Certchain__Reply *reply = NULL;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        int rc = s_call (client, &request, &reply, &reason);
        printf (",\"error\":");
        if (rc != 0)
            s_json_error (rc, cc_reason_text (&reason));
        else
            printf ("null");
        printf (",");
        s_print_results (reply);
        cc_rpc_reply_free (&reply);
        cc_rpc_client_destroy (&client);
    }
    printf ("}\n");
    return 0;
}

//  bad-sig-tx: a well-formed transfer whose signature is wrong.
static int
s_cmd_bad_sig_tx (s_args_t *args)
{
    const char *command = args->command;
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_load (s_need (args, "genesis"), &reason);
    if (!genesis)
        return s_fail (command, "%s", cc_reason_text (&reason));
    cc_keypair_t *key = cc_keypair_load (s_need (args, "key"), &reason);
    if (!key) {
        cc_genesis_destroy (&genesis);
        return s_fail (command, "%s", cc_reason_text (&reason));
    }
    uint8_t to [CC_PUBKEY_SIZE];
    const char *to_hex = s_opt (args, "to", cc_keypair_public_hex (key));
    if (cc_hex_decode (to_hex, to, sizeof (to)) != 0) {
        cc_keypair_destroy (&key);
        cc_genesis_destroy (&genesis);
        return s_fail (command, "--to: expected 64 hex characters");
    }
    Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
    transfer.to = cc_bytes_view (to, sizeof (to));
    transfer.amount = s_opt_u64 (args, "amount", 1);
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = s_opt_u64 (args, "nonce", 1);
    body.fee = s_opt_u64 (args, "fee", 0);
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;
    cc_tx_t *tx = cc_tx_new (key, cc_genesis_chain_id (genesis), &body);
    int rc = 1;
    if (tx) {
        Certchain__Signed envelope;
        memset (&envelope, 0, sizeof (envelope));
        if (cc_signed_copy (cc_tx_envelope (tx), &envelope) == 0) {
            envelope.signature.data [0] ^= 0x01;
            rc = s_submit_one (command, s_opt (args, "relay-rpc", NULL), &envelope,
                               cc_tx_hash (tx));
            cc_signed_clear (&envelope);
        }
        cc_tx_destroy (&tx);
    }
    cc_keypair_destroy (&key);
    cc_genesis_destroy (&genesis);
    return rc;
}

//  replay-tx: a committed transaction fetched from --source, sent again.
static int
s_cmd_replay_tx (s_args_t *args)
{
    const char *command = args->command;
    uint8_t hash [CC_HASH_SIZE];
    if (cc_hex_decode (s_need (args, "hash"), hash, sizeof (hash)) != 0)
        return s_fail (command, "--hash: expected 64 hex characters");
    cc_rpc_client_t *client = cc_rpc_client_new (s_need (args, "source"), S_MAX_REPLY);
    Certchain__GetTx get = CERTCHAIN__GET_TX__INIT;
    get.hash = cc_bytes_view (hash, sizeof (hash));
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_TX;
    request.get_tx = &get;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    int rc = s_call (client, &request, &reply, &reason);
    cc_rpc_client_destroy (&client);
    if (rc != 0)
        return s_fail (command, "GetTx: %s: %s", cc_error_name (rc), cc_reason_text (&reason));
    if (reply->kind_case != CERTCHAIN__REPLY__KIND_TX_INFO || !reply->tx_info->tx) {
        cc_rpc_reply_free (&reply);
        return s_fail (command, "GetTx: unexpected reply");
    }
    rc = s_submit_one (command, s_opt (args, "relay-rpc", NULL), reply->tx_info->tx, hash);
    cc_rpc_reply_free (&reply);
    return rc;
}

//  transfers: count pre-signed transfers from each key, in SubmitTxBatch
//  batches. Sender s's i-th transfer (nonce start + i) goes to
//  to[(s * count + i) mod |to|]; every tx is written to --manifest.
static int
s_cmd_transfers (s_args_t *args)
{
    const char *command = args->command;
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_load (s_need (args, "genesis"), &reason);
    if (!genesis)
        return s_fail (command, "%s", cc_reason_text (&reason));
    cc_keypair_t *keys [S_MAX_KEYS] = {NULL};
    size_t key_count = s_load_keys (command, s_need (args, "keys"), keys, S_MAX_KEYS);
    if (key_count == 0) {
        cc_genesis_destroy (&genesis);
        return 1;
    }
    //  Recipients: --to HEX,HEX,... or, by default, the senders themselves
    //  shifted by one (so nobody pays itself).
    size_t to_count = 0;
    uint8_t (*to) [CC_PUBKEY_SIZE] = NULL;
    const char *to_spec = s_opt (args, "to", NULL);
    int rc = 0;
    if (to_spec) {
        to = calloc (strlen (to_spec) / 64 + 1, CC_PUBKEY_SIZE);
        char *copy = strdup (to_spec);
        for (char *item = strtok (copy, ","); item && rc == 0; item = strtok (NULL, ","))
            rc = cc_hex_decode (item, to [to_count++], CC_PUBKEY_SIZE);
        free (copy);
        if (rc != 0 || to_count == 0)
            rc = s_fail (command, "--to: expected comma-separated 64-hex public keys");
    }
    else {
        to = calloc (key_count, CC_PUBKEY_SIZE);
        for (size_t index = 0; index < key_count; index++)
            memcpy (to [to_count++], cc_keypair_public (keys [(index + 1) % key_count]),
                    CC_PUBKEY_SIZE);
    }
    uint64_t count = s_opt_u64 (args, "count", 100);
    uint64_t amount = s_opt_u64 (args, "amount", 1);
    uint64_t fee = s_opt_u64 (args, "fee", 0);
    uint64_t start = s_opt_u64 (args, "start-nonce", 1);
    size_t batch = (size_t) s_opt_u64 (args, "batch", 500);
    if (batch == 0)
        batch = 1;
    const char *relay = s_opt (args, "relay-rpc", NULL);
    const char *manifest_path = s_opt (args, "manifest", NULL);
    FILE *manifest = NULL;
    if (rc == 0 && manifest_path && !(manifest = fopen (manifest_path, "w")))
        rc = s_fail (command, "%s: %s", manifest_path, strerror (errno));

    //  Sign everything first, interleaving senders (nonce order kept per
    //  signer), so submission measures the network, not the signing.
    size_t total = (size_t) count * key_count;
    cc_tx_t **txs = rc == 0 ? calloc (total ? total : 1, sizeof (cc_tx_t *)) : NULL;
    const char *chain_id = cc_genesis_chain_id (genesis);
    for (size_t index = 0; rc == 0 && index < total; index++) {
        size_t sender = index % key_count;
        uint64_t step = index / key_count;
        const uint8_t *recipient = to [(sender * count + step) % to_count];
        Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
        transfer.to = cc_bytes_view (recipient, CC_PUBKEY_SIZE);
        transfer.amount = amount;
        Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
        body.nonce = start + step;
        body.fee = fee;
        body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
        body.transfer = &transfer;
        txs [index] = cc_tx_new (keys [sender], chain_id, &body);
        if (!txs [index]) {
            rc = s_fail (command, "cannot sign");
            break;
        }
        if (manifest) {
            char from_hex [CC_HEX_PUBKEY_SIZE], to_hex [CC_HEX_PUBKEY_SIZE];
            char hash_hex [2 * CC_HASH_SIZE + 1];
            cc_hex_encode (cc_keypair_public (keys [sender]), CC_PUBKEY_SIZE, from_hex);
            cc_hex_encode (recipient, CC_PUBKEY_SIZE, to_hex);
            cc_hex_encode (cc_tx_hash (txs [index]), CC_HASH_SIZE, hash_hex);
            fprintf (manifest, "{\"hash\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
                     "\"amount\":%" PRIu64 ",\"fee\":%" PRIu64 ",\"nonce\":%" PRIu64 "}\n",
                     hash_hex, from_hex, to_hex, amount, fee, start + step);
        }
    }
    if (manifest)
        fclose (manifest);

    size_t accepted = 0, refused = 0, batches = 0;
    zhash_t *errors = zhash_new ();     //  error name -> count (as text)
    zhash_autofree (errors);
    int64_t started = zclock_mono ();
    cc_rpc_client_t *client = relay && rc == 0 ? cc_rpc_client_new (relay, S_MAX_REPLY) : NULL;
    for (size_t first = 0; client && rc == 0 && first < total; first += batch) {
        size_t size = total - first < batch ? total - first : batch;
        Certchain__Signed **envelopes = calloc (size, sizeof (Certchain__Signed *));
        for (size_t index = 0; index < size; index++)
            envelopes [index] = (Certchain__Signed *) cc_tx_envelope (txs [first + index]);
        Certchain__SubmitTxBatch submit = CERTCHAIN__SUBMIT_TX_BATCH__INIT;
        submit.n_txs = size;
        submit.txs = envelopes;
        Certchain__Request request = CERTCHAIN__REQUEST__INIT;
        request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX_BATCH;
        request.submit_tx_batch = &submit;
        Certchain__Reply *reply = NULL;
        cc_reason_clear (&reason);
        int call_rc = s_call (client, &request, &reply, &reason);
        free (envelopes);
        batches++;
        if (call_rc != 0) {
            rc = s_fail (command, "SubmitTxBatch: %s: %s", cc_error_name (call_rc),
                         cc_reason_text (&reason));
            break;
        }
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_SUBMIT_RESULT) {
            for (size_t index = 0; index < reply->submit_result->n_results; index++) {
                Certchain__Error *error = reply->submit_result->results [index]->error;
                if (!error) {
                    accepted++;
                    continue;
                }
                refused++;
                const char *name = error->name && *error->name ? error->name
                                                               : cc_error_name (-error->code);
                char *seen = (char *) zhash_lookup (errors, name);
                char value [24];
                snprintf (value, sizeof (value), "%ld", seen ? atol (seen) + 1 : 1L);
                zhash_update (errors, name, value);   //  autofree: copied
            }
        }
        cc_rpc_reply_free (&reply);
    }
    int64_t elapsed = zclock_mono () - started;
    cc_rpc_client_destroy (&client);
    if (rc == 0) {
        printf ("{\"signed\":%zu,\"batches\":%zu,\"accepted\":%zu,\"refused\":%zu,"
                "\"elapsed_ms\":%" PRId64 ",\"errors\":{", total, batches, accepted, refused,
                elapsed);
        bool first = true;
        for (char *value = (char *) zhash_first (errors); value;
             value = (char *) zhash_next (errors)) {
            printf ("%s", first ? "" : ",");
            s_json_string (zhash_cursor (errors));
            printf (":%s", value);
            first = false;
        }
        printf ("}}\n");
    }
    zhash_destroy (&errors);
    for (size_t index = 0; txs && index < total; index++)
        cc_tx_destroy (&txs [index]);
    free (txs);
    free (to);
    s_free_keys (keys, key_count);
    cc_genesis_destroy (&genesis);
    return rc;
}

//  --- Junk -----------------------------------------------------------------------

//  Fills data with size random bytes.
static void
s_random (uint8_t *data, size_t size)
{
    for (size_t index = 0; index < size; index++)
        data [index] = (uint8_t) randombytes_uniform (256);
}

//  A packed Request{GetStatus} (caller frees).
static uint8_t *
s_status_request (size_t *size_p)
{
    Certchain__GetStatus status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.id = 42;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &status;
    uint8_t *data = NULL;
    if (cc_codec_pack (&request.base, CC_MAX_MESSAGE_SIZE, &data, size_p) != 0)
        return NULL;
    return data;
}

//  One junk message of kind for a socket of the given role ("rpc": a
//  request socket; "pub": a gossip topic). Caller destroys it.
static zmsg_t *
s_junk_message (const char *kind, bool rpc, size_t max_size, size_t serial)
{
    static const char *topics [] = {"tx", "cns", "evt", "blk", "zzz"};
    const char *type = rpc ? CC_FRAME_REQUEST : topics [serial % 5];
    zmsg_t *message = zmsg_new ();
    uint8_t buffer [1024];
    if (streq (kind, "random")) {
        size_t frames = 1 + randombytes_uniform (3);
        for (size_t index = 0; index < frames; index++) {
            size_t size = randombytes_uniform (sizeof (buffer));
            s_random (buffer, size);
            zmsg_addmem (message, buffer, size);
        }
    }
    else
    if (streq (kind, "badproto")) {
        size_t size = 1 + randombytes_uniform (sizeof (buffer) - 1);
        s_random (buffer, size);
        zmsg_addstr (message, type);
        zmsg_addmem (message, buffer, size);
    }
    else
    if (streq (kind, "truncated")) {
        size_t size = 0;
        uint8_t *data = NULL;
        if (rpc)
            data = s_status_request (&size);
        else {
            //  A well-formed envelope, cut short.
            Certchain__Signed envelope = CERTCHAIN__SIGNED__INIT;
            s_random (buffer, 200);
            envelope.body = cc_bytes_view (buffer, 100);
            envelope.signature = cc_bytes_view (buffer + 100, CC_SIGNATURE_SIZE);
            envelope.signer = cc_bytes_view (buffer + 164, CC_PUBKEY_SIZE);
            cc_codec_pack (&envelope.base, CC_MAX_MESSAGE_SIZE, &data, &size);
        }
        zmsg_addstr (message, type);
        zmsg_addmem (message, data, size > 1 ? 1 + randombytes_uniform ((uint32_t) size - 1)
                                             : 0);
        free (data);
    }
    else
    if (streq (kind, "oversized")) {
        size_t size = max_size + 1;
        uint8_t *data = calloc (1, size);
        zmsg_addstr (message, type);
        zmsg_addmem (message, data, size);
        free (data);
    }
    else
    if (streq (kind, "badtype")) {
        size_t size = 0;
        uint8_t *data = s_status_request (&size);
        zmsg_addstr (message, rpc ? "rep" : "nope");
        zmsg_addmem (message, data, size);
        free (data);
    }
    else
    if (streq (kind, "frames")) {
        size_t size = 0;
        uint8_t *data = s_status_request (&size);
        zmsg_addstr (message, type);
        if (serial % 2) {
            zmsg_addmem (message, data, size);
            zmsg_addmem (message, data, size);
        }
        free (data);
    }
    else
    if (streq (kind, "empty"))
        zmsg_addmem (message, NULL, 0);
    else
        zmsg_destroy (&message);
    return message;
}

//  junk: sends --count junk messages of --kind (random, badproto,
//  truncated, oversized, badtype, frames, empty, or all) to --endpoint as
//  --socket dealer (to a ROUTER) or pub (into an XSUB), then reports the
//  replies a dealer got. An oversized message makes the peer's socket drop
//  the connection, and with it replies not yet delivered: "all" sends it
//  last, and a test that counts replies sends each kind on its own.
static int
s_cmd_junk (s_args_t *args)
{
    const char *command = args->command;
    const char *endpoint = s_need (args, "endpoint");
    const char *socket_type = s_opt (args, "socket", "dealer");
    const char *kind = s_opt (args, "kind", "all");
    size_t count = (size_t) s_opt_u64 (args, "count", 20);
    size_t max_size = (size_t) s_opt_u64 (args, "max-size", CC_MAX_MESSAGE_SIZE);
    bool rpc = streq (socket_type, "dealer");
    if (!rpc && !streq (socket_type, "pub"))
        return s_fail (command, "--socket: dealer or pub");
    static const char *kinds [] = {"random", "badproto", "truncated", "badtype", "frames",
                                   "empty", "oversized"};
    zsock_t *socket = rpc ? zsock_new (ZMQ_DEALER) : zsock_new (ZMQ_PUB);
    zsock_set_linger (socket, 2000);
    zsock_set_sndhwm (socket, 100000);
    if (zsock_connect (socket, "%s", endpoint) != 0) {
        zsock_destroy (&socket);
        return s_fail (command, "cannot connect to %s", endpoint);
    }
    //  A PUB drops what it sends before the XSUB's subscription arrives:
    //  let it settle first (a DEALER queues until connected).
    if (!rpc)
        zclock_sleep (300);
    size_t sent = 0;
    for (size_t serial = 0; serial < count; serial++) {
        const char *this_kind = kind;
        if (streq (kind, "all")) {
            //  Oversized ones make a ROUTER drop the connection: send them last.
            size_t kinds_count = sizeof (kinds) / sizeof (kinds [0]);
            this_kind = serial + 1 == count ? "oversized"
                                            : kinds [serial % (kinds_count - 1)];
        }
        zmsg_t *message = s_junk_message (this_kind, rpc, max_size, serial);
        if (!message) {
            zsock_destroy (&socket);
            return s_fail (command, "--kind: unknown kind '%s'", this_kind);
        }
        if (zmsg_send (&message, socket) == 0)
            sent++;
        zmsg_destroy (&message);
    }
    size_t replies = 0;
    zhash_t *errors = zhash_new ();
    zhash_autofree (errors);
    if (rpc) {
        zpoller_t *poller = zpoller_new (socket, NULL);
        //  Until every message was answered, or --wait-ms passed, or (after
        //  a first reply) the socket stayed quiet for 300 ms.
        int64_t deadline = zclock_mono () + (int64_t) s_opt_u64 (args, "wait-ms", 2000);
        while (zclock_mono () < deadline && replies < sent) {
            int64_t wait = deadline - zclock_mono ();
            if (replies > 0 && wait > 300)
                wait = 300;
            if (!zpoller_wait (poller, (int) wait))
                break;
            zmsg_t *message = zmsg_recv (socket);
            if (!message)
                break;
            replies++;
            zframe_t *type = zmsg_first (message);
            zframe_t *payload = zmsg_next (message);
            const char *name = "UNREADABLE";
            Certchain__Reply *reply = NULL;
            if (type && payload && zframe_streq (type, CC_FRAME_REPLY))
                reply = certchain__reply__unpack (NULL, zframe_size (payload),
                                                  zframe_data (payload));
            if (reply && reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR)
                name = cc_error_name (-reply->error->code);
            else
            if (reply)
                name = "NOT_AN_ERROR";
            char *seen = (char *) zhash_lookup (errors, name);
            char value [24];
            snprintf (value, sizeof (value), "%ld", seen ? atol (seen) + 1 : 1L);
            zhash_update (errors, name, value);   //  autofree: copied
            if (reply)
                certchain__reply__free_unpacked (reply, NULL);
            zmsg_destroy (&message);
        }
        zpoller_destroy (&poller);
    }
    else
        zclock_sleep (200);
    printf ("{\"sent\":%zu,\"replies\":%zu,\"errors\":{", sent, replies);
    bool first = true;
    for (char *value = (char *) zhash_first (errors); value;
         value = (char *) zhash_next (errors)) {
        printf ("%s", first ? "" : ",");
        s_json_string (zhash_cursor (errors));
        printf (":%s", value);
        first = false;
    }
    printf ("}}\n");
    zhash_destroy (&errors);
    zsock_destroy (&socket);
    return 0;
}

//  publish: sends one [topic][bytes of --hex] message on a PUB connected to
//  a relay's gossip (a replayed or broken tx through the gossip path).
static int
s_cmd_publish (s_args_t *args)
{
    const char *command = args->command;
    const char *hex = s_need (args, "hex");
    size_t size = strlen (hex) / 2;
    uint8_t *data = malloc (size ? size : 1);
    if (strlen (hex) % 2 || cc_hex_decode (hex, data, size) != 0) {
        free (data);
        return s_fail (command, "--hex: expected hex bytes");
    }
    zsock_t *socket = zsock_new (ZMQ_PUB);
    zsock_set_linger (socket, 2000);
    int rc = 0;
    if (zsock_connect (socket, "%s", s_need (args, "endpoint")) != 0)
        rc = s_fail (command, "cannot connect");
    else {
        zclock_sleep (300);
        size_t repeat = (size_t) s_opt_u64 (args, "repeat", 1);
        for (size_t index = 0; index < repeat; index++)
            cc_rpc_send_bytes (socket, NULL, s_opt (args, "topic", CC_TOPIC_TX), data, size);
        zclock_sleep (100);
        printf ("{\"sent\":%zu}\n", repeat);
    }
    zsock_destroy (&socket);
    free (data);
    return rc;
}

//  bad-vote: a prevote by --key for (--height, --round) on a random block
//  hash, its signature broken unless --valid 1, published on "cns" into
//  the relay's gossip (--endpoint).
static int
s_cmd_bad_vote (s_args_t *args)
{
    const char *command = args->command;
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_load (s_need (args, "genesis"), &reason);
    if (!genesis)
        return s_fail (command, "%s", cc_reason_text (&reason));
    cc_keypair_t *key = cc_keypair_load (s_need (args, "key"), &reason);
    if (!key) {
        cc_genesis_destroy (&genesis);
        return s_fail (command, "%s", cc_reason_text (&reason));
    }
    uint8_t hash [CC_HASH_SIZE];
    s_random (hash, sizeof (hash));
    Certchain__Signed vote;
    int rc = cc_vote_sign (key, cc_genesis_chain_id (genesis), CERTCHAIN__VOTE_TYPE__PREVOTE,
                           s_opt_u64 (args, "height", 1),
                           (uint32_t) s_opt_u64 (args, "round", 0), hash, &vote);
    if (rc == 0) {
        if (s_opt_u64 (args, "valid", 0) == 0)
            vote.signature.data [0] ^= 0x01;
        Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
        message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE;
        message.vote = &vote;
        zsock_t *socket = zsock_new (ZMQ_PUB);
        zsock_set_linger (socket, 2000);
        if (zsock_connect (socket, "%s", s_need (args, "endpoint")) != 0)
            rc = s_fail (command, "cannot connect");
        else {
            zclock_sleep (300);
            size_t repeat = (size_t) s_opt_u64 (args, "repeat", 1);
            for (size_t index = 0; index < repeat; index++)
                cc_rpc_send (socket, NULL, CC_TOPIC_CONSENSUS, &message.base);
            zclock_sleep (100);
            printf ("{\"sent\":%zu}\n", repeat);
        }
        zsock_destroy (&socket);
        cc_signed_clear (&vote);
    }
    else
        rc = s_fail (command, "cannot sign: %s", cc_error_name (rc));
    cc_keypair_destroy (&key);
    cc_genesis_destroy (&genesis);
    return rc;
}

//  The height a network is deciding: the tip of --source (GetStatus) + 1.
//  0 with a message printed on failure.
static uint64_t
s_deciding_height (s_args_t *args)
{
    cc_rpc_client_t *client = cc_rpc_client_new (s_need (args, "source"), S_MAX_REPLY);
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    uint64_t height = 0;
    int rc = s_call (client, &request, &reply, &reason);
    if (rc != 0)
        s_fail (args->command, "status of --source: %s: %s", cc_error_name (rc),
                cc_reason_text (&reason));
    else
    if (reply->kind_case != CERTCHAIN__REPLY__KIND_STATUS || !reply->status)
        s_fail (args->command, "status of --source: unexpected reply kind %d",
                (int) reply->kind_case);
    else
        height = reply->status->height + 1;
    cc_rpc_reply_free (&reply);
    cc_rpc_client_destroy (&client);
    return height;
}

//  double-sign: equivocation by a member. --key signs two votes of one
//  type (--type prevote, the default, or precommit) for the same height
//  and round (--round, default 0) on two different random block hashes,
//  both with valid signatures, and publishes both on "cns" into the
//  relay's gossip (--endpoint). The height is --height, or the tip of
//  --source + 1 read once the PUB socket is connected, so the votes reach
//  the validators while they decide that height; --ahead N sends a pair
//  for each of the N following heights as well (kept by consensus as
//  future messages), in case the chain moved on meanwhile. --repeat sends
//  each vote again, its resend field set so the relay's dedupe lets it
//  through. Prints {"heights":[...],"round","type","sent","hashes":[a,b]}.
static int
s_cmd_double_sign (s_args_t *args)
{
    const char *command = args->command;
    const char *type_name = s_opt (args, "type", "prevote");
    Certchain__VoteType type;
    if (streq (type_name, "prevote"))
        type = CERTCHAIN__VOTE_TYPE__PREVOTE;
    else
    if (streq (type_name, "precommit"))
        type = CERTCHAIN__VOTE_TYPE__PRECOMMIT;
    else {
        fprintf (stderr, "certchain-forge %s: --type: prevote or precommit\n", command);
        return 2;
    }
    if (!s_opt (args, "height", NULL) && !s_opt (args, "source", NULL)) {
        fprintf (stderr, "certchain-forge %s: --height or --source is required\n", command);
        return 2;
    }
    const char *endpoint = s_need (args, "endpoint");
    uint32_t round = (uint32_t) s_opt_u64 (args, "round", 0);
    uint64_t ahead = s_opt_u64 (args, "ahead", 0);
    size_t repeat = (size_t) s_opt_u64 (args, "repeat", 1);
    if (ahead > 16 || repeat == 0 || repeat > 100) {
        fprintf (stderr, "certchain-forge %s: --ahead at most 16, --repeat 1 to 100\n", command);
        return 2;
    }
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_load (s_need (args, "genesis"), &reason);
    if (!genesis)
        return s_fail (command, "%s", cc_reason_text (&reason));
    cc_keypair_t *key = cc_keypair_load (s_need (args, "key"), &reason);
    if (!key) {
        cc_genesis_destroy (&genesis);
        return s_fail (command, "%s", cc_reason_text (&reason));
    }
    zsock_t *socket = zsock_new (ZMQ_PUB);
    zsock_set_linger (socket, 2000);
    int rc = 0;
    if (zsock_connect (socket, "%s", endpoint) != 0)
        rc = s_fail (command, "cannot connect to %s", endpoint);
    uint64_t first = 0;
    if (rc == 0) {
        //  The relay's XSUB must have taken the connection before a message
        //  is sent, or PUB drops it; the height is read after that wait.
        zclock_sleep (300);
        first = s_opt (args, "height", NULL) ? s_opt_u64 (args, "height", 1)
                                              : s_deciding_height (args);
        if (first == 0)
            rc = 1;
    }
    uint8_t hashes [2][CC_HASH_SIZE];
    s_random (hashes [0], CC_HASH_SIZE);
    do
        s_random (hashes [1], CC_HASH_SIZE);
    while (memcmp (hashes [0], hashes [1], CC_HASH_SIZE) == 0);
    size_t sent = 0;
    for (uint64_t height = first; rc == 0 && height <= first + ahead; height++) {
        for (size_t which = 0; rc == 0 && which < 2; which++) {
            Certchain__Signed vote;
            rc = cc_vote_sign (key, cc_genesis_chain_id (genesis), type, height, round,
                               hashes [which], &vote);
            if (rc != 0) {
                rc = s_fail (command, "cannot sign: %s", cc_error_name (rc));
                break;
            }
            Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
            message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE;
            message.vote = &vote;
            for (size_t copy = 0; copy < repeat; copy++) {
                message.resend = copy ? (uint64_t) zclock_time () + copy : 0;
                if (cc_rpc_send (socket, NULL, CC_TOPIC_CONSENSUS, &message.base) == 0)
                    sent++;
            }
            cc_signed_clear (&vote);
        }
    }
    if (rc == 0) {
        zclock_sleep (100);
        printf ("{\"heights\":[");
        for (uint64_t height = first; height <= first + ahead; height++)
            printf ("%s%" PRIu64, height > first ? "," : "", height);
        printf ("],\"round\":%u,\"type\":", round);
        s_json_string (type_name);
        printf (",\"validator\":\"%s\",\"sent\":%zu,\"hashes\":[", cc_keypair_public_hex (key),
                sent);
        s_json_hex (hashes [0], CC_HASH_SIZE);
        printf (",");
        s_json_hex (hashes [1], CC_HASH_SIZE);
        printf ("]}\n");
    }
    zsock_destroy (&socket);
    cc_keypair_destroy (&key);
    cc_genesis_destroy (&genesis);
    return rc;
}

//  --- Queries ------------------------------------------------------------------

//  Prints a Status reply's fields as JSON.
static void
s_print_status (const Certchain__Status *status)
{
    printf ("{\"service\":");
    s_json_string (status->service);
    printf (",\"node\":");
    s_json_string (status->node);
    printf (",\"chain_id\":");
    s_json_string (status->chain_id);
    printf (",\"height\":%" PRIu64 ",\"tip_hash\":", status->height);
    s_json_bytes (status->tip_hash);
    printf (",\"app_hash\":");
    s_json_bytes (status->app_hash);
    printf (",\"round\":%u,\"mempool\":%u,\"discarded\":%" PRIu64 ",\"validators\":%u,"
            "\"in_set\":%s,\"genesis_hash\":", status->round, status->mempool,
            status->discarded, status->validators, status->in_set ? "true" : "false");
    s_json_bytes (status->genesis_hash);
    printf ("}\n");
}

//  Sends request to --endpoint; prints an error and returns NULL on failure.
static Certchain__Reply *
s_query (s_args_t *args, Certchain__Request *request, Certchain__Reply__KindCase expected)
{
    cc_rpc_client_t *client = cc_rpc_client_new (s_need (args, "endpoint"), S_MAX_REPLY);
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_rpc_client_call (client, request,
                                 (int) s_opt_u64 (args, "timeout-ms", S_TIMEOUT_MS), &reply,
                                 &reason);
    cc_rpc_client_destroy (&client);
    if (rc != 0) {
        s_fail (args->command, "%s: %s", cc_error_name (rc), cc_reason_text (&reason));
        return NULL;
    }
    if (reply->kind_case != expected) {
        s_fail (args->command, "unexpected reply kind %d", (int) reply->kind_case);
        cc_rpc_reply_free (&reply);
    }
    return reply;
}

//  status: GetStatus of any service, with hashes.
static int
s_cmd_status (s_args_t *args)
{
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    Certchain__Reply *reply = s_query (args, &request, CERTCHAIN__REPLY__KIND_STATUS);
    if (!reply)
        return 1;
    s_print_status (reply->status);
    cc_rpc_reply_free (&reply);
    return 0;
}

//  discarded: ListDiscarded of a verifier.
static int
s_cmd_discarded (s_args_t *args)
{
    Certchain__ListDiscarded list = CERTCHAIN__LIST_DISCARDED__INIT;
    list.from_seq = s_opt_u64 (args, "from", 0);
    list.max_count = (uint32_t) s_opt_u64 (args, "max", 1000);
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_LIST_DISCARDED;
    request.list_discarded = &list;
    Certchain__Reply *reply = s_query (args, &request, CERTCHAIN__REPLY__KIND_DISCARDED);
    if (!reply)
        return 1;
    printf ("{\"discarded\":[");
    for (size_t index = 0; index < reply->discarded->n_discarded; index++) {
        Certchain__Discarded *item = reply->discarded->discarded [index];
        printf ("%s{\"seq\":%" PRIu64 ",\"height\":%" PRIu64 ",\"hash\":", index ? "," : "",
                item->seq, item->height);
        s_json_bytes (item->block_hash);
        printf (",\"proposer\":");
        s_json_bytes (item->proposer);
        printf (",\"code\":%d,\"name\":", item->code);
        s_json_string (cc_error_name (-item->code));
        printf (",\"reason\":");
        s_json_string (item->reason);
        printf (",\"time_ms\":%" PRIu64 "}", item->time_ms);
    }
    printf ("]}\n");
    cc_rpc_reply_free (&reply);
    return 0;
}

//  Prints ,"tx_list":[...]: each transaction's hash, kind and signer, and
//  for the governance kinds the node it names ("node": a Certify's or a
//  Revoke's node, an Evidence's offender, who signed its votes) with
//  valid_until (Certify) or reason (Revoke). The bodies are opened without
//  a signature check: the block was verified where it came from, and this
//  only prints.
static void
s_print_tx_details (cc_block_t *block)
{
    printf (",\"tx_list\":[");
    for (size_t index = 0; index < cc_block_tx_count (block); index++) {
        cc_tx_t *tx = cc_block_tx (block, index);
        cc_reason_t reason;
        const Certchain__TxBody *body = NULL;
        if (cc_tx_is_open (tx)
        ||  cc_tx_open (tx, cc_block_chain_id (block), true, &reason) == 0)
            body = cc_tx_body (tx);
        printf ("%s{\"hash\":", index ? "," : "");
        s_json_hex (cc_tx_hash (tx), CC_HASH_SIZE);
        printf (",\"kind\":");
        s_json_string (body ? cc_tx_kind_name (tx) : "undecodable");
        printf (",\"signer\":");
        s_json_hex (cc_tx_signer (tx), CC_PUBKEY_SIZE);
        if (body) {
            printf (",\"nonce\":%" PRIu64, body->nonce);
            if (body->payload_case == CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY && body->certify) {
                printf (",\"node\":");
                s_json_bytes (body->certify->node);
                printf (",\"valid_until\":%" PRIu64, body->certify->valid_until);
            }
            else
            if (body->payload_case == CERTCHAIN__TX_BODY__PAYLOAD_REVOKE && body->revoke) {
                printf (",\"node\":");
                s_json_bytes (body->revoke->node);
                printf (",\"reason\":");
                s_json_string (body->revoke->reason);
            }
            else
            if (body->payload_case == CERTCHAIN__TX_BODY__PAYLOAD_EVIDENCE && body->evidence
            &&  body->evidence->vote_a) {
                printf (",\"node\":");
                s_json_bytes (body->evidence->vote_a->signer);
            }
        }
        printf ("}");
    }
    printf ("]");
}

//  Prints one block as a JSON line; with_txs adds its tx hashes, detail
//  each transaction's kind, signer and node (s_print_tx_details) and the
//  signers of the block's commit.
static int
s_print_block (const uint8_t *data, size_t size, bool with_txs, bool detail)
{
    cc_reason_t reason;
    cc_block_t *block = cc_block_decode (data, size, &reason);
    if (!block) {
        fprintf (stderr, "certchain-forge: undecodable block: %s\n", cc_reason_text (&reason));
        return 1;
    }
    const Certchain__Commit *commit = cc_block_commit (block);
    printf ("{\"height\":%" PRIu64 ",\"round\":%u,\"time_ms\":%" PRIu64 ",\"hash\":",
            cc_block_height (block), cc_block_round (block), cc_block_time (block));
    s_json_hex (cc_block_hash (block), CC_HASH_SIZE);
    printf (",\"parent\":");
    s_json_hex (cc_block_parent_hash (block), CC_HASH_SIZE);
    printf (",\"app_hash\":");
    s_json_hex (cc_block_app_hash (block), CC_HASH_SIZE);
    printf (",\"proposer\":");
    s_json_hex (cc_block_proposer (block), CC_PUBKEY_SIZE);
    printf (",\"txs\":%zu,\"precommits\":%zu", cc_block_tx_count (block),
            commit ? commit->n_precommits : 0);
    if (with_txs) {
        printf (",\"tx_hashes\":[");
        for (size_t index = 0; index < cc_block_tx_count (block); index++) {
            printf ("%s", index ? "," : "");
            s_json_hex (cc_tx_hash (cc_block_tx (block, index)), CC_HASH_SIZE);
        }
        printf ("]");
    }
    if (detail) {
        s_print_tx_details (block);
        //  Who signed this block's own commit (its precommits' signers).
        printf (",\"signers\":[");
        for (size_t index = 0; commit && index < commit->n_precommits; index++) {
            printf ("%s", index ? "," : "");
            s_json_bytes (commit->precommits [index]->signer);
        }
        printf ("]");
    }
    printf ("}\n");
    cc_block_destroy (&block);
    return 0;
}

//  blocks: every block from --from to --to (0 = the tip) of an endpoint,
//  one JSON line each (GetBlocks, or GetBlock per height).
static int
s_cmd_blocks (s_args_t *args)
{
    const char *command = args->command;
    uint64_t from = s_opt_u64 (args, "from", 1);
    uint64_t to = s_opt_u64 (args, "to", 0);
    bool with_txs = s_opt (args, "txs", NULL) != NULL;
    bool detail = s_opt (args, "detail", NULL) != NULL;
    cc_rpc_client_t *client = cc_rpc_client_new (s_need (args, "endpoint"), S_MAX_REPLY);
    bool batches = true;
    int rc = 0;
    cc_reason_t reason;
    uint64_t next = from;
    while (rc == 0 && (to == 0 || next <= to)) {
        Certchain__Reply *reply = NULL;
        if (batches) {
            Certchain__GetBlocks get = CERTCHAIN__GET_BLOCKS__INIT;
            get.from_height = next;
            get.max_count = S_FETCH_BATCH;
            Certchain__Request request = CERTCHAIN__REQUEST__INIT;
            request.kind_case = CERTCHAIN__REQUEST__KIND_GET_BLOCKS;
            request.get_blocks = &get;
            rc = s_call (client, &request, &reply, &reason);
            if (rc == CC_E_UNSUPPORTED || rc == CC_E_MALFORMED) {
                batches = false;
                rc = 0;
                continue;
            }
        }
        else
            rc = s_fetch_one (client, next, &reply, &reason);
        if (rc == CC_E_NOT_FOUND || rc == CC_E_WRONG_HEIGHT) {
            rc = 0;
            break;
        }
        if (rc != 0) {
            s_fail (command, "%s: %s", cc_error_name (rc), cc_reason_text (&reason));
            break;
        }
        size_t got = 0;
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_BLOCKS) {
            for (size_t index = 0; rc == 0 && index < reply->blocks->n_blocks; index++) {
                if (to && next > to)
                    break;
                rc = s_print_block (reply->blocks->blocks [index].data,
                                    reply->blocks->blocks [index].len, with_txs, detail);
                next++;
                got++;
            }
        }
        else
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_BLOCK) {
            rc = s_print_block (reply->block.data, reply->block.len, with_txs, detail);
            next++;
            got++;
        }
        cc_rpc_reply_free (&reply);
        if (got == 0)
            break;
    }
    cc_rpc_client_destroy (&client);
    return rc;
}

//  account: GetAccount.
static int
s_cmd_account (s_args_t *args)
{
    uint8_t address [CC_PUBKEY_SIZE];
    if (cc_hex_decode (s_need (args, "address"), address, sizeof (address)) != 0)
        return s_fail (args->command, "--address: expected 64 hex characters");
    Certchain__GetAccount get = CERTCHAIN__GET_ACCOUNT__INIT;
    get.address = cc_bytes_view (address, sizeof (address));
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_ACCOUNT;
    request.get_account = &get;
    Certchain__Reply *reply = s_query (args, &request, CERTCHAIN__REPLY__KIND_ACCOUNT);
    if (!reply)
        return 1;
    printf ("{\"address\":");
    s_json_bytes (reply->account->address);
    printf (",\"balance\":%" PRIu64 ",\"nonce\":%" PRIu64 ",\"height\":%" PRIu64 "}\n",
            reply->account->balance, reply->account->nonce, reply->account->height);
    cc_rpc_reply_free (&reply);
    return 0;
}

//  events: MetricsEvents seen on a pub socket for --seconds, one JSON line
//  each (optionally only --service's).
static int
s_cmd_events (s_args_t *args)
{
    zsock_t *socket = zsock_new_sub (s_need (args, "endpoint"), CC_TOPIC_EVENT);
    if (!socket)
        return s_fail (args->command, "cannot connect");
    const char *service = s_opt (args, "service", NULL);
    int64_t deadline = zclock_mono () + 1000 * (int64_t) s_opt_u64 (args, "seconds", 2);
    zpoller_t *poller = zpoller_new (socket, NULL);
    while (zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            break;
        zmsg_t *message = zmsg_recv (socket);
        if (!message)
            break;
        zframe_t *topic = zmsg_first (message);
        zframe_t *payload = zmsg_next (message);
        Certchain__MetricsEvent *event = NULL;
        if (topic && payload && zframe_streq (topic, CC_TOPIC_EVENT))
            event = certchain__metrics_event__unpack (NULL, zframe_size (payload),
                                                      zframe_data (payload));
        if (event && (!service || streq (event->service, service))) {
            printf ("{\"service\":");
            s_json_string (event->service);
            printf (",\"node\":");
            s_json_string (event->node);
            printf (",\"height\":%" PRIu64 ",\"round\":%u,\"mempool\":%u,"
                    "\"committed_txs\":%" PRIu64 ",\"discarded\":%" PRIu64
                    ",\"errors\":%" PRIu64 ",\"counters\":{", event->height, event->round,
                    event->mempool, event->committed_txs, event->discarded, event->errors);
            for (size_t index = 0; index < event->n_counters; index++) {
                printf ("%s", index ? "," : "");
                s_json_string (event->counters [index]->name);
                printf (":%" PRIu64, event->counters [index]->value);
            }
            printf ("}}\n");
            fflush (stdout);
        }
        if (event)
            certchain__metrics_event__free_unpacked (event, NULL);
        zmsg_destroy (&message);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&socket);
    return 0;
}

//  dump: every block of a (stopped) process's store, one JSON line each.
static int
s_cmd_dump (s_args_t *args)
{
    const char *command = args->command;
    cc_reason_t reason;
    cc_genesis_t *genesis = cc_genesis_load (s_need (args, "genesis"), &reason);
    if (!genesis)
        return s_fail (command, "%s", cc_reason_text (&reason));
    cc_chain_t *chain = cc_chain_open (s_need (args, "store"), genesis, 0, &reason);
    if (!chain) {
        cc_genesis_destroy (&genesis);
        return s_fail (command, "%s", cc_reason_text (&reason));
    }
    bool with_txs = s_opt (args, "txs", NULL) != NULL;
    bool detail = s_opt (args, "detail", NULL) != NULL;
    int rc = 0;
    for (uint64_t height = 1; rc == 0 && height <= cc_chain_height (chain); height++) {
        uint8_t *data = NULL;
        size_t size = 0;
        rc = cc_chain_block (chain, height, &data, &size);
        if (rc == 0)
            rc = s_print_block (data, size, with_txs, detail);
        free (data);
    }
    printf ("{\"tip\":%" PRIu64 ",\"app_hash\":", cc_chain_height (chain));
    s_json_hex (cc_state_app_hash (cc_chain_state (chain)), CC_HASH_SIZE);
    printf ("}\n");
    cc_chain_destroy (&chain);
    cc_genesis_destroy (&genesis);
    return rc ? s_fail (command, "reading blocks: %s", cc_error_name (rc)) : 0;
}

//  keys: --count fresh key files DIR/PREFIX-i.key (+ .pub), i from 1.
static int
s_cmd_keys (s_args_t *args)
{
    const char *command = args->command;
    const char *dir = s_need (args, "dir");
    const char *prefix = s_opt (args, "prefix", "key");
    uint64_t count = s_opt_u64 (args, "count", 1);
    printf ("{\"keys\":[");
    for (uint64_t index = 1; index <= count; index++) {
        char *path = zsys_sprintf ("%s/%s-%" PRIu64 ".key", dir, prefix, index);
        char *public_path = zsys_sprintf ("%s.pub", path);
        cc_keypair_t *key = cc_keypair_new ();
        cc_reason_t reason;
        int rc = cc_keypair_save (key, path, public_path, &reason);
        if (rc == 0) {
            printf ("%s{\"path\":", index > 1 ? "," : "");
            s_json_string (path);
            printf (",\"pubkey\":\"%s\"}", cc_keypair_public_hex (key));
        }
        cc_keypair_destroy (&key);
        zstr_free (&public_path);
        zstr_free (&path);
        if (rc != 0) {
            printf ("]}\n");
            return s_fail (command, "%s", cc_reason_text (&reason));
        }
    }
    printf ("]}\n");
    return 0;
}

//  --- Main -------------------------------------------------------------------------

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: certchain-forge COMMAND [--option value ...]   (test-only tool)\n"
        "\n"
        "forged blocks (state rebuilt from --source, default --relay-rpc; upload to\n"
        "--relay-rpc; --round R, --upto H builds on block H, --out FILE saves the block):\n"
        "  rogue-block  --genesis G --relay-rpc E [--source E] [--key K] [--signers N]\n"
        "               proposer never certified (fresh key or K), commit by outsiders\n"
        "  out-of-turn  --genesis G --relay-rpc E --keys DIR|K1,K2 [--source E]\n"
        "               a member that is not scheduled proposes; commit by the members\n"
        "  below-quorum --genesis G --relay-rpc E --keys DIR|K1,K2 [--source E]\n"
        "               the scheduled proposer; commit of q - 1 members\n"
        "transactions (print {hash, hex, error, results}):\n"
        "  bad-sig-tx   --genesis G --key K [--to HEX] [--amount N] [--nonce N] [--fee N]\n"
        "               [--relay-rpc E]   a transfer whose signature is wrong\n"
        "  replay-tx    --source E --hash HEX [--relay-rpc E]   a committed tx again\n"
        "  transfers    --genesis G --keys DIR|K1,K2 [--to HEX,HEX] [--count N per key]\n"
        "               [--amount N] [--fee N] [--start-nonce N] [--batch N]\n"
        "               [--manifest FILE] [--relay-rpc E]   pre-signed SubmitTxBatch load\n"
        "raw sockets:\n"
        "  junk         --endpoint E [--socket dealer|pub] [--kind K|all] [--count N]\n"
        "               [--max-size N] [--wait-ms N]   K: random badproto truncated\n"
        "               badtype frames empty oversized\n"
        "  publish      --endpoint E --hex BYTES [--topic T] [--repeat N]\n"
        "  bad-vote     --genesis G --key K --endpoint GOSSIP [--height H] [--round R]\n"
        "               [--valid 1] [--repeat N]   a prevote with a broken signature\n"
        "  double-sign  --genesis G --key K --endpoint GOSSIP (--height H | --source E)\n"
        "               [--round R] [--type prevote|precommit] [--ahead N] [--repeat N]\n"
        "               two validly signed, conflicting votes of one member (equivocation)\n"
        "queries (JSON):\n"
        "  status       --endpoint E              GetStatus with hashes\n"
        "  discarded    --endpoint E [--from S]   ListDiscarded\n"
        "  blocks       --endpoint E [--from H] [--to H] [--txs 1] [--detail 1]\n"
        "               one line per block (--detail: each tx's kind, signer, node,\n"
        "               and the commit's signers)\n"
        "  account      --endpoint E --address HEX\n"
        "  events       --endpoint PUB [--seconds S] [--service NAME]\n"
        "  dump         --genesis G --store DIR [--txs 1] [--detail 1]   a stopped process's store\n"
        "  keys         --dir D [--prefix P] [--count N]     fresh key files\n");
}

int
main (int argc, char *argv [])
{
    if (argc < 2 || streq (argv [1], "--help") || streq (argv [1], "-h")) {
        s_usage (argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    s_args_t args = {.command = argv [1]};
    for (int index = 2; index < argc; index++) {
        const char *name = argv [index];
        if (strncmp (name, "--", 2) != 0 || index + 1 >= argc
        ||  args.count == (int) (sizeof (args.names) / sizeof (args.names [0]))) {
            fprintf (stderr, "certchain-forge %s: expected --option value, got '%s'\n",
                     args.command, name);
            return 2;
        }
        args.names [args.count] = name + 2;
        args.values [args.count++] = argv [++index];
    }
    zsys_init ();
    zsys_set_logstream (NULL);
    zsys_handler_set (NULL);
    if (sodium_init () < 0)
        return s_fail (args.command, "libsodium did not initialise");
    const char *command = args.command;
    int rc;
    if (streq (command, "rogue-block"))
        rc = s_cmd_forge (&args, S_ROGUE);
    else
    if (streq (command, "out-of-turn"))
        rc = s_cmd_forge (&args, S_OUT_OF_TURN);
    else
    if (streq (command, "below-quorum"))
        rc = s_cmd_forge (&args, S_BELOW_QUORUM);
    else
    if (streq (command, "bad-sig-tx"))
        rc = s_cmd_bad_sig_tx (&args);
    else
    if (streq (command, "replay-tx"))
        rc = s_cmd_replay_tx (&args);
    else
    if (streq (command, "transfers"))
        rc = s_cmd_transfers (&args);
    else
    if (streq (command, "junk"))
        rc = s_cmd_junk (&args);
    else
    if (streq (command, "publish"))
        rc = s_cmd_publish (&args);
    else
    if (streq (command, "bad-vote"))
        rc = s_cmd_bad_vote (&args);
    else
    if (streq (command, "double-sign"))
        rc = s_cmd_double_sign (&args);
    else
    if (streq (command, "status"))
        rc = s_cmd_status (&args);
    else
    if (streq (command, "discarded"))
        rc = s_cmd_discarded (&args);
    else
    if (streq (command, "blocks"))
        rc = s_cmd_blocks (&args);
    else
    if (streq (command, "account"))
        rc = s_cmd_account (&args);
    else
    if (streq (command, "events"))
        rc = s_cmd_events (&args);
    else
    if (streq (command, "dump"))
        rc = s_cmd_dump (&args);
    else
    if (streq (command, "keys"))
        rc = s_cmd_keys (&args);
    else {
        fprintf (stderr, "certchain-forge: unknown command '%s'\n", command);
        s_usage (stderr);
        rc = 2;
    }
    fflush (stdout);
    return rc;
}
