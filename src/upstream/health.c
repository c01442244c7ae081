/* Active health checks: one thread, one poll() loop over an eventfd (stop)
 * and the sockets of the probes in flight. Nothing here blocks: connects,
 * request writes and response reads are non-blocking and bounded by the
 * probe's deadline, so health_stop() interrupts a sleep or a probe at once.
 *
 * The checker only reads the runtime (routes, upstreams, resolved addresses)
 * and writes health bytes through lb_set_healthy(); its own state (counters,
 * sockets, schedules) is private to the thread. */
#include "upstream/health.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"
#include "proxy/runtime.h"

#define HC_RESP_MAX 64          /* a status line is decided within 13 bytes */
#define HC_MAX_SECONDS 86400000 /* clamp absurd intervals (1000 days) */
#define HC_MAX_SLEEP_MS 60000   /* poll() at least once a minute */
#define HC_REQUEST "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"

/* ---- pure parts -------------------------------------------------------- */

enum health_change health_record(struct health_state *s, bool ok, uint32_t healthy_threshold,
                                 uint32_t unhealthy_threshold)
{
    if (healthy_threshold == 0)
        healthy_threshold = 1;
    if (unhealthy_threshold == 0)
        unhealthy_threshold = 1;
    if (ok) {
        s->failures = 0;
        if (s->successes < UINT32_MAX)
            s->successes++;
        if (!s->healthy && s->successes >= healthy_threshold) {
            s->healthy = true;
            return HEALTH_NOW_HEALTHY;
        }
        return HEALTH_UNCHANGED;
    }
    s->successes = 0;
    if (s->failures < UINT32_MAX)
        s->failures++;
    if (s->healthy && s->failures >= unhealthy_threshold) {
        s->healthy = false;
        return HEALTH_NOW_UNHEALTHY;
    }
    return HEALTH_UNCHANGED;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int health_parse_status(const char *buf, size_t len)
{
    /* "HTTP/1." digit SP digit{3} (SP | CR | LF); positions 0..12 */
    static const char version[] = "HTTP/1.";
    for (size_t i = 0; i < sizeof(version) - 1; i++) {
        if (i >= len)
            return 0;
        if (buf[i] != version[i])
            return -1;
    }
    if (len <= 7)
        return 0;
    if (!is_digit(buf[7]))
        return -1;
    if (len <= 8)
        return 0;
    if (buf[8] != ' ')
        return -1;
    int code = 0;
    for (size_t i = 9; i < 12; i++) {
        if (len <= i)
            return 0;
        if (!is_digit(buf[i]) || (i == 9 && buf[i] == '0'))
            return -1;
        code = code * 10 + (buf[i] - '0');
    }
    if (len <= 12)
        return 0;
    return buf[12] == ' ' || buf[12] == '\r' || buf[12] == '\n' ? code : -1;
}

/* ---- the checker ------------------------------------------------------- */

enum hc_phase {
    HC_IDLE,       /* no socket: between rounds */
    HC_CONNECTING, /* waiting for POLLOUT after a non-blocking connect */
    HC_SENDING,    /* http: writing the request */
    HC_READING,    /* http: reading up to the status code */
};

struct hc_group;

struct hc_probe {
    struct hc_group *group;
    const struct rt_upstream *up;
    size_t index; /* in the route's upstreams and lb group */
    int fd;       /* -1 unless a probe is in flight */
    enum hc_phase phase;
    bool http; /* send a request after connecting (false: tcp, or a TLS upstream) */
    uint64_t deadline_ms;
    char *request; /* http only: the whole request, built once */
    size_t request_len, sent;
    char resp[HC_RESP_MAX];
    size_t resp_len;
    char uri[sizeof(((struct rt_upstream *)0)->authority) + 16]; /* scheme://authority */
    struct health_state state;
};

struct hc_group {
    struct lb_group *lb;
    const struct cfg_health_check *cfg;
    const char *server_name;
    const char *path; /* the route path as written, "/" for the default route */
    uint64_t interval_ms, timeout_ms;
    uint64_t next_ms; /* when the next round starts */
    size_t running;   /* probes of the current round still in flight */
    struct hc_probe *probes;
    size_t n_probes;
};

struct health_checker {
    struct runtime *rt;
    pthread_t thread;
    int stop_fd; /* eventfd: readable once health_stop() asks the thread to end */
    struct hc_group *groups;
    size_t n_groups;
    size_t n_probes;          /* over all groups */
    struct pollfd *pfds;      /* [0] stop_fd, then one per probe in flight */
    struct hc_probe **polled; /* probe of pfds[i + 1] */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void close_probe(struct hc_probe *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->phase = HC_IDLE;
}

/* The end of a round: every upstream unhealthy is worth one warning. */
static void round_done(struct hc_group *g)
{
    for (size_t i = 0; i < g->n_probes; i++)
        if (g->probes[i].state.healthy)
            return;
    log_warn("[%s:%s] All upstreams are unhealthy, serving best-effort", g->server_name, g->path);
}

/* Ends the probe in flight with its result; why says what failed (debug). */
static void finish(struct hc_probe *p, bool ok, const char *why)
{
    struct hc_group *g = p->group;
    close_probe(p);
    if (!ok)
        log_debug("[%s:%s] Health check of %s failed: %s", g->server_name, g->path, p->uri, why);
    switch (health_record(&p->state, ok, g->cfg->healthy_threshold, g->cfg->unhealthy_threshold)) {
    case HEALTH_NOW_UNHEALTHY:
        lb_set_healthy(g->lb, p->index, false);
        log_info("[%s:%s] Upstream %s is now unhealthy (%u consecutive failures)", g->server_name,
                 g->path, p->uri, (unsigned)p->state.failures);
        break;
    case HEALTH_NOW_HEALTHY:
        lb_set_healthy(g->lb, p->index, true);
        log_info("[%s:%s] Upstream %s is now healthy (%u consecutive successes)", g->server_name,
                 g->path, p->uri, (unsigned)p->state.successes);
        break;
    case HEALTH_UNCHANGED: break;
    }
    /* recovery from passive health follows the active check (issue 14) */
    if (ok && lb_connect_ok(g->lb, p->index))
        log_info("[%s:%s] Upstream %s is reachable again: no longer marked down", g->server_name,
                 g->path, p->uri);
    if (g->running && --g->running == 0)
        round_done(g);
}

/* Opens the probe's socket and starts connecting (the group's running count
 * already includes this probe). */
static void start_probe(struct hc_probe *p, uint64_t now)
{
    p->deadline_ms = now + p->group->timeout_ms;
    p->sent = 0;
    p->resp_len = 0;
    const struct rt_addrs *a = atomic_load(&p->up->addrs);
    if (!a || a->n == 0) {
        finish(p, false, "address not resolved");
        return;
    }
    const struct sockaddr_storage *sa = &a->addr[0];
    p->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        finish(p, false, strerror(errno));
        return;
    }
    p->phase = HC_CONNECTING;
    if (connect(p->fd, (const struct sockaddr *)sa, a->len[0]) == 0) {
        if (!p->http)
            finish(p, true, NULL);
        else
            p->phase = HC_SENDING;
    } else if (errno != EINPROGRESS) {
        finish(p, false, strerror(errno));
    }
}

static void start_round(struct hc_group *g, uint64_t now)
{
    g->running = g->n_probes;
    for (size_t i = 0; i < g->n_probes; i++)
        start_probe(&g->probes[i], now);
    while (g->next_ms <= now)
        g->next_ms += g->interval_ms; /* ticks missed while busy are skipped */
}

static void on_connected(struct hc_probe *p)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        finish(p, false, strerror(err));
        return;
    }
    if (!p->http) {
        finish(p, true, NULL);
        return;
    }
    p->phase = HC_SENDING;
}

static void on_writable(struct hc_probe *p)
{
    while (p->sent < p->request_len) {
        ssize_t n = send(p->fd, p->request + p->sent, p->request_len - p->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                finish(p, false, strerror(errno));
            return;
        }
        p->sent += (size_t)n;
    }
    p->phase = HC_READING;
}

static void on_readable(struct hc_probe *p)
{
    const struct cfg_health_check *cfg = p->group->cfg;
    for (;;) {
        ssize_t n = recv(p->fd, p->resp + p->resp_len, sizeof(p->resp) - p->resp_len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                finish(p, false, strerror(errno));
            return;
        }
        if (n == 0) {
            finish(p, false, "connection closed before the status line");
            return;
        }
        p->resp_len += (size_t)n;
        int status = health_parse_status(p->resp, p->resp_len);
        if (status < 0 || (status == 0 && p->resp_len == sizeof(p->resp))) {
            finish(p, false, "malformed status line");
            return;
        }
        if (status > 0) {
            char why[64];
            snprintf(why, sizeof(why), "status %d, expected %u", status,
                     (unsigned)cfg->expected_status);
            finish(p, status == (int)cfg->expected_status, why);
            return;
        }
    }
}

static void on_event(struct hc_probe *p, short revents)
{
    switch (p->phase) {
    case HC_CONNECTING: on_connected(p); break;
    case HC_SENDING:
        if (revents & (POLLOUT | POLLERR | POLLHUP))
            on_writable(p);
        break;
    case HC_READING: on_readable(p); break;
    case HC_IDLE: break;
    }
}

static short wanted_events(const struct hc_probe *p)
{
    return p->phase == HC_READING ? POLLIN : POLLOUT;
}

static void *checker_main(void *arg)
{
    struct health_checker *hc = arg;
    for (;;) {
        uint64_t now = now_ms();
        for (size_t i = 0; i < hc->n_groups; i++) {
            struct hc_group *g = &hc->groups[i];
            for (size_t j = 0; j < g->n_probes; j++)
                if (g->probes[j].fd >= 0 && now >= g->probes[j].deadline_ms)
                    finish(&g->probes[j], false, "timed out");
            if (g->running == 0 && now >= g->next_ms)
                start_round(g, now);
        }
        /* What to watch, and until when. */
        size_t n = 0;
        uint64_t wake = now + HC_MAX_SLEEP_MS;
        for (size_t i = 0; i < hc->n_groups; i++) {
            struct hc_group *g = &hc->groups[i];
            if (g->running == 0 && g->next_ms < wake)
                wake = g->next_ms;
            for (size_t j = 0; j < g->n_probes; j++) {
                struct hc_probe *p = &g->probes[j];
                if (p->fd < 0)
                    continue;
                if (p->deadline_ms < wake)
                    wake = p->deadline_ms;
                hc->pfds[n + 1] = (struct pollfd){ .fd = p->fd, .events = wanted_events(p) };
                hc->polled[n++] = p;
            }
        }
        hc->pfds[0] = (struct pollfd){ .fd = hc->stop_fd, .events = POLLIN };
        int timeout = wake > now ? (int)(wake - now) : 0;
        int rc = poll(hc->pfds, n + 1, timeout);
        if (rc < 0 && errno != EINTR) {
            log_error("Health checker stopped: poll: %s", strerror(errno));
            break;
        }
        if (rc > 0 && hc->pfds[0].revents)
            break;
        for (size_t i = 0; rc > 0 && i < n; i++)
            if (hc->pfds[i + 1].revents)
                on_event(hc->polled[i], hc->pfds[i + 1].revents);
    }
    for (size_t i = 0; i < hc->n_groups; i++)
        for (size_t j = 0; j < hc->groups[i].n_probes; j++)
            close_probe(&hc->groups[i].probes[j]);
    return NULL;
}

static void checker_free(struct health_checker *hc)
{
    for (size_t i = 0; hc->groups && i < hc->n_groups; i++) {
        for (size_t j = 0; hc->groups[i].probes && j < hc->groups[i].n_probes; j++)
            free(hc->groups[i].probes[j].request);
        free(hc->groups[i].probes);
    }
    free(hc->groups);
    free(hc->pfds);
    free(hc->polled);
    if (hc->stop_fd >= 0)
        close(hc->stop_fd);
    if (hc->rt)
        runtime_unref(hc->rt);
    free(hc);
}

static uint64_t seconds_ms(uint64_t s)
{
    return (s > HC_MAX_SECONDS ? HC_MAX_SECONDS : s) * 1000u;
}

/* Fills probe j of group g for upstream up; returns 0 or -1 (out of memory). */
static int init_probe(struct hc_group *g, size_t j, const struct rt_upstream *up)
{
    struct hc_probe *p = &g->probes[j];
    p->group = g;
    p->up = up;
    p->index = j;
    p->fd = -1;
    p->state.healthy = true;
    snprintf(p->uri, sizeof(p->uri), "%s://%s", up->scheme, up->authority);
    if (g->cfg->type != CFG_HEALTH_HTTP)
        return 0;
    if (up->cfg->tls) {
        log_info("[%s:%s] Upstream %s uses TLS, which health checks cannot speak yet: it is "
                 "checked by TCP connect only",
                 g->server_name, g->path, p->uri);
        return 0;
    }
    const char *path = g->cfg->path && g->cfg->path[0] ? g->cfg->path : "/";
    int len = snprintf(NULL, 0, HC_REQUEST, path, up->authority);
    if (len < 0 || !(p->request = malloc((size_t)len + 1)))
        return -1;
    snprintf(p->request, (size_t)len + 1, HC_REQUEST, path, up->authority);
    p->request_len = (size_t)len;
    p->http = true;
    return 0;
}

struct health_checker *health_start(struct runtime *rt)
{
    size_t n_groups = 0;
    for (size_t i = 0; i < rt->n_routes; i++)
        if (rt->routes[i].route->cfg->health_check.enabled && rt->routes[i].n_ups)
            n_groups++;
    if (n_groups == 0)
        return NULL;
    struct health_checker *hc = calloc(1, sizeof(*hc));
    if (!hc) {
        log_error("Health checks not started: out of memory");
        return NULL;
    }
    hc->stop_fd = -1;
    runtime_ref(rt);
    hc->rt = rt;
    hc->groups = calloc(n_groups, sizeof(*hc->groups));
    if (!hc->groups)
        goto oom;
    uint64_t now = now_ms();
    for (size_t i = 0; i < rt->n_routes; i++) {
        const struct rt_route *r = &rt->routes[i];
        const struct cfg_route *cr = r->route->cfg;
        if (!cr->health_check.enabled || !r->n_ups)
            continue;
        struct hc_group *g = &hc->groups[hc->n_groups++];
        g->lb = r->lb;
        g->cfg = &cr->health_check;
        g->server_name = r->route->app->cfg->server_name;
        g->path = cr->path ? cr->path : "/";
        g->interval_ms = seconds_ms(g->cfg->interval_s);
        if (g->interval_ms == 0)
            g->interval_ms = 1000;
        g->timeout_ms = seconds_ms(g->cfg->timeout_s);
        g->next_ms = now; /* the first round starts at once */
        g->probes = calloc(r->n_ups, sizeof(*g->probes));
        if (!g->probes)
            goto oom;
        g->n_probes = r->n_ups;
        hc->n_probes += r->n_ups;
        for (size_t j = 0; j < r->n_ups; j++)
            if (init_probe(g, j, &r->ups[j]) < 0)
                goto oom;
    }
    hc->pfds = calloc(hc->n_probes + 1, sizeof(*hc->pfds));
    hc->polled = calloc(hc->n_probes + 1, sizeof(*hc->polled));
    if (!hc->pfds || !hc->polled)
        goto oom;
    hc->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (hc->stop_fd < 0) {
        log_error("Health checks not started: eventfd: %s", strerror(errno));
        checker_free(hc);
        return NULL;
    }
    /* The thread takes no signal: the main thread handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&hc->thread, NULL, checker_main, hc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_error("Health checks not started: cannot create the thread: %s", strerror(rc));
        checker_free(hc);
        return NULL;
    }
    log_debug("Health checker started: %zu route(s), %zu upstream(s)", hc->n_groups, hc->n_probes);
    return hc;
oom:
    log_error("Health checks not started: out of memory");
    checker_free(hc);
    return NULL;
}

void health_stop(struct health_checker *hc)
{
    if (!hc)
        return;
    uint64_t one = 1;
    while (write(hc->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    pthread_join(hc->thread, NULL);
    checker_free(hc);
}
