/* The HTTP/1.x client connection: admission, reading and parsing request
 * heads, synthetic responses, writing, timeouts and closing. Proxying a
 * parsed request is exchange.c's job. */
#include "proxy/h1_client_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config/config.h"
#include "core/server.h"
#include "core/worker.h"
#include "log/access_line.h"
#include "log/log.h"
#include "proxy/exchange.h"
#include "proxy/client_tls.h"
#include "proxy/headers.h"
#include "proxy/runtime.h"

static const struct h1_limits request_limits = {
    .max_start_line = 8192,
    .max_head = BUF_MAX,
    .max_headers = CLIENT_MAX_HEADERS,
};

static void client_close(struct client *c);

#define LINGER_MS 2000

static void on_linger_timeout(struct loop *loop, struct loop_timer *t)
{
    client_close(container_of(t, struct client, timer));
}

/* Closing with unread input would send a reset that can destroy the response
 * in flight; so after an error we shut our side down and discard what the
 * client still sends, until it closes or LINGER_MS pass. */
static void linger(struct client *c)
{
    if (!c->lingering) {
        c->lingering = true;
        shutdown(c->io.fd, SHUT_WR);
        loop_timer_set(c->w->loop, &c->timer, LINGER_MS, on_linger_timeout);
    }
    char sink[16384];
    while (c->can_read) {
        ssize_t n = read(c->io.fd, sink, sizeof(sink));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->can_read = false;
            return;
        }
        client_close(c); /* EOF or error */
        return;
    }
}

static void on_head_timeout(struct loop *loop, struct loop_timer *t)
{
    struct client *c = container_of(t, struct client, timer);
    if (!c->ex)
        client_close(c);
}

static void on_tls_timeout(struct loop *loop, struct loop_timer *t)
{
    struct client *c = container_of(t, struct client, timer);
    client_tls_timed_out(c);
    client_close(c);
}

static void on_life_timeout(struct loop *loop, struct loop_timer *t)
{
    struct client *c = container_of(t, struct client, life);
    log_debug("Connection handling timeout: closing %p", (void *)c);
    client_close(c);
}

static void on_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct client *c = container_of(io, struct client, io);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rdhup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->can_write = true;
    client_drive(c);
}

static void free_client(struct loop *loop, struct loop_deferred *d)
{
    struct client *c = container_of(d, struct client, free_d);
    free(c);
}

static void client_close(struct client *c)
{
    if (c->dead)
        return;
    c->dead = true;
    if (c->ex)
        exchange_abort(c->ex, 0, NULL);
    struct worker *w = c->w;
    loop_timer_cancel(w->loop, &c->timer);
    loop_timer_cancel(w->loop, &c->life);
    loop_close(w->loop, &c->io);
    c->in.len = c->out.len = 0;
    buf_release(&c->in);
    buf_release(&c->out);
    client_tls_free(c);
    if (c->ip_slot)
        server_ip_release(&c->peer_ip, c->ip_limit);
    if (c->counted)
        atomic_fetch_sub(&g_server.clients, 1);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients.head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop_defer(w->loop, &c->free_d, free_client);
    worker_conn_closed(w);
}

/* Takes a max_clients slot. Returns false (nothing taken) when full. */
static bool count_client(const struct cfg *cfg)
{
    long n = atomic_fetch_add(&g_server.clients, 1) + 1;
    if (n > (long)cfg->max_clients) {
        atomic_fetch_sub(&g_server.clients, 1);
        log_debug("max_clients reached: closing a new connection");
        return false;
    }
    return true;
}

void client_accept(struct worker *w, int fd, const void *peer_sockaddr, uint16_t local_port,
                   bool tls)
{
    const struct sockaddr_storage *ss = peer_sockaddr;
    struct ip_addr ip = { 0 };
    uint16_t port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = peer_sockaddr;
        ip.family = 4;
        memcpy(ip.bytes, &sin->sin_addr, 4);
        port = ntohs(sin->sin_port);
    } else {
        const struct sockaddr_in6 *sin6 = peer_sockaddr;
        ip.family = 6;
        memcpy(ip.bytes, &sin6->sin6_addr, 16);
        port = ntohs(sin6->sin6_port);
        ip = ip_unmap(ip);
    }
    const struct cfg *cfg = w->rt ? w->rt->cfg : NULL;
    if (!cfg || w->draining) {
        close(fd);
        return;
    }
    uint32_t limit = cfg->max_clients_per_ip;
    if (!server_ip_acquire(&ip, limit)) {
        log_debug("Too many connections from one IP: closing");
        close(fd);
        return;
    }
    /* TLS: max_clients is checked once the handshake is done (SPEC 4.1) */
    if (!tls && !count_client(cfg)) {
        server_ip_release(&ip, limit);
        close(fd);
        return;
    }
    struct client *c = calloc(1, sizeof(*c));
    if (!c) {
        if (!tls)
            atomic_fetch_sub(&g_server.clients, 1);
        server_ip_release(&ip, limit);
        close(fd);
        return;
    }
    c->counted = !tls;
    c->w = w; /* TCP_NODELAY: inherited from the listener */
    c->peer_ip = ip;
    c->peer_port = port;
    c->local_port = local_port;
    c->tls = tls;
    c->ip_slot = limit != 0;
    c->ip_limit = limit;
    c->can_write = true; /* a new socket has room; EPOLLOUT only after EAGAIN */
    c->io.fd = fd;
    if ((tls && client_tls_start(c, w->tls) < 0) ||
        loop_add(w->loop, &c->io, fd, on_io, false) < 0) {
        client_tls_free(c);
        if (c->counted)
            atomic_fetch_sub(&g_server.clients, 1);
        server_ip_release(&ip, limit);
        close(fd);
        free(c);
        return;
    }
    w->n_conns++;
    c->next = w->clients.head;
    if (c->next)
        c->next->prev = c;
    w->clients.head = c;
    if (tls)
        loop_timer_set(w->loop, &c->timer, TLS_HANDSHAKE_TIMEOUT_MS, on_tls_timeout);
    else
        loop_timer_set(w->loop, &c->timer, cfg->client_header_timeout_s * 1000, on_head_timeout);
    if (cfg->connection_handling_timeout_s)
        loop_timer_set(w->loop, &c->life, cfg->connection_handling_timeout_s * 1000,
                       on_life_timeout);
}

void client_close_idle_all(struct worker *w)
{
    struct client *c = w->clients.head;
    while (c) {
        struct client *next = c->next;
        if (!c->ex && c->in.len == 0 && c->out.len == 0)
            client_close(c);
        c = next;
    }
}

void client_close_all(struct worker *w)
{
    while (w->clients.head)
        client_close(w->clients.head);
}

ssize_t client_recv(struct client *c, void *p, size_t room)
{
    ssize_t n;
    if (c->tlsc) {
        bool drained;
        n = tls_io_read(&c->tlsc->io, p, room, &drained);
        if (n == IO_AGAIN || (drained && !c->rdhup))
            c->can_read = false;
        /* records the read produced (a KeyUpdate answer) go out at the end
         * of the pass; can_write stays as it is: it only turns false on
         * EAGAIN, or no EPOLLOUT edge would ever come to turn it back */
        return n;
    }
    do
        n = recv(c->io.fd, p, room, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        if ((size_t)n < room && !c->rdhup)
            c->can_read = false; /* drained: edge-triggered epoll reports new data */
        return n;
    }
    c->can_read = false;
    if (n == 0)
        return 0;
    return errno == EAGAIN ? IO_AGAIN : IO_ERROR;
}

static ssize_t send_tls(struct client *c, const struct iovec *iov, int n)
{
    bool blocked;
    ssize_t w = tls_io_writev(&c->tlsc->io, iov, n, false, &blocked);
    if (w < 0)
        return -1;
    if (w > 0)
        c->tlsc->ticket_only = false; /* the tickets leave with these bytes */
    if (blocked) {
        c->can_write = false;
        loop_want_out(c->w->loop, &c->io, true);
    } else if (c->io.events & EPOLLOUT) {
        loop_want_out(c->w->loop, &c->io, false);
    }
    return w;
}

long client_flush(struct client *c, const char *slice, size_t slice_len)
{
    if (!c->can_write || c->dead)
        return 0;
    struct iovec iov[2];
    int n = 0;
    if (c->out.len)
        iov[n++] = (struct iovec){ buf_data(&c->out), c->out.len };
    if (slice_len)
        iov[n++] = (struct iovec){ (void *)slice, slice_len };
    if (!n)
        return 0;
    size_t want = c->out.len + slice_len;
    ssize_t w;
    if (c->tlsc) {
        w = send_tls(c, iov, n);
        if (w < 0)
            return -1;
    } else {
        do
            w = n == 1 ? send(c->io.fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                       : writev(c->io.fd, iov, n);
        while (w < 0 && errno == EINTR);
        if (w < 0) {
            if (errno == EAGAIN) {
                c->can_write = false;
                loop_want_out(c->w->loop, &c->io, true);
                return 0;
            }
            return -1;
        }
    }
    size_t done = (size_t)w;
    if (!c->tlsc) { /* send_tls manages write interest itself */
        if (done < want) {
            c->can_write = false;
            loop_want_out(c->w->loop, &c->io, true);
        } else if (c->io.events & EPOLLOUT) {
            loop_want_out(c->w->loop, &c->io, false); /* drained: no more ACK wake-ups */
        }
    }
    size_t from_out = done < c->out.len ? done : c->out.len;
    buf_consume(&c->out, from_out);
    return (long)(done - from_out);
}

void client_synthetic(struct client *c, int status, const char *location, size_t location_len,
                      bool close_after)
{
    char head[256];
    const char *reason = alog_reason((unsigned)status);
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\ncontent-length: 0\r\ndate: %s\r\n",
                     status, reason ? reason : "", http_date_now());
    size_t need = (size_t)n + location_len + 48;
    if (buf_reserve(&c->out, need) < 0) {
        c->closing = true;
        return;
    }
    char *p = buf_data(&c->out) + c->out.len;
    memcpy(p, head, (size_t)n);
    p += n;
    if (location) {
        memcpy(p, "location: ", 10);
        p += 10;
        memcpy(p, location, location_len);
        p += location_len;
        memcpy(p, "\r\n", 2);
        p += 2;
    }
    if (close_after) {
        memcpy(p, "connection: close\r\n", 19);
        p += 19;
        c->closing = true;
    }
    memcpy(p, "\r\n", 2);
    p += 2;
    c->out.len = (size_t)(p - c->out.base - c->out.off);
}

/* Parses what c->in holds. Returns true when a request was taken (started
 * an exchange or queued a synthetic answer). */
static bool try_request(struct client *c)
{
    struct h1_header hdrs[CLIENT_MAX_HEADERS];
    struct h1_request req;
    int r = h1_parse_request(buf_data(&c->in), c->in.len, &request_limits, hdrs, &req);
    if (r == H1_INCOMPLETE)
        return false;
    loop_timer_cancel(c->w->loop, &c->timer);
    if (r == H1_ERROR) {
        log_debug("Invalid request from client: %s", req.err_reason);
        c->in.len = 0;
        client_synthetic(c, req.err_status, NULL, 0, true);
        return true;
    }
    exchange_start(c, &req, hdrs, (size_t)r);
    return true;
}

static int read_more(struct client *c)
{
    if (buf_reserve(&c->in, 4096) < 0)
        return -2; /* head larger than BUF_MAX */
    ssize_t n = client_recv(c, buf_data(&c->in) + c->in.len, buf_room(&c->in));
    if (n > 0) {
        c->in.len += (size_t)n;
        return 1;
    }
    if (n == 0) {
        c->read_eof = true;
        return 0;
    }
    return n == IO_AGAIN ? 0 : -1;
}

/* The handshake finished: count the connection, then wait for a request. */
static bool tls_ready(struct client *c)
{
    const struct cfg *cfg = c->w->rt ? c->w->rt->cfg : NULL;
    if (!cfg || !count_client(cfg))
        return false;
    c->counted = true;
    c->can_read = true; /* OpenSSL may hold request bytes read with the handshake */
    loop_timer_set(c->w->loop, &c->timer, cfg->client_header_timeout_s * 1000, on_head_timeout);
    return true;
}

/* TLS records are collected during a pass and sent at its end, so a
 * response and the close_notify after it (or the session tickets before it)
 * leave in one send. Tickets wait for the first response bytes. */
static void flush_at_end(struct client *c)
{
    struct client_tls *t = c->tlsc;
    if (c->dead || !t || !t->done || !tls_io_has_pending(&t->io) || !c->can_write)
        return;
    if (t->ticket_only && c->ex && !c->ex->resp_started)
        return;
    int f = tls_io_flush(&t->io);
    if (f == IO_ERROR) {
        client_close(c);
    } else if (f == 0) {
        c->can_write = false;
        loop_want_out(c->w->loop, &c->io, true);
    } else {
        t->ticket_only = false;
        if (c->io.events & EPOLLOUT)
            loop_want_out(c->w->loop, &c->io, false);
    }
}

static void drive(struct client *c);

void client_drive(struct client *c)
{
    drive(c);
    if (c->tlsc)
        flush_at_end(c);
}

static void drive(struct client *c)
{
    if (c->tlsc && !c->tlsc->done) {
        int r = client_tls_step(c);
        if (r < 0 || (r == 1 && !tls_ready(c))) {
            client_close(c);
            return;
        }
        if (r == 0)
            return;
    }
    while (!c->dead) {
        if (c->ex) {
            exchange_drive(c->ex);
            if (c->dead || c->ex)
                return;
            continue;
        }
        if (c->out.len) {
            if (client_flush(c, NULL, 0) < 0) {
                client_close(c);
                return;
            }
            if (c->out.len)
                return;
        }
        if (c->closing) {
            /* TLS: close_notify after the last bytes, in the same send */
            int f = c->tlsc && !c->lingering ? tls_io_close_notify(&c->tlsc->io) : 1;
            if (f == 0) {
                c->can_write = false;
                loop_want_out(c->w->loop, &c->io, true);
                return;
            }
            /* Lingering (half-close, read until the client's FIN) protects a
             * response from the reset that unread input would cause; after a
             * whole request with nothing more received, close() suffices */
            if (c->orderly && !c->lingering && c->in.len == 0 && !c->can_read) {
                client_close(c);
                return;
            }
            linger(c);
            return;
        }
        if (atomic_load_explicit(&g_server.draining, memory_order_relaxed) && c->in.len == 0) {
            client_close(c);
            return;
        }
        if (c->in.len && try_request(c))
            continue;
        if (c->read_eof) {
            client_close(c);
            return;
        }
        if (!c->can_read) {
            if (c->in.len == 0) {
                buf_release(&c->in);
                buf_release(&c->out);
                if (!loop_timer_armed(&c->timer) && c->w->rt)
                    loop_timer_set(c->w->loop, &c->timer,
                                   c->w->rt->cfg->client_header_timeout_s * 1000, on_head_timeout);
            }
            return;
        }
        int r = read_more(c);
        if (r == -2) {
            c->in.len = 0;
            client_synthetic(c, 431, NULL, 0, true);
        } else if (r < 0) {
            client_close(c);
            return;
        }
    }
}
