#include "upstream/pool.h"

#include <errno.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/worker.h"
#include "proxy/runtime.h"
#include "tls/client.h"

#define POOL_BUCKETS 64

struct pool_bucket {
    struct upstream_conn *head;
    size_t n;
};

struct upstream_pool {
    struct worker *w;
    struct pool_bucket buckets[POOL_BUCKETS];
    /* the last TLS session per bucket, to resume the next handshake */
    struct tls_session_slot sessions[POOL_BUCKETS];
};

static size_t addr_bucket(const struct sockaddr *a, socklen_t len, const char *tls_name)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)a;
    for (socklen_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    for (const char *c = tls_name; c && *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    return (size_t)(h % POOL_BUCKETS);
}

struct upstream_pool *upstream_pool_new(struct worker *w)
{
    struct upstream_pool *p = calloc(1, sizeof(*p));
    if (p)
        p->w = w;
    return p;
}

void upstream_pool_free(struct upstream_pool *p)
{
    if (!p)
        return;
    upstream_pool_close_all(p);
    for (size_t i = 0; i < POOL_BUCKETS; i++)
        SSL_SESSION_free(p->sessions[i].session);
    free(p);
}

static void unlink_idle(struct upstream_pool *p, struct upstream_conn *uc)
{
    struct pool_bucket *b = &p->buckets[uc->bucket];
    if (uc->idle_prev)
        uc->idle_prev->idle_next = uc->idle_next;
    else
        b->head = uc->idle_next;
    if (uc->idle_next)
        uc->idle_next->idle_prev = uc->idle_prev;
    uc->idle_next = uc->idle_prev = NULL;
    b->n--;
    loop_timer_cancel(p->w->loop, &uc->idle_timer);
}

static void free_conn(struct loop *loop, struct loop_deferred *d);

struct deferred_free {
    struct loop_deferred d;
    struct upstream_conn *uc;
};

void upstream_conn_close(struct upstream_pool *p, struct upstream_conn *uc)
{
    if (p->w->mx.on)
        mx_add(&p->w->mx.up_closed[uc->mx_slot], 1);
    loop_timer_cancel(p->w->loop, &uc->idle_timer);
    loop_close(p->w->loop, &uc->io);
    uc->owner = NULL;
    uc->in.len = 0;
    buf_release(&uc->in);
    if (uc->tls) {
        tls_io_free(uc->tls);
        free(uc->tls);
        uc->tls = NULL;
    }
    /* freed after this loop pass: an event for it may still be queued */
    struct deferred_free *df = malloc(sizeof(*df));
    if (!df) {
        /* cannot defer; leak rather than risk a use after free */
        return;
    }
    memset(df, 0, sizeof(*df));
    df->uc = uc;
    loop_defer(p->w->loop, &df->d, free_conn);
}

static void free_conn(struct loop *loop, struct loop_deferred *d)
{
    struct deferred_free *df = container_of(d, struct deferred_free, d);
    free(df->uc);
    free(df);
}

static void on_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct upstream_conn *uc = container_of(io, struct upstream_conn, io);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        uc->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        uc->rdhup = true;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        uc->can_write = true;
    if (uc->owner) {
        uc->on_event(uc, events);
        return;
    }
    /* Idle: any input or hang-up means the backend is closing it. */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        unlink_idle(uc->pool, uc);
        upstream_conn_close(uc->pool, uc);
    }
}

static void on_idle_timeout(struct loop *loop, struct loop_timer *t)
{
    struct upstream_conn *uc = container_of(t, struct upstream_conn, idle_timer);
    unlink_idle(uc->pool, uc);
    upstream_conn_close(uc->pool, uc);
}

static bool same_tls(const struct upstream_conn *uc, const char *tls_name)
{
    if (!tls_name)
        return !uc->tls;
    return uc->tls && strcmp(uc->tls_name, tls_name) == 0;
}

struct upstream_conn *upstream_pool_take(struct upstream_pool *p, const struct sockaddr *addr,
                                         socklen_t len, const char *tls_name)
{
    struct pool_bucket *b = &p->buckets[addr_bucket(addr, len, tls_name)];
    for (struct upstream_conn *uc = b->head; uc; uc = uc->idle_next) {
        if (uc->addr_len == len && memcmp(&uc->addr, addr, len) == 0 && same_tls(uc, tls_name)) {
            unlink_idle(p, uc);
            uc->reused = true;
            return uc;
        }
    }
    return NULL;
}

/* Sets up the client side of TLS on a new connection. */
static int start_tls(struct upstream_pool *p, struct upstream_conn *uc, int fd,
                     const char *tls_name)
{
    snprintf(uc->tls_name, sizeof(uc->tls_name), "%s", tls_name);
    uc->tls = calloc(1, sizeof(*uc->tls));
    SSL *ssl = uc->tls ? tls_client_ssl_new(tls_name, &p->sessions[uc->bucket]) : NULL;
    if (!ssl || tls_io_attach(uc->tls, ssl, fd) < 0) {
        free(uc->tls);
        uc->tls = NULL;
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

struct upstream_conn *upstream_connect(struct upstream_pool *p, const struct sockaddr *addr,
                                       socklen_t len, const char *tls_name, unsigned mx_slot)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, addr, len) < 0 && errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    struct upstream_conn *uc = calloc(1, sizeof(*uc));
    if (!uc) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    uc->pool = p;
    memcpy(&uc->addr, addr, len);
    uc->addr_len = len;
    uc->bucket = addr_bucket(addr, len, tls_name);
    if (tls_name && start_tls(p, uc, fd, tls_name) < 0) {
        close(fd);
        free(uc);
        errno = ENOMEM;
        return NULL;
    }
    if (loop_add(p->w->loop, &uc->io, fd, on_io, true) < 0) { /* connect completes as writable */
        int saved = errno;
        close(fd);
        if (uc->tls) {
            tls_io_free(uc->tls);
            free(uc->tls);
        }
        free(uc);
        errno = saved;
        return NULL;
    }
    uc->mx_slot = mx_slot < MX_UPSTREAMS ? mx_slot : 0;
    if (p->w->mx.on)
        mx_add(&p->w->mx.up_opened[uc->mx_slot], 1);
    return uc;
}

void upstream_pool_put(struct upstream_pool *p, struct upstream_conn *uc)
{
    struct pool_bucket *b = &p->buckets[uc->bucket];
    if (b->n >= UPSTREAM_IDLE_PER_KEY || uc->in.len || p->w->draining) {
        upstream_conn_close(p, uc);
        return;
    }
    uc->owner = NULL;
    buf_release(&uc->in);
    uc->idle_prev = NULL;
    uc->idle_next = b->head;
    if (b->head)
        b->head->idle_prev = uc;
    b->head = uc;
    b->n++;
    uint64_t idle_ms = p->w->rt ? p->w->rt->cfg->upstream_idle_timeout_s * 1000 : 4000;
    loop_timer_set(p->w->loop, &uc->idle_timer, idle_ms, on_idle_timeout);
}

void upstream_pool_idle(const struct upstream_pool *p, uint64_t by_slot[MX_UPSTREAMS])
{
    memset(by_slot, 0, MX_UPSTREAMS * sizeof(*by_slot));
    for (size_t i = 0; i < POOL_BUCKETS; i++)
        for (const struct upstream_conn *uc = p->buckets[i].head; uc; uc = uc->idle_next)
            by_slot[uc->mx_slot]++;
}

void upstream_pool_close_all(struct upstream_pool *p)
{
    for (size_t i = 0; i < POOL_BUCKETS; i++) {
        while (p->buckets[i].head) {
            struct upstream_conn *uc = p->buckets[i].head;
            unlink_idle(p, uc);
            upstream_conn_close(p, uc);
        }
    }
}
