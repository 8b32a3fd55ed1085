/*  =========================================================================
    store - the RocksDB store owned by one process

    Each service owns one RocksDB database with the column families it names
    at open (missing ones are created). Reads go straight to RocksDB, which
    keeps a block cache and bloom filters in front of its files. Writes go
    through a batch: everything one block changes (the block, its tx index,
    state writes, the new tip) is put in one cc_batch_t and committed with
    cc_store_commit, atomically and, when asked, with sync - so a crash at any
    moment leaves the block fully applied or not at all, and a reopen finds
    the last committed tip.

    Ownership: the store owns its RocksDB handles; a batch belongs to the
    caller until cc_store_commit takes it. Values returned by cc_store_get are
    the caller's to free.

    Threads: reads and commits may come from several threads at once (the
    store does not change after open); one batch is one thread's.
    =========================================================================
*/

#ifndef CC_STORE_H_INCLUDED
#define CC_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct _cc_store_t cc_store_t;
typedef struct _cc_batch_t cc_batch_t;

//  Called for each entry of a scan; return false to stop.
typedef bool (cc_store_visit_fn) (const uint8_t *key, size_t key_size, const uint8_t *value,
                                  size_t value_size, void *argument);

//  Opens (creating if missing) the database at path with the column
//  families named in families (NULL-terminated, may be NULL; "default" is
//  implicit). Families the database holds but the caller did not name are
//  opened too (RocksDB requires it) but get no index. cache_bytes sizes the
//  block cache (0 = 8 MiB). NULL with reason STORE (the message names the
//  path) on failure, e.g. when another process holds the database.
cc_store_t *
    cc_store_open (const char *path, const char *const *families, size_t cache_bytes,
                   cc_reason_t *reason);

//  Closes the database; nulls the pointer; safe on NULL.
void
    cc_store_destroy (cc_store_t **self_p);

//  Index of a column family named at open, for the calls below; negative
//  NOT_FOUND for a name not opened.
int
    cc_store_family (cc_store_t *self, const char *name);

//  Reads one value. 0 with *value_p (caller frees; a NUL byte follows the
//  size bytes, so text reads as a string) and *size_p, NOT_FOUND, STORE or
//  NOMEM.
int
    cc_store_get (cc_store_t *self, int family, const void *key, size_t key_size,
                  uint8_t **value_p, size_t *size_p);

//  Visits every entry whose key starts with prefix, in key order (an
//  empty prefix visits all). key and value are valid during the call
//  only. 0 or STORE.
int
    cc_store_scan (cc_store_t *self, int family, const void *prefix, size_t prefix_size,
                   cc_store_visit_fn *visit, void *argument);

//  Visits entries with key >= start in key order (any prefix). 0 or STORE.
int
    cc_store_scan_from (cc_store_t *self, int family, const void *start, size_t start_size,
                        cc_store_visit_fn *visit, void *argument);

//  --- Batches -------------------------------------------------------------------

//  A new empty batch of writes for this store. Caller owns it.
cc_batch_t *
    cc_store_batch (cc_store_t *self);

//  Destroys a batch without committing it; nulls the pointer; safe on NULL.
void
    cc_batch_destroy (cc_batch_t **self_p);

//  Adds a put or a delete to the batch.
void
    cc_batch_put (cc_batch_t *self, int family, const void *key, size_t key_size,
                  const void *value, size_t value_size);
void
    cc_batch_delete (cc_batch_t *self, int family, const void *key, size_t key_size);

//  Number of writes in the batch.
size_t
    cc_batch_count (cc_batch_t *self);

//  Writes the batch atomically (fsync first when sync is true) and
//  destroys it. 0 or STORE (nothing written).
int
    cc_store_commit (cc_store_t *self, cc_batch_t **batch_p, bool sync);

#endif
