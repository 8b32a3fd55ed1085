/*  =========================================================================
    fixture - helpers shared by the unit tests
    =========================================================================
*/

#define _XOPEN_SOURCE 700
#include "fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cc_keypair_t *
fixture_keypair (unsigned n)
{
    uint8_t seed [CC_SEED_SIZE] = {0};
    seed [0] = 0xcc;
    seed [1] = (uint8_t) (n >> 24);
    seed [2] = (uint8_t) (n >> 16);
    seed [3] = (uint8_t) (n >> 8);
    seed [4] = (uint8_t) n;
    return cc_keypair_new_from_seed (seed);
}

char *
fixture_tempdir (const char *name)
{
    char *path = NULL;
    if (asprintf (&path, "/tmp/certchain-%s-XXXXXX", name) < 0)
        return NULL;
    if (!mkdtemp (path)) {
        free (path);
        return NULL;
    }
    return path;
}

static int
s_remove (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove (path);
}

void
fixture_rmtree (const char *path)
{
    if (path)
        nftw (path, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}

int
fixture_run (Suite *suite)
{
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_ENV);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
