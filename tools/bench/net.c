/*  =========================================================================
    net - a network of real CertChain processes for the bench (see net.h)

    DESIGN: ports are found free by binding 127.0.0.1:0 (all those of one
    start at once, so they differ) and closing again just before the
    services bind them; the window for a collision is short and a service
    that cannot bind exits with a clear line in its log, which the start
    reports. Processes are forked and exec'ed in their own session, with
    stdout and stderr in DIR/logs/NAME.log, so a signal the bench gets
    from a terminal never hits them directly: the bench stops them itself,
    by pid, on every way out; and should it die without doing so, each
    gets SIGTERM from the kernel (PR_SET_PDEATHSIG). A validator here has
    validator/resign_on_stop = 0: stopping a benchmark network must not
    first wait for Resign transactions to commit.
    =========================================================================
*/

#include "net.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpc.h"

//  Grace period between SIGTERM and SIGKILL.
#define S_STOP_GRACE_MS 10000
//  Bytes of a log's tail quoted when a process exited early.
#define S_LOG_TAIL 600

//  One process of the network.
typedef struct {
    char *name;                 //  "relay", "ca", "validator-2", "verifier", ...
    pid_t pid;                  //  its pid
    bool started;               //  started (and so stopped) by the bench
    bool exited;                //  reaped
    char *log_path;             //  DIR/logs/NAME.log (started ones)
    char *status_endpoint;      //  where it answers GetStatus, or NULL
    bool member;                //  a consensus member (CA or validator)
} s_process_t;

struct _cc_bench_net_t {
    char *dir;                  //  the temporary directory (NULL when attached)
    bool keep;                  //  keep dir on destroy
    char *bin_dir;              //  where the binaries are
    char *log_level;            //  the services' log level
    cc_genesis_t *genesis;      //  the chain's genesis (owned)
    char *genesis_path;         //  its file
    size_t members;             //  consensus members started
    char *relay_rpc;            //  the relay's rpc endpoint (ROUTER)
    char *relay_pub;            //  its pub endpoint (XPUB)
    char *relay_gossip;         //  its gossip endpoint (XSUB)
    char *verifier_query;       //  the first verifier's query endpoint
    char *ca_join;              //  the CA's join endpoint
    char *ca_admin;             //  the CA's block producer's admin endpoint (GetStatus)
    char **admins;              //  each genesis validator's admin endpoint (members - 1)
    s_process_t processes [CC_BENCH_NET_MAX_PROCESSES];   //  tracked processes
    size_t count;               //  entries used in processes
};

//  --- Small helpers -------------------------------------------------------------------

//  count free loopback ports into ports (bound at once so they differ).
static int
s_free_ports (int *ports, size_t count)
{
    int sockets [64];
    assert (count <= 64);
    int rc = 0;
    size_t opened = 0;
    for (; opened < count; opened++) {
        sockets [opened] = socket (AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address;
        memset (&address, 0, sizeof (address));
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t length = sizeof (address);
        if (sockets [opened] < 0
            || bind (sockets [opened], (struct sockaddr *) &address, sizeof (address)) != 0
            || getsockname (sockets [opened], (struct sockaddr *) &address, &length) != 0) {
            if (sockets [opened] >= 0)
                close (sockets [opened]);
            rc = CC_E_IO;
            break;
        }
        ports [opened] = ntohs (address.sin_port);
    }
    for (size_t index = 0; index < opened; index++)
        close (sockets [index]);
    return rc;
}

static char *
s_endpoint (int port)
{
    return zsys_sprintf ("tcp://127.0.0.1:%d", port);
}

static int
s_rmtree_entry (const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    return remove (path);
}

char *
cc_bench_net_find_bin (const char *bin_dir, const char *name, const char *subdir)
{
    char *candidates [2] = {
        zsys_sprintf ("%s/%s", bin_dir, name),
        zsys_sprintf ("%s/../../%s/%s", bin_dir, subdir, name),
    };
    char *found = NULL;
    for (size_t index = 0; index < 2; index++) {
        if (!found && candidates [index] && access (candidates [index], X_OK) == 0)
            found = realpath (candidates [index], NULL);
        zstr_free (&candidates [index]);
    }
    return found;
}

int
cc_bench_net_status (const char *endpoint, int timeout_ms, uint64_t *height,
                     uint32_t *validators)
{
    cc_rpc_client_t *client = cc_rpc_client_new (endpoint, CC_MAX_MESSAGE_SIZE);
    if (!client)
        return CC_E_IO;
    Certchain__GetStatus get = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_rpc_client_call (client, &request, timeout_ms, &reply, &reason);
    if (rc == 0 && reply->kind_case != CERTCHAIN__REPLY__KIND_STATUS)
        rc = CC_E_MALFORMED;
    if (rc == 0) {
        if (height)
            *height = reply->status->height;
        if (validators)
            *validators = reply->status->validators;
    }
    cc_rpc_reply_free (&reply);
    cc_rpc_client_destroy (&client);
    return rc;
}

//  --- Processes -----------------------------------------------------------------------

static s_process_t *
s_process (cc_bench_net_t *self, const char *name)
{
    for (size_t index = 0; index < self->count; index++)
        if (streq (self->processes [index].name, name))
            return &self->processes [index];
    return NULL;
}

//  Reaps process if it exited; true when it is gone.
static bool
s_reaped (s_process_t *process)
{
    if (!process->started || process->exited)
        return process->exited;
    int status = 0;
    pid_t done = waitpid (process->pid, &status, WNOHANG);
    if (done == process->pid || (done < 0 && errno == ECHILD))
        process->exited = true;
    return process->exited;
}

//  Starts binary -c config as process name in its own session, output to
//  its log. 0 or IO.
static int
s_spawn (cc_bench_net_t *self, const char *name, const char *binary, const char *config,
         const char *status_endpoint, bool member, cc_reason_t *reason)
{
    if (self->count == CC_BENCH_NET_MAX_PROCESSES)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "too many processes");
    char *log_path = zsys_sprintf ("%s/logs/%s.log", self->dir, name);
    char *arguments [] = {(char *) binary, (char *) "-c", (char *) config, NULL};
    //  Everything the child needs is ready before fork: between fork and
    //  exec only async-signal-safe calls.
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        setsid ();
        //  Should the bench die without stopping it (a crash, SIGKILL),
        //  the process is told to stop too.
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent)
            _exit (127);
        int input = open ("/dev/null", O_RDONLY);
        int output = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (input >= 0)
            dup2 (input, 0);
        if (output >= 0) {
            dup2 (output, 1);
            dup2 (output, 2);
        }
        execv (binary, arguments);
        _exit (127);
    }
    if (pid < 0) {
        zstr_free (&log_path);
        return cc_reason_set (reason, CC_E_IO, "%s: fork: %s", name, strerror (errno));
    }
    s_process_t *process = &self->processes [self->count++];
    memset (process, 0, sizeof (*process));
    process->name = strdup (name);
    process->pid = pid;
    process->started = true;
    process->log_path = log_path;
    process->status_endpoint = status_endpoint ? strdup (status_endpoint) : NULL;
    process->member = member;
    return 0;
}

//  SIGTERM to every listed process, then SIGKILL to those still there
//  after the grace period.
static void
s_stop_processes (s_process_t **processes, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (!s_reaped (processes [index]))
            kill (processes [index]->pid, SIGTERM);
    int64_t deadline = zclock_mono () + S_STOP_GRACE_MS;
    bool waiting = true;
    while (waiting && zclock_mono () < deadline) {
        waiting = false;
        for (size_t index = 0; index < count; index++)
            if (!s_reaped (processes [index]))
                waiting = true;
        if (waiting)
            usleep (20000);
    }
    for (size_t index = 0; index < count; index++)
        if (!s_reaped (processes [index])) {
            kill (processes [index]->pid, SIGKILL);
            waitpid (processes [index]->pid, NULL, 0);
            processes [index]->exited = true;
        }
}

//  The last bytes of a process's log, for an error message.
static void
s_log_tail (s_process_t *process, char *text, size_t size)
{
    text [0] = 0;
    FILE *file = process->log_path ? fopen (process->log_path, "r") : NULL;
    if (!file)
        return;
    fseek (file, 0, SEEK_END);
    long length = ftell (file);
    long start = length > (long) size - 1 ? length - (long) size + 1 : 0;
    fseek (file, start, SEEK_SET);
    size_t read = fread (text, 1, size - 1, file);
    text [read] = 0;
    fclose (file);
    for (char *cursor = text; *cursor; cursor++)
        if (*cursor == '\n')
            *cursor = '|';
}

//  --- Writing the network's files ------------------------------------------------------

//  Writes the lines every service's config starts with.
static void
s_common (cc_bench_net_t *self, FILE *file, const char *store)
{
    fprintf (file, "log\n    level = \"%s\"\n", self->log_level);
    fprintf (file, "store\n    path = \"%s/stores/%s\"\n", self->dir, store);
    fprintf (file, "genesis\n    path = \"%s\"\n", self->genesis_path);
    fprintf (file, "relay\n    rpc = \"%s\"\n    pub = \"%s\"\n    gossip = \"%s\"\n",
             self->relay_rpc, self->relay_pub, self->relay_gossip);
}

//  Opens DIR/NAME.zpl for writing; *path_p gets the path (caller frees).
static FILE *
s_config_open (cc_bench_net_t *self, const char *name, char **path_p)
{
    *path_p = zsys_sprintf ("%s/%s.zpl", self->dir, name);
    FILE *file = *path_p ? fopen (*path_p, "w") : NULL;
    if (file)
        fprintf (file, "#  %s of a certchain-bench network\n", name);
    return file;
}

//  Saves key as DIR/keys/NAME.key (and .pub). *path_p: the secret file.
static int
s_save_key (cc_bench_net_t *self, cc_keypair_t *key, const char *name, char **path_p,
            cc_reason_t *reason)
{
    *path_p = zsys_sprintf ("%s/keys/%s.key", self->dir, name);
    char *public_path = zsys_sprintf ("%s/keys/%s.key.pub", self->dir, name);
    int rc = cc_keypair_save (key, *path_p, public_path, reason);
    zstr_free (&public_path);
    return rc;
}

//  Writes a validator's config: key, admin endpoint, never joining.
static int
s_write_validator (cc_bench_net_t *self, const char *name, const char *key_path,
                   const char *admin, char **config_p)
{
    FILE *file = s_config_open (self, name, config_p);
    if (!file)
        return CC_E_IO;
    s_common (self, file, name);
    fprintf (file, "ca\n    join = \"%s\"\n", self->ca_join);
    fprintf (file, "validator\n    key = \"%s\"\n    admin = \"%s\"\n    join = \"0\"\n"
             "    resign_on_stop = \"0\"\n", key_path, admin);
    return fclose (file) == 0 ? 0 : CC_E_IO;
}

//  The keys, genesis, policy and configs of the network, and the binaries.
static int
s_create (cc_bench_net_t *self, const cc_bench_net_opts_t *opts, cc_reason_t *reason)
{
    const char *folders [] = {"keys", "logs", "stores"};
    for (size_t index = 0; index < 3; index++) {
        char *path = zsys_sprintf ("%s/%s", self->dir, folders [index]);
        int made = path ? mkdir (path, 0700) : -1;
        zstr_free (&path);
        if (made != 0)
            return cc_reason_set (reason, CC_E_IO, "cannot create %s/%s: %s", self->dir,
                                  folders [index], strerror (errno));
    }
    //  Ports: relay 3, CA join and admin, one admin per validator, verifier.
    size_t validators = opts->members - 1;
    int ports [64];
    if (validators + 6 > 64 || s_free_ports (ports, validators + 6) != 0)
        return cc_reason_set (reason, CC_E_IO, "cannot find %zu free ports", validators + 6);
    self->relay_rpc = s_endpoint (ports [0]);
    self->relay_pub = s_endpoint (ports [1]);
    self->relay_gossip = s_endpoint (ports [2]);
    self->ca_join = s_endpoint (ports [3]);
    self->ca_admin = s_endpoint (ports [4]);
    self->verifier_query = s_endpoint (ports [5]);

    //  Keys and genesis.
    char chain_id [40];
    snprintf (chain_id, sizeof (chain_id), "bench-%08x", randombytes_random ());
    self->genesis = cc_genesis_new (chain_id, (uint64_t) zclock_time ());
    cc_keypair_t *ca_key = cc_keypair_new ();
    cc_keypair_t *keys [64] = {NULL};
    char *ca_key_path = NULL;
    int rc = self->genesis && ca_key ? 0 : cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = s_save_key (self, ca_key, "ca", &ca_key_path, reason);
    if (rc == 0)
        rc = cc_genesis_add_ca (self->genesis, cc_keypair_public (ca_key), true);
    for (size_t index = 0; rc == 0 && index < validators; index++) {
        keys [index] = cc_keypair_new ();
        rc = keys [index] ? cc_genesis_add_validator (self->genesis,
                                                      cc_keypair_public (keys [index]))
                          : CC_E_NOMEM;
    }
    for (size_t index = 0; rc == 0 && index < opts->account_count; index++)
        rc = cc_genesis_add_account (self->genesis, opts->accounts + index * CC_PUBKEY_SIZE,
                                     opts->balance);
    if (rc != 0 && reason->code == 0)
        cc_reason_set (reason, rc, "genesis: %s", cc_error_message (rc));
    self->genesis_path = zsys_sprintf ("%s/genesis.zpl", self->dir);
    if (rc == 0)
        rc = cc_genesis_save (self->genesis, self->genesis_path, reason);

    //  Relay, CA (with its policy), validators, verifier.
    char *path = NULL;
    FILE *file = NULL;
    if (rc == 0 && (file = s_config_open (self, "relay", &path))) {
        s_common (self, file, "relay");
        rc = fclose (file) == 0 ? 0 : CC_E_IO;
    }
    zstr_free (&path);
    char *policy_path = zsys_sprintf ("%s/ca-policy.zpl", self->dir);
    if (rc == 0 && opts->ca_policy && (file = fopen (policy_path, "w"))) {
        fprintf (file, "policy\n%s", opts->ca_policy);
        rc = fclose (file) == 0 ? 0 : CC_E_IO;
    }
    if (rc == 0 && (file = s_config_open (self, "ca", &path))) {
        s_common (self, file, "ca");
        fprintf (file, "ca\n    key = \"%s\"\n    join = \"%s\"\n    admin = \"%s\"\n"
                 "    policy = \"%s\"\n", ca_key_path, self->ca_join, self->ca_admin,
                 opts->ca_policy ? policy_path : "");
        rc = fclose (file) == 0 ? 0 : CC_E_IO;
    }
    zstr_free (&path);
    zstr_free (&policy_path);
    self->admins = (char **) calloc (validators + 1, sizeof (char *));
    if (rc == 0 && !self->admins)
        rc = cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    for (size_t index = 0; rc == 0 && index < validators; index++) {
        char name [32], *key_path = NULL, *config = NULL;
        snprintf (name, sizeof (name), "validator-%zu", index + 1);
        self->admins [index] = s_endpoint (ports [6 + index]);
        rc = s_save_key (self, keys [index], name, &key_path, reason);
        if (rc == 0)
            rc = s_write_validator (self, name, key_path, self->admins [index], &config);
        zstr_free (&key_path);
        zstr_free (&config);
    }
    if (rc == 0 && (file = s_config_open (self, "verifier", &path))) {
        s_common (self, file, "verifier");
        fprintf (file, "verifier\n    query = \"%s\"\n", self->verifier_query);
        rc = fclose (file) == 0 ? 0 : CC_E_IO;
    }
    zstr_free (&path);
    if (rc != 0 && reason->code == 0)
        cc_reason_set (reason, rc, "cannot write the configuration in %s", self->dir);
    zstr_free (&ca_key_path);
    cc_keypair_destroy (&ca_key);
    for (size_t index = 0; index < validators; index++)
        cc_keypair_destroy (&keys [index]);
    return rc;
}

//  --- Life cycle ------------------------------------------------------------------------

cc_bench_net_t *
cc_bench_net_new (const cc_bench_net_opts_t *opts, cc_reason_t *reason)
{
    assert (opts);
    assert (opts->members >= 1);
    if (opts->members > 50) {
        cc_reason_set (reason, CC_E_INVALID_ARG, "at most 50 members");
        return NULL;
    }
    cc_bench_net_t *self = (cc_bench_net_t *) calloc (1, sizeof (cc_bench_net_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    const char *parent = opts->work_dir ? opts->work_dir
                       : getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
    self->dir = zsys_sprintf ("%s/certchain-bench-%s-XXXXXX", parent,
                              opts->name ? opts->name : "net");
    self->keep = opts->keep;
    self->bin_dir = strdup (opts->bin_dir);
    self->log_level = strdup (opts->log_level ? opts->log_level : "info");
    self->members = opts->members;
    if (!self->dir || !mkdtemp (self->dir)) {
        cc_reason_set (reason, CC_E_IO, "cannot create a directory in %s: %s", parent,
                       strerror (errno));
        zstr_free (&self->dir);
        cc_bench_net_destroy (&self);
        return NULL;
    }
    if (s_create (self, opts, reason) != 0)
        cc_bench_net_destroy (&self);
    return self;
}

//  Binary name (folder subdir in the build tree), or NULL with reason.
static char *
s_binary (cc_bench_net_t *self, const char *name, const char *subdir, cc_reason_t *reason)
{
    char *path = cc_bench_net_find_bin (self->bin_dir, name, subdir);
    if (!path)
        cc_reason_set (reason, CC_E_IO, "%s not found in %s (nor in the build tree above it); "
                       "use --bin-dir", name, self->bin_dir);
    return path;
}

//  Spawns the process name of binary name (subdir) from DIR/NAME.zpl.
static int
s_start_one (cc_bench_net_t *self, const char *name, const char *binary_name,
             const char *subdir, const char *status_endpoint, bool member,
             cc_reason_t *reason)
{
    char *binary = s_binary (self, binary_name, subdir, reason);
    char *config = zsys_sprintf ("%s/%s.zpl", self->dir, name);
    int rc = binary ? s_spawn (self, name, binary, config, status_endpoint, member, reason)
                    : CC_E_IO;
    zstr_free (&config);
    zstr_free (&binary);
    return rc;
}

int
cc_bench_net_start (cc_bench_net_t *self, int timeout_ms, cc_reason_t *reason)
{
    assert (self);
    assert (self->dir);
    assert (self->count == 0);
    int rc = s_start_one (self, "relay", "certchain-relay", "services/relay",
                          self->relay_rpc, false, reason);
    if (rc == 0)
        rc = s_start_one (self, "ca", "certchain-ca", "services/ca", self->ca_admin, true,
                          reason);
    for (size_t index = 1; rc == 0 && index < self->members; index++) {
        char name [32];
        snprintf (name, sizeof (name), "validator-%zu", index);
        rc = s_start_one (self, name, "certchain-validator", "services/validator",
                          self->admins [index - 1], true, reason);
    }
    if (rc == 0)
        rc = s_start_one (self, "verifier", "certchain-verifier", "services/verifier",
                          self->verifier_query, false, reason);
    if (rc != 0)
        return rc;

    //  Ready: every member and the verifier report height >= 1.
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        const char *dead = cc_bench_net_dead (self);
        if (dead) {
            char tail [S_LOG_TAIL];
            s_log_tail (s_process (self, dead), tail, sizeof (tail));
            return cc_reason_set (reason, CC_E_IO, "%s exited at start (log %s/logs/%s.log: "
                                  "...%s)", dead, self->dir, dead, tail);
        }
        size_t ready = 0, waited = 0;
        const char *lagging = NULL;
        for (size_t index = 0; index < self->count; index++) {
            s_process_t *process = &self->processes [index];
            if (!process->member && !streq (process->name, "verifier"))
                continue;
            waited++;
            uint64_t height = 0;
            if (cc_bench_net_status (process->status_endpoint, 500, &height, NULL) == 0
                && height >= 1)
                ready++;
            else
            if (!lagging)
                lagging = process->name;
        }
        if (ready == waited)
            return 0;
        if (zsys_interrupted)
            return cc_reason_set (reason, CC_E_IO, "interrupted");
        if (zclock_mono () > deadline)
            return cc_reason_set (reason, CC_E_TIMEOUT, "network not ready within %d ms: %s "
                                  "has no committed block (logs in %s/logs)", timeout_ms,
                                  lagging, self->dir);
        usleep (100000);
    }
}

cc_bench_net_t *
cc_bench_net_attach (const char *relay, const char *verifier, const char *genesis_path,
                     cc_reason_t *reason)
{
    cc_bench_net_t *self = (cc_bench_net_t *) calloc (1, sizeof (cc_bench_net_t));
    if (!self) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    self->relay_rpc = strdup (relay);
    self->verifier_query = strdup (verifier);
    self->genesis_path = strdup (genesis_path);
    self->genesis = cc_genesis_load (genesis_path, reason);
    if (!self->genesis)
        cc_bench_net_destroy (&self);
    return self;
}

int
cc_bench_net_track (cc_bench_net_t *self, const char *name, pid_t pid)
{
    assert (self);
    if (self->count == CC_BENCH_NET_MAX_PROCESSES)
        return CC_E_INVALID_ARG;
    s_process_t *process = &self->processes [self->count++];
    memset (process, 0, sizeof (*process));
    process->name = strdup (name);
    process->pid = pid;
    return 0;
}

void
cc_bench_net_destroy (cc_bench_net_t **self_p)
{
    assert (self_p);
    cc_bench_net_t *self = *self_p;
    if (!self)
        return;
    s_process_t *started [CC_BENCH_NET_MAX_PROCESSES];
    size_t count = 0;
    for (size_t index = 0; index < self->count; index++)
        if (self->processes [index].started)
            started [count++] = &self->processes [index];
    s_stop_processes (started, count);
    for (size_t index = 0; index < CC_BENCH_NET_MAX_PROCESSES; index++) {
        zstr_free (&self->processes [index].name);
        zstr_free (&self->processes [index].log_path);
        zstr_free (&self->processes [index].status_endpoint);
    }
    if (self->dir && !self->keep)
        nftw (self->dir, s_rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
    zstr_free (&self->dir);
    zstr_free (&self->bin_dir);
    zstr_free (&self->log_level);
    cc_genesis_destroy (&self->genesis);
    zstr_free (&self->genesis_path);
    zstr_free (&self->relay_rpc);
    zstr_free (&self->relay_pub);
    zstr_free (&self->relay_gossip);
    zstr_free (&self->verifier_query);
    zstr_free (&self->ca_join);
    zstr_free (&self->ca_admin);
    for (size_t index = 0; self->admins && self->admins [index]; index++)
        zstr_free (&self->admins [index]);
    free (self->admins);
    free (self);
    *self_p = NULL;
}

//  --- More processes --------------------------------------------------------------------

int
cc_bench_net_add_verifier (cc_bench_net_t *self, const char *name, const char **endpoint_p,
                           cc_reason_t *reason)
{
    assert (self);
    if (!self->dir)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "not on an attached network");
    int port = 0;
    if (s_free_ports (&port, 1) != 0)
        return cc_reason_set (reason, CC_E_IO, "no free port");
    char *query = s_endpoint (port);
    char *path = NULL;
    FILE *file = s_config_open (self, name, &path);
    int rc = file ? 0 : cc_reason_set (reason, CC_E_IO, "cannot write %s", path);
    if (rc == 0) {
        s_common (self, file, name);
        fprintf (file, "verifier\n    query = \"%s\"\n", query);
        rc = fclose (file) == 0 ? 0 : cc_reason_set (reason, CC_E_IO, "cannot write %s", path);
    }
    if (rc == 0)
        rc = s_start_one (self, name, "certchain-verifier", "services/verifier", query, false,
                          reason);
    zstr_free (&path);
    zstr_free (&query);
    if (rc == 0)
        *endpoint_p = self->processes [self->count - 1].status_endpoint;
    return rc;
}

int
cc_bench_net_add_validator (cc_bench_net_t *self, const char *name, cc_keypair_t *key,
                            const char **endpoint_p, cc_reason_t *reason)
{
    assert (self);
    if (!self->dir)
        return cc_reason_set (reason, CC_E_INVALID_ARG, "not on an attached network");
    int port = 0;
    if (s_free_ports (&port, 1) != 0)
        return cc_reason_set (reason, CC_E_IO, "no free port");
    char *admin = s_endpoint (port);
    char *key_path = NULL, *config = NULL;
    int rc = s_save_key (self, key, name, &key_path, reason);
    if (rc == 0 && s_write_validator (self, name, key_path, admin, &config) != 0)
        rc = cc_reason_set (reason, CC_E_IO, "cannot write %s", config);
    if (rc == 0)
        rc = s_start_one (self, name, "certchain-validator", "services/validator", admin, true,
                          reason);
    zstr_free (&admin);
    zstr_free (&key_path);
    zstr_free (&config);
    if (rc == 0)
        *endpoint_p = self->processes [self->count - 1].status_endpoint;
    return rc;
}

int
cc_bench_net_stop (cc_bench_net_t *self, const char *name)
{
    assert (self);
    s_process_t *process = s_process (self, name);
    if (!process || !process->started)
        return CC_E_NOT_FOUND;
    s_stop_processes (&process, 1);
    return 0;
}

//  --- Reading -------------------------------------------------------------------------------

const char *
cc_bench_net_relay (cc_bench_net_t *self)
{
    assert (self);
    return self->relay_rpc;
}

const char *
cc_bench_net_verifier (cc_bench_net_t *self)
{
    assert (self);
    return self->verifier_query;
}

const char *
cc_bench_net_ca_join (cc_bench_net_t *self)
{
    assert (self);
    return self->ca_join;
}

cc_genesis_t *
cc_bench_net_genesis (cc_bench_net_t *self)
{
    assert (self);
    return self->genesis;
}

const char *
cc_bench_net_dir (cc_bench_net_t *self)
{
    assert (self);
    return self->dir;
}

size_t
cc_bench_net_members (cc_bench_net_t *self)
{
    assert (self);
    return self->members;
}

size_t
cc_bench_net_size (cc_bench_net_t *self)
{
    assert (self);
    return self->count;
}

const char *
cc_bench_net_name (cc_bench_net_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->processes [index].name;
}

pid_t
cc_bench_net_pid (cc_bench_net_t *self, size_t index)
{
    assert (self);
    assert (index < self->count);
    return self->processes [index].pid;
}

const char *
cc_bench_net_dead (cc_bench_net_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->count; index++)
        if (self->processes [index].started && s_reaped (&self->processes [index]))
            return self->processes [index].name;
    return NULL;
}
