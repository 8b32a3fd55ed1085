/*  =========================================================================
    discards - the verifier's log of discarded blocks
    =========================================================================
*/

#include "discards.h"

#include "chain.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Key of a record, and of the next sequence number.
#define S_RECORD_PREFIX 'd'
#define S_RECORD_KEY_SIZE 9
static const char s_next_key [] = "n";

struct _cc_discards_t {
    cc_store_t *store;          //  the chain's store (borrowed)
    int family;                 //  index of the service family
    uint64_t next;              //  sequence number of the next record
};

//  A collection of records under construction.
typedef struct {
    Certchain__DiscardedList *list;     //  records collected so far
    size_t max;                         //  room in list->discarded
    int rc;                             //  first error while collecting
} s_collect_t;

static void
s_record_key (uint64_t seq, uint8_t *key)
{
    key [0] = S_RECORD_PREFIX;
    cc_be64_put (key + 1, seq);
}

//  --- Life cycle -----------------------------------------------------------------

cc_discards_t *
cc_discards_new (cc_store_t *store, cc_reason_t *reason)
{
    assert (store);
    int family = cc_store_family (store, CC_CHAIN_SERVICE_FAMILY);
    if (family < 0) {
        cc_reason_set (reason, CC_E_STORE, "store has no '%s' family",
                       CC_CHAIN_SERVICE_FAMILY);
        return NULL;
    }
    uint64_t next = 1;
    uint8_t *value = NULL;
    size_t size = 0;
    int rc = cc_store_get (store, family, s_next_key, 1, &value, &size);
    if (rc == 0) {
        if (size != 8) {
            free (value);
            cc_reason_set (reason, CC_E_STORE, "discard counter has %zu bytes", size);
            return NULL;
        }
        next = cc_be64_get (value);
        free (value);
    }
    else
    if (rc != CC_E_NOT_FOUND) {
        cc_reason_set (reason, rc, "cannot read the discard counter");
        return NULL;
    }
    cc_discards_t *self = (cc_discards_t *) calloc (1, sizeof (cc_discards_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    self->store = store;
    self->family = family;
    self->next = next;
    return self;
}

void
cc_discards_destroy (cc_discards_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

uint64_t
cc_discards_count (cc_discards_t *self)
{
    assert (self);
    return self->next - 1;
}

//  --- Recording ------------------------------------------------------------------

int
cc_discards_record (cc_discards_t *self, uint64_t height, const uint8_t *hash,
                    const uint8_t *proposer, int code, const char *text, uint64_t time_ms,
                    uint64_t *seq_p)
{
    assert (self);
    uint64_t seq = self->next;
    Certchain__Discarded record = CERTCHAIN__DISCARDED__INIT;
    record.seq = seq;
    record.height = height;
    if (hash)
        record.block_hash = cc_bytes_view (hash, CC_HASH_SIZE);
    if (proposer)
        record.proposer = cc_bytes_view (proposer, CC_PUBKEY_SIZE);
    record.code = code < 0 ? -code : code;
    record.reason = (char *) (text ? text : "");
    record.time_ms = time_ms;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_codec_pack (&record.base, CC_MAX_MESSAGE_SIZE, &data, &size);
    if (rc != 0)
        return rc;
    cc_batch_t *batch = cc_store_batch (self->store);
    if (!batch) {
        free (data);
        return CC_E_NOMEM;
    }
    uint8_t key [S_RECORD_KEY_SIZE];
    s_record_key (seq, key);
    cc_batch_put (batch, self->family, key, sizeof (key), data, size);
    free (data);
    if (seq > CC_DISCARDS_KEEP) {
        s_record_key (seq - CC_DISCARDS_KEEP, key);
        cc_batch_delete (batch, self->family, key, sizeof (key));
    }
    uint8_t next [8];
    cc_be64_put (next, seq + 1);
    cc_batch_put (batch, self->family, s_next_key, 1, next, sizeof (next));
    rc = cc_store_commit (self->store, &batch, false);
    if (rc != 0)
        return rc;
    self->next = seq + 1;
    if (seq_p)
        *seq_p = seq;
    return 0;
}

//  --- Listing --------------------------------------------------------------------

static bool
s_collect (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
           void *argument)
{
    s_collect_t *collect = (s_collect_t *) argument;
    if (key_size != S_RECORD_KEY_SIZE || key [0] != S_RECORD_PREFIX)
        return false;           //  past the records
    int code = 0;
    Certchain__Discarded *record = (Certchain__Discarded *) cc_codec_unpack (
        &certchain__discarded__descriptor, value, value_size, CC_MAX_MESSAGE_SIZE, &code);
    if (!record) {
        collect->rc = CC_E_STORE;
        return false;
    }
    Certchain__DiscardedList *list = collect->list;
    list->discarded [list->n_discarded++] = record;
    return list->n_discarded < collect->max;
}

int
cc_discards_list (cc_discards_t *self, uint64_t from_seq, uint32_t max_count,
                  Certchain__DiscardedList **list_p)
{
    assert (self);
    assert (list_p);
    *list_p = NULL;
    size_t max = max_count == 0 ? CC_DISCARDS_PAGE : max_count;
    if (max > CC_DISCARDS_PAGE_MAX)
        max = CC_DISCARDS_PAGE_MAX;
    Certchain__DiscardedList *list = (Certchain__DiscardedList *) calloc (
        1, sizeof (Certchain__DiscardedList));
    if (!list)
        return CC_E_NOMEM;
    certchain__discarded_list__init (list);
    list->discarded = (Certchain__Discarded **) calloc (max, sizeof (Certchain__Discarded *));
    if (!list->discarded) {
        free (list);
        return CC_E_NOMEM;
    }
    s_collect_t collect = {list, max, 0};
    uint8_t start [S_RECORD_KEY_SIZE];
    s_record_key (from_seq == 0 ? 1 : from_seq, start);
    int rc = 0;
    if (from_seq < self->next)
        rc = cc_store_scan_from (self->store, self->family, start, sizeof (start), s_collect,
                                 &collect);
    if (rc == 0)
        rc = collect.rc;
    if (rc != 0) {
        cc_discards_list_free (&list);
        return rc;
    }
    *list_p = list;
    return 0;
}

void
cc_discards_list_free (Certchain__DiscardedList **list_p)
{
    assert (list_p);
    Certchain__DiscardedList *list = *list_p;
    if (!list)
        return;
    for (size_t index = 0; index < list->n_discarded; index++)
        certchain__discarded__free_unpacked (list->discarded [index], NULL);
    free (list->discarded);
    free (list);
    *list_p = NULL;
}
