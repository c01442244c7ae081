/* bench-backend: the tiny, fast HTTP/1.1 origin server of the benchmark
 * (bench/run.sh). One thread, one epoll loop, level-triggered.
 *
 *   build/bench-backend [--body-size N] [--quiet] [HOST:]PORT
 *
 * HOST is an IPv4 address or a bracketed IPv6 one ("[::1]:9000"); the
 * default is 127.0.0.1. Every request is answered with the same
 * "200 OK" and a body of N bytes (default 13: "Hello, world\n"), with
 * Content-Length; HEAD gets the head only.
 *
 * It parses just enough HTTP/1.1 to be a well-behaved keep-alive peer:
 * finds the end of each request head, reads Content-Length and
 * Transfer-Encoding: chunked bodies and throws them away, honours
 * "Connection: close" and HTTP/1.0, answers "Expect: 100-continue", and
 * accepts pipelined requests. Responses are never copied: a connection
 * queues (kind, count) runs of the static responses and writes them with
 * writev(2), so pipelining costs no memory. Garbage gets a 400 (a head over
 * 8 KiB a 431) and the connection is closed after it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define IN_CAP 8192    /* per-connection input buffer; also the largest head */
#define MAX_RUNS 16    /* queued response runs per connection */
#define MAX_IOV 64     /* iovecs per writev */
#define MAX_EVENTS 256 /* epoll_wait batch */
#define MAX_BODY_SIZE (1024L * 1024 * 1024)

enum resp_kind {
    R_FULL,     /* 200 with body */
    R_HEAD,     /* 200 head only (HEAD requests) */
    R_CONTINUE, /* 100 Continue */
    R_BAD,      /* 400, then close */
    R_TOO_BIG,  /* 431, then close */
    R_KINDS
};

static struct iovec g_resp[R_KINDS];

/* What the parser is inside of. */
enum in_state {
    S_HEAD,          /* waiting for the end of a request head */
    S_BODY,          /* Content-Length body: body_left bytes to skip */
    S_CHUNK_SIZE,    /* chunked: hex size digits */
    S_CHUNK_EXT,     /* chunked: rest of the size line (extensions) */
    S_CHUNK_DATA,    /* chunked: body_left data bytes to skip */
    S_CHUNK_DATA_CR, /* chunked: the CRLF after the data */
    S_TRAILER,       /* chunked: trailer lines up to the empty one */
};

struct run {
    uint8_t kind;
    uint32_t count;
};

struct conn {
    int fd;
    enum in_state state;
    bool close_after;     /* close once the queue is written */
    bool close_when_done; /* the current request asked for the connection to end */
    bool writing;         /* waiting for EPOLLOUT */
    bool head_is_head;    /* the current request is a HEAD */
    bool saw_digit;       /* chunk size: at least one hex digit seen */
    bool line_empty;      /* trailer: the current line has no bytes yet */
    uint64_t body_left;
    size_t in_len; /* bytes in in[] */
    size_t scan;   /* S_HEAD: where to resume looking for the end */
    size_t off;    /* bytes of the first queued response already sent */
    unsigned n_runs;
    struct run runs[MAX_RUNS];
    char in[IN_CAP];
};

static int g_epfd = -1;
static int g_listen_fd = -1;
static int g_spare_fd = -1; /* kept open to shed connections on EMFILE */
static bool g_quiet;

static void die(const char *what)
{
    fprintf(stderr, "bench-backend: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(FILE *out, int status)
{
    fputs("usage: bench-backend [--body-size N] [--quiet] [HOST:]PORT\n"
          "  A fast HTTP/1.1 keep-alive server answering every request with 200 OK\n"
          "  and an N-byte body (default 13, \"Hello, world\\n\").\n",
          out);
    exit(status);
}

/* ---- the static responses ---- */

static void set_resp(enum resp_kind k, const char *text)
{
    g_resp[k].iov_base = (void *)text;
    g_resp[k].iov_len = strlen(text);
}

static void build_responses(long body_size)
{
    static const char pattern[] = "Hello, world\n";
    char head[160];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: bench-backend\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %ld\r\n\r\n",
                     body_size);
    size_t total = (size_t)n + (size_t)body_size;
    char *full = malloc(total);

    if (!full)
        die("malloc");
    memcpy(full, head, (size_t)n);
    for (long i = 0; i < body_size; i++)
        full[n + i] = pattern[i % (long)(sizeof pattern - 1)];
    g_resp[R_FULL].iov_base = full;
    g_resp[R_FULL].iov_len = total;
    g_resp[R_HEAD].iov_base = full;
    g_resp[R_HEAD].iov_len = (size_t)n;
    set_resp(R_CONTINUE, "HTTP/1.1 100 Continue\r\n\r\n");
    set_resp(R_BAD, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    set_resp(R_TOO_BIG, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n");
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c);
}

static int conn_watch(struct conn *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    return epoll_ctl(g_epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void queue_push(struct conn *c, enum resp_kind k)
{
    if (c->n_runs > 0 && c->runs[c->n_runs - 1].kind == k &&
        c->runs[c->n_runs - 1].count < UINT32_MAX) {
        c->runs[c->n_runs - 1].count++;
        return;
    }
    c->runs[c->n_runs].kind = (uint8_t)k;
    c->runs[c->n_runs].count = 1;
    c->n_runs++;
}

/* Writes queued responses. Returns 1 when all are written, 0 when the
 * socket is full, -1 when the connection is dead. */
static int conn_flush(struct conn *c)
{
    while (c->n_runs > 0) {
        struct iovec iov[MAX_IOV];
        int n_iov = 0;
        size_t skip = c->off;

        for (unsigned r = 0; r < c->n_runs && n_iov < MAX_IOV; r++) {
            const struct iovec *resp = &g_resp[c->runs[r].kind];
            for (uint32_t i = 0; i < c->runs[r].count && n_iov < MAX_IOV; i++) {
                iov[n_iov].iov_base = (char *)resp->iov_base + skip;
                iov[n_iov].iov_len = resp->iov_len - skip;
                skip = 0;
                n_iov++;
            }
        }
        ssize_t w = writev(c->fd, iov, n_iov);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        /* Drop what was written from the front of the queue. */
        size_t left = (size_t)w;
        while (left > 0 && c->n_runs > 0) {
            size_t rest = g_resp[c->runs[0].kind].iov_len - c->off;
            if (left < rest) {
                c->off += left;
                break;
            }
            left -= rest;
            c->off = 0;
            if (--c->runs[0].count == 0) {
                c->n_runs--;
                memmove(&c->runs[0], &c->runs[1], c->n_runs * sizeof c->runs[0]);
            }
        }
    }
    return 1;
}

/* Index just past the blank line ending a head, or 0 if not there yet.
 * Bare LF line ends are accepted. *scan remembers where to resume. */
static size_t find_head_end(const char *buf, size_t len, size_t *scan)
{
    size_t i = *scan;

    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
        if (i + 2 >= len)
            break; /* the line after this LF is incomplete: look here again */
    }
    *scan = i;
    return 0;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Does the comma-separated value [v, end) contain this token? */
static bool has_token(const char *v, const char *end, const char *token)
{
    size_t tl = strlen(token);

    while (v < end) {
        while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
            v++;
        const char *start = v;
        while (v < end && *v != ',')
            v++;
        const char *stop = v;
        while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
            stop--;
        if ((size_t)(stop - start) == tl && strncasecmp(start, token, tl) == 0)
            return true;
    }
    return false;
}

struct head_info {
    bool is_head;
    bool http10;
    bool keep_alive; /* HTTP/1.0 with Connection: keep-alive */
    bool close;
    bool chunked;
    bool expect_continue;
    bool has_length;
    uint64_t length;
};

/* Parses the request line and the few headers we care about in
 * [buf, buf+len). Returns false when it is not HTTP/1.x. */
static bool parse_head(const char *buf, size_t len, struct head_info *h)
{
    const char *p = buf, *end = buf + len;

    memset(h, 0, sizeof *h);
    while (p < end && (*p == '\r' || *p == '\n'))
        p++; /* empty lines before a request line are allowed */

    /* request line: METHOD SP TARGET SP HTTP/1.x */
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        return false;
    const char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
    const char *m = p;
    while (m < line_end && is_tchar((unsigned char)*m))
        m++;
    if (m == p || m == line_end || *m != ' ')
        return false;
    h->is_head = (m - p == 4 && memcmp(p, "HEAD", 4) == 0);
    if (line_end - m < 10)
        return false;
    const char *ver = line_end - 8;
    if (memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1') || ver[-1] != ' ')
        return false;
    if (ver - 1 <= m + 1)
        return false; /* empty target */
    for (const char *t = m + 1; t < ver - 1; t++)
        if ((unsigned char)*t <= ' ' || *t == 0x7f)
            return false;
    h->http10 = ver[7] == '0';

    /* header lines */
    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (line_end == p)
            break; /* the blank line */
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (!colon || colon == p)
            return false;
        for (const char *t = p; t < colon; t++)
            if (!is_tchar((unsigned char)*t))
                return false;
        size_t nl = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < line_end && (*v == ' ' || *v == '\t'))
            v++;

        if (nl == 14 && strncasecmp(p, "content-length", nl) == 0) {
            uint64_t n = 0;
            const char *d = v;
            for (; d < line_end && *d >= '0' && *d <= '9'; d++) {
                if (n > (UINT64_MAX - 9) / 10)
                    return false;
                n = n * 10 + (uint64_t)(*d - '0');
            }
            while (d < line_end && (*d == ' ' || *d == '\t'))
                d++;
            if (d == v || d != line_end)
                return false;
            if (h->has_length && h->length != n)
                return false;
            h->has_length = true;
            h->length = n;
        } else if (nl == 17 && strncasecmp(p, "transfer-encoding", nl) == 0) {
            if (has_token(v, line_end, "chunked"))
                h->chunked = true;
            else
                return false; /* no other coding can be framed by us */
        } else if (nl == 10 && strncasecmp(p, "connection", nl) == 0) {
            if (has_token(v, line_end, "close"))
                h->close = true;
            if (has_token(v, line_end, "keep-alive"))
                h->keep_alive = true;
        } else if (nl == 6 && strncasecmp(p, "expect", nl) == 0) {
            if (has_token(v, line_end, "100-continue"))
                h->expect_continue = true;
        }
    }
    if (h->chunked && h->http10)
        return false;
    return true;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Ends the current request: its response goes into the queue. */
static void request_done(struct conn *c)
{
    queue_push(c, c->head_is_head ? R_HEAD : R_FULL);
    c->state = S_HEAD;
    c->scan = 0;
    if (c->close_when_done)
        c->close_after = true;
}

static void reject(struct conn *c, enum resp_kind k)
{
    queue_push(c, k);
    c->close_after = true;
}

/* A request head is complete in [p, p+len): note what its body is. */
static void head_done(struct conn *c, const char *p, size_t len)
{
    struct head_info h;

    if (!parse_head(p, len, &h)) {
        reject(c, R_BAD);
        return;
    }
    c->scan = 0;
    c->head_is_head = h.is_head;
    c->close_when_done = h.close || (h.http10 && !h.keep_alive);
    if (h.chunked) {
        c->state = S_CHUNK_SIZE;
        c->body_left = 0;
        c->saw_digit = false;
    } else if (h.has_length && h.length > 0) {
        c->state = S_BODY;
        c->body_left = h.length;
    } else {
        request_done(c);
        return;
    }
    if (h.expect_continue)
        queue_push(c, R_CONTINUE);
}

/* One byte of chunked framing (sizes, extensions, CRLFs, trailers). */
static void chunk_byte(struct conn *c, char ch)
{
    switch (c->state) {
    case S_CHUNK_SIZE: {
        int v = hex_value(ch);
        if (v >= 0) {
            if (c->body_left > (UINT64_MAX >> 4)) {
                reject(c, R_BAD);
                return;
            }
            c->body_left = (c->body_left << 4) | (uint64_t)v;
            c->saw_digit = true;
            return;
        }
        if (!c->saw_digit) {
            reject(c, R_BAD);
            return;
        }
        if (ch != '\n') {
            c->state = S_CHUNK_EXT;
            return;
        }
        break; /* the size line ends here */
    }
    case S_CHUNK_EXT:
        if (ch != '\n')
            return;
        break; /* the size line ends here */
    case S_CHUNK_DATA_CR:
        if (ch == '\n') {
            c->state = S_CHUNK_SIZE;
            c->saw_digit = false;
        } else if (ch != '\r') {
            reject(c, R_BAD);
        }
        return;
    case S_TRAILER:
        if (ch == '\n') {
            if (c->line_empty)
                request_done(c);
            c->line_empty = true;
        } else if (ch != '\r') {
            c->line_empty = false;
        }
        return;
    default: return;
    }
    /* end of a chunk-size line */
    if (c->body_left == 0) {
        c->state = S_TRAILER;
        c->line_empty = true;
    } else {
        c->state = S_CHUNK_DATA;
    }
}

/* Consumes what it can of in[] (requests, bodies), queueing responses.
 * Stops when the input runs out, the queue is full or the connection is
 * to be closed. */
static void conn_parse(struct conn *c)
{
    size_t pos = 0;

    while (pos < c->in_len && !c->close_after) {
        const char *p = c->in + pos;
        size_t avail = c->in_len - pos;

        switch (c->state) {
        case S_HEAD: {
            /* worst case this request queues CONTINUE and a response */
            if (c->n_runs + 2 > MAX_RUNS)
                goto out;
            size_t end = find_head_end(p, avail, &c->scan);
            if (end == 0) {
                if (avail >= IN_CAP)
                    reject(c, R_TOO_BIG);
                goto out;
            }
            pos += end;
            head_done(c, p, end);
            break;
        }
        case S_BODY:
        case S_CHUNK_DATA: {
            size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
            pos += take;
            c->body_left -= take;
            if (c->body_left > 0)
                goto out;
            if (c->state == S_CHUNK_DATA)
                c->state = S_CHUNK_DATA_CR;
            else
                request_done(c);
            break;
        }
        default:
            /* chunk framing is short: byte by byte */
            chunk_byte(c, *p);
            pos++;
            break;
        }
    }
out:
    if (pos > 0) {
        c->in_len -= pos;
        if (c->in_len > 0)
            memmove(c->in, c->in + pos, c->in_len);
    }
}

/* Parses what is buffered and writes the answers; switches between
 * reading and waiting for the socket to drain. Returns -1 to close. */
static int conn_progress(struct conn *c)
{
    for (;;) {
        conn_parse(c);
        int f = conn_flush(c);
        if (f < 0)
            return -1;
        if (f == 0) {
            if (!c->writing) {
                c->writing = true;
                if (conn_watch(c, EPOLLOUT) < 0)
                    return -1;
            }
            return 0;
        }
        if (c->close_after)
            return -1;
        /* All written. Anything complete left over (the queue filled up)? */
        if (c->in_len == 0 || c->n_runs > 0)
            break;
        size_t before = c->in_len;
        conn_parse(c);
        if (c->n_runs == 0 && c->in_len == before)
            break; /* nothing more can be done until more bytes arrive */
    }
    if (c->writing) {
        c->writing = false;
        if (conn_watch(c, EPOLLIN | EPOLLRDHUP) < 0)
            return -1;
    }
    return 0;
}

static void on_readable(struct conn *c)
{
    if (c->in_len == IN_CAP) {
        /* cannot happen: a full buffer is always consumed or rejected */
        conn_close(c);
        return;
    }
    ssize_t r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
    if (r == 0) {
        conn_close(c);
        return;
    }
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_close(c);
        return;
    }
    c->in_len += (size_t)r;
    if (conn_progress(c) < 0)
        conn_close(c);
}

static void on_writable(struct conn *c)
{
    if (conn_progress(c) < 0)
        conn_close(c);
}

static void accept_all(void)
{
    for (int i = 0; i < 128; i++) {
        int fd = accept4(g_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && g_spare_fd >= 0) {
                /* Out of descriptors: accept one with the spare and drop it,
                 * so the listener does not spin. */
                close(g_spare_fd);
                fd = accept(g_listen_fd, NULL, NULL);
                if (fd >= 0)
                    close(fd);
                g_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (!g_quiet)
                    fprintf(stderr, "bench-backend: out of file descriptors\n");
                continue;
            }
            return; /* EAGAIN or a transient error */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->state = S_HEAD;
        c->close_after = false;
        c->close_when_done = false;
        c->writing = false;
        c->head_is_head = false;
        c->saw_digit = false;
        c->line_empty = false;
        c->body_left = 0;
        c->in_len = 0;
        c->scan = 0;
        c->off = 0;
        c->n_runs = 0;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
        if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
        }
    }
}

/* ---- start-up ---- */

static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    /* root may raise the hard limit too; fine if that is refused */
    struct rlimit want = { .rlim_cur = 1048576, .rlim_max = 1048576 };
    if (rl.rlim_max < want.rlim_max && setrlimit(RLIMIT_NOFILE, &want) == 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int open_listener(const char *spec)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char host[64] = "127.0.0.1";
    const char *port_s = spec;
    const char *colon = strrchr(spec, ':');

    memset(&ss, 0, sizeof ss);
    if (colon) {
        const char *h = spec;
        size_t hl = (size_t)(colon - spec);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        if (hl == 0 || hl >= sizeof host) {
            fprintf(stderr, "bench-backend: bad address '%s'\n", spec);
            exit(2);
        }
        memcpy(host, h, hl);
        host[hl] = '\0';
        port_s = colon + 1;
    }
    char *endp;
    errno = 0;
    long port = strtol(port_s, &endp, 10);
    if (errno || endp == port_s || *endp || port < 1 || port > 65535) {
        fprintf(stderr, "bench-backend: bad port in '%s'\n", spec);
        exit(2);
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        sl = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        sl = sizeof *v6;
    } else {
        fprintf(stderr, "bench-backend: bad address '%s' (want an IP address)\n", host);
        exit(2);
    }

    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "bench-backend: bind %s: %s\n", spec, strerror(errno));
        exit(1);
    }
    if (listen(fd, 4096) < 0)
        die("listen");
    return fd;
}

int main(int argc, char **argv)
{
    long body_size = 13;
    const char *addr = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--body-size") == 0 && i + 1 < argc) {
            char *endp;
            errno = 0;
            body_size = strtol(argv[++i], &endp, 10);
            if (errno || *endp || endp == argv[i] || body_size < 0 || body_size > MAX_BODY_SIZE) {
                fprintf(stderr, "bench-backend: --body-size wants 0..%ld\n", MAX_BODY_SIZE);
                return 2;
            }
        } else if (strcmp(argv[i], "--quiet") == 0) {
            g_quiet = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout, 0);
        } else if (argv[i][0] == '-' || addr) {
            usage(stderr, 2);
        } else {
            addr = argv[i];
        }
    }
    if (!addr)
        usage(stderr, 2);

    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    build_responses(body_size);
    g_listen_fd = open_listener(addr);
    g_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    g_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g_epfd < 0)
        die("epoll_create1");
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, g_listen_fd, &lev) < 0)
        die("epoll_ctl");
    if (!g_quiet)
        fprintf(stderr, "bench-backend: listening on %s, body %ld bytes\n", addr, body_size);

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(g_epfd, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                accept_all();
                continue;
            }
            if (evs[i].events & EPOLLOUT)
                on_writable(c);
            else if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                on_readable(c);
        }
    }
}
