/* The client connection: admission, TLS, bytes in and out, timeouts,
 * closing, and the hand-over to the protocol it speaks. */
#include "proxy/client_conn.h"

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
#include "http/h1_server.h"
#include "http/h2_mem.h"
#include "http/h2_server.h"
#include "proxy/client_proxy_header.h"
#include "proxy/client_tls.h"
#include "proxy/exchange.h"
#include "proxy/runtime.h"
#include "quic/conn.h"
#include "quic/endpoint.h"
#include "upstream/h2_client.h"
#include "upstream/sticky.h"

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
    if (c->h2)
        h2_server_idle_timeout(c);
    else if (!c->ex)
        client_close(c);
}

void client_arm_timer_ms(struct client *c, uint64_t ms)
{
    loop_timer_set(c->w->loop, &c->timer, ms, on_head_timeout);
}

void client_arm_idle_timer(struct client *c)
{
    if (c->w->rt)
        loop_timer_set(c->w->loop, &c->timer, c->w->rt->cfg->client_header_timeout_s * 1000,
                       on_head_timeout);
}

const char *client_sni(const struct client *c)
{
    if (c->tlsc)
        return client_tls_sni(c->tlsc);
    return c->quic ? quic_conn_sni(c->quic) : NULL;
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

/* Metrics index of the connection's listener: 0 http, 1 https, 2 quic. */
static unsigned mx_listener(const struct client *c)
{
    return c->proto == CLIENT_PROTO_H3 ? 2 : c->tls;
}

static enum mx_proto mx_proto_of_client(enum client_proto p)
{
    return p == CLIENT_PROTO_H2 ? MX_HTTP2 : p == CLIENT_PROTO_H3 ? MX_HTTP3 : MX_HTTP1;
}

/* The connection speaks p from now on (counted for the metrics). */
static void set_proto(struct client *c, enum client_proto p)
{
    c->proto = p;
    mx_add(&c->w->mx.proto_started[mx_listener(c)][mx_proto_of_client(p)], 1);
}

void client_close(struct client *c)
{
    if (c->dead)
        return;
    c->dead = true;
    if (c->ex)
        exchange_abort(c->ex, 0, NULL);
    if (c->h2)
        h2_server_free(c);
    if (c->quic)
        quic_conn_free(c->quic);
    c->quic = NULL;
    struct worker *w = c->w;
    loop_timer_cancel(w->loop, &c->timer);
    loop_timer_cancel(w->loop, &c->life);
    loop_close(w->loop, &c->io);
    c->in.len = c->out.len = 0;
    buf_release(&c->in);
    buf_release(&c->out);
    client_tls_free(c);
    client_release_ip_slot(c);
    if (c->counted)
        server_client_release();
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients.head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop_defer(w->loop, &c->free_d, free_client);
    mx_add(&w->mx.conns_closed[mx_listener(c)], 1);
    if (c->proto != CLIENT_PROTO_UNKNOWN)
        mx_add(&w->mx.proto_ended[mx_listener(c)][mx_proto_of_client(c->proto)], 1);
    worker_conn_closed(w);
}

/* Takes a max_clients slot. Returns false (nothing taken) when full. */
static bool count_client(const struct cfg *cfg)
{
    if (server_client_acquire(cfg->max_clients))
        return true;
    log_debug("max_clients reached: closing a new connection");
    return false;
}

static void peer_of(const void *peer_sockaddr, struct ip_addr *ip, uint16_t *port)
{
    const struct sockaddr_storage *ss = peer_sockaddr;
    memset(ip, 0, sizeof(*ip));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = peer_sockaddr;
        ip->family = 4;
        memcpy(ip->bytes, &sin->sin_addr, 4);
        *port = ntohs(sin->sin_port);
    } else {
        const struct sockaddr_in6 *sin6 = peer_sockaddr;
        ip->family = 6;
        memcpy(ip->bytes, &sin6->sin6_addr, 16);
        *port = ntohs(sin6->sin6_port);
        *ip = ip_unmap(*ip);
    }
}

static void list_add(struct worker *w, struct client *c)
{
    w->n_conns++;
    mx_add(&w->mx.conns_opened[mx_listener(c)], 1);
    c->next = w->clients.head;
    if (c->next)
        c->next->prev = c;
    w->clients.head = c;
}

struct client *client_new_quic(struct worker *w, const struct sockaddr *peer, struct quic_conn *qc)
{
    if (w->draining)
        return NULL;
    struct client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->w = w;
    c->io.fd = -1;
    peer_of(peer, &c->peer_ip, &c->peer_port);
    c->local_port = (uint16_t)(w->rt ? w->rt->cfg->listen_port_tls : 0);
    c->tls = true;
    c->quic = qc;
    set_proto(c, CLIENT_PROTO_H3);
    list_add(w, c);
    return c;
}

bool client_take_ip_slot(struct client *c, uint32_t limit)
{
    if (c->ip_slot || !limit)
        return true;
    if (!server_ip_acquire(&c->peer_ip, limit)) {
        log_debug("Too many connections from one IP: closing");
        return false;
    }
    c->ip_slot = true;
    c->ip_limit = limit;
    return true;
}

void client_release_ip_slot(struct client *c)
{
    if (c->ip_slot)
        server_ip_release(&c->peer_ip, c->ip_limit);
    c->ip_slot = false;
}

static void on_proxy_header_timeout(struct loop *loop, struct loop_timer *t)
{
    struct client *c = container_of(t, struct client, timer);
    const struct cfg *cfg = c->w->rt ? c->w->rt->cfg : NULL;
    if (cfg)
        client_proxy_header_timed_out(c, client_proxy_timeout_ms(&cfg->proxy_protocol));
    client_close(c);
}

/* SPEC 4.1 with the client's address known (after the PROXY header when
 * there is one): per-IP slot, then max_clients on plaintext (TLS: after
 * the handshake), the TLS state, the first timer. False: close. */
static bool admit(struct client *c, const struct cfg *cfg)
{
    if (!client_take_ip_slot(c, cfg->max_clients_per_ip))
        return false;
    if (!c->tls) {
        if (!count_client(cfg))
            return false;
        c->counted = true;
        loop_timer_set(c->w->loop, &c->timer, cfg->client_header_timeout_s * 1000, on_head_timeout);
        return true;
    }
    if (client_tls_start(c, c->w->tls) < 0)
        return false;
    loop_timer_set(c->w->loop, &c->timer, TLS_HANDSHAKE_TIMEOUT_MS, on_tls_timeout);
    return true;
}

void client_accept(struct worker *w, int fd, const void *peer_sockaddr, uint16_t local_port,
                   bool tls)
{
    const struct cfg *cfg = w->rt ? w->rt->cfg : NULL;
    struct client *c = cfg && !w->draining ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        close(fd);
        return;
    }
    c->w = w; /* TCP_NODELAY: inherited from the listener */
    peer_of(peer_sockaddr, &c->peer_ip, &c->peer_port);
    c->local_port = local_port;
    c->tls = tls;
    c->proxy_header_due = cfg->proxy_protocol.enabled;
    c->can_write = true; /* a new socket has room; EPOLLOUT only after EAGAIN */
    c->io.fd = fd;
    if ((c->proxy_header_due &&
         !client_proxy_peer_trusted(&cfg->proxy_protocol, &c->peer_ip, c->peer_port)) ||
        loop_add(w->loop, &c->io, fd, on_io, false) < 0) {
        close(fd);
        free(c);
        return;
    }
    list_add(w, c);
    if (c->proxy_header_due)
        loop_timer_set(w->loop, &c->timer, client_proxy_timeout_ms(&cfg->proxy_protocol),
                       on_proxy_header_timeout);
    else if (!admit(c, cfg)) {
        client_close(c);
        return;
    }
    if (cfg->connection_handling_timeout_s)
        loop_timer_set(w->loop, &c->life, cfg->connection_handling_timeout_s * 1000,
                       on_life_timeout);
}

void client_close_idle_all(struct worker *w)
{
    struct client *c = w->clients.head;
    while (c) {
        struct client *next = c->next;
        if (c->h2)
            h2_server_shutdown(c);
        else if (c->quic)
            quic_conn_shutdown(c->quic);
        else if (!c->ex && c->in.len == 0 && c->out.len == 0)
            client_close(c);
        c = next;
    }
}

void client_close_all(struct worker *w)
{
    while (w->clients.head)
        client_close(w->clients.head);
    h2c_close_all(w);
}

ssize_t client_recv(struct client *c, void *p, size_t room)
{
    ssize_t n;
    if (c->tlsc) {
        bool drained;
        n = tls_io_read(&c->tlsc->io, p, room, &drained);
        if (n > 0 && c->w->mx.on)
            mx_add(&c->w->mx.bytes_in[1], (uint64_t)n);
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
        if (c->w->mx.on)
            mx_add(&c->w->mx.bytes_in[0], (uint64_t)n);
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
    if (c->w->mx.on)
        mx_add(&c->w->mx.bytes_out[c->tlsc != NULL], done);
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

int client_read_more(struct client *c)
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
    client_arm_idle_timer(c);
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
        return; /* HTTP/1: the tickets wait for the response */
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

void client_close_gracefully(struct client *c)
{
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
}

static void redrive(struct loop *loop, struct loop_deferred *d)
{
    client_drive(container_of(d, struct client, redrive_d));
}

static void drive_at_end(struct loop *loop, struct loop_deferred *d)
{
    client_drive(container_of(d, struct client, end_d));
}

void client_drive_at_end(struct client *c)
{
    loop_defer(c->w->loop, &c->end_d, drive_at_end);
}

void client_redrive_later(struct client *c)
{
    c->redrive_all = true;
    loop_defer(c->w->loop, &c->redrive_d, redrive);
}

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* Which protocol the first bytes speak: the HTTP/2 connection preface
 * (prior knowledge on plaintext, after ALPN h2 on TLS), else HTTP/1.x.
 * Returns false while the bytes so far could still be the preface. */
static bool pick_protocol(struct client *c)
{
    size_t n = c->in.len < sizeof(h2_preface) - 1 ? c->in.len : sizeof(h2_preface) - 1;
    if (memcmp(buf_data(&c->in), h2_preface, n) != 0) {
        set_proto(c, CLIENT_PROTO_H1);
        return true;
    }
    if (n < sizeof(h2_preface) - 1 && !c->read_eof)
        return false;
    if (n < sizeof(h2_preface) - 1) {
        set_proto(c, CLIENT_PROTO_H1); /* a truncated preface: HTTP/1 answers 400 */
        return true;
    }
    if (h2_server_start(c) < 0) {
        client_close(c);
        return false;
    }
    set_proto(c, CLIENT_PROTO_H2);
    return true;
}

/* Reads the PROXY header, then admits the client it names. Returns false
 * while the connection cannot go on (waiting, or closed). */
static bool proxy_header_done(struct client *c)
{
    int r = client_proxy_header_read(c);
    if (r == 0)
        return false;
    const struct cfg *cfg = c->w->rt ? c->w->rt->cfg : NULL;
    c->proxy_header_due = false;
    if (r < 0 || !cfg || !admit(c, cfg)) {
        client_close(c);
        return false;
    }
    return true;
}

static void drive(struct client *c)
{
    if (c->quic) {
        quic_conn_drive(c->quic);
        return;
    }
    if (c->proxy_header_due && !proxy_header_done(c))
        return;
    if (c->tlsc && !c->tlsc->done) {
        int r = client_tls_step(c);
        if (r < 0 || (r == 1 && !tls_ready(c))) {
            client_close(c);
            return;
        }
        if (r == 0)
            return;
    }
    while (c->proto == CLIENT_PROTO_UNKNOWN && !c->dead) {
        if (c->in.len && pick_protocol(c))
            break;
        if (c->dead)
            return;
        if (c->read_eof || !c->can_read) {
            if (c->read_eof)
                client_close(c);
            else if (c->in.len == 0)
                buf_release(&c->in);
            return;
        }
        int r = client_read_more(c);
        if (r < 0) {
            client_close(c);
            return;
        }
    }
    if (c->proto == CLIENT_PROTO_H2)
        h2_server_drive(c);
    else
        h1_server_drive(c);
}

void client_drive(struct client *c)
{
    drive(c);
    if (c->tlsc)
        flush_at_end(c);
}

static void reloaded(struct worker *w)
{
    for (struct client *c = w->clients.head, *next; c; c = next) {
        next = c->next;
        if (c->h2)
            h2_server_shutdown(c);
        else if (c->quic)
            quic_conn_shutdown(c->quic);
    }
}

static void thread_exit(struct worker *w)
{
    exchange_cache_drain(w);
    sticky_thread_cleanup();
    h2_mem_drain();
    quic_endpoint_free(w);
}

const struct worker_conn_ops client_conn_ops = {
    .accept = client_accept,
    .datagrams = quic_datagrams,
    .close_idle_all = client_close_idle_all,
    .reloaded = reloaded,
    .close_all = client_close_all,
    .thread_exit = thread_exit,
};
