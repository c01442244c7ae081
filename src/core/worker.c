#include "core/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/server.h"
#include "log/log.h"
#include "proxy/runtime.h"
#include "tls/sni_table.h"
#include "upstream/pool.h"

static const struct worker_conn_ops *conn_ops;

void worker_set_conn_ops(const struct worker_conn_ops *ops)
{
    conn_ops = ops;
}

static void on_accept(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct worker_listener *l = container_of(io, struct worker_listener, io);
    struct worker *w = l->w;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                log_error("accept failed: %s", strerror(errno));
            return;
        }
        conn_ops->accept(w, fd, &peer, l->port, l->tls);
    }
}

static void on_datagrams(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct worker_listener *l = container_of(io, struct worker_listener, io);
    conn_ops->datagrams(l->w, l);
}

/* The listener array outlives its removal until the end of the loop pass:
 * events for it may still be queued in this pass. */
struct retired_listeners {
    struct loop_deferred d;
    struct worker_listener *items;
};

static void free_retired(struct loop *loop, struct loop_deferred *d)
{
    struct retired_listeners *r = container_of(d, struct retired_listeners, d);
    free(r->items);
    free(r);
}

static void drop_listeners(struct worker *w)
{
    for (size_t i = 0; i < w->n_listeners; i++)
        if (!w->listeners[i].stopped)
            loop_del(w->loop, &w->listeners[i].io);
    if (w->listeners) {
        struct retired_listeners *r = calloc(1, sizeof(*r));
        if (r) {
            r->items = w->listeners;
            loop_defer(w->loop, &r->d, free_retired);
        } /* else: leak the small array rather than risk a use after free */
    }
    w->listeners = NULL;
    w->n_listeners = 0;
}

/* Draining: no new TCP connections. UDP listeners stay: the QUIC
 * connections still open send and receive on them (new ones are refused by
 * the endpoint). */
static void stop_accepting(struct worker *w)
{
    for (size_t i = 0; i < w->n_listeners; i++) {
        struct worker_listener *l = &w->listeners[i];
        if (!l->udp && !l->stopped) {
            loop_del(w->loop, &l->io);
            l->stopped = true;
        }
    }
}

static void adopt_listeners(struct worker *w, struct lset *ls)
{
    drop_listeners(w);
    lset_unref(w->lset);
    w->lset = ls;
    if (!ls || w->draining)
        return;
    w->listeners = calloc(ls->n ? ls->n : 1, sizeof(*w->listeners));
    if (!w->listeners)
        return;
    for (size_t i = 0; i < ls->n; i++) {
        struct worker_listener *l = &w->listeners[w->n_listeners];
        l->w = w;
        l->entry = i;
        l->tls = ls->entries[i].tls;
        l->port = ls->entries[i].port;
        l->udp = ls->entries[i].udp;
        int fd = ls->entries[i].fds[w->index];
        if (fd >= 0 && loop_add_level(w->loop, &l->io, fd, l->udp ? on_datagrams : on_accept) == 0)
            w->n_listeners++;
    }
}

static void maybe_exit(struct worker *w)
{
    if (w->draining && w->n_conns == 0)
        loop_stop(w->loop);
}

static void on_wake(struct loop *loop, void *arg)
{
    struct worker *w = arg;
    if (atomic_load(&g_server.force_stop)) {
        w->draining = true;
        drop_listeners(w);
        conn_ops->close_all(w);
        loop_stop(w->loop);
        return;
    }
    unsigned gen = atomic_load(&g_server.generation);
    if (gen != w->generation) {
        bool reload = w->generation != (unsigned)-1;
        w->generation = gen;
        if (reload)
            conn_ops->reloaded(w);
        struct runtime *rt = server_acquire_runtime();
        if (w->rt)
            runtime_unref(w->rt);
        w->rt = rt;
        struct tls_sni_table *tls = server_acquire_tls();
        sni_table_unref(w->tls);
        w->tls = tls;
        struct lset *ls = server_acquire_lset();
        if (ls != w->lset)
            adopt_listeners(w, ls);
        else
            lset_unref(ls);
    }
    if (atomic_load(&g_server.draining) && !w->draining) {
        w->draining = true;
        stop_accepting(w);
        conn_ops->close_idle_all(w);
    }
    maybe_exit(w);
}

void worker_conn_closed(struct worker *w)
{
    w->n_conns--;
    maybe_exit(w);
}

static void before_wait(struct loop *loop, void *arg)
{
    log_flush();
}

/* Publishes what the metrics read as gauges while they are counted (a
 * reload may start the counting), then again a second later. */
static void mx_tick(struct loop *loop, struct loop_timer *t)
{
    struct worker *w = container_of(t, struct worker, mx_timer);
    if (w->mx.on) {
        uint64_t idle[MX_UPSTREAMS];
        upstream_pool_idle(w->pool, idle);
        for (size_t i = 0; i < MX_UPSTREAMS; i++)
            atomic_store_explicit(&w->mx.up_idle[i], idle[i], memory_order_relaxed);
    }
    loop_timer_set(loop, t, 1000, mx_tick);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    log_set_buffered(true);
    lb_rng_seed_auto(&w->rng);
    on_wake(w->loop, w);
    mx_tick(w->loop, &w->mx_timer);
    atomic_store(&w->running, true);
    loop_run(w->loop);
    conn_ops->close_all(w);
    drop_listeners(w);
    lset_unref(w->lset);
    w->lset = NULL;
    upstream_pool_close_all(w->pool);
    if (w->rt)
        runtime_unref(w->rt);
    w->rt = NULL;
    sni_table_unref(w->tls);
    w->tls = NULL;
    loop_run_deferred(w->loop);
    conn_ops->thread_exit(w);
    log_flush();
    buf_pool_drain();
    atomic_store(&w->finished, true);
    return NULL;
}

struct worker *worker_new(size_t index)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->index = index;
    w->generation = (unsigned)-1;
    w->loop = loop_new();
    w->pool = upstream_pool_new(w);
    if (!w->loop || !w->pool) {
        loop_free(w->loop);
        upstream_pool_free(w->pool);
        free(w);
        return NULL;
    }
    loop_set_on_wake(w->loop, on_wake, w);
    loop_set_before_wait(w->loop, before_wait, w);
    return w;
}

int worker_start(struct worker *w)
{
    return pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_stop(struct worker *w)
{
    loop_wake(w->loop);
}

void worker_wake(struct worker *w)
{
    loop_wake(w->loop);
}

void worker_join_free(struct worker *w)
{
    pthread_join(w->thread, NULL);
    upstream_pool_free(w->pool);
    loop_free(w->loop);
    free(w);
}
