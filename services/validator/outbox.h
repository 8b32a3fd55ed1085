/*  =========================================================================
    outbox - the transactions a validator signs with its own key

    A validator submits two kinds of transactions of its own: an Evidence
    when its consensus machine saw a member sign two conflicting votes
    (driver.h, EVIDENCE), and a Resign when it is asked to stop while it
    is a member (validator.c). Both are signed with the validator's key,
    carry fee 0, and need the signer's next nonce. The outbox is the one
    place that numbers, checks, sends and follows them:

      submit    nonce = committed nonce + 1 + number pending; the new tx
                is executed on top of the committed state and the pending
                ones (cc_exec, nothing written), so a tx the state would
                refuse (SELF_EVIDENCE, ALREADY_PUNISHED, UNKNOWN_NODE,
                NOT_ACTIVE, ...) is refused here with that code, logged,
                and never sent: a block never holds a failed tx, so the
                network would otherwise drop it silently, and its nonce
                would leave a gap that blocks every later one.
      send      through the send callback (the validator: SubmitTx to the
                relay, and a copy into its own mempool, so it packs the tx
                itself when it proposes)
      settle    a committed block holding it: logged as committed, gone
                from the pending list; a relay that refuses it (any code
                but DUPLICATE, which only means it has it already): logged
                as failed and dropped
      resync    after each block and each drop, the pending txs are
                numbered again from the committed nonce (re-signed where
                the nonce changed) and checked again on the new state; one
                that no longer applies is dropped with the state's reason
      resend    a tx still pending CC_OUTBOX_RESEND_MS after it was sent
                is sent again (pub/sub and mempools may drop it)

    Evidence is deduplicated by (offender, height, round) for the life of
    the process: the consensus machine reports prevote and precommit
    equivocations separately, and every member sees the same ones, so a
    validator reports each offence once.

    DESIGN: an entry remembers the hashes of its earlier versions (before
    a re-signing), so a block that commits an earlier version still
    settles it. Such a copy at another nonce can only fail where it
    arrives second (Resign of a resigned node, Evidence against a banned
    one), and failed transactions are never on chain.

    Ownership: the outbox owns its pending transactions; it borrows the
    chain, key, log and metrics, which must outlive it. One thread.
    =========================================================================
*/

#ifndef CC_VALIDATOR_OUTBOX_H_INCLUDED
#define CC_VALIDATOR_OUTBOX_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "chain.h"
#include "log.h"
#include "metrics.h"
#include "tx.h"

//  Most transactions pending at once; more are refused with BUSY.
#define CC_OUTBOX_MAX_PENDING 64
//  A pending tx is sent again after this long.
#define CC_OUTBOX_RESEND_MS 5000
//  Evidence offences remembered for deduplication (oldest forgotten).
#define CC_OUTBOX_SEEN 512
//  Earlier versions of an entry whose hashes are remembered.
#define CC_OUTBOX_VERSIONS 4

typedef struct _cc_outbox_t cc_outbox_t;

typedef enum {
    CC_OUTBOX_EVIDENCE = 1,     //  Evidence of double-signing
    CC_OUTBOX_RESIGN = 2        //  Resign of this validator
} cc_outbox_kind_t;

//  Sends tx (borrowed for the call) to the network; returns the request id
//  of the SubmitTx (to match the relay's reply), or 0 if it could not go.
typedef uint64_t (cc_outbox_send_fn) (void *argument, cc_tx_t *tx);

//  A tx of ours was settled: committed at height (code 0), or dropped with
//  code and text (the relay or the state refused it).
typedef void (cc_outbox_settled_fn) (void *argument, cc_outbox_kind_t kind,
                                     const uint8_t *tx_hash, uint64_t height, int code,
                                     const char *text);

typedef struct {
    cc_chain_t *chain;                  //  committed chain (borrowed)
    cc_keypair_t *key;                  //  the validator's key (borrowed)
    cc_log_t *log;                      //  borrowed
    cc_metrics_t *metrics;              //  counters (borrowed; may be NULL)
    cc_outbox_send_fn *send;            //  where txs leave
    cc_outbox_settled_fn *settled;      //  told of outcomes (may be NULL)
    void *argument;                     //  for the callbacks
} cc_outbox_config_t;

//  --- Life cycle ------------------------------------------------------------------

//  An empty outbox. Caller owns it; NULL when out of memory.
cc_outbox_t *
    cc_outbox_new (const cc_outbox_config_t *config);

//  Destroys the outbox and its pending txs; nulls the pointer; safe on NULL.
void
    cc_outbox_destroy (cc_outbox_t **self_p);

//  --- Submitting ------------------------------------------------------------------

//  An EVIDENCE output of consensus (a serialized Certchain__Evidence):
//  submitted as an Evidence tx. 0 when sent; DUPLICATE when this offender
//  was reported at this height and round already; MALFORMED or
//  INVALID_EVIDENCE for bytes that are not two votes; BUSY when too many
//  are pending; else the state's refusal. Every outcome is logged.
int
    cc_outbox_evidence (cc_outbox_t *self, const uint8_t *data, size_t size, uint64_t now_ms,
                        cc_reason_t *reason);

//  Submits a Resign of this validator. 0 when sent; EXISTS when one is
//  pending; BUSY; else the state's refusal (NOT_ACTIVE). Logged.
int
    cc_outbox_resign (cc_outbox_t *self, uint64_t now_ms, cc_reason_t *reason);

//  --- Inputs ----------------------------------------------------------------------

//  A reply from the relay. True when it answered one of our SubmitTx (it
//  is handled; the caller still frees it).
bool
    cc_outbox_on_reply (cc_outbox_t *self, const Certchain__Reply *reply, uint64_t now_ms);

//  A block was committed (by consensus or sync): settles what it holds
//  and resyncs the rest.
void
    cc_outbox_on_block (cc_outbox_t *self, cc_block_t *block, uint64_t now_ms);

//  Resends what has waited CC_OUTBOX_RESEND_MS. Call about once a second.
void
    cc_outbox_tick (cc_outbox_t *self, uint64_t now_ms);

//  --- Reading ---------------------------------------------------------------------

//  Transactions pending (sent, not yet committed or dropped).
size_t
    cc_outbox_pending (cc_outbox_t *self);

//  True while a Resign is pending.
bool
    cc_outbox_resign_pending (cc_outbox_t *self);

//  The nonce the next tx would get.
uint64_t
    cc_outbox_next_nonce (cc_outbox_t *self);

//  Name of a kind ("evidence", "resign").
const char *
    cc_outbox_kind_name (cc_outbox_kind_t kind);

#endif
