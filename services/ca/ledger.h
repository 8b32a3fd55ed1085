/*  =========================================================================
    ledger - the CA's own records in its store: pending challenges, the
    audit log of decisions, its ban list and the Certify transactions it
    submitted that are not committed yet

    The CA keeps one RocksDB store (store/path) for its chain view
    (common/chain) and, in the chain's "service" column family, these
    records, every key under "ca/" so other users of that family (the
    consensus driver's "consensus/...") never collide:
      ca/c/<challenge id (16)>   PendingChallenge (challenge, the profile
                                 of its request, status OPEN / ANSWERED /
                                 EXPIRED, first answer's outcome)
      ca/l/<seq (8, BE)>         AuditEntry, one per decision, seq from 1
      ca/m/audit_seq             the last seq written (8, BE)
      ca/b/<node key (32)>       BanRecord of the CA's own ban list
      ca/t/<nonce (8, BE)>       serialized Signed Certify tx, until committed

    Durability: a challenge is written with sync before it is sent, and
    marked ANSWERED with sync before its answer is verified, so a CA
    restart neither loses a challenge nor lets one be answered twice.
    A Certify is written with sync (with its challenge's outcome and its
    audit entry) before it is submitted. Refusals are written without
    sync: a crash of the machine (not of the process) may lose the last
    few audit entries, never a challenge or a certificate.

    The audit log keeps the last CC_LEDGER_AUDIT_KEEP entries; older ones
    are deleted as new ones are written.

    Ownership: the ledger borrows the store, which must outlive it.
    Returned records are the caller's (free with cc_codec_free).
    =========================================================================
*/

#ifndef CC_CA_LEDGER_H_INCLUDED
#define CC_CA_LEDGER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "store.h"

typedef struct _cc_ledger_t cc_ledger_t;

//  Audit entries kept; older ones are deleted.
#define CC_LEDGER_AUDIT_KEEP 1000000
//  Most audit entries one read returns.
#define CC_LEDGER_AUDIT_MAX_READ 1000

//  Told for each stored Certify tx by cc_ledger_certifies: its nonce and
//  serialized envelope (valid during the call).
typedef void (cc_ledger_certify_fn) (void *argument, uint64_t nonce, const uint8_t *data,
                                     size_t size);

//  --- Life cycle -------------------------------------------------------------------

//  The ledger over store's family (opened by the chain); reads the last
//  audit seq. NULL with STORE in reason on failure. Caller owns it.
cc_ledger_t *
    cc_ledger_new (cc_store_t *store, const char *family, cc_reason_t *reason);

//  Destroys the ledger (not the store); nulls the pointer; safe on NULL.
void
    cc_ledger_destroy (cc_ledger_t **self_p);

//  --- Challenges ----------------------------------------------------------------------

//  Writes (or rewrites) a challenge record under its challenge's id, with
//  audit (may be NULL) appended in the same batch, synced or not.
//  audit->seq is set. 0 or STORE.
int
    cc_ledger_put_challenge (cc_ledger_t *self, const Certchain__PendingChallenge *record,
                             Certchain__AuditEntry *audit, bool sync);

//  Reads the record of challenge id. 0 with *record_p (caller frees),
//  NOT_FOUND, MALFORMED (a record that does not decode) or STORE.
int
    cc_ledger_get_challenge (cc_ledger_t *self, const uint8_t *id, size_t id_size,
                             Certchain__PendingChallenge **record_p);

//  Housekeeping at now_ms: OPEN challenges past their deadline by more
//  than grace_ms become EXPIRED; records past their deadline by more than
//  retention_ms are deleted. Counts go to *expired and *deleted (may be
//  NULL). 0 or STORE.
int
    cc_ledger_expire (cc_ledger_t *self, uint64_t now_ms, uint64_t grace_ms,
                      uint64_t retention_ms, size_t *expired, size_t *deleted);

//  Challenges on record, by status.
int
    cc_ledger_count_challenges (cc_ledger_t *self, size_t *open, size_t *answered,
                                size_t *expired);

//  --- Audit log --------------------------------------------------------------------------

//  Appends entry (its seq is set here), synced or not. 0 or STORE.
int
    cc_ledger_audit (cc_ledger_t *self, Certchain__AuditEntry *entry, bool sync);

//  The last seq written (0 = none).
uint64_t
    cc_ledger_audit_last (cc_ledger_t *self);

//  Reads entries with seq >= from_seq (0 = from the oldest kept), at most
//  max_count (0 or above CC_LEDGER_AUDIT_MAX_READ: that maximum), only
//  node's when node is not NULL (32 bytes). Fills log (initialised by the
//  caller; free its contents with cc_ledger_audit_log_clear). 0 or STORE.
int
    cc_ledger_audit_read (cc_ledger_t *self, uint64_t from_seq, uint32_t max_count,
                          const uint8_t *node, Certchain__AuditLog *log);

//  Frees what cc_ledger_audit_read put in log (not log itself).
void
    cc_ledger_audit_log_clear (Certchain__AuditLog *log);

//  --- Ban list -----------------------------------------------------------------------------

//  Bans node (32 bytes) with reason and origin; replaces an earlier entry.
//  0 or STORE.
int
    cc_ledger_ban (cc_ledger_t *self, const uint8_t *node, const char *reason,
                   const char *origin, uint64_t now_ms);

//  Lifts the ban of node. 0 (also when there was none) or STORE.
int
    cc_ledger_unban (cc_ledger_t *self, const uint8_t *node);

//  True if node is on the ban list; *record_p (may be NULL) gets its
//  record (caller frees).
bool
    cc_ledger_banned (cc_ledger_t *self, const uint8_t *node, Certchain__BanRecord **record_p);

//  Lifts every ban of origin whose key is not in keys (count keys of 32
//  bytes each): how a ban removed from the policy file is lifted. Returns
//  the number lifted, or STORE.
int
    cc_ledger_unban_missing (cc_ledger_t *self, const char *origin, const uint8_t *keys,
                             size_t count);

//  --- Certify transactions not committed yet -----------------------------------------------

//  Stores a serialized Certify envelope under its nonce, with the
//  challenge record it answers and audit (each may be NULL) in the same
//  batch; synced. 0 or STORE.
int
    cc_ledger_put_certify (cc_ledger_t *self, uint64_t nonce, const uint8_t *data, size_t size,
                           const Certchain__PendingChallenge *record,
                           Certchain__AuditEntry *audit);

//  Deletes the Certify of nonce (committed). 0 or STORE.
int
    cc_ledger_delete_certify (cc_ledger_t *self, uint64_t nonce);

//  Visits every stored Certify in nonce order. 0 or STORE.
int
    cc_ledger_certifies (cc_ledger_t *self, cc_ledger_certify_fn *visit, void *argument);

#endif
