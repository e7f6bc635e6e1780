/* Signing and verifying envelopes: the three profiles, tampering, expiry, wrong keys, and the
 * shared signature vectors of tests/vectors/. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *ENVELOPE =
    "{\"header\":{\"version\":\"1.0.0\",\"message_id\":\"msg-1\","
    "\"message_ts\":\"2025-01-01T00:00:00Z\",\"action\":\"search\","
    "\"sender_id\":\"spmis.example.org\",\"receiver_id\":\"crvs.example.org\","
    "\"total_count\":1,\"is_msg_encrypted\":false},"
    "\"message\":{\"transaction_id\":\"txn-1\",\"search_request\":[{\"reference_id\":\"ref-1\","
    "\"timestamp\":\"2025-01-01T00:00:00Z\",\"search_criteria\":{\"reg_type\":\"civil\","
    "\"query_type\":\"idtype-value\",\"query\":{\"type\":\"UIN\",\"value\":\"8\\u00e9\"}}}],"
    "\"amount\":1.50}}";

static const int64_t CREATED = 1735689600; /* 2025-01-01T00:00:00Z */

/* Signs with `key` (its copy inside the signer) in `profile` and checks every outcome. */
static void test_profile(const char *profile, const dci_signing_key *key) {
    const char *alg = dci_signing_key_algorithm(key);
    dci_error *err = NULL;
    dci_signing_key *other = NULL;
    dci_verifying_key *pub = NULL, *other_pub = NULL;
    dci_signer *signer = NULL;
    dci_jwks *jwks = NULL;
    char *signed_env = NULL, *kid = NULL, *report = NULL, *tampered = NULL;

    if (!CHECK(alg != NULL)) return;
    CHECK_OK(dci_signing_key_generate("ed25519", &other, &err));
    CHECK_OK(dci_signing_key_verifying_key(key, &pub, &err));
    CHECK_OK(dci_signing_key_verifying_key(other, &other_pub, &err));
    if (!CHECK_OK(dci_signer_new(key, "spmis.example.org", "key1", &signer, &err))) goto out;
    CHECK_OK(dci_signer_set_profile(signer, profile, &err));
    if (CHECK_OK(dci_signer_kid(signer, &kid, &err))) {
        char want[128];
        snprintf(want, sizeof want, "spmis.example.org|key1|%s",
                 strcmp(alg, "ed25519") == 0 ? "ed25519" : "rsa-sha256");
        CHECK_STR(kid, want);
    }
    if (!CHECK_OK(dci_signer_sign(signer, ENVELOPE, CREATED, &signed_env, &err))) goto out;

    /* The header and message are kept byte for byte (1.50 stays 1.50, \u00e9 stays escaped). */
    if (strcmp(profile, "jws-compact") != 0) {
        CHECK(strstr(signed_env, "\"amount\":1.50}") != NULL);
        CHECK(strstr(signed_env, "\"value\":\"8\\u00e9\"") != NULL);
    }

    /* Valid with the key, at signing time and within the validity window. */
    if (CHECK_OK(dci_verify_with_key(signed_env, pub, NULL, CREATED + 10, -1, &report, &err))) {
        CHECK_JSON_STR(report, "/profile", profile);
        CHECK_JSON_STR(report, "/algorithm",
                       strcmp(alg, "ed25519") == 0 ? "ed25519" : "rsa-sha256");
        dci_string_free(report);
        report = NULL;
    }
    /* With the profile named explicitly. */
    if (CHECK_OK(dci_verify_with_key(signed_env, pub, profile, CREATED, 60, &report, &err))) {
        dci_string_free(report);
        report = NULL;
    }
    /* Valid with a JWK Set holding the key under the signer's kid. */
    CHECK_OK(dci_jwks_new(&jwks, &err));
    CHECK_OK(dci_jwks_add(jwks, kid, pub, &err));
    if (CHECK_OK(dci_verify_with_jwks(signed_env, jwks, NULL, CREATED, -1, &report, &err))) {
        if (strcmp(profile, "spdci") == 0) CHECK_JSON_STR(report, "/kid", kid);
        dci_string_free(report);
        report = NULL;
    }

    /* The wrong key. */
    CHECK_FAIL(dci_verify_with_key(signed_env, other_pub, NULL, CREATED, -1, &report, &err),
               strcmp(alg, "ed25519") == 0 ? DCI_RESULT_SIGNATURE_INVALID : DCI_RESULT_KEY,
               strcmp(alg, "ed25519") == 0 ? "err.signature.invalid" : NULL, NULL);
    /* Expired: validity is 300 s by default. */
    if (strcmp(profile, "spdci") == 0) {
        CHECK_FAIL(dci_verify_with_key(signed_env, pub, NULL, CREATED + 301, -1, &report, &err),
                   DCI_RESULT_SIGNATURE_EXPIRED, "err.signature.invalid", "expired");
        CHECK_FAIL(dci_verify_with_key(signed_env, pub, NULL, CREATED - 61, 60, &report, &err),
                   DCI_RESULT_SIGNATURE_NOT_YET_VALID, "err.signature.invalid", NULL);
        /* A larger clock skew accepts it. */
        if (CHECK_OK(dci_verify_with_key(signed_env, pub, NULL, CREATED - 61, 120, &report,
                                         &err))) {
            dci_string_free(report);
            report = NULL;
        }
    }
    /* Tampered message. */
    tampered = replace_first(signed_env, "txn-1", "txn-2");
    if (CHECK(tampered != NULL) && strcmp(profile, "jws-compact") != 0) {
        CHECK_FAIL(dci_verify_with_key(tampered, pub, NULL, CREATED, -1, &report, &err),
                   DCI_RESULT_SIGNATURE_INVALID, "err.signature.invalid", NULL);
    }
    CHECK(report == NULL);

out:
    free(tampered);
    dci_string_free(signed_env);
    dci_string_free(kid);
    dci_jwks_free(jwks);
    dci_signer_free(signer);
    dci_verifying_key_free(pub);
    dci_verifying_key_free(other_pub);
    dci_signing_key_free(other);
}

static void test_signer_settings_and_errors(void) {
    dci_error *err = NULL;
    dci_signing_key *key = NULL;
    dci_verifying_key *pub = NULL;
    dci_signer *signer = NULL;
    char *out = NULL;

    if (!CHECK_OK(dci_signing_key_generate("ed25519", &key, &err))) return;
    CHECK_OK(dci_signing_key_verifying_key(key, &pub, &err));
    CHECK_NULL_ARG(dci_signer_new(NULL, "s", "k", &signer, &err), "argument key");
    CHECK_NULL_ARG(dci_signer_new(key, NULL, "k", &signer, &err), "argument sender_id");
    CHECK_FAIL(dci_signer_new(key, "s", "k\xff", &signer, &err), DCI_RESULT_INVALID_UTF8, NULL,
               "argument key_id is not valid UTF-8");
    if (!CHECK_OK(dci_signer_new(key, "spmis.example.org", "key1", &signer, &err))) goto out;
    /* The signer holds its own copy of the key: the caller's may go at once. */
    dci_signing_key_free(key);
    key = NULL;

    CHECK_FAIL(dci_signer_set_profile(signer, "pgp", &err), DCI_RESULT_CONFIG, NULL,
               "unknown signature profile \"pgp\"");
    CHECK_FAIL(dci_signer_set_digest(signer, "md5", &err), DCI_RESULT_UNSUPPORTED_ALGORITHM,
               "err.signature.invalid", "md5");
    CHECK_FAIL(dci_signer_set_validity(signer, 0, &err), DCI_RESULT_CONFIG, NULL,
               "validity_secs");
    CHECK_NULL_ARG(dci_signer_set_validity(NULL, 10, &err), "argument signer");
    CHECK_OK(dci_signer_set_digest(signer, "blake-512", &err));
    CHECK_OK(dci_signer_set_validity(signer, 60, &err));
    if (CHECK_OK(dci_signer_sign(signer, ENVELOPE, CREATED, &out, &err))) {
        char *sig = json_str(out, "/signature");
        CHECK(sig != NULL && strstr(sig, "expires=\"1735689660\"") != NULL);
        dci_string_free(sig);
        /* Expired after 60 s now. */
        char *report = NULL;
        CHECK_FAIL(dci_verify_with_key(out, pub, NULL, CREATED + 61, -1, &report, &err),
                   DCI_RESULT_SIGNATURE_EXPIRED, "err.signature.invalid", NULL);
        if (CHECK_OK(dci_verify_with_key(out, pub, "spdci", CREATED + 59, -1, &report, &err)))
            dci_string_free(report);
        dci_string_free(out);
        out = NULL;
    }
    /* Not an envelope. */
    CHECK_FAIL(dci_signer_sign(signer, "{\"header\":", CREATED, &out, &err), DCI_RESULT_JSON,
               "err.request.bad", NULL);
    CHECK_FAIL(dci_signer_sign(signer, "[1,2]", CREATED, &out, &err), DCI_RESULT_JSON,
               "err.request.bad", NULL);
    CHECK_NULL_ARG(dci_signer_sign(signer, NULL, CREATED, &out, &err), "envelope_json");
    CHECK_NULL_ARG(dci_signer_sign(signer, ENVELOPE, CREATED, NULL, &err), "argument out");
    CHECK(out == NULL);

    /* Verification errors that need no signature. */
    char *report = NULL;
    CHECK_FAIL(dci_verify_with_key(ENVELOPE, pub, NULL, CREATED, -1, &report, &err),
               DCI_RESULT_SIGNATURE_MISSING, "err.signature.missing", NULL);
    CHECK_FAIL(dci_verify_with_key("{", pub, NULL, CREATED, -1, &report, &err), DCI_RESULT_JSON,
               "err.request.bad", NULL);
    CHECK_NULL_ARG(dci_verify_with_key(ENVELOPE, NULL, NULL, CREATED, -1, &report, &err),
                   "argument key");
    CHECK_NULL_ARG(dci_verify_with_jwks(ENVELOPE, NULL, NULL, CREATED, -1, &report, &err),
                   "argument jwks");
    CHECK_FAIL(dci_verify_with_key(ENVELOPE, pub, "x-profile", CREATED, -1, &report, &err),
               DCI_RESULT_CONFIG, NULL, "x-profile");
    CHECK(report == NULL);
out:
    dci_signer_free(signer);
    dci_verifying_key_free(pub);
    dci_signing_key_free(key);
}

void test_sign_and_verify(void) {
    dci_error *err = NULL;
    dci_signing_key *ed = NULL, *rsa = NULL;
    /* One key per algorithm (RSA generation is slow under valgrind); each signer holds its
     * own copy (see test_signer_settings_and_errors). */
    if (CHECK_OK(dci_signing_key_generate("ed25519", &ed, &err))) {
        test_profile("spdci", ed);
        test_profile("jws-detached", ed);
        test_profile("jws-compact", ed);
    }
    if (CHECK_OK(dci_signing_key_generate("rsa-sha256", &rsa, &err))) {
        test_profile("spdci", rsa);
        test_profile("jws-detached", rsa);
    }
    dci_signing_key_free(ed);
    dci_signing_key_free(rsa);
    test_signer_settings_and_errors();
}

/* ------------------------------------------------------------------------------------------ */
/* The shared vectors: tests/vectors/dci-signature-libdci.json                                */

/* "SignatureInvalid" -> "signature_invalid", the form dci_result_name uses. */
static void snake_case(const char *camel, char *out, size_t cap) {
    size_t j = 0;
    for (size_t i = 0; camel[i] != '\0' && j + 2 < cap; i++) {
        if (isupper((unsigned char)camel[i])) {
            if (i > 0) out[j++] = '_';
            out[j++] = (char)tolower((unsigned char)camel[i]);
        } else {
            out[j++] = camel[i];
        }
    }
    out[j] = '\0';
}

static int64_t json_int(const char *doc, const char *pointer) {
    char *text = NULL;
    dci_error *err = NULL;
    int64_t v = 0;
    if (dci_json_get(doc, pointer, &text, &err) == DCI_RESULT_OK) {
        v = strtoll(text, NULL, 10);
        dci_string_free(text);
    } else {
        dci_error_free(err);
    }
    return v;
}

static uint8_t hex_nibble(char c) {
    return (uint8_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

static dci_signing_key *key_from_seed_hex(const char *hex) {
    uint8_t seed[32];
    dci_signing_key *key = NULL;
    dci_error *err = NULL;
    if (hex == NULL || strlen(hex) != 64) return NULL;
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(hex_nibble(hex[2 * i]) << 4 | hex_nibble(hex[2 * i + 1]));
    if (dci_signing_key_from_ed25519_seed(seed, 32, &key, &err) != DCI_RESULT_OK) {
        dci_error_free(err);
        return NULL;
    }
    return key;
}

struct verifiers {
    dci_jwks *both, *other_set, *empty;
    dci_verifying_key *other;
};

static void check_case(const char *doc, size_t i, const struct verifiers *v, int *valid,
                       int *invalid) {
    char p[64];
    dci_error *err = NULL;
    char *c = NULL;
    /* Pick the case out once: looking up fields in the small case is cheap. */
    snprintf(p, sizeof p, "/cases/%zu", i);
    if (dci_json_get(doc, p, &c, &err) != DCI_RESULT_OK) {
        check_ok(DCI_RESULT_JSON, &err, __FILE__, __LINE__, p);
        return;
    }
    char *name = json_str(c, "/name");
    char *envelope = json_str(c, "/envelope");
    char *with = json_str(c, "/verify_with");
    char *expect = json_str(c, "/expect");
    int64_t now = json_int(c, "/now");
    char *report = NULL;
    dci_result r = DCI_RESULT_INTERNAL;

    if (!CHECK(name && envelope && with && expect && now > 0)) goto out;
    if (strcmp(with, "pubkey-other") == 0) {
        r = dci_verify_with_key(envelope, v->other, NULL, now, 60, &report, &err);
    } else {
        const dci_jwks *set = strcmp(with, "jwks") == 0         ? v->both
                              : strcmp(with, "jwks-other") == 0 ? v->other_set
                              : strcmp(with, "jwks-empty") == 0 ? v->empty
                                                                : NULL;
        if (!CHECK(set != NULL)) {
            fprintf(stderr, "  vector %s: unknown verifier %s\n", name, with);
            goto out;
        }
        r = dci_verify_with_jwks(envelope, set, NULL, now, 60, &report, &err);
    }
    if (strcmp(expect, "valid") == 0) {
        if (check_ok(r, &err, __FILE__, __LINE__, name)) {
            char *want_profile, *want_alg;
            want_profile = json_str(c, "/profile");
            want_alg = json_str(c, "/alg");
            check_json_str(report, "/profile", want_profile, __FILE__, __LINE__);
            check_json_str(report, "/algorithm", want_alg, __FILE__, __LINE__);
            dci_string_free(want_profile);
            dci_string_free(want_alg);
            (*valid)++;
        }
    } else {
        char want[64];
        snake_case(expect, want, sizeof want);
        if (check_str(dci_result_name(r), want, __FILE__, __LINE__, name)) (*invalid)++;
        CHECK(err != NULL && dci_error_kind(err) == r);
        dci_error_free(err);
        err = NULL;
    }
out:
    dci_string_free(report);
    dci_string_free(name);
    dci_string_free(envelope);
    dci_string_free(with);
    dci_string_free(expect);
    dci_string_free(c);
}

/* Signing again at the vector's time reproduces the vector's signature byte for byte
 * (Ed25519 is deterministic). */
static void check_resign(const char *doc, dci_signing_key *ed) {
    dci_error *err = NULL;
    dci_signer *signer = NULL;
    char *envelope = json_str(doc, "/cases/0/envelope");
    char *out = NULL;
    int64_t created = json_int(doc, "/created");
    if (CHECK(envelope != NULL) &&
        CHECK_OK(dci_signer_new(ed, "registry.example.org", "key1", &signer, &err)) &&
        CHECK_OK(dci_signer_sign(signer, envelope, created, &out, &err))) {
        char *want = json_str(envelope, "/signature");
        CHECK_JSON_STR(out, "/signature", want);
        CHECK_STR(out, envelope);
        dci_string_free(want);
    }
    dci_string_free(out);
    dci_signer_free(signer);
    dci_string_free(envelope);
}

/* The OpenSPP 2 style vector (RFC 8032 test key): it verifies, and signing the same envelope
 * at its time gives its signature. */
static void check_openspp2_vector(void) {
    char path[4096];
    dci_error *err = NULL;
    snprintf(path, sizeof path, "%s/tests/vectors/dci-signature-ed25519-openspp2-style.json",
             repo_root);
    char *doc = read_file(path);
    if (!CHECK(doc != NULL)) return;
    char *envelope = NULL, *jwk = NULL, *report = NULL, *resigned = NULL;
    char *seed = json_str(doc, "/key/private_seed_hex");
    dci_verifying_key *pub = NULL;
    dci_signing_key *key = key_from_seed_hex(seed);
    dci_signer *signer = NULL;
    int64_t created = json_int(doc, "/created");
    if (CHECK_OK(dci_json_get(doc, "/envelope", &envelope, &err)) &&
        CHECK_OK(dci_json_get(doc, "/key/jwk_public", &jwk, &err)) &&
        CHECK_OK(dci_verifying_key_from_jwk(jwk, &pub, &err))) {
        if (CHECK_OK(dci_verify_with_key(envelope, pub, "spdci", created + 1, 60, &report,
                                         &err))) {
            CHECK_JSON_STR(report, "/kid", "spmis.example.org|key1|ed25519");
        }
        CHECK_FAIL(dci_verify_with_key(envelope, pub, NULL, json_int(doc, "/expires") + 1, 60,
                                       &resigned, &err),
                   DCI_RESULT_SIGNATURE_EXPIRED, "err.signature.invalid", NULL);
        if (CHECK(key != NULL) &&
            CHECK_OK(dci_signer_new(key, "spmis.example.org", "key1", &signer, &err)) &&
            CHECK_OK(dci_signer_sign(signer, envelope, created, &resigned, &err))) {
            char *want = json_str(envelope, "/signature");
            CHECK_JSON_STR(resigned, "/signature", want);
            dci_string_free(want);
        }
    }
    dci_string_free(resigned);
    dci_string_free(report);
    dci_string_free(jwk);
    dci_string_free(envelope);
    dci_string_free(seed);
    dci_signer_free(signer);
    dci_signing_key_free(key);
    dci_verifying_key_free(pub);
    free(doc);
}

void test_signature_vectors(void) {
    char path[4096];
    dci_error *err = NULL;
    snprintf(path, sizeof path, "%s/tests/vectors/dci-signature-libdci.json", repo_root);
    char *doc = read_file(path);
    if (!CHECK(doc != NULL)) {
        fprintf(stderr, "cannot read %s\n", path);
        return;
    }
    struct verifiers v = {0};
    dci_signing_key *ed = NULL, *rsa = NULL, *other = NULL;
    dci_verifying_key *ed_pub = NULL, *rsa_pub = NULL;
    char *rsa_pem = json_str(doc, "/keys/rsa/private_pem");
    char *ed_seed = json_str(doc, "/keys/ed25519/seed_hex");
    char *other_seed = json_str(doc, "/keys/ed25519_other/seed_hex");
    char *ed_kid = json_str(doc, "/keys/ed25519/jwk/kid");
    char *rsa_kid = NULL;
    size_t n = 0;
    int valid = 0, invalid = 0;

    ed = key_from_seed_hex(ed_seed);
    other = key_from_seed_hex(other_seed);
    if (!CHECK(ed != NULL && other != NULL && ed_kid != NULL)) goto out;
    if (!CHECK_OK(dci_signing_key_from_pem(rsa_pem, &rsa, &err))) goto out;
    /* The RSA kid: the Ed25519 one with the algorithm swapped. */
    rsa_kid = malloc(strlen(ed_kid) + 8);
    strcpy(rsa_kid, ed_kid);
    strcpy(strrchr(rsa_kid, '|') + 1, "rsa-sha256");

    CHECK_OK(dci_signing_key_verifying_key(ed, &ed_pub, &err));
    CHECK_OK(dci_signing_key_verifying_key(rsa, &rsa_pub, &err));
    CHECK_OK(dci_signing_key_verifying_key(other, &v.other, &err));
    CHECK_OK(dci_jwks_new(&v.both, &err));
    CHECK_OK(dci_jwks_add(v.both, ed_kid, ed_pub, &err));
    CHECK_OK(dci_jwks_add(v.both, rsa_kid, rsa_pub, &err));
    CHECK_OK(dci_jwks_new(&v.other_set, &err));
    CHECK_OK(dci_jwks_add(v.other_set, ed_kid, v.other, &err));
    CHECK_OK(dci_jwks_new(&v.empty, &err));

    if (CHECK_OK(dci_json_len(doc, "/cases", &n, &err))) {
        CHECK(n >= 40);
        for (size_t i = 0; i < n; i++) check_case(doc, i, &v, &valid, &invalid);
    }
    printf("signature vectors: %d valid and %d invalid cases as expected, of %zu\n", valid,
           invalid, n);
    CHECK((size_t)(valid + invalid) == n);
    check_resign(doc, ed);

    /* Signatures made by Python (python_tests/test_vectors.py) over the same keys. */
    snprintf(path, sizeof path, "%s/tests/vectors/dci-signature-python-made.json", repo_root);
    char *python = read_file(path);
    if (CHECK(python != NULL)) {
        size_t m = 0;
        valid = invalid = 0;
        if (CHECK_OK(dci_json_len(python, "/cases", &m, &err))) {
            CHECK(m >= 10);
            for (size_t i = 0; i < m; i++) check_case(python, i, &v, &valid, &invalid);
        }
        printf("python-made vectors: %d valid and %d invalid cases as expected, of %zu\n",
               valid, invalid, m);
        CHECK((size_t)(valid + invalid) == m);
        free(python);
    }
    check_openspp2_vector();

out:
    dci_jwks_free(v.both);
    dci_jwks_free(v.other_set);
    dci_jwks_free(v.empty);
    dci_verifying_key_free(v.other);
    dci_verifying_key_free(ed_pub);
    dci_verifying_key_free(rsa_pub);
    dci_signing_key_free(ed);
    dci_signing_key_free(rsa);
    dci_signing_key_free(other);
    dci_string_free(rsa_pem);
    dci_string_free(ed_seed);
    dci_string_free(other_seed);
    dci_string_free(ed_kid);
    free(rsa_kid);
    free(doc);
}
