/* Log destinations, line formatting and per-thread buffering.
 *
 * Formatting takes no lock. Every line (or buffered batch of whole lines) is
 * written under its destination's write lock, so batches of two threads
 * never interleave, even on a pipe, where a write larger than PIPE_BUF is not
 * atomic. The descriptor numbers never change while the files are open:
 * log_reopen() swaps the files underneath with dup3(), which is atomic.
 * log_open() and log_close() must not race with logging threads.
 */
#include "log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 8192     /* message bytes kept after escaping */
#define BUF_SIZE 65536   /* per-thread buffer per destination */
#define TS_PREFIX_MAX 32 /* "YYYY-MM-DDTHH:MM:SS." */
/* a line: "{\"time\":\"" or the level tag, timestamp, message, newline */
#define LINE_SIZE (TS_PREFIX_MAX + 8 + 7 + 10 + MSG_MAX + 4)

enum { DEST_SYS, DEST_ACC, DEST_COUNT };

static const char *const level_tags[] = {
    [LOG_ERROR] = "ERROR", [LOG_WARN] = " WARN",  [LOG_INFO] = " INFO",
    [LOG_DEBUG] = "DEBUG", [LOG_TRACE] = "TRACE",
};

static enum log_level g_level = LOG_INFO;
static bool g_files;
static int g_fd[DEST_COUNT] = { STDOUT_FILENO, STDOUT_FILENO };
static char g_path[DEST_COUNT][PATH_MAX];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* open/reopen/close */
static pthread_mutex_t g_write_lock[DEST_COUNT] = { PTHREAD_MUTEX_INITIALIZER,
                                                    PTHREAD_MUTEX_INITIALIZER };

struct log_tls {
    bool buffered;
    bool ts_valid;
    time_t ts_sec;
    size_t ts_len;
    char ts_prefix[TS_PREFIX_MAX];
    size_t used[DEST_COUNT];
    int acc_dest;  /* the access line begun in place: its destination */
    size_t acc_at; /* and where its message starts in buf[acc_dest] */
    char raw[MSG_MAX + 1];
    char line[LINE_SIZE];
    char buf[DEST_COUNT][BUF_SIZE];
};

/* Heap-allocated (not a _Thread_local array) so threads with small stacks do
 * not pay ~50 KiB of static TLS; freed by the key destructor at thread exit. */
static _Thread_local struct log_tls *tls;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static bool tls_key_ok;

/* Writes everything, retrying short writes and EINTR. Any other failure
 * (EAGAIN on a non-blocking stdout, EPIPE, ENOSPC) drops the rest: a logger
 * must never stall the proxy. */
static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return;
        }
    }
}

static void write_locked(int dest, const char *p, size_t len)
{
    pthread_mutex_lock(&g_write_lock[dest]);
    write_all(g_fd[dest], p, len);
    pthread_mutex_unlock(&g_write_lock[dest]);
}

static void flush_dest(struct log_tls *t, int dest)
{
    if (t->used[dest] > 0) {
        write_locked(dest, t->buf[dest], t->used[dest]);
        t->used[dest] = 0;
    }
}

static void flush_tls(struct log_tls *t)
{
    for (int d = 0; d < DEST_COUNT; d++)
        flush_dest(t, d);
}

static void tls_destroy(void *p)
{
    struct log_tls *t = p;
    int saved = errno;

    flush_tls(t);
    free(t);
    tls = NULL;
    errno = saved;
}

static void tls_key_init(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_destroy) == 0;
}

static struct log_tls *get_tls(void)
{
    struct log_tls *t = tls;

    if (t)
        return t;
    t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->buffered = false;
    t->ts_valid = false;
    t->used[DEST_SYS] = t->used[DEST_ACC] = 0;
    pthread_once(&tls_once, tls_key_init);
    if (tls_key_ok)
        pthread_setspecific(tls_key, t);
    tls = t;
    return t;
}

/* Writes "YYYY-MM-DDTHH:MM:SS.uuuuuuZ"; the part up to the second is cached
 * per thread because gmtime_r + strftime cost far more than the digits. */
static size_t format_timestamp(struct log_tls *t, char *out)
{
    struct timespec now;
    long usec;

    clock_gettime(CLOCK_REALTIME, &now);
    if (!t->ts_valid || now.tv_sec != t->ts_sec) {
        struct tm tm;
        size_t n = 0;
        if (gmtime_r(&now.tv_sec, &tm))
            n = strftime(t->ts_prefix, sizeof t->ts_prefix, "%Y-%m-%dT%H:%M:%S.", &tm);
        if (n == 0) {
            memcpy(t->ts_prefix, "1970-01-01T00:00:00.", 20);
            n = 20;
        }
        t->ts_len = n;
        t->ts_sec = now.tv_sec;
        t->ts_valid = true;
    }
    memcpy(out, t->ts_prefix, t->ts_len);
    usec = now.tv_nsec / 1000;
    for (int i = 5; i >= 0; i--) {
        out[t->ts_len + (size_t)i] = (char)('0' + usec % 10);
        usec /= 10;
    }
    out[t->ts_len + 6] = 'Z';
    return t->ts_len + 7;
}

/* Copies the message escaping control characters (tab excepted) so that no
 * client-supplied byte can end a line or forge a new one. Output is capped at
 * MSG_MAX bytes plus "..." when anything was cut. */
static size_t sanitize(char *dst, const char *src, size_t len, bool truncated)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        char esc[4];
        size_t n = 2;

        esc[0] = '\\';
        if ((c >= 0x20 && c != 0x7f) || c == '\t') {
            esc[0] = (char)c;
            n = 1;
        } else if (c == '\n') {
            esc[1] = 'n';
        } else if (c == '\r') {
            esc[1] = 'r';
        } else {
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 0xf];
            n = 4;
        }
        if (o + n > MSG_MAX) {
            truncated = true;
            break;
        }
        memcpy(dst + o, esc, n);
        o += n;
    }
    if (truncated) {
        /* Do not leave half a UTF-8 sequence before the ellipsis. */
        while (o > 0 && ((unsigned char)dst[o - 1] & 0xc0) == 0x80)
            o--;
        if (o > 0 && (unsigned char)dst[o - 1] >= 0xc0)
            o--;
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    return o;
}

static void put(struct log_tls *t, int dest, const char *p, size_t n)
{
    if (!t->buffered) {
        write_locked(dest, p, n);
        return;
    }
    if (t->used[dest] + n > BUF_SIZE)
        flush_dest(t, dest);
    if (n > BUF_SIZE) {
        write_locked(dest, p, n);
        return;
    }
    memcpy(t->buf[dest] + t->used[dest], p, n);
    t->used[dest] += n;
}

/* Formats "<timestamp> [<TAG> ]<message>\n" and hands it to the destination. */
static void emit(struct log_tls *t, int dest, const char *tag, const char *msg, size_t len,
                 bool truncated)
{
    char *line = t->line;
    size_t n = format_timestamp(t, line);

    line[n++] = ' ';
    if (tag) {
        memcpy(line + n, tag, 5);
        n += 5;
        line[n++] = ' ';
    }
    n += sanitize(line + n, msg, len, truncated);
    line[n++] = '\n';
    put(t, dest, line, n);
}

static enum log_level clamp_level(enum log_level level)
{
    if (level < LOG_ERROR)
        return LOG_ERROR;
    return level > LOG_TRACE ? LOG_TRACE : level;
}

enum log_level log_get_level(void)
{
    return g_level;
}

bool log_enabled(enum log_level level)
{
    return level <= g_level;
}

bool log_access_enabled(void)
{
    return g_files || g_level >= LOG_INFO;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    int saved = errno;
    struct log_tls *t;
    int n;

    if (!log_enabled(level) || !(t = get_tls()))
        goto out;
    level = clamp_level(level);
    n = vsnprintf(t->raw, sizeof t->raw, fmt, ap);
    if (n < 0)
        n = snprintf(t->raw, sizeof t->raw, "(unformattable log message: %s)", fmt);
    if ((size_t)n >= sizeof t->raw)
        emit(t, DEST_SYS, level_tags[level], t->raw, MSG_MAX, true);
    else
        emit(t, DEST_SYS, level_tags[level], t->raw, (size_t)n, false);
out:
    errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void log_access(const char *msg, size_t len)
{
    int saved = errno;
    struct log_tls *t;

    if (!log_access_enabled() || !(t = get_tls()))
        goto out;
    if (g_files)
        emit(t, DEST_ACC, NULL, msg, len, false);
    else
        emit(t, DEST_SYS, level_tags[LOG_INFO], msg, len, false);
out:
    errno = saved;
}

/* The start of an access line in this thread's buffer: rpxy's prefix
 * ("<timestamp> ", and "INFO " on stdout), or for JSON the object's first
 * member, {"time":"<timestamp>", on both destinations. */
static char *access_begin(size_t *cap, bool json)
{
    int saved = errno;
    struct log_tls *t;
    char *p = NULL;

    if (!log_access_enabled() || !(t = get_tls()))
        goto out;
    int dest = g_files ? DEST_ACC : DEST_SYS;
    if (t->used[dest] + LINE_SIZE > BUF_SIZE)
        flush_dest(t, dest);
    p = t->buf[dest] + t->used[dest];
    size_t n;
    if (json) {
        memcpy(p, "{\"time\":\"", 9);
        n = 9 + format_timestamp(t, p + 9);
        p[n++] = '"';
    } else {
        n = format_timestamp(t, p);
        p[n++] = ' ';
        if (!g_files) {
            memcpy(p + n, level_tags[LOG_INFO], 5);
            n += 5;
            p[n++] = ' ';
        }
    }
    t->acc_dest = dest;
    t->acc_at = t->used[dest] + n;
    p += n;
    *cap = MSG_MAX;
out:
    errno = saved;
    return p;
}

char *log_access_begin(size_t *cap)
{
    return access_begin(cap, false);
}

char *log_access_begin_json(size_t *cap)
{
    return access_begin(cap, true);
}

void log_access_end(size_t len)
{
    int saved = errno;
    struct log_tls *t = tls;
    int dest = t->acc_dest;
    size_t end = t->acc_at + (len < MSG_MAX ? len : MSG_MAX);

    t->buf[dest][end] = '\n';
    t->used[dest] = end + 1;
    if (!t->buffered)
        flush_dest(t, dest);
    errno = saved;
}

void log_set_buffered(bool on)
{
    struct log_tls *t = get_tls();

    if (!t)
        return;
    if (!on)
        log_flush();
    t->buffered = on;
}

void log_flush(void)
{
    int saved = errno;

    if (tls)
        flush_tls(tls);
    errno = saved;
}

/* Start-up messages and open errors, printed before (or instead of) logging. */
static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...)
{
    char buf[2 * PATH_MAX + 128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        write_all(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int mkdir_p(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof path) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* A process umask can only narrow 0640 (022 and 002 leave it intact). */
static int open_log_file(const char *path)
{
    int fd;

    do
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    while (fd < 0 && errno == EINTR);
    return fd;
}

static int set_path(int dest, const char *dir, const char *name)
{
    size_t len = strlen(dir);
    const char *sep = len > 0 && dir[len - 1] == '/' ? "" : "/";
    int n = snprintf(g_path[dest], sizeof g_path[dest], "%s%s%s", dir, sep, name);

    return n < 0 || (size_t)n >= sizeof g_path[dest] ? -1 : 0;
}

/* Opens both files, or neither (errno and *failed name the culprit). */
static int open_both(int fds[DEST_COUNT], const char **failed)
{
    fds[DEST_ACC] = open_log_file(g_path[DEST_ACC]);
    if (fds[DEST_ACC] < 0) {
        *failed = g_path[DEST_ACC];
        return -1;
    }
    fds[DEST_SYS] = open_log_file(g_path[DEST_SYS]);
    if (fds[DEST_SYS] < 0) {
        int err = errno;
        close(fds[DEST_ACC]);
        errno = err;
        *failed = g_path[DEST_SYS];
        return -1;
    }
    return 0;
}

static int open_dir(const char *dir)
{
    struct stat st;
    const char *failed;
    int fds[DEST_COUNT];

    say(STDOUT_FILENO, "Activate logging to files: %s\n", dir);
    if (stat(dir, &st) != 0) {
        say(STDOUT_FILENO, "Directory does not exist, creating: %s\n", dir);
        if (mkdir_p(dir) != 0) {
            say(STDERR_FILENO, "cannot create log directory %s: %s\n", dir, strerror(errno));
            return -1;
        }
    }
    if (set_path(DEST_ACC, dir, "access.log") != 0 || set_path(DEST_SYS, dir, "rpxy.log") != 0) {
        say(STDERR_FILENO, "log directory path too long: %s\n", dir);
        return -1;
    }
    say(STDOUT_FILENO, "Access log: %s\n", g_path[DEST_ACC]);
    say(STDOUT_FILENO, "System and error log: %s\n", g_path[DEST_SYS]);
    if (open_both(fds, &failed) != 0) {
        say(STDERR_FILENO, "cannot open log file %s: %s\n", failed, strerror(errno));
        return -1;
    }
    g_fd[DEST_ACC] = fds[DEST_ACC];
    g_fd[DEST_SYS] = fds[DEST_SYS];
    g_files = true;
    return 0;
}

/* Back to stdout; the caller holds g_lock. */
static void close_files(void)
{
    log_flush();
    if (!g_files)
        return;
    close(g_fd[DEST_ACC]);
    close(g_fd[DEST_SYS]);
    g_fd[DEST_ACC] = g_fd[DEST_SYS] = STDOUT_FILENO;
    g_files = false;
}

int log_open(const char *log_dir, enum log_level level)
{
    int rc = 0;

    pthread_mutex_lock(&g_lock);
    close_files();
    g_level = clamp_level(level);
    if (log_dir)
        rc = open_dir(log_dir);
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* dup3 keeps O_CLOEXEC, which dup2 would drop. EBUSY is Linux's answer when
 * the target number is mid-allocation in another thread's open(). */
static int move_fd(int from, int to)
{
    int rc;

    do
        rc = dup3(from, to, O_CLOEXEC);
    while (rc < 0 && (errno == EINTR || errno == EBUSY));
    return rc < 0 ? -1 : 0;
}

int log_reopen(void)
{
    const char *failed = NULL;
    int fds[DEST_COUNT], rc = 0;

    pthread_mutex_lock(&g_lock);
    if (!g_files)
        goto out;
    if (open_both(fds, &failed) != 0) {
        log_error("cannot reopen log file %s: %s", failed, strerror(errno));
        rc = -1;
        goto out;
    }
    for (int d = 0; d < DEST_COUNT; d++) {
        if (move_fd(fds[d], g_fd[d]) != 0 && rc == 0) {
            log_error("cannot reopen log file %s: %s", g_path[d], strerror(errno));
            rc = -1;
        }
        close(fds[d]);
    }
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void log_close(void)
{
    pthread_mutex_lock(&g_lock);
    close_files();
    pthread_mutex_unlock(&g_lock);
}
