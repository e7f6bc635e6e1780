/* Query builders (idtype-value, predicate, expression), parsing and the evaluator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void test_idtype_value(void) {
    dci_error *err = NULL;
    char *q = NULL;
    bool m = false;
    if (CHECK_OK(dci_query_idtype_value("UIN", "847951632", &q, &err))) {
        CHECK_STR(q, "{\"query_type\":\"idtype-value\",\"query\":{\"type\":\"UIN\",\"value\":"
                     "\"847951632\"}}");
        dci_string_free(q);
        q = NULL;
    }
    const char *record = "{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":"
                         "\"847951632\"}],\"name\":{\"given_name\":\"Ana\"}}";
    if (CHECK_OK(dci_query_matches(record, "idtype-value",
                                   "{\"type\":\"UIN\",\"value\":\"847951632\"}", &m, &err)))
        CHECK(m == true);
    if (CHECK_OK(dci_query_matches(record, "idtype-value",
                                   "{\"type\":\"UIN\",\"value\":\"111\"}", &m, &err)))
        CHECK(m == false);
    CHECK_NULL_ARG(dci_query_idtype_value(NULL, "1", &q, &err), "argument id_type");
    CHECK_FAIL(dci_query_idtype_value("UIN", "\xe9", &q, &err), DCI_RESULT_INVALID_UTF8, NULL,
               "argument value is not valid UTF-8 (bad byte at offset 0)");
    CHECK(q == NULL);
}

static const char *PREDICATE_WIRE =
    "{\"query_type\":\"predicate\",\"query\":["
    "{\"seq_num\":1,\"expression1\":{\"attribute_name\":\"age\",\"operator\":\"lt\","
    "\"attribute_value\":25},\"condition\":\"and\",\"expression2\":{\"attribute_name\":"
    "\"poverty_score\",\"operator\":\"lt\",\"attribute_value\":2.5}},"
    "{\"seq_num\":2,\"expression1\":{\"attribute_name\":\"sex\",\"operator\":\"in\","
    "\"attribute_value\":[\"F\",\"X\"]}},"
    "{\"seq_num\":3,\"expression1\":{\"attribute_name\":\"status\",\"operator\":\"eq\","
    "\"attribute_value\":\"closed\"},\"condition\":\"not\"}]}";

static void test_predicate_list(void) {
    dci_error *err = NULL;
    dci_predicate_list *list = NULL;
    char *wire = NULL, *query = NULL;
    bool m = true;

    if (!CHECK_OK(dci_predicate_list_new(&list, &err))) return;
    /* Joining onto an empty list is an error. */
    CHECK_FAIL(dci_predicate_list_join(list, "and", "x", "eq", "1", &err), DCI_RESULT_QUERY,
               "err.request.bad", "the predicate list is empty");
    CHECK_OK(dci_predicate_list_add(list, "age", "lt", "25", &err));
    CHECK_OK(dci_predicate_list_join(list, "and", "poverty_score", "lt", "2.5", &err));
    CHECK_FAIL(dci_predicate_list_join(list, "or", "x", "eq", "1", &err), DCI_RESULT_QUERY,
               "err.request.bad", "query[0].condition: the item already has a condition");
    CHECK_OK(dci_predicate_list_add(list, "sex", "IN", "[\"F\",\"X\"]", &err));
    CHECK_OK(dci_predicate_list_add(list, "status", "eq", "\"closed\"", &err));
    CHECK_OK(dci_predicate_list_join(list, "not", NULL, NULL, NULL, &err));
    /* Errors leave the list unchanged. */
    CHECK_FAIL(dci_predicate_list_add(list, "age", "like", "1", &err), DCI_RESULT_QUERY,
               "err.request.bad", "expression1.operator: unknown operator \"like\"");
    CHECK_FAIL(dci_predicate_list_add(list, "age", "eq", "{bad", &err), DCI_RESULT_JSON,
               "err.request.bad", "value_json: ");
    CHECK_NULL_ARG(dci_predicate_list_add(list, NULL, "eq", "1", &err), "argument attribute_name");
    CHECK_FAIL(dci_predicate_list_join(list, "xor", "a", "eq", "1", &err), DCI_RESULT_QUERY,
               "err.request.bad", "unknown condition \"xor\"");
    CHECK_FAIL(dci_predicate_list_join(list, "and", NULL, NULL, NULL, &err), DCI_RESULT_QUERY,
               "err.request.bad", "needs expression2");
    CHECK_NULL_ARG(dci_predicate_list_add(NULL, "a", "eq", "1", &err), "argument list");

    if (CHECK_OK(dci_predicate_list_to_json(list, &wire, &err))) {
        CHECK_STR(wire, PREDICATE_WIRE);
        if (CHECK_OK(dci_json_get(wire, "/query", &query, &err))) {
            const char *young = "{\"age\":19,\"poverty_score\":1.5,\"sex\":\"F\","
                                "\"status\":\"open\"}";
            const char *old = "{\"age\":30,\"poverty_score\":1.5,\"sex\":\"F\","
                              "\"status\":\"open\"}";
            const char *closed = "{\"age\":19,\"poverty_score\":1.5,\"sex\":\"X\","
                                 "\"status\":\"closed\"}";
            if (CHECK_OK(dci_query_matches(young, "predicate", query, &m, &err))) CHECK(m);
            if (CHECK_OK(dci_query_matches(old, "predicate", query, &m, &err))) CHECK(!m);
            if (CHECK_OK(dci_query_matches(closed, "predicate", query, &m, &err))) CHECK(!m);
            /* The namespaced spelling of the query type is accepted. */
            if (CHECK_OK(dci_query_matches(young, "ns:org:QueryType:predicate", query, &m, &err)))
                CHECK(m);
            dci_string_free(query);
        }
        dci_string_free(wire);
    }
    dci_predicate_list_free(list);
}

static void test_expression(void) {
    dci_error *err = NULL;
    char *q = NULL, *query = NULL;
    bool m = false;
    if (CHECK_OK(dci_query_expression("{\"age\":{\"$lt\":25},\"sex\":\"F\"}", "Person", &q,
                                      &err))) {
        CHECK_STR(q, "{\"query_type\":\"expression\",\"query\":{\"type\":"
                     "\"ns:org:QueryType:expression\",\"value\":{\"expression\":{\"collection\":"
                     "\"Person\",\"query\":{\"$and\":[{\"age\":{\"$lt\":25}},{\"sex\":{\"$eq\":"
                     "\"F\"}}]}}}}}");
        if (CHECK_OK(dci_json_get(q, "/query", &query, &err))) {
            if (CHECK_OK(dci_query_matches("{\"age\":20,\"sex\":\"F\"}", "expression", query, &m,
                                           &err)))
                CHECK(m);
            if (CHECK_OK(dci_query_matches("{\"age\":20,\"sex\":\"M\"}", "expression", query, &m,
                                           &err)))
                CHECK(!m);
            dci_string_free(query);
        }
        dci_string_free(q);
        q = NULL;
    }
    if (CHECK_OK(dci_query_expression("{}", NULL, &q, &err))) {
        CHECK_STR(q, "{\"query_type\":\"expression\",\"query\":{\"type\":"
                     "\"ns:org:QueryType:expression\",\"value\":{\"expression\":{\"query\":{"
                     "}}}}}");
        dci_string_free(q);
        q = NULL;
    }
    CHECK_FAIL(dci_query_expression("{\"age\":{\"$like\":1}}", NULL, &q, &err), DCI_RESULT_QUERY,
               "err.request.bad", "$like");
    CHECK_FAIL(dci_query_expression("[1]", NULL, &q, &err), DCI_RESULT_QUERY, "err.request.bad",
               "expected a filter object");
    CHECK_FAIL(dci_query_expression("{", NULL, &q, &err), DCI_RESULT_JSON, "err.request.bad",
               "filter_json: ");
    CHECK(q == NULL);
}

static void test_parse_and_match_errors(void) {
    dci_error *err = NULL;
    char *q = NULL;
    bool m = false;
    /* The spec's examples send predicate lists as query_type "expression": normalized. */
    if (CHECK_OK(dci_query_parse("expression",
                                 "[{\"expression1\":{\"attribute_name\":\"age\",\"operator\":"
                                 "\"gt\",\"attribute_value\":\"18\"},\"seq_num\":\"\"}]",
                                 &q, &err))) {
        CHECK_STR(q, "{\"query_type\":\"predicate\",\"query\":[{\"expression1\":{"
                     "\"attribute_name\":\"age\",\"operator\":\"gt\",\"attribute_value\":\"18\"}}]}");
        dci_string_free(q);
        q = NULL;
    }
    CHECK_FAIL(dci_query_parse("sql", "{}", &q, &err), DCI_RESULT_QUERY, "err.request.bad",
               "query_type: unknown query type \"sql\"");
    CHECK_FAIL(dci_query_parse("predicate", "[{\"expression1\":{\"attribute_name\":\"a\","
                                            "\"operator\":\"like\",\"attribute_value\":1}}]",
                               &q, &err),
               DCI_RESULT_QUERY, "err.request.bad", "query[0].expression1.operator");
    CHECK(q == NULL);
    /* GraphQL is carried but not evaluated. */
    CHECK_FAIL(dci_query_matches("{}", "graphql",
                                 "{\"type\":\"ns:org:QueryType:graphql\",\"value\":{"
                                 "\"expression\":\"{ person { name } }\"}}",
                                 &m, &err),
               DCI_RESULT_QUERY, "err.request.bad", NULL);
    CHECK_FAIL(dci_query_matches("{\"a\":", "predicate", "[]", &m, &err), DCI_RESULT_JSON,
               "err.request.bad", "record_json: ");
    CHECK_FAIL(dci_query_matches("{}", "predicate", "[", &m, &err), DCI_RESULT_JSON,
               "err.request.bad", "query_json: ");
    CHECK_NULL_ARG(dci_query_matches("{}", NULL, "[]", &m, &err), "argument query_type");
    CHECK_NULL_ARG(dci_query_matches("{}", "predicate", "[]", NULL, &err), "argument out");
    /* An empty predicate list matches everything. */
    if (CHECK_OK(dci_query_matches("{}", "predicate", "[]", &m, &err))) CHECK(m);
}

void test_queries(void) {
    test_idtype_value();
    test_predicate_list();
    test_expression();
    test_parse_and_match_errors();
}
