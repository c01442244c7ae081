#include "acme/json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse_object(const char *body, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "malformed JSON (%s at line %d)", je.text, je.line);
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "malformed JSON (not an object)");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Copies the string member key into out. Returns 0, or -1 when it is
 * missing (required), not a string, empty (required) or too long. */
static int get_str(json_t *obj, const char *key, char *out, size_t cap, int required, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    out[0] = '\0';
    if (!v) {
        if (!required)
            return 0;
        snprintf(err, errlen, "missing \"%s\"", key);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "\"%s\" is not a string", key);
        return -1;
    }
    size_t n = json_string_length(v);
    if (n >= cap || memchr(json_string_value(v), '\0', n)) {
        snprintf(err, errlen, "\"%s\" is too long or holds a NUL", key);
        return -1;
    }
    if (required && n == 0) {
        snprintf(err, errlen, "\"%s\" is empty", key);
        return -1;
    }
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static enum acme_status status_of(const char *s)
{
    static const struct {
        const char *name;
        enum acme_status st;
    } names[] = {
        { "pending", ACME_ST_PENDING },       { "ready", ACME_ST_READY },
        { "processing", ACME_ST_PROCESSING }, { "valid", ACME_ST_VALID },
        { "invalid", ACME_ST_INVALID },       { "expired", ACME_ST_OTHER },
        { "deactivated", ACME_ST_OTHER },     { "revoked", ACME_ST_OTHER },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].st;
    return ACME_ST_UNKNOWN;
}

const char *acme_status_name(enum acme_status s)
{
    switch (s) {
    case ACME_ST_PENDING: return "pending";
    case ACME_ST_READY: return "ready";
    case ACME_ST_PROCESSING: return "processing";
    case ACME_ST_VALID: return "valid";
    case ACME_ST_INVALID: return "invalid";
    case ACME_ST_OTHER: return "expired, deactivated or revoked";
    case ACME_ST_UNKNOWN: break;
    }
    return "unknown";
}

static int get_status(json_t *obj, enum acme_status *st, char *err, size_t errlen)
{
    char s[32];
    if (get_str(obj, "status", s, sizeof(s), 1, err, errlen) < 0)
        return -1;
    *st = status_of(s);
    if (*st == ACME_ST_UNKNOWN) {
        snprintf(err, errlen, "unexpected status \"%.20s\"", s);
        return -1;
    }
    return 0;
}

int acme_json_directory(const char *body, size_t len, struct acme_directory *d, char *err,
                        size_t errlen)
{
    memset(d, 0, sizeof(*d));
    json_t *root = parse_object(body, len, err, errlen);
    if (!root)
        return -1;
    int r = get_str(root, "newNonce", d->new_nonce, sizeof(d->new_nonce), 1, err, errlen);
    if (r == 0)
        r = get_str(root, "newAccount", d->new_account, sizeof(d->new_account), 1, err, errlen);
    if (r == 0)
        r = get_str(root, "newOrder", d->new_order, sizeof(d->new_order), 1, err, errlen);
    json_decref(root);
    return r;
}

int acme_json_order(const char *body, size_t len, struct acme_order *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    json_t *root = parse_object(body, len, err, errlen);
    if (!root)
        return -1;
    int r = get_status(root, &o->status, err, errlen);
    if (r == 0)
        r = get_str(root, "finalize", o->finalize, sizeof(o->finalize), 1, err, errlen);
    if (r == 0)
        r = get_str(root, "certificate", o->certificate, sizeof(o->certificate), 0, err, errlen);
    json_t *list = json_object_get(root, "authorizations");
    if (r == 0 && (!json_is_array(list) || json_array_size(list) == 0 ||
                   json_array_size(list) > ACME_AUTHZ_MAX)) {
        snprintf(err, errlen, "\"authorizations\" is not a list of 1 to %d URLs", ACME_AUTHZ_MAX);
        r = -1;
    }
    for (size_t i = 0; r == 0 && i < json_array_size(list); i++) {
        json_t *u = json_array_get(list, i);
        size_t n = json_is_string(u) ? json_string_length(u) : 0;
        if (n == 0 || n >= ACME_URL_MAX || memchr(json_string_value(u), '\0', n)) {
            snprintf(err, errlen, "\"authorizations\" holds something that is no URL");
            r = -1;
            break;
        }
        memcpy(o->authz[o->n_authz++], json_string_value(u), n + 1);
    }
    json_decref(root);
    return r;
}

/* The first challenge of the given type in an authorization. */
static int get_challenge(json_t *list, const char *type, struct acme_challenge_ref *c, char *err,
                         size_t errlen)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *ch = json_array_get(list, i);
        json_t *t = json_object_get(ch, "type");
        if (!json_is_object(ch) || !json_is_string(t) || strcmp(json_string_value(t), type) != 0)
            continue;
        if (get_str(ch, "url", c->url, sizeof(c->url), 1, err, errlen) < 0 ||
            get_str(ch, "token", c->token, sizeof(c->token), 1, err, errlen) < 0 ||
            get_status(ch, &c->status, err, errlen) < 0)
            return -1;
        /* RFC 8555 8.1: the token is base64url; it goes into a key
         * authorization and, for HTTP-01, a path */
        for (const char *p = c->token; *p; p++)
            if (!(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
                !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_') {
                snprintf(err, errlen, "%s token is not base64url", type);
                return -1;
            }
        json_t *e = json_object_get(ch, "error");
        if (json_is_object(e)) {
            char *dump = json_dumps(e, JSON_COMPACT);
            if (dump) {
                acme_json_problem(dump, strlen(dump), c->error, sizeof(c->error));
                free(dump);
            }
        }
        return 0;
    }
    return 0;
}

int acme_json_authz(const char *body, size_t len, struct acme_authz *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    json_t *root = parse_object(body, len, err, errlen);
    if (!root)
        return -1;
    int r = get_status(root, &a->status, err, errlen);
    json_t *id = json_object_get(root, "identifier");
    if (r == 0 && !json_is_object(id)) {
        snprintf(err, errlen, "missing \"identifier\"");
        r = -1;
    }
    if (r == 0)
        r = get_str(id, "value", a->identifier, sizeof(a->identifier), 1, err, errlen);
    json_t *list = json_object_get(root, "challenges");
    if (r == 0 && !json_is_array(list)) {
        snprintf(err, errlen, "\"challenges\" is not a list");
        r = -1;
    }
    if (r == 0)
        r = get_challenge(list, "tls-alpn-01", &a->tls_alpn, err, errlen);
    if (r == 0)
        r = get_challenge(list, "http-01", &a->http, err, errlen);
    json_decref(root);
    return r;
}

int acme_json_problem(const char *body, size_t len, char *out, size_t cap)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    json_t *type = json_object_get(root, "type"), *detail = json_object_get(root, "detail");
    if (!json_is_object(root) || !json_is_string(type)) {
        snprintf(out, cap, "no problem document");
        json_decref(root);
        return -1;
    }
    /* printable text only: the detail ends up in a log line */
    snprintf(out, cap, "%s%s%s", json_string_value(type), json_is_string(detail) ? ": " : "",
             json_is_string(detail) ? json_string_value(detail) : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    json_decref(root);
    return 0;
}
