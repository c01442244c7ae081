/* TLS over a non-blocking socket driven by an edge-triggered loop.
 *
 * Our own BIO does the socket calls, so we know what epoll needs to know:
 * whether the kernel's receive queue was drained by the last read (else the
 * caller must read again: no new edge will come), and ciphertext the kernel
 * did not take is kept in `pending` instead of making OpenSSL retry, so an
 * SSL_write never has to be repeated with the same arguments. The caller
 * flushes `pending` before writing anything new. */
#ifndef RPXY_NET_TLS_IO_H
#define RPXY_NET_TLS_IO_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/buf.h"
#include "net/io_result.h"

struct tls_io {
    SSL *ssl;
    int fd;
    bool drained;       /* the last socket read got less than asked, or nothing */
    bool eof;           /* the socket read returned 0 */
    bool got_bytes;     /* anything was received at all */
    bool corked;        /* collect records in `pending` (sent by the next flush) */
    struct buf pending; /* ciphertext not yet taken by the socket */
};

/* Attaches ssl (taking ownership) to fd. Returns 0 or -1. */
int tls_io_attach(struct tls_io *t, SSL *ssl, int fd);

/* Frees the SSL and the pending bytes (the fd stays open). */
void tls_io_free(struct tls_io *t);

/* Reads plaintext. Returns bytes (> 0), 0 at the end of the stream,
 * IO_AGAIN or IO_ERROR; *drained tells whether the socket needs a new edge
 * before more can come. */
ssize_t tls_io_read(struct tls_io *t, void *p, size_t n, bool *drained);

/* Encrypts all of iov, sending ciphertext whenever 16 KiB have collected,
 * until the socket is full. With flush, the rest is sent too; without, it
 * waits in `pending` for the caller's next tls_io_flush (so a response and
 * what follows it leave in one send). Returns plaintext bytes taken (less
 * than given only when the socket is full: then *blocked is set, and an
 * EPOLLOUT edge will come) or IO_ERROR. */
ssize_t tls_io_writev(struct tls_io *t, const struct iovec *iov, int n, bool flush, bool *blocked);

/* Sends pending ciphertext. Returns 1 when none is left, 0 when the socket
 * is full, IO_ERROR on failure. */
int tls_io_flush(struct tls_io *t);

static inline bool tls_io_has_pending(const struct tls_io *t)
{
    return t->pending.len != 0;
}

/* One handshake step. Returns 1 done, IO_AGAIN, or IO_ERROR (then
 * SSL_get_error and the OpenSSL error queue say why). The last flight (a
 * server's session tickets, a client's Finished) stays in `pending`, to go
 * out with the first data; earlier flights are sent at once. */
int tls_io_handshake(struct tls_io *t);

/* Sends close_notify after whatever is pending (no waiting for the peer's),
 * with MSG_MORE: the caller must shutdown() or close() right after, which
 * sends these bytes and the FIN together. Returns 1 when all is sent, 0 when
 * the socket is full (call again), or IO_ERROR. */
int tls_io_close_notify(struct tls_io *t);

#endif
