/* Active health checks (SPEC 7.1-7.3): the status-line parser, the
 * threshold state machine, and a live checker against local sockets (tcp and
 * http probes, exact request bytes, exact log lines, prompt stop). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "config/config.h"
#include "log/log.h"
#include "proxy/runtime.h"
#include "upstream/balance.h"
#include "upstream/health.h"

/* ---- health_parse_status ---------------------------------------------- */

/* Parses a heap copy of exactly len bytes, so ASan catches any over-read. */
static int parse_n(const char *s, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, s, len);
    int rc = health_parse_status(copy, len);
    free(copy);
    return rc;
}

static int parse(const char *s)
{
    return parse_n(s, strlen(s));
}

static void test_parse_status(void)
{
    TAP_INT_EQ(parse("HTTP/1.1 200 OK\r\n"), 200, "status: 200 OK");
    TAP_INT_EQ(parse("HTTP/1.0 404 Not Found\r\n"), 404, "status: HTTP/1.0 404");
    TAP_INT_EQ(parse("HTTP/1.1 204\r\n"), 204, "status: no reason phrase, CR");
    TAP_INT_EQ(parse("HTTP/1.1 503\n"), 503, "status: bare LF");
    TAP_INT_EQ(parse("HTTP/1.1 100 Continue\r\n"), 100, "status: lowest code");
    TAP_INT_EQ(parse("HTTP/1.1 999 X"), 999, "status: highest code");
    TAP_INT_EQ(parse("HTTP/1.1 302 "), 302, "status: decided at the space after the code");

    /* Every proper prefix of a valid status line needs more bytes. */
    const char *full = "HTTP/1.1 200 OK\r\n";
    int prefixes_ok = 1;
    for (size_t n = 0; n < 13; n++)
        if (parse_n(full, n) != 0)
            prefixes_ok = 0;
    TAP_OK(prefixes_ok, "status: each prefix shorter than 13 bytes -> 0 (need more)");
    TAP_INT_EQ(parse_n(full, 13), 200, "status: 13 bytes are enough");

    TAP_INT_EQ(parse("X"), -1, "status: wrong first byte fails at once");
    TAP_INT_EQ(parse("http/1.1 200 OK\r\n"), -1, "status: version is case-sensitive");
    TAP_INT_EQ(parse("HTTP/2 200 \r\n"), -1, "status: HTTP/2 is not an HTTP/1 status line");
    TAP_INT_EQ(parse("HTTP/1.x 200 OK\r\n"), -1, "status: minor version must be a digit");
    TAP_INT_EQ(parse("HTTP/1.1  200 OK\r\n"), -1, "status: two spaces");
    TAP_INT_EQ(parse("HTTP/1.1 20 OK\r\n"), -1, "status: two digits");
    TAP_INT_EQ(parse("HTTP/1.1 2000 OK\r\n"), -1, "status: four digits");
    TAP_INT_EQ(parse("HTTP/1.1 099 X\r\n"), -1, "status: leading zero");
    TAP_INT_EQ(parse("HTTP/1.1 2a0 OK\r\n"), -1, "status: letter in the code");
    TAP_INT_EQ(parse("HTTP/1.1 200\tOK\r\n"), -1, "status: tab after the code");
    TAP_INT_EQ(parse("SSH-2.0-OpenSSH_9.2\r\n"), -1, "status: not HTTP at all");
    TAP_INT_EQ(parse("HTTP/1."), 0, "status: cut after the dot");
    TAP_INT_EQ(parse("HTTP/1.1 2"), 0, "status: cut inside the code");
}

/* ---- health_record ---------------------------------------------------- */

/* Feeds results ('S' success, 'F' failure) and returns one letter per result:
 * '.' unchanged, 'U' now unhealthy, 'H' now healthy. */
static const char *feed(struct health_state *s, const char *results, uint32_t healthy_th,
                        uint32_t unhealthy_th)
{
    static char out[64];
    size_t i = 0;
    for (; results[i] && i < sizeof(out) - 1; i++) {
        enum health_change c = health_record(s, results[i] == 'S', healthy_th, unhealthy_th);
        out[i] = c == HEALTH_NOW_UNHEALTHY ? 'U' : c == HEALTH_NOW_HEALTHY ? 'H' : '.';
    }
    out[i] = '\0';
    return out;
}

static void test_record(void)
{
    struct health_state s = { .healthy = true };
    TAP_STR_EQ(feed(&s, "SSS", 2, 3), "...", "healthy stays healthy on successes");
    TAP_INT_EQ(s.successes, 3, "successes counted");
    TAP_STR_EQ(feed(&s, "FF", 2, 3), "..", "two failures of three: still healthy");
    TAP_OK(s.healthy && s.failures == 2 && s.successes == 0, "a failure resets the successes");
    TAP_STR_EQ(feed(&s, "F", 2, 3), "U", "third consecutive failure flips to unhealthy");
    TAP_OK(!s.healthy && s.failures == 3, "unhealthy with 3 failures (the logged n)");
    TAP_STR_EQ(feed(&s, "FF", 2, 3), "..", "more failures change nothing");
    TAP_INT_EQ(s.failures, 5, "failures keep counting");
    TAP_STR_EQ(feed(&s, "SFS", 2, 3), "...", "an interrupted run of successes does not flip");
    TAP_OK(!s.healthy && s.successes == 1 && s.failures == 0, "a success resets the failures");
    TAP_STR_EQ(feed(&s, "S", 2, 3), "H", "second consecutive success flips to healthy");
    TAP_OK(s.healthy && s.successes == 2, "healthy with 2 successes (the logged n)");

    s = (struct health_state){ .healthy = true };
    TAP_STR_EQ(feed(&s, "FFSFFSFF", 2, 3), "........",
               "failures interrupted by successes never reach the threshold");
    TAP_STR_EQ(feed(&s, "F", 2, 3), "U", "then a third in a row does");

    s = (struct health_state){ .healthy = true };
    TAP_STR_EQ(feed(&s, "FSFSSFF", 1, 1), "UHUH.U.", "thresholds 1/1 flip on every change");

    s = (struct health_state){ .healthy = true };
    TAP_STR_EQ(feed(&s, "FS", 0, 0), "UH", "threshold 0 behaves as 1");

    s = (struct health_state){ .healthy = false, .failures = UINT32_MAX - 1 };
    TAP_STR_EQ(feed(&s, "FF", 1, 1), "..", "saturating failures");
    TAP_OK(s.failures == UINT32_MAX, "failure count stops at UINT32_MAX");
    s = (struct health_state){ .healthy = true, .successes = UINT32_MAX };
    TAP_STR_EQ(feed(&s, "S", 1, 1), ".", "saturating successes");
    TAP_OK(s.successes == UINT32_MAX, "success count stops at UINT32_MAX");
}

/* ---- a live checker ---------------------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A listening socket on 127.0.0.1; *port gets its port. */
static int listener(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        perror("listener");
        exit(2);
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* A port nobody listens on (bound, then closed). */
static unsigned closed_port(void)
{
    unsigned port;
    close(listener(&port));
    return port;
}

/* A one-request-per-connection HTTP server answering with a fixed response;
 * keeps the first request head it receives. */
struct http_srv {
    int fd;
    unsigned port;
    const char *response;
    pthread_t thread;
    pthread_mutex_t lock;
    char first[512];
    _Atomic size_t n_requests;
};

static void *srv_main(void *arg)
{
    struct http_srv *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL; /* shut down */
        char buf[512];
        size_t got = 0;
        while (got < sizeof(buf) - 1) {
            ssize_t n = recv(c, buf + got, sizeof(buf) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        buf[got] = '\0';
        pthread_mutex_lock(&s->lock);
        if (s->n_requests == 0)
            snprintf(s->first, sizeof(s->first), "%s", buf);
        pthread_mutex_unlock(&s->lock);
        s->n_requests++;
        ssize_t w = send(c, s->response, strlen(s->response), MSG_NOSIGNAL);
        (void)w;
        close(c);
    }
}

static void srv_start(struct http_srv *s, const char *response)
{
    memset(s, 0, sizeof(*s));
    s->fd = listener(&s->port);
    s->response = response;
    pthread_mutex_init(&s->lock, NULL);
    pthread_create(&s->thread, NULL, srv_main, s);
}

static void srv_stop(struct http_srv *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
}

static struct runtime *build(const char *text)
{
    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_text("health.toml", text, strlen(text), &diags);
    cfg_diags_free(&diags);
    if (!cfg) {
        printf("# config rejected:\n%s\n", text);
        exit(2);
    }
    return runtime_build(cfg);
}

static const struct rt_route *route_by_path(const struct runtime *rt, const char *path)
{
    for (size_t i = 0; i < rt->n_routes; i++) {
        const char *p = rt->routes[i].route->cfg->path;
        if ((p == NULL && path == NULL) || (p && path && strcmp(p, path) == 0))
            return &rt->routes[i];
    }
    return NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_live(const char *logdir)
{
    unsigned l1_port;
    int l1 = listener(&l1_port); /* connects complete from the backlog; never accepted */
    unsigned dead = closed_port();
    struct http_srv ok, bad;
    srv_start(&ok, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    srv_start(&bad, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");

    char text[2048];
    snprintf(text, sizeof(text),
             "listen_port = 8080\n"
             "[apps.a]\n"
             "server_name = \"hc.test\"\n"
             "[[apps.a.reverse_proxy]]\n"
             "path = \"/tcp\"\n"
             "upstream = [{ location = \"127.0.0.1:%u\" }, { location = \"127.0.0.1:%u\" }]\n"
             "load_balance = \"round_robin\"\n"
             "health_check = { interval = 2, timeout = 1, unhealthy_threshold = 1 }\n"
             "[[apps.a.reverse_proxy]]\n"
             "path = \"/http\"\n"
             "upstream = [{ location = \"127.0.0.1:%u\" }, { location = \"127.0.0.1:%u\" }]\n"
             "load_balance = \"primary_backup\"\n"
             "health_check = { type = \"http\", path = \"/hz?x=1\", interval = 2, timeout = 1, "
             "unhealthy_threshold = 1 }\n"
             "[[apps.a.reverse_proxy]]\n"
             "upstream = [{ location = \"127.0.0.1:%u\" }]\n"
             "health_check = { interval = 2, timeout = 1, unhealthy_threshold = 1 }\n"
             "[[apps.a.reverse_proxy]]\n"
             "path = \"/unchecked\"\n"
             "upstream = [{ location = \"127.0.0.1:%u\" }]\n",
             l1_port, dead, ok.port, bad.port, dead, dead);
    struct runtime *rt = build(text);
    TAP_OK(rt != NULL, "live: runtime built");
    const struct rt_route *tcp = route_by_path(rt, "/tcp"), *http = route_by_path(rt, "/http"),
                          *def = route_by_path(rt, NULL),
                          *unchecked = route_by_path(rt, "/unchecked");

    struct health_checker *hc = health_start(rt);
    TAP_OK(hc != NULL, "live: checker started");
    TAP_INT_EQ(atomic_load(&rt->refs), 2, "live: the checker holds a runtime reference");
    /* The first round runs at once and everything is local: settled well
     * within a second. */
    uint64_t until = mono_ms() + 1500;
    while (mono_ms() < until &&
           !(lb_healthy_count(tcp->lb) == 1 && lb_healthy_count(http->lb) == 1 &&
             lb_healthy_count(def->lb) == 0 && ok.n_requests > 0))
        usleep(10000);
    TAP_OK(lb_is_healthy(tcp->lb, 0), "tcp: listening upstream stays healthy");
    TAP_OK(!lb_is_healthy(tcp->lb, 1), "tcp: refused upstream is unhealthy after one round");
    TAP_OK(lb_is_healthy(http->lb, 0), "http: 200 == expected_status: healthy");
    TAP_OK(!lb_is_healthy(http->lb, 1), "http: 503 != expected_status: unhealthy");
    TAP_OK(!lb_is_healthy(def->lb, 0), "default route: refused upstream unhealthy");
    TAP_OK(lb_is_healthy(unchecked->lb, 0), "route without health_check untouched");

    uint64_t t0 = mono_ms();
    health_stop(hc);
    uint64_t took = mono_ms() - t0;
    TAP_OK(took < 100, "stop between rounds returns within 100 ms");
    if (took >= 100)
        printf("#   took %llu ms\n", (unsigned long long)took);
    TAP_INT_EQ(atomic_load(&rt->refs), 1, "live: the reference is dropped on stop");

    char want[256];
    snprintf(want, sizeof(want),
             "GET /hz?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n", ok.port);
    TAP_STR_EQ(ok.first, want, "http: exact probe request bytes");
    TAP_INT_EQ(ok.n_requests, 1, "http: one probe per round");

    char path[512];
    snprintf(path, sizeof(path), "%s/rpxy.log", logdir);
    char *log = slurp(path);
    char line[256];
    snprintf(line, sizeof(line),
             " INFO [hc.test:/tcp] Upstream http://127.0.0.1:%u is now unhealthy (1 consecutive "
             "failures)\n",
             dead);
    TAP_INT_EQ(count(log, line), 1, "log: tcp route flip, exact line");
    snprintf(line, sizeof(line),
             " INFO [hc.test:/http] Upstream http://127.0.0.1:%u is now unhealthy (1 consecutive "
             "failures)\n",
             bad.port);
    TAP_INT_EQ(count(log, line), 1, "log: http route flip, exact line");
    snprintf(line, sizeof(line),
             " INFO [hc.test:/] Upstream http://127.0.0.1:%u is now unhealthy (1 consecutive "
             "failures)\n",
             dead);
    TAP_INT_EQ(count(log, line), 1, "log: default route shown as /");
    TAP_INT_EQ(count(log, " WARN [hc.test:/] All upstreams are unhealthy, serving best-effort\n"),
               1, "log: all-unhealthy warning once for the one round");
    TAP_INT_EQ(count(log, "is now unhealthy"), 3, "log: no other flips");
    TAP_INT_EQ(count(log, "All upstreams"), 1, "log: no warning for groups with a healthy one");
    free(log);

    runtime_unref(rt);
    srv_stop(&ok);
    srv_stop(&bad);
    close(l1);
}

/* A probe waiting for a response that never comes is interrupted by stop. */
static void test_stop_mid_probe(void)
{
    unsigned port;
    int l = listener(&port); /* accepted by the kernel, never answered */
    char text[1024];
    snprintf(text, sizeof(text),
             "listen_port = 8080\n"
             "[apps.a]\n"
             "server_name = \"hc.test\"\n"
             "[[apps.a.reverse_proxy]]\n"
             "upstream = [{ location = \"127.0.0.1:%u\" }]\n"
             "health_check = { type = \"http\", path = \"/\", interval = 10, timeout = 5 }\n",
             port);
    struct runtime *rt = build(text);
    struct health_checker *hc = health_start(rt);
    TAP_OK(hc != NULL, "mid-probe: checker started");
    usleep(200000); /* the probe now waits for a status line (5 s timeout) */
    uint64_t t0 = mono_ms();
    health_stop(hc);
    uint64_t took = mono_ms() - t0;
    TAP_OK(took < 100, "stop in the middle of a probe returns within 100 ms");
    if (took >= 100)
        printf("#   took %llu ms\n", (unsigned long long)took);
    TAP_OK(lb_is_healthy(rt->routes[0].lb, 0), "an interrupted probe records nothing");
    runtime_unref(rt);
    close(l);

    rt = build("listen_port = 8080\n[apps.a]\nserver_name = \"x.test\"\n"
               "[[apps.a.reverse_proxy]]\nupstream = [{ location = \"127.0.0.1:1\" }]\n");
    TAP_OK(health_start(rt) == NULL, "no route with health_check: NULL, no thread");
    TAP_INT_EQ(atomic_load(&rt->refs), 1, "no reference kept when not started");
    runtime_unref(rt);
    health_stop(NULL); /* a no-op */
}

int main(void)
{
    test_parse_status();
    test_record();

    char logdir[] = "/tmp/rpxy-test-health-XXXXXX";
    if (!mkdtemp(logdir)) {
        perror("mkdtemp");
        return 2;
    }
    if (log_open(logdir, LOG_INFO) < 0)
        return 2;
    test_live(logdir);
    test_stop_mid_probe();
    log_close();

    char path[512];
    snprintf(path, sizeof(path), "%s/rpxy.log", logdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/access.log", logdir);
    unlink(path);
    rmdir(logdir);
    return tap_done();
}
