/*  =========================================================================
    outbox - the transactions a validator signs with its own key

    See outbox.h for the life of a transaction here. The pending list is a
    small array kept in nonce order: entry i carries nonce committed + 1 +
    i after every resync, so "the next nonce" is always committed + 1 +
    count.
    =========================================================================
*/

#include "outbox.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

//  One of our transactions, sent and not yet settled.
typedef struct {
    cc_tx_t *tx;                //  the current version, signed and opened (owned)
    cc_outbox_kind_t kind;      //  what it is
    char what [96];             //  a short description for the log
    uint64_t request_id;        //  SubmitTx awaiting its reply, 0 none
    uint64_t sent_ms;           //  when it was last sent
    uint8_t versions [CC_OUTBOX_VERSIONS][CC_HASH_SIZE];   //  earlier hashes
    size_t version_count;       //  how many of them are set
} s_entry_t;

//  An offence already reported.
typedef struct {
    uint8_t offender [CC_PUBKEY_SIZE];  //  who signed twice
    uint64_t height;                    //  at which height
    uint32_t round;                     //  and round
} s_offence_t;

struct _cc_outbox_t {
    cc_chain_t *chain;                  //  committed chain (borrowed)
    cc_keypair_t *key;                  //  our key (borrowed)
    cc_log_t *log;                      //  borrowed
    cc_metrics_t *metrics;              //  borrowed, may be NULL
    cc_outbox_send_fn *send;            //  where txs leave
    cc_outbox_settled_fn *settled;      //  told of outcomes, may be NULL
    void *argument;                     //  for the callbacks
    const char *chain_id;               //  the chain's id (the genesis owns it)
    s_entry_t entries [CC_OUTBOX_MAX_PENDING];  //  pending, in nonce order
    size_t count;                       //  used entries
    s_offence_t seen [CC_OUTBOX_SEEN];  //  reported offences, a ring
    size_t seen_count;                  //  used slots of the ring
    size_t seen_next;                   //  slot written next
};

//  --- Helpers ---------------------------------------------------------------------

static void
s_count (cc_outbox_t *self, const char *prefix, int code)
{
    if (!self->metrics)
        return;
    char name [80];
    if (code)
        snprintf (name, sizeof (name), "%s.%s", prefix, cc_error_name (code));
    else
        snprintf (name, sizeof (name), "%s", prefix);
    cc_metrics_add (self->metrics, name, 1);
}

static uint64_t
s_committed_nonce (cc_outbox_t *self)
{
    uint64_t balance = 0, nonce = 0;
    cc_state_account (cc_chain_state (self->chain), cc_keypair_public (self->key), &balance,
                      &nonce);
    return nonce;
}

//  Signs a copy of body with nonce (fee 0). Caller owns the result.
static cc_tx_t *
s_sign (cc_outbox_t *self, const Certchain__TxBody *body, uint64_t nonce)
{
    Certchain__TxBody copy = *body;
    copy.nonce = nonce;
    copy.fee = 0;
    return cc_tx_new (self->key, self->chain_id, &copy);
}

static void
s_send (cc_outbox_t *self, s_entry_t *entry, uint64_t now_ms)
{
    entry->request_id = self->send (self->argument, entry->tx);
    entry->sent_ms = now_ms;
    if (entry->request_id == 0)
        s_count (self, "outbox.unsent", 0);
}

static void
s_entry_clear (s_entry_t *entry)
{
    cc_tx_destroy (&entry->tx);
    memset (entry, 0, sizeof (*entry));
}

//  Removes entry index (settled), telling the callback.
static void
s_settle (cc_outbox_t *self, size_t index, uint64_t height, int code, const char *text)
{
    s_entry_t *entry = &self->entries [index];
    uint8_t hash [CC_HASH_SIZE];
    memcpy (hash, cc_tx_hash (entry->tx), CC_HASH_SIZE);
    cc_outbox_kind_t kind = entry->kind;
    char hex [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (hash, CC_HASH_SIZE, hex);
    if (code == 0) {
        cc_log_info (self->log, "%s committed at height %" PRIu64 " (tx %.16s)", entry->what,
                     height, hex);
        s_count (self, kind == CC_OUTBOX_RESIGN ? "resign.committed" : "evidence.committed", 0);
    }
    else {
        cc_log_warn (self->log, "%s dropped (tx %.16s): %s: %s", entry->what, hex,
                     cc_error_name (code), text);
        s_count (self, kind == CC_OUTBOX_RESIGN ? "resign.dropped" : "evidence.dropped", code);
    }
    s_entry_clear (entry);
    memmove (&self->entries [index], &self->entries [index + 1],
             (self->count - index - 1) * sizeof (s_entry_t));
    self->count--;
    memset (&self->entries [self->count], 0, sizeof (s_entry_t));
    if (self->settled)
        self->settled (self->argument, kind, hash, height, code, text);
}

//  Executes the pending txs, then extra (may be NULL), on the committed
//  state. 0 when all apply; else the failing code with reason and
//  *failed_p its index (self->count for extra).
static int
s_check (cc_outbox_t *self, cc_tx_t *extra, size_t *failed_p, cc_reason_t *reason)
{
    cc_state_t *state = cc_chain_state (self->chain);
    cc_exec_t *exec = cc_exec_new (state, cc_state_height (state) + 1,
                                   cc_keypair_public (self->key));
    if (!exec)
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    int rc = 0;
    for (size_t index = 0; index < self->count && rc == 0; index++) {
        rc = cc_exec_apply (exec, self->entries [index].tx, reason);
        *failed_p = index;
    }
    if (rc == 0 && extra) {
        rc = cc_exec_apply (exec, extra, reason);
        *failed_p = self->count;
    }
    cc_exec_destroy (&exec);
    return rc;
}

//  Numbers the pending txs again from the committed nonce (re-signing
//  those whose nonce changes, and sending them), then drops the first
//  that no longer applies on the state and starts over.
static void
s_resync (cc_outbox_t *self, uint64_t now_ms)
{
    while (self->count > 0) {
        uint64_t nonce = s_committed_nonce (self) + 1;
        for (size_t index = 0; index < self->count; index++, nonce++) {
            s_entry_t *entry = &self->entries [index];
            if (cc_tx_nonce (entry->tx) == nonce)
                continue;
            cc_tx_t *tx = s_sign (self, cc_tx_body (entry->tx), nonce);
            if (!tx)
                continue;       //  out of memory: the check below drops it
            if (entry->version_count == CC_OUTBOX_VERSIONS) {
                memmove (entry->versions [0], entry->versions [1],
                         (CC_OUTBOX_VERSIONS - 1) * CC_HASH_SIZE);
                entry->version_count--;
            }
            memcpy (entry->versions [entry->version_count++], cc_tx_hash (entry->tx),
                    CC_HASH_SIZE);
            cc_log_debug (self->log, "%s renumbered from nonce %" PRIu64 " to %" PRIu64,
                          entry->what, cc_tx_nonce (entry->tx), nonce);
            cc_tx_destroy (&entry->tx);
            entry->tx = tx;
            s_send (self, entry, now_ms);
        }
        cc_reason_t reason;
        cc_reason_clear (&reason);
        size_t failed = 0;
        int rc = s_check (self, NULL, &failed, &reason);
        if (rc == 0)
            break;
        s_settle (self, failed, 0, rc, cc_reason_text (&reason));
    }
}

//  Checks tx (ours, numbered next) on the state, then keeps and sends it.
//  Takes *tx_p in every case.
static int
s_submit (cc_outbox_t *self, cc_tx_t **tx_p, cc_outbox_kind_t kind, const char *what,
          uint64_t now_ms, cc_reason_t *reason)
{
    cc_tx_t *tx = *tx_p;
    *tx_p = NULL;
    if (!tx)
        return cc_reason_set (reason, CC_E_NOMEM, "%s: out of memory", what);
    if (self->count == CC_OUTBOX_MAX_PENDING) {
        cc_tx_destroy (&tx);
        cc_reason_set (reason, CC_E_BUSY, "%d transactions of ours pending already",
                       CC_OUTBOX_MAX_PENDING);
        cc_log_warn (self->log, "%s not submitted: BUSY: %s", what, reason->text);
        return CC_E_BUSY;
    }
    size_t failed = 0;
    int rc = s_check (self, tx, &failed, reason);
    if (rc != 0 && failed < self->count) {
        //  A pending one stopped applying (a block we have not seen yet
        //  settle it?): resync, then judge the new tx alone again.
        s_resync (self, now_ms);
        cc_tx_t *again = s_sign (self, cc_tx_body (tx), s_committed_nonce (self) + 1
                                                        + self->count);
        cc_tx_destroy (&tx);
        tx = again;
        rc = tx ? s_check (self, tx, &failed, reason) : cc_reason_set (reason, CC_E_NOMEM,
                                                                        "out of memory");
    }
    if (rc != 0) {
        cc_log_info (self->log, "%s not submitted: %s: %s", what, cc_error_name (rc),
                     cc_reason_text (reason));
        s_count (self, kind == CC_OUTBOX_RESIGN ? "resign.refused" : "evidence.refused", rc);
        cc_tx_destroy (&tx);
        return rc;
    }
    s_entry_t *entry = &self->entries [self->count++];
    memset (entry, 0, sizeof (*entry));
    entry->tx = tx;
    entry->kind = kind;
    snprintf (entry->what, sizeof (entry->what), "%s", what);
    char hex [2 * CC_HASH_SIZE + 1];
    cc_hex_encode (cc_tx_hash (tx), CC_HASH_SIZE, hex);
    cc_log_info (self->log, "%s submitted (tx %.16s, nonce %" PRIu64 ")", what, hex,
                 cc_tx_nonce (tx));
    s_count (self, kind == CC_OUTBOX_RESIGN ? "resign.submitted" : "evidence.submitted", 0);
    s_send (self, entry, now_ms);
    return 0;
}

//  --- Life cycle ------------------------------------------------------------------

cc_outbox_t *
cc_outbox_new (const cc_outbox_config_t *config)
{
    assert (config && config->chain && config->key && config->log && config->send);
    cc_outbox_t *self = (cc_outbox_t *) calloc (1, sizeof (cc_outbox_t));
    if (!self)
        return NULL;
    self->chain = config->chain;
    self->key = config->key;
    self->log = config->log;
    self->metrics = config->metrics;
    self->send = config->send;
    self->settled = config->settled;
    self->argument = config->argument;
    self->chain_id = cc_genesis_chain_id (cc_chain_genesis (config->chain));
    return self;
}

void
cc_outbox_destroy (cc_outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cc_outbox_t *self = *self_p;
    for (size_t index = 0; index < self->count; index++)
        s_entry_clear (&self->entries [index]);
    free (self);
    *self_p = NULL;
}

//  --- Submitting ------------------------------------------------------------------

//  Reads who signed vote (unverified: only to name and deduplicate the
//  offence; the state verifies both signatures). 0 or INVALID_EVIDENCE.
static int
s_read_vote (const Certchain__Signed *envelope, s_offence_t *offence, cc_reason_t *reason)
{
    if (!envelope)
        return cc_reason_set (reason, CC_E_INVALID_EVIDENCE, "evidence: a vote is missing");
    int code = 0;
    Certchain__Vote *vote = (Certchain__Vote *) cc_codec_unpack (
        &certchain__vote__descriptor, envelope->body.data, envelope->body.len, CC_TX_MAX_SIZE,
        &code);
    int rc = 0;
    if (!vote || !cc_bytes_sized (vote->validator, CC_PUBKEY_SIZE))
        rc = cc_reason_set (reason, CC_E_INVALID_EVIDENCE, "evidence: a vote does not decode");
    else {
        memcpy (offence->offender, vote->validator.data, CC_PUBKEY_SIZE);
        offence->height = vote->height;
        offence->round = vote->round;
    }
    cc_codec_free ((ProtobufCMessage **) &vote);
    return rc;
}

//  True if the offence was reported already; else remembers it.
static bool
s_seen (cc_outbox_t *self, const s_offence_t *offence)
{
    for (size_t index = 0; index < self->seen_count; index++) {
        const s_offence_t *seen = &self->seen [index];
        if (seen->height == offence->height && seen->round == offence->round
            && memcmp (seen->offender, offence->offender, CC_PUBKEY_SIZE) == 0)
            return true;
    }
    self->seen [self->seen_next] = *offence;
    self->seen_next = (self->seen_next + 1) % CC_OUTBOX_SEEN;
    if (self->seen_count < CC_OUTBOX_SEEN)
        self->seen_count++;
    return false;
}

int
cc_outbox_evidence (cc_outbox_t *self, const uint8_t *data, size_t size, uint64_t now_ms,
                    cc_reason_t *reason)
{
    assert (self);
    int code = 0;
    Certchain__Evidence *evidence = (Certchain__Evidence *) cc_codec_unpack (
        &certchain__evidence__descriptor, data, size, CC_TX_MAX_SIZE, &code);
    if (!evidence) {
        cc_reason_set (reason, code, "evidence: %s", cc_error_message (code));
        cc_log_warn (self->log, "evidence not submitted: %s: %s", cc_error_name (code),
                     reason->text);
        return code;
    }
    s_offence_t offence;
    memset (&offence, 0, sizeof (offence));
    int rc = s_read_vote (evidence->vote_a, &offence, reason);
    if (rc == 0 && !evidence->vote_b)
        rc = cc_reason_set (reason, CC_E_INVALID_EVIDENCE, "evidence: a vote is missing");
    if (rc != 0) {
        cc_log_warn (self->log, "evidence not submitted: %s: %s", cc_error_name (rc),
                     reason->text);
        cc_codec_free ((ProtobufCMessage **) &evidence);
        return rc;
    }
    char offender [CC_HEX_PUBKEY_SIZE];
    cc_hex_encode (offence.offender, CC_PUBKEY_SIZE, offender);
    char what [96];
    snprintf (what, sizeof (what), "evidence against %.16s (height %" PRIu64 " round %" PRIu32
              ")", offender, offence.height, offence.round);
    if (s_seen (self, &offence)) {
        cc_codec_free ((ProtobufCMessage **) &evidence);
        cc_log_debug (self->log, "%s: reported already", what);
        return cc_reason_set (reason, CC_E_DUPLICATE, "%s: reported already", what);
    }
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_EVIDENCE;
    body.evidence = evidence;
    cc_tx_t *tx = s_sign (self, &body, s_committed_nonce (self) + 1 + self->count);
    cc_codec_free ((ProtobufCMessage **) &evidence);
    return s_submit (self, &tx, CC_OUTBOX_EVIDENCE, what, now_ms, reason);
}

int
cc_outbox_resign (cc_outbox_t *self, uint64_t now_ms, cc_reason_t *reason)
{
    assert (self);
    if (cc_outbox_resign_pending (self))
        return cc_reason_set (reason, CC_E_EXISTS, "a Resign is pending already");
    Certchain__Resign resign = CERTCHAIN__RESIGN__INIT;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_RESIGN;
    body.resign = &resign;
    cc_tx_t *tx = s_sign (self, &body, s_committed_nonce (self) + 1 + self->count);
    return s_submit (self, &tx, CC_OUTBOX_RESIGN, "resign", now_ms, reason);
}

//  --- Inputs ----------------------------------------------------------------------

bool
cc_outbox_on_reply (cc_outbox_t *self, const Certchain__Reply *reply, uint64_t now_ms)
{
    assert (self && reply);
    if (reply->id == 0)
        return false;
    size_t index = 0;
    while (index < self->count && self->entries [index].request_id != reply->id)
        index++;
    if (index == self->count)
        return false;
    s_entry_t *entry = &self->entries [index];
    entry->request_id = 0;
    if (reply->kind_case == CERTCHAIN__REPLY__KIND_SUBMIT_RESULT && reply->submit_result
        && reply->submit_result->n_results == 1) {
        const Certchain__Error *error = reply->submit_result->results [0]->error;
        int code = error ? -(int) (error->code > 0 ? error->code : -error->code) : 0;
        if (error && code == 0)
            code = CC_E_INTERNAL;
        //  DUPLICATE: the relay has it (a resend, or committed already).
        if (code != 0 && code != CC_E_DUPLICATE) {
            s_settle (self, index, 0, code,
                      error->message && *error->message ? error->message
                                                        : cc_error_message (code));
            s_resync (self, now_ms);
        }
        return true;
    }
    //  An Error reply (e.g. BUSY) or something odd: the relay did not
    //  take it; the next tick sends it again.
    const char *text = reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error
                       && reply->error->message ? reply->error->message : "unexpected reply";
    cc_log_debug (self->log, "%s: the relay did not take it (%s); resending later",
                  entry->what, text);
    entry->sent_ms = 0;
    return true;
}

void
cc_outbox_on_block (cc_outbox_t *self, cc_block_t *block, uint64_t now_ms)
{
    assert (self && block);
    if (self->count == 0)
        return;
    const uint8_t *ours = cc_keypair_public (self->key);
    size_t tx_count = cc_block_tx_count (block);
    for (size_t index = 0; index < tx_count; index++) {
        cc_tx_t *tx = cc_block_tx (block, index);
        if (memcmp (cc_tx_signer (tx), ours, CC_PUBKEY_SIZE) != 0)
            continue;
        const uint8_t *hash = cc_tx_hash (tx);
        for (size_t at = 0; at < self->count; at++) {
            s_entry_t *entry = &self->entries [at];
            bool match = memcmp (cc_tx_hash (entry->tx), hash, CC_HASH_SIZE) == 0;
            for (size_t version = 0; version < entry->version_count && !match; version++)
                match = memcmp (entry->versions [version], hash, CC_HASH_SIZE) == 0;
            if (match) {
                s_settle (self, at, cc_block_height (block), 0, "committed");
                break;
            }
        }
    }
    s_resync (self, now_ms);
}

void
cc_outbox_tick (cc_outbox_t *self, uint64_t now_ms)
{
    assert (self);
    for (size_t index = 0; index < self->count; index++) {
        s_entry_t *entry = &self->entries [index];
        if (now_ms - entry->sent_ms >= CC_OUTBOX_RESEND_MS || entry->sent_ms > now_ms) {
            s_send (self, entry, now_ms);
            s_count (self, "outbox.resent", 0);
        }
    }
}

//  --- Reading ---------------------------------------------------------------------

size_t
cc_outbox_pending (cc_outbox_t *self)
{
    assert (self);
    return self->count;
}

bool
cc_outbox_resign_pending (cc_outbox_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->count; index++)
        if (self->entries [index].kind == CC_OUTBOX_RESIGN)
            return true;
    return false;
}

uint64_t
cc_outbox_next_nonce (cc_outbox_t *self)
{
    assert (self);
    return s_committed_nonce (self) + 1 + self->count;
}

const char *
cc_outbox_kind_name (cc_outbox_kind_t kind)
{
    switch (kind) {
        case CC_OUTBOX_EVIDENCE: return "evidence";
        case CC_OUTBOX_RESIGN: return "resign";
    }
    return "unknown";
}
