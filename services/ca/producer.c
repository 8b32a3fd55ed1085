/*  =========================================================================
    producer - the CA as a block producer (see producer.h)

    Derives the validator engine's configuration from the CA's, starts
    cc_validator_actor with it and its own log, and stops it. Nothing of
    consensus is here: the engine is services/validator's, unchanged, so
    a producing CA and a validator cannot drift apart in how they propose,
    vote, pack, commit or upload.
    =========================================================================
*/

#include "producer.h"

#include <string.h>

#include "crypto.h"
#include "genesis.h"
#include "service.h"
#include "validator.h"

struct _cc_producer_t {
    cc_config_t *config;            //  the engine's derived configuration (owned)
    cc_log_t *log;                  //  the engine's log, "ca-producer" (owned)
    cc_validator_args_t args;       //  what the actor borrows: config and log
    zactor_t *actor;                //  the engine (owned)
};

//  Keys copied as they are from the CA's configuration to the engine's.
static const char *s_shared_keys [] = {
    "relay/rpc", "relay/pub", "relay/gossip", "genesis/path", "log/level", "store/cache_mb",
    "ca/join",
};

//  Keys the engine may declare (issue 4, candidate side) that a genesis CA
//  must have off: it is a member through the genesis, so it never joins,
//  and a genesis member cannot resign.
static const char *s_off_keys [] = {
    "validator/join", "validator/resign_on_stop",
};

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  --- Configuration -----------------------------------------------------------------

void
cc_producer_define (cc_config_t *ca_config)
{
    cc_config_define (ca_config, "ca/admin", CC_PRODUCER_ADMIN_DEFAULT, "admin",
                      "admin ROUTER endpoint of the CA's block producer (GetStatus), bound "
                      "only when the genesis marks this CA as producing");
}

int
cc_producer_wanted (cc_config_t *ca_config, bool *produces, cc_reason_t *reason)
{
    *produces = false;
    const char *genesis_path = cc_config_get (ca_config, "genesis/path");
    cc_reason_t why;
    cc_reason_clear (&why);
    cc_genesis_t *genesis = cc_genesis_load (genesis_path, &why);
    if (!genesis)
        return cc_reason_set (reason, CC_E_CONFIG, "genesis/path %s: %s", genesis_path,
                              cc_reason_text (&why));
    const char *key_path = cc_config_get (ca_config, "ca/key");
    cc_keypair_t *key = cc_keypair_load (key_path, &why);
    if (!key) {
        cc_genesis_destroy (&genesis);
        return cc_reason_set (reason, CC_E_CONFIG, "ca/key %s: %s", key_path,
                              cc_reason_text (&why));
    }
    *produces = cc_genesis_ca_produces (genesis, cc_keypair_public (key));
    cc_keypair_destroy (&key);
    cc_genesis_destroy (&genesis);
    return 0;
}

//  Sets path on config to value; CONFIG naming the path on failure.
static int
s_set (cc_config_t *config, const char *path, const char *value, cc_reason_t *reason)
{
    cc_reason_t why;
    cc_reason_clear (&why);
    if (cc_config_set (config, path, value, &why) != 0)
        return cc_reason_set (reason, CC_E_CONFIG, "producer %s: %s", path,
                              cc_reason_text (&why));
    return 0;
}

cc_config_t *
cc_producer_config_new (cc_config_t *ca_config, cc_reason_t *reason)
{
    cc_config_t *config = cc_config_new ("certchain-ca");
    if (!config) {
        cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        return NULL;
    }
    cc_validator_define (config);
    int rc = s_set (config, "validator/key", cc_config_get (ca_config, "ca/key"), reason);
    if (rc == 0)
        rc = s_set (config, "validator/admin", cc_config_get (ca_config, "ca/admin"), reason);
    for (size_t index = 0; rc == 0 && index < S_COUNT (s_shared_keys); index++)
        rc = s_set (config, s_shared_keys [index],
                    cc_config_get (ca_config, s_shared_keys [index]), reason);
    //  Only the keys this engine knows: an older one has no join at all.
    for (size_t index = 0; rc == 0 && index < S_COUNT (s_off_keys); index++)
        if (cc_config_get (config, s_off_keys [index]))
            rc = s_set (config, s_off_keys [index], "0", reason);
    if (rc == 0) {
        char *store = zsys_sprintf ("%s/%s", cc_config_get (ca_config, "store/path"),
                                    CC_PRODUCER_STORE_DIR);
        rc = store ? s_set (config, "store/path", store, reason)
                   : cc_reason_set (reason, CC_E_NOMEM, "out of memory");
        zstr_free (&store);
    }
    if (rc == 0) {
        cc_reason_t why;
        cc_reason_clear (&why);
        rc = cc_validator_check (config, &why);
        if (rc != 0)
            cc_reason_set (reason, rc, "producer: %s", cc_reason_text (&why));
    }
    if (rc != 0)
        cc_config_destroy (&config);
    return config;
}

int
cc_producer_print (cc_config_t *ca_config, FILE *stream, cc_reason_t *reason)
{
    bool produces = false;
    cc_reason_t why;
    cc_reason_clear (&why);
    int wanted = cc_producer_wanted (ca_config, &produces, &why);
    cc_config_t *config = cc_producer_config_new (ca_config, reason);
    if (!config)
        return reason->code;
    char *text = NULL;
    size_t size = 0;
    FILE *memory = open_memstream (&text, &size);
    if (!memory) {
        cc_config_destroy (&config);
        return cc_reason_set (reason, CC_E_NOMEM, "out of memory");
    }
    cc_config_print (config, memory);
    fclose (memory);
    cc_config_destroy (&config);
    if (wanted != 0)
        fprintf (stream, "\n#  Block producer: unknown (%s); when the genesis marks this CA as "
                 "producing, it runs the validator engine with:\n", cc_reason_text (&why));
    else
    if (produces)
        fprintf (stream, "\n#  Block producer: runs (the genesis marks this CA as producing): "
                 "the validator engine, configured as follows:\n");
    else
        fprintf (stream, "\n#  Block producer: off (the genesis does not mark this CA as "
                 "producing); it would run the validator engine with:\n");
    //  Each line of the engine's ZPL as a comment, so the output still
    //  loads as the CA's configuration; its own title line is ours above.
    char *line = text;
    while (line && *line) {
        char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line) : strlen (line);
        if (strncmp (line, "#  Effective configuration", 26) != 0)
            fprintf (stream, "#  %.*s\n", (int) length, line);
        line = end ? end + 1 : NULL;
    }
    free (text);
    return 0;
}

//  --- Running ---------------------------------------------------------------------------

static void
s_free (cc_producer_t **self_p)
{
    cc_producer_t *self = *self_p;
    zactor_destroy (&self->actor);
    cc_log_destroy (&self->log);
    cc_config_destroy (&self->config);
    free (self);
    *self_p = NULL;
}

cc_producer_t *
cc_producer_new (cc_config_t *ca_config, cc_log_level_t level, int *exit_code)
{
    cc_producer_t *self = (cc_producer_t *) calloc (1, sizeof (cc_producer_t));
    if (!self || !(self->log = cc_log_new (CC_PRODUCER_LOG_NAME, stderr))) {
        free (self);
        *exit_code = CC_EXIT_FAILURE;
        return NULL;
    }
    cc_log_set_level (self->log, level);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    self->config = cc_producer_config_new (ca_config, &reason);
    if (!self->config) {
        cc_log_error (self->log, "%s", cc_reason_text (&reason));
        *exit_code = reason.code == CC_E_NOMEM ? CC_EXIT_FAILURE : CC_EXIT_CONFIG;
        s_free (&self);
        return NULL;
    }
    self->args.config = self->config;
    self->args.log = self->log;
    self->actor = zactor_new (cc_validator_actor, &self->args);
    int started = CC_EXIT_FAILURE;
    if (self->actor && zsock_recv (self->actor, "i", &started) != 0)
        //  Interrupted while starting: a clean stop, not a failure.
        started = zsys_interrupted ? CC_EXIT_OK : CC_EXIT_FAILURE;
    if (!self->actor || started != 0 || zsys_interrupted) {
        //  The engine logged why, in its own key names; it waits for
        //  $TERM, which s_free sends.
        if (started != 0)
            cc_log_error (self->log, "the block producer did not start (its validator/admin "
                          "is ca/admin %s, its store/path is %s)",
                          cc_config_get (self->config, "validator/admin"),
                          cc_config_get (self->config, "store/path"));
        *exit_code = started;
        s_free (&self);
        return NULL;
    }
    cc_log_info (self->log, "block producer running: admin %s, store %s",
                 cc_config_get (self->config, "validator/admin"),
                 cc_config_get (self->config, "store/path"));
    *exit_code = CC_EXIT_OK;
    return self;
}

void
cc_producer_destroy (cc_producer_t **self_p)
{
    if (*self_p)
        s_free (self_p);
}

zactor_t *
cc_producer_actor (cc_producer_t *self)
{
    assert (self);
    return self->actor;
}
