/* A small check harness for the libdci C tests: counts passes and failures, prints each
 * failure with its place, and frees every dci_error it inspects. */
#ifndef DCI_TEST_HARNESS_H
#define DCI_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "dci.h"

extern int harness_passed;
extern int harness_failed;
/* The repository root (argv[1]), to find tests/vectors/. */
extern const char *repo_root;

bool check_true(bool ok, const char *file, int line, const char *expr);
/* Passes when r is DCI_RESULT_OK; otherwise prints the error. Frees *err and resets it. */
bool check_ok(dci_result r, dci_error **err, const char *file, int line, const char *expr);
/* Passes when r == want, *err is set with the same kind, its DCI code equals want_code (NULL:
 * no code) and its message contains want_message (NULL: any). Frees *err and resets it. */
bool check_fail(dci_result r, dci_error **err, dci_result want, const char *want_code,
                const char *want_message, const char *file, int line, const char *expr);
bool check_str(const char *got, const char *want, const char *file, int line, const char *expr);

#define CHECK(cond) check_true((cond), __FILE__, __LINE__, #cond)
#define CHECK_OK(call) check_ok((call), &err, __FILE__, __LINE__, #call)
#define CHECK_FAIL(call, want, code, msg) \
    check_fail((call), &err, (want), (code), (msg), __FILE__, __LINE__, #call)
/* Passes when call fails as a NULL argument (no DCI code) whose message contains msg. */
#define CHECK_NULL_ARG(call, msg) \
    check_fail((call), &err, DCI_RESULT_NULL_ARGUMENT, NULL, (msg), __FILE__, __LINE__, #call)
#define CHECK_STR(got, want) check_str((got), (want), __FILE__, __LINE__, #got)
/* Passes when the string at a JSON pointer in doc equals want. */
#define CHECK_JSON_STR(doc, pointer, want) \
    check_json_str((doc), (pointer), (want), __FILE__, __LINE__)
bool check_json_str(const char *doc, const char *pointer, const char *want, const char *file,
                    int line);

/* Reads a whole file into a malloc'ed NUL-terminated buffer, or returns NULL. */
char *read_file(const char *path);
/* A malloc'ed copy of s with the first occurrence of from replaced by to (NULL if absent). */
char *replace_first(const char *s, const char *from, const char *to);
/* The value of a string at a JSON pointer in doc (via dci_json_get_string), or NULL. The
 * result is a libdci string: free it with dci_string_free. */
char *json_str(const char *doc, const char *pointer);

void test_keys(void);
void test_sign_and_verify(void);
void test_signature_vectors(void);
void test_queries(void);
void test_envelopes(void);
void test_client(void);
void test_registry(void);

#endif
