/* Keys: generate, PEM, seed, JWK, thumbprint, JWK Sets, and their error paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* RFC 8032 section 7.1, TEST 1. */
static const uint8_t SEED[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
static const char *PRIVATE_PEM =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
static const char *PUBLIC_PEM =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";
static const char *PUBLIC_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/* RFC 8037 appendix A.3. */
static const char *THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

static void test_ed25519_known_key(void) {
    dci_error *err = NULL;
    dci_signing_key *from_seed = NULL, *from_pem = NULL;
    dci_verifying_key *pub = NULL, *pub2 = NULL;
    char *s = NULL;

    if (!CHECK_OK(dci_signing_key_from_ed25519_seed(SEED, sizeof SEED, &from_seed, &err))) return;
    CHECK_STR(dci_signing_key_algorithm(from_seed), "ed25519");
    if (CHECK_OK(dci_signing_key_to_pem(from_seed, &s, &err))) {
        CHECK_STR(s, PRIVATE_PEM);
        dci_string_free(s);
    }
    if (CHECK_OK(dci_signing_key_from_pem(PRIVATE_PEM, &from_pem, &err))) {
        CHECK_STR(dci_signing_key_algorithm(from_pem), "ed25519");
        dci_signing_key_free(from_pem);
    }
    if (CHECK_OK(dci_signing_key_verifying_key(from_seed, &pub, &err))) {
        CHECK_STR(dci_verifying_key_algorithm(pub), "ed25519");
        if (CHECK_OK(dci_verifying_key_to_pem(pub, &s, &err))) {
            CHECK_STR(s, PUBLIC_PEM);
            dci_string_free(s);
        }
        if (CHECK_OK(dci_verifying_key_thumbprint(pub, &s, &err))) {
            CHECK_STR(s, THUMBPRINT);
            dci_string_free(s);
        }
        /* A JWK with the kid given... */
        if (CHECK_OK(dci_verifying_key_to_jwk(pub, "spmis.example.org|key1|ed25519", &s, &err))) {
            CHECK_JSON_STR(s, "/kty", "OKP");
            CHECK_JSON_STR(s, "/crv", "Ed25519");
            CHECK_JSON_STR(s, "/x", PUBLIC_X);
            CHECK_JSON_STR(s, "/use", "sig");
            CHECK_JSON_STR(s, "/alg", "EdDSA");
            CHECK_JSON_STR(s, "/kid", "spmis.example.org|key1|ed25519");
            /* ...reads back as the same key. */
            if (CHECK_OK(dci_verifying_key_from_jwk(s, &pub2, &err))) {
                char *pem = NULL;
                if (CHECK_OK(dci_verifying_key_to_pem(pub2, &pem, &err))) {
                    CHECK_STR(pem, PUBLIC_PEM);
                    dci_string_free(pem);
                }
                dci_verifying_key_free(pub2);
            }
            dci_string_free(s);
        }
        /* Without a kid, the thumbprint is the kid. */
        if (CHECK_OK(dci_verifying_key_to_jwk(pub, NULL, &s, &err))) {
            CHECK_JSON_STR(s, "/kid", THUMBPRINT);
            dci_string_free(s);
        }
        dci_verifying_key_free(pub);
    }
    if (CHECK_OK(dci_verifying_key_from_pem(PUBLIC_PEM, &pub, &err))) {
        CHECK_STR(dci_verifying_key_algorithm(pub), "ed25519");
        dci_verifying_key_free(pub);
    }
    dci_signing_key_free(from_seed);
}

static void test_generate(void) {
    dci_error *err = NULL;
    dci_signing_key *ed = NULL, *rsa = NULL, *back = NULL;
    char *pem = NULL;
    if (CHECK_OK(dci_signing_key_generate("ed25519", &ed, &err))) {
        CHECK_STR(dci_signing_key_algorithm(ed), "ed25519");
        dci_signing_key_free(ed);
    }
    /* JWS names and any case are accepted too. */
    if (CHECK_OK(dci_signing_key_generate("EdDSA", &ed, &err))) dci_signing_key_free(ed);
    if (CHECK_OK(dci_signing_key_generate("RS256", &rsa, &err))) {
        CHECK_STR(dci_signing_key_algorithm(rsa), "rsa-sha256");
        if (CHECK_OK(dci_signing_key_to_pem(rsa, &pem, &err))) {
            CHECK(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
            if (CHECK_OK(dci_signing_key_from_pem(pem, &back, &err))) {
                CHECK_STR(dci_signing_key_algorithm(back), "rsa-sha256");
                dci_signing_key_free(back);
            }
            dci_string_free(pem);
        }
        dci_verifying_key *pub = NULL;
        if (CHECK_OK(dci_signing_key_verifying_key(rsa, &pub, &err))) {
            char *jwk = NULL;
            if (CHECK_OK(dci_verifying_key_to_jwk(pub, "k", &jwk, &err))) {
                CHECK_JSON_STR(jwk, "/kty", "RSA");
                CHECK_JSON_STR(jwk, "/alg", "RS256");
                CHECK_JSON_STR(jwk, "/e", "AQAB");
                dci_string_free(jwk);
            }
            dci_verifying_key_free(pub);
        }
        dci_signing_key_free(rsa);
    }
}

static void test_key_errors(void) {
    dci_error *err = NULL;
    dci_signing_key *sk = NULL;
    dci_verifying_key *vk = NULL;
    char *s = NULL;

    CHECK_FAIL(dci_signing_key_generate("none", &sk, &err), DCI_RESULT_UNSUPPORTED_ALGORITHM,
               "err.signature.invalid", "none");
    CHECK_FAIL(dci_signing_key_generate("HS256", &sk, &err), DCI_RESULT_UNSUPPORTED_ALGORITHM,
               "err.signature.invalid", "HS256");
    CHECK(sk == NULL);
    CHECK_NULL_ARG(dci_signing_key_generate(NULL, &sk, &err),
                   "argument algorithm must not be NULL");
    CHECK_NULL_ARG(dci_signing_key_generate("ed25519", NULL, &err),
                   "argument out must not be NULL");
    CHECK_FAIL(dci_signing_key_from_pem("not a pem", &sk, &err), DCI_RESULT_KEY, NULL, NULL);
    /* A public key is not a private key. */
    CHECK_FAIL(dci_signing_key_from_pem(PUBLIC_PEM, &sk, &err), DCI_RESULT_KEY, NULL, NULL);
    CHECK_FAIL(dci_signing_key_from_pem("-----BEGIN PRIVATE KEY-----\n\xc3\x28\n", &sk, &err),
               DCI_RESULT_INVALID_UTF8, NULL, "argument pem is not valid UTF-8 (bad byte at offset 28)");
    CHECK_FAIL(dci_signing_key_from_ed25519_seed(SEED, 31, &sk, &err), DCI_RESULT_KEY, NULL,
               "seed_len 31");
    CHECK_NULL_ARG(dci_signing_key_from_ed25519_seed(NULL, 32, &sk, &err), "argument seed");
    CHECK_NULL_ARG(dci_signing_key_to_pem(NULL, &s, &err), "argument key");
    CHECK_NULL_ARG(dci_signing_key_verifying_key(NULL, &vk, &err), "argument key");
    /* A private key PEM gives its public half. */
    if (CHECK_OK(dci_verifying_key_from_pem(PRIVATE_PEM, &vk, &err))) {
        if (CHECK_OK(dci_verifying_key_to_pem(vk, &s, &err))) {
            CHECK_STR(s, PUBLIC_PEM);
            dci_string_free(s);
            s = NULL;
        }
        dci_verifying_key_free(vk);
        vk = NULL;
    }
    CHECK_FAIL(dci_verifying_key_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                                          &vk, &err),
               DCI_RESULT_KEY, NULL, NULL);
    CHECK_NULL_ARG(dci_verifying_key_from_pem(NULL, &vk, &err), "argument pem");
    CHECK_FAIL(dci_verifying_key_from_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", &vk, &err),
               DCI_RESULT_KEY, NULL, NULL);
    CHECK_FAIL(dci_verifying_key_from_jwk("{\"kty\":", &vk, &err), DCI_RESULT_JSON,
               "err.request.bad", "jwk_json: ");
    CHECK_NULL_ARG(dci_verifying_key_to_pem(NULL, &s, &err), "key");
    CHECK_NULL_ARG(dci_verifying_key_to_jwk(NULL, NULL, &s, &err), "key");
    CHECK_NULL_ARG(dci_verifying_key_thumbprint(NULL, &s, &err), "key");
    CHECK(vk == NULL && sk == NULL && s == NULL);
}

static void test_jwks(void) {
    dci_error *err = NULL;
    dci_jwks *set = NULL, *back = NULL;
    dci_verifying_key *pub = NULL;
    char *json = NULL;

    if (!CHECK_OK(dci_jwks_new(&set, &err))) return;
    CHECK(dci_jwks_len(set) == 0);
    if (CHECK_OK(dci_verifying_key_from_pem(PUBLIC_PEM, &pub, &err))) {
        CHECK_OK(dci_jwks_add(set, "spmis.example.org|key1|ed25519", pub, &err));
        CHECK_OK(dci_jwks_add(set, NULL, pub, &err));
        CHECK_NULL_ARG(dci_jwks_add(set, "k", NULL, &err), "key");
        CHECK_NULL_ARG(dci_jwks_add(NULL, "k", pub, &err), "jwks");
        dci_verifying_key_free(pub); /* the set holds its own copies */
    }
    CHECK(dci_jwks_len(set) == 2);
    if (CHECK_OK(dci_jwks_to_json(set, &json, &err))) {
        size_t n = 0;
        if (CHECK_OK(dci_json_len(json, "/keys", &n, &err))) CHECK(n == 2);
        CHECK_JSON_STR(json, "/keys/0/kid", "spmis.example.org|key1|ed25519");
        CHECK_JSON_STR(json, "/keys/0/x", PUBLIC_X);
        if (CHECK_OK(dci_jwks_from_json(json, &back, &err))) {
            CHECK(dci_jwks_len(back) >= 1);
            dci_jwks_free(back);
        }
        dci_string_free(json);
    }
    /* Keys of unknown types are skipped; a broken known key is an error. */
    if (CHECK_OK(dci_jwks_from_json("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\","
                                    "\"y\":\"b\"}]}",
                                    &back, &err))) {
        CHECK(dci_jwks_len(back) == 0);
        dci_jwks_free(back);
    }
    CHECK_FAIL(dci_jwks_from_json("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"!\"}]}",
                                  &back, &err),
               DCI_RESULT_KEY, NULL, NULL);
    CHECK_FAIL(dci_jwks_from_json("[", &back, &err), DCI_RESULT_JSON, "err.request.bad", "json: ");
    CHECK_NULL_ARG(dci_jwks_to_json(NULL, &json, &err), "jwks");
    CHECK_NULL_ARG(dci_jwks_new(NULL, &err), "out");
    dci_jwks_free(set);
}

void test_keys(void) {
    test_ed25519_known_key();
    test_generate();
    test_key_errors();
    test_jwks();
}
