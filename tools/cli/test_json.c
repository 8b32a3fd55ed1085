/*  =========================================================================
    test_json - checks of the CLI's JSON writer (tools/cli/json.c)

    Built as test-cli-json next to the CLI and run by
    tests/integration/test_cli.py, since the unit suite's list is not the
    CLI's to edit. Every escape rule gets an accepting and a refusing case.
    =========================================================================
*/

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

//  The text of one value written at the top level.
static char *
s_value (void (*write) (cc_json_t *, const char *, const char *), const char *value)
{
    cc_json_t *json = cc_json_new ();
    ck_assert_ptr_nonnull (json);
    write (json, NULL, value);
    char *text = strdup (cc_json_text (json));
    cc_json_destroy (&json);
    return text;
}

START_TEST (test_escapes_specials)
{
    char *text = s_value (cc_json_string, "a\"b\\c\nd\te\rf\x01g\x7fh");
    ck_assert_str_eq (text, "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u007fh\"");
    free (text);
}
END_TEST

START_TEST (test_keeps_plain_and_utf8)
{
    char *text = s_value (cc_json_string, "plain / text \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ck_assert_str_eq (text, "\"plain / text \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    free (text);
}
END_TEST

START_TEST (test_replaces_invalid_utf8)
{
    //  A lone continuation byte, a truncated sequence, an overlong '/', a
    //  surrogate and a code point above U+10FFFF.
    char *text = s_value (cc_json_string, "a\x80" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf4\x90\x80\x80");
    ck_assert_str_eq (text, "\"a\\ufffdb\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffde"
                            "\\ufffd\\ufffd\\ufffd\\ufffd\"");
    free (text);
}
END_TEST

START_TEST (test_utf8_length)
{
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "A", 1), 1);
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "\xc3\xa9", 2), 2);
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "\xf0\x9f\x98\x80", 4), 4);
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "\xc3\xa9", 1), 0);
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "\xe0\x80\x80", 3), 0);
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "\xed\xbf\xbf", 3), 0);
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "\xff", 1), 0);
    ck_assert_uint_eq (cc_json_utf8_length ((const uint8_t *) "", 0), 0);
}
END_TEST

START_TEST (test_structure_and_values)
{
    cc_json_t *json = cc_json_new ();
    cc_json_object_open (json, NULL);
    cc_json_string (json, "s", "x");
    cc_json_u64 (json, "u", UINT64_MAX);
    cc_json_i64 (json, "i", -5);
    cc_json_double (json, "d", 2.5);
    cc_json_double (json, "nan", NAN);
    cc_json_double (json, "inf", INFINITY);
    cc_json_bool (json, "t", true);
    cc_json_bool (json, "f", false);
    cc_json_null (json, "n");
    cc_json_string (json, "null", NULL);
    const uint8_t bytes [] = { 0x00, 0xab, 0xff };
    cc_json_hex (json, "h", bytes, sizeof (bytes));
    cc_json_hex (json, "e", bytes, 0);
    cc_json_string_n (json, "k\"ey", "abc", 2);
    cc_json_array_open (json, "a");
    cc_json_u64 (json, NULL, 1);
    cc_json_object_open (json, NULL);
    cc_json_object_close (json);
    cc_json_array_open (json, NULL);
    cc_json_array_close (json);
    cc_json_array_close (json);
    cc_json_object_close (json);
    ck_assert (cc_json_ok (json));
    ck_assert_str_eq (cc_json_text (json),
                      "{\"s\":\"x\",\"u\":18446744073709551615,\"i\":-5,\"d\":2.5,"
                      "\"nan\":null,\"inf\":null,\"t\":true,\"f\":false,\"n\":null,"
                      "\"null\":null,\"h\":\"00abff\",\"e\":\"\",\"k\\\"ey\":\"ab\","
                      "\"a\":[1,{},[]]}");
    cc_json_destroy (&json);
    ck_assert_ptr_null (json);
    cc_json_destroy (&json);
}
END_TEST

START_TEST (test_print_refuses_incomplete)
{
    cc_json_t *json = cc_json_new ();
    FILE *sink = fopen ("/dev/null", "w");
    ck_assert_ptr_nonnull (sink);
    //  Nothing written yet, then still open: refused.
    ck_assert_int_eq (cc_json_print (json, sink), -1);
    cc_json_object_open (json, NULL);
    ck_assert_int_eq (cc_json_print (json, sink), -1);
    cc_json_object_close (json);
    ck_assert_int_eq (cc_json_print (json, sink), 0);
    //  Reset starts a new document.
    cc_json_reset (json);
    ck_assert_str_eq (cc_json_text (json), "");
    cc_json_array_open (json, NULL);
    cc_json_array_close (json);
    ck_assert_str_eq (cc_json_text (json), "[]");
    fclose (sink);
    cc_json_destroy (&json);
}
END_TEST

START_TEST (test_grows_large)
{
    cc_json_t *json = cc_json_new ();
    cc_json_array_open (json, NULL);
    for (int index = 0; index < 10000; index++)
        cc_json_string (json, NULL, "0123456789");
    cc_json_array_close (json);
    ck_assert (cc_json_ok (json));
    ck_assert_uint_eq (strlen (cc_json_text (json)), 2 + 10000 * 12 + 9999);
    cc_json_destroy (&json);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("cli_json");
    TCase *tcase = tcase_create ("json");
    tcase_add_test (tcase, test_escapes_specials);
    tcase_add_test (tcase, test_keeps_plain_and_utf8);
    tcase_add_test (tcase, test_replaces_invalid_utf8);
    tcase_add_test (tcase, test_utf8_length);
    tcase_add_test (tcase, test_structure_and_values);
    tcase_add_test (tcase, test_print_refuses_incomplete);
    tcase_add_test (tcase, test_grows_large);
    suite_add_tcase (suite, tcase);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
