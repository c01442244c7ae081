/* Resumable decoder of the chunked transfer coding (RFC 9112 7.1), and the
 * writers of chunk framing.
 *
 * The decoder never copies or allocates: each call reports at most one span
 * of body data pointing into the input. Chunk-size lines and the CRLF after
 * data are consumed byte by byte, so any split of the input works; the
 * trailer section alone is consumed only once it is complete, so that it can
 * be reported (and forwarded) as one span: while it is incomplete the
 * decoder consumes nothing of it and the caller passes it again with more
 * bytes appended.
 *
 * Strict grammar: chunk-size is 1 to 16 hex digits with a value below 2^63
 * (no sign, no "0x", no whitespace around it unless an extension follows);
 * chunk extensions follow RFC 9112 7.1.1 exactly
 * (*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), so
 * whitespace before the CRLF is an error), their bytes in the whole body are
 * capped, and they are dropped; the CRLF after chunk data is required; lines
 * end in CRLF only; trailer field lines follow the header rules of
 * h1_parse_fields and their total size is capped. Trailer fields are not
 * filtered: RFC 9110 6.5.1 says which ones a recipient may not merge into the
 * header section, which is the consumer's concern.
 */
#ifndef RPXY_HTTP_H1_CHUNKED_H
#define RPXY_HTTP_H1_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

/* h1_chunked_decode results */
#define H1_CHUNK_DATA 1 /* out->data[0..data_len) is body data */
#define H1_CHUNK_DONE 0 /* the body is complete; out->trailer is the trailer section */
#define H1_CHUNK_ERROR (-1)
#define H1_CHUNK_MORE (-2) /* all usable input consumed: call again with more */

/* Decoder state: initialise with h1_chunked_init; fields are private. */
struct h1_chunked {
    uint64_t size;        /* chunk size being read, then data bytes still due */
    uint64_t ext_bytes;   /* chunk-extension bytes seen in this body */
    uint64_t max_ext;     /* limit of ext_bytes */
    size_t max_trailer;   /* limit of the trailer section, final CRLF included */
    const char *why;      /* the error, once in error */
    unsigned char state;  /* where in the grammar the next byte falls */
    unsigned char digits; /* hex digits of the chunk size so far */
};

/* One call's result; spans point into the buffer passed to that call. */
struct h1_chunk_out {
    size_t consumed;  /* bytes of the input used; drop them before the next call */
    const char *data; /* H1_CHUNK_DATA: body bytes */
    size_t data_len;
    const char *trailer; /* H1_CHUNK_DONE: the trailer field lines, each ending in CRLF, */
    size_t trailer_len;  /* without the final empty line (length 0 if there is none) */
    const char *why;     /* H1_CHUNK_ERROR: short static text */
};

/* Prepares *c for a new body. max_ext caps the bytes of all chunk extensions
 * of the body (0 rejects any extension); max_trailer caps the trailer section
 * including its final CRLF (at least 2 to allow the empty one). */
void h1_chunked_init(struct h1_chunked *c, uint64_t max_ext, size_t max_trailer);

/* Decodes from buf[0..len), which must start at the first byte not consumed
 * by the previous call. Fills *out (spans point into buf; the caller keeps
 * owning it). Returns H1_CHUNK_DATA (call again with buf + out->consumed),
 * H1_CHUNK_DONE (out->consumed ends at the end of the body; later calls
 * return H1_CHUNK_DONE and consume nothing), H1_CHUNK_MORE (the input is
 * exhausted, or a partial trailer section was left unconsumed), or
 * H1_CHUNK_ERROR with out->why (later calls fail the same way). */
int h1_chunked_decode(struct h1_chunked *c, const char *buf, size_t len, struct h1_chunk_out *out);

/* Longest chunk header h1_chunk_header writes: 16 hex digits and CRLF. */
#define H1_CHUNK_HEADER_MAX 18

/* Writes the chunk-size line "<hex>\r\n" (lower-case, no leading zeros) for a
 * chunk of size bytes into out. Returns its length, or 0 (nothing written)
 * for size 0, since "0\r\n" would end the body: use h1_chunk_last for that. */
size_t h1_chunk_header(char out[H1_CHUNK_HEADER_MAX], uint64_t size);

/* Writes the end of a chunked body into out (cap bytes): the last-chunk
 * "0\r\n", the trailer field lines (each ending in CRLF, as reported by
 * h1_chunked_decode; trailer_len may be 0) and the final "\r\n". Returns the
 * length written (5 + trailer_len), or 0 if cap is too small. */
size_t h1_chunk_last(char *out, size_t cap, const char *trailer, size_t trailer_len);

#endif
