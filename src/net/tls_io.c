#include "net/tls_io.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#define WRITE_CHUNK (32u * 1024)

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

/* Appends to pending; the caller bounds how much can pile up. */
static int keep(struct tls_io *t, const char *p, size_t n)
{
    if (buf_reserve(&t->pending, n) < 0)
        return -1;
    memcpy(buf_data(&t->pending) + t->pending.len, p, n);
    t->pending.len += n;
    return 0;
}

static int bio_write(BIO *b, const char *p, int len)
{
    struct tls_io *t = BIO_get_data(b);
    size_t n = (size_t)len, done = 0;
    if (t->corked && t->pending.len + n <= BUF_MAX)
        return keep(t, p, n) < 0 ? -1 : len;
    if (!t->pending.len) {
        ssize_t w;
        do
            w = send(t->fd, p, n, MSG_NOSIGNAL);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN)
            return -1;
        done = w > 0 ? (size_t)w : 0;
    }
    if (done < n && keep(t, p + done, n - done) < 0)
        return -1;
    return len;
}

static int bio_read(BIO *b, char *p, int len)
{
    struct tls_io *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t r;
    do
        r = recv(t->fd, p, (size_t)len, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        t->got_bytes = true;
        t->drained = r < len;
        return (int)r;
    }
    t->drained = true;
    if (r == 0) {
        t->eof = true;
        return 0;
    }
    if (errno == EAGAIN)
        BIO_set_retry_read(b);
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void make_method(void)
{
    method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rpxy socket");
    if (!method)
        return;
    BIO_meth_set_write(method, bio_write);
    BIO_meth_set_read(method, bio_read);
    BIO_meth_set_ctrl(method, bio_ctrl);
    BIO_meth_set_create(method, bio_create);
}

int tls_io_attach(struct tls_io *t, SSL *ssl, int fd)
{
    pthread_once(&method_once, make_method);
    memset(t, 0, sizeof(*t));
    t->fd = fd;
    BIO *b = method ? BIO_new(method) : NULL;
    if (!b) {
        SSL_free(ssl);
        return -1;
    }
    BIO_set_data(b, t);
    SSL_set_bio(ssl, b, b);
    t->ssl = ssl;
    return 0;
}

void tls_io_free(struct tls_io *t)
{
    if (t->ssl)
        SSL_free(t->ssl);
    t->ssl = NULL;
    t->pending.len = 0;
    buf_release(&t->pending);
}

static int flush_with(struct tls_io *t, int flags)
{
    while (t->pending.len) {
        ssize_t w;
        do
            w = send(t->fd, buf_data(&t->pending), t->pending.len, MSG_NOSIGNAL | flags);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            return errno == EAGAIN ? 0 : IO_ERROR;
        buf_consume(&t->pending, (size_t)w);
    }
    buf_release(&t->pending);
    return 1;
}

int tls_io_flush(struct tls_io *t)
{
    return flush_with(t, 0);
}

ssize_t tls_io_read(struct tls_io *t, void *p, size_t n, bool *drained)
{
    size_t got = 0;
    ERR_clear_error();
    t->corked = true; /* a KeyUpdate answer goes out with the next write */
    int ok = SSL_read_ex(t->ssl, p, n, &got);
    t->corked = false;
    if (ok) {
        *drained = t->drained && !SSL_has_pending(t->ssl);
        return (ssize_t)got;
    }
    *drained = true;
    switch (SSL_get_error(t->ssl, 0)) {
    case SSL_ERROR_WANT_READ: return IO_AGAIN;
    case SSL_ERROR_ZERO_RETURN: return 0;
    default: ERR_clear_error(); return IO_ERROR;
    }
}

/* A position in an iovec array. */
struct iov_cursor {
    const struct iovec *iov;
    int n, i;
    size_t off;
};

/* The next contiguous piece of at most max bytes (0: none left); the cursor
 * moves past it. */
static size_t next_piece(struct iov_cursor *c, size_t max, const char **p)
{
    while (c->i < c->n && c->off == c->iov[c->i].iov_len) {
        c->i++;
        c->off = 0;
    }
    if (c->i == c->n)
        return 0;
    size_t k = c->iov[c->i].iov_len - c->off;
    if (k > max)
        k = max;
    *p = (const char *)c->iov[c->i].iov_base + c->off;
    c->off += k;
    return k;
}

/* Encrypts the next `chunk` bytes of the cursor's iovec. Small pieces go in
 * one record. Returns bytes taken or IO_ERROR. */
static ssize_t encrypt_chunk(struct tls_io *t, struct iov_cursor *cur, size_t chunk)
{
    char one[16384];
    const char *p;
    size_t taken = 0, k, w;
    bool failed = false;
    ERR_clear_error();
    t->corked = true;
    if (chunk <= sizeof(one) && cur->n > 1) {
        while (taken < chunk && (k = next_piece(cur, chunk - taken, &p))) {
            memcpy(one + taken, p, k);
            taken += k;
        }
        failed = SSL_write_ex(t->ssl, one, taken, &w) != 1;
    } else {
        while (!failed && taken < chunk && (k = next_piece(cur, chunk - taken, &p))) {
            failed = SSL_write_ex(t->ssl, p, k, &w) != 1;
            taken += k;
        }
    }
    t->corked = false;
    return failed ? IO_ERROR : (ssize_t)taken;
}

ssize_t tls_io_writev(struct tls_io *t, const struct iovec *iov, int n, bool flush, bool *blocked)
{
    *blocked = false;
    struct iov_cursor cur = { .iov = iov, .n = n };
    size_t left = 0, taken = 0;
    for (int k = 0; k < n; k++)
        left += iov[k].iov_len;
    bool older = flush && t->pending.len;
    while (left) {
        if (t->pending.len >= BUF_BLOCK || older) {
            int f = tls_io_flush(t);
            if (f == IO_ERROR)
                return IO_ERROR;
            if (f == 0) {
                *blocked = true;
                return (ssize_t)taken;
            }
            older = false;
        }
        ssize_t w = encrypt_chunk(t, &cur, left < WRITE_CHUNK ? left : WRITE_CHUNK);
        if (w < 0)
            return IO_ERROR;
        taken += (size_t)w;
        left -= (size_t)w;
    }
    if (flush && t->pending.len) {
        int f = tls_io_flush(t);
        if (f == IO_ERROR)
            return IO_ERROR;
        *blocked = f == 0;
    }
    return (ssize_t)taken;
}

int tls_io_handshake(struct tls_io *t)
{
    ERR_clear_error();
    t->corked = true;
    int r = SSL_do_handshake(t->ssl);
    t->corked = false;
    if (r == 1)
        return 1;
    if (t->pending.len && tls_io_flush(t) == IO_ERROR)
        return IO_ERROR;
    int e = SSL_get_error(t->ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? IO_AGAIN : IO_ERROR;
}

int tls_io_close_notify(struct tls_io *t)
{
    if (!t->ssl)
        return 1;
    if (SSL_is_init_finished(t->ssl) && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
        ERR_clear_error();
        t->corked = true;
        SSL_shutdown(t->ssl);
        t->corked = false;
        ERR_clear_error();
    }
    /* the caller's shutdown() or close() comes next and pushes these bytes
     * with the FIN in one segment */
    return flush_with(t, MSG_MORE);
}
