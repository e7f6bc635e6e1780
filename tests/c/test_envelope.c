/* Messages: the search request builder and validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *OPTIONS =
    "{\"sender_id\":\"spmis.example.org\",\"receiver_id\":\"crvs.example.org\","
    "\"message_id\":\"msg-1\",\"message_ts\":\"2025-01-01T00:00:00Z\","
    "\"transaction_id\":\"txn-1\",\"reg_type\":\"ns:org:RegistryType:Civil\","
    "\"reg_record_type\":\"Person\",\"locale\":\"eng\","
    "\"pagination\":{\"page_size\":10,\"page_number\":1},"
    "\"sort\":[{\"attribute_name\":\"birth_date\",\"sort_order\":\"desc\"}],"
    "\"queries\":[{\"query_type\":\"idtype-value\",\"query\":{\"type\":\"UIN\","
    "\"value\":\"847951632\"}},"
    "{\"query_type\":\"predicate\",\"query\":[{\"seq_num\":1,\"expression1\":{"
    "\"attribute_name\":\"age\",\"operator\":\"lt\",\"attribute_value\":25}}]}]}";

static void test_search_request(void) {
    dci_error *err = NULL;
    char *env = NULL, *q = NULL, *opts = NULL;
    size_t n = 0;

    if (!CHECK_OK(dci_search_request_new(OPTIONS, &env, &err))) return;
    /* (JSON pointer, the string expected there) */
    static const char *const want[][2] = {
        {"/header/action", "search"},
        {"/header/version", "1.0.0"},
        {"/header/message_id", "msg-1"},
        {"/header/message_ts", "2025-01-01T00:00:00Z"},
        {"/header/sender_id", "spmis.example.org"},
        {"/header/receiver_id", "crvs.example.org"},
        {"/message/transaction_id", "txn-1"},
        {"/message/search_request/0/search_criteria/query_type", "idtype-value"},
        {"/message/search_request/0/search_criteria/query/value", "847951632"},
        {"/message/search_request/0/search_criteria/reg_record_type", "Person"},
        {"/message/search_request/0/search_criteria/sort/0/sort_order", "desc"},
        {"/message/search_request/1/search_criteria/query_type", "predicate"},
        {"/message/search_request/1/locale", "eng"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_JSON_STR(env, want[i][0], want[i][1]);
    }
    if (CHECK_OK(dci_json_get(env, "/header/total_count", &q, &err))) {
        CHECK_STR(q, "2");
        dci_string_free(q);
    }
    if (CHECK_OK(dci_json_len(env, "/message/search_request", &n, &err))) CHECK(n == 2);
    /* Each item has its own generated reference_id (a UUID). */
    char *r0 = json_str(env, "/message/search_request/0/reference_id");
    char *r1 = json_str(env, "/message/search_request/1/reference_id");
    CHECK(r0 && r1 && strlen(r0) == 36 && strcmp(r0, r1) != 0);
    dci_string_free(r0);
    dci_string_free(r1);
    /* What the builder makes is valid, both by header.action and by an explicit kind. */
    CHECK_OK(dci_validate(NULL, env, &err));
    CHECK_OK(dci_validate("search", env, &err));
    CHECK_OK(dci_validate("SearchRequest", env, &err));
    /* ...but it is not an on-search. */
    CHECK_FAIL(dci_validate("on-search", env, &err), DCI_RESULT_VALIDATION, "err.request.bad",
               "header");
    dci_string_free(env);
    env = NULL;

    /* Minimal options: ids and timestamps are generated. */
    if (CHECK_OK(dci_search_request_new("{\"sender_id\":\"a\",\"queries\":[{\"query_type\":"
                                        "\"idtype-value\",\"query\":{\"type\":\"UIN\","
                                        "\"value\":\"1\"}}]}",
                                        &env, &err))) {
        char *txn = json_str(env, "/message/transaction_id");
        CHECK(txn != NULL && strlen(txn) == 36);
        dci_string_free(txn);
        CHECK_OK(dci_validate(NULL, env, &err));
        dci_string_free(env);
        env = NULL;
    }

    CHECK_FAIL(dci_search_request_new("{\"queries\":[]}", &env, &err), DCI_RESULT_JSON,
               "err.request.bad", "missing field `sender_id`");
    CHECK_FAIL(dci_search_request_new("{\"sender_id\":\"a\",\"queries\":[],\"quries\":1}", &env,
                                      &err),
               DCI_RESULT_JSON, "err.request.bad", "unknown field `quries`");
    CHECK_FAIL(dci_search_request_new("{\"sender_id\":\"a\",\"queries\":[]}", &env, &err),
               DCI_RESULT_VALIDATION, "err.request.bad", "search_request");
    opts = replace_first(OPTIONS, "\"page_size\":10", "\"page_size\":0");
    CHECK_FAIL(dci_search_request_new(opts, &env, &err), DCI_RESULT_VALIDATION,
               "err.request.bad", "page_size");
    free(opts);
    opts = replace_first(OPTIONS, "\"locale\":\"eng\"", "\"locale\":\"english\"");
    CHECK_FAIL(dci_search_request_new(opts, &env, &err), DCI_RESULT_VALIDATION,
               "err.request.bad", "locale");
    free(opts);
    CHECK_FAIL(dci_search_request_new("{", &env, &err), DCI_RESULT_JSON, "err.request.bad",
               "options_json: ");
    CHECK_NULL_ARG(dci_search_request_new(NULL, &env, &err), "argument options_json");
    CHECK_NULL_ARG(dci_search_request_new(OPTIONS, NULL, &err), "argument out");
    CHECK(env == NULL);
}

static void test_validation_errors(void) {
    dci_error *err = NULL;
    const char *broken =
        "{\"header\":{\"version\":\"1.0.0\",\"message_id\":\"m\",\"message_ts\":\"yesterday\","
        "\"action\":\"search\",\"total_count\":1},"
        "\"message\":{\"transaction_id\":\"t\",\"search_request\":[]}}";
    dci_result r = dci_validate(NULL, broken, &err);
    if (CHECK(r == DCI_RESULT_VALIDATION && err != NULL)) {
        const char *violations = dci_error_violations(err);
        size_t n = 0;
        CHECK_STR(dci_error_code(err), "err.request.bad");
        CHECK(dci_error_field(err) != NULL);
        CHECK(violations != NULL && strstr(violations, "\"path\":\"header.sender_id\"") != NULL);
        CHECK(violations != NULL && strstr(violations, "\"path\":\"header.message_ts\"") != NULL);
        dci_error *e2 = NULL;
        if (dci_json_len(violations, "", &n, &e2) == DCI_RESULT_OK)
            CHECK(n >= 2);
        else
            dci_error_free(e2);
        printf("validation violations: %s\n", violations ? violations : "(none)");
        dci_error_free(err);
        err = NULL;
    }
    CHECK_FAIL(dci_validate("no-such-kind", broken, &err), DCI_RESULT_CONFIG, NULL,
               "unknown message kind");
    CHECK_FAIL(dci_validate(NULL, "{\"header\":", &err), DCI_RESULT_JSON, "err.request.bad",
               "envelope_json: ");
    CHECK_NULL_ARG(dci_validate(NULL, NULL, &err), "argument envelope_json");
    CHECK_FAIL(dci_validate("se\xffrch", broken, &err), DCI_RESULT_INVALID_UTF8, NULL,
               "argument kind is not valid UTF-8 (bad byte at offset 2)");
}

static void test_search_item_and_txn_status(void) {
    dci_error *err = NULL;
    char *item = NULL, *env = NULL;
    if (CHECK_OK(dci_search_item_new(
            "{\"query_type\":\"idtype-value\",\"query\":{\"type\":\"UIN\",\"value\":\"1\"},"
            "\"reference_id\":\"ref-9\",\"reg_record_type\":\"Person\","
            "\"pagination\":{\"page_size\":5,\"page_number\":2}}",
            &item, &err))) {
        CHECK_JSON_STR(item, "/reference_id", "ref-9");
        CHECK_JSON_STR(item, "/search_criteria/query/value", "1");
        CHECK_JSON_STR(item, "/search_criteria/reg_record_type", "Person");
        char *n = NULL;
        if (CHECK_OK(dci_json_get(item, "/search_criteria/pagination/page_number", &n, &err)))
            CHECK_STR(n, "2");
        dci_string_free(n);
        dci_string_free(item);
    }
    CHECK_FAIL(dci_search_item_new("{\"query_type\":\"idtype-value\",\"query\":{},\"qurey\":1}",
                                   &item, &err),
               DCI_RESULT_JSON, "err.request.bad", "unknown field `qurey`");
    CHECK_FAIL(dci_search_item_new("{\"query_type\":\"idtype-value\",\"query\":{\"type\":\"UIN\","
                                   "\"value\":\"1\"},\"pagination\":{\"page_size\":0,"
                                   "\"page_number\":1}}",
                                   &item, &err),
               DCI_RESULT_VALIDATION, "err.request.bad", "page_size");

    if (CHECK_OK(dci_txn_status_request_new(
            "{\"sender_id\":\"spmis.example.org\",\"receiver_id\":\"crvs.example.org\","
            "\"transaction_id\":\"txn-7\",\"txn_type\":\"search\","
            "\"attribute_type\":\"transaction_id\",\"attribute_value\":\"txn-1\"}",
            &env, &err))) {
        CHECK_JSON_STR(env, "/header/action", "txn-status");
        CHECK_JSON_STR(env, "/header/sender_id", "spmis.example.org");
        CHECK_JSON_STR(env, "/message/transaction_id", "txn-7");
        CHECK_JSON_STR(env, "/message/txnstatus_request/txn_type", "search");
        CHECK_JSON_STR(env, "/message/txnstatus_request/attribute_type", "transaction_id");
        CHECK_JSON_STR(env, "/message/txnstatus_request/attribute_value", "txn-1");
        CHECK_OK(dci_validate("txn-status", env, &err));
        dci_string_free(env);
    }
    CHECK_FAIL(dci_txn_status_request_new("{\"sender_id\":\"s\",\"txn_type\":\"serch\","
                                          "\"attribute_type\":\"transaction_id\","
                                          "\"attribute_value\":\"t\"}",
                                          &env, &err),
               DCI_RESULT_VALIDATION, "err.request.bad", "txn_type");
    CHECK_FAIL(dci_txn_status_request_new("{\"sender_id\":\"s\"}", &env, &err), DCI_RESULT_JSON,
               "err.request.bad", "missing field `txn_type`");
}

void test_envelopes(void) {
    test_search_request();
    test_validation_errors();
    test_search_item_and_txn_status();
}
