/*  =========================================================================
    ledger - the CA's own records in its store (see ledger.h for the keys)

    Keys are built as a fixed ASCII prefix followed by binary parts;
    numbers are 8 bytes big-endian so a prefix scan visits them in order.
    =========================================================================
*/

#include "ledger.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define S_CHALLENGE_PREFIX "ca/c/"
#define S_AUDIT_PREFIX "ca/l/"
#define S_AUDIT_SEQ_KEY "ca/m/audit_seq"
#define S_BAN_PREFIX "ca/b/"
#define S_CERTIFY_PREFIX "ca/t/"
//  Longest key: a prefix of 5 and a 32-byte node key.
#define S_KEY_MAX 64
//  Largest record read back (a challenge of 4096 seeds and a profile).
#define S_RECORD_MAX (1024 * 1024)

struct _cc_ledger_t {
    cc_store_t *store;          //  the CA's store (borrowed)
    int family;                 //  index of the service family
    uint64_t audit_seq;         //  last audit seq written
};

//  --- Keys ------------------------------------------------------------------------

static size_t
s_key (uint8_t *key, const char *prefix, const uint8_t *part, size_t part_size)
{
    size_t length = strlen (prefix);
    assert (length + part_size <= S_KEY_MAX);
    memcpy (key, prefix, length);
    if (part_size)
        memcpy (key + length, part, part_size);
    return length + part_size;
}

static size_t
s_number_key (uint8_t *key, const char *prefix, uint64_t number)
{
    uint8_t part [8];
    cc_be64_put (part, number);
    return s_key (key, prefix, part, sizeof (part));
}

//  Packs message and puts it at key in batch. 0 or NOMEM/OVERSIZE.
static int
s_batch_put_message (cc_ledger_t *self, cc_batch_t *batch, const uint8_t *key, size_t key_size,
                     const ProtobufCMessage *message)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_codec_pack (message, S_RECORD_MAX, &data, &size);
    if (rc != 0)
        return rc;
    cc_batch_put (batch, self->family, key, key_size, data, size);
    free (data);
    return 0;
}

//  Reads and unpacks the message at key. 0, NOT_FOUND, MALFORMED or STORE.
static int
s_get_message (cc_ledger_t *self, const uint8_t *key, size_t key_size,
               const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **message_p)
{
    *message_p = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_store_get (self->store, self->family, key, key_size, &data, &size);
    if (rc != 0)
        return rc;
    int code = 0;
    *message_p = cc_codec_unpack (descriptor, data, size, S_RECORD_MAX, &code);
    free (data);
    return *message_p ? 0 : CC_E_MALFORMED;
}

//  Adds entry to batch with the next seq, and deletes the entry that falls
//  out of the kept window.
static int
s_batch_audit (cc_ledger_t *self, cc_batch_t *batch, Certchain__AuditEntry *entry)
{
    entry->seq = self->audit_seq + 1;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_number_key (key, S_AUDIT_PREFIX, entry->seq);
    int rc = s_batch_put_message (self, batch, key, key_size, &entry->base);
    if (rc != 0)
        return rc;
    uint8_t seq [8];
    cc_be64_put (seq, entry->seq);
    cc_batch_put (batch, self->family, S_AUDIT_SEQ_KEY, strlen (S_AUDIT_SEQ_KEY), seq, 8);
    if (entry->seq > CC_LEDGER_AUDIT_KEEP) {
        key_size = s_number_key (key, S_AUDIT_PREFIX, entry->seq - CC_LEDGER_AUDIT_KEEP);
        cc_batch_delete (batch, self->family, key, key_size);
    }
    return 0;
}

//  Commits batch; on success the audit seq moves to entry's (when given).
static int
s_commit (cc_ledger_t *self, cc_batch_t **batch_p, bool sync, const Certchain__AuditEntry *entry)
{
    int rc = cc_store_commit (self->store, batch_p, sync);
    if (rc == 0 && entry)
        self->audit_seq = entry->seq;
    return rc;
}

//  --- Life cycle ---------------------------------------------------------------------

cc_ledger_t *
cc_ledger_new (cc_store_t *store, const char *family, cc_reason_t *reason)
{
    assert (store);
    assert (family);
    int index = cc_store_family (store, family);
    if (index < 0) {
        cc_reason_set (reason, CC_E_STORE, "the store has no '%s' column family", family);
        return NULL;
    }
    cc_ledger_t *self = (cc_ledger_t *) calloc (1, sizeof (cc_ledger_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    self->store = store;
    self->family = index;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_store_get (store, index, S_AUDIT_SEQ_KEY, strlen (S_AUDIT_SEQ_KEY), &data, &size);
    if (rc == 0 && size == 8)
        self->audit_seq = cc_be64_get (data);
    free (data);
    if (rc != 0 && rc != CC_E_NOT_FOUND) {
        cc_reason_set (reason, rc, "cannot read the audit sequence: %s", cc_error_message (rc));
        free (self);
        return NULL;
    }
    return self;
}

void
cc_ledger_destroy (cc_ledger_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  --- Challenges -----------------------------------------------------------------------

//  Adds a challenge record to batch under its challenge's id.
static int
s_batch_challenge (cc_ledger_t *self, cc_batch_t *batch, const Certchain__PendingChallenge *record)
{
    const Certchain__Challenge *challenge = record->challenge;
    if (challenge->id.len == 0 || challenge->id.len > S_KEY_MAX - strlen (S_CHALLENGE_PREFIX))
        return CC_E_BAD_FIELD;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_key (key, S_CHALLENGE_PREFIX, challenge->id.data, challenge->id.len);
    return s_batch_put_message (self, batch, key, key_size, &record->base);
}

int
cc_ledger_put_challenge (cc_ledger_t *self, const Certchain__PendingChallenge *record,
                         Certchain__AuditEntry *audit, bool sync)
{
    assert (self);
    assert (record && record->challenge);
    cc_batch_t *batch = cc_store_batch (self->store);
    if (!batch)
        return CC_E_NOMEM;
    int rc = s_batch_challenge (self, batch, record);
    if (rc == 0 && audit)
        rc = s_batch_audit (self, batch, audit);
    if (rc != 0) {
        cc_batch_destroy (&batch);
        return rc;
    }
    return s_commit (self, &batch, sync, audit);
}

int
cc_ledger_get_challenge (cc_ledger_t *self, const uint8_t *id, size_t id_size,
                         Certchain__PendingChallenge **record_p)
{
    assert (self);
    *record_p = NULL;
    if (id_size == 0 || id_size > S_KEY_MAX - strlen (S_CHALLENGE_PREFIX))
        return CC_E_NOT_FOUND;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_key (key, S_CHALLENGE_PREFIX, id, id_size);
    ProtobufCMessage *message = NULL;
    int rc = s_get_message (self, key, key_size, &certchain__pending_challenge__descriptor,
                            &message);
    if (rc == 0 && !((Certchain__PendingChallenge *) message)->challenge) {
        cc_codec_free (&message);
        rc = CC_E_MALFORMED;
    }
    *record_p = (Certchain__PendingChallenge *) message;
    return rc;
}

//  What a housekeeping scan does.
typedef struct {
    cc_ledger_t *self;          //  the ledger
    cc_batch_t *batch;          //  changes made
    uint64_t now_ms;            //  time of the scan
    uint64_t grace_ms;          //  OPEN past deadline + grace: EXPIRED
    uint64_t retention_ms;      //  past deadline + retention: deleted
    size_t expired;             //  records marked EXPIRED
    size_t deleted;             //  records deleted
    size_t open;                //  OPEN records left
    size_t answered;            //  ANSWERED records left
    size_t expired_left;        //  EXPIRED records left
    int rc;                     //  first failure
} s_scan_t;

static bool
s_expire_visit (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
                void *argument)
{
    s_scan_t *scan = (s_scan_t *) argument;
    int code = 0;
    Certchain__PendingChallenge *record = (Certchain__PendingChallenge *) cc_codec_unpack (
        &certchain__pending_challenge__descriptor, value, value_size, S_RECORD_MAX, &code);
    if (!record || !record->challenge) {
        //  Nothing can use a record that does not decode.
        if (scan->batch)
            cc_batch_delete (scan->batch, scan->self->family, key, key_size);
        scan->deleted++;
        cc_codec_free ((ProtobufCMessage **) &record);
        return true;
    }
    uint64_t deadline = record->challenge->deadline_ms;
    if (scan->batch && scan->now_ms > deadline + scan->retention_ms) {
        cc_batch_delete (scan->batch, scan->self->family, key, key_size);
        scan->deleted++;
    }
    else
    if (scan->batch && record->status == CERTCHAIN__PENDING_STATUS__PENDING_OPEN
        && scan->now_ms > deadline + scan->grace_ms) {
        record->status = CERTCHAIN__PENDING_STATUS__PENDING_EXPIRED;
        if (s_batch_put_message (scan->self, scan->batch, key, key_size, &record->base) == 0)
            scan->expired++;
        scan->expired_left++;
    }
    else
    if (record->status == CERTCHAIN__PENDING_STATUS__PENDING_OPEN)
        scan->open++;
    else
    if (record->status == CERTCHAIN__PENDING_STATUS__PENDING_ANSWERED)
        scan->answered++;
    else
        scan->expired_left++;
    cc_codec_free ((ProtobufCMessage **) &record);
    return true;
}

int
cc_ledger_expire (cc_ledger_t *self, uint64_t now_ms, uint64_t grace_ms, uint64_t retention_ms,
                  size_t *expired, size_t *deleted)
{
    assert (self);
    s_scan_t scan = {.self = self, .now_ms = now_ms, .grace_ms = grace_ms,
                     .retention_ms = retention_ms};
    scan.batch = cc_store_batch (self->store);
    if (!scan.batch)
        return CC_E_NOMEM;
    int rc = cc_store_scan (self->store, self->family, S_CHALLENGE_PREFIX,
                            strlen (S_CHALLENGE_PREFIX), s_expire_visit, &scan);
    if (rc == 0 && cc_batch_count (scan.batch) > 0)
        rc = cc_store_commit (self->store, &scan.batch, false);
    cc_batch_destroy (&scan.batch);
    if (expired)
        *expired = rc == 0 ? scan.expired : 0;
    if (deleted)
        *deleted = rc == 0 ? scan.deleted : 0;
    return rc;
}

int
cc_ledger_count_challenges (cc_ledger_t *self, size_t *open, size_t *answered, size_t *expired)
{
    assert (self);
    s_scan_t scan = {.self = self};
    int rc = cc_store_scan (self->store, self->family, S_CHALLENGE_PREFIX,
                            strlen (S_CHALLENGE_PREFIX), s_expire_visit, &scan);
    if (open)
        *open = scan.open;
    if (answered)
        *answered = scan.answered;
    if (expired)
        *expired = scan.expired_left;
    return rc;
}

//  --- Audit log -----------------------------------------------------------------------------

int
cc_ledger_audit (cc_ledger_t *self, Certchain__AuditEntry *entry, bool sync)
{
    assert (self);
    assert (entry);
    cc_batch_t *batch = cc_store_batch (self->store);
    if (!batch)
        return CC_E_NOMEM;
    int rc = s_batch_audit (self, batch, entry);
    if (rc != 0) {
        cc_batch_destroy (&batch);
        return rc;
    }
    return s_commit (self, &batch, sync, entry);
}

uint64_t
cc_ledger_audit_last (cc_ledger_t *self)
{
    assert (self);
    return self->audit_seq;
}

//  What an audit read collects.
typedef struct {
    Certchain__AuditLog *log;   //  where entries go
    size_t max;                 //  entries wanted
    const uint8_t *node;        //  only this node's (or NULL)
    uint64_t next_seq;          //  where the next read starts
    int rc;                     //  NOMEM when it stopped for memory
} s_read_t;

static bool
s_audit_visit (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
               void *argument)
{
    s_read_t *read = (s_read_t *) argument;
    size_t prefix = strlen (S_AUDIT_PREFIX);
    if (key_size != prefix + 8 || memcmp (key, S_AUDIT_PREFIX, prefix) != 0)
        return false;
    uint64_t seq = cc_be64_get (key + prefix);
    read->next_seq = seq + 1;
    int code = 0;
    Certchain__AuditEntry *entry = (Certchain__AuditEntry *) cc_codec_unpack (
        &certchain__audit_entry__descriptor, value, value_size, S_RECORD_MAX, &code);
    if (!entry)
        return true;
    if (read->node && !(cc_bytes_sized (entry->node, CC_PUBKEY_SIZE)
                        && memcmp (entry->node.data, read->node, CC_PUBKEY_SIZE) == 0)) {
        cc_codec_free ((ProtobufCMessage **) &entry);
        return true;
    }
    Certchain__AuditLog *log = read->log;
    Certchain__AuditEntry **entries = (Certchain__AuditEntry **) realloc (
        log->entries, (log->n_entries + 1) * sizeof (Certchain__AuditEntry *));
    if (!entries) {
        cc_codec_free ((ProtobufCMessage **) &entry);
        read->rc = CC_E_NOMEM;
        return false;
    }
    log->entries = entries;
    log->entries [log->n_entries++] = entry;
    return log->n_entries < read->max;
}

int
cc_ledger_audit_read (cc_ledger_t *self, uint64_t from_seq, uint32_t max_count,
                      const uint8_t *node, Certchain__AuditLog *log)
{
    assert (self);
    assert (log);
    s_read_t read = {.log = log, .node = node};
    read.max = max_count == 0 || max_count > CC_LEDGER_AUDIT_MAX_READ ? CC_LEDGER_AUDIT_MAX_READ
                                                                      : max_count;
    if (from_seq == 0)
        from_seq = 1;
    read.next_seq = from_seq;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_number_key (key, S_AUDIT_PREFIX, from_seq);
    int rc = cc_store_scan_from (self->store, self->family, key, key_size, s_audit_visit, &read);
    if (rc == 0)
        rc = read.rc;
    log->next_seq = read.next_seq;
    log->last_seq = self->audit_seq;
    return rc;
}

void
cc_ledger_audit_log_clear (Certchain__AuditLog *log)
{
    if (!log)
        return;
    for (size_t index = 0; index < log->n_entries; index++)
        cc_codec_free ((ProtobufCMessage **) &log->entries [index]);
    free (log->entries);
    log->entries = NULL;
    log->n_entries = 0;
}

//  --- Ban list ---------------------------------------------------------------------------------

int
cc_ledger_ban (cc_ledger_t *self, const uint8_t *node, const char *reason, const char *origin,
               uint64_t now_ms)
{
    assert (self);
    assert (node);
    Certchain__BanRecord record = CERTCHAIN__BAN_RECORD__INIT;
    record.reason = (char *) (reason ? reason : "");
    record.origin = (char *) (origin ? origin : "");
    record.time_ms = now_ms;
    cc_batch_t *batch = cc_store_batch (self->store);
    if (!batch)
        return CC_E_NOMEM;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_key (key, S_BAN_PREFIX, node, CC_PUBKEY_SIZE);
    int rc = s_batch_put_message (self, batch, key, key_size, &record.base);
    if (rc != 0) {
        cc_batch_destroy (&batch);
        return rc;
    }
    return cc_store_commit (self->store, &batch, true);
}

int
cc_ledger_unban (cc_ledger_t *self, const uint8_t *node)
{
    assert (self);
    cc_batch_t *batch = cc_store_batch (self->store);
    if (!batch)
        return CC_E_NOMEM;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_key (key, S_BAN_PREFIX, node, CC_PUBKEY_SIZE);
    cc_batch_delete (batch, self->family, key, key_size);
    return cc_store_commit (self->store, &batch, true);
}

bool
cc_ledger_banned (cc_ledger_t *self, const uint8_t *node, Certchain__BanRecord **record_p)
{
    assert (self);
    if (record_p)
        *record_p = NULL;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_key (key, S_BAN_PREFIX, node, CC_PUBKEY_SIZE);
    ProtobufCMessage *message = NULL;
    int rc = s_get_message (self, key, key_size, &certchain__ban_record__descriptor, &message);
    if (rc == CC_E_MALFORMED)
        return true;        //  a record is there, even if unreadable: stay banned
    if (rc != 0)
        return false;
    if (record_p)
        *record_p = (Certchain__BanRecord *) message;
    else
        cc_codec_free (&message);
    return true;
}

//  What a ban scan collects.
typedef struct {
    cc_ledger_t *self;          //  the ledger
    cc_batch_t *batch;          //  deletes
    const char *origin;         //  bans of this origin are candidates
    const uint8_t *keys;        //  keys that stay banned
    size_t count;               //  number of keys
    int lifted;                 //  bans deleted
} s_unban_t;

static bool
s_unban_visit (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
               void *argument)
{
    s_unban_t *scan = (s_unban_t *) argument;
    size_t prefix = strlen (S_BAN_PREFIX);
    if (key_size != prefix + CC_PUBKEY_SIZE)
        return true;
    int code = 0;
    Certchain__BanRecord *record = (Certchain__BanRecord *) cc_codec_unpack (
        &certchain__ban_record__descriptor, value, value_size, S_RECORD_MAX, &code);
    bool ours = record && record->origin && strcmp (record->origin, scan->origin) == 0;
    cc_codec_free ((ProtobufCMessage **) &record);
    if (!ours)
        return true;
    for (size_t index = 0; index < scan->count; index++)
        if (memcmp (scan->keys + index * CC_PUBKEY_SIZE, key + prefix, CC_PUBKEY_SIZE) == 0)
            return true;
    cc_batch_delete (scan->batch, scan->self->family, key, key_size);
    scan->lifted++;
    return true;
}

int
cc_ledger_unban_missing (cc_ledger_t *self, const char *origin, const uint8_t *keys,
                         size_t count)
{
    assert (self);
    assert (origin);
    s_unban_t scan = {.self = self, .origin = origin, .keys = keys, .count = count};
    scan.batch = cc_store_batch (self->store);
    if (!scan.batch)
        return CC_E_NOMEM;
    int rc = cc_store_scan (self->store, self->family, S_BAN_PREFIX, strlen (S_BAN_PREFIX),
                            s_unban_visit, &scan);
    if (rc == 0 && cc_batch_count (scan.batch) > 0)
        rc = cc_store_commit (self->store, &scan.batch, true);
    cc_batch_destroy (&scan.batch);
    return rc == 0 ? scan.lifted : rc;
}

//  --- Certify transactions ----------------------------------------------------------------------

int
cc_ledger_put_certify (cc_ledger_t *self, uint64_t nonce, const uint8_t *data, size_t size,
                       const Certchain__PendingChallenge *record, Certchain__AuditEntry *audit)
{
    assert (self);
    cc_batch_t *batch = cc_store_batch (self->store);
    if (!batch)
        return CC_E_NOMEM;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_number_key (key, S_CERTIFY_PREFIX, nonce);
    cc_batch_put (batch, self->family, key, key_size, data, size);
    int rc = record ? s_batch_challenge (self, batch, record) : 0;
    if (rc == 0 && audit)
        rc = s_batch_audit (self, batch, audit);
    if (rc != 0) {
        cc_batch_destroy (&batch);
        return rc;
    }
    return s_commit (self, &batch, true, audit);
}

int
cc_ledger_delete_certify (cc_ledger_t *self, uint64_t nonce)
{
    assert (self);
    cc_batch_t *batch = cc_store_batch (self->store);
    if (!batch)
        return CC_E_NOMEM;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_number_key (key, S_CERTIFY_PREFIX, nonce);
    cc_batch_delete (batch, self->family, key, key_size);
    return cc_store_commit (self->store, &batch, false);
}

//  What a Certify scan calls.
typedef struct {
    cc_ledger_certify_fn *visit;    //  the caller's function
    void *argument;                 //  its argument
} s_certifies_t;

static bool
s_certify_visit (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
                 void *argument)
{
    s_certifies_t *scan = (s_certifies_t *) argument;
    size_t prefix = strlen (S_CERTIFY_PREFIX);
    if (key_size == prefix + 8)
        scan->visit (scan->argument, cc_be64_get (key + prefix), value, value_size);
    return true;
}

int
cc_ledger_certifies (cc_ledger_t *self, cc_ledger_certify_fn *visit, void *argument)
{
    assert (self);
    assert (visit);
    s_certifies_t scan = {visit, argument};
    return cc_store_scan (self->store, self->family, S_CERTIFY_PREFIX, strlen (S_CERTIFY_PREFIX),
                          s_certify_visit, &scan);
}
