/* tls-load: an HTTP/1.1-over-TLS load generator for bench/run.sh --tls.
 *
 *   tls-load HOST PORT --sni NAME [-c CONNS] [-d SECONDS | -n REQUESTS]
 *            [--warmup SECONDS] [--new-conn [--resume [--single-use]]] [--groups LIST]
 *            [--ciphersuites LIST] [--alpn LIST] [--path P] [--body-size N]
 *            [--cpu-pids PID,PID...] [--cafile F]
 *   tls-load --inmem CERT KEY [-n HANDSHAKES] [--groups LIST] [--tickets N]
 *
 * Load mode: one thread, CONNS non-blocking connections in an epoll loop.
 * Each sends "GET PATH HTTP/1.1" with Host: NAME:PORT and the SNI NAME, and
 * reads the response (Content-Length or chunked), then
 *   default      sends the next request on the same connection (keep-alive);
 *   --new-conn   asks for "Connection: close", waits for the server to close
 *                and opens a new connection: a full handshake per request;
 *   --resume     (with --new-conn) offers the newest session ticket the
 *                previous connection of the same slot received (TLS 1.3
 *                resumption, psk_dhe_ke); SSL_session_reused counts it. A
 *                ticket is offered again until a newer one arrives (a copy
 *                of the session is offered: OpenSSL's client would otherwise
 *                use a TLS 1.3 ticket only once); with --single-use each
 *                ticket is offered once, as browsers and OpenSSL clients do,
 *                and a server that issues no new ticket on resumption gets
 *                a full handshake every other connection.
 * The first --warmup seconds are not counted. Over the measured window it
 * reads utime+stime of the --cpu-pids processes (/proc/PID/stat, all their
 * threads) and prints, one "key value" per line: requests, rps, latency
 * percentiles, errors, handshakes, resumed share, session tickets received
 * per connection, the negotiated version/cipher/group/ALPN and the CPU time
 * per request of those processes (cpu_us_per_req) and of tls-load itself.
 * The certificate is not verified unless --cafile is given (then the chain
 * and the name are).
 *
 * --inmem: a reference without sockets or proxy. HANDSHAKES full TLS 1.3
 * handshakes between a client and a server SSL over a BIO pair, in this
 * process; the thread CPU time spent in the server's calls (SSL_new,
 * handshake including TICKETS session tickets, SSL_free) is the cost of
 * OpenSSL's own server side of a handshake.
 *
 * Groups naming X25519MLKEM768 load our provider (pq_provider_init), as
 * rpxy does. Exit status: 0, 1 on failure (no request completed, setup
 * errors), 2 on a usage error. */
#include "tls/alpn.h"
#include "tls/group_name.h"
#include "tls/pq/provider.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

#define IDLE_TIMEOUT_S 10.0
#define MAX_PIDS 64

struct opts {
    const char *host, *port, *sni, *groups, *ciphersuites, *alpn, *path, *cafile, *cpu_pids;
    const char *cert, *key; /* --inmem */
    long conns, requests, body_size, tickets;
    double duration, warmup;
    int new_conn, resume, single_use, inmem;
};

enum state { ST_CONNECTING, ST_HANDSHAKE, ST_WRITE, ST_HEAD, ST_BODY, ST_CLOSE_WAIT };

struct conn {
    int fd;
    SSL *ssl;
    enum state st;
    uint32_t events;
    double t_start;  /* of the request (keep-alive) or the connection (--new-conn) */
    double t_active; /* last progress, for the idle timeout */
    size_t wr_off;
    char head[8192];
    size_t head_len;
    long body_left;    /* ST_BODY with Content-Length */
    int chunked;       /* ST_BODY chunked: scanning for the last chunk */
    char tail[5];      /* chunked: the last bytes seen */
    long body_got;     /* bytes of body (chunked: framing included) */
    int resp_close;    /* the response says Connection: close */
    int status;        /* of the response being read */
    int tickets;       /* session tickets received on this connection */
    SSL_SESSION *sess; /* --resume: the newest ticket of this slot */
};

struct stats {
    long requests, errors, bad, handshakes, resumed, closed_conns, tickets, reconnects;
    uint32_t *lat; /* microseconds */
    size_t nlat, caplat;
};

static struct opts O;
static SSL_CTX *ctx;
static struct addrinfo *addr;
static int ep;
static struct conn *conns;
static struct stats S;
static int counting; /* past the warm-up */
static char request[2048];
static size_t request_len;
static char first_error[256];
static char neg_version[32], neg_cipher[64], neg_group[64], neg_alpn[32];

static void usage(FILE *out, int status)
{
    fprintf(out,
            "usage: tls-load HOST PORT --sni NAME [-c CONNS] [-d SECONDS | -n REQUESTS]\n"
            "                [--warmup SECONDS] [--new-conn [--resume [--single-use]]] [--groups "
            "LIST]\n"
            "                [--ciphersuites LIST] [--alpn LIST] [--path P] [--body-size N]\n"
            "                [--cpu-pids PID,PID...] [--cafile F]\n"
            "       tls-load --inmem CERT KEY [-n HANDSHAKES] [--groups LIST] [--tickets N]\n");
    exit(status);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long num_arg(const char *opt, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 0) {
        fprintf(stderr, "tls-load: %s needs a whole number, not '%s'\n", opt, v);
        usage(stderr, 2);
    }
    return n;
}

static double sec_arg(const char *opt, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || d < 0) {
        fprintf(stderr, "tls-load: %s needs seconds, not '%s'\n", opt, v);
        usage(stderr, 2);
    }
    return d;
}

static void parse_args(int argc, char **argv)
{
    int positional = 0;
    const char *first = NULL, *second = NULL;

    O.conns = 64;
    O.duration = 10;
    O.groups = "X25519";
    O.alpn = "http/1.1";
    O.path = "/";
    O.body_size = -1;
    O.tickets = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            usage(stdout, 0);
        if (strcmp(a, "--new-conn") == 0) {
            O.new_conn = 1;
            takes = 0;
        } else if (strcmp(a, "--resume") == 0) {
            O.resume = 1;
            takes = 0;
        } else if (strcmp(a, "--single-use") == 0) {
            O.single_use = 1;
            takes = 0;
        } else if (strcmp(a, "--inmem") == 0) {
            O.inmem = 1;
            takes = 0;
        } else if (a[0] != '-') {
            takes = 0;
            if (positional >= 2)
                usage(stderr, 2);
            *(positional++ == 0 ? &first : &second) = a;
        } else if (v == NULL) {
            fprintf(stderr, "tls-load: %s needs a value (or is unknown)\n", a);
            usage(stderr, 2);
        } else if (strcmp(a, "--sni") == 0) {
            O.sni = v;
        } else if (strcmp(a, "-c") == 0) {
            O.conns = num_arg(a, v);
        } else if (strcmp(a, "-d") == 0) {
            O.duration = sec_arg(a, v);
        } else if (strcmp(a, "-n") == 0) {
            O.requests = num_arg(a, v);
        } else if (strcmp(a, "--warmup") == 0) {
            O.warmup = sec_arg(a, v);
        } else if (strcmp(a, "--groups") == 0) {
            O.groups = v;
        } else if (strcmp(a, "--ciphersuites") == 0) {
            O.ciphersuites = v;
        } else if (strcmp(a, "--alpn") == 0) {
            O.alpn = v;
        } else if (strcmp(a, "--path") == 0) {
            O.path = v;
        } else if (strcmp(a, "--body-size") == 0) {
            O.body_size = num_arg(a, v);
        } else if (strcmp(a, "--cpu-pids") == 0) {
            O.cpu_pids = v;
        } else if (strcmp(a, "--cafile") == 0) {
            O.cafile = v;
        } else if (strcmp(a, "--tickets") == 0) {
            O.tickets = num_arg(a, v);
        } else {
            fprintf(stderr, "tls-load: unknown option %s\n", a);
            usage(stderr, 2);
        }
        i += takes;
    }
    if (O.inmem) {
        O.cert = first;
        O.key = second;
    } else {
        O.host = first;
        O.port = second;
    }
    if (positional != 2 || (!O.inmem && (O.sni == NULL || O.conns < 1)) ||
        ((O.resume && !O.new_conn) || (O.single_use && !O.resume)))
        usage(stderr, 2);
    if (O.inmem && O.requests == 0)
        O.requests = 2000;
}

static void note_error(const char *what)
{
    unsigned long e = ERR_peek_error();
    if (first_error[0] == '\0')
        snprintf(first_error, sizeof(first_error), "%s%s%s", what, e ? ": " : "",
                 e ? ERR_reason_error_string(e) : "");
    ERR_clear_error();
}

/* ---- names of what was negotiated ---- */

static void record_negotiated(SSL *ssl)
{
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;

    if (neg_version[0] != '\0')
        return;
    snprintf(neg_version, sizeof(neg_version), "%s", SSL_get_version(ssl));
    snprintf(neg_cipher, sizeof(neg_cipher), "%s", SSL_get_cipher_name(ssl));
    tls_group_name(ssl, neg_group, sizeof(neg_group));
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    snprintf(neg_alpn, sizeof(neg_alpn), "%.*s", alpn_len ? (int)alpn_len : 1,
             alpn_len ? (const char *)alpn : "-");
}

/* ---- TLS set-up ---- */

static int load_pq_if_named(void)
{
    if (strstr(O.groups, "MLKEM") == NULL && strstr(O.groups, "mlkem") == NULL)
        return 0;
    if (pq_provider_init() != 0) {
        fprintf(stderr, "tls-load: cannot load the X25519MLKEM768 provider\n");
        ERR_print_errors_fp(stderr);
        return -1;
    }
    return 0;
}

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct conn *c = SSL_get_app_data(ssl);

    c->tickets++;
    if (!O.resume)
        return 0;
    SSL_SESSION_free(c->sess);
    c->sess = sess; /* the newest ticket is the one offered next */
    return 1;
}

static SSL_CTX *client_ctx(void)
{
    SSL_CTX *x = SSL_CTX_new(TLS_client_method());
    unsigned char alpn[256];
    int alpn_len;

    if (x == NULL || !SSL_CTX_set1_groups_list(x, O.groups) ||
        !SSL_CTX_set_min_proto_version(x, TLS1_3_VERSION) ||
        (O.ciphersuites != NULL && !SSL_CTX_set_ciphersuites(x, O.ciphersuites)))
        goto err;
    if (O.alpn != NULL && O.alpn[0] != '\0' &&
        ((alpn_len = tls_alpn_wire(O.alpn, alpn, sizeof(alpn))) <= 0 ||
         SSL_CTX_set_alpn_protos(x, alpn, (unsigned)alpn_len) != 0))
        goto err;
    if (O.cafile != NULL) {
        if (!SSL_CTX_load_verify_locations(x, O.cafile, NULL))
            goto err;
        SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
    }
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(x, new_session);
    return x;
err:
    fprintf(stderr, "tls-load: cannot set up the TLS client (groups %s)\n", O.groups);
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(x);
    return NULL;
}

/* ---- connections ---- */

static void set_events(struct conn *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->events = ev;
}

static void conn_close(struct conn *c)
{
    if (c->ssl != NULL) {
        if (counting) {
            S.closed_conns++;
            S.tickets += c->tickets;
        }
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* --resume: offers the slot's newest ticket. OpenSSL's client marks a TLS
 * 1.3 session as used once it resumed (single-use tickets, as browsers
 * treat them too), so a copy is offered and the ticket stays usable until
 * the server sends a newer one; --single-use offers the original. */
static int offer_session(struct conn *c)
{
    SSL_SESSION *s = O.single_use ? c->sess : SSL_SESSION_dup(c->sess);
    int ok = s != NULL && SSL_set_session(c->ssl, s);
    if (!O.single_use)
        SSL_SESSION_free(s);
    return ok;
}

static void conn_open(struct conn *c)
{
    int one = 1;
    double t = now_s();

    c->fd = socket(addr->ai_family, addr->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   addr->ai_protocol);
    if (c->fd < 0) {
        perror("tls-load: socket");
        exit(1);
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, O.sni) ||
        (O.cafile != NULL && !SSL_set1_host(c->ssl, O.sni)) ||
        (O.resume && c->sess != NULL && !offer_session(c))) {
        fprintf(stderr, "tls-load: cannot set up a connection\n");
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    SSL_set_app_data(c->ssl, c);
    SSL_set_connect_state(c->ssl);
    c->tickets = 0;
    c->t_start = c->t_active = t;
    c->events = EPOLLOUT;
    struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        perror("tls-load: epoll_ctl");
        exit(1);
    }
    if (connect(c->fd, addr->ai_addr, addr->ai_addrlen) == 0)
        c->st = ST_HANDSHAKE;
    else if (errno == EINPROGRESS)
        c->st = ST_CONNECTING;
    else {
        /* e.g. no free local port: the handshake fails and counts it */
        if (first_error[0] == '\0')
            snprintf(first_error, sizeof(first_error), "connect: %s", strerror(errno));
        c->st = ST_CONNECTING; /* the idle timeout or EPOLLERR ends it */
    }
}

static void conn_fail(struct conn *c, const char *what)
{
    if (counting)
        S.errors++;
    note_error(what);
    conn_close(c);
    conn_open(c);
}

static void start_request(struct conn *c)
{
    c->st = ST_WRITE;
    c->wr_off = 0;
    c->head_len = 0;
    c->resp_close = 0;
    if (!O.new_conn)
        c->t_start = now_s();
}

static void record_latency(double secs)
{
    if (S.nlat == S.caplat) {
        S.caplat = S.caplat ? S.caplat * 2 : 65536;
        S.lat = realloc(S.lat, S.caplat * sizeof(*S.lat));
        if (S.lat == NULL) {
            fprintf(stderr, "tls-load: out of memory\n");
            exit(1);
        }
    }
    S.lat[S.nlat++] = (uint32_t)(secs * 1e6 + 0.5);
}

/* The response is complete. */
static void response_done(struct conn *c, int status)
{
    if (counting) {
        S.requests++;
        if (status != 200 || (O.body_size >= 0 && !c->chunked && c->body_got != O.body_size))
            S.bad++;
        record_latency(now_s() - c->t_start);
    }
    if (O.new_conn) {
        c->st = ST_CLOSE_WAIT; /* the server closes: we asked it to */
    } else if (c->resp_close) {
        if (counting)
            S.reconnects++;
        conn_close(c);
        conn_open(c);
    } else {
        start_request(c);
    }
}

static int header_is(const char *line, size_t len, const char *name, size_t *vstart)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    n++;
    while (n < len && (line[n] == ' ' || line[n] == '\t'))
        n++;
    *vstart = n;
    return 1;
}

/* Parses the head in c->head[0..end) (end just past the blank line). Sets
 * the body framing. Returns the status or -1. */
static int parse_head(struct conn *c, size_t end)
{
    const char *p = c->head, *lim = c->head + end;
    int status;

    if (end < 12 || strncmp(p, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)p[9]))
        return -1;
    status = atoi(p + 9);
    c->body_left = -1;
    c->chunked = 0;
    p = memchr(p, '\n', (size_t)(lim - p));
    while (p != NULL && ++p < lim) {
        const char *eol = memchr(p, '\n', (size_t)(lim - p));
        size_t len, v;
        if (eol == NULL)
            break;
        len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (header_is(p, len, "content-length", &v))
            c->body_left = atol(p + v);
        else if (header_is(p, len, "transfer-encoding", &v) && len - v >= 7 &&
                 strncasecmp(p + len - 7, "chunked", 7) == 0)
            c->chunked = 1;
        else if (header_is(p, len, "connection", &v) && len - v >= 5 &&
                 strncasecmp(p + v, "close", 5) == 0)
            c->resp_close = 1;
        p = eol;
    }
    if (c->chunked)
        c->body_left = -1;
    else if (c->body_left < 0)
        return -1; /* neither: not what a proxy of the bench backend sends */
    return status;
}

/* Consumes body bytes; returns 1 when the body is complete. */
static int eat_body(struct conn *c, const char *p, size_t n)
{
    c->body_got += (long)n;
    if (!c->chunked) {
        c->body_left -= (long)n;
        return c->body_left <= 0;
    }
    /* chunked: done at "0\r\n\r\n" (no trailers from these servers) */
    for (size_t i = 0; i < n; i++) {
        memmove(c->tail, c->tail + 1, sizeof(c->tail) - 1);
        c->tail[sizeof(c->tail) - 1] = p[i];
    }
    return memcmp(c->tail, "0\r\n\r\n", 5) == 0;
}

/* Drives one connection as far as it goes without blocking. */
static void drive(struct conn *c)
{
    char buf[16384];
    int n, err;

    c->t_active = now_s();
    for (;;) {
        switch (c->st) {
        case ST_CONNECTING: {
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
                if (first_error[0] == '\0')
                    snprintf(first_error, sizeof(first_error), "connect: %s", strerror(soerr));
                conn_fail(c, "connect");
                return;
            }
            c->st = ST_HANDSHAKE;
            break;
        }
        case ST_HANDSHAKE:
            n = SSL_do_handshake(c->ssl);
            if (n == 1) {
                record_negotiated(c->ssl);
                if (counting) {
                    S.handshakes++;
                    if (SSL_session_reused(c->ssl))
                        S.resumed++;
                }
                start_request(c);
                break;
            }
            goto ssl_wait;
        case ST_WRITE:
            n = SSL_write(c->ssl, request + c->wr_off, (int)(request_len - c->wr_off));
            if (n > 0) {
                c->wr_off += (size_t)n;
                if (c->wr_off == request_len) {
                    c->st = ST_HEAD;
                    c->head_len = 0;
                }
                break;
            }
            goto ssl_wait;
        case ST_HEAD:
            n = SSL_read(c->ssl, c->head + c->head_len, (int)(sizeof(c->head) - 1 - c->head_len));
            if (n > 0) {
                char *end;
                c->head_len += (size_t)n;
                c->head[c->head_len] = '\0';
                end = strstr(c->head, "\r\n\r\n");
                if (end == NULL) {
                    if (c->head_len == sizeof(c->head) - 1) {
                        conn_fail(c, "response head too long");
                        return;
                    }
                    break;
                }
                size_t hlen = (size_t)(end + 4 - c->head);
                c->status = parse_head(c, hlen);
                if (c->status < 0) {
                    conn_fail(c, "unparsable response head (no Content-Length, not chunked)");
                    return;
                }
                c->body_got = 0;
                memset(c->tail, 0, sizeof(c->tail));
                c->st = ST_BODY;
                if ((!c->chunked && c->body_left == 0) ||
                    (c->head_len > hlen && eat_body(c, c->head + hlen, c->head_len - hlen)) ||
                    (c->chunked && memcmp(c->tail, "0\r\n\r\n", 5) == 0))
                    response_done(c, c->status);
                break;
            }
            goto ssl_wait;
        case ST_BODY:
            n = SSL_read(c->ssl, buf, sizeof(buf));
            if (n > 0) {
                if (eat_body(c, buf, (size_t)n))
                    response_done(c, c->status);
                break;
            }
            goto ssl_wait;
        case ST_CLOSE_WAIT:
            n = SSL_read(c->ssl, buf, sizeof(buf));
            if (n > 0)
                break; /* nothing expected; discard */
            err = SSL_get_error(c->ssl, n);
            if (err == SSL_ERROR_WANT_READ) {
                set_events(c, EPOLLIN);
                return;
            }
            /* close_notify or EOF: the end we were waiting for. Marked as a
             * clean shutdown, or SSL_free would make the session (the
             * ticket kept for --resume) non-resumable. */
            ERR_clear_error();
            SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
            conn_close(c);
            conn_open(c);
            return;
        }
        continue;
    ssl_wait:
        err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_READ) {
            set_events(c, EPOLLIN);
            return;
        }
        if (err == SSL_ERROR_WANT_WRITE) {
            set_events(c, EPOLLOUT);
            return;
        }
        if (c->st == ST_HEAD && c->head_len == 0 && !O.new_conn &&
            (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL)) {
            /* the server closed an idle keep-alive connection */
            ERR_clear_error();
            if (counting)
                S.reconnects++;
            conn_close(c);
            conn_open(c);
            return;
        }
        conn_fail(c, c->st == ST_HANDSHAKE ? "handshake failed" : "connection failed");
        return;
    }
}

/* ---- /proc CPU readings ---- */

static int pids[MAX_PIDS], npids;

static long long proc_ticks(void)
{
    long long total = 0;
    for (int i = 0; i < npids; i++) {
        char path[64], buf[2048];
        snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0;
        /* after ")": state (3) ... utime (14), stime (15) */
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            total += (long long)(ut + st);
    }
    return total;
}

static void parse_pids(const char *list)
{
    while (list != NULL && *list != '\0' && npids < MAX_PIDS) {
        char *end;
        long p = strtol(list, &end, 10);
        if (end == list || p <= 0) {
            fprintf(stderr, "tls-load: bad --cpu-pids\n");
            exit(2);
        }
        pids[npids++] = (int)p;
        list = *end == ',' ? end + 1 : end;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (S.nlat == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(S.nlat - 1) + 0.5);
    return S.lat[i] / 1000.0;
}

/* ---- load mode ---- */

static int run_load(void)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    int rc = getaddrinfo(O.host, O.port, &hints, &addr);
    double t0, t_window = 0, t_end, cpu_self0 = 0;
    long long ticks0 = 0;

    if (rc != 0) {
        fprintf(stderr, "tls-load: %s:%s: %s\n", O.host, O.port, gai_strerror(rc));
        return 1;
    }
    if (load_pq_if_named() != 0 || (ctx = client_ctx()) == NULL)
        return 1;
    parse_pids(O.cpu_pids);
    int len = snprintf(request, sizeof(request),
                       "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: tls-load\r\n%s\r\n", O.path,
                       O.sni, O.port, O.new_conn ? "Connection: close\r\n" : "");
    if (len < 0 || (size_t)len >= sizeof(request)) {
        fprintf(stderr, "tls-load: request too long\n");
        return 2;
    }
    request_len = (size_t)len;
    signal(SIGPIPE, SIG_IGN);
    ep = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc((size_t)O.conns, sizeof(*conns));
    if (ep < 0 || conns == NULL)
        return 1;
    t0 = now_s();
    for (long i = 0; i < O.conns; i++) {
        conns[i].fd = -1;
        conn_open(&conns[i]);
    }
    if (O.warmup <= 0) {
        counting = 1;
        t_window = t0;
        ticks0 = proc_ticks();
        cpu_self0 = self_cpu_s();
    }
    t_end = (counting ? t0 : t0 + O.warmup) + O.duration;
    double last_sweep = t0;
    for (;;) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++)
            drive(evs[i].data.ptr);
        double t = now_s();
        if (!counting && t >= t0 + O.warmup) {
            counting = 1;
            t_window = t;
            ticks0 = proc_ticks();
            cpu_self0 = self_cpu_s();
            t_end = t + O.duration;
            first_error[0] = '\0';
        }
        if (counting &&
            ((O.requests > 0 && S.requests >= O.requests) || (O.requests == 0 && t >= t_end)))
            break;
        if (t - last_sweep >= 0.5) {
            last_sweep = t;
            for (long i = 0; i < O.conns; i++)
                if (t - conns[i].t_active > IDLE_TIMEOUT_S)
                    conn_fail(&conns[i], "timeout (no progress for 10 s)");
        }
    }
    double secs = now_s() - t_window;
    long long ticks = proc_ticks() - ticks0;
    double cpu_self = self_cpu_s() - cpu_self0;
    long hz = sysconf(_SC_CLK_TCK);

    qsort(S.lat, S.nlat, sizeof(*S.lat), cmp_u32);
    printf("mode %s\n", !O.new_conn ? "keep-alive" : O.resume ? "resume" : "full");
    printf("conns %ld\n", O.conns);
    printf("seconds %.3f\n", secs);
    printf("requests %ld\n", S.requests);
    printf("rps %.1f\n", secs > 0 ? (double)S.requests / secs : 0);
    printf("p50_ms %.3f\np90_ms %.3f\np99_ms %.3f\n", pct(50), pct(90), pct(99));
    printf("errors %ld\nbad %ld\n", S.errors, S.bad);
    printf("handshakes %ld\nresumed %ld\n", S.handshakes, S.resumed);
    printf("reuse_pct %.1f\n", S.handshakes ? 100.0 * (double)S.resumed / (double)S.handshakes : 0);
    printf("tickets_per_conn %.2f\n",
           S.closed_conns ? (double)S.tickets / (double)S.closed_conns : 0);
    printf("reconnects %ld\n", S.reconnects);
    printf("version %s\ncipher %s\ngroup %s\nalpn %s\n", neg_version[0] ? neg_version : "-",
           neg_cipher[0] ? neg_cipher : "-", neg_group[0] ? neg_group : "-",
           neg_alpn[0] ? neg_alpn : "-");
    if (npids > 0) {
        printf("cpu_ticks %lld\n", ticks);
        printf("cpu_us_per_req %.2f\n",
               S.requests ? (double)ticks * 1e6 / (double)hz / (double)S.requests : 0);
    }
    printf("client_cpu_us_per_req %.2f\n", S.requests ? cpu_self * 1e6 / (double)S.requests : 0);
    if (first_error[0] != '\0')
        printf("first_error %s\n", first_error);
    fflush(stdout);
    return S.requests > 0 ? 0 : 1;
}

/* ---- in-memory reference ---- */

static int run_inmem(void)
{
    SSL_CTX *sctx, *cctx;
    double server_cpu = 0, client_cpu = 0;
    long resumed = 0;
    int ok = 1;

    if (load_pq_if_named() != 0)
        return 1;
    sctx = SSL_CTX_new(TLS_server_method());
    cctx = SSL_CTX_new(TLS_client_method());
    if (sctx == NULL || cctx == NULL || SSL_CTX_use_certificate_chain_file(sctx, O.cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(sctx, O.key, SSL_FILETYPE_PEM) != 1 ||
        !SSL_CTX_set1_groups_list(sctx, O.groups) || !SSL_CTX_set1_groups_list(cctx, O.groups) ||
        !SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION)) {
        fprintf(stderr, "tls-load: cannot set up the in-memory contexts\n");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_num_tickets(sctx, (size_t)O.tickets);
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    for (long i = 0; i < O.requests && ok; i++) {
        BIO *bc, *bs;
        SSL *c = SSL_new(cctx), *s;
        double t;

        t = thread_cpu_s();
        s = SSL_new(sctx);
        server_cpu += thread_cpu_s() - t;
        if (c == NULL || s == NULL || !BIO_new_bio_pair(&bc, 0, &bs, 0)) {
            ok = 0;
            break;
        }
        SSL_set_bio(c, bc, bc);
        SSL_set_bio(s, bs, bs);
        SSL_set_connect_state(c);
        SSL_set_accept_state(s);
        SSL_set_tlsext_host_name(c, (char *)(O.sni != NULL ? O.sni : "bench.test"));
        int cdone = 0, sdone = 0;
        for (int turn = 0; turn < 20 && !(cdone && sdone); turn++) {
            if (!cdone) {
                t = thread_cpu_s();
                int r = SSL_do_handshake(c);
                client_cpu += thread_cpu_s() - t;
                if (r == 1)
                    cdone = 1;
                else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
                    ok = 0;
            }
            if (!sdone) {
                t = thread_cpu_s();
                int r = SSL_do_handshake(s);
                server_cpu += thread_cpu_s() - t;
                if (r == 1)
                    sdone = 1;
                else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                    ok = 0;
            }
            if (!ok)
                break;
        }
        if (!cdone || !sdone)
            ok = 0;
        if (ok && i == 0)
            record_negotiated(s);
        resumed += SSL_session_reused(s);
        SSL_free(c);
        t = thread_cpu_s();
        SSL_free(s);
        server_cpu += thread_cpu_s() - t;
    }
    if (!ok) {
        fprintf(stderr, "tls-load: in-memory handshake failed\n");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    printf("mode inmem\nhandshakes %ld\nresumed %ld\ntickets %ld\n", O.requests, resumed,
           O.tickets);
    printf("version %s\ncipher %s\ngroup %s\n", neg_version, neg_cipher, neg_group);
    printf("server_us_per_handshake %.2f\n", server_cpu * 1e6 / (double)O.requests);
    printf("client_us_per_handshake %.2f\n", client_cpu * 1e6 / (double)O.requests);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return 0;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    return O.inmem ? run_inmem() : run_load();
}
