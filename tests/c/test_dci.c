/* Tests of libdci's C interface (include/dci.h), built against libdci.a.
 *
 * Run by scripts/test-c twice: with -fsanitize=address,undefined, and without sanitizers
 * under valgrind --leak-check=full. Usage: test_dci REPO_ROOT (to find tests/vectors/).
 * Prints "N passed, M failed" and exits non-zero when anything failed.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dci.h"
#include "harness.h"

int harness_passed = 0;
int harness_failed = 0;
const char *repo_root = ".";

/* ------------------------------------------------------------------------------------------ */
/* version, result names, error objects, strings                                               */

static void test_version_and_names(void) {
    const char *v = dci_version();
    CHECK(v != NULL && strlen(v) >= 5);
    CHECK(strchr(v, '.') != NULL);
    CHECK_STR(dci_result_name(DCI_RESULT_OK), "ok");
    CHECK_STR(dci_result_name(DCI_RESULT_JSON), "json");
    CHECK_STR(dci_result_name(DCI_RESULT_SIGNATURE_INVALID), "signature_invalid");
    CHECK_STR(dci_result_name(DCI_RESULT_SIGNATURE_EXPIRED), "signature_expired");
    CHECK_STR(dci_result_name(DCI_RESULT_NULL_ARGUMENT), "null_argument");
    CHECK_STR(dci_result_name(DCI_RESULT_INVALID_UTF8), "invalid_utf8");
    CHECK_STR(dci_result_name(999), "unknown");
    /* The numeric codes are part of the ABI (the same as dci::ErrorKind). */
    CHECK(DCI_RESULT_JSON == 1);
    CHECK(DCI_RESULT_SIGNATURE_INVALID == 5);
    CHECK(DCI_RESULT_KEY == 8);
    CHECK(DCI_RESULT_CONNECTION == 14);
    CHECK(DCI_RESULT_INTERNAL == 20);
    CHECK(DCI_RESULT_NULL_ARGUMENT == 100);
}

static void test_null_tolerant_frees_and_accessors(void) {
    dci_string_free(NULL);
    dci_error_free(NULL);
    dci_signing_key_free(NULL);
    dci_verifying_key_free(NULL);
    dci_jwks_free(NULL);
    dci_signer_free(NULL);
    dci_predicate_list_free(NULL);
    CHECK(dci_error_kind(NULL) == DCI_RESULT_NULL_ARGUMENT);
    CHECK(dci_error_message(NULL) == NULL);
    CHECK(dci_error_code(NULL) == NULL);
    CHECK(dci_error_field(NULL) == NULL);
    CHECK(dci_error_transaction_id(NULL) == NULL);
    CHECK(dci_error_violations(NULL) == NULL);
    CHECK(dci_error_http_status(NULL) == 0);
    CHECK(dci_signing_key_algorithm(NULL) == NULL);
    CHECK(dci_verifying_key_algorithm(NULL) == NULL);
    CHECK(dci_jwks_len(NULL) == 0);
}

static void test_error_without_err_pointer(void) {
    /* err may be NULL: only the code comes back, nothing leaks. */
    char *out = NULL;
    CHECK(dci_json_get("{", "", &out, NULL) == DCI_RESULT_JSON);
    CHECK(out == NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON readers                                                                               */

static void test_json_readers(void) {
    dci_error *err = NULL;
    char *out = NULL;
    size_t n = 0;
    const char *doc = "{\"a\":{\"b\":[1,\"x\\u00e9\",{\"c\":null}]},\"s\":\"t\\\"q\"}";

    /* (reader, JSON pointer, what it writes) */
    static const struct {
        dci_result (*read)(const char *, const char *, char **, dci_error **);
        const char *pointer, *want;
    } reads[] = {
        {dci_json_get, "/a/b/2", "{\"c\":null}"},
        {dci_json_get, "", "{\"a\":{\"b\":[1,\"x\xc3\xa9\",{\"c\":null}]},\"s\":\"t\\\"q\"}"},
        {dci_json_get_string, "/a/b/1", "x\xc3\xa9"},
        {dci_json_get_string, "/s", "t\"q"},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        if (CHECK_OK(reads[i].read(doc, reads[i].pointer, &out, &err))) {
            CHECK_STR(out, reads[i].want);
            dci_string_free(out);
        }
    }
    if (CHECK_OK(dci_json_len(doc, "/a/b", &n, &err))) CHECK(n == 3);
    if (CHECK_OK(dci_json_len(doc, "", &n, &err))) CHECK(n == 2);

    out = NULL;
    CHECK_FAIL(dci_json_get(doc, "/a/z", &out, &err), DCI_RESULT_JSON, "err.request.bad",
               "no value at JSON pointer \"/a/z\"");
    CHECK(out == NULL);
    CHECK_FAIL(dci_json_get_string(doc, "/a/b/0", &out, &err), DCI_RESULT_JSON, "err.request.bad",
               "is not a string");
    CHECK_FAIL(dci_json_len(doc, "/s", &n, &err), DCI_RESULT_JSON, "err.request.bad",
               "neither an array nor an object");
    CHECK_FAIL(dci_json_get("{\"a\":", "", &out, &err), DCI_RESULT_JSON, "err.request.bad",
               "json: ");
    CHECK_FAIL(dci_json_get("\"ab\xff\"", "", &out, &err), DCI_RESULT_INVALID_UTF8, NULL,
               "argument json is not valid UTF-8 (bad byte at offset 3)");
    CHECK_NULL_ARG(dci_json_get(NULL, "", &out, &err), "argument json must not be NULL");
    CHECK_NULL_ARG(dci_json_get(doc, NULL, &out, &err), "argument pointer");
    CHECK_NULL_ARG(dci_json_get(doc, "", NULL, &err), "argument out must not be NULL");
    CHECK_NULL_ARG(dci_json_len(doc, "/a", NULL, &err), "argument out");
}

/* ------------------------------------------------------------------------------------------ */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one group and reports its failures and time (to see what is slow under valgrind). */
#define RUN(group)                                                                    \
    do {                                                                              \
        int failed_before = harness_failed;                                           \
        double t0 = now_seconds();                                                    \
        group();                                                                      \
        printf("%-40s %s %.2f s\n", #group,                                           \
               harness_failed == failed_before ? "ok  " : "FAIL", now_seconds() - t0); \
    } while (0)

int main(int argc, char **argv) {
    if (argc > 1) repo_root = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines show as they happen, also in CI logs */
    printf("libdci %s\n", dci_version());

    RUN(test_version_and_names);
    RUN(test_null_tolerant_frees_and_accessors);
    RUN(test_error_without_err_pointer);
    RUN(test_json_readers);
    RUN(test_keys);
    RUN(test_sign_and_verify);
    RUN(test_signature_vectors);
    RUN(test_queries);
    RUN(test_envelopes);
    RUN(test_client);
    RUN(test_registry);

    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}
