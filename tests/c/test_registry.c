/* The registry kit (dci_registry_*): a sender signs requests, the registry admits them and
 * answers; the answers verify with the server's public key; refusals carry the spec's codes. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SERVER "crvs.example.org"
#define SENDER "spmis.example.org"

/* What every test of this group shares. */
struct kit {
    dci_signing_key *server_key, *sender_key, *stranger_key;
    dci_verifying_key *server_pub;
    dci_signer *sender, *stranger;
    dci_registry *reg;
    char sender_json[2048];
};

/* A signed search request from `signer` as `sender_id` (sender_uri: NULL for none). */
static char *signed_search(const dci_signer *signer, const char *sender_id,
                           const char *sender_uri, const char *transaction_id) {
    dci_error *err = NULL;
    char options[1024], *env = NULL, *signed_env = NULL;
    snprintf(options, sizeof options,
             "{\"sender_id\":\"%s\",\"receiver_id\":\"" SERVER "\",%s%s%s"
             "\"transaction_id\":\"%s\",\"pagination\":{\"page_size\":2,\"page_number\":1},"
             "\"queries\":[{\"query_type\":\"idtype-value\","
             "\"query\":{\"type\":\"UIN\",\"value\":\"847951632\"}}]}",
             sender_id, sender_uri ? "\"sender_uri\":\"" : "", sender_uri ? sender_uri : "",
             sender_uri ? "\"," : "", transaction_id);
    if (!CHECK_OK(dci_search_request_new(options, &env, &err))) return NULL;
    CHECK_OK(dci_signer_sign(signer, env, 0, &signed_env, &err));
    dci_string_free(env);
    return signed_env;
}

/* Admits `body` on `path`; writes the admission (NULL on a refusal) and returns the JSON. */
static char *admit(const struct kit *k, const char *path, const char *body, dci_admission **adm) {
    dci_error *err = NULL;
    char *out = NULL;
    if (body == NULL) return NULL;
    if (!CHECK_OK(dci_registry_admit(k->reg, path, (const uint8_t *)body, strlen(body), &out,
                                     adm, &err)))
        return NULL;
    return out;
}

/* Passes when the JSON text at pointer equals want (numbers, booleans, null). */
static bool check_json_raw(const char *doc, const char *pointer, const char *want, int line) {
    dci_error *err = NULL;
    char *got = NULL;
    bool ok = false;
    if (doc != NULL && check_ok(dci_json_get(doc, pointer, &got, &err), &err, __FILE__, line,
                                pointer))
        ok = check_str(got, want, __FILE__, line, pointer);
    dci_string_free(got);
    return ok;
}
#define CHECK_JSON_RAW(doc, pointer, want) check_json_raw((doc), (pointer), (want), __LINE__)

/* Verifies a signed answer with the server's public key; checks the kid. */
static void check_server_signed(const struct kit *k, const char *envelope) {
    dci_error *err = NULL;
    char *report = NULL;
    if (CHECK_OK(dci_verify_with_key(envelope, k->server_pub, NULL, 0, -1, &report, &err))) {
        CHECK_JSON_STR(report, "/kid", SERVER "|srv1|ed25519");
        CHECK_JSON_STR(report, "/profile", "spdci");
        dci_string_free(report);
    }
}

static bool setup(struct kit *k) {
    dci_error *err = NULL;
    dci_verifying_key *sender_pub = NULL;
    char *jwk = NULL, config[4096];
    memset(k, 0, sizeof *k);
    if (!CHECK_OK(dci_signing_key_generate("ed25519", &k->server_key, &err))) return false;
    if (!CHECK_OK(dci_signing_key_generate("ed25519", &k->sender_key, &err))) return false;
    if (!CHECK_OK(dci_signing_key_generate("ed25519", &k->stranger_key, &err))) return false;
    CHECK_OK(dci_signing_key_verifying_key(k->server_key, &k->server_pub, &err));
    CHECK_OK(dci_signing_key_verifying_key(k->sender_key, &sender_pub, &err));
    CHECK_OK(dci_verifying_key_to_jwk(sender_pub, "key1", &jwk, &err));
    dci_verifying_key_free(sender_pub);
    if (jwk == NULL) return false;
    CHECK_OK(dci_signer_new(k->sender_key, SENDER, "key1", &k->sender, &err));
    CHECK_OK(dci_signer_new(k->stranger_key, "stranger.example.org", "key1", &k->stranger, &err));
    /* The sender may receive name only, and answers its async requests under its URI. */
    snprintf(k->sender_json, sizeof k->sender_json,
             "{\"sender_id\":\"" SENDER "\",\"jwks\":{\"keys\":[%s]},\"fields\":[\"name\"],"
             "\"callback_uri\":\"https://spmis.example.org/dci\"}",
             jwk);
    dci_string_free(jwk);
    snprintf(config, sizeof config,
             "{\"server_id\":\"" SERVER "\",\"key_id\":\"srv1\",\"clock_skew_secs\":120,"
             "\"max_page_size\":50,\"senders\":[%s]}",
             k->sender_json);
    /* The registry holds its own copy of the key. */
    return CHECK_OK(dci_registry_new(config, k->server_key, &k->reg, &err));
}

static void teardown(struct kit *k) {
    dci_registry_free(k->reg);
    dci_signer_free(k->sender);
    dci_signer_free(k->stranger);
    dci_verifying_key_free(k->server_pub);
    dci_signing_key_free(k->server_key);
    dci_signing_key_free(k->sender_key);
    dci_signing_key_free(k->stranger_key);
}

static void test_config_errors(const struct kit *k) {
    dci_error *err = NULL;
    dci_registry *reg = NULL;
    CHECK_FAIL(dci_registry_new("{\"server_id\":\"s\",\"key_id\":\"k\",\"colck_skew_secs\":1}",
                                k->server_key, &reg, &err),
               DCI_RESULT_CONFIG, NULL, "unknown field `colck_skew_secs`");
    CHECK_FAIL(dci_registry_new("{\"key_id\":\"k\"}", k->server_key, &reg, &err),
               DCI_RESULT_CONFIG, NULL, "missing field `server_id`");
    CHECK_FAIL(dci_registry_new("{\"server_id\":\"s\",\"key_id\":\"k\",\"senders\":[{\"sender_id\":"
                                "\"a\",\"alowed_ops\":[]}]}",
                                k->server_key, &reg, &err),
               DCI_RESULT_CONFIG, NULL, "senders[0]: unknown field `alowed_ops`");
    CHECK_FAIL(dci_registry_new("{\"server_id\":\"s\",\"key_id\":\"k\",\"default_registry\":\"x\"}",
                                k->server_key, &reg, &err),
               DCI_RESULT_CONFIG, NULL, "default_registry: unknown registry \"x\"");
    CHECK_FAIL(dci_registry_new("{\"server_id\":\"s\",\"key_id\":\"k\",\"profile\":\"pgp\"}",
                                k->server_key, &reg, &err),
               DCI_RESULT_CONFIG, NULL, "unknown signature profile");
    CHECK_NULL_ARG(dci_registry_new("{}", NULL, &reg, &err), "argument key");
    CHECK(reg == NULL);
    CHECK_FAIL(dci_registry_add_sender(k->reg, "{\"sender_id\":\"b\",\"nmae\":\"x\"}", &err),
               DCI_RESULT_CONFIG, NULL, "unknown field `nmae`");
}

/* Sign, admit, answer with paged records cut to the agreed fields, verify the answer. */
static void test_sync_search(const struct kit *k) {
    dci_error *err = NULL;
    dci_admission *adm = NULL;
    char *body = signed_search(k->sender, SENDER, NULL, "txn-sync-1");
    char *out = admit(k, "/registry/sync/search", body, &adm), *message = NULL, *answer = NULL;
    if (!CHECK(out != NULL && adm != NULL)) goto out;
    CHECK_JSON_RAW(out, "/ok", "true");
    CHECK_JSON_STR(out, "/operation", "search");
    CHECK_JSON_STR(out, "/mode", "sync");
    CHECK_JSON_STR(out, "/registry", "crvs");
    CHECK_JSON_STR(out, "/sender_id", SENDER);
    CHECK_JSON_STR(out, "/transaction_id", "txn-sync-1");
    CHECK_JSON_STR(out, "/message/transaction_id", "txn-sync-1");
    CHECK_JSON_STR(out, "/message/search_request/0/search_criteria/query/value", "847951632");
    CHECK_JSON_RAW(out, "/signed", "true");
    CHECK_JSON_RAW(out, "/sender_uri", "null");

    /* Three matches, page_size 2: the first two, name only. */
    if (!CHECK_OK(dci_registry_on_search(
            k->reg, adm,
            "[{\"records\":[{\"name\":\"Ana\",\"sex\":\"f\"},{\"name\":\"Bo\",\"sex\":\"m\"},"
            "{\"name\":\"Cy\",\"sex\":\"m\"}]}]",
            &message, &err)))
        goto out;
    CHECK_JSON_STR(message, "/transaction_id", "txn-sync-1");
    CHECK_JSON_STR(message, "/search_response/0/status", "succ");
    CHECK_JSON_RAW(message, "/search_response/0/pagination/total_count", "3");
    CHECK_JSON_RAW(message, "/search_response/0/data/reg_records/1", "{\"name\":\"Bo\"}");
    if (!CHECK_OK(dci_registry_answer(k->reg, adm, message, &answer, &err))) goto out;
    CHECK_JSON_RAW(answer, "/ok", "true");
    CHECK_JSON_RAW(answer, "/status", "200");
    char *env = NULL;
    if (CHECK_OK(dci_json_get(answer, "/body", &env, &err))) {
        CHECK_JSON_STR(env, "/header/action", "on-search");
        CHECK_JSON_STR(env, "/header/status", "succ");
        CHECK_JSON_STR(env, "/header/sender_id", SERVER);
        CHECK_JSON_STR(env, "/header/receiver_id", SENDER);
        CHECK_JSON_STR(env, "/message/search_response/0/data/reg_records/0/name", "Ana");
        CHECK_OK(dci_validate("on-search", env, &err));
        check_server_signed(k, env);
        /* Tampered, it no longer verifies. */
        char *tampered = replace_first(env, "\"Ana\"", "\"Eve\"");
        char *report = NULL;
        if (CHECK(tampered != NULL))
            CHECK_FAIL(dci_verify_with_key(tampered, k->server_pub, NULL, 0, -1, &report, &err),
                       DCI_RESULT_SIGNATURE_INVALID, "err.signature.invalid", NULL);
        free(tampered);
        dci_string_free(env);
    }
    /* A message that is not a SearchResponse. */
    char *bad = NULL;
    CHECK_FAIL(dci_registry_answer(k->reg, adm, "{\"transaction_id\":1}", &bad, &err),
               DCI_RESULT_JSON, "err.request.bad", "message: invalid type: integer `1`");
    /* An item the host rejects, and a missing result. */
    dci_string_free(message);
    message = NULL;
    if (CHECK_OK(dci_registry_on_search(
            k->reg, adm,
            "[{\"error\":{\"code\":\"rjct.search_criteria.invalid\",\"message\":\"no such id\"}}]",
            &message, &err))) {
        CHECK_JSON_STR(message, "/search_response/0/status", "rjct");
        CHECK_JSON_STR(message, "/search_response/0/status_reason_code",
                       "rjct.search_criteria.invalid");
        CHECK_JSON_STR(message, "/search_response/0/status_reason_message", "no such id");
    }
    dci_string_free(message);
    message = NULL;
    if (CHECK_OK(dci_registry_on_search(k->reg, adm, "[]", &message, &err)))
        CHECK_JSON_STR(message, "/search_response/0/status", "rjct");
    CHECK_FAIL(dci_registry_on_search(k->reg, adm, "[{\"rows\":[]}]", &bad, &err),
               DCI_RESULT_JSON, "err.request.bad", "results_json");

    /* The same bytes again: a replay. */
    dci_string_free(out);
    dci_admission *again = (dci_admission *)&again; /* overwritten with NULL on a refusal */
    out = admit(k, "/registry/sync/search", body, &again);
    CHECK(again == NULL);
    CHECK_JSON_RAW(out, "/ok", "false");
    CHECK_JSON_RAW(out, "/status", "409");
    CHECK_JSON_STR(out, "/body/header/status", "rjct");
    CHECK_JSON_STR(out, "/body/header/status_reason_code", "rjct.message_id.duplicate");
    CHECK_JSON_STR(out, "/body/message/ack_status", "ERR");
    if (out != NULL) {
        char *refusal = NULL;
        if (CHECK_OK(dci_json_get(out, "/body", &refusal, &err))) {
            check_server_signed(k, refusal);
            dci_string_free(refusal);
        }
    }
out:
    dci_string_free(answer);
    dci_string_free(message);
    dci_string_free(out);
    dci_string_free(body);
    dci_admission_free(adm);
}

static void test_refusals(const struct kit *k) {
    dci_error *err = NULL;
    dci_admission *adm = NULL;
    /* A sender the registry does not know. */
    char *body = signed_search(k->stranger, "stranger.example.org", NULL, "txn-x");
    char *out = admit(k, "/registry/sync/search", body, &adm);
    CHECK(adm == NULL);
    CHECK_JSON_RAW(out, "/ok", "false");
    CHECK_JSON_RAW(out, "/status", "403");
    CHECK_JSON_STR(out, "/body/errors/0/code", "err.sender_id.invalid");
    CHECK_JSON_STR(out, "/body/message/error/code", "err.sender_id.invalid");
    CHECK_JSON_STR(out, "/body/header/receiver_id", "stranger.example.org");
    dci_string_free(out);
    dci_string_free(body);

    /* A known sender id signed with another key. */
    body = signed_search(k->stranger, SENDER, NULL, "txn-y");
    char *forged = body ? replace_first(body, "stranger.example.org|", SENDER "|") : NULL;
    out = admit(k, "/registry/sync/search", forged, &adm);
    CHECK_JSON_RAW(out, "/status", "401");
    CHECK_JSON_STR(out, "/body/errors/0/code", "err.signature.invalid");
    free(forged);
    dci_string_free(out);
    dci_string_free(body);

    /* No such endpoint. */
    body = signed_search(k->sender, SENDER, NULL, "txn-z");
    out = admit(k, "/registry/nope", body, &adm);
    CHECK_JSON_RAW(out, "/status", "404");
    CHECK_JSON_STR(out, "/body/errors/0/code", "err.request.not_found");
    dci_string_free(out);
    /* The wrong endpoint for the action. */
    out = admit(k, "/registry/subscribe", body, &adm);
    CHECK_JSON_RAW(out, "/status", "400");
    CHECK_JSON_STR(out, "/body/header/status_reason_code", "rjct.action.invalid");
    dci_string_free(out);
    /* Not JSON. */
    out = admit(k, "/registry/sync/search", "{\"header\":", &adm);
    CHECK_JSON_RAW(out, "/status", "400");
    CHECK_JSON_STR(out, "/body/errors/0/code", "err.request.bad");
    dci_string_free(out);
    dci_string_free(body);

    /* Misuse of the interface. */
    char *o = NULL;
    CHECK_NULL_ARG(dci_registry_admit(NULL, "/registry/sync/search", (const uint8_t *)"{}", 2, &o,
                                      NULL, &err),
                   "argument reg");
    CHECK_NULL_ARG(dci_registry_admit(k->reg, "/registry/sync/search", NULL, 2, &o, NULL, &err),
                   "argument body");
    CHECK_NULL_ARG(dci_registry_ack(k->reg, NULL, &o, &err), "argument admission");
    CHECK(o == NULL);
}

/* An async search: ACK now, then the callback to the sender's URI. */
static void test_async_search(const struct kit *k) {
    dci_error *err = NULL;
    dci_admission *adm = NULL;
    char *body = signed_search(k->sender, SENDER, "https://spmis.example.org/dci/cb", "txn-async");
    char *out = admit(k, "/registry/search", body, &adm), *ack = NULL, *message = NULL;
    char *url = NULL, *cb = NULL;
    if (!CHECK(adm != NULL)) goto out;
    CHECK_JSON_STR(out, "/mode", "async");
    CHECK_JSON_STR(out, "/sender_uri", "https://spmis.example.org/dci/cb");
    if (CHECK_OK(dci_registry_ack(k->reg, adm, &ack, &err))) {
        CHECK_JSON_RAW(ack, "/status", "200");
        CHECK_JSON_STR(ack, "/body/message/ack_status", "ACK");
        char *corr = json_str(out, "/correlation_id");
        CHECK_JSON_STR(ack, "/body/message/correlation_id", corr);
        dci_string_free(corr);
    }
    if (!CHECK_OK(dci_registry_on_search(k->reg, adm, "[{\"records\":[{\"name\":\"Ana\"}]}]",
                                         &message, &err)))
        goto out;
    if (CHECK_OK(dci_registry_callback(k->reg, adm, message, &url, &cb, &err))) {
        CHECK_STR(url, "https://spmis.example.org/dci/cb/on-search");
        CHECK_JSON_STR(cb, "/header/action", "on-search");
        CHECK_JSON_STR(cb, "/message/transaction_id", "txn-async");
        check_server_signed(k, cb);
    }
out:
    dci_string_free(url);
    dci_string_free(cb);
    dci_string_free(message);
    dci_string_free(ack);
    dci_string_free(out);
    dci_string_free(body);
    dci_admission_free(adm);

    /* A sender_uri outside the registered callback URI is refused when the callback is made. */
    adm = NULL;
    body = signed_search(k->sender, SENDER, "https://evil.example.net/cb", "txn-evil");
    out = admit(k, "/registry/search", body, &adm);
    url = cb = NULL;
    if (CHECK(adm != NULL)) {
        CHECK_FAIL(dci_registry_callback(k->reg, adm,
                                         "{\"transaction_id\":\"txn-evil\",\"correlation_id\":"
                                         "\"c\",\"search_response\":[]}",
                                         &url, &cb, &err),
                   DCI_RESULT_PROTOCOL, "err.sender_uri.invalid", "evil.example.net");
        CHECK(url == NULL && cb == NULL);
    }
    dci_string_free(out);
    dci_string_free(body);
    dci_admission_free(adm);
}

/* The host's own sender table, through the lookup callback. */
static int lookups = 0;
static int lookup(void *ctx, const char *sender_id, char **out_json) {
    lookups++;
    if (strcmp(sender_id, SENDER) != 0) return 1;
    *out_json = strdup((const char *)ctx);
    return *out_json ? 0 : 2;
}
static int failing_lookup(void *ctx, const char *sender_id, char **out_json) {
    (void)ctx, (void)sender_id, (void)out_json;
    return 7;
}

static void test_senders(struct kit *k) {
    dci_error *err = NULL;
    dci_admission *adm = NULL;
    bool removed = false;
    char *body = NULL, *out = NULL;
    if (CHECK_OK(dci_registry_remove_sender(k->reg, SENDER, &removed, &err))) CHECK(removed);
    if (CHECK_OK(dci_registry_remove_sender(k->reg, SENDER, &removed, &err))) CHECK(!removed);
    body = signed_search(k->sender, SENDER, NULL, "txn-gone");
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/status", "403");
    CHECK_JSON_STR(out, "/body/errors/0/code", "err.sender_id.invalid");
    dci_string_free(out);
    dci_string_free(body);

    /* The host's lookup finds it. */
    CHECK_OK(dci_registry_set_lookup(k->reg, lookup, k->sender_json, &err));
    body = signed_search(k->sender, SENDER, NULL, "txn-lookup");
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/ok", "true");
    CHECK(lookups == 1);
    dci_admission_free(adm);
    adm = NULL;
    dci_string_free(out);
    dci_string_free(body);
    /* Unknown to the lookup too. */
    body = signed_search(k->stranger, "stranger.example.org", NULL, "txn-s");
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/status", "403");
    CHECK(lookups == 2);
    dci_string_free(out);
    dci_string_free(body);
    /* A failing lookup is the server's failure, not the sender's. */
    CHECK_OK(dci_registry_set_lookup(k->reg, failing_lookup, NULL, &err));
    body = signed_search(k->sender, SENDER, NULL, "txn-fail");
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/status", "500");
    CHECK_JSON_STR(out, "/body/errors/0/code", "err.service.unavailable");
    dci_string_free(out);
    dci_string_free(body);
    /* Added back, a sender is found without the lookup. */
    CHECK_OK(dci_registry_set_lookup(k->reg, NULL, NULL, &err));
    CHECK_OK(dci_registry_add_sender(k->reg, k->sender_json, &err));
    body = signed_search(k->sender, SENDER, NULL, "txn-back");
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/ok", "true");
    dci_admission_free(adm);
    dci_string_free(out);
    dci_string_free(body);
}

/* The host's replay store: remembers one message id, and can be made to fail. */
struct replay_store {
    char seen[128];
    int calls, fail;
    long long window_ms;
};
static int replay_check(void *ctx, const char *sender_id, const char *message_id, int64_t now_ms,
                        int64_t window_ms) {
    struct replay_store *st = ctx;
    st->calls++;
    st->window_ms = (long long)window_ms;
    if (st->fail || now_ms <= 0 || strcmp(sender_id, SENDER) != 0) return 5;
    if (strcmp(st->seen, message_id) == 0) return 0;
    snprintf(st->seen, sizeof st->seen, "%s", message_id);
    return 1;
}

static void test_replay_store(const struct kit *k) {
    dci_error *err = NULL;
    dci_admission *adm = NULL;
    struct replay_store st = {{0}, 0, 0, 0};
    CHECK_OK(dci_registry_set_replay(k->reg, replay_check, &st, &err));
    char *body = signed_search(k->sender, SENDER, NULL, "txn-replay");
    char *out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/ok", "true");
    char *mid = out ? json_str(out, "/message_id") : NULL;
    CHECK_STR(st.seen, mid);
    CHECK(st.calls == 1);
    CHECK(st.window_ms == 240000); /* twice the clock skew of 120 s */
    dci_string_free(mid);
    dci_admission_free(adm);
    adm = NULL;
    dci_string_free(out);
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/status", "409");
    CHECK_JSON_STR(out, "/body/header/status_reason_code", "rjct.message_id.duplicate");
    dci_string_free(out);
    dci_string_free(body);
    st.fail = 1;
    body = signed_search(k->sender, SENDER, NULL, "txn-replay-2");
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/status", "500");
    CHECK_JSON_STR(out, "/body/errors/0/code", "err.service.unavailable");
    dci_string_free(out);
    /* Back to memory: the same request is now admitted (memory never saw it). */
    CHECK_OK(dci_registry_set_replay(k->reg, NULL, NULL, &err));
    out = admit(k, "/registry/sync/search", body, &adm);
    CHECK_JSON_RAW(out, "/ok", "true");
    CHECK(st.calls == 3);
    dci_admission_free(adm);
    dci_string_free(out);
    dci_string_free(body);
}

void test_registry(void) {
    struct kit k;
    if (setup(&k)) {
        test_config_errors(&k);
        test_sync_search(&k);
        test_refusals(&k);
        test_async_search(&k);
        test_senders(&k);
        test_replay_store(&k);
    }
    teardown(&k);
    dci_registry_free(NULL);
    dci_admission_free(NULL);
}
