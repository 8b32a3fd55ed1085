/*  =========================================================================
    test_log - line format, threshold, level names, escaping of control
    characters, long messages, and whole lines from concurrent writers
    =========================================================================
*/

#include "fixture.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  Everything written to stream so far, from its start (caller frees).
static char *
s_contents (FILE *stream)
{
    fflush (stream);
    long size = ftell (stream);
    ck_assert_int_ge (size, 0);
    char *text = malloc ((size_t) size + 1);
    ck_assert_ptr_nonnull (text);
    rewind (stream);
    ck_assert_uint_eq (fread (text, 1, (size_t) size, stream), (size_t) size);
    text [size] = 0;
    return text;
}

//  Number of lines in text (each ends in a newline).
static size_t
s_lines (const char *text)
{
    size_t count = 0;
    for (; *text; text++)
        count += *text == '\n';
    return count;
}

START_TEST (test_format)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&text, &size);
    cc_log_t *log = cc_log_new ("relay", stream);
    ck_assert_ptr_nonnull (log);
    time_t before = time (NULL);
    cc_log_info (log, "committed block %d", 12);
    cc_log_warn (log, "slow peer");
    cc_log_error (log, "%s", "disk full");
    time_t after = time (NULL);
    fflush (stream);

    //  2026-11-26T09:06:05.123Z INFO  relay: committed block 12
    ck_assert_uint_eq (s_lines (text), 3);
    const char *line = text;
    const char *messages [] = {"INFO  relay: committed block 12\n", "WARN  relay: slow peer\n",
                               "ERROR relay: disk full\n"};
    for (size_t index = 0; index < 3; index++) {
        const char *stamp = "dddd-dd-ddTdd:dd:dd.dddZ ";
        for (size_t at = 0; stamp [at]; at++)
            if (stamp [at] == 'd')
                ck_assert_msg (line [at] >= '0' && line [at] <= '9', "'%s'", line);
            else
                ck_assert_msg (line [at] == stamp [at], "'%s'", line);
        ck_assert_msg (strncmp (line + 25, messages [index], strlen (messages [index])) == 0,
                       "'%s'", line);
        //  The time is now, in UTC.
        struct tm utc = {0};
        ck_assert_ptr_nonnull (strptime (line, "%Y-%m-%dT%H:%M:%S", &utc));
        time_t stamped = timegm (&utc);
        ck_assert_int_ge (stamped, before);
        ck_assert_int_le (stamped, after);
        line = strchr (line, '\n') + 1;
    }
    cc_log_destroy (&log);
    ck_assert_ptr_null (log);
    cc_log_destroy (&log);      //  safe on NULL
    fclose (stream);
    free (text);
}
END_TEST

START_TEST (test_threshold_and_names)
{
    FILE *stream = tmpfile ();
    cc_log_t *log = cc_log_new ("ca", stream);
    //  INFO by default.
    ck_assert_int_eq (cc_log_level (log), CC_LOG_INFO);
    ck_assert (!cc_log_enabled (log, CC_LOG_DEBUG));
    ck_assert (cc_log_enabled (log, CC_LOG_INFO));
    cc_log_debug (log, "hidden one");
    cc_log_info (log, "shown one");
    cc_log_set_level (log, CC_LOG_DEBUG);
    cc_log_debug (log, "shown two");
    cc_log_set_level (log, CC_LOG_ERROR);
    cc_log_info (log, "hidden two");
    cc_log_warn (log, "hidden three");
    cc_log_error (log, "shown three");
    char *text = s_contents (stream);
    ck_assert_uint_eq (s_lines (text), 3);
    ck_assert_ptr_nonnull (strstr (text, "INFO  ca: shown one\n"));
    ck_assert_ptr_nonnull (strstr (text, "DEBUG ca: shown two\n"));
    ck_assert_ptr_nonnull (strstr (text, "ERROR ca: shown three\n"));
    ck_assert_ptr_null (strstr (text, "hidden"));
    free (text);

    ck_assert_int_eq (cc_log_level_from_name ("debug"), CC_LOG_DEBUG);
    ck_assert_int_eq (cc_log_level_from_name ("info"), CC_LOG_INFO);
    ck_assert_int_eq (cc_log_level_from_name ("INFO"), CC_LOG_INFO);
    ck_assert_int_eq (cc_log_level_from_name ("warn"), CC_LOG_WARN);
    ck_assert_int_eq (cc_log_level_from_name ("warning"), CC_LOG_WARN);
    ck_assert_int_eq (cc_log_level_from_name ("Error"), CC_LOG_ERROR);
    ck_assert_int_eq (cc_log_level_from_name ("verbose"), CC_E_CONFIG);
    ck_assert_int_eq (cc_log_level_from_name (""), CC_E_CONFIG);
    ck_assert_int_eq (cc_log_level_from_name (NULL), CC_E_CONFIG);
    ck_assert_str_eq (cc_log_level_name (CC_LOG_WARN), "warn");
    ck_assert_str_eq (cc_log_level_name (CC_LOG_DEBUG), "debug");
    cc_log_destroy (&log);
    fclose (stream);
}
END_TEST

START_TEST (test_escaping)
{
    FILE *stream = tmpfile ();
    cc_log_t *log = cc_log_new ("verifier", stream);
    //  A peer's text trying to forge a second line and colour the terminal.
    cc_log_warn (log, "discarded: %s", "bad\n2026-01-01T00:00:00.000Z INFO  verifier: forged\r\t"
                                      "\x1b[31mred\x01\x7f caf\xc3\xa9");
    char *text = s_contents (stream);
    ck_assert_uint_eq (s_lines (text), 1);
    ck_assert_ptr_nonnull (strstr (text, "WARN  verifier: discarded: bad\\n2026-01-01T00:00:00"
                                         ".000Z INFO  verifier: forged\\r\\t\\x1b[31mred\\x01"
                                         "\\x7f caf\xc3\xa9\n"));
    free (text);
    cc_log_destroy (&log);
    fclose (stream);
}
END_TEST

START_TEST (test_long_messages)
{
    FILE *stream = tmpfile ();
    cc_log_t *log = cc_log_new ("bench", stream);
    char *message = malloc (3 * CC_LOG_MAX_MESSAGE);
    ck_assert_ptr_nonnull (message);
    memset (message, 'x', 3 * CC_LOG_MAX_MESSAGE - 1);
    message [3 * CC_LOG_MAX_MESSAGE - 1] = 0;
    cc_log_info (log, "%s", message);
    //  Escaping that outgrows the line is cut too.
    memset (message, '\n', 3 * CC_LOG_MAX_MESSAGE - 1);
    cc_log_info (log, "%s", message);
    //  Just under the limit stays whole.
    memset (message, 'y', CC_LOG_MAX_MESSAGE - 100);
    message [CC_LOG_MAX_MESSAGE - 100] = 0;
    cc_log_info (log, "%s", message);
    char *text = s_contents (stream);
    ck_assert_uint_eq (s_lines (text), 3);
    char *second = strchr (text, '\n') + 1;
    char *third = strchr (second, '\n') + 1;
    ck_assert_ptr_nonnull (strstr (text, "xxx...\n"));
    ck_assert_uint_le ((size_t) (second - text), CC_LOG_MAX_MESSAGE + 128);
    ck_assert_ptr_nonnull (strstr (second, "\\n\\n..."));
    ck_assert_ptr_null (strstr (third, "..."));
    ck_assert_uint_eq (strlen (third),
                       25 + strlen ("INFO  bench: ") + CC_LOG_MAX_MESSAGE - 100 + 1);
    free (text);
    free (message);
    cc_log_destroy (&log);
    fclose (stream);
}
END_TEST

START_TEST (test_stderr_default)
{
    //  With no stream, lines go to stderr.
    FILE *capture = tmpfile ();
    int saved = dup (STDERR_FILENO);
    ck_assert_int_ge (saved, 0);
    fflush (stderr);
    ck_assert_int_ge (dup2 (fileno (capture), STDERR_FILENO), 0);
    cc_log_t *log = cc_log_new ("tap", NULL);
    cc_log_error (log, "to stderr");
    cc_log_destroy (&log);
    fflush (stderr);
    dup2 (saved, STDERR_FILENO);
    close (saved);
    char *text = s_contents (capture);
    ck_assert_ptr_nonnull (strstr (text, "ERROR tap: to stderr\n"));
    free (text);
    fclose (capture);
}
END_TEST

//  --- Concurrent writers --------------------------------------------------------------

#define S_THREADS 4
#define S_LINES 500
#define S_PAYLOAD 700

typedef struct {
    cc_log_t *log;      //  shared log
    int thread;         //  this writer's number
} s_writer_t;

static void *
s_writer (void *argument)
{
    s_writer_t *writer = (s_writer_t *) argument;
    char payload [S_PAYLOAD + 1];
    memset (payload, 'a' + writer->thread, S_PAYLOAD);
    payload [S_PAYLOAD] = 0;
    for (int line = 0; line < S_LINES; line++)
        cc_log_info (writer->log, "writer %d line %d %s end", writer->thread, line, payload);
    return NULL;
}

START_TEST (test_concurrent_writers)
{
    FILE *stream = tmpfile ();
    //  A small buffer so each line takes more than one buffer's worth.
    setvbuf (stream, NULL, _IOFBF, 256);
    cc_log_t *log = cc_log_new ("validator", stream);
    pthread_t threads [S_THREADS];
    s_writer_t writers [S_THREADS];
    for (int thread = 0; thread < S_THREADS; thread++) {
        writers [thread] = (s_writer_t) {log, thread};
        ck_assert_int_eq (pthread_create (&threads [thread], NULL, s_writer, &writers [thread]),
                          0);
    }
    for (int thread = 0; thread < S_THREADS; thread++)
        pthread_join (threads [thread], NULL);

    char *text = s_contents (stream);
    ck_assert_uint_eq (s_lines (text), S_THREADS * S_LINES);
    bool seen [S_THREADS][S_LINES] = {{false}};
    char *line = text;
    while (*line) {
        char *end = strchr (line, '\n');
        *end = 0;
        int thread = -1, number = -1, consumed = 0;
        ck_assert_int_eq (sscanf (line + 25, "INFO  validator: writer %d line %d %n", &thread,
                                  &number, &consumed),
                          2);
        ck_assert (thread >= 0 && thread < S_THREADS && number >= 0 && number < S_LINES);
        ck_assert (!seen [thread][number]);
        seen [thread][number] = true;
        //  The payload is whole and only this writer's letter.
        const char *payload = line + 25 + consumed;
        for (int at = 0; at < S_PAYLOAD; at++)
            ck_assert_int_eq (payload [at], 'a' + thread);
        ck_assert_str_eq (payload + S_PAYLOAD, " end");
        line = end + 1;
    }
    free (text);
    cc_log_destroy (&log);
    fclose (stream);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("log");
    TCase *tcase = tcase_create ("log");
    tcase_add_test (tcase, test_format);
    tcase_add_test (tcase, test_threshold_and_names);
    tcase_add_test (tcase, test_escaping);
    tcase_add_test (tcase, test_long_messages);
    tcase_add_test (tcase, test_stderr_default);
    tcase_add_test (tcase, test_concurrent_writers);
    suite_add_tcase (suite, tcase);
    return suite;
}

int
main (void)
{
    return fixture_run (s_suite ());
}
