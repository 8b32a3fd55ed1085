/*  =========================================================================
    test_rpc - framing and request/reply over real ZeroMQ sockets, bad input
    answered with errors, and the metrics event
    =========================================================================
*/

#include "fixture.h"
#include "metrics.h"
#include "rpc.h"

#include <string.h>

//  A ROUTER on an ephemeral loopback port; writes its endpoint.
static zsock_t *
s_server (char *endpoint, size_t size)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    cc_rpc_socket_policy (router, CC_MAX_MESSAGE_SIZE);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
    return router;
}

START_TEST (test_request_reply)
{
    char endpoint [64];
    zsock_t *router = s_server (endpoint, sizeof (endpoint));
    cc_rpc_client_t *client = cc_rpc_client_new (endpoint, CC_MAX_MESSAGE_SIZE);
    ck_assert_ptr_nonnull (client);

    Certchain__GetStatus get_status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get_status;
    uint64_t first = cc_rpc_client_send (client, &request);
    uint64_t second = cc_rpc_client_send (client, &request);
    ck_assert_uint_eq (second, first + 1);     //  pipelined, not lock-step

    for (int index = 0; index < 2; index++) {
        zframe_t *identity = NULL;
        int code = 0;
        zpoller_t *poller = zpoller_new (router, NULL);
        ck_assert_ptr_nonnull (zpoller_wait (poller, 5000));
        zpoller_destroy (&poller);
        Certchain__Request *received = cc_rpc_recv (router, &identity, CC_MAX_MESSAGE_SIZE,
                                                    &code);
        ck_assert_ptr_nonnull (received);
        ck_assert_int_eq (received->kind_case, CERTCHAIN__REQUEST__KIND_GET_STATUS);
        Certchain__Status status = CERTCHAIN__STATUS__INIT;
        status.height = 40 + received->id;
        status.service = "test";
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.id = received->id;
        reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
        reply.status = &status;
        ck_assert_int_eq (cc_rpc_reply (router, identity, &reply), 0);
        zframe_destroy (&identity);
        cc_rpc_request_free (&received);
    }
    for (int index = 0; index < 2; index++) {
        Certchain__Reply *reply = cc_rpc_client_recv (client, 5000);
        ck_assert_ptr_nonnull (reply);
        ck_assert_uint_eq (reply->status->height, 40 + reply->id);
        cc_rpc_reply_free (&reply);
    }
    cc_rpc_client_destroy (&client);
    zsock_destroy (&router);
}
END_TEST

//  Sends raw frames from a DEALER and returns the error code of the reply.
static int
s_error_for (zsock_t *router, zsock_t *dealer, zmsg_t *message)
{
    zmsg_send (&message, dealer);
    zframe_t *identity = NULL;
    int code = 0;
    zpoller_t *poller = zpoller_new (router, NULL);
    ck_assert_ptr_nonnull (zpoller_wait (poller, 5000));
    zpoller_destroy (&poller);
    Certchain__Request *request = cc_rpc_recv (router, &identity, 1024, &code);
    ck_assert_ptr_null (request);
    ck_assert_ptr_null (identity);
    zmsg_t *answer = zmsg_recv (dealer);
    zframe_t *type = NULL, *payload = NULL;
    ck_assert_int_eq (cc_rpc_split (answer, false, NULL, &type, &payload), 0);
    ck_assert (cc_rpc_frame_is (type, CC_FRAME_REPLY));
    Certchain__Reply *reply = certchain__reply__unpack (NULL, zframe_size (payload),
                                                        zframe_data (payload));
    ck_assert_ptr_nonnull (reply);
    ck_assert_int_eq (reply->kind_case, CERTCHAIN__REPLY__KIND_ERROR);
    int wire = reply->error->code;
    ck_assert_str_eq (reply->error->name, cc_error_name (-wire));
    ck_assert_int_eq (-wire, code);
    certchain__reply__free_unpacked (reply, NULL);
    zmsg_destroy (&answer);
    return -wire;
}

START_TEST (test_bad_input_gets_errors)
{
    char endpoint [64];
    zsock_t *router = s_server (endpoint, sizeof (endpoint));
    zsock_t *dealer = zsock_new_dealer (endpoint);

    //  Random bytes as a request.
    zmsg_t *message = zmsg_new ();
    zmsg_addstr (message, CC_FRAME_REQUEST);
    zmsg_addmem (message, "\xff\xff\xff\xff\x0f garbage", 13);
    ck_assert_int_eq (s_error_for (router, dealer, message), CC_E_MALFORMED);

    //  Wrong frame count.
    message = zmsg_new ();
    zmsg_addstr (message, CC_FRAME_REQUEST);
    ck_assert_int_eq (s_error_for (router, dealer, message), CC_E_MALFORMED);

    //  Wrong type frame.
    message = zmsg_new ();
    zmsg_addstr (message, "hello");
    zmsg_addstr (message, "");
    ck_assert_int_eq (s_error_for (router, dealer, message), CC_E_UNSUPPORTED);

    //  A valid protobuf with no request kind.
    message = zmsg_new ();
    zmsg_addstr (message, CC_FRAME_REQUEST);
    zmsg_addmem (message, "\x08\x07", 2);
    ck_assert_int_eq (s_error_for (router, dealer, message), CC_E_UNSUPPORTED);

    //  Over the logical size limit (1024 here).
    message = zmsg_new ();
    zmsg_addstr (message, CC_FRAME_REQUEST);
    uint8_t big [4096] = {0};
    zmsg_addmem (message, big, sizeof (big));
    ck_assert_int_eq (s_error_for (router, dealer, message), CC_E_OVERSIZE);

    zsock_destroy (&dealer);
    zsock_destroy (&router);
}
END_TEST

START_TEST (test_call_timeout_and_error)
{
    char endpoint [64];
    zsock_t *router = s_server (endpoint, sizeof (endpoint));
    cc_rpc_client_t *client = cc_rpc_client_new (endpoint, CC_MAX_MESSAGE_SIZE);
    Certchain__GetStatus get_status = CERTCHAIN__GET_STATUS__INIT;
    Certchain__Request request = CERTCHAIN__REQUEST__INIT;
    request.kind_case = CERTCHAIN__REQUEST__KIND_GET_STATUS;
    request.get_status = &get_status;
    Certchain__Reply *reply = NULL;
    cc_reason_t reason;
    //  Nobody answers: TIMEOUT.
    ck_assert_int_eq (cc_rpc_client_call (client, &request, 200, &reply, &reason),
                      CC_E_TIMEOUT);
    //  Drain that request, then answer the next one with an error.
    zframe_t *identity = NULL;
    int code = 0;
    Certchain__Request *received = cc_rpc_recv (router, &identity, CC_MAX_MESSAGE_SIZE, &code);
    ck_assert_ptr_nonnull (received);
    //  The stale reply to the first request must not be taken for the next.
    cc_rpc_reply_error (router, identity, received->id, CC_E_BUSY, "stale");
    cc_rpc_request_free (&received);
    zframe_destroy (&identity);

    uint64_t id = cc_rpc_client_send (client, &request);
    received = NULL;
    zpoller_t *poller = zpoller_new (router, NULL);
    ck_assert_ptr_nonnull (zpoller_wait (poller, 5000));
    zpoller_destroy (&poller);
    received = cc_rpc_recv (router, &identity, CC_MAX_MESSAGE_SIZE, &code);
    ck_assert_uint_eq (received->id, id);
    cc_rpc_reply_error (router, identity, received->id, CC_E_NOT_FOUND, "no such block");
    cc_rpc_request_free (&received);
    zframe_destroy (&identity);
    //  The client skips the stale reply and reads the error of its own.
    Certchain__Reply *stale = cc_rpc_client_recv (client, 5000);
    ck_assert_ptr_nonnull (stale);
    ck_assert_str_eq (stale->error->message, "stale");
    cc_rpc_reply_free (&stale);
    Certchain__Reply *own = cc_rpc_client_recv (client, 5000);
    ck_assert_uint_eq (own->id, id);
    ck_assert_int_eq (-(int) own->error->code, CC_E_NOT_FOUND);
    cc_rpc_reply_free (&own);
    cc_rpc_client_destroy (&client);
    zsock_destroy (&router);
}
END_TEST

START_TEST (test_metrics_event)
{
    cc_metrics_t *metrics = cc_metrics_new ("verifier", "node-1");
    cc_metrics_add (metrics, "discard.UNAUTHORIZED_PROPOSER", 2);
    cc_metrics_add (metrics, "discard.NOT_SCHEDULED", 1);
    cc_metrics_add (metrics, "drop.MALFORMED", 5);
    cc_metrics_set_height (metrics, 12);
    cc_metrics_set_mempool (metrics, 7);
    Certchain__MetricsEvent *event = cc_metrics_event (metrics, 1000);
    cc_metrics_event_free (&event);
    cc_metrics_committed (metrics, 500);
    event = cc_metrics_event (metrics, 1500);
    ck_assert_str_eq (event->service, "verifier");
    ck_assert_uint_eq (event->height, 12);
    ck_assert_uint_eq (event->mempool, 7);
    ck_assert_uint_eq (event->discarded, 3);
    ck_assert_uint_eq (event->errors, 5);
    ck_assert_uint_eq (event->committed_txs, 500);
    ck_assert_double_eq_tol (event->committed_tx_per_s, 1000.0, 0.001);
    ck_assert_uint_eq (event->n_counters, 3);
    ck_assert_str_eq (event->counters [0]->name, "discard.NOT_SCHEDULED");
    cc_metrics_event_free (&event);

    //  Published as [evt][MetricsEvent] and readable by a subscriber.
    zsock_t *publisher = zsock_new (ZMQ_PUB);
    int port = zsock_bind (publisher, "tcp://127.0.0.1:*");
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    zsock_t *subscriber = zsock_new_sub (endpoint, CC_TOPIC_EVENT);
    zmsg_t *message = NULL;
    for (int attempt = 0; attempt < 50 && !message; attempt++) {
        cc_metrics_publish (metrics, publisher, 2000);
        zpoller_t *poller = zpoller_new (subscriber, NULL);
        if (zpoller_wait (poller, 100))
            message = zmsg_recv (subscriber);
        zpoller_destroy (&poller);
    }
    ck_assert_ptr_nonnull (message);
    zframe_t *topic = NULL, *payload = NULL;
    ck_assert_int_eq (cc_rpc_split (message, false, NULL, &topic, &payload), 0);
    ck_assert (cc_rpc_frame_is (topic, CC_TOPIC_EVENT));
    Certchain__MetricsEvent *received = certchain__metrics_event__unpack (
        NULL, zframe_size (payload), zframe_data (payload));
    ck_assert_ptr_nonnull (received);
    ck_assert_uint_eq (received->height, 12);
    certchain__metrics_event__free_unpacked (received, NULL);
    zmsg_destroy (&message);
    zsock_destroy (&subscriber);
    zsock_destroy (&publisher);
    cc_metrics_destroy (&metrics);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("rpc");
    TCase *tcase = tcase_create ("core");
    tcase_set_timeout (tcase, 30);
    tcase_add_test (tcase, test_request_reply);
    tcase_add_test (tcase, test_bad_input_gets_errors);
    tcase_add_test (tcase, test_call_timeout_and_error);
    tcase_add_test (tcase, test_metrics_event);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
