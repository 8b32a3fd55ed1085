/*  =========================================================================
    fixture - helpers shared by the unit tests

    Deterministic keys from small integers, temporary directories, and a
    default chain id, so every test builds its world the same way.
    =========================================================================
*/

#ifndef CC_FIXTURE_H_INCLUDED
#define CC_FIXTURE_H_INCLUDED

#include <check.h>
#include "crypto.h"

#define FIXTURE_CHAIN "certchain-test"

//  Key pair number n: the same keys in every run. Caller owns it.
cc_keypair_t *
    fixture_keypair (unsigned n);

//  Creates a fresh empty directory under /tmp and returns its path
//  (caller frees). Removed by fixture_rmtree.
char *
    fixture_tempdir (const char *name);

//  Removes a directory tree.
void
    fixture_rmtree (const char *path);

//  Runs a Check suite and returns the process exit code.
int
    fixture_run (Suite *suite);

#endif
