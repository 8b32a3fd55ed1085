/*  =========================================================================
    query - the verifier's read API on its ROUTER "query"

    Each answer is built on the stack over data borrowed from the chain
    (views, not copies) and freed once sent: a query never changes the
    chain and never keeps anything.
    =========================================================================
*/

#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Sends reply (its id set here) and returns 0, or IO.
static int
s_send (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
        Certchain__Reply *reply)
{
    reply->id = request->id;
    return cc_rpc_reply (router, identity, reply) == 0 ? 0 : CC_E_IO;
}

//  Sends Error{code, text} and returns code (or IO).
static int
s_error (zsock_t *router, zframe_t *identity, const Certchain__Request *request, int code,
         const char *text)
{
    if (cc_rpc_reply_error (router, identity, request->id, code, text) != 0)
        return CC_E_IO;
    return code;
}

//  --- Answers --------------------------------------------------------------------

static int
s_status (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
          cc_chain_t *chain, cc_discards_t *discards)
{
    Certchain__Status status;
    cc_chain_status (chain, "verifier", NULL, NULL, &status);
    status.discarded = cc_discards_count (discards);
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
    reply.status = &status;
    return s_send (router, identity, request, &reply);
}

static int
s_account (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
           cc_chain_t *chain)
{
    const Certchain__GetAccount *get = request->get_account;
    if (!cc_bytes_sized (get->address, CC_PUBKEY_SIZE))
        return s_error (router, identity, request, CC_E_BAD_FIELD,
                        "address must be 32 bytes");
    uint64_t balance = 0, nonce = 0;
    int rc = cc_state_account (cc_chain_state (chain), get->address.data, &balance, &nonce);
    if (rc != 0 && rc != CC_E_NOT_FOUND)
        return s_error (router, identity, request, rc, "cannot read the account");
    Certchain__AccountInfo account = CERTCHAIN__ACCOUNT_INFO__INIT;
    account.address = get->address;
    account.balance = balance;
    account.nonce = nonce;
    account.height = cc_chain_height (chain);
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.kind_case = CERTCHAIN__REPLY__KIND_ACCOUNT;
    reply.account = &account;
    return s_send (router, identity, request, &reply);
}

static int
s_tx (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
      cc_chain_t *chain)
{
    const Certchain__GetTx *get = request->get_tx;
    if (!cc_bytes_sized (get->hash, CC_HASH_SIZE))
        return s_error (router, identity, request, CC_E_BAD_FIELD, "tx hash must be 32 bytes");
    Certchain__TxInfo *info = NULL;
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_chain_tx_info (chain, get->hash.data, &info, &reason);
    if (rc != 0)
        return s_error (router, identity, request, rc, cc_reason_text (&reason));
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.kind_case = CERTCHAIN__REPLY__KIND_TX_INFO;
    reply.tx_info = info;
    rc = s_send (router, identity, request, &reply);
    cc_chain_tx_info_free (&info);
    return rc;
}

static int
s_block (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
         cc_chain_t *chain)
{
    const Certchain__GetBlock *get = request->get_block;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = 0;
    char text [96];
    if (get->hash.len > 0) {
        if (!cc_bytes_sized (get->hash, CC_HASH_SIZE))
            return s_error (router, identity, request, CC_E_BAD_FIELD,
                            "block hash must be 32 bytes");
        rc = cc_chain_block_by_hash (chain, get->hash.data, NULL, &data, &size);
        snprintf (text, sizeof (text), "no committed block has this hash");
    }
    else {
        uint64_t height = get->height ? get->height : cc_chain_height (chain);
        if (height == 0)
            rc = CC_E_NOT_FOUND;
        else
            rc = cc_chain_block (chain, height, &data, &size);
        snprintf (text, sizeof (text), "no block at height %llu (tip %llu)",
                  (unsigned long long) height, (unsigned long long) cc_chain_height (chain));
    }
    if (rc != 0)
        return s_error (router, identity, request, rc,
                        rc == CC_E_NOT_FOUND ? text : "cannot read the block");
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.kind_case = CERTCHAIN__REPLY__KIND_BLOCK;
    reply.block = cc_bytes_view (data, size);
    rc = s_send (router, identity, request, &reply);
    free (data);
    return rc;
}

static int
s_validators (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
              cc_chain_t *chain)
{
    cc_state_t *state = cc_chain_state (chain);
    uint64_t next = cc_chain_height (chain) + 1;
    uint64_t height = request->get_validators->height ? request->get_validators->height : next;
    if (height > next) {
        char text [96];
        snprintf (text, sizeof (text), "validator set of height %llu not known yet (next %llu)",
                  (unsigned long long) height, (unsigned long long) next);
        return s_error (router, identity, request, CC_E_NOT_FOUND, text);
    }
    cc_valset_t *valset = cc_state_valset (state, height);
    if (!valset)
        return s_error (router, identity, request, CC_E_STORE,
                        "cannot read the validator set");
    size_t count = cc_valset_size (valset);
    Certchain__ValidatorInfo *infos = (Certchain__ValidatorInfo *) calloc (
        count ? count : 1, sizeof (Certchain__ValidatorInfo));
    Certchain__ValidatorInfo **pointers = (Certchain__ValidatorInfo **) calloc (
        count ? count : 1, sizeof (Certchain__ValidatorInfo *));
    Certchain__ValidatorRecord *bare = (Certchain__ValidatorRecord *) calloc (
        count ? count : 1, sizeof (Certchain__ValidatorRecord));
    Certchain__ValidatorRecord **records = (Certchain__ValidatorRecord **) calloc (
        count ? count : 1, sizeof (Certchain__ValidatorRecord *));
    int rc = 0;
    if (!infos || !pointers || !bare || !records)
        rc = CC_E_NOMEM;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        const uint8_t *pubkey = cc_valset_member (valset, index);
        certchain__validator_info__init (&infos [index]);
        pointers [index] = &infos [index];
        infos [index].is_ca = cc_valset_member_is_ca (valset, index);
        if (!infos [index].is_ca)
            rc = cc_state_validator (state, pubkey, &records [index]);
        if (rc == 0 && records [index])
            infos [index].record = records [index];
        else
        if (rc == 0 || rc == CC_E_NOT_FOUND) {
            //  A genesis CA: no record, just who it is.
            rc = 0;
            certchain__validator_record__init (&bare [index]);
            bare [index].pubkey = cc_bytes_view (pubkey, CC_PUBKEY_SIZE);
            infos [index].record = &bare [index];
        }
    }
    if (rc == 0) {
        uint8_t valset_hash [CC_HASH_SIZE];
        cc_valset_hash (valset, valset_hash);
        Certchain__Validators validators = CERTCHAIN__VALIDATORS__INIT;
        validators.height = height;
        validators.n_validators = count;
        validators.validators = pointers;
        validators.valset_hash = cc_bytes_view (valset_hash, CC_HASH_SIZE);
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.kind_case = CERTCHAIN__REPLY__KIND_VALIDATORS;
        reply.validators = &validators;
        rc = s_send (router, identity, request, &reply);
    }
    else
        rc = s_error (router, identity, request, rc, "cannot read the validator records");
    for (size_t index = 0; records && index < count; index++)
        if (records [index])
            certchain__validator_record__free_unpacked (records [index], NULL);
    free (records);
    free (bare);
    free (pointers);
    free (infos);
    cc_valset_destroy (&valset);
    return rc;
}

static int
s_discarded (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
             cc_discards_t *discards)
{
    const Certchain__ListDiscarded *list_request = request->list_discarded;
    Certchain__DiscardedList *list = NULL;
    int rc = cc_discards_list (discards, list_request->from_seq, list_request->max_count,
                               &list);
    if (rc != 0)
        return s_error (router, identity, request, rc, "cannot read the discard log");
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.kind_case = CERTCHAIN__REPLY__KIND_DISCARDED;
    reply.discarded = list;
    rc = s_send (router, identity, request, &reply);
    cc_discards_list_free (&list);
    return rc;
}

//  --- Dispatch -------------------------------------------------------------------

int
cc_query_answer (zsock_t *router, zframe_t *identity, const Certchain__Request *request,
                 cc_chain_t *chain, cc_discards_t *discards)
{
    assert (router);
    assert (request);
    switch (request->kind_case) {
        case CERTCHAIN__REQUEST__KIND_GET_STATUS:
            return s_status (router, identity, request, chain, discards);
        case CERTCHAIN__REQUEST__KIND_GET_ACCOUNT:
            return s_account (router, identity, request, chain);
        case CERTCHAIN__REQUEST__KIND_GET_TX:
            return s_tx (router, identity, request, chain);
        case CERTCHAIN__REQUEST__KIND_GET_BLOCK:
            return s_block (router, identity, request, chain);
        case CERTCHAIN__REQUEST__KIND_GET_VALIDATORS:
            return s_validators (router, identity, request, chain);
        case CERTCHAIN__REQUEST__KIND_LIST_DISCARDED:
            return s_discarded (router, identity, request, discards);
        default:
            return s_error (router, identity, request, CC_E_UNSUPPORTED,
                            "the verifier answers GetStatus, GetAccount, GetTx, GetBlock, "
                            "GetValidators and ListDiscarded");
    }
}
