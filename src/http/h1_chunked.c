/* Chunked transfer coding: a byte-driven state machine over the chunk-size
 * lines, data spans reported in place, the trailer section validated whole
 * by h1_parse_fields. See h1_chunked.h. */
#include "http/h1_chunked.h"

#include "http/h1_parser.h"

#include <stdbool.h>
#include <string.h>

/* Where the next byte falls in
 *   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) */
enum {
    S_SIZE_FIRST,   /* first hex digit of chunk-size */
    S_SIZE,         /* more digits, or the extensions, or CR */
    S_EXT_WS_SEMI,  /* BWS, then ";" */
    S_EXT_WS_NAME,  /* BWS after ";", then ext-name */
    S_EXT_NAME,     /* ext-name; then BWS "=", ";" or CR */
    S_EXT_WS_EQ,    /* BWS after ext-name, then "=" or ";" */
    S_EXT_WS_VALUE, /* BWS after "=", then token or quoted-string */
    S_EXT_TOKEN,    /* token ext-val; then BWS ";" or CR */
    S_EXT_QUOTED,   /* inside a quoted-string */
    S_EXT_QPAIR,    /* after a backslash inside a quoted-string */
    S_EXT_END,      /* after a quoted-string: BWS ";" or CR */
    S_SIZE_LF,      /* LF ending the chunk-size line */
    S_DATA,         /* chunk-data, c->size bytes left */
    S_DATA_CR,      /* CR after chunk-data */
    S_DATA_LF,      /* LF after chunk-data */
    S_TRAILER,      /* trailer-section CRLF, parsed whole */
    S_DONE,
    S_ERROR,
};

void h1_chunked_init(struct h1_chunked *c, uint64_t max_ext, size_t max_trailer)
{
    memset(c, 0, sizeof(*c));
    c->max_ext = max_ext;
    c->max_trailer = max_trailer;
    c->state = S_SIZE_FIRST;
}

static int fail(struct h1_chunked *c, struct h1_chunk_out *out, const char *why)
{
    c->state = S_ERROR;
    c->why = why;
    out->why = why;
    return H1_CHUNK_ERROR;
}

static inline bool is_ows(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

static inline unsigned hex_value(unsigned char ch)
{
    return ch <= '9' ? (unsigned)(ch - '0') : (unsigned)((ch | 0x20) - 'a' + 10);
}

int h1_chunked_decode(struct h1_chunked *c, const char *buf, size_t len, struct h1_chunk_out *out)
{
    const char *p = buf, *end = buf + len;

    memset(out, 0, sizeof(*out));
    if (c->state == S_ERROR) {
        out->why = c->why;
        return H1_CHUNK_ERROR;
    }
    if (c->state == S_DONE)
        return H1_CHUNK_DONE;

/* one more byte of chunk extension, then the transition */
#define EXT_BYTE()                                                                                 \
    do {                                                                                           \
        if (++c->ext_bytes > c->max_ext)                                                           \
            return fail(c, out, "chunk extensions too long");                                      \
    } while (0)
#define BAD_EXT() fail(c, out, ch == '\n' ? "bare LF" : "invalid chunk extension")

    for (; p < end; p++) {
        unsigned char ch = (unsigned char)*p;
        unsigned k = h1_char_class[ch];

        switch (c->state) {
        case S_SIZE_FIRST:
            if (!(k & H1_C_HEX))
                return fail(c, out, ch == '\n' ? "bare LF" : "invalid chunk size");
            c->size = hex_value(ch);
            c->digits = 1;
            c->state = S_SIZE;
            break;
        case S_SIZE:
            if (k & H1_C_HEX) {
                if (++c->digits > 16)
                    return fail(c, out, "chunk size too long");
                if (c->size > (uint64_t)INT64_MAX >> 4)
                    return fail(c, out, "chunk size too large");
                c->size = c->size << 4 | hex_value(ch);
            } else if (ch == '\r') {
                c->state = S_SIZE_LF;
            } else if (ch == ';' || is_ows(ch)) {
                EXT_BYTE();
                c->state = ch == ';' ? S_EXT_WS_NAME : S_EXT_WS_SEMI;
            } else {
                return fail(c, out, ch == '\n' ? "bare LF" : "invalid chunk size");
            }
            break;
        case S_EXT_WS_SEMI:
            EXT_BYTE();
            if (ch == ';')
                c->state = S_EXT_WS_NAME;
            else if (!is_ows(ch))
                return BAD_EXT();
            break;
        case S_EXT_WS_NAME:
            EXT_BYTE();
            if (k & H1_C_TOKEN)
                c->state = S_EXT_NAME;
            else if (!is_ows(ch))
                return BAD_EXT();
            break;
        case S_EXT_NAME:
            if (ch == '\r') {
                c->state = S_SIZE_LF;
                break;
            }
            EXT_BYTE();
            if (ch == '=')
                c->state = S_EXT_WS_VALUE;
            else if (ch == ';')
                c->state = S_EXT_WS_NAME;
            else if (is_ows(ch))
                c->state = S_EXT_WS_EQ;
            else if (!(k & H1_C_TOKEN))
                return BAD_EXT();
            break;
        case S_EXT_WS_EQ:
            EXT_BYTE();
            if (ch == '=')
                c->state = S_EXT_WS_VALUE;
            else if (ch == ';')
                c->state = S_EXT_WS_NAME;
            else if (!is_ows(ch))
                return BAD_EXT();
            break;
        case S_EXT_WS_VALUE:
            EXT_BYTE();
            if (ch == '"')
                c->state = S_EXT_QUOTED;
            else if (k & H1_C_TOKEN)
                c->state = S_EXT_TOKEN;
            else if (!is_ows(ch))
                return BAD_EXT();
            break;
        case S_EXT_TOKEN:
        case S_EXT_END:
            if (ch == '\r') {
                c->state = S_SIZE_LF;
                break;
            }
            EXT_BYTE();
            if (ch == ';')
                c->state = S_EXT_WS_NAME;
            else if (is_ows(ch))
                c->state = S_EXT_WS_SEMI;
            else if (c->state != S_EXT_TOKEN || !(k & H1_C_TOKEN))
                return BAD_EXT();
            break;
        case S_EXT_QUOTED:
            EXT_BYTE();
            if (ch == '"')
                c->state = S_EXT_END;
            else if (ch == '\\')
                c->state = S_EXT_QPAIR;
            else if (!(k & H1_C_QDTEXT))
                return BAD_EXT();
            break;
        case S_EXT_QPAIR:
            EXT_BYTE();
            if (!(k & H1_C_VALUE))
                return BAD_EXT();
            c->state = S_EXT_QUOTED;
            break;
        case S_SIZE_LF:
            if (ch != '\n')
                return fail(c, out, "bare CR");
            c->state = c->size ? S_DATA : S_TRAILER;
            break;
        case S_DATA: {
            size_t avail = (size_t)(end - p);
            size_t n = c->size < avail ? (size_t)c->size : avail;
            c->size -= n;
            if (c->size == 0)
                c->state = S_DATA_CR;
            out->data = p;
            out->data_len = n;
            out->consumed = (size_t)(p - buf) + n;
            return H1_CHUNK_DATA;
        }
        case S_DATA_CR:
            if (ch != '\r')
                return fail(c, out, "missing CRLF after chunk data");
            c->state = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (ch != '\n')
                return fail(c, out, "missing CRLF after chunk data");
            c->state = S_SIZE_FIRST;
            break;
        case S_TRAILER: {
            const char *why = NULL;
            int r = h1_parse_fields(p, (size_t)(end - p), c->max_trailer, NULL, 0, NULL, &why);
            if (r == H1_INCOMPLETE) {
                out->consumed = (size_t)(p - buf);
                return H1_CHUNK_MORE;
            }
            if (r < 0)
                return fail(c, out, why);
            c->state = S_DONE;
            out->trailer = p;
            out->trailer_len = (size_t)r - 2;
            out->consumed = (size_t)(p - buf) + (size_t)r;
            return H1_CHUNK_DONE;
        }
        default: return fail(c, out, "invalid decoder state");
        }
    }
#undef EXT_BYTE
#undef BAD_EXT
    out->consumed = len;
    return H1_CHUNK_MORE;
}

size_t h1_chunk_header(char out[H1_CHUNK_HEADER_MAX], uint64_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    for (uint64_t v = size; v; v >>= 4)
        n++;
    for (size_t i = n; i > 0; i--, size >>= 4)
        out[i - 1] = hex[size & 15];
    if (n == 0)
        return 0;
    out[n] = '\r';
    out[n + 1] = '\n';
    return n + 2;
}

size_t h1_chunk_last(char *out, size_t cap, const char *trailer, size_t trailer_len)
{
    if (cap < 5 || trailer_len > cap - 5)
        return 0;
    memcpy(out, "0\r\n", 3);
    if (trailer_len)
        memcpy(out + 3, trailer, trailer_len);
    memcpy(out + 3 + trailer_len, "\r\n", 2);
    return trailer_len + 5;
}
