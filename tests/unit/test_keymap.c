/*  =========================================================================
    test_keymap - the open-addressing map against a plain model

    Keys are 32 bytes with a hash the test chooses, so runs of colliding
    keys (the case backward-shift deletion must get right) are made on
    purpose; every state the map passes through is compared with an array
    of what it should hold.
    =========================================================================
*/

#include "fixture.h"

#include "keymap.h"

#include <stdlib.h>
#include <string.h>

#define S_KEYS 3000

typedef struct {
    uint8_t key [CC_KEYMAP_KEY_SIZE];
    uint64_t hash;
    bool held;
} s_item_t;

//  Key number index; its hash lands in one of few homes when crowded.
static void
s_item_init (s_item_t *item, size_t index, bool crowded)
{
    memset (item, 0, sizeof (*item));
    memcpy (item->key, &index, sizeof (index));
    item->key [CC_KEYMAP_KEY_SIZE - 1] = 0xa5;
    item->hash = crowded ? (uint64_t) (index % 7) * 1000003u
                         : (uint64_t) index * 0x9e3779b97f4a7c15ull;
}

static void
s_assert_model (cc_keymap_t *map, s_item_t *items, size_t count)
{
    size_t held = 0;
    for (size_t index = 0; index < count; index++) {
        void *found = cc_keymap_lookup (map, items [index].hash, items [index].key);
        if (items [index].held) {
            ck_assert_ptr_eq (found, &items [index]);
            held++;
        }
        else
            ck_assert_ptr_null (found);
    }
    ck_assert_uint_eq (cc_keymap_size (map), held);
    //  A visit meets every held item once.
    size_t cursor = 0, visited = 0;
    s_item_t *item;
    while ((item = (s_item_t *) cc_keymap_next (map, &cursor))) {
        ck_assert (item->held);
        visited++;
    }
    ck_assert_uint_eq (visited, held);
}

START_TEST (test_insert_lookup_delete_against_a_model)
{
    bool crowded = _i == 1;
    s_item_t *items = (s_item_t *) calloc (S_KEYS, sizeof (s_item_t));
    for (size_t index = 0; index < S_KEYS; index++)
        s_item_init (&items [index], index, crowded);
    cc_keymap_t *map = cc_keymap_new (0);
    ck_assert_ptr_nonnull (map);
    //  Fill (growing many times), with a duplicate refused on the way.
    for (size_t index = 0; index < S_KEYS; index++) {
        ck_assert_int_eq (cc_keymap_insert (map, items [index].hash, items [index].key,
                                            &items [index]), 0);
        items [index].held = true;
        if (index == 100) {
            ck_assert_int_eq (cc_keymap_insert (map, items [50].hash, items [50].key,
                                                &items [7]), CC_E_DUPLICATE);
            ck_assert_ptr_eq (cc_keymap_lookup (map, items [50].hash, items [50].key),
                              &items [50]);
        }
    }
    s_assert_model (map, items, S_KEYS);
    //  The same bytes under another hash are another key: not found.
    ck_assert_ptr_null (cc_keymap_lookup (map, items [3].hash + 1, items [3].key));
    //  Delete in a scattered order, checking now and then; deleting an
    //  absent key gives NULL and changes nothing.
    uint64_t seed = 12345;
    for (size_t round = 0; round < S_KEYS; round++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t index = (size_t) (seed >> 33) % S_KEYS;
        void *removed = cc_keymap_delete (map, items [index].hash, items [index].key);
        ck_assert_ptr_eq (removed, items [index].held ? &items [index] : NULL);
        items [index].held = false;
        if (round % 97 == 0)
            s_assert_model (map, items, S_KEYS);
        //  Put some back, so holes are made and filled in the same runs.
        if (round % 3 == 0) {
            size_t back = (index * 7 + 1) % S_KEYS;
            int rc = cc_keymap_insert (map, items [back].hash, items [back].key, &items [back]);
            ck_assert_int_eq (rc, items [back].held ? CC_E_DUPLICATE : 0);
            items [back].held = true;
        }
    }
    s_assert_model (map, items, S_KEYS);
    //  Empty it.
    for (size_t index = 0; index < S_KEYS; index++)
        if (items [index].held) {
            ck_assert_ptr_eq (cc_keymap_delete (map, items [index].hash, items [index].key),
                              &items [index]);
            items [index].held = false;
        }
    s_assert_model (map, items, S_KEYS);
    ck_assert_uint_eq (cc_keymap_size (map), 0);
    cc_keymap_destroy (&map);
    ck_assert_ptr_null (map);
    cc_keymap_destroy (&map);       //  safe on NULL
    free (items);
}
END_TEST

//  Keys whose homes wrap around the end of the slots: deletion must shift
//  across the wrap and keep every key reachable.
START_TEST (test_runs_across_the_wrap)
{
    cc_keymap_t *map = cc_keymap_new (0);      //  16 slots
    s_item_t items [6];
    for (size_t index = 0; index < 6; index++) {
        s_item_init (&items [index], index, false);
        //  Homes 14, 15, 14, 15, 0, 14: runs that wrap to slots 0..3.
        const uint64_t homes [6] = {14, 15, 14, 15, 0, 14};
        items [index].hash = homes [index];
        ck_assert_int_eq (cc_keymap_insert (map, items [index].hash, items [index].key,
                                            &items [index]), 0);
        items [index].held = true;
    }
    s_assert_model (map, items, 6);
    for (size_t index = 0; index < 6; index++) {
        ck_assert_ptr_eq (cc_keymap_delete (map, items [index].hash, items [index].key),
                          &items [index]);
        items [index].held = false;
        s_assert_model (map, items, 6);
    }
    cc_keymap_destroy (&map);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("keymap");
    TCase *tcase = tcase_create ("keymap");
    tcase_add_loop_test (tcase, test_insert_lookup_delete_against_a_model, 0, 2);
    tcase_add_test (tcase, test_runs_across_the_wrap);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
