/* The client and the services: configuration errors, an unreachable registry, callbacks.
 * (The search against the reference server is in the Go tests.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Port 9 (discard) on loopback: nothing listens there, the connection is refused at once. */
static const char *UNREACHABLE =
    "{\"base_url\":\"http://127.0.0.1:9\",\"our_sender_id\":\"spmis.example.org\","
    "\"receiver_id\":\"crvs.example.org\",\"max_retries\":0,\"timeout_secs\":5,"
    "\"our_callback_uri\":\"http://127.0.0.1:9/callback\"}";

static const char *SEARCH = "{\"query_type\":\"idtype-value\",\"query\":{\"type\":\"UIN\","
                            "\"value\":\"847951632\"},\"page_size\":5}";

static void test_client_config_errors(void) {
    dci_error *err = NULL;
    dci_client *c = NULL;
    CHECK_FAIL(dci_client_new("{\"base_url\":\"http://127.0.0.1:9\"}", &c, &err),
               DCI_RESULT_CONFIG, NULL, "our_sender_id");
    CHECK_FAIL(dci_client_new("{\"base_url\":\"ftp://x\",\"our_sender_id\":\"a\"}", &c, &err),
               DCI_RESULT_CONFIG, NULL, "base_url");
    CHECK_FAIL(dci_client_new("{\"base_url\":", &c, &err), DCI_RESULT_CONFIG, NULL, NULL);
    CHECK_NULL_ARG(dci_client_new(NULL, &c, &err), "argument datasource_json");
    CHECK_NULL_ARG(dci_client_new(UNREACHABLE, NULL, &err), "argument out");
    CHECK(c == NULL);
}

static void test_unreachable_registry(void) {
    dci_error *err = NULL;
    dci_client *c = NULL;
    char *out = NULL;
    bool yes = true;
    if (!CHECK_OK(dci_client_new(UNREACHABLE, &c, &err))) return;

    CHECK_FAIL(dci_client_search_sync(c, SEARCH, &out, &err), DCI_RESULT_CONNECTION, NULL,
               "127.0.0.1:9");
    CHECK_FAIL(dci_client_search_async(c, SEARCH, &out, &err), DCI_RESULT_CONNECTION, NULL,
               NULL);
    CHECK_FAIL(dci_client_search_all(c, SEARCH, &out, &err), DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_client_txn_status(c,
                                     "{\"txn_type\":\"search\",\"attribute_type\":"
                                     "\"transaction_id\",\"attribute_value\":\"t-1\"}",
                                     &out, &err),
               DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_client_txn_status_async(c,
                                           "{\"txn_type\":\"search\",\"attribute_type\":"
                                           "\"transaction_id\",\"attribute_value\":\"t-1\"}",
                                           &out, &err),
               DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_client_txn_status(c, "{\"txn_type\":\"search\"}", &out, &err), DCI_RESULT_JSON,
               "err.request.bad", "query_json: missing field");
    CHECK_FAIL(dci_client_subscribe(c, "[{\"reg_event_type\":\"LiveBirth\"}]", &out, &err),
               DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_client_unsubscribe(c, "[\"sub-1\"]", &out, &err), DCI_RESULT_CONNECTION, NULL,
               NULL);
    CHECK_FAIL(dci_client_test_connection(c, &out, &err), DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_client_call_sync(c, "/registry/sync/enrolled", "search", "{}", &out, &err),
               DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_crvs_is_deceased(c, "UIN", "1", &yes, &err), DCI_RESULT_CONNECTION, NULL,
               NULL);
    CHECK_FAIL(dci_crvs_verify_birth(c, "UIN", "1", &out, &err), DCI_RESULT_CONNECTION, NULL,
               NULL);
    CHECK_FAIL(dci_crvs_search_births(c, "2020-01-01", "2020-12-31", &out, &err),
               DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_crvs_subscribe_events(c, NULL, &out, &err), DCI_RESULT_CONNECTION, NULL,
               NULL);
    CHECK_FAIL(dci_ibr_check_duplication(
                   c, "[{\"identifier_type\":\"UIN\",\"identifier_value\":\"1\"}]", &out, &err),
               DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_ibr_search_beneficiary(c, "UIN", "1", &out, &err), DCI_RESULT_CONNECTION,
               NULL, NULL);
    CHECK_FAIL(dci_ibr_enrolled(c, "UIN", "1", &yes, &err), DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK_FAIL(dci_dr_get_disability_status(c, "UIN", "1", &out, &err), DCI_RESULT_CONNECTION,
               NULL, NULL);
    CHECK_FAIL(dci_dr_get_functional_scores(c, "UIN", "1", &out, &err), DCI_RESULT_CONNECTION,
               NULL, NULL);
    CHECK_FAIL(dci_dr_is_pwd(c, "UIN", "1", &yes, &err), DCI_RESULT_CONNECTION, NULL, NULL);
    CHECK(out == NULL && yes == true);

    /* Argument errors are found before anything is sent. */
    CHECK_FAIL(dci_client_search_sync(c, "{\"query_type\":\"predicate\",\"query\":[{"
                                         "\"expression1\":{\"attribute_name\":\"a\","
                                         "\"operator\":\"like\",\"attribute_value\":1}}]}",
                                      &out, &err),
               DCI_RESULT_QUERY, "err.request.bad", "operator");
    CHECK_FAIL(dci_client_search_sync(c, "{\"query_type\":\"idtype-value\"}", &out, &err),
               DCI_RESULT_JSON, "err.request.bad", "search_json: missing field `query`");
    CHECK_FAIL(dci_client_search_sync(c, "{\"query_type\":\"x\",\"query\":{},\"pages\":1}", &out,
                                      &err),
               DCI_RESULT_JSON, "err.request.bad", "unknown field `pages`");
    CHECK_FAIL(dci_client_unsubscribe(c, "[]", &out, &err), DCI_RESULT_VALIDATION,
               "err.request.bad", NULL);
    CHECK_FAIL(dci_client_subscribe(c, "{}", &out, &err), DCI_RESULT_JSON, "err.request.bad",
               "subscriptions_json: ");
    CHECK_FAIL(dci_ibr_check_duplication(c, "[]", &out, &err), DCI_RESULT_VALIDATION,
               "err.request.bad", NULL);
    CHECK_FAIL(dci_ibr_check_duplication(c, "[{\"identifier_type\":\"UIN\"}]", &out, &err),
               DCI_RESULT_JSON, "err.request.bad",
               "identifiers_json: missing field `identifier_value`");
    CHECK_FAIL(dci_crvs_subscribe_events(c, "[1]", &out, &err), DCI_RESULT_JSON,
               "err.request.bad", "event_types_json");
    CHECK_NULL_ARG(dci_client_search_sync(NULL, SEARCH, &out, &err), "argument client");
    CHECK_NULL_ARG(dci_client_search_sync(c, NULL, &out, &err), "argument search_json");
    CHECK_NULL_ARG(dci_dr_is_pwd(c, NULL, "1", &yes, &err), "argument identifier_type");
    CHECK_FAIL(dci_dr_is_pwd(c, "UIN", "\xff", &yes, &err), DCI_RESULT_INVALID_UTF8, NULL,
               "argument identifier_value");

    /* Only transactions this client started can be waited for. */
    CHECK_FAIL(dci_client_wait_for(c, "no-such-txn", 20, &out, &err), DCI_RESULT_VALIDATION,
               "err.request.bad", "no pending transaction no-such-txn");
    CHECK(out == NULL);
    dci_client_free(c);
}

static void test_async_needs_callback_uri(void) {
    dci_error *err = NULL;
    dci_client *c = NULL;
    char *out = NULL;
    if (!CHECK_OK(dci_client_new("{\"base_url\":\"http://127.0.0.1:9\",\"our_sender_id\":\"a\","
                                 "\"max_retries\":0}",
                                 &c, &err)))
        return;
    CHECK_FAIL(dci_client_search_async(c, SEARCH, &out, &err), DCI_RESULT_CONFIG, NULL,
               "our_callback_uri");
    dci_client_free(c);
}

static void test_callbacks(void) {
    dci_error *err = NULL;
    dci_client *c = NULL;
    char *out = NULL;
    if (!CHECK_OK(dci_client_new(UNREACHABLE, &c, &err))) return;

    /* Not JSON: answered with 400 and an ERR ack. */
    if (CHECK_OK(dci_client_handle_callback(c, "{oops", "{\"Content-Type\":\"application/json\"}",
                                            &out, &err))) {
        CHECK(strstr(out, "\"http_status\":400") != NULL);
        CHECK(strstr(out, "\"accepted\":false") != NULL);
        CHECK_JSON_STR(out, "/ack/message/ack_status", "ERR");
        CHECK_JSON_STR(out, "/error/kind", "json");
        CHECK_JSON_STR(out, "/error/code", "err.request.bad");
        dci_string_free(out);
        out = NULL;
    }
    /* Not JSON by its Content-Type. */
    if (CHECK_OK(dci_client_handle_callback(c, "{}", "{\"content-type\":\"text/plain\"}", &out,
                                            &err))) {
        CHECK(strstr(out, "\"http_status\":400") != NULL);
        dci_string_free(out);
        out = NULL;
    }
    /* An on-search for a transaction nobody waits for: accepted, not matched. */
    const char *on_search =
        "{\"header\":{\"version\":\"1.0.0\",\"message_id\":\"m-9\",\"message_ts\":"
        "\"2025-01-01T00:00:00Z\",\"action\":\"on-search\",\"status\":\"succ\","
        "\"sender_id\":\"crvs.example.org\",\"receiver_id\":\"spmis.example.org\","
        "\"total_count\":1,\"completed_count\":1,\"is_msg_encrypted\":false},"
        "\"message\":{\"transaction_id\":\"txn-9\",\"correlation_id\":\"c-9\","
        "\"search_response\":[{\"reference_id\":\"r-9\",\"timestamp\":\"2025-01-01T00:00:00Z\","
        "\"status\":\"succ\",\"data\":{\"reg_records\":[{\"name\":\"Ana\"}]}}]}}";
    if (CHECK_OK(dci_client_handle_callback(c, on_search, NULL, &out, &err))) {
        CHECK(strstr(out, "\"http_status\":200") != NULL);
        CHECK(strstr(out, "\"accepted\":true") != NULL);
        CHECK_JSON_STR(out, "/action", "on-search");
        CHECK_JSON_STR(out, "/transaction_id", "txn-9");
        CHECK_JSON_STR(out, "/ack/message/ack_status", "ACK");
        /* The core's CallbackAnswer: the same keys as Python's handle_callback and Go's. */
        CHECK(strstr(out, "\"body\"") == NULL);
        CHECK(strstr(out, "\"matched\":false") != NULL);
        CHECK(strstr(out, "\"error\":null") != NULL);
        CHECK_JSON_STR(out, "/result/kind", "search");
        CHECK_JSON_STR(out, "/result/result/items/0/records/0/name", "Ana");
        dci_string_free(out);
        out = NULL;
    }
    CHECK_FAIL(dci_client_handle_callback(c, "{}", "[1]", &out, &err), DCI_RESULT_JSON,
               "err.request.bad", "headers_json");
    CHECK_NULL_ARG(dci_client_handle_callback(c, NULL, NULL, &out, &err), "argument body");
    CHECK(out == NULL);
    dci_client_free(c);
}

static void test_listener(void) {
    dci_error *err = NULL;
    dci_client *c = NULL;
    dci_listener *l = NULL, *again = NULL;
    char *addr = NULL;
    if (!CHECK_OK(dci_client_new(UNREACHABLE, &c, &err))) return;
    if (CHECK_OK(dci_listener_bind(c, "127.0.0.1:0", &l, &err))) {
        if (CHECK_OK(dci_listener_local_addr(l, &addr, &err))) {
            CHECK(strncmp(addr, "127.0.0.1:", 10) == 0 && strcmp(addr, "127.0.0.1:0") != 0);
            /* The port is taken now. */
            CHECK_FAIL(dci_listener_bind(c, addr, &again, &err), DCI_RESULT_IO, NULL, NULL);
            dci_string_free(addr);
        }
        dci_listener_free(l);
    }
    CHECK_FAIL(dci_listener_bind(c, "not an address", &l, &err), DCI_RESULT_IO, NULL, NULL);
    CHECK_NULL_ARG(dci_listener_bind(NULL, "127.0.0.1:0", &l, &err), "argument client");
    CHECK_NULL_ARG(dci_listener_local_addr(NULL, &addr, &err), "argument listener");
    dci_listener_free(NULL);
    CHECK(again == NULL);
    dci_client_free(c);
}

void test_client(void) {
    test_listener();
    test_client_config_errors();
    test_unreachable_registry();
    test_async_needs_callback_uri();
    test_callbacks();
}
