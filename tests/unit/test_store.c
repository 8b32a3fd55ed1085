/*  =========================================================================
    test_store - the RocksDB store: reads, scans, batches, reopen, the
    process lock, and atomicity of batches across a crash
    =========================================================================
*/

#include "fixture.h"
#include "store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const s_families [] = {"blocks", "state", "index", NULL};

//  Puts a string key and value in one family, committed at once.
static void
s_put (cc_store_t *store, int family, const char *key, const char *value)
{
    cc_batch_t *batch = cc_store_batch (store);
    ck_assert_ptr_nonnull (batch);
    cc_batch_put (batch, family, key, strlen (key), value, strlen (value));
    ck_assert_int_eq (cc_store_commit (store, &batch, false), 0);
    ck_assert_ptr_null (batch);
}

//  Asserts that key holds value (or is absent when value is NULL).
static void
s_expect (cc_store_t *store, int family, const char *key, const char *value)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_store_get (store, family, key, strlen (key), &data, &size);
    if (value) {
        ck_assert_int_eq (rc, 0);
        ck_assert_uint_eq (size, strlen (value));
        ck_assert_mem_eq (data, value, size);
    }
    else {
        ck_assert_int_eq (rc, CC_E_NOT_FOUND);
        ck_assert_ptr_null (data);
    }
    free (data);
}

//  Collects the keys a scan visits, up to a limit.
typedef struct {
    char keys [16][32];     //  visited keys, as strings
    size_t count;           //  how many were visited
    size_t limit;           //  stop after this many
} s_visits_t;

static bool
s_collect (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
           void *argument)
{
    s_visits_t *visits = (s_visits_t *) argument;
    ck_assert_uint_lt (visits->count, 16);
    ck_assert_uint_lt (key_size, 32);
    memcpy (visits->keys [visits->count], key, key_size);
    visits->keys [visits->count][key_size] = 0;
    visits->count++;
    return visits->count < visits->limit;
}

START_TEST (test_put_get_delete)
{
    char *dir = fixture_tempdir ("store");
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);

    int blocks = cc_store_family (store, "blocks");
    int state = cc_store_family (store, "state");
    int base = cc_store_family (store, "default");
    ck_assert_int_ge (blocks, 0);
    ck_assert_int_ge (state, 0);
    ck_assert_int_ge (base, 0);
    ck_assert_int_ne (blocks, state);
    ck_assert_int_eq (cc_store_family (store, "nope"), CC_E_NOT_FOUND);

    //  The same key in several families holds distinct values.
    s_put (store, blocks, "k", "in blocks");
    s_put (store, state, "k", "in state");
    s_put (store, base, "k", "in default");
    s_expect (store, blocks, "k", "in blocks");
    s_expect (store, state, "k", "in state");
    s_expect (store, base, "k", "in default");
    s_expect (store, cc_store_family (store, "index"), "k", NULL);
    s_expect (store, blocks, "missing", NULL);

    //  Binary keys and an empty value.
    const uint8_t key [] = {0, 1, 0, 255};
    cc_batch_t *batch = cc_store_batch (store);
    cc_batch_put (batch, state, key, sizeof (key), "", 0);
    ck_assert_uint_eq (cc_batch_count (batch), 1);
    ck_assert_int_eq (cc_store_commit (store, &batch, true), 0);
    uint8_t *value = NULL;
    size_t size = 99;
    ck_assert_int_eq (cc_store_get (store, state, key, sizeof (key), &value, &size), 0);
    ck_assert_uint_eq (size, 0);
    ck_assert_ptr_nonnull (value);
    free (value);
    ck_assert_int_eq (cc_store_get (store, state, key, 3, &value, &size), CC_E_NOT_FOUND);

    //  A delete in one family leaves the others.
    batch = cc_store_batch (store);
    cc_batch_delete (batch, state, "k", 1);
    ck_assert_uint_eq (cc_batch_count (batch), 1);
    ck_assert_int_eq (cc_store_commit (store, &batch, true), 0);
    s_expect (store, state, "k", NULL);
    s_expect (store, blocks, "k", "in blocks");

    //  Overwrite.
    s_put (store, blocks, "k", "again");
    s_expect (store, blocks, "k", "again");

    cc_store_destroy (&store);
    ck_assert_ptr_null (store);
    cc_store_destroy (&store);      //  safe on NULL
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_scans)
{
    char *dir = fixture_tempdir ("store");
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, s_families, 1024 * 1024, &reason);
    ck_assert_ptr_nonnull (store);
    int index = cc_store_family (store, "index");

    //  Written out of order; read back in key order.
    const char *keys [] = {"b/2", "a/9", "b/10", "b/1", "c/1", "b", "ba/1"};
    cc_batch_t *batch = cc_store_batch (store);
    for (size_t key = 0; key < 7; key++)
        cc_batch_put (batch, index, keys [key], strlen (keys [key]), "v", 1);
    ck_assert_uint_eq (cc_batch_count (batch), 7);
    ck_assert_int_eq (cc_store_commit (store, &batch, false), 0);
    //  Another family's keys never show up in this one's scan.
    s_put (store, cc_store_family (store, "state"), "b/5", "other");

    s_visits_t visits = {.limit = 100};
    ck_assert_int_eq (cc_store_scan (store, index, "b/", 2, s_collect, &visits), 0);
    ck_assert_uint_eq (visits.count, 3);
    ck_assert_str_eq (visits.keys [0], "b/1");
    ck_assert_str_eq (visits.keys [1], "b/10");
    ck_assert_str_eq (visits.keys [2], "b/2");

    //  Stop early.
    memset (&visits, 0, sizeof (visits));
    visits.limit = 2;
    ck_assert_int_eq (cc_store_scan (store, index, "b", 1, s_collect, &visits), 0);
    ck_assert_uint_eq (visits.count, 2);
    ck_assert_str_eq (visits.keys [0], "b");
    ck_assert_str_eq (visits.keys [1], "b/1");

    //  A prefix nothing has.
    memset (&visits, 0, sizeof (visits));
    visits.limit = 100;
    ck_assert_int_eq (cc_store_scan (store, index, "zz", 2, s_collect, &visits), 0);
    ck_assert_uint_eq (visits.count, 0);

    //  An empty prefix visits everything.
    ck_assert_int_eq (cc_store_scan (store, index, NULL, 0, s_collect, &visits), 0);
    ck_assert_uint_eq (visits.count, 7);
    ck_assert_str_eq (visits.keys [0], "a/9");
    ck_assert_str_eq (visits.keys [6], "c/1");

    //  scan_from: from a key that is not present, across prefixes.
    memset (&visits, 0, sizeof (visits));
    visits.limit = 100;
    ck_assert_int_eq (cc_store_scan_from (store, index, "b/11", 4, s_collect, &visits), 0);
    ck_assert_uint_eq (visits.count, 3);
    ck_assert_str_eq (visits.keys [0], "b/2");
    ck_assert_str_eq (visits.keys [1], "ba/1");
    ck_assert_str_eq (visits.keys [2], "c/1");
    memset (&visits, 0, sizeof (visits));
    visits.limit = 1;
    ck_assert_int_eq (cc_store_scan_from (store, index, "b", 1, s_collect, &visits), 0);
    ck_assert_uint_eq (visits.count, 1);
    ck_assert_str_eq (visits.keys [0], "b");

    cc_store_destroy (&store);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_batch_uncommitted)
{
    char *dir = fixture_tempdir ("store");
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    int state = cc_store_family (store, "state");
    s_put (store, state, "kept", "1");

    cc_batch_t *batch = cc_store_batch (store);
    cc_batch_put (batch, state, "x", 1, "1", 1);
    cc_batch_delete (batch, state, "kept", 4);
    ck_assert_uint_eq (cc_batch_count (batch), 2);
    cc_batch_destroy (&batch);
    ck_assert_ptr_null (batch);
    cc_batch_destroy (&batch);      //  safe on NULL
    s_expect (store, state, "x", NULL);
    s_expect (store, state, "kept", "1");

    //  Nor after a reopen.
    cc_store_destroy (&store);
    store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    s_expect (store, state, "x", NULL);
    s_expect (store, state, "kept", "1");
    cc_store_destroy (&store);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_reopen)
{
    char *dir = fixture_tempdir ("store");
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    s_put (store, cc_store_family (store, "blocks"), "h1", "block one");
    s_put (store, cc_store_family (store, "index"), "t1", "tx one");
    cc_store_destroy (&store);

    //  Reopen with a subset of the families, then with a new one added.
    const char *const subset [] = {"blocks", NULL};
    store = cc_store_open (dir, subset, 0, &reason);
    ck_assert_ptr_nonnull (store);
    s_expect (store, cc_store_family (store, "blocks"), "h1", "block one");
    //  Families held by the database but not named at open get no index.
    ck_assert_int_eq (cc_store_family (store, "index"), CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_store_family (store, "state"), CC_E_NOT_FOUND);
    cc_store_destroy (&store);

    const char *const more [] = {"index", "mempool", "index", "default", NULL};
    store = cc_store_open (dir, more, 0, &reason);
    ck_assert_ptr_nonnull (store);
    s_expect (store, cc_store_family (store, "index"), "t1", "tx one");
    int mempool = cc_store_family (store, "mempool");
    ck_assert_int_ge (mempool, 0);
    s_put (store, mempool, "m", "pending");
    cc_store_destroy (&store);

    //  No families at all: only "default".
    store = cc_store_open (dir, NULL, 0, &reason);
    ck_assert_ptr_nonnull (store);
    ck_assert_int_ge (cc_store_family (store, "default"), 0);
    ck_assert_int_eq (cc_store_family (store, "mempool"), CC_E_NOT_FOUND);
    cc_store_destroy (&store);

    store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    s_expect (store, cc_store_family (store, "blocks"), "h1", "block one");
    s_expect (store, cc_store_family (store, "index"), "t1", "tx one");
    cc_store_destroy (&store);
    const char *const with_mempool [] = {"mempool", NULL};
    store = cc_store_open (dir, with_mempool, 0, &reason);
    ck_assert_ptr_nonnull (store);
    s_expect (store, cc_store_family (store, "mempool"), "m", "pending");
    cc_store_destroy (&store);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_open_failures)
{
    cc_reason_t reason;
    //  A path under a regular file cannot be a database.
    char *dir = fixture_tempdir ("store");
    char file_path [512], db_path [600];
    snprintf (file_path, sizeof (file_path), "%s/plain", dir);
    FILE *file = fopen (file_path, "w");
    ck_assert_ptr_nonnull (file);
    fputs ("not a database\n", file);
    fclose (file);
    snprintf (db_path, sizeof (db_path), "%s/db", file_path);
    ck_assert_ptr_null (cc_store_open (db_path, s_families, 0, &reason));
    ck_assert_int_eq (reason.code, CC_E_STORE);
    ck_assert_ptr_nonnull (strstr (reason.text, db_path));
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_second_open_same_process)
{
    char *dir = fixture_tempdir ("store");
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    ck_assert_ptr_null (cc_store_open (dir, s_families, 0, &reason));
    ck_assert_int_eq (reason.code, CC_E_STORE);
    ck_assert_ptr_nonnull (strstr (reason.text, dir));
    cc_store_destroy (&store);
    //  Free again once closed.
    store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    cc_store_destroy (&store);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  --- Other processes ----------------------------------------------------------------

//  The tests below run a second process: this same binary, started fresh
//  (fork, then exec) in a child mode chosen by its arguments. A fresh
//  process inherits no RocksDB threads or locks from the test, and under
//  valgrind it runs natively, so only the test itself is checked.

//  Starts this binary with arguments (NULL-terminated after argv [0]);
//  its stdin reads *to_child's other end, its stdout feeds *from_child.
static pid_t
s_spawn (const char *const *arguments, int *to_child, int *from_child)
{
    char self [4096];
    ssize_t length = readlink ("/proc/self/exe", self, sizeof (self) - 1);
    ck_assert_int_gt (length, 0);
    self [length] = 0;
    int input [2], output [2];
    ck_assert_int_eq (pipe (input), 0);
    ck_assert_int_eq (pipe (output), 0);
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0) {
        dup2 (input [0], STDIN_FILENO);
        dup2 (output [1], STDOUT_FILENO);
        close (input [0]);
        close (input [1]);
        close (output [0]);
        close (output [1]);
        execv (self, (char *const *) arguments);
        _exit (127);
    }
    close (input [0]);
    close (output [1]);
    *to_child = input [1];
    *from_child = output [0];
    return child;
}

//  Child mode "hold DIR": opens the store, says 'y' (or 'n'), holds it
//  until stdin closes, closes it and says 'c'.
static int
s_child_hold (const char *dir)
{
    cc_store_t *store = cc_store_open (dir, s_families, 0, NULL);
    char status = store ? 'y' : 'n';
    if (write (STDOUT_FILENO, &status, 1) != 1)
        return 2;
    char byte;
    while (read (STDIN_FILENO, &byte, 1) > 0)
        ;
    cc_store_destroy (&store);
    status = 'c';
    return write (STDOUT_FILENO, &status, 1) == 1 ? 0 : 3;
}

START_TEST (test_second_open_other_process)
{
    char *dir = fixture_tempdir ("store");
    const char *arguments [] = {"test_store", "--child-hold", dir, NULL};
    int to_child = -1, from_child = -1;
    pid_t child = s_spawn (arguments, &to_child, &from_child);
    char status = 0;
    ck_assert_int_eq (read (from_child, &status, 1), 1);
    ck_assert_int_eq (status, 'y');

    cc_reason_t reason;
    ck_assert_ptr_null (cc_store_open (dir, s_families, 0, &reason));
    ck_assert_int_eq (reason.code, CC_E_STORE);
    ck_assert_ptr_nonnull (strstr (reason.text, dir));

    //  Let it go; it closed cleanly if it says so.
    close (to_child);
    ck_assert_int_eq (read (from_child, &status, 1), 1);
    ck_assert_int_eq (status, 'c');
    int wstatus = 0;
    ck_assert_int_eq (waitpid (child, &wstatus, 0), child);
    ck_assert (WIFEXITED (wstatus));
    ck_assert_int_eq (WEXITSTATUS (wstatus), 0);
    close (from_child);

    //  Once the other process is gone, the database opens.
    cc_store_t *store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (store);
    cc_store_destroy (&store);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  --- Atomicity across a crash ---------------------------------------------------

//  Keys per batch besides the tip; spread over two families.
#define S_KEYS_PER_BATCH 6

//  Child mode "writer DIR BATCHES SYNC": batch number n writes
//  S_KEYS_PER_BATCH keys "n/i", overwrites "tip" with n, and replaces the
//  "recent/" keys of batch n - 1 by its own (so both puts and deletes
//  must be atomic); reports each committed n on stdout. With BATCHES 0 it
//  never stops (the parent kills it); else it _exit()s without closing.
static int
s_child_writer (const char *dir, int batches, bool sync)
{
    cc_store_t *store = cc_store_open (dir, s_families, 0, NULL);
    if (!store)
        return 10;
    int blocks = cc_store_family (store, "blocks");
    int state = cc_store_family (store, "state");
    for (int number = 1; batches == 0 || number <= batches; number++) {
        cc_batch_t *batch = cc_store_batch (store);
        char key [32], value [32];
        snprintf (value, sizeof (value), "%d", number);
        for (int index = 0; index < S_KEYS_PER_BATCH; index++) {
            snprintf (key, sizeof (key), "%06d/%d", number, index);
            cc_batch_put (batch, index % 2 ? blocks : state, key, strlen (key), value,
                          strlen (value));
            if (index % 2 == 0 && number > 1) {
                snprintf (key, sizeof (key), "recent/%06d/%d", number - 1, index);
                cc_batch_delete (batch, state, key, strlen (key));
            }
            if (index % 2 == 0) {
                snprintf (key, sizeof (key), "recent/%06d/%d", number, index);
                cc_batch_put (batch, state, key, strlen (key), value, strlen (value));
            }
        }
        cc_batch_put (batch, state, "tip", 3, value, strlen (value));
        if (cc_store_commit (store, &batch, sync) != 0)
            _exit (11);
        //  Tell the parent this batch is committed.
        if (write (STDOUT_FILENO, &number, sizeof (number)) != sizeof (number))
            _exit (12);
    }
    //  Crash: no close, nothing RocksDB still holds in memory flushed.
    _exit (0);
}

typedef struct {
    int seen;                   //  entries visited
} s_count_t;

static bool
s_count (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size,
         void *argument)
{
    ((s_count_t *) argument)->seen++;
    return true;
}

//  Checks after the crash: every batch fully there or fully absent, the
//  present ones exactly 1..tip, and tip >= the last batch reported.
static void
s_crash_check (const char *dir, int reported)
{
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, s_families, 0, &reason);
    ck_assert_msg (store != NULL, "%s", reason.text);
    int blocks = cc_store_family (store, "blocks");
    int state = cc_store_family (store, "state");
    uint8_t *value = NULL;
    size_t size = 0;
    int tip = 0;
    if (cc_store_get (store, state, "tip", 3, &value, &size) == 0) {
        tip = atoi ((char *) value);
        free (value);
    }
    ck_assert_int_ge (tip, reported);
    for (int number = 1; number <= tip + 3; number++) {
        int present = 0;
        char key [32];
        for (int index = 0; index < S_KEYS_PER_BATCH; index++) {
            snprintf (key, sizeof (key), "%06d/%d", number, index);
            int rc = cc_store_get (store, index % 2 ? blocks : state, key, strlen (key), &value,
                                   &size);
            if (rc == 0) {
                ck_assert_int_eq (atoi ((char *) value), number);
                free (value);
                present++;
            }
            else
                ck_assert_int_eq (rc, CC_E_NOT_FOUND);
        }
        ck_assert_msg (present == 0 || present == S_KEYS_PER_BATCH,
                       "batch %d is torn: %d of %d keys", number, present, S_KEYS_PER_BATCH);
        ck_assert_int_eq (present == S_KEYS_PER_BATCH, number <= tip);
    }
    //  Only the tip batch's "recent" keys survive its deletes.
    s_count_t count = {0};
    ck_assert_int_eq (cc_store_scan (store, state, "recent/", 7, s_count, &count), 0);
    ck_assert_int_eq (count.seen, tip ? (S_KEYS_PER_BATCH + 1) / 2 : 0);
    if (tip) {
        char key [32];
        snprintf (key, sizeof (key), "recent/%06d/0", tip);
        ck_assert_int_eq (cc_store_get (store, state, key, strlen (key), &value, &size), 0);
        free (value);
    }
    cc_store_destroy (&store);
}

START_TEST (test_crash_exit_without_close)
{
    char *dir = fixture_tempdir ("store");
    const char *arguments [] = {"test_store", "--child-writer", dir, "40", "1", NULL};
    int to_child = -1, from_child = -1;
    pid_t child = s_spawn (arguments, &to_child, &from_child);
    int number = 0, reported = 0;
    while (read (from_child, &number, sizeof (number)) == sizeof (number))
        reported = number;
    int wstatus = 0;
    ck_assert_int_eq (waitpid (child, &wstatus, 0), child);
    ck_assert (WIFEXITED (wstatus));
    ck_assert_int_eq (WEXITSTATUS (wstatus), 0);
    close (to_child);
    close (from_child);
    ck_assert_int_eq (reported, 40);
    s_crash_check (dir, reported);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_crash_sigkill)
{
    char *dir = fixture_tempdir ("store");
    const char *arguments [] = {"test_store", "--child-writer", dir, "0", "0", NULL};
    int to_child = -1, from_child = -1;
    pid_t child = s_spawn (arguments, &to_child, &from_child);
    //  Kill it mid-stream, while it is committing batch after batch.
    int number = 0, reported = 0;
    while (reported < 150 && read (from_child, &number, sizeof (number)) == sizeof (number))
        reported = number;
    kill (child, SIGKILL);
    int wstatus = 0;
    ck_assert_int_eq (waitpid (child, &wstatus, 0), child);
    ck_assert (WIFSIGNALED (wstatus));
    //  Batches it reported before dying are committed too.
    while (read (from_child, &number, sizeof (number)) == sizeof (number))
        reported = number;
    close (to_child);
    close (from_child);
    ck_assert_int_ge (reported, 150);
    s_crash_check (dir, reported);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("store");
    TCase *tcase = tcase_create ("store");
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_put_get_delete);
    tcase_add_test (tcase, test_scans);
    tcase_add_test (tcase, test_batch_uncommitted);
    tcase_add_test (tcase, test_reopen);
    tcase_add_test (tcase, test_open_failures);
    tcase_add_test (tcase, test_second_open_same_process);
    tcase_add_test (tcase, test_second_open_other_process);
    tcase_add_test (tcase, test_crash_exit_without_close);
    tcase_add_test (tcase, test_crash_sigkill);
    suite_add_tcase (suite, tcase);
    return suite;
}

int
main (int argc, char **argv)
{
    //  Child modes, started by the tests above.
    if (argc == 3 && strcmp (argv [1], "--child-hold") == 0)
        return s_child_hold (argv [2]);
    if (argc == 5 && strcmp (argv [1], "--child-writer") == 0)
        return s_child_writer (argv [2], atoi (argv [3]), atoi (argv [4]) != 0);
    return fixture_run (s_suite ());
}
