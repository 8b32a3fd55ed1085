/*  =========================================================================
    net - the network certchain-bench measures: started here, or attached

    A started network lives in a fresh temporary directory: keys, a genesis
    (a producing CA, members - 1 validators in genesis so nobody has to
    join, and the bench's accounts funded), one ZPL config per process and
    one log per process. The processes are the built binaries
    (certchain-relay, certchain-ca, certchain-validator,
    certchain-verifier), each started in its own session on free loopback
    ports, its pid kept so the bench can read its CPU and memory and stop
    exactly it. cc_bench_net_start returns once every member reports a
    committed block and the verifier has verified one.

    An attached network is one running already (a certchain-devnet, or a
    deployment): the bench knows its relay and verifier endpoints and its
    genesis, and the pids it is given, but starts and stops nothing.

    Ownership: the net owns its directory (removed on destroy unless kept),
    its genesis and its processes (stopped on destroy: SIGTERM, then
    SIGKILL after a grace period). Names and endpoints returned are
    borrowed, valid while the net lives.
    =========================================================================
*/

#ifndef CC_BENCH_NET_H_INCLUDED
#define CC_BENCH_NET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto.h"
#include "error.h"
#include "genesis.h"

typedef struct _cc_bench_net_t cc_bench_net_t;

//  Most processes one net tracks.
#define CC_BENCH_NET_MAX_PROCESSES 128

//  What a started network looks like.
typedef struct {
    const char *bin_dir;            //  folder holding the service binaries (see
                                    //  cc_bench_net_find_bin)
    const char *work_dir;           //  parent of the temporary directory (NULL: $TMPDIR
                                    //  or /tmp)
    const char *name;               //  short label in the directory name ("a4")
    size_t members;                 //  consensus members: the CA, plus members - 1
                                    //  genesis validators
    const uint8_t *accounts;        //  account_count public keys, 32 bytes each, funded
    size_t account_count;           //  number of accounts
    uint64_t balance;               //  each account's genesis balance
    const char *ca_policy;          //  the "policy" section's lines (ZPL, indented by 4),
                                    //  NULL for the CA's defaults
    const char *log_level;          //  the services' log level (NULL: "info")
    bool keep;                      //  keep the directory after destroy
} cc_bench_net_opts_t;

//  --- Life cycle --------------------------------------------------------------------

//  Writes keys, genesis and configs of a new network in a fresh directory;
//  starts nothing yet. NULL with reason (IO, CONFIG, NOMEM).
cc_bench_net_t *
    cc_bench_net_new (const cc_bench_net_opts_t *opts, cc_reason_t *reason);

//  Starts relay, CA, validators and verifier, and waits up to timeout_ms
//  until each member and the verifier have committed block 1 (or more).
//  0, or TIMEOUT / IO with the reason (naming the process, with the tail
//  of its log when it exited).
int
    cc_bench_net_start (cc_bench_net_t *self, int timeout_ms, cc_reason_t *reason);

//  A running network at these endpoints with this genesis file. Nothing
//  is started or stopped. NULL with reason.
cc_bench_net_t *
    cc_bench_net_attach (const char *relay, const char *verifier, const char *genesis_path,
                         cc_reason_t *reason);

//  Tracks a process of an attached network (its CPU and memory are
//  reported; it is never signalled). 0, or INVALID_ARG when full.
int
    cc_bench_net_track (cc_bench_net_t *self, const char *name, pid_t pid);

//  Stops every process it started (SIGTERM, SIGKILL after 10 s), removes
//  the directory unless kept; nulls the pointer; safe on NULL.
void
    cc_bench_net_destroy (cc_bench_net_t **self_p);

//  --- More processes ----------------------------------------------------------------

//  Starts one more verifier with a fresh store (catch-up) as process name
//  and writes its query endpoint (borrowed) to *endpoint_p. Does not wait.
//  0 or IO with reason.
int
    cc_bench_net_add_verifier (cc_bench_net_t *self, const char *name,
                               const char **endpoint_p, cc_reason_t *reason);

//  Starts a validator with key (saved here) that never joins by itself:
//  it is a member once a Certify for its key is committed. Its admin
//  endpoint goes to *endpoint_p (borrowed). 0 or IO with reason.
int
    cc_bench_net_add_validator (cc_bench_net_t *self, const char *name, cc_keypair_t *key,
                                const char **endpoint_p, cc_reason_t *reason);

//  Stops process name (SIGTERM, SIGKILL after 10 s). 0, or NOT_FOUND.
int
    cc_bench_net_stop (cc_bench_net_t *self, const char *name);

//  --- Reading -----------------------------------------------------------------------

//  Endpoints: the relay's rpc, the verifier's query and the CA's join
//  socket (NULL when attached).
const char *
    cc_bench_net_relay (cc_bench_net_t *self);
const char *
    cc_bench_net_verifier (cc_bench_net_t *self);
const char *
    cc_bench_net_ca_join (cc_bench_net_t *self);

//  The genesis (borrowed) and the directory (NULL when attached).
cc_genesis_t *
    cc_bench_net_genesis (cc_bench_net_t *self);
const char *
    cc_bench_net_dir (cc_bench_net_t *self);

//  Consensus members the net was started with (0 when attached).
size_t
    cc_bench_net_members (cc_bench_net_t *self);

//  Tracked processes: their number, and each one's name and pid.
size_t
    cc_bench_net_size (cc_bench_net_t *self);
const char *
    cc_bench_net_name (cc_bench_net_t *self, size_t index);
pid_t
    cc_bench_net_pid (cc_bench_net_t *self, size_t index);

//  NULL when every started process still runs, else the name of one that
//  exited (borrowed).
const char *
    cc_bench_net_dead (cc_bench_net_t *self);

//  --- Helpers shared with the scenarios -----------------------------------------------

//  The path of binary name (e.g. "certchain-relay", built in folder subdir
//  of the build tree) from bin_dir: bin_dir/name, then
//  bin_dir/../../subdir/name (bin_dir is tools/bench in a build tree).
//  Caller frees; NULL when not found there.
char *
    cc_bench_net_find_bin (const char *bin_dir, const char *name, const char *subdir);

//  GetStatus at endpoint within timeout_ms: height and validators (either
//  may be NULL). 0 or the error (TIMEOUT when nothing answered).
int
    cc_bench_net_status (const char *endpoint, int timeout_ms, uint64_t *height,
                         uint32_t *validators);

#endif
