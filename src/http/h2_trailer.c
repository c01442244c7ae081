#include "http/h2_trailer.h"

#include <string.h>

#include "http/field.h"
#include "http/h1_parser.h"

#define MAX_FIELDS 100

int h2_trailer_append(struct buf *b, const uint8_t *name, size_t nl, const uint8_t *value,
                      size_t vl)
{
    size_t need = nl + vl + 4;
    if (b->len + need > H2_TRAILER_MAX || buf_reserve(b, need) < 0)
        return -1;
    char *o = buf_data(b) + b->len;
    memcpy(o, name, nl);
    memcpy(o + nl, ": ", 2);
    memcpy(o + nl + 2, value, vl);
    memcpy(o + nl + 2 + vl, "\r\n", 2);
    b->len += need;
    return 0;
}

static bool connection_specific(const struct http_field *h)
{
    return NAME_IS(h, "content-length") || NAME_IS(h, "transfer-encoding") ||
           NAME_IS(h, "connection") || NAME_IS(h, "host") || NAME_IS(h, "te") ||
           NAME_IS(h, "trailer") || NAME_IS(h, "keep-alive") || NAME_IS(h, "upgrade") ||
           NAME_IS(h, "proxy-connection");
}

size_t h2_trailer_fields(struct buf *text, struct http_field *f, size_t cap)
{
    size_t len = text->len;
    /* h1_parse_fields wants the empty line that ends the section */
    if (!len || buf_reserve(text, 2) < 0)
        return 0;
    char *p = buf_data(text);
    memcpy(p + len, "\r\n", 2);
    struct http_field all[MAX_FIELDS];
    size_t n = 0;
    const char *why;
    if (h1_parse_fields(p, len + 2, len + 2, all, cap < MAX_FIELDS ? cap : MAX_FIELDS, &n, &why) <
        0)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (connection_specific(&all[i]))
            continue;
        char *name = (char *)all[i].name; /* our own buffer */
        for (size_t j = 0; j < all[i].name_len; j++)
            if (name[j] >= 'A' && name[j] <= 'Z')
                name[j] = (char)(name[j] + 32);
        f[k++] = all[i];
    }
    return k;
}

size_t h2_trailer_nv(struct buf *text, nghttp2_nv *nv, size_t cap)
{
    struct http_field f[MAX_FIELDS];
    size_t k = h2_trailer_fields(text, f, cap < MAX_FIELDS ? cap : MAX_FIELDS);
    for (size_t i = 0; i < k; i++)
        nv[i] = (nghttp2_nv){ (uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].name_len,
                              f[i].value_len, NGHTTP2_NV_FLAG_NONE };
    return k;
}
