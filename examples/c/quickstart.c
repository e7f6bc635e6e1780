/* libdci from C: sign a DCI envelope, verify it, and evaluate a query.
 * Build: cc -Iinclude examples/c/quickstart.c target/debug/libdci.a \
 *           -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o quickstart */
#include <stdio.h>

#include "dci.h"

/* Every fallible call returns a dci_result; on failure *err holds the details. */
static int fail(dci_result r, dci_error *err) {
    fprintf(stderr, "libdci: %s (%s): %s\n", dci_result_name(r),
            dci_error_code(err) ? dci_error_code(err) : "-", dci_error_message(err));
    dci_error_free(err);
    return 1;
}

int main(void) {
    dci_error *err = NULL;
    dci_signing_key *key = NULL;
    dci_verifying_key *pub = NULL;
    dci_signer *signer = NULL;
    char *query = NULL, *signed_envelope = NULL, *verified = NULL;
    bool match = false;
    dci_result r;

    /* A key, and a signer that writes kid "spmis.example.org|key1|ed25519". */
    if ((r = dci_signing_key_generate("ed25519", &key, &err))) return fail(r, err);
    if ((r = dci_signing_key_verifying_key(key, &pub, &err))) return fail(r, err);
    if ((r = dci_signer_new(key, "spmis.example.org", "key1", &signer, &err)))
        return fail(r, err);

    /* A search by identifier, signed now (0 = the system clock). */
    if ((r = dci_query_idtype_value("UIN", "847951632", &query, &err))) return fail(r, err);
    printf("query: %s\n", query);
    const char *envelope =
        "{\"header\":{\"version\":\"1.0.0\",\"message_id\":\"m-1\","
        "\"message_ts\":\"2025-01-01T00:00:00Z\",\"action\":\"search\","
        "\"sender_id\":\"spmis.example.org\",\"receiver_id\":\"crvs.example.org\","
        "\"total_count\":1,\"is_msg_encrypted\":false},"
        "\"message\":{\"transaction_id\":\"t-1\",\"search_request\":[{\"reference_id\":\"r-1\","
        "\"timestamp\":\"2025-01-01T00:00:00Z\",\"search_criteria\":{\"reg_type\":\"civil\","
        "\"query_type\":\"idtype-value\",\"query\":{\"type\":\"UIN\",\"value\":\"847951632\"}}}]}}";
    if ((r = dci_signer_sign(signer, envelope, 0, &signed_envelope, &err))) return fail(r, err);
    printf("signed: %.120s...\n", signed_envelope);

    /* Verify with the public key (profile detected, system clock, default clock skew). */
    if ((r = dci_verify_with_key(signed_envelope, pub, NULL, 0, -1, &verified, &err)))
        return fail(r, err);
    printf("verified: %s\n", verified);

    /* Does a record match the query? */
    const char *record = "{\"identifier\":[{\"identifier_type\":\"UIN\","
                         "\"identifier_value\":\"847951632\"}]}";
    if ((r = dci_query_matches(record, "idtype-value",
                               "{\"type\":\"UIN\",\"value\":\"847951632\"}", &match, &err)))
        return fail(r, err);
    printf("record matches: %s\n", match ? "yes" : "no");

    dci_string_free(query);
    dci_string_free(signed_envelope);
    dci_string_free(verified);
    dci_signer_free(signer);
    dci_verifying_key_free(pub);
    dci_signing_key_free(key);
    return match ? 0 : 1;
}
