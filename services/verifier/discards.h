/*  =========================================================================
    discards - the verifier's log of discarded blocks

    Every block the verifier refuses (the patent's rule said no, or it
    conflicts with a committed block) becomes one Discarded record
    {seq, height, block hash, proposer, code, reason, time} in the chain's
    service family (CC_CHAIN_SERVICE_FAMILY), numbered from 1 in the order
    of the discards. ListDiscarded pages through them by sequence number,
    and the count survives restarts.

    Keys in the service family:
      "d" + seq (8 bytes big-endian)  packed Discarded
      "n"                             next sequence number (8 bytes BE)
    Each record and the next number go in one batch, written without sync:
    a killed process keeps them (RocksDB's write-ahead log), only a crash of
    the machine may lose the last ones, and a flood of rogue blocks does
    not cost one fsync each. Only the newest CC_DISCARDS_KEEP records are
    kept, so the log stays bounded whatever a rogue producer sends.

    Ownership: the log borrows the store, which must outlive it.
    =========================================================================
*/

#ifndef CC_VERIFIER_DISCARDS_H_INCLUDED
#define CC_VERIFIER_DISCARDS_H_INCLUDED

#include <stdint.h>

#include "store.h"
#include "codec.h"

//  Records kept; older ones are deleted as new ones come.
#define CC_DISCARDS_KEEP 100000
//  Records in one ListDiscarded answer: by default, and at most.
#define CC_DISCARDS_PAGE 100
#define CC_DISCARDS_PAGE_MAX 1000

typedef struct _cc_discards_t cc_discards_t;

//  Opens the log held in store's service family. NULL with reason STORE
//  (family missing, unreadable counter). Caller owns it.
cc_discards_t *
    cc_discards_new (cc_store_t *store, cc_reason_t *reason);

//  Destroys the log object (not the records); nulls the pointer; safe on
//  NULL.
void
    cc_discards_destroy (cc_discards_t **self_p);

//  Number of discards ever recorded (the last sequence number).
uint64_t
    cc_discards_count (cc_discards_t *self);

//  Records one discard: hash and proposer 32 bytes each (NULL for none),
//  code the verdict (negative here, stored positive as on the wire), text
//  its reason. *seq_p (may be NULL) gets its sequence number. 0 or STORE.
int
    cc_discards_record (cc_discards_t *self, uint64_t height, const uint8_t *hash,
                        const uint8_t *proposer, int code, const char *text, uint64_t time_ms,
                        uint64_t *seq_p);

//  The records with seq >= from_seq, oldest first, at most max_count
//  (0 = CC_DISCARDS_PAGE, capped at CC_DISCARDS_PAGE_MAX). Caller frees
//  *list_p with cc_discards_list_free. 0, NOMEM or STORE.
int
    cc_discards_list (cc_discards_t *self, uint64_t from_seq, uint32_t max_count,
                      Certchain__DiscardedList **list_p);

//  Frees a list from cc_discards_list; nulls the pointer; safe on NULL.
void
    cc_discards_list_free (Certchain__DiscardedList **list_p);

#endif
