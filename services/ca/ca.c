/*  =========================================================================
    ca - certchain-ca, the certification authority

    One czmq actor owns everything: the chain view and ledger (one RocksDB
    shard), the policy, the join ROUTER, the sockets to the relay, the
    verification pool and the rate limiter, all driven by one zloop. Start
    is the only place that can fail; after it every outside input gets an
    answer (a challenge, a JoinResult, an Error) and an audit entry, never
    an end of the loop.

    The join protocol, as the CA runs it (DESIGN.md section 5):

        request  -> source rate -> signature -> signer == node -> clock
                    skew -> key back-off and rate -> banned -> already
                    active (outside the renewal window) or Certify
                    pending -> profile vs policy -> room in the set
                 -> challenge issued, recorded (synced), sent
        response -> which challenge (id read from the body) -> signature
                    of the challenged key -> replayed / expired -> marked
                    ANSWERED (synced) -> worker: cc_challenge_verify at the
                    arrival time -> score vs policy -> banned again ->
                    Certify built, checked against the state, stored
                    (synced), submitted to the relay -> accepted
    Every branch ends in one decision: an audit entry, a log line, a
    counter and the reply.

    DESIGN
    - The challenge id is read from the answer's body before its signature
      is checked, only to find which key must have signed it; the answer
      is then opened with cc_challenge_open_response (signature, signed by
      the challenged key) and nothing else of the unchecked body is used.
      An answer that fails there does not consume the challenge, so a
      third party that saw a challenge id cannot burn it.
    - Nonces: the CA's Certify transactions carry its committed nonce + 1,
      + 2, ... for each still pending. A Certify that would not apply would
      leave a nonce gap that blocks every later one, so each new Certify
      is first executed on top of the committed state and the pending
      ones (cc_exec, nothing written), and refused to the candidate if it
      fails there. Pending Certify transactions are kept in the ledger and
      sent again when the chain moves on without them (pub/sub and
      mempools may drop), and after a restart.
    - Time: the deadline is judged at the moment the answer is read from
      the socket, never when a worker gets to it.
    - The loop does the store's synced writes itself (a challenge before
      it is sent, an answer marked used before it is verified, a Certify
      before it is submitted): each is one small RocksDB batch, and doing
      them in order on one thread is what makes "recorded before
      answered" true. Only Argon2 work goes to the pool.
    - Block production (issue 4, item 2) is not in this actor: a producing
      CA runs the validator engine as a second actor (producer.h). This
      actor does not know of it: s_submit sends a Certify to the relay,
      the relay publishes it on "tx" to every producer (that engine
      included), the block that packs it comes back on "blk" and ends in
      s_chain_advanced like any other. The chain view (its own store)
      and the producer's chain are kept apart on purpose.
    - The chain view trusts transaction signatures inside a block that
      carries a quorum commit (sync's trust_signatures), as the relay does.
    =========================================================================
*/

#include "ca.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "block.h"
#include "chain.h"
#include "challenge.h"
#include "genesis.h"
#include "ledger.h"
#include "limiter.h"
#include "metrics.h"
#include "policy.h"
#include "pool.h"
#include "rpc.h"
#include "service.h"
#include "state.h"
#include "sync.h"
#include "tx.h"

//  Messages read from one socket per wake-up, so no socket starves another.
#define S_BURST 256
//  Metrics event period, and how often the relay's height is asked.
#define S_TICK_MS 1000
#define S_STATUS_EVERY_MS 5000
//  Housekeeping period: challenge expiry, limiter pruning, resubmission.
#define S_HOUSEKEEP_EVERY_MS 10000
//  Challenge records are deleted this long after their deadline.
#define S_RETENTION_MS (3600 * 1000ULL)
//  A pending Certify is sent again after this long and this many blocks.
#define S_RESUBMIT_MS 30000
#define S_RESUBMIT_BLOCKS 3
//  Largest join request body and answer body.
#define S_REQUEST_MAX_SIZE (64 * 1024)
#define S_ANSWER_MAX_SIZE (512 * 1024)
//  Rate-limit window.
#define S_MINUTE_MS 60000

//  A Certify transaction submitted and not committed yet.
typedef struct {
    uint64_t nonce;                     //  its nonce
    uint8_t hash [CC_HASH_SIZE];        //  its tx hash
    uint8_t node [CC_PUBKEY_SIZE];      //  the node it certifies
    uint64_t valid_until;               //  the certificate's expiry it sets
    uint8_t *data;                      //  serialized envelope (owned)
    size_t size;                        //  bytes in data
    uint64_t submitted_ms;              //  last submission
    uint64_t submitted_height;          //  chain height at the last submission
} s_certify_t;

typedef struct {
    zsock_t *pipe;                      //  actor pipe to main
    cc_config_t *config;                //  configuration (borrowed)
    cc_log_t *log;                      //  service log (borrowed)
    cc_genesis_t *genesis;              //  genesis of the chain (owned)
    const char *chain_id;               //  genesis chain id (owned by genesis)
    cc_keypair_t *key;                  //  the CA's key (owned)
    char key_hex [CC_HEX_PUBKEY_SIZE];  //  its public key in hex
    cc_policy_t *policy;                //  what candidates must meet (owned)
    const cc_policy_values_t *values;   //  the policy's numbers (owned by policy)
    char policy_origin [256];           //  policy file, or "defaults"
    uint64_t expired_after_ms;          //  past deadline + this: CHALLENGE_EXPIRED
    cc_chain_t *chain;                  //  the CA's chain view over store/path (owned)
    cc_ledger_t *ledger;                //  challenges, audit, bans, Certify txs (owned)
    cc_limiter_t *limiter;              //  rate limits and back-off (owned)
    zloop_t *loop;                      //  the event loop (owned)
    zsock_t *join;                      //  ROUTER ca/join
    cc_rpc_client_t *relay;             //  DEALER to relay/rpc (owned)
    zsock_t *sub;                       //  SUB to relay/pub, topic "blk"
    zsock_t *gossip;                    //  PUB to relay/gossip (metrics)
    cc_sync_t *sync;                    //  catch-up of the chain view (owned)
    cc_pool_t *pool;                    //  verification workers (owned)
    cc_metrics_t *metrics;              //  counters and the evt event
    zlistx_t *certifies;                //  s_certify_t pending, in nonce order (owned)
    uint64_t last_status_ms;            //  when GetStatus was last asked
    uint64_t last_housekeep_ms;         //  when housekeeping last ran
} self_t;

//  --- Configuration -----------------------------------------------------------------

void
cc_ca_define (cc_config_t *config)
{
    cc_config_define (config, "ca/key", "ca.key", "key",
                      "the CA's secret key file; its public key must be a CA of the genesis");
    cc_config_define (config, "ca/join", CC_CA_JOIN_DEFAULT, "join",
                      "ROUTER endpoint bound for candidates (join protocol) and GetStatus");
    cc_config_define (config, "ca/policy", "", "policy",
                      "policy file (ZPL: sections policy and banned); empty: the defaults");
    cc_config_define (config, "ca/workers", "2", "workers",
                      "challenge answers verified at once (each on two threads, holding "
                      "two Argon2 memory blocks)");
    cc_config_define (config, "ca/expired_after_ms", "60000", "expired-after-ms",
                      "an answer this long past its deadline is CHALLENGE_EXPIRED, "
                      "earlier DEADLINE_MISSED");
    cc_config_define (config, "relay/rpc", CC_CA_RELAY_RPC_DEFAULT, "relay-rpc",
                      "relay ROUTER endpoint (SubmitTx, GetStatus, GetBlocks)");
    cc_config_define (config, "relay/pub", CC_CA_RELAY_PUB_DEFAULT, "relay-pub",
                      "relay XPUB endpoint (committed blocks on topic blk)");
    cc_config_define (config, "relay/gossip", CC_CA_RELAY_GOSSIP_DEFAULT, "relay-gossip",
                      "relay XSUB endpoint (metrics events go there)");
    cc_service_define_common (config, "./ca-data");
}

int
cc_ca_check (cc_config_t *config, cc_reason_t *reason)
{
    const char *required [] = {"ca/key", "ca/join", "relay/rpc", "relay/pub", "relay/gossip",
                               "store/path", "genesis/path"};
    for (size_t index = 0; index < sizeof (required) / sizeof (required [0]); index++) {
        const char *value = cc_config_get (config, required [index]);
        if (!value || !*value)
            return cc_reason_set (reason, CC_E_CONFIG, "%s: a value is required",
                                  required [index]);
    }
    uint64_t workers = 0;
    int rc = cc_config_get_u64_range (config, "ca/workers", 1, CC_CA_MAX_WORKERS, &workers,
                                      reason);
    if (rc != 0)
        return rc;
    uint64_t expired = 0;
    return cc_config_get_u64 (config, "ca/expired_after_ms", &expired, reason);
}

//  Loads the policy named by ca/policy (defaults when empty), with the
//  genesis validity as default validity.
static cc_policy_t *
s_policy_load (cc_config_t *config, cc_genesis_t *genesis, cc_reason_t *reason)
{
    uint64_t validity = cc_genesis_params (genesis)->cert_validity;
    const char *path = cc_config_get (config, "ca/policy");
    cc_policy_t *policy = path && *path ? cc_policy_load (path, validity, reason)
                                        : cc_policy_new (validity);
    if (!policy && !(path && *path))
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    if (policy && cc_policy_values (policy)->validity_blocks < 2) {
        cc_reason_set (reason, CC_E_CONFIG,
                       "policy: validity_blocks %" PRIu64 " (the genesis cert_validity) is below "
                       "2; set validity_blocks in a policy file (ca/policy)",
                       cc_policy_values (policy)->validity_blocks);
        cc_policy_destroy (&policy);
    }
    return policy;
}

int
cc_ca_print_policy (cc_config_t *config, FILE *stream, cc_reason_t *reason)
{
    const char *genesis_path = cc_config_get (config, "genesis/path");
    cc_reason_t why;
    cc_reason_clear (&why);
    cc_genesis_t *genesis = cc_genesis_load (genesis_path, &why);
    if (!genesis)
        return cc_reason_set (reason, why.code, "genesis/path %s: %s", genesis_path,
                              cc_reason_text (&why));
    cc_policy_t *policy = s_policy_load (config, genesis, &why);
    cc_genesis_destroy (&genesis);
    if (!policy)
        return cc_reason_set (reason, why.code, "ca/policy: %s", cc_reason_text (&why));
    const char *path = cc_config_get (config, "ca/policy");
    fprintf (stream, "\n#  Effective CA policy (%s); a policy file holds these lines:\n",
             path && *path ? path : "defaults");
    cc_policy_print (policy, stream, "#  ");
    cc_policy_destroy (&policy);
    return 0;
}

//  --- Helpers -------------------------------------------------------------------------

static void
s_hex (const uint8_t *data, size_t size, char *text)
{
    cc_hex_encode (data, size, text);
}

//  Adds one to the counter prefix + the code's stable name ("refused.BANNED").
static void
s_count (self_t *self, const char *prefix, int code)
{
    char name [64];
    snprintf (name, sizeof (name), "%s%s", prefix, cc_error_name (code));
    cc_metrics_add (self->metrics, name, 1);
}

static void
s_certify_destroy (void **item)
{
    s_certify_t *certify = (s_certify_t *) *item;
    if (certify) {
        free (certify->data);
        free (certify);
        *item = NULL;
    }
}

//  --- The chain view ------------------------------------------------------------------

//  The height the next block will have.
static uint64_t
s_next_height (self_t *self)
{
    return cc_chain_height (self->chain) + 1;
}

//  The CA's last committed nonce.
static uint64_t
s_committed_nonce (self_t *self)
{
    uint64_t balance = 0, nonce = 0;
    cc_state_account (cc_chain_state (self->chain), cc_keypair_public (self->key), &balance,
                      &nonce);
    return nonce;
}

//  The nonce the next Certify takes: after the committed one and every
//  pending one.
static uint64_t
s_next_nonce (self_t *self)
{
    uint64_t nonce = s_committed_nonce (self);
    s_certify_t *last = (s_certify_t *) zlistx_last (self->certifies);
    if (last && last->nonce > nonce)
        nonce = last->nonce;
    return nonce + 1;
}

//  The pending Certify for node, or NULL.
static s_certify_t *
s_pending_for (self_t *self, const uint8_t *node)
{
    for (s_certify_t *certify = (s_certify_t *) zlistx_first (self->certifies); certify;
         certify = (s_certify_t *) zlistx_next (self->certifies))
        if (memcmp (certify->node, node, CC_PUBKEY_SIZE) == 0)
            return certify;
    return NULL;
}

//  True if node is banned by this CA or on chain; text says why.
//  0 if node may ask for a certificate; BANNED for a key on this CA's ban
//  list or banned on chain (double-signing); REVOKED for a key a CA
//  revoked on chain: revocation keeps a node out, it is not a pause.
//  text receives the reason.
static int
s_barred (self_t *self, const uint8_t *node, char *text, size_t size)
{
    Certchain__BanRecord *ban = NULL;
    if (cc_ledger_banned (self->ledger, node, &ban)) {
        snprintf (text, size, "banned by this CA (%s): %s", ban && ban->origin ? ban->origin : "?",
                  ban && ban->reason && *ban->reason ? ban->reason : "no reason given");
        cc_codec_free ((ProtobufCMessage **) &ban);
        return CC_E_BANNED;
    }
    Certchain__ValidatorRecord *record = NULL;
    int code = 0;
    if (cc_state_validator (cc_chain_state (self->chain), node, &record) == 0) {
        const char *why = record->reason && *record->reason ? record->reason : "no reason recorded";
        if (record->status == CERTCHAIN__VALIDATOR_STATUS__BANNED) {
            snprintf (text, size, "banned on chain at height %" PRIu64 ": %s",
                      record->status_height, why);
            code = CC_E_BANNED;
        }
        else
        if (record->status == CERTCHAIN__VALIDATOR_STATUS__REVOKED) {
            snprintf (text, size, "revoked on chain at height %" PRIu64 ": %s",
                      record->status_height, why);
            code = CC_E_REVOKED;
        }
    }
    if (record)
        certchain__validator_record__free_unpacked (record, NULL);
    return code;
}

//  True if node needs no certificate now: a genesis CA, a Certify pending,
//  or active outside the renewal window (the last half of the validity).
static bool
s_already_active (self_t *self, const uint8_t *node, bool *renewal, char *text, size_t size)
{
    *renewal = false;
    if (cc_genesis_is_ca (self->genesis, node)) {
        snprintf (text, size, "a CA of the genesis needs no certificate");
        return true;
    }
    s_certify_t *pending = s_pending_for (self, node);
    if (pending) {
        char hash [2 * CC_HASH_SIZE + 1];
        s_hex (pending->hash, CC_HASH_SIZE, hash);
        snprintf (text, size, "a Certify for this node is pending (tx %.16s, nonce %" PRIu64 ")",
                  hash, pending->nonce);
        return true;
    }
    Certchain__ValidatorRecord *record = NULL;
    bool active = false;
    uint64_t next = s_next_height (self);
    if (cc_state_validator (cc_chain_state (self->chain), node, &record) == 0
        && record->status == CERTCHAIN__VALIDATOR_STATUS__ACTIVE && next < record->valid_until) {
        uint64_t half = self->values->validity_blocks / 2;
        uint64_t opens = record->valid_until > half ? record->valid_until - half : 0;
        if (record->valid_until == UINT64_MAX) {
            snprintf (text, size, "a validator of the genesis: its certificate never expires");
            active = true;
        }
        else
        if (next < opens) {
            snprintf (text, size, "certificate valid until height %" PRIu64 "; renewal opens at "
                      "height %" PRIu64 " (now %" PRIu64 ")", record->valid_until, opens, next);
            active = true;
        }
        else
            *renewal = true;
    }
    if (record)
        certchain__validator_record__free_unpacked (record, NULL);
    return active;
}

//  True if the set has no room for one more node (max_validators).
static bool
s_set_full (self_t *self, bool renewal, char *text, size_t size)
{
    uint32_t max = cc_genesis_params (self->genesis)->max_validators;
    if (max == 0 || renewal)
        return false;
    cc_valset_t *next = cc_state_valset (cc_chain_state (self->chain), s_next_height (self));
    size_t members = next ? cc_valset_size (next) : 0;
    cc_valset_destroy (&next);
    size_t pending = zlistx_size (self->certifies);
    if (members + pending < max)
        return false;
    snprintf (text, size, "the validator set is full: %zu members and %zu certificates pending, "
              "at most %" PRIu32, members, pending, max);
    return true;
}

//  --- Decisions -----------------------------------------------------------------------

//  Who a decision is about and how to answer.
typedef struct {
    zframe_t *identity;                         //  the candidate's connection (borrowed)
    uint64_t request_id;                        //  id to echo
    const char *source;                         //  peer address, "" when unknown
    const uint8_t *node;                        //  candidate key (32), or NULL
    bool node_verified;                         //  node proved by its signature
    const Certchain__MachineProfile *profile;   //  its profile, or NULL
    ProtobufCBinaryData challenge_id;           //  the challenge, or empty
    const Certchain__ChallengeScore *score;     //  measured, or NULL
    double verify_ms;                           //  verification time, or 0
    Certchain__PendingChallenge *record;        //  record to rewrite with the audit, or NULL
} s_context_t;

//  Fills an audit entry from ctx (fields borrowed from ctx).
static void
s_audit_fill (Certchain__AuditEntry *entry, const s_context_t *ctx, uint64_t now_ms,
              Certchain__AuditDecision decision)
{
    entry->time_ms = now_ms;
    entry->decision = decision;
    if (ctx->node)
        entry->node = cc_bytes_view (ctx->node, CC_PUBKEY_SIZE);
    entry->source = (char *) ctx->source;
    entry->profile = (Certchain__MachineProfile *) ctx->profile;
    entry->challenge_id = ctx->challenge_id;
    entry->score = (Certchain__ChallengeScore *) ctx->score;
    entry->verify_ms = ctx->verify_ms;
}

//  Writes the audit entry (with the record when ctx has one).
static void
s_audit_write (self_t *self, const s_context_t *ctx, Certchain__AuditEntry *entry)
{
    int rc = ctx->record ? cc_ledger_put_challenge (self->ledger, ctx->record, entry, false)
                         : cc_ledger_audit (self->ledger, entry, false);
    if (rc != 0) {
        cc_metrics_add (self->metrics, "error.audit", 1);
        cc_log_error (self->log, "cannot write the audit log: %s", cc_error_message (rc));
    }
}

static void
s_reply_result (self_t *self, const s_context_t *ctx, Certchain__JoinResult *result)
{
    Certchain__JoinMessage message = CERTCHAIN__JOIN_MESSAGE__INIT;
    message.request_id = ctx->request_id;
    message.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_RESULT;
    message.result = result;
    if (cc_rpc_send (self->join, ctx->identity, CC_FRAME_JOIN, &message.base) != 0)
        cc_metrics_add (self->metrics, "error.send", 1);
}

//  Refuses: audit entry, log line, counter, back-off, reply. retry_ms is
//  the wait asked of the candidate when code is RATE_LIMITED or BUSY; the
//  policy's back-off otherwise.
static void
s_refuse (self_t *self, s_context_t *ctx, int code, uint64_t retry_ms, const char *format, ...)
    __attribute__ ((format (printf, 5, 6)));

static void
s_refuse (self_t *self, s_context_t *ctx, int code, uint64_t retry_ms, const char *format, ...)
{
    char text [sizeof (((cc_reason_t *) 0)->text)];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    uint64_t now = cc_service_now_ms ();
    bool waited = code == CC_E_RATE_LIMITED || code == CC_E_BUSY;
    uint64_t retry_after = waited ? retry_ms : self->values->backoff_ms;

    Certchain__AuditEntry entry = CERTCHAIN__AUDIT_ENTRY__INIT;
    s_audit_fill (&entry, ctx, now, CERTCHAIN__AUDIT_DECISION__AUDIT_REFUSED);
    entry.code = -code;
    entry.name = (char *) cc_error_name (code);
    entry.reason = text;
    if (ctx->record)
        ctx->record->answer_code = -code;
    s_audit_write (self, ctx, &entry);

    char node [CC_HEX_PUBKEY_SIZE] = "?";
    if (ctx->node)
        s_hex (ctx->node, CC_PUBKEY_SIZE, node);
    cc_log_info (self->log, "refused %.16s%s%s%s: %s: %s", node, *ctx->source ? " (" : "",
                 ctx->source, *ctx->source ? ")" : "", cc_error_name (code), text);
    s_count (self, "refused.", code);
    //  Hold back only a key that proved itself, and not for waiting itself.
    if (ctx->node && ctx->node_verified && !waited && self->values->backoff_ms > 0) {
        char name [8 + CC_HEX_PUBKEY_SIZE];
        snprintf (name, sizeof (name), "key:%s", node);
        cc_limiter_hold (self->limiter, name, now + self->values->backoff_ms);
    }

    Certchain__JoinResult result = CERTCHAIN__JOIN_RESULT__INIT;
    result.accepted = false;
    result.code = -code;
    result.reason = text;
    result.retry_after_ms = retry_after;
    result.score = (Certchain__ChallengeScore *) ctx->score;
    s_reply_result (self, ctx, &result);
}

//  --- Submitting Certify transactions -------------------------------------------------

//  Sends a pending Certify to the relay: the one place a Certify leaves.
//  Every producer, a producing CA's own engine included, hears it on the
//  relay's "tx" topic.
static void
s_submit (self_t *self, s_certify_t *certify)
{
    int code = 0;
    Certchain__Signed *envelope = (Certchain__Signed *) cc_codec_unpack (
        &certchain__signed__descriptor, certify->data, certify->size, CC_TX_MAX_SIZE, &code);
    if (!envelope) {
        cc_log_error (self->log, "stored Certify nonce %" PRIu64 " does not decode: %s",
                      certify->nonce, cc_error_message (code));
        return;
    }
    Certchain__SubmitTx submit = CERTCHAIN__SUBMIT_TX__INIT;
    submit.tx = envelope;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_SUBMIT_TX;
    request.submit_tx = &submit;
    if (cc_rpc_client_send (self->relay, &request) == 0)
        cc_metrics_add (self->metrics, "error.submit", 1);
    else
        cc_metrics_add (self->metrics, "certify.submitted", 1);
    cc_codec_free ((ProtobufCMessage **) &envelope);
    certify->submitted_ms = cc_service_now_ms ();
    certify->submitted_height = cc_chain_height (self->chain);
}

//  Executes tx on top of the committed state and the pending Certify
//  transactions, writing nothing: 0 if it would apply now.
static int
s_dry_run (self_t *self, cc_tx_t *tx, cc_reason_t *reason)
{
    cc_state_t *state = cc_chain_state (self->chain);
    cc_exec_t *exec = cc_exec_new (state, cc_state_height (state) + 1,
                                   cc_keypair_public (self->key));
    if (!exec)
        return cc_reason_set (reason, CC_E_NOMEM, "cannot start an execution");
    for (s_certify_t *certify = (s_certify_t *) zlistx_first (self->certifies); certify;
         certify = (s_certify_t *) zlistx_next (self->certifies)) {
        cc_reason_t ignored;
        cc_tx_t *pending = cc_tx_decode (certify->data, certify->size, &ignored);
        if (pending && cc_exec_apply (exec, pending, &ignored) != 0)
            cc_log_warn (self->log, "pending Certify nonce %" PRIu64 " no longer applies: %s",
                         certify->nonce, cc_reason_text (&ignored));
        cc_tx_destroy (&pending);
    }
    int rc = cc_exec_apply (exec, tx, reason);
    cc_exec_destroy (&exec);
    return rc;
}

//  The candidate passed: builds, checks, stores and submits its Certify,
//  then answers. Refuses instead when any of that fails.
static void
s_certify (self_t *self, s_context_t *ctx, const Certchain__PendingChallenge *record,
           Certchain__ChallengeScore *score)
{
    uint64_t valid_until = s_next_height (self) + self->values->validity_blocks;
    uint64_t nonce = s_next_nonce (self);
    Certchain__Certify payload = CERTCHAIN__CERTIFY__INIT;
    payload.node = record->challenge->node;
    payload.profile = record->profile;
    payload.score = score;
    payload.valid_until = valid_until;
    payload.challenge_id = record->challenge->id;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = nonce;
    body.fee = 0;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY;
    body.certify = &payload;
    cc_tx_t *tx = cc_tx_new (self->key, self->chain_id, &body);
    if (!tx) {
        s_refuse (self, ctx, CC_E_INTERNAL, 0, "cannot build the Certify transaction");
        return;
    }
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = s_dry_run (self, tx, &reason);
    if (rc != 0) {
        cc_tx_destroy (&tx);
        s_refuse (self, ctx, rc, 0, "the Certify would not apply: %s", cc_reason_text (&reason));
        return;
    }
    //  The Certify, the challenge's outcome and the decision: one synced write.
    s_certify_t *certify = (s_certify_t *) calloc (1, sizeof (s_certify_t));
    rc = certify ? cc_tx_encode (tx, &certify->data, &certify->size) : CC_E_NOMEM;
    if (rc == 0) {
        certify->nonce = nonce;
        memcpy (certify->hash, cc_tx_hash (tx), CC_HASH_SIZE);
        memcpy (certify->node, record->challenge->node.data, CC_PUBKEY_SIZE);
        certify->valid_until = valid_until;
        Certchain__AuditEntry entry = CERTCHAIN__AUDIT_ENTRY__INIT;
        s_audit_fill (&entry, ctx, cc_service_now_ms (),
                      CERTCHAIN__AUDIT_DECISION__AUDIT_ACCEPTED);
        entry.name = (char *) "OK";
        entry.reason = (char *) "certified";
        entry.certify_tx = cc_bytes_view (certify->hash, CC_HASH_SIZE);
        entry.valid_until = valid_until;
        ctx->record->answer_code = 0;
        rc = cc_ledger_put_certify (self->ledger, nonce, certify->data, certify->size,
                                    ctx->record, &entry);
    }
    cc_tx_destroy (&tx);
    if (rc != 0) {
        void *item = certify;
        s_certify_destroy (&item);
        cc_log_error (self->log, "cannot store the Certify: %s", cc_error_message (rc));
        s_refuse (self, ctx, CC_E_STORE, 0, "the CA cannot store the Certify transaction");
        return;
    }
    zlistx_add_end (self->certifies, certify);
    s_submit (self, certify);

    char node [CC_HEX_PUBKEY_SIZE], hash [2 * CC_HASH_SIZE + 1];
    s_hex (certify->node, CC_PUBKEY_SIZE, node);
    s_hex (certify->hash, CC_HASH_SIZE, hash);
    cc_log_info (self->log, "certified %.16s%s%s%s: %.0f hashes/s, %.1f Argon2 MiB/s in %" PRIu64
                 " ms (verified in %.1f ms); Certify %.16s nonce %" PRIu64 " valid until %" PRIu64,
                 node, *ctx->source ? " (" : "", ctx->source, *ctx->source ? ")" : "",
                 score->hashes_per_second, score->argon2_mib_per_second, score->elapsed_ms,
                 ctx->verify_ms, hash, nonce, valid_until);
    cc_metrics_add (self->metrics, "join.accepted", 1);

    Certchain__JoinResult result = CERTCHAIN__JOIN_RESULT__INIT;
    result.accepted = true;
    result.reason = (char *) "certified: Certify transaction submitted";
    result.certify_tx = cc_bytes_view (certify->hash, CC_HASH_SIZE);
    result.score = score;
    result.valid_until = valid_until;
    s_reply_result (self, ctx, &result);
}

//  --- Join requests -------------------------------------------------------------------

static void
s_on_request (self_t *self, zframe_t *identity, Certchain__JoinMessage *message,
              const char *source, uint64_t now)
{
    s_context_t ctx = {.identity = identity, .request_id = message->request_id,
                       .source = source};
    const Certchain__Signed *envelope = message->request;
    cc_metrics_add (self->metrics, "join.request", 1);
    if (envelope && cc_bytes_sized (envelope->signer, CC_PUBKEY_SIZE))
        ctx.node = envelope->signer.data;
    uint64_t retry = 0;
    char name [96];
    if (*source) {
        snprintf (name, sizeof (name), "src:%s", source);
        if (!cc_limiter_hit (self->limiter, name, self->values->rate_per_source_per_minute, now,
                             &retry)) {
            s_refuse (self, &ctx, CC_E_RATE_LIMITED, retry,
                      "rate limited: more than %" PRIu64 " requests a minute from %s",
                      self->values->rate_per_source_per_minute, source);
            return;
        }
    }
    ProtobufCMessage *body = NULL;
    int rc = envelope ? cc_signed_open (envelope, CC_DOMAIN_JOIN, self->chain_id,
                                        &certchain__join_request__descriptor,
                                        S_REQUEST_MAX_SIZE, &body)
                      : CC_E_MALFORMED;
    if (rc != 0) {
        cc_codec_free (&body);
        s_refuse (self, &ctx, rc, 0, "join request envelope: %s", cc_error_message (rc));
        return;
    }
    Certchain__JoinRequest *request = (Certchain__JoinRequest *) body;
    if (!cc_bytes_sized (request->node, CC_PUBKEY_SIZE)
        || memcmp (request->node.data, envelope->signer.data, CC_PUBKEY_SIZE) != 0) {
        s_refuse (self, &ctx, CC_E_WRONG_NODE_KEY, 0,
                  "the request names another node than the key that signed it");
        cc_codec_free (&body);
        return;
    }
    ctx.node_verified = true;
    ctx.profile = request->profile;
    char node_hex [CC_HEX_PUBKEY_SIZE];
    s_hex (ctx.node, CC_PUBKEY_SIZE, node_hex);
    char text [240];

    uint64_t skew = request->time_ms > now ? request->time_ms - now : now - request->time_ms;
    snprintf (name, sizeof (name), "key:%s", node_hex);
    if (skew > self->values->max_clock_skew_ms)
        s_refuse (self, &ctx, CC_E_STALE, 0,
                  "request time is %" PRIu64 " ms off the CA's clock (at most %" PRIu64 ")", skew,
                  self->values->max_clock_skew_ms);
    else
    if (cc_limiter_held (self->limiter, name, now, &retry))
        s_refuse (self, &ctx, CC_E_RATE_LIMITED, retry,
                  "refused recently: ask again after the back-off (%" PRIu64 " ms left)", retry);
    else
    if (!cc_limiter_hit (self->limiter, name, self->values->rate_per_key_per_minute, now,
                         &retry))
        s_refuse (self, &ctx, CC_E_RATE_LIMITED, retry,
                  "rate limited: more than %" PRIu64 " requests a minute for this key",
                  self->values->rate_per_key_per_minute);
    else
    if ((rc = s_barred (self, ctx.node, text, sizeof (text))) != 0)
        s_refuse (self, &ctx, rc, 0, "%s", text);
    else {
        bool renewal = false;
        cc_reason_t reason;
        cc_reason_clear (&reason);
        if (s_already_active (self, ctx.node, &renewal, text, sizeof (text)))
            s_refuse (self, &ctx, CC_E_ALREADY_ACTIVE, 0, "%s", text);
        else
        if ((rc = cc_policy_check_profile (self->policy, request->profile, &reason)) != 0)
            s_refuse (self, &ctx, rc, 0, "%s", cc_reason_text (&reason));
        else
        if (s_set_full (self, renewal, text, sizeof (text)))
            s_refuse (self, &ctx, CC_E_VALSET_FULL, 0, "%s", text);
        else {
            //  Issue, record (synced), and only then answer.
            Certchain__Challenge *challenge =
                cc_challenge_issue (&self->values->challenge, ctx.node, now);
            if (!challenge)
                s_refuse (self, &ctx, CC_E_INTERNAL, 0, "cannot issue a challenge");
            else {
                Certchain__PendingChallenge record = CERTCHAIN__PENDING_CHALLENGE__INIT;
                record.challenge = challenge;
                record.profile = request->profile;
                record.source = (char *) source;
                record.status = CERTCHAIN__PENDING_STATUS__PENDING_OPEN;
                ctx.challenge_id = challenge->id;
                Certchain__AuditEntry entry = CERTCHAIN__AUDIT_ENTRY__INIT;
                s_audit_fill (&entry, &ctx, now, CERTCHAIN__AUDIT_DECISION__AUDIT_CHALLENGED);
                entry.name = (char *) "OK";
                entry.reason = renewal ? (char *) "challenge issued (renewal)"
                                       : (char *) "challenge issued";
                rc = cc_ledger_put_challenge (self->ledger, &record, &entry, true);
                if (rc != 0) {
                    cc_log_error (self->log, "cannot record a challenge: %s",
                                  cc_error_message (rc));
                    s_refuse (self, &ctx, CC_E_STORE, 0, "the CA cannot record the challenge");
                }
                else {
                    Certchain__JoinMessage reply = CERTCHAIN__JOIN_MESSAGE__INIT;
                    reply.request_id = ctx.request_id;
                    reply.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_CHALLENGE;
                    reply.challenge = challenge;
                    if (cc_rpc_send (self->join, identity, CC_FRAME_JOIN, &reply.base) != 0)
                        cc_metrics_add (self->metrics, "error.send", 1);
                    char id [2 * CC_CHALLENGE_ID_SIZE + 1];
                    s_hex (challenge->id.data, challenge->id.len, id);
                    cc_log_info (self->log, "challenge %.16s to %.16s%s%s%s%s: %zu"
                                 " packets, %" PRIu32 " bits, %" PRIu32 " KiB x %" PRIu32
                                 ", sample %" PRIu32 ", deadline %" PRIu64 " ms",
                                 id, node_hex, renewal ? " (renewal)" : "",
                                 *source ? " (" : "", source, *source ? ")" : "",
                                 challenge->n_seeds, challenge->difficulty_bits,
                                 challenge->argon2_memory_kib, challenge->argon2_ops,
                                 challenge->sample_size, self->values->challenge.deadline_ms);
                    cc_metrics_add (self->metrics, "join.challenged", 1);
                }
                cc_challenge_free (&challenge);
            }
        }
    }
    cc_codec_free (&body);
}

//  --- Answers -------------------------------------------------------------------------

//  A verification finished (on the loop's thread): decide.
static void
s_on_verified (void *argument, cc_pool_job_t *job)
{
    self_t *self = (self_t *) argument;
    Certchain__PendingChallenge *record = job->record;
    s_context_t ctx = {.identity = job->identity, .request_id = job->request_id,
                       .source = job->source, .node = record->challenge->node.data,
                       .node_verified = true, .profile = record->profile,
                       .challenge_id = record->challenge->id, .verify_ms = job->verdict.verify_ms,
                       .record = record};
    cc_metrics_add (self->metrics, "verify.count", 1);
    cc_metrics_add (self->metrics, "verify.us_total", (uint64_t) (job->verdict.verify_ms * 1000));
    char text [240];
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = 0;
    if (job->rc != 0)
        s_refuse (self, &ctx, job->rc, 0, "%s", cc_reason_text (&job->reason));
    else {
        ctx.score = &job->verdict.score;
        if ((rc = cc_policy_check_score (self->policy, &job->verdict.score, &reason)) != 0)
            s_refuse (self, &ctx, rc, 0, "%s", cc_reason_text (&reason));
        else
        if ((rc = s_barred (self, ctx.node, text, sizeof (text))) != 0)
            s_refuse (self, &ctx, rc, 0, "%s", text);
        else
            s_certify (self, &ctx, record, &job->verdict.score);
    }
    cc_pool_job_destroy (&job);
}

static void
s_on_response (self_t *self, zframe_t *identity, Certchain__JoinMessage *message,
               const char *source, uint64_t now)
{
    s_context_t ctx = {.identity = identity, .request_id = message->request_id,
                       .source = source};
    const Certchain__Signed *envelope = message->response;
    cc_metrics_add (self->metrics, "join.answer", 1);
    if (envelope && cc_bytes_sized (envelope->signer, CC_PUBKEY_SIZE))
        ctx.node = envelope->signer.data;
    //  Only to learn which challenge, hence which key must have signed.
    int code = CC_E_MALFORMED;
    Certchain__ChallengeResponse *peek = envelope
        ? (Certchain__ChallengeResponse *) cc_codec_unpack (
              &certchain__challenge_response__descriptor, envelope->body.data, envelope->body.len,
              S_ANSWER_MAX_SIZE, &code)
        : NULL;
    if (!peek) {
        s_refuse (self, &ctx, code, 0, "challenge answer: %s", cc_error_message (code));
        return;
    }
    uint8_t id [64];
    size_t id_size = peek->challenge_id.len < sizeof (id) ? peek->challenge_id.len : 0;
    if (id_size)
        memcpy (id, peek->challenge_id.data, id_size);
    cc_codec_free ((ProtobufCMessage **) &peek);
    ctx.challenge_id = cc_bytes_view (id, id_size);
    char id_hex [2 * sizeof (id) + 1];
    s_hex (id, id_size, id_hex);

    Certchain__PendingChallenge *record = NULL;
    int rc = cc_ledger_get_challenge (self->ledger, id, id_size, &record);
    if (rc != 0) {
        if (rc == CC_E_NOT_FOUND && id_size == 0)
            s_refuse (self, &ctx, CC_E_CHALLENGE_UNKNOWN, 0,
                      "the answer names no challenge this CA could have issued");
        else
        if (rc == CC_E_NOT_FOUND)
            s_refuse (self, &ctx, CC_E_CHALLENGE_UNKNOWN, 0,
                      "no challenge %.32s was issued by this CA (or it was forgotten)", id_hex);
        else
            s_refuse (self, &ctx, CC_E_STORE, 0, "cannot read challenge %.32s: %s", id_hex,
                      cc_error_message (rc));
        return;
    }
    ctx.node = record->challenge->node.data;
    ctx.profile = record->profile;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    Certchain__ChallengeResponse *response = NULL;
    rc = cc_challenge_open_response (envelope, self->chain_id, record->challenge, &response,
                                     &reason);
    if (rc != 0) {
        //  Not consumed: this answer did not come from the challenged key.
        s_refuse (self, &ctx, rc, 0, "%s", cc_reason_text (&reason));
        cc_codec_free ((ProtobufCMessage **) &record);
        return;
    }
    ctx.node_verified = true;
    uint64_t deadline = record->challenge->deadline_ms;
    if (record->status == CERTCHAIN__PENDING_STATUS__PENDING_ANSWERED) {
        s_refuse (self, &ctx, CC_E_CHALLENGE_REPLAYED, 0,
                  "challenge %.16s was already answered at %" PRIu64 " (outcome %s)", id_hex,
                  record->answered_ms,
                  cc_error_name (record->answer_code > 0 ? -record->answer_code
                                                         : record->answer_code));
    }
    else
    if (record->status == CERTCHAIN__PENDING_STATUS__PENDING_EXPIRED
        || now > deadline + self->expired_after_ms) {
        ctx.record = record;
        record->status = CERTCHAIN__PENDING_STATUS__PENDING_EXPIRED;
        s_refuse (self, &ctx, CC_E_CHALLENGE_EXPIRED, 0,
                  "challenge %.16s expired: its deadline was %" PRIu64 " ms ago; ask for a new one",
                  id_hex, now - deadline);
    }
    else
    if (cc_pool_full (self->pool))
        s_refuse (self, &ctx, CC_E_BUSY, 1000,
                  "the CA is verifying %zu answers already; answer again shortly",
                  cc_pool_running (self->pool) + cc_pool_queued (self->pool));
    else {
        //  Single use: consumed before any verification, whatever comes of it.
        record->status = CERTCHAIN__PENDING_STATUS__PENDING_ANSWERED;
        record->answered_ms = now;
        rc = cc_ledger_put_challenge (self->ledger, record, NULL, true);
        cc_pool_job_t *job = rc == 0 ? cc_pool_job_new () : NULL;
        if (!job) {
            cc_log_error (self->log, "cannot mark challenge %.16s answered: %s", id_hex,
                          cc_error_message (rc ? rc : CC_E_NOMEM));
            s_refuse (self, &ctx, rc ? CC_E_STORE : CC_E_NOMEM, 0,
                      "the CA cannot take the answer now");
        }
        else {
            job->record = record;
            job->response = response;
            job->received_ms = now;
            job->identity = zframe_dup (identity);
            job->request_id = message->request_id;
            snprintf (job->source, sizeof (job->source), "%s", source);
            record = NULL;
            response = NULL;
            if (cc_pool_submit (self->pool, &job) != 0) {
                //  Cannot happen after cc_pool_full said no; answer anyway.
                ctx.record = job->record;
                s_refuse (self, &ctx, CC_E_BUSY, 1000, "the CA is busy verifying answers");
                cc_pool_job_destroy (&job);
            }
        }
    }
    cc_challenge_response_free (&response);
    cc_codec_free ((ProtobufCMessage **) &record);
}

//  --- Audit log and status ---------------------------------------------------------------

static void
s_on_audit_query (self_t *self, zframe_t *identity, Certchain__JoinMessage *message)
{
    const Certchain__AuditQuery *query = message->audit_query;
    const uint8_t *node = NULL;
    Certchain__JoinMessage reply = CERTCHAIN__JOIN_MESSAGE__INIT;
    reply.request_id = message->request_id;
    if (query && query->node.len > 0 && !cc_bytes_sized (query->node, CC_PUBKEY_SIZE)) {
        Certchain__Error error;
        cc_rpc_error_set (&error, CC_E_BAD_FIELD, "audit query: node must be 32 bytes");
        reply.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_ERROR;
        reply.error = &error;
        cc_rpc_send (self->join, identity, CC_FRAME_JOIN, &reply.base);
        return;
    }
    if (query && query->node.len > 0)
        node = query->node.data;
    Certchain__AuditLog log = CERTCHAIN__AUDIT_LOG__INIT;
    int rc = cc_ledger_audit_read (self->ledger, query ? query->from_seq : 0,
                                   query ? query->max_count : 0, node, &log);
    if (rc != 0) {
        cc_ledger_audit_log_clear (&log);
        Certchain__Error error;
        cc_rpc_error_set (&error, CC_E_STORE, "cannot read the audit log");
        reply.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_ERROR;
        reply.error = &error;
        cc_rpc_send (self->join, identity, CC_FRAME_JOIN, &reply.base);
        return;
    }
    reply.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_LOG;
    reply.audit_log = &log;
    if (cc_rpc_send (self->join, identity, CC_FRAME_JOIN, &reply.base) != 0)
        cc_metrics_add (self->metrics, "error.send", 1);
    cc_ledger_audit_log_clear (&log);
}

static void
s_on_status (self_t *self, zframe_t *identity, uint64_t request_id)
{
    Certchain__Status status;
    cc_chain_status (self->chain, "ca", self->key_hex, cc_keypair_public (self->key), &status);
    status.mempool = (uint32_t) zlistx_size (self->certifies);
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = request_id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
    reply.status = &status;
    cc_rpc_reply (self->join, identity, &reply);
}

//  --- The join socket -------------------------------------------------------------------

static void
s_join_error (self_t *self, zframe_t *identity, uint64_t request_id, int code, const char *text)
{
    Certchain__Error error;
    cc_rpc_error_set (&error, code, text);
    Certchain__JoinMessage reply = CERTCHAIN__JOIN_MESSAGE__INIT;
    reply.request_id = request_id;
    reply.kind_case = CERTCHAIN__JOIN_MESSAGE__KIND_ERROR;
    reply.error = &error;
    cc_rpc_send (self->join, identity, CC_FRAME_JOIN, &reply.base);
    s_count (self, "error.", code);
}

static void
s_on_join_frames (self_t *self, zframe_t *identity, zframe_t *type, zframe_t *payload,
                  const char *source)
{
    uint64_t now = cc_service_now_ms ();
    int code = 0;
    if (cc_rpc_frame_is (type, CC_FRAME_REQUEST)) {
        Certchain__Request *request = (Certchain__Request *) cc_codec_unpack (
            &certchain__request__descriptor, zframe_data (payload), zframe_size (payload),
            CC_CA_MAX_MESSAGE_SIZE, &code);
        if (!request)
            cc_rpc_reply_error (self->join, identity, 0, code, NULL);
        else
        if (request->kind_case == CERTCHAIN__REQUEST__KIND_GET_STATUS)
            s_on_status (self, identity, request->id);
        else
            cc_rpc_reply_error (self->join, identity, request->id, CC_E_UNSUPPORTED,
                                "the CA answers GetStatus; the join protocol uses frames "
                                "[\"join\"][JoinMessage]");
        cc_rpc_request_free (&request);
        return;
    }
    if (!cc_rpc_frame_is (type, CC_FRAME_JOIN)) {
        s_join_error (self, identity, 0, CC_E_UNSUPPORTED,
                      "expected frames [\"join\"][JoinMessage] or [\"req\"][Request]");
        return;
    }
    Certchain__JoinMessage *message = (Certchain__JoinMessage *) cc_codec_unpack (
        &certchain__join_message__descriptor, zframe_data (payload), zframe_size (payload),
        CC_CA_MAX_MESSAGE_SIZE, &code);
    if (!message) {
        s_join_error (self, identity, 0, code, "expected a JoinMessage");
        return;
    }
    switch (message->kind_case) {
        case CERTCHAIN__JOIN_MESSAGE__KIND_REQUEST:
            s_on_request (self, identity, message, source, now);
            break;
        case CERTCHAIN__JOIN_MESSAGE__KIND_RESPONSE:
            s_on_response (self, identity, message, source, now);
            break;
        case CERTCHAIN__JOIN_MESSAGE__KIND_AUDIT_QUERY:
            s_on_audit_query (self, identity, message);
            break;
        default:
            s_join_error (self, identity, message->request_id, CC_E_UNSUPPORTED,
                          "the CA takes a request, a response or an audit query");
            break;
    }
    cc_codec_free ((ProtobufCMessage **) &message);
}

static int
s_on_join (zloop_t *loop, zsock_t *socket, void *argument)
{
    self_t *self = (self_t *) argument;
    for (int burst = 0; burst < S_BURST && (zsock_events (socket) & ZMQ_POLLIN); burst++) {
        zmsg_t *message = zmsg_recv (socket);
        if (!message)
            break;
        zframe_t *identity = NULL, *type = NULL, *payload = NULL;
        if (cc_rpc_split (message, true, &identity, &type, &payload) != 0) {
            identity = zmsg_first (message);
            if (identity)
                s_join_error (self, identity, 0, CC_E_MALFORMED,
                              "expected frames [\"join\"][JoinMessage]");
            zmsg_destroy (&message);
            continue;
        }
        //  The peer address comes with the frames as libzmq received them.
        const char *peer = zframe_meta (payload, "Peer-Address");
        char source [64];
        snprintf (source, sizeof (source), "%s", peer ? peer : "");
        s_on_join_frames (self, identity, type, payload, source);
        zmsg_destroy (&message);
    }
    return 0;
}

//  --- Following the chain ------------------------------------------------------------

//  Whether the chain view's state holds the certificate this Certify sets:
//  how a Certify committed before a restart is told from a nonce used by
//  another transaction (the view keeps no tx index). A node has at most
//  one Certify pending, so its record's expiry names it.
static bool
s_certified_as (self_t *self, const s_certify_t *certify)
{
    Certchain__ValidatorRecord *record = NULL;
    if (cc_state_validator (cc_chain_state (self->chain), certify->node, &record) != 0)
        return false;
    bool certified = record->valid_until == certify->valid_until
                     && cc_bytes_equal (record->certified_by,
                                        cc_bytes_view (cc_keypair_public (self->key),
                                                       CC_PUBKEY_SIZE));
    certchain__validator_record__free_unpacked (record, NULL);
    return certified;
}

//  A block was committed to the chain view: pending Certify transactions
//  it covers are done. Blocks the CA's own producer decided arrive here
//  too, from "blk", once the relay has stored them.
static void
s_chain_advanced (self_t *self, cc_block_t *block)
{
    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    uint64_t committed = s_committed_nonce (self);
    s_certify_t *certify = (s_certify_t *) zlistx_first (self->certifies);
    while (certify && certify->nonce <= committed) {
        bool here = false;
        for (size_t index = 0; block && index < cc_block_tx_count (block); index++)
            if (memcmp (cc_tx_hash (cc_block_tx (block, index)), certify->hash, CC_HASH_SIZE) == 0)
                here = true;
        char node [CC_HEX_PUBKEY_SIZE];
        s_hex (certify->node, CC_PUBKEY_SIZE, node);
        if (here || s_certified_as (self, certify)) {
            cc_log_info (self->log, "Certify of %.16s (nonce %" PRIu64 ") committed by height %"
                         PRIu64, node, certify->nonce, cc_chain_height (self->chain));
            cc_metrics_add (self->metrics, "certify.committed", 1);
        }
        else {
            cc_log_warn (self->log, "nonce %" PRIu64 " was used by another transaction of this "
                         "CA's key: the Certify of %.16s is dropped", certify->nonce, node);
            //  Counted with the other drops, so the metrics event's
            //  error count shows it.
            s_count (self, "drop.certify.", CC_E_NONCE_REPLAY);
        }
        cc_ledger_delete_certify (self->ledger, certify->nonce);
        zlistx_delete (self->certifies, zlistx_cursor (self->certifies));
        certify = (s_certify_t *) zlistx_first (self->certifies);
    }
}

static void
s_on_block (void *argument, cc_block_t *block, int verdict, const cc_reason_t *reason)
{
    self_t *self = (self_t *) argument;
    if (verdict == 0) {
        s_chain_advanced (self, block);
        return;
    }
    s_count (self, "discard.", verdict);
    cc_log_warn (self->log, "discarded block %" PRIu64 ": %s: %s", cc_block_height (block),
                 cc_error_name (verdict), cc_reason_text (reason));
}

static void
s_ask_status (self_t *self, uint64_t now)
{
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    cc_rpc_client_send (self->relay, &request);
    self->last_status_ms = now;
}

//  A fetched block is ready: verify and commit it (one per loop turn).
static int
s_on_sync_ready (zloop_t *loop, zmq_pollitem_t *item, void *argument)
{
    (void) loop;
    (void) item;
    self_t *self = (self_t *) argument;
    cc_sync_work (self->sync, cc_service_now_ms ());
    return 0;
}

static int
s_on_relay (zloop_t *loop, zsock_t *socket, void *argument)
{
    self_t *self = (self_t *) argument;
    for (int burst = 0; burst < S_BURST; burst++) {
        Certchain__Reply *reply = cc_rpc_client_recv (self->relay, 0);
        if (!reply)
            break;
        uint64_t now = cc_service_now_ms ();
        if (cc_sync_on_reply (self->sync, reply, now)) {
            cc_rpc_reply_free (&reply);
            continue;
        }
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_STATUS && reply->status)
            cc_sync_target (self->sync, reply->status->height, now);
        else
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_SUBMIT_RESULT && reply->submit_result) {
            for (size_t index = 0; index < reply->submit_result->n_results; index++) {
                const Certchain__TxResult *result = reply->submit_result->results [index];
                if (!result->error)
                    continue;
                int code = -(int) result->error->code;
                s_count (self, "relay.refused.", code);
                if (code != CC_E_DUPLICATE)
                    cc_log_warn (self->log, "the relay refused a Certify: %s: %s",
                                 cc_error_name (code),
                                 result->error->message ? result->error->message : "");
            }
        }
        else
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error) {
            int code = -(int) reply->error->code;
            s_count (self, "relay.error.", code);
            if (code != CC_E_DUPLICATE)
                cc_log_warn (self->log, "relay: %s: %s", cc_error_name (code),
                             reply->error->message ? reply->error->message : "");
        }
        cc_rpc_reply_free (&reply);
    }
    return 0;
}

static int
s_on_sub (zloop_t *loop, zsock_t *socket, void *argument)
{
    self_t *self = (self_t *) argument;
    for (int burst = 0; burst < S_BURST && (zsock_events (socket) & ZMQ_POLLIN); burst++) {
        zmsg_t *message = zmsg_recv (socket);
        if (!message)
            break;
        zframe_t *topic = NULL, *payload = NULL;
        if (cc_rpc_split (message, false, NULL, &topic, &payload) == 0
            && cc_rpc_frame_is (topic, CC_TOPIC_BLOCK)) {
            cc_reason_t reason;
            cc_reason_clear (&reason);
            int rc = cc_sync_offer (self->sync, zframe_data (payload), zframe_size (payload),
                                    cc_service_now_ms (), &reason);
            if (rc != 0 && rc != CC_E_CONFLICT)
                cc_log_debug (self->log, "block from the relay not taken: %s: %s",
                              cc_error_name (rc), cc_reason_text (&reason));
        }
        zmsg_destroy (&message);
    }
    return 0;
}

//  --- Timers and pipe ------------------------------------------------------------------

//  Expires challenges, prunes the limiter, sends stalled Certify again.
static void
s_housekeep (self_t *self, uint64_t now)
{
    size_t expired = 0, deleted = 0;
    if (cc_ledger_expire (self->ledger, now, self->expired_after_ms, S_RETENTION_MS, &expired,
                          &deleted)
        != 0)
        cc_metrics_add (self->metrics, "error.housekeeping", 1);
    if (expired || deleted)
        cc_log_debug (self->log, "challenges: %zu expired unanswered, %zu forgotten", expired,
                      deleted);
    cc_limiter_prune (self->limiter, now);
    uint64_t height = cc_chain_height (self->chain);
    for (s_certify_t *certify = (s_certify_t *) zlistx_first (self->certifies); certify;
         certify = (s_certify_t *) zlistx_next (self->certifies))
        if (now >= certify->submitted_ms + S_RESUBMIT_MS
            && height >= certify->submitted_height + S_RESUBMIT_BLOCKS) {
            cc_log_info (self->log, "Certify nonce %" PRIu64 " not committed after %" PRIu64
                         " blocks: submitting it again", certify->nonce,
                         height - certify->submitted_height);
            s_submit (self, certify);
        }
    self->last_housekeep_ms = now;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    uint64_t now = cc_service_now_ms ();
    cc_metrics_set_height (self->metrics, cc_chain_height (self->chain));
    cc_metrics_set_mempool (self->metrics, (uint32_t) zlistx_size (self->certifies));
    cc_metrics_publish (self->metrics, self->gossip, now);
    if (now >= self->last_status_ms + S_STATUS_EVERY_MS)
        s_ask_status (self, now);
    cc_sync_tick (self->sync, now);
    if (now >= self->last_housekeep_ms + S_HOUSEKEEP_EVERY_MS)
        s_housekeep (self, now);
    return 0;
}

//  --- Start and stop ---------------------------------------------------------------------

static void
s_self_destroy (self_t **self_p)
{
    if (*self_p) {
        self_t *self = *self_p;
        //  Workers first: a verification in flight must not outlive the ledger.
        cc_pool_destroy (&self->pool);
        cc_sync_destroy (&self->sync);
        cc_rpc_client_destroy (&self->relay);
        zsock_destroy (&self->join);
        zsock_destroy (&self->sub);
        zsock_destroy (&self->gossip);
        zloop_destroy (&self->loop);
        zlistx_destroy (&self->certifies);
        cc_metrics_destroy (&self->metrics);
        cc_limiter_destroy (&self->limiter);
        cc_ledger_destroy (&self->ledger);
        cc_chain_destroy (&self->chain);
        cc_policy_destroy (&self->policy);
        cc_keypair_destroy (&self->key);
        cc_genesis_destroy (&self->genesis);
        free (self);
        *self_p = NULL;
    }
}

//  Takes a stored Certify back into the pending list (start-up).
static void
s_load_certify (void *argument, uint64_t nonce, const uint8_t *data, size_t size)
{
    self_t *self = (self_t *) argument;
    cc_reason_t reason;
    cc_tx_t *tx = cc_tx_decode (data, size, &reason);
    s_certify_t *certify = (s_certify_t *) calloc (1, sizeof (s_certify_t));
    const Certchain__TxBody *body = NULL;
    if (tx && cc_tx_open (tx, self->chain_id, true, &reason) == 0)
        body = cc_tx_body (tx);
    if (!certify || !body || body->payload_case != CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY
        || !cc_bytes_sized (body->certify->node, CC_PUBKEY_SIZE)
        || !(certify->data = (uint8_t *) malloc (size))) {
        cc_log_warn (self->log, "stored Certify nonce %" PRIu64 " is unreadable: forgotten",
                     nonce);
        cc_ledger_delete_certify (self->ledger, nonce);
        free (certify);
        cc_tx_destroy (&tx);
        return;
    }
    memcpy (certify->data, data, size);
    certify->size = size;
    certify->nonce = nonce;
    memcpy (certify->hash, cc_tx_hash (tx), CC_HASH_SIZE);
    memcpy (certify->node, body->certify->node.data, CC_PUBKEY_SIZE);
    certify->valid_until = body->certify->valid_until;
    cc_tx_destroy (&tx);
    zlistx_add_end (self->certifies, certify);
}

//  Puts the policy's bans in the ledger's ban list, and lifts the policy
//  bans the policy no longer holds.
static int
s_sync_bans (self_t *self, uint64_t now)
{
    size_t count = cc_policy_banned_count (self->policy);
    uint8_t *keys = (uint8_t *) calloc (count ? count : 1, CC_PUBKEY_SIZE);
    if (!keys)
        return CC_E_NOMEM;
    int rc = 0;
    for (size_t index = 0; index < count && rc == 0; index++) {
        const char *reason = NULL;
        const uint8_t *key = cc_policy_banned (self->policy, index, &reason);
        memcpy (keys + index * CC_PUBKEY_SIZE, key, CC_PUBKEY_SIZE);
        rc = cc_ledger_ban (self->ledger, key, reason, "policy", now);
    }
    if (rc == 0) {
        int lifted = cc_ledger_unban_missing (self->ledger, "policy", keys, count);
        rc = lifted < 0 ? lifted : 0;
        if (lifted > 0)
            cc_log_info (self->log, "%d ban(s) lifted: no longer in the policy", lifted);
    }
    free (keys);
    return rc;
}

//  A socket of type with the socket policy connected to key's endpoint.
static zsock_t *
s_connect (self_t *self, int type, const char *key)
{
    zsock_t *socket = zsock_new (type);
    if (!socket)
        return NULL;
    cc_rpc_socket_policy (socket, CC_MAX_MESSAGE_SIZE);
    if (zsock_connect (socket, "%s", cc_config_get (self->config, key)) != 0) {
        cc_log_error (self->log, "%s: cannot connect to '%s'", key,
                      cc_config_get (self->config, key));
        zsock_destroy (&socket);
    }
    return socket;
}

//  Fails start-up with one logged line.
static self_t *
s_fail (self_t **self_p, int *exit_code, int code, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static self_t *
s_fail (self_t **self_p, int *exit_code, int code, const char *format, ...)
{
    char text [1024];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    cc_log_error ((*self_p)->log, "%s", text);
    *exit_code = code;
    s_self_destroy (self_p);
    return NULL;
}

static self_t *
s_self_new (zsock_t *pipe, cc_ca_args_t *args, int *exit_code)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    if (!self) {
        *exit_code = CC_EXIT_FAILURE;
        return NULL;
    }
    self->pipe = pipe;
    self->config = args->config;
    self->log = args->log;
    self->expired_after_ms = cc_service_u64 (self->config, "ca/expired_after_ms", 60000);
    cc_reason_t reason;
    cc_reason_clear (&reason);

    const char *genesis_path = cc_config_get (self->config, "genesis/path");
    self->genesis = cc_genesis_load (genesis_path, &reason);
    if (!self->genesis)
        return s_fail (&self, exit_code, CC_EXIT_CONFIG, "genesis/path %s: %s", genesis_path,
                       cc_reason_text (&reason));
    self->chain_id = cc_genesis_chain_id (self->genesis);
    const char *key_path = cc_config_get (self->config, "ca/key");
    self->key = cc_keypair_load (key_path, &reason);
    if (!self->key)
        return s_fail (&self, exit_code, CC_EXIT_CONFIG, "ca/key %s: %s", key_path,
                       cc_reason_text (&reason));
    snprintf (self->key_hex, sizeof (self->key_hex), "%s", cc_keypair_public_hex (self->key));
    if (!cc_genesis_is_ca (self->genesis, cc_keypair_public (self->key)))
        return s_fail (&self, exit_code, CC_EXIT_CONFIG,
                       "ca/key %s: public key %s is not a CA of the genesis %s (chain %s); "
                       "refusing to start", key_path, self->key_hex, genesis_path,
                       self->chain_id);
    self->policy = s_policy_load (self->config, self->genesis, &reason);
    if (!self->policy)
        return s_fail (&self, exit_code, CC_EXIT_CONFIG, "ca/policy: %s",
                       cc_reason_text (&reason));
    self->values = cc_policy_values (self->policy);
    const char *policy_path = cc_config_get (self->config, "ca/policy");
    snprintf (self->policy_origin, sizeof (self->policy_origin), "%s",
              policy_path && *policy_path ? policy_path : "defaults");

    const char *store_path = cc_config_get (self->config, "store/path");
    size_t cache = (size_t) cc_service_u64 (self->config, "store/cache_mb", 8) * 1024 * 1024;
    self->chain = cc_chain_open (store_path, self->genesis, cache, &reason);
    if (!self->chain)
        return s_fail (&self, exit_code, CC_EXIT_FAILURE, "cannot open store/path %s: %s",
                       store_path, cc_reason_text (&reason));
    //  Nobody asks the CA where a tx is (s_certified_as needs no index),
    //  and the index is the view's costliest write.
    cc_chain_set_tx_index (self->chain, false);
    self->ledger = cc_ledger_new (cc_chain_store (self->chain), CC_CHAIN_SERVICE_FAMILY, &reason);
    if (!self->ledger)
        return s_fail (&self, exit_code, CC_EXIT_FAILURE, "store/path %s: %s", store_path,
                       cc_reason_text (&reason));
    self->limiter = cc_limiter_new (S_MINUTE_MS);
    self->metrics = cc_metrics_new ("ca", self->key_hex);
    self->certifies = zlistx_new ();
    self->loop = zloop_new ();
    if (!self->limiter || !self->metrics || !self->certifies || !self->loop)
        return s_fail (&self, exit_code, CC_EXIT_FAILURE, "out of memory");
    zlistx_set_destructor (self->certifies, s_certify_destroy);
    int rc = s_sync_bans (self, cc_service_now_ms ());
    if (rc == 0)
        rc = cc_ledger_certifies (self->ledger, s_load_certify, self);
    if (rc != 0)
        return s_fail (&self, exit_code, CC_EXIT_FAILURE, "store/path %s: cannot read the "
                       "CA's records: %s", store_path, cc_error_message (rc));
    //  Drops what the chain view already holds.
    s_chain_advanced (self, NULL);

    self->join = zsock_new (ZMQ_ROUTER);
    if (!self->join)
        return s_fail (&self, exit_code, CC_EXIT_FAILURE, "cannot create the join socket");
    cc_rpc_socket_policy (self->join, CC_CA_MAX_MESSAGE_SIZE);
    if (cc_service_bind (self->join, self->config, "ca/join", self->log) != 0) {
        *exit_code = CC_EXIT_FAILURE;
        s_self_destroy (&self);
        return NULL;
    }
    self->relay = cc_rpc_client_new (cc_config_get (self->config, "relay/rpc"),
                                     CC_MAX_MESSAGE_SIZE);
    if (!self->relay)
        return s_fail (&self, exit_code, CC_EXIT_CONFIG, "relay/rpc: cannot connect to '%s'",
                       cc_config_get (self->config, "relay/rpc"));
    self->sub = s_connect (self, ZMQ_SUB, "relay/pub");
    self->gossip = self->sub ? s_connect (self, ZMQ_PUB, "relay/gossip") : NULL;
    if (!self->gossip) {
        *exit_code = CC_EXIT_CONFIG;
        s_self_destroy (&self);
        return NULL;
    }
    zsock_set_subscribe (self->sub, CC_TOPIC_BLOCK);
    //  Tx signatures are trusted under a quorum commit: the chain view
    //  takes a block only under the precommits of a quorum
    //  of V(h) (those signatures are checked), and every member checked
    //  every tx signature before it precommitted. The chain's budget is
    //  one check per tx per consensus member plus the verifier's; the CA
    //  (like the relay) would only add a check nobody relies on. A
    //  producing CA's engine checks them anyway, as the member it is.
    cc_sync_opts_t sync_opts = {
        .trust_signatures = true,
    };
    self->sync = cc_sync_new (self->chain, self->relay, &sync_opts, s_on_block, self);
    size_t workers = (size_t) cc_service_u64 (self->config, "ca/workers", 2);
    self->pool = self->sync ? cc_pool_new (self->loop, workers, CC_CA_MAX_QUEUE, s_on_verified,
                                           self)
                            : NULL;
    if (!self->pool)
        return s_fail (&self, exit_code, CC_EXIT_FAILURE, "cannot start the verification "
                       "workers");
    *exit_code = CC_EXIT_OK;
    return self;
}

void
cc_ca_actor (zsock_t *pipe, void *args)
{
    //  The handshake zactor_new waits for; the start-up result follows.
    zsock_signal (pipe, 0);
    int exit_code = CC_EXIT_OK;
    self_t *self = s_self_new (pipe, (cc_ca_args_t *) args, &exit_code);
    zsock_signal (pipe, (byte) exit_code);
    if (!self)
        return;

    const cc_challenge_params_t *challenge = &self->values->challenge;
    cc_log_info (self->log, "CA %.16s of chain %s at height %" PRIu64 ": join %s, relay %s, "
                 "store %s", self->key_hex, self->chain_id, cc_chain_height (self->chain),
                 cc_config_get (self->config, "ca/join"),
                 cc_config_get (self->config, "relay/rpc"),
                 cc_config_get (self->config, "store/path"));
    cc_log_info (self->log, "policy (%s): challenge %" PRIu32 " packets, %" PRIu32 " bits, %"
                 PRIu32 " KiB x %" PRIu32 ", sample %" PRIu32 ", deadline %" PRIu64 " ms; "
                 "validity %" PRIu64 " blocks; %zu banned; %zu Certify pending",
                 self->policy_origin, challenge->packets, challenge->difficulty_bits,
                 challenge->argon2_memory_kib, challenge->argon2_ops, challenge->sample_size,
                 challenge->deadline_ms, self->values->validity_blocks,
                 cc_policy_banned_count (self->policy), zlistx_size (self->certifies));

    zloop_reader (self->loop, pipe, cc_service_on_pipe, self);
    zloop_reader (self->loop, self->join, s_on_join, self);
    zloop_reader (self->loop, cc_rpc_client_socket (self->relay), s_on_relay, self);
    zloop_reader (self->loop, self->sub, s_on_sub, self);
    zmq_pollitem_t sync_ready = {NULL, cc_sync_fd (self->sync), ZMQ_POLLIN, 0};
    zloop_poller (self->loop, &sync_ready, s_on_sync_ready, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self);
    //  Learn the network's height, and resend what is pending.
    uint64_t now = cc_service_now_ms ();
    s_ask_status (self, now);
    self->last_housekeep_ms = now;
    for (s_certify_t *certify = (s_certify_t *) zlistx_first (self->certifies); certify;
         certify = (s_certify_t *) zlistx_next (self->certifies))
        s_submit (self, certify);
    //  Ends on $TERM from main, or by itself on SIGINT / SIGTERM.
    zloop_start (self->loop);
    cc_log_info (self->log, "stopping at height %" PRIu64, cc_chain_height (self->chain));
    s_self_destroy (&self);
}
