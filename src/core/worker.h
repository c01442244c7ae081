/* A worker thread: one event loop, its own listening sockets (SO_REUSEPORT)
 * and connections, and the runtime snapshot it serves new requests with. */
#ifndef RPXY_CORE_WORKER_H
#define RPXY_CORE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "metrics/counters.h"
#include "upstream/balance.h"

struct runtime;
struct worker;
struct lset;
struct upstream_pool;
struct tls_sni_table;
struct quic_endpoint;
struct worker_listener;

/* What the worker does with connections. core/ does not know the
 * protocols: the program registers these before any worker starts. */
struct worker_conn_ops {
    /* Takes over an accepted socket (peer is a struct sockaddr_storage). */
    void (*accept)(struct worker *w, int fd, const void *peer, uint16_t local_port, bool tls);
    /* A UDP (QUIC) listener has datagrams to read. */
    void (*datagrams)(struct worker *w, struct worker_listener *l);
    /* Graceful drain: close what is idle, ask the rest to finish. */
    void (*close_idle_all)(struct worker *w);
    /* A new configuration was published: long-lived connections are asked
     * to end gracefully, so that clients come back to the new one. */
    void (*reloaded)(struct worker *w);
    /* Forced stop: close everything. */
    void (*close_all)(struct worker *w);
    /* The worker thread ends: free per-thread caches. */
    void (*thread_exit)(struct worker *w);
};

/* Registers the connection operations of every TCP listener. */
void worker_set_conn_ops(const struct worker_conn_ops *ops);

struct worker_listener {
    struct loop_io io;
    struct worker *w;
    size_t entry; /* index in the lset */
    bool tls;
    bool udp;
    bool stopped; /* taken out of the loop (draining) */
    unsigned short port;
};

struct worker {
    size_t index;
    pthread_t thread;
    struct loop *loop;
    unsigned generation;
    struct runtime *rt;        /* reference held; new requests use it */
    struct lset *lset;         /* reference held */
    struct tls_sni_table *tls; /* reference held: certificates for new handshakes */
    struct worker_listener *listeners;
    size_t n_listeners;
    struct upstream_pool *pool;
    struct exchange *ex_free; /* cached exchanges, reused without malloc */
    size_t n_ex_free;
    struct lb_rng rng;
    struct quic_endpoint *quic; /* HTTP/3 state, made on the first datagram */
    size_t n_conns;             /* client connections open on this worker */
    atomic_bool running;        /* the loop serves its listeners (read by the main thread) */
    atomic_bool finished;       /* the loop has ended (read by the main thread) */
    bool draining;
    /* connections, for closing idle ones when draining */
    struct client_list {
        struct client *head;
    } clients;
    struct mx_worker mx;        /* this worker's metrics, summed by the admin thread */
    struct loop_timer mx_timer; /* refreshes the gauges of mx every second */
};

/* Creates worker i (loop, pool) without starting it. Returns NULL on failure. */
struct worker *worker_new(size_t index);

/* Starts the thread. Returns 0 or an errno value. */
int worker_start(struct worker *w);

/* Thread-safe: asks the worker to pick up a new generation / draining state. */
void worker_wake(struct worker *w);

/* Thread-safe: stops the loop now, closing whatever is still open. */
void worker_stop(struct worker *w);

/* Waits for the thread and frees the worker. */
void worker_join_free(struct worker *w);

/* Called by connections when they end, so a draining worker can exit. */
void worker_conn_closed(struct worker *w);

#endif
