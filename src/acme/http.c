#include "acme/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct acme_http {
    CURL *curl;
    atomic_bool *stop;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct acme_http *acme_http_new(atomic_bool *stop)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return NULL;
    struct acme_http *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return NULL;
    }
    h->stop = stop;
    return h;
}

void acme_http_free(struct acme_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

void acme_resp_free(struct acme_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

struct sink {
    struct acme_resp *r;
    size_t cap;
    bool too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    if (s->r->len + len > ACME_BODY_MAX) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (s->r->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->r->len + len + 1)
            cap *= 2;
        char *b = realloc(s->r->body, cap);
        if (!b)
            return 0;
        s->r->body = b;
        s->cap = cap;
    }
    memcpy(s->r->body + s->r->len, data, len);
    s->r->len += len;
    s->r->body[s->r->len] = '\0';
    return len;
}

/* Copies a header's value (trimmed) into out when its name matches. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    if (vlen >= cap)
        return; /* an oversized value is treated as absent */
    memcpy(out, v, vlen);
    out[vlen] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct acme_resp *r = arg;
    size_t len = size * n;
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after a 100 or a redirect): forget the last one's */
        r->nonce[0] = r->location[0] = r->content_type[0] = '\0';
        return len;
    }
    header_value(data, len, "Replay-Nonce", r->nonce, sizeof(r->nonce));
    header_value(data, len, "Location", r->location, sizeof(r->location));
    header_value(data, len, "Content-Type", r->content_type, sizeof(r->content_type));
    return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct acme_http *h = arg;
    return h->stop && atomic_load(h->stop) ? 1 : 0;
}

int acme_http_request(struct acme_http *h, const char *url, const char *body, bool head,
                      struct acme_resp *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    struct sink sink = { .r = r };
    CURL *c = h->curl;
    curl_easy_reset(c);
    struct curl_slist *hdrs = NULL;
    if (body)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
    hdrs = curl_slist_append(hdrs, "User-Agent: rpxy-acme");
    const char *cafile = getenv("SSL_CERT_FILE"), *capath = getenv("SSL_CERT_DIR");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cafile && *cafile)
        curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
    if (capath && *capath)
        curl_easy_setopt(c, CURLOPT_CAPATH, capath);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)ACME_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ACME_REQUEST_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ACME_BODY_MAX);
    if (head)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        if (sink.too_big || rc == CURLE_FILESIZE_EXCEEDED)
            snprintf(err, errlen, "%s: response body larger than %u bytes", url, ACME_BODY_MAX);
        else
            snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(rc));
        acme_resp_free(r);
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (!r->body) {
        r->body = calloc(1, 1);
        if (!r->body) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}
