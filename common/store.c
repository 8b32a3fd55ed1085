/*  =========================================================================
    store - the RocksDB store owned by one process

    A thin layer over the RocksDB C API: one database per process, opened
    with every column family it already holds plus those the caller names,
    point reads, ordered scans, and atomic write batches.

    DESIGN: RocksDB refuses to open a database without naming every column
    family it holds, so open lists the existing families first and opens
    them all; only the families the caller named (and "default") get an
    index from cc_store_family, so a process cannot wander into a family it
    did not declare. Memory is kept small on purpose (a 4 MiB write buffer,
    two of them, one background job, one LRU block cache shared by every
    family) since each service runs as its own small process. Atomicity
    comes from RocksDB's write-ahead log: a WriteBatch is one WAL record,
    recovered whole or not at all (point-in-time recovery), and a commit
    with sync set returns only once that record is on disk. A second
    process opening the same database fails on RocksDB's LOCK file, which
    we report as STORE with the path.

    The store is safe to read from several threads at once: after open its
    fields never change and RocksDB handles are thread-safe.
    =========================================================================
*/

#include "store.h"

#include <assert.h>
#include <errno.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  Block cache when the caller asks for the default.
#define S_DEFAULT_CACHE_BYTES (8 * 1024 * 1024)

struct _cc_store_t {
    char *path;                                 //  database directory
    rocksdb_t *db;                              //  the open database
    rocksdb_options_t *options;                 //  db and family options
    rocksdb_block_based_table_options_t *table; //  bloom filter and cache
    rocksdb_cache_t *cache;                     //  LRU block cache, shared
    rocksdb_readoptions_t *read_options;        //  for gets and scans
    rocksdb_writeoptions_t *write_sync;         //  commits with fsync
    rocksdb_writeoptions_t *write_nosync;       //  commits without fsync
    size_t handle_count;                        //  every family opened
    char **names;                               //  their names
    rocksdb_column_family_handle_t **handles;   //  their handles
    size_t family_count;                        //  families with an index
    size_t *family_handle;                      //  index -> handles slot
};

struct _cc_batch_t {
    cc_store_t *store;              //  store whose families it writes
    rocksdb_writebatch_t *batch;    //  the pending writes
};

//  --- Opening and closing ------------------------------------------------------

//  Index of name in names [0..count), or -1.
static int
s_name_index (char *const *names, size_t count, const char *name)
{
    for (size_t index = 0; index < count; index++)
        if (strcmp (names [index], name) == 0)
            return (int) index;
    return -1;
}

//  Appends a copy of name to the names array unless already there.
//  0 or NOMEM.
static int
s_names_add (char ***names_p, size_t *count_p, const char *name)
{
    if (s_name_index (*names_p, *count_p, name) >= 0)
        return 0;
    char **names = (char **) realloc (*names_p, (*count_p + 1) * sizeof (char *));
    if (!names)
        return CC_E_NOMEM;
    *names_p = names;
    names [*count_p] = strdup (name);
    if (!names [*count_p])
        return CC_E_NOMEM;
    (*count_p)++;
    return 0;
}

//  Builds options: creation flags, small memory, bloom filter, LRU cache.
static int
s_store_configure (cc_store_t *self, size_t cache_bytes)
{
    self->options = rocksdb_options_create ();
    self->table = rocksdb_block_based_options_create ();
    self->cache = rocksdb_cache_create_lru (cache_bytes ? cache_bytes : S_DEFAULT_CACHE_BYTES);
    self->read_options = rocksdb_readoptions_create ();
    self->write_sync = rocksdb_writeoptions_create ();
    self->write_nosync = rocksdb_writeoptions_create ();
    if (!self->options || !self->table || !self->cache || !self->read_options
        || !self->write_sync || !self->write_nosync)
        return CC_E_NOMEM;

    //  The table options take ownership of the filter policy; the cache
    //  stays ours and is destroyed after the database.
    rocksdb_block_based_options_set_filter_policy (self->table,
                                                   rocksdb_filterpolicy_create_bloom (10));
    rocksdb_block_based_options_set_block_cache (self->table, self->cache);

    rocksdb_options_set_create_if_missing (self->options, 1);
    rocksdb_options_set_create_missing_column_families (self->options, 1);
    rocksdb_options_set_block_based_table_factory (self->options, self->table);
    rocksdb_options_set_write_buffer_size (self->options, 4 * 1024 * 1024);
    rocksdb_options_set_max_write_buffer_number (self->options, 2);
    rocksdb_options_set_max_open_files (self->options, 256);
    rocksdb_options_set_max_background_jobs (self->options, 1);
    //  RocksDB's own LOG files stay bounded on a long-running node.
    rocksdb_options_set_max_log_file_size (self->options, 1024 * 1024);
    rocksdb_options_set_keep_log_file_num (self->options, 4);

    rocksdb_writeoptions_set_sync (self->write_sync, 1);
    rocksdb_writeoptions_set_sync (self->write_nosync, 0);
    return 0;
}

//  Fills names with the families the database at path already holds
//  (nothing when there is no database yet). 0, NOMEM or STORE.
static int
s_store_existing_families (cc_store_t *self, cc_reason_t *reason)
{
    char current [4096];
    struct stat info;
    snprintf (current, sizeof (current), "%s/CURRENT", self->path);
    if (stat (current, &info) != 0)
        return 0;               //  a new database: nothing to list

    char *error = NULL;
    size_t count = 0;
    char **existing = rocksdb_list_column_families (self->options, self->path, &count, &error);
    if (error) {
        cc_reason_set (reason, CC_E_STORE, "store %s: cannot list column families: %s",
                       self->path, error);
        rocksdb_free (error);
        return CC_E_STORE;
    }
    int rc = 0;
    for (size_t index = 0; index < count && rc == 0; index++)
        rc = s_names_add (&self->names, &self->handle_count, existing [index]);
    rocksdb_list_column_families_destroy (existing, count);
    if (rc)
        cc_reason_set (reason, rc, "out of memory");
    return rc;
}

cc_store_t *
cc_store_open (const char *path, const char *const *families, size_t cache_bytes,
               cc_reason_t *reason)
{
    assert (path);
    cc_store_t *self = (cc_store_t *) calloc (1, sizeof (cc_store_t));
    if (!self || !(self->path = strdup (path))
        || s_store_configure (self, cache_bytes) != 0
        || s_names_add (&self->names, &self->handle_count, "default") != 0) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        cc_store_destroy (&self);
        return NULL;
    }
    if (s_store_existing_families (self, reason) != 0) {
        cc_store_destroy (&self);
        return NULL;
    }
    //  The families the caller names, each once, after "default" and the
    //  existing ones; remember which slot each indexable family has.
    size_t asked = 0;
    while (families && families [asked])
        asked++;
    self->family_handle = (size_t *) calloc (asked + 1, sizeof (size_t));
    if (!self->family_handle) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        cc_store_destroy (&self);
        return NULL;
    }
    self->family_handle [self->family_count++] = 0;     //  "default"
    for (size_t index = 0; index < asked; index++) {
        assert (families [index][0]);
        if (s_names_add (&self->names, &self->handle_count, families [index]) != 0) {
            cc_reason_set (reason, CC_E_NOMEM, "out of memory");
            cc_store_destroy (&self);
            return NULL;
        }
        size_t slot = (size_t) s_name_index (self->names, self->handle_count, families [index]);
        bool known = false;
        for (size_t family = 0; family < self->family_count; family++)
            known |= self->family_handle [family] == slot;
        if (!known)
            self->family_handle [self->family_count++] = slot;
    }

    const rocksdb_options_t **family_options =
        (const rocksdb_options_t **) calloc (self->handle_count, sizeof (rocksdb_options_t *));
    self->handles = (rocksdb_column_family_handle_t **) calloc (
        self->handle_count, sizeof (rocksdb_column_family_handle_t *));
    if (!family_options || !self->handles) {
        free (family_options);
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        cc_store_destroy (&self);
        return NULL;
    }
    for (size_t index = 0; index < self->handle_count; index++)
        family_options [index] = self->options;

    char *error = NULL;
    self->db = rocksdb_open_column_families (self->options, self->path, (int) self->handle_count,
                                             (const char *const *) self->names, family_options,
                                             self->handles, &error);
    free (family_options);
    if (error || !self->db) {
        //  A lock held by another process lands here as an IO error from
        //  RocksDB; the path in our message tells the operator which one.
        cc_reason_set (reason, CC_E_STORE, "store %s: cannot open: %s", self->path,
                       error ? error : "unknown error");
        rocksdb_free (error);
        if (self->db) {
            rocksdb_close (self->db);
            self->db = NULL;
        }
        //  On failure RocksDB hands back no handles.
        memset (self->handles, 0, self->handle_count * sizeof (rocksdb_column_family_handle_t *));
        cc_store_destroy (&self);
        return NULL;
    }
    cc_reason_clear (reason);
    return self;
}

void
cc_store_destroy (cc_store_t **self_p)
{
    assert (self_p);
    cc_store_t *self = *self_p;
    if (!self)
        return;
    //  Handles before the database, the database before its options.
    if (self->handles)
        for (size_t index = 0; index < self->handle_count; index++)
            if (self->handles [index])
                rocksdb_column_family_handle_destroy (self->handles [index]);
    if (self->db)
        rocksdb_close (self->db);
    if (self->options)
        rocksdb_options_destroy (self->options);
    if (self->table)
        rocksdb_block_based_options_destroy (self->table);
    if (self->cache)
        rocksdb_cache_destroy (self->cache);
    if (self->read_options)
        rocksdb_readoptions_destroy (self->read_options);
    if (self->write_sync)
        rocksdb_writeoptions_destroy (self->write_sync);
    if (self->write_nosync)
        rocksdb_writeoptions_destroy (self->write_nosync);
    for (size_t index = 0; index < self->handle_count; index++)
        free (self->names [index]);
    free (self->names);
    free (self->handles);
    free (self->family_handle);
    free (self->path);
    free (self);
    *self_p = NULL;
}

int
cc_store_family (cc_store_t *self, const char *name)
{
    assert (self);
    assert (name);
    for (size_t family = 0; family < self->family_count; family++)
        if (strcmp (self->names [self->family_handle [family]], name) == 0)
            return (int) family;
    return CC_E_NOT_FOUND;
}

//  The handle of a family index; an index we never gave out is a bug.
static rocksdb_column_family_handle_t *
s_store_handle (cc_store_t *self, int family)
{
    assert (family >= 0 && (size_t) family < self->family_count);
    return self->handles [self->family_handle [family]];
}

//  --- Reads --------------------------------------------------------------------

int
cc_store_get (cc_store_t *self, int family, const void *key, size_t key_size,
              uint8_t **value_p, size_t *size_p)
{
    assert (self);
    assert (value_p);
    assert (size_p);
    *value_p = NULL;
    *size_p = 0;
    char *error = NULL;
    rocksdb_pinnableslice_t *slice = rocksdb_get_pinned_cf (
        self->db, self->read_options, s_store_handle (self, family), (const char *) key, key_size,
        &error);
    if (error) {
        rocksdb_free (error);
        return CC_E_STORE;
    }
    if (!slice)
        return CC_E_NOT_FOUND;

    //  Copied into our own allocation so the caller frees it with free;
    //  one extra NUL byte makes text values usable as strings.
    size_t size = 0;
    const char *data = rocksdb_pinnableslice_value (slice, &size);
    uint8_t *value = (uint8_t *) malloc (size + 1);
    if (!value) {
        rocksdb_pinnableslice_destroy (slice);
        return CC_E_NOMEM;
    }
    if (size)
        memcpy (value, data, size);
    value [size] = 0;
    rocksdb_pinnableslice_destroy (slice);
    *value_p = value;
    *size_p = size;
    return 0;
}

//  Visits entries from start on; with a prefix, stops at the first key
//  that does not begin with it. 0 or STORE.
static int
s_store_iterate (cc_store_t *self, int family, const void *start, size_t start_size,
                 const void *prefix, size_t prefix_size, cc_store_visit_fn *visit,
                 void *argument)
{
    assert (self);
    assert (visit);
    rocksdb_iterator_t *iterator =
        rocksdb_create_iterator_cf (self->db, self->read_options, s_store_handle (self, family));
    if (!iterator)
        return CC_E_NOMEM;
    rocksdb_iter_seek (iterator, (const char *) start, start_size);
    while (rocksdb_iter_valid (iterator)) {
        size_t key_size = 0, value_size = 0;
        const char *key = rocksdb_iter_key (iterator, &key_size);
        if (prefix
            && (key_size < prefix_size || memcmp (key, prefix, prefix_size) != 0))
            break;
        const char *value = rocksdb_iter_value (iterator, &value_size);
        if (!visit ((const uint8_t *) key, key_size, (const uint8_t *) value, value_size,
                    argument))
            break;
        rocksdb_iter_next (iterator);
    }
    char *error = NULL;
    rocksdb_iter_get_error (iterator, &error);
    rocksdb_iter_destroy (iterator);
    if (error) {
        rocksdb_free (error);
        return CC_E_STORE;
    }
    return 0;
}

int
cc_store_scan (cc_store_t *self, int family, const void *prefix, size_t prefix_size,
               cc_store_visit_fn *visit, void *argument)
{
    //  An empty prefix must still be a valid pointer for memcmp.
    const void *bound = prefix ? prefix : "";
    return s_store_iterate (self, family, bound, prefix_size, bound, prefix_size, visit,
                            argument);
}

int
cc_store_scan_from (cc_store_t *self, int family, const void *start, size_t start_size,
                    cc_store_visit_fn *visit, void *argument)
{
    return s_store_iterate (self, family, start ? start : "", start_size, NULL, 0, visit,
                            argument);
}

//  --- Batches -------------------------------------------------------------------

cc_batch_t *
cc_store_batch (cc_store_t *self)
{
    assert (self);
    cc_batch_t *batch = (cc_batch_t *) calloc (1, sizeof (cc_batch_t));
    if (!batch)
        return NULL;
    batch->store = self;
    batch->batch = rocksdb_writebatch_create ();
    if (!batch->batch) {
        free (batch);
        return NULL;
    }
    return batch;
}

void
cc_batch_destroy (cc_batch_t **self_p)
{
    assert (self_p);
    cc_batch_t *self = *self_p;
    if (!self)
        return;
    rocksdb_writebatch_destroy (self->batch);
    free (self);
    *self_p = NULL;
}

void
cc_batch_put (cc_batch_t *self, int family, const void *key, size_t key_size,
              const void *value, size_t value_size)
{
    assert (self);
    rocksdb_writebatch_put_cf (self->batch, s_store_handle (self->store, family),
                               (const char *) key, key_size,
                               (const char *) (value ? value : ""), value_size);
}

void
cc_batch_delete (cc_batch_t *self, int family, const void *key, size_t key_size)
{
    assert (self);
    rocksdb_writebatch_delete_cf (self->batch, s_store_handle (self->store, family),
                                  (const char *) key, key_size);
}

size_t
cc_batch_count (cc_batch_t *self)
{
    assert (self);
    return (size_t) rocksdb_writebatch_count (self->batch);
}

int
cc_store_commit (cc_store_t *self, cc_batch_t **batch_p, bool sync)
{
    assert (self);
    assert (batch_p && *batch_p);
    assert ((*batch_p)->store == self);
    char *error = NULL;
    rocksdb_write (self->db, sync ? self->write_sync : self->write_nosync, (*batch_p)->batch,
                   &error);
    cc_batch_destroy (batch_p);
    if (error) {
        rocksdb_free (error);
        return CC_E_STORE;
    }
    return 0;
}
