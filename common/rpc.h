/*  =========================================================================
    rpc - framing, request/reply and socket policy on the ZeroMQ wire

    Every ZeroMQ message of CertChain is two frames: [type or topic][protobuf].
    Request/reply uses type "req" (a Request) and "rep" (a Reply); pub/sub
    uses the topics "tx" (Signed transaction), "txb" (TxBatch: the relay
    publishes submitted transactions this way, many to a message), "cns"
    (ConsensusMessage), "blk" (a committed Block) and "evt" (MetricsEvent);
    the join protocol uses "join" (JoinMessage). Every request carries an id and every reply
    echoes it with either its result or Error{code, message, name}.

    Servers own a ROUTER; cc_rpc_recv reads one request, answers malformed,
    oversized or mistyped input with an Error itself and reports it, so a
    service loop only ever sees well-formed requests. Clients own a DEALER
    wrapped in cc_rpc_client_t: requests are pipelined (never lock-step) and
    matched to replies by id; cc_rpc_client_call is the blocking convenience
    for command-line tools.

    Socket policy (cc_rpc_socket_policy): a maximum message size, high-water
    marks, ZMTP heartbeats (peers silent for 3 heartbeats are dropped),
    reconnects backing off from 100 ms to 5 s, and no linger at close. On
    pub/sub, a subscriber that falls behind past the high-water mark loses
    messages (counted by sequence gaps at the application level) and catches
    up from the relay with GetBlocks.
    =========================================================================
*/

#ifndef CC_RPC_H_INCLUDED
#define CC_RPC_H_INCLUDED

#include <czmq.h>

#include "codec.h"

#define CC_FRAME_REQUEST "req"
#define CC_FRAME_REPLY "rep"
#define CC_FRAME_JOIN "join"
#define CC_TOPIC_TX "tx"
#define CC_TOPIC_TX_BATCH "txb"
#define CC_TOPIC_CONSENSUS "cns"
#define CC_TOPIC_BLOCK "blk"
#define CC_TOPIC_EVENT "evt"

//  High-water mark for every socket, in messages.
#define CC_SOCKET_HWM 100000

typedef struct _cc_rpc_client_t cc_rpc_client_t;

//  --- Socket policy ------------------------------------------------------------

//  Applies the policy above to a socket before it binds or connects.
void
    cc_rpc_socket_policy (zsock_t *socket, size_t max_message_size);

//  --- Frames ----------------------------------------------------------------

//  Sends [type][packed message] on socket (after an identity frame when
//  identity is not NULL, for ROUTER sockets). 0, OVERSIZE or IO.
int
    cc_rpc_send (zsock_t *socket, zframe_t *identity, const char *type,
                 const ProtobufCMessage *message);

//  Sends [type][bytes] as they are. 0 or IO.
int
    cc_rpc_send_bytes (zsock_t *socket, zframe_t *identity, const char *type,
                       const uint8_t *data, size_t size);

//  Splits a received message into its type frame and payload frame
//  (after the identity frame when with_identity). Borrowed frames; 0 or
//  MALFORMED when the frame count is wrong.
int
    cc_rpc_split (zmsg_t *message, bool with_identity, zframe_t **identity_p,
                  zframe_t **type_p, zframe_t **payload_p);

//  True if a frame holds exactly the string text.
bool
    cc_rpc_frame_is (zframe_t *frame, const char *text);

//  --- Server side ---------------------------------------------------------------

//  Reads one message from a ROUTER. A well-formed request is returned
//  (caller frees with cc_rpc_request_free) with the sender's identity in
//  *identity_p (caller destroys). Anything else gets an Error reply here,
//  returns NULL and the error code in *code (0 when nothing was read).
Certchain__Request *
    cc_rpc_recv (zsock_t *router, zframe_t **identity_p, size_t max_message_size, int *code);

//  Frees a request from cc_rpc_recv; nulls the pointer.
void
    cc_rpc_request_free (Certchain__Request **request_p);

//  Replies to identity with reply (reply->id should echo the request).
int
    cc_rpc_reply (zsock_t *router, zframe_t *identity, Certchain__Reply *reply);

//  Replies to identity with Error{code, message} for request_id.
int
    cc_rpc_reply_error (zsock_t *router, zframe_t *identity, uint64_t request_id, int code,
                        const char *message);

//  Fills error (zeroed by the caller) from a code and message; the strings
//  are borrowed and must outlive error.
void
    cc_rpc_error_set (Certchain__Error *error, int code, const char *message);

//  --- Client side ---------------------------------------------------------------

//  A DEALER connected to endpoint. Caller owns it.
cc_rpc_client_t *
    cc_rpc_client_new (const char *endpoint, size_t max_message_size);

//  Destroys the client and its socket; nulls the pointer.
void
    cc_rpc_client_destroy (cc_rpc_client_t **self_p);

//  The client's socket, to poll on in an event loop.
zsock_t *
    cc_rpc_client_socket (cc_rpc_client_t *self);

//  Sends request with a fresh id (written into request->id and returned);
//  0 on failure.
uint64_t
    cc_rpc_client_send (cc_rpc_client_t *self, Certchain__Request *request);

//  Reads one reply if one is waiting within timeout_ms (0 = do not wait).
//  Caller frees it with cc_rpc_reply_free. NULL on timeout or a malformed
//  reply (dropped and counted).
Certchain__Reply *
    cc_rpc_client_recv (cc_rpc_client_t *self, int timeout_ms);

//  Sends request and waits up to timeout_ms for the reply with its id
//  (other replies are dropped). 0 with *reply_p (caller frees), TIMEOUT,
//  or the error carried by an Error reply (message in reason).
int
    cc_rpc_client_call (cc_rpc_client_t *self, Certchain__Request *request, int timeout_ms,
                        Certchain__Reply **reply_p, cc_reason_t *reason);

//  Frees a reply; nulls the pointer.
void
    cc_rpc_reply_free (Certchain__Reply **reply_p);

//  Replies that arrived malformed.
uint64_t
    cc_rpc_client_malformed (cc_rpc_client_t *self);

#endif
