#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool check_true(bool ok, const char *file, int line, const char *expr) {
    if (ok) {
        harness_passed++;
    } else {
        harness_failed++;
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    }
    return ok;
}

static void take_error(dci_error **err) {
    dci_error_free(*err);
    *err = NULL;
}

bool check_ok(dci_result r, dci_error **err, const char *file, int line, const char *expr) {
    if (r == DCI_RESULT_OK && *err == NULL) {
        harness_passed++;
        return true;
    }
    harness_failed++;
    fprintf(stderr, "%s:%d: %s: expected ok, got %s: %s\n", file, line, expr,
            dci_result_name(r), *err ? dci_error_message(*err) : "(no error object)");
    take_error(err);
    return false;
}

bool check_fail(dci_result r, dci_error **err, dci_result want, const char *want_code,
                const char *want_message, const char *file, int line, const char *expr) {
    const char *problem = NULL;
    const char *code = *err ? dci_error_code(*err) : NULL;
    const char *message = *err ? dci_error_message(*err) : NULL;
    if (r != want) {
        problem = "wrong result code";
    } else if (*err == NULL) {
        problem = "no error object written";
    } else if (dci_error_kind(*err) != want) {
        problem = "error kind differs from the result code";
    } else if (message == NULL || message[0] == '\0') {
        problem = "empty message";
    } else if ((want_code == NULL) != (code == NULL) ||
               (want_code != NULL && strcmp(want_code, code) != 0)) {
        problem = "wrong DCI code";
    } else if (want_message != NULL && strstr(message, want_message) == NULL) {
        problem = "message lacks the expected text";
    }
    if (problem == NULL) {
        harness_passed++;
    } else {
        harness_failed++;
        fprintf(stderr,
                "%s:%d: %s: %s (want %s code=%s msg~\"%s\"; got %s code=%s msg=\"%s\")\n",
                file, line, expr, problem, dci_result_name(want), want_code ? want_code : "-",
                want_message ? want_message : "", dci_result_name(r), code ? code : "-",
                message ? message : "");
    }
    take_error(err);
    return problem == NULL;
}

bool check_str(const char *got, const char *want, const char *file, int line, const char *expr) {
    bool ok = got != NULL && want != NULL && strcmp(got, want) == 0;
    if (ok) {
        harness_passed++;
    } else {
        harness_failed++;
        fprintf(stderr, "%s:%d: %s:\n  got:  %s\n  want: %s\n", file, line, expr,
                got ? got : "(NULL)", want ? want : "(NULL)");
    }
    return ok;
}

char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) buf[len] = '\0';
    return buf;
}

char *replace_first(const char *s, const char *from, const char *to) {
    const char *at = strstr(s, from);
    if (at == NULL) return NULL;
    size_t head = (size_t)(at - s), from_len = strlen(from), to_len = strlen(to);
    size_t total = strlen(s) - from_len + to_len;
    char *out = malloc(total + 1);
    if (out == NULL) return NULL;
    memcpy(out, s, head);
    memcpy(out + head, to, to_len);
    strcpy(out + head + to_len, at + from_len);
    return out;
}

char *json_str(const char *doc, const char *pointer) {
    char *out = NULL;
    dci_error *err = NULL;
    if (dci_json_get_string(doc, pointer, &out, &err) != DCI_RESULT_OK) {
        fprintf(stderr, "json_str(%s): %s\n", pointer, dci_error_message(err));
        dci_error_free(err);
        return NULL;
    }
    return out;
}

bool check_json_str(const char *doc, const char *pointer, const char *want, const char *file,
                    int line) {
    char *got = doc ? json_str(doc, pointer) : NULL;
    bool ok = check_str(got, want, file, line, pointer);
    dci_string_free(got);
    return ok;
}
