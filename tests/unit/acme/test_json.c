/* Unit tests for src/acme/json.c: the documents pebble and Let's Encrypt
 * send, and the malformed ones that must be errors (never crashes). */
#include "../tap.h"
#include "acme/json.h"

#include <string.h>

#define J(s) s, strlen(s)

int main(void)
{
    char err[256];
    struct acme_directory d;
    TAP_INT_EQ(
        acme_json_directory(J("{\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\","
                              "\"newOrder\":\"https://ca/o\",\"meta\":{}}"),
                            &d, err, sizeof(err)),
        0, "directory");
    TAP_STR_EQ(d.new_order, "https://ca/o", "newOrder");
    TAP_INT_EQ(
        acme_json_directory(J("{\"newNonce\":\"x\",\"newAccount\":\"y\"}"), &d, err, sizeof(err)),
        -1, "directory without newOrder");
    TAP_STR_EQ(err, "missing \"newOrder\"", "says what is missing");
    TAP_INT_EQ(acme_json_directory(J("{\"newNonce\":1}"), &d, err, sizeof(err)), -1,
               "a number for a URL");
    TAP_INT_EQ(acme_json_directory(J("<html>"), &d, err, sizeof(err)), -1, "not JSON");
    TAP_OK(strncmp(err, "malformed JSON", 14) == 0, "malformed JSON reported");
    TAP_INT_EQ(acme_json_directory(J("[1,2]"), &d, err, sizeof(err)), -1, "not an object");
    TAP_INT_EQ(
        acme_json_directory(J("{\"newNonce\":\"a\",\"newNonce\":\"b\"}"), &d, err, sizeof(err)), -1,
        "duplicate keys");

    struct acme_order o;
    TAP_INT_EQ(acme_json_order(J("{\"status\":\"pending\",\"authorizations\":[\"https://ca/z/1\"],"
                                 "\"finalize\":\"https://ca/f\"}"),
                               &o, err, sizeof(err)),
               0, "order");
    TAP_OK(o.status == ACME_ST_PENDING && o.n_authz == 1 && !o.certificate[0], "order fields");
    TAP_INT_EQ(acme_json_order(J("{\"status\":\"weird\",\"authorizations\":[\"u\"],"
                                 "\"finalize\":\"f\"}"),
                               &o, err, sizeof(err)),
               -1, "unexpected status");
    TAP_INT_EQ(acme_json_order(J("{\"status\":\"ready\",\"authorizations\":[],\"finalize\":\"f\"}"),
                               &o, err, sizeof(err)),
               -1, "no authorizations");
    TAP_INT_EQ(
        acme_json_order(J("{\"status\":\"ready\",\"authorizations\":[7],\"finalize\":\"f\"}"), &o,
                        err, sizeof(err)),
        -1, "an authorization that is no string");

    struct acme_authz a;
    TAP_INT_EQ(
        acme_json_authz(J("{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":"
                          "\"a.example\"},\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://"
                          "ca/c/1\",\"token\":\"tok_1\",\"status\":\"pending\"},{\"type\":\"tls-"
                          "alpn-01\",\"url\":\"https://ca/c/2\",\"token\":\"tok-2\",\"status\":"
                          "\"invalid\",\"error\":{\"type\":\"urn:ietf:params:acme:error:"
                          "connection\",\"detail\":\"refused\\nagain\"}}]}"),
                        &a, err, sizeof(err)),
        0, "authorization");
    TAP_STR_EQ(a.identifier, "a.example", "identifier");
    TAP_STR_EQ(a.tls_alpn.url, "https://ca/c/2", "tls-alpn-01 url");
    TAP_STR_EQ(a.http.token, "tok_1", "http-01 token");
    TAP_STR_EQ(a.tls_alpn.error, "urn:ietf:params:acme:error:connection: refused again",
               "challenge error, control characters blanked");
    TAP_INT_EQ(acme_json_authz(J("{\"status\":\"pending\",\"identifier\":{\"value\":\"a\"},"
                                 "\"challenges\":[{\"type\":\"tls-alpn-01\",\"url\":\"u\","
                                 "\"token\":\"../x\",\"status\":\"pending\"}]}"),
                               &a, err, sizeof(err)),
               -1, "a token that is not base64url");
    TAP_INT_EQ(acme_json_authz(J("{\"status\":\"valid\",\"challenges\":[]}"), &a, err, sizeof(err)),
               -1, "no identifier");

    char problem[128];
    TAP_INT_EQ(acme_json_problem(J("{\"type\":\"urn:ietf:params:acme:error:badNonce\","
                                   "\"detail\":\"stale\"}"),
                                 problem, sizeof(problem)),
               0, "problem document");
    TAP_STR_EQ(problem, "urn:ietf:params:acme:error:badNonce: stale", "type: detail");
    TAP_INT_EQ(acme_json_problem(J(""), problem, sizeof(problem)), -1, "empty body");
    return tap_done();
}
