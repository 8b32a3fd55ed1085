/*  =========================================================================
    rpc - framing, request/reply and socket policy on the ZeroMQ wire
    =========================================================================
*/

#include "rpc.h"

#include <string.h>

struct _cc_rpc_client_t {
    zsock_t *dealer;            //  connected to the server's ROUTER
    uint64_t next_id;           //  id of the next request
    size_t max_message_size;    //  largest reply accepted
    uint64_t malformed;         //  malformed replies dropped
};

//  --- Socket policy -------------------------------------------------------------

void
cc_rpc_socket_policy (zsock_t *socket, size_t max_message_size)
{
    zsock_set_maxmsgsize (socket, (int) max_message_size);
    zsock_set_sndhwm (socket, CC_SOCKET_HWM);
    zsock_set_rcvhwm (socket, CC_SOCKET_HWM);
    zsock_set_linger (socket, 0);
    zsock_set_heartbeat_ivl (socket, 2000);
    zsock_set_heartbeat_timeout (socket, 6000);
    zsock_set_heartbeat_ttl (socket, 6000);
    zsock_set_reconnect_ivl (socket, 100);
    zsock_set_reconnect_ivl_max (socket, 5000);
}

//  --- Frames ----------------------------------------------------------------------

int
cc_rpc_send_bytes (zsock_t *socket, zframe_t *identity, const char *type, const uint8_t *data,
                   size_t size)
{
    zmsg_t *message = zmsg_new ();
    if (identity)
        zmsg_append (message, &(zframe_t *) {zframe_dup (identity)});
    zmsg_addstr (message, type);
    zmsg_addmem (message, data, size);
    //  zmsg_send leaves the message with us when it fails.
    if (zmsg_send (&message, socket) != 0) {
        zmsg_destroy (&message);
        return CC_E_IO;
    }
    return 0;
}

int
cc_rpc_send (zsock_t *socket, zframe_t *identity, const char *type,
             const ProtobufCMessage *message)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cc_codec_pack (message, CC_MAX_MESSAGE_SIZE, &data, &size);
    if (rc != 0)
        return rc;
    rc = cc_rpc_send_bytes (socket, identity, type, data, size);
    free (data);
    return rc;
}

int
cc_rpc_split (zmsg_t *message, bool with_identity, zframe_t **identity_p, zframe_t **type_p,
              zframe_t **payload_p)
{
    size_t expected = with_identity ? 3 : 2;
    if (!message || zmsg_size (message) != expected)
        return CC_E_MALFORMED;
    zframe_t *frame = zmsg_first (message);
    if (with_identity) {
        if (identity_p)
            *identity_p = frame;
        frame = zmsg_next (message);
    }
    *type_p = frame;
    *payload_p = zmsg_next (message);
    return 0;
}

bool
cc_rpc_frame_is (zframe_t *frame, const char *text)
{
    size_t length = strlen (text);
    return frame && zframe_size (frame) == length && memcmp (zframe_data (frame), text, length) == 0;
}

//  --- Server side -----------------------------------------------------------------

void
cc_rpc_error_set (Certchain__Error *error, int code, const char *message)
{
    //  Codes are negative in C and positive on the wire; accept either.
    int negative = code < 0 ? code : -code;
    certchain__error__init (error);
    error->code = -negative;
    error->name = (char *) cc_error_name (negative);
    error->message = (char *) (message ? message : cc_error_message (negative));
}

int
cc_rpc_reply (zsock_t *router, zframe_t *identity, Certchain__Reply *reply)
{
    return cc_rpc_send (router, identity, CC_FRAME_REPLY, &reply->base);
}

int
cc_rpc_reply_error (zsock_t *router, zframe_t *identity, uint64_t request_id, int code,
                    const char *message)
{
    Certchain__Error error;
    cc_rpc_error_set (&error, code, message);
    Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
    reply.id = request_id;
    reply.kind_case = CERTCHAIN__REPLY__KIND_ERROR;
    reply.error = &error;
    return cc_rpc_reply (router, identity, &reply);
}

Certchain__Request *
cc_rpc_recv (zsock_t *router, zframe_t **identity_p, size_t max_message_size, int *code)
{
    *identity_p = NULL;
    *code = 0;
    zmsg_t *message = zmsg_recv (router);
    if (!message)
        return NULL;
    //  A ROUTER always gives the identity first; without one we cannot answer.
    zframe_t *identity = zmsg_first (message);
    if (!identity) {
        zmsg_destroy (&message);
        return NULL;
    }
    zframe_t *type = NULL, *payload = NULL;
    Certchain__Request *request = NULL;
    if (cc_rpc_split (message, true, NULL, &type, &payload) != 0)
        *code = CC_E_MALFORMED;
    else if (!cc_rpc_frame_is (type, CC_FRAME_REQUEST))
        *code = CC_E_UNSUPPORTED;
    else
        request = (Certchain__Request *) cc_codec_unpack (
            &certchain__request__descriptor, zframe_data (payload), zframe_size (payload),
            max_message_size, code);
    if (request && request->kind_case == CERTCHAIN__REQUEST__KIND__NOT_SET) {
        *code = CC_E_UNSUPPORTED;
        cc_rpc_request_free (&request);
    }
    if (!request) {
        const char *why = *code == CC_E_UNSUPPORTED
                              ? "expected frames [\"req\"][Request] with a known request kind"
                              : NULL;
        cc_rpc_reply_error (router, identity, 0, *code, why);
        zmsg_destroy (&message);
        return NULL;
    }
    *identity_p = zframe_dup (identity);
    zmsg_destroy (&message);
    return request;
}

void
cc_rpc_request_free (Certchain__Request **request_p)
{
    cc_codec_free ((ProtobufCMessage **) request_p);
}

//  --- Client side -----------------------------------------------------------------

cc_rpc_client_t *
cc_rpc_client_new (const char *endpoint, size_t max_message_size)
{
    cc_rpc_client_t *self = (cc_rpc_client_t *) calloc (1, sizeof (cc_rpc_client_t));
    if (!self)
        return NULL;
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer) {
        free (self);
        return NULL;
    }
    cc_rpc_socket_policy (self->dealer, max_message_size);
    if (zsock_connect (self->dealer, "%s", endpoint) != 0) {
        zsock_destroy (&self->dealer);
        free (self);
        return NULL;
    }
    self->next_id = 1;
    self->max_message_size = max_message_size;
    return self;
}

void
cc_rpc_client_destroy (cc_rpc_client_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy (&(*self_p)->dealer);
        free (*self_p);
        *self_p = NULL;
    }
}

zsock_t *
cc_rpc_client_socket (cc_rpc_client_t *self)
{
    return self->dealer;
}

uint64_t
cc_rpc_client_send (cc_rpc_client_t *self, Certchain__Request *request)
{
    request->id = self->next_id++;
    return cc_rpc_send (self->dealer, NULL, CC_FRAME_REQUEST, &request->base) == 0 ? request->id
                                                                                   : 0;
}

Certchain__Reply *
cc_rpc_client_recv (cc_rpc_client_t *self, int timeout_ms)
{
    zpoller_t *poller = NULL;
    if (timeout_ms != 0) {
        poller = zpoller_new (self->dealer, NULL);
        void *ready = zpoller_wait (poller, timeout_ms);
        zpoller_destroy (&poller);
        if (!ready)
            return NULL;
    }
    else if (!(zsock_events (self->dealer) & ZMQ_POLLIN))
        return NULL;
    zmsg_t *message = zmsg_recv (self->dealer);
    zframe_t *type = NULL, *payload = NULL;
    Certchain__Reply *reply = NULL;
    int code = 0;
    if (cc_rpc_split (message, false, NULL, &type, &payload) == 0
        && cc_rpc_frame_is (type, CC_FRAME_REPLY))
        reply = (Certchain__Reply *) cc_codec_unpack (&certchain__reply__descriptor,
                                                      zframe_data (payload),
                                                      zframe_size (payload),
                                                      self->max_message_size, &code);
    if (!reply)
        self->malformed++;
    zmsg_destroy (&message);
    return reply;
}

int
cc_rpc_client_call (cc_rpc_client_t *self, Certchain__Request *request, int timeout_ms,
                    Certchain__Reply **reply_p, cc_reason_t *reason)
{
    *reply_p = NULL;
    uint64_t id = cc_rpc_client_send (self, request);
    if (id == 0)
        return cc_reason_set (reason, CC_E_IO, "cannot send request");
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return cc_reason_set (reason, CC_E_TIMEOUT, "no reply within %d ms", timeout_ms);
        Certchain__Reply *reply = cc_rpc_client_recv (self, (int) left);
        if (!reply)
            continue;
        if (reply->id != id) {
            //  A late reply to an earlier request; not ours.
            cc_rpc_reply_free (&reply);
            continue;
        }
        if (reply->kind_case == CERTCHAIN__REPLY__KIND_ERROR && reply->error) {
            int code = -(int) reply->error->code;
            cc_reason_set (reason, code, "%s",
                           reply->error->message ? reply->error->message : cc_error_message (code));
            cc_rpc_reply_free (&reply);
            return code;
        }
        *reply_p = reply;
        return 0;
    }
}

void
cc_rpc_reply_free (Certchain__Reply **reply_p)
{
    cc_codec_free ((ProtobufCMessage **) reply_p);
}

uint64_t
cc_rpc_client_malformed (cc_rpc_client_t *self)
{
    return self->malformed;
}
