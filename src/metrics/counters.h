/* Metrics counters (ours; served by admin/ as Prometheus text).
 *
 * Each worker owns one struct mx_worker and is its only writer: mx_add() is
 * a relaxed load and store, no locked read-modify-write and no line shared
 * with another thread. Without an admin listener nothing reads them and
 * the request path only tests `on`. Under callgrind (bench/run.sh) the
 * tests cost ~20 instructions per HTTP/1.1 request (0.2%), the counting
 * ~90 (1%).
 * The admin thread reads every worker's block (relaxed loads) and sums them
 * at scrape time. Process-wide events that are rare (reloads) use
 * struct mx_global, written by the main thread only.
 *
 * Apps are counted in slots: each app name gets a slot the first time a
 * configuration names it (main thread), kept across reloads, so a counter
 * never jumps back; slot 0 is "no app" (rejected before routing), and names
 * past MX_APPS - 2 share the last slot. */
#ifndef RPXY_METRICS_COUNTERS_H
#define RPXY_METRICS_COUNTERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MX_SLOTS 64 /* named slots, for apps and for upstreams */
#define MX_APPS MX_SLOTS
#define MX_UPSTREAMS MX_SLOTS
#define MX_CLASSES 6      /* status / 100: 0 (none), 1xx .. 5xx */
#define MX_BUCKETS 16     /* duration: < 1 ms, < 2 ms, < 4 ms, ... < 16384 ms, more */
#define MX_TLS_FAILURES 8 /* enum tls_failure */

enum mx_proto { MX_HTTP1, MX_HTTP2, MX_HTTP3, MX_PROTOS };
enum mx_listener { MX_LISTEN_HTTP, MX_LISTEN_HTTPS, MX_LISTEN_QUIC, MX_LISTENERS };
enum mx_tls_version { MX_TLS12, MX_TLS13, MX_TLS_OTHER, MX_TLS_VERSIONS };
enum mx_group { MX_X25519MLKEM768, MX_X25519, MX_P256, MX_P384, MX_GROUP_OTHER, MX_GROUPS };

struct mx_worker {
    /* counting: set before the worker starts when admin_listen is set, or by
     * the reload that adds it (atomic: the main thread writes it then) */
    _Atomic bool on;
    _Atomic uint64_t requests[MX_APPS][MX_PROTOS][MX_CLASSES];
    _Atomic uint64_t duration[MX_PROTOS][MX_BUCKETS]; /* per bucket, not cumulative */
    _Atomic uint64_t duration_ms[MX_PROTOS];
    /* by enum mx_listener: HTTP bytes inside TLS on TCP, stream data on QUIC */
    _Atomic uint64_t bytes_in[MX_LISTENERS], bytes_out[MX_LISTENERS];
    _Atomic uint64_t conns_opened[MX_LISTENERS], conns_closed[MX_LISTENERS];
    /* connections once their protocol is known (at once for QUIC), and
     * those of them closed: the open ones by protocol */
    _Atomic uint64_t proto_started[MX_LISTENERS][MX_PROTOS], proto_ended[MX_LISTENERS][MX_PROTOS];
    /* TLS handshakes: [0] the TCP TLS listener, [1] QUIC */
    _Atomic uint64_t tls_done[2][MX_TLS_VERSIONS][MX_GROUPS];
    _Atomic uint64_t tls_failed[2][MX_TLS_FAILURES];
    /* upstream connections (HTTP/1.1 pool and HTTP/2) by upstream slot; the
     * idle ones in the pool, a gauge the worker refreshes every second
     * (nothing per request) */
    _Atomic uint64_t up_opened[MX_UPSTREAMS], up_closed[MX_UPSTREAMS], up_idle[MX_UPSTREAMS];
};

struct mx_global {
    _Atomic uint64_t reloads_ok, reloads_failed;
    _Atomic uint64_t last_reload_ok_s; /* wall clock of the last good load (start included) */
};

extern struct mx_global mx_global;

/* Adds n to a counter that only the calling thread writes. */
static inline void mx_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t mx_get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* One exchange ended: its app slot, protocol, status (0 when no response
 * was started) and duration in milliseconds of the loop's clock (cached per
 * pass). Duration bucket b holds durations below 2^b ms: its index is the
 * bit length of ms, a few instructions. */
static inline void mx_exchange(struct mx_worker *m, unsigned app, enum mx_proto p, int status,
                               uint64_t ms)
{
    unsigned cls = (unsigned)status / 100;
    unsigned b = ms ? 64u - (unsigned)__builtin_clzll(ms) : 0;
    mx_add(&m->requests[app][p][cls < MX_CLASSES ? cls : 0], 1);
    mx_add(&m->duration[p][b < MX_BUCKETS - 1 ? b : MX_BUCKETS - 1], 1);
    mx_add(&m->duration_ms[p], ms);
}

/* The slot of an app name (main thread; see above). */
unsigned mx_app_slot(const char *name);

/* Copies the name of slot i into out: "" for slot 0 and unused slots,
 * "(other)" for the shared last slot. Thread-safe. */
void mx_app_name(unsigned i, char *out, size_t cap);

/* The same for upstreams, named by their location (host:port as written). */
unsigned mx_upstream_slot(const char *location);
void mx_upstream_name(unsigned i, char *out, size_t cap);

/* The main thread records a configuration load: at start-up (reload
 * false) or a reload, and whether it is now in force. */
void mx_config_loaded(bool reload, bool ok);

#endif
