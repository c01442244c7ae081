#include "admin/admin_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin/metrics_text.h"
#include "config/config.h"
#include "core/server.h"
#include "log/log.h"
#include "util/ipaddr.h"

#define ADMIN_HEAD_MAX 8192
#define ADMIN_TIMEOUT_MS 5000

static int g_listen_fd = -1, g_stop_fd = -1;
static int g_next_fd = -1;    /* a reload's new listener, until committed */
static struct ip_addr g_addr; /* where g_listen_fd listens (g_port 0: nowhere) */
static uint16_t g_port;
static bool g_stopped_for_move; /* the running listener gave its port to g_next_fd */
static pthread_t g_thread;
static bool g_running;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Writes all of p (the socket blocks, with a send timeout). */
static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0 && errno != EINTR)
            return;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
}

static void respond(int fd, int status, const char *reason, const char *type, const char *extra,
                    const char *body, size_t body_len, bool head)
{
    char h[512];
    int n = snprintf(h, sizeof(h),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, reason, type, body_len, extra);
    send_all(fd, h, (size_t)n);
    if (!head)
        send_all(fd, body, body_len);
}

/* Reads the request head (up to the blank line) within the deadline.
 * Returns its length, 0 when the client gave up or was too slow, -1 when
 * it is too large. */
static long read_head(int fd, char *buf, size_t cap, uint64_t deadline)
{
    size_t len = 0;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return 0;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
            return (long)len;
        if (len == cap - 1)
            return -1;
    }
}

static void serve(int fd)
{
    char buf[ADMIN_HEAD_MAX + 1];
    long len = read_head(fd, buf, sizeof(buf), now_ms() + ADMIN_TIMEOUT_MS);
    static const char text[] = "text/plain; charset=utf-8";
    if (len < 0) {
        respond(fd, 431, "Request Header Fields Too Large", text, "", "", 0, false);
        return;
    }
    if (len == 0)
        return;
    /* "METHOD SP target SP HTTP/1.x" */
    char *sp1 = memchr(buf, ' ', (size_t)len);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(buf + len - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        respond(fd, 400, "Bad Request", text, "", "", 0, false);
        return;
    }
    size_t mlen = (size_t)(sp1 - buf);
    char *target = sp1 + 1;
    size_t tlen = strcspn(target, "? ");
    bool head = mlen == 4 && memcmp(buf, "HEAD", 4) == 0;
    bool get = mlen == 3 && memcmp(buf, "GET", 3) == 0;
    bool metrics = tlen == 8 && memcmp(target, "/metrics", 8) == 0;
    bool healthz = tlen == 8 && memcmp(target, "/healthz", 8) == 0;
    if (!metrics && !healthz) {
        respond(fd, 404, "Not Found", text, "", "not found\n", 10, head);
    } else if (!get && !head) {
        respond(fd, 405, "Method Not Allowed", text, "Allow: GET, HEAD\r\n", "", 0, false);
    } else if (healthz) {
        bool draining = atomic_load(&g_server.draining);
        respond(fd, draining ? 503 : 200, draining ? "Service Unavailable" : "OK", text, "",
                draining ? "draining\n" : "ok\n", draining ? 9 : 3, head);
    } else {
        size_t n = 0;
        char *body = metrics_render(&n);
        if (body)
            respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", "", body, n, head);
        else
            respond(fd, 500, "Internal Server Error", text, "", "", 0, false);
        free(body);
    }
}

static void *admin_main(void *arg)
{
    log_set_buffered(false);
    for (;;) {
        struct pollfd p[2] = { { g_listen_fd, POLLIN, 0 }, { g_stop_fd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept4(g_listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct timeval tv = { ADMIN_TIMEOUT_MS / 1000, 0 };
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        serve(fd);
        close(fd);
    }
    return NULL;
}

static void format_addr(const struct ip_addr *ip, uint16_t port, char *out, size_t cap)
{
    char a[64];
    ip_format(ip, a);
    snprintf(out, cap, "%s%s%s:%u", ip->family == 6 ? "[" : "", a, ip->family == 6 ? "]" : "",
             (unsigned)port);
}

/* A listening socket on ip:port, or -1 with errno set. */
static int open_socket(const struct ip_addr *ip, uint16_t port)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t sl;
    if (ip->family == 4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        memcpy(&a->sin_addr, ip->bytes, 4);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        memcpy(&a->sin6_addr, ip->bytes, 16);
        sl = sizeof(*a);
    }
    int one = 1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int admin_bind(const struct cfg *cfg)
{
    if (!cfg->admin_port)
        return 0;
    char where[80];
    format_addr(&cfg->admin_addr, cfg->admin_port, where, sizeof(where));
    g_listen_fd = open_socket(&cfg->admin_addr, cfg->admin_port);
    if (g_listen_fd < 0) {
        log_error("cannot listen on admin_listen %s: %s", where, strerror(errno));
        return -1;
    }
    g_addr = cfg->admin_addr;
    g_port = cfg->admin_port;
    log_info("Admin listener (/metrics, /healthz) on %s", where);
    return 0;
}

/* The listener stopped to free its port for a move that did not happen
 * serves again. */
static void restore(void)
{
    if (!g_stopped_for_move)
        return;
    g_stopped_for_move = false;
    if ((g_listen_fd = open_socket(&g_addr, g_port)) < 0 || admin_start() < 0)
        log_error("the admin listener could not be restored: %s", strerror(errno));
}

static bool moves(const struct cfg *cfg)
{
    return cfg->admin_port != g_port ||
           (g_port && memcmp(&cfg->admin_addr, &g_addr, sizeof(g_addr)) != 0);
}

int admin_reload_prepare(const struct cfg *cfg)
{
    if (!moves(cfg) || !cfg->admin_port)
        return 0;
    char where[80];
    format_addr(&cfg->admin_addr, cfg->admin_port, where, sizeof(where));
    g_next_fd = open_socket(&cfg->admin_addr, cfg->admin_port);
    if (g_next_fd < 0 && errno == EADDRINUSE && cfg->admin_port == g_port) {
        /* another address on the same port (0.0.0.0 after 127.0.0.1, say):
         * only free once the running listener is gone */
        admin_stop();
        g_next_fd = open_socket(&cfg->admin_addr, cfg->admin_port);
        int saved = errno;
        g_stopped_for_move = true;
        if (g_next_fd < 0)
            restore();
        errno = saved;
    }
    if (g_next_fd < 0) {
        log_error("cannot listen on admin_listen %s: %s", where, strerror(errno));
        return -1;
    }
    return 0;
}

void admin_reload_commit(const struct cfg *cfg)
{
    if (!moves(cfg))
        return;
    admin_stop();
    g_stopped_for_move = false;
    g_listen_fd = g_next_fd;
    g_next_fd = -1;
    g_addr = cfg->admin_addr;
    g_port = cfg->admin_port;
    if (g_listen_fd < 0) {
        log_info("Admin listener stopped (admin_listen removed)");
        return;
    }
    char where[80];
    format_addr(&g_addr, g_port, where, sizeof(where));
    if (admin_start() == 0)
        log_info("Admin listener (/metrics, /healthz) on %s", where);
}

void admin_reload_abort(void)
{
    if (g_next_fd >= 0)
        close(g_next_fd);
    g_next_fd = -1;
    restore();
}

bool admin_serving(void)
{
    return g_running;
}

int admin_start(void)
{
    if (g_listen_fd < 0)
        return 0;
    g_stop_fd = eventfd(0, EFD_CLOEXEC);
    if (g_stop_fd < 0 || pthread_create(&g_thread, NULL, admin_main, NULL) != 0) {
        log_error("cannot start the admin listener thread");
        admin_stop();
        return -1;
    }
    g_running = true;
    return 0;
}

void admin_stop(void)
{
    if (g_running) {
        uint64_t one = 1;
        if (write(g_stop_fd, &one, sizeof(one)) != sizeof(one))
            log_warn("cannot wake the admin thread: %s", strerror(errno));
        pthread_join(g_thread, NULL);
        g_running = false;
    }
    if (g_listen_fd >= 0)
        close(g_listen_fd);
    if (g_stop_fd >= 0)
        close(g_stop_fd);
    g_listen_fd = g_stop_fd = -1;
}
