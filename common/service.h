/*  =========================================================================
    service - what every CertChain process does the same way at start

    Each service's main.c is thin (malamute's main): declare its keys, call
    cc_service_start to parse the command line (-c CONFIG, flags that
    override it, --print-config, --help) and make its log, run the service
    actor until SIGTERM or SIGINT, then destroy in reverse order. Binding a
    socket goes through cc_service_bind, which turns "address in use" into
    one clear line naming the key and the endpoint.

    Keys every service has: log/level, store/path (where the service keeps
    its RocksDB shard), genesis/path, store/cache_mb.
    =========================================================================
*/

#ifndef CC_SERVICE_H_INCLUDED
#define CC_SERVICE_H_INCLUDED

#include <czmq.h>

#include "config.h"
#include "log.h"

//  Exit codes of a service.
#define CC_EXIT_OK 0
#define CC_EXIT_FAILURE 1      //  runtime failure
#define CC_EXIT_CONFIG 2       //  bad command line or configuration

//  Declares the keys every service has (log level, store path and cache,
//  genesis path), with default_store as the store path default.
void
    cc_service_define_common (cc_config_t *config, const char *default_store);

//  Parses argv into config, handles --help and --print-config (prints and
//  asks the caller to exit with *exit_code), validates log/level, and makes
//  the service's log. Returns the log (caller owns), or NULL with
//  *exit_code set: CC_EXIT_OK after help or print, CC_EXIT_CONFIG after an
//  error (already printed as one line on stderr).
cc_log_t *
    cc_service_start (cc_config_t *config, const char *service, int argc, char **argv,
                      int *exit_code);

//  Binds socket to the endpoint held in config key; on failure logs one
//  line naming key and endpoint (e.g. "address in use") and returns IO.
int
    cc_service_bind (zsock_t *socket, cc_config_t *config, const char *key, cc_log_t *log);

//  Reads a number key that start-up already checked is valid, else the
//  fallback (never fails at run time).
uint64_t
    cc_service_u64 (cc_config_t *config, const char *key, uint64_t fallback);

//  A zloop reader for a service actor's pipe: ends the loop (returns -1)
//  on "$TERM" or when the pipe is gone, ignores anything else.
int
    cc_service_on_pipe (zloop_t *loop, zsock_t *pipe, void *argument);

//  Milliseconds since the epoch (wall clock), for block times and events.
uint64_t
    cc_service_now_ms (void);

#endif
