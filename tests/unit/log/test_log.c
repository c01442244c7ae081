/* Unit tests for src/log: level parsing, stdout and file destinations, line
 * format, escaping, buffering, reopen after rotation, concurrent writers. */
#include "log/log.h"

#include "../tap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];

/* ---- helpers ------------------------------------------------------------ */

static char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0, cap = 4096;
    char *buf;
    ssize_t n;

    if (fd < 0)
        return NULL;
    buf = malloc(cap + 1);
    while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* snprintf into a PATH_MAX buffer; a test path never gets that long. */
static char *pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        abort();
    return out;
}

static char *path_in(char *out, const char *a, const char *b)
{
    return pathf(out, "%s/%s", a, b);
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Copies line idx (0-based, without its newline) into out; "" if missing. */
static const char *line_at(const char *s, int idx, char *out, size_t size)
{
    out[0] = '\0';
    for (; s && *s && idx > 0; s++)
        if (*s == '\n')
            idx--;
    if (s && *s) {
        const char *end = strchr(s, '\n');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len >= size)
            len = size - 1;
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* "2026-06-13T00:00:00.123456Z" in UTC, within a few seconds of now. */
static bool is_timestamp(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    struct tm tm = { 0 };
    time_t t;

    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    }
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    return labs((long)(t - time(NULL))) <= 5;
}

static bool is_sys_line(const char *line, const char *tag, const char *msg)
{
    return strlen(line) >= 34 && is_timestamp(line) && line[27] == ' ' &&
           strncmp(line + 28, tag, 5) == 0 && line[33] == ' ' && strcmp(line + 34, msg) == 0;
}

static bool is_access_line(const char *line, const char *msg)
{
    return strlen(line) >= 28 && is_timestamp(line) && line[27] == ' ' &&
           strcmp(line + 28, msg) == 0;
}

/* One access line through log_access_begin/end; false when they are off. */
static bool put_access(const char *msg)
{
    size_t cap, n = strlen(msg);
    char *p = log_access_begin(&cap);

    if (!p)
        return false;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(p, msg, n);
    log_access_end(n);
    return true;
}

/* One JSON access line through log_access_begin_json/end: msg holds the
 * members after "time". False when access lines are off. */
static bool put_access_json(const char *msg)
{
    size_t cap, n = strlen(msg);
    char *p = log_access_begin_json(&cap);

    if (!p)
        return false;
    memcpy(p, msg, n);
    log_access_end(n);
    return true;
}

/* {"time":"<timestamp>"<msg> */
static bool is_json_access_line(const char *line, const char *msg)
{
    return strlen(line) >= 37 && strncmp(line, "{\"time\":\"", 9) == 0 && is_timestamp(line + 9) &&
           line[36] == '"' && strcmp(line + 37, msg) == 0;
}

/* Redirects fd 1 or 2 into a file for the duration of a test step. No TAP
 * output may happen in between (it would land in the file). */
struct capture {
    int target;
    int saved;
    char path[PATH_MAX];
};

static void capture_begin(struct capture *c, int target, const char *name)
{
    int fd;

    fflush(stdout);
    fflush(stderr);
    path_in(c->path, tmpdir, name);
    fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    c->target = target;
    c->saved = dup(target);
    dup2(fd, target);
    close(fd);
}

static char *capture_end(struct capture *c)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved, c->target);
    close(c->saved);
    return slurp(c->path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* ---- level parsing ------------------------------------------------------ */

static void test_level_parse(void)
{
    static const struct {
        const char *s;
        int want; /* -1: rejected */
    } cases[] = {
        { "error", LOG_ERROR },
        { "warn", LOG_WARN },
        { "info", LOG_INFO },
        { "debug", LOG_DEBUG },
        { "trace", LOG_TRACE },
        { "ERROR", LOG_ERROR },
        { "Warn", LOG_WARN },
        { "iNfO", LOG_INFO },
        { "DEBUG", LOG_DEBUG },
        { "TrAcE", LOG_TRACE },
        { "", -1 },
        { "warning", -1 },
        { "verbose", -1 },
        { "rpxy=debug", -1 },
        { "info,rpxy=trace", -1 },
        { " info", -1 },
        { "info ", -1 },
        { "inf", -1 },
        { "off", -1 },
        { "3", -1 },
    };
    char what[96];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum log_level got = (enum log_level)0;
        int rc = log_level_parse(cases[i].s, &got);
        snprintf(what, sizeof what, "log_level_parse(\"%s\")", cases[i].s);
        if (cases[i].want < 0)
            TAP_INT_EQ(rc, -1, what);
        else
            TAP_OK(rc == 0 && (int)got == cases[i].want, what);
    }
    {
        enum log_level got;
        TAP_INT_EQ(log_level_parse(NULL, &got), -1, "log_level_parse(NULL) rejected");
    }
}

static void env_case(const char *rust_log, const char *rpxy_log, enum log_level want,
                     const char *what)
{
    if (rust_log)
        setenv("RUST_LOG", rust_log, 1);
    else
        unsetenv("RUST_LOG");
    if (rpxy_log)
        setenv("RPXY_LOG", rpxy_log, 1);
    else
        unsetenv("RPXY_LOG");
    TAP_INT_EQ(log_level_from_env(), want, what);
}

static void test_level_env(void)
{
    env_case(NULL, NULL, LOG_INFO, "env: nothing set -> info");
    env_case("error", NULL, LOG_ERROR, "env: RUST_LOG=error");
    env_case("warn", NULL, LOG_WARN, "env: RUST_LOG=warn");
    env_case("info", NULL, LOG_INFO, "env: RUST_LOG=info");
    env_case("debug", NULL, LOG_DEBUG, "env: RUST_LOG=debug");
    env_case("trace", NULL, LOG_TRACE, "env: RUST_LOG=trace");
    env_case("DeBuG", NULL, LOG_DEBUG, "env: RUST_LOG is case-insensitive");
    env_case("", NULL, LOG_INFO, "env: RUST_LOG empty -> info");
    env_case("garbage", NULL, LOG_INFO, "env: RUST_LOG garbage -> info");
    env_case("rpxy=debug", NULL, LOG_INFO, "env: directive syntax -> info");
    env_case("rpxy_lib=trace,info", NULL, LOG_INFO, "env: directive list -> info");
    env_case(NULL, "trace", LOG_TRACE, "env: RPXY_LOG used when RUST_LOG unset");
    env_case(NULL, "WARN", LOG_WARN, "env: RPXY_LOG case-insensitive");
    env_case(NULL, "nonsense", LOG_INFO, "env: RPXY_LOG garbage -> info");
    env_case("error", "trace", LOG_ERROR, "env: RUST_LOG wins over RPXY_LOG");
    env_case("", "debug", LOG_INFO, "env: empty RUST_LOG still wins over RPXY_LOG");
    env_case("bogus", "debug", LOG_INFO, "env: garbage RUST_LOG still wins over RPXY_LOG");
    unsetenv("RUST_LOG");
    unsetenv("RPXY_LOG");
}

/* ---- stdout destination ------------------------------------------------- */

static void test_stdout(void)
{
    struct capture cap;
    char line[256];
    char *out;

    TAP_INT_EQ(log_open(NULL, LOG_INFO), 0, "stdout: log_open(NULL, info)");
    TAP_INT_EQ(log_get_level(), LOG_INFO, "stdout: level stored");
    TAP_OK(log_access_enabled(), "stdout: access enabled at info");
    TAP_OK(log_enabled(LOG_WARN) && log_enabled(LOG_INFO) && !log_enabled(LOG_DEBUG),
           "stdout: log_enabled follows the level");

    capture_begin(&cap, STDOUT_FILENO, "stdout1");
    log_info("Listen port: %d", 8080);
    log_debug("hidden %d", 1);
    log_msg(LOG_TRACE, "hidden too");
    log_warn("careful");
    log_error("broken: %s", "yes");
    log_access("GET / 200", 9);
    out = capture_end(&cap);
    TAP_INT_EQ(count_lines(out), 4, "stdout: 4 lines at info");
    TAP_OK(is_sys_line(line_at(out, 0, line, sizeof line), " INFO", "Listen port: 8080"),
           "stdout: INFO line shape");
    TAP_OK(is_sys_line(line_at(out, 1, line, sizeof line), " WARN", "careful"),
           "stdout: WARN padded to 5 columns");
    TAP_OK(is_sys_line(line_at(out, 2, line, sizeof line), "ERROR", "broken: yes"),
           "stdout: ERROR line");
    TAP_OK(is_sys_line(line_at(out, 3, line, sizeof line), " INFO", "GET / 200"),
           "stdout: access line printed as an INFO line");
    free(out);

    log_open(NULL, LOG_TRACE);
    capture_begin(&cap, STDOUT_FILENO, "stdout2");
    log_debug("dbg");
    log_msg(LOG_TRACE, "trc");
    out = capture_end(&cap);
    TAP_OK(is_sys_line(line_at(out, 0, line, sizeof line), "DEBUG", "dbg"), "stdout: DEBUG line");
    TAP_OK(is_sys_line(line_at(out, 1, line, sizeof line), "TRACE", "trc"), "stdout: TRACE line");
    free(out);

    {
        bool written;
        capture_begin(&cap, STDOUT_FILENO, "stdout-inplace");
        written = put_access("GET /in-place 200");
        out = capture_end(&cap);
        TAP_OK(written && count_lines(out) == 1 &&
                   is_sys_line(line_at(out, 0, line, sizeof line), " INFO", "GET /in-place 200"),
               "stdout: an access line in place is an INFO line too");
        free(out);
    }

    {
        bool written;
        capture_begin(&cap, STDOUT_FILENO, "stdout-json");
        written = put_access_json(",\"host\":\"a\"}");
        out = capture_end(&cap);
        TAP_OK(written && count_lines(out) == 1 &&
                   is_json_access_line(line_at(out, 0, line, sizeof line), ",\"host\":\"a\"}"),
               "stdout: a JSON access line is a bare object, no level tag");
        free(out);
    }

    log_open(NULL, LOG_WARN);
    TAP_OK(!log_access_enabled(), "stdout: access disabled at warn");
    TAP_OK(!put_access("GET /x 200"), "stdout: no room for access lines at warn");
    TAP_OK(!put_access_json("}"), "stdout: no JSON access lines at warn");
    capture_begin(&cap, STDOUT_FILENO, "stdout3");
    log_info("not shown");
    log_access("GET /x 200", 10);
    log_warn("shown");
    out = capture_end(&cap);
    TAP_INT_EQ(count_lines(out), 1, "stdout: at warn only the WARN line (no access line)");
    TAP_OK(is_sys_line(line_at(out, 0, line, sizeof line), " WARN", "shown"),
           "stdout: the WARN line");
    free(out);

    TAP_INT_EQ(log_reopen(), 0, "stdout: log_reopen is a no-op");

    log_open(NULL, LOG_INFO);
    capture_begin(&cap, STDOUT_FILENO, "stdout4");
    errno = ENOSPC;
    log_info("keeps errno");
    log_access("x", 1);
    {
        int e = errno;
        out = capture_end(&cap);
        TAP_INT_EQ(e, ENOSPC, "logging preserves errno");
    }
    free(out);
}

/* ---- file destination --------------------------------------------------- */

static char logdir[PATH_MAX], syslog_path[PATH_MAX], acclog_path[PATH_MAX];

static void test_files_open(void)
{
    struct capture cap;
    char want[5 * PATH_MAX], line[256];
    char *out, *sys, *acc;
    int rc;

    umask(022);
    pathf(logdir, "%s/nested/deeper/logs", tmpdir);
    path_in(syslog_path, logdir, "rpxy.log");
    path_in(acclog_path, logdir, "access.log");

    capture_begin(&cap, STDOUT_FILENO, "open1");
    rc = log_open(logdir, LOG_INFO);
    out = capture_end(&cap);
    TAP_INT_EQ(rc, 0, "files: log_open into a missing nested directory");
    snprintf(want, sizeof want,
             "Activate logging to files: %s\n"
             "Directory does not exist, creating: %s\n"
             "Access log: %s\n"
             "System and error log: %s\n",
             logdir, logdir, acclog_path, syslog_path);
    TAP_STR_EQ(out, want, "files: the four start-up lines on stdout");
    free(out);
    TAP_INT_EQ(mode_of(logdir), 0750, "files: directory created 0750");
    TAP_INT_EQ(mode_of(syslog_path), 0640, "files: rpxy.log created 0640");
    TAP_INT_EQ(mode_of(acclog_path), 0640, "files: access.log created 0640");
    TAP_OK(log_access_enabled(), "files: access enabled");

    capture_begin(&cap, STDOUT_FILENO, "open2");
    log_info("Listen port: %d", 8443);
    log_debug("not at info");
    log_warn("a warning");
    log_access("1.2.3.4 GET /a 200", 18);
    out = capture_end(&cap);
    TAP_STR_EQ(out, "", "files: nothing on stdout while logging to files");
    free(out);

    sys = slurp(syslog_path);
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(sys), 2, "files: rpxy.log has the 2 enabled lines");
    TAP_OK(is_sys_line(line_at(sys, 0, line, sizeof line), " INFO", "Listen port: 8443"),
           "files: rpxy.log INFO line shape");
    TAP_OK(is_sys_line(line_at(sys, 1, line, sizeof line), " WARN", "a warning"),
           "files: rpxy.log WARN line shape");
    TAP_INT_EQ(count_lines(acc), 1, "files: access.log has 1 line");
    TAP_OK(is_access_line(line_at(acc, 0, line, sizeof line), "1.2.3.4 GET /a 200"),
           "files: access line is '<timestamp> <message>'");
    free(sys);
    free(acc);

    /* Existing directory: no "creating" line; RUST_LOG=error still logs access. */
    capture_begin(&cap, STDOUT_FILENO, "open3");
    rc = log_open(logdir, LOG_ERROR);
    out = capture_end(&cap);
    TAP_INT_EQ(rc, 0, "files: log_open into an existing directory");
    snprintf(want, sizeof want,
             "Activate logging to files: %s\nAccess log: %s\nSystem and error log: %s\n", logdir,
             acclog_path, syslog_path);
    TAP_STR_EQ(out, want, "files: three start-up lines when the directory exists");
    free(out);
    TAP_OK(log_access_enabled(), "files: access enabled even at error");
    log_warn("filtered");
    log_info("filtered too");
    log_error("an error");
    log_access("GET /b 404", 10);
    sys = slurp(syslog_path);
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(sys), 3, "files: at error only ERROR lines are appended");
    TAP_OK(is_sys_line(line_at(sys, 2, line, sizeof line), "ERROR", "an error"),
           "files: ERROR line appended");
    TAP_OK(strstr(sys, "GET /b") == NULL, "files: access line not in rpxy.log");
    TAP_INT_EQ(count_lines(acc), 2, "files: access line appended at error level");
    TAP_OK(is_access_line(line_at(acc, 1, line, sizeof line), "GET /b 404"),
           "files: second access line");
    free(sys);
    free(acc);
}

static void test_escaping(void)
{
    char *big = malloc(20000), *sys, *acc, line[256];
    size_t base_lines;
    const char *last;
    struct capture cap;

    capture_begin(&cap, STDOUT_FILENO, "open-escape");
    log_open(logdir, LOG_INFO);
    free(capture_end(&cap));
    sys = slurp(syslog_path);
    base_lines = (size_t)count_lines(sys);
    free(sys);

    log_info("a\nb\rc\x1b[31m\x7f\td%s", "\n2026-01-01T00:00:00.000000Z ERROR forged");
    log_access("x\ny\0z", 5);
    sys = slurp(syslog_path);
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(sys), (int)base_lines + 1, "escape: a message stays on one line");
    TAP_OK(is_sys_line(line_at(sys, (int)base_lines, line, sizeof line), " INFO",
                       "a\\nb\\rc\\x1b[31m\\x7f\td\\n2026-01-01T00:00:00.000000Z ERROR forged"),
           "escape: \\n \\r \\xHH escaped, tab kept");
    TAP_OK(is_access_line(line_at(acc, count_lines(acc) - 1, line, sizeof line), "x\\ny\\x00z"),
           "escape: access messages escaped too (NUL included)");
    free(sys);
    free(acc);

    memset(big, 'x', 19999);
    big[19999] = '\0';
    log_info("%s", big);
    sys = slurp(syslog_path);
    TAP_INT_EQ(count_lines(sys), (int)base_lines + 2, "truncate: long message is one line");
    last = strrchr(sys, ' ') + 1; /* the message has no spaces */
    TAP_INT_EQ(strlen(last), 8192 + 3 + 1, "truncate: 8192 bytes + '...' + newline");
    TAP_OK(strcmp(last + 8192, "...\n") == 0, "truncate: ends with '...'");
    free(sys);

    memset(big, '\n', 6000);
    big[6000] = '\0';
    log_access(big, 6000);
    acc = slurp(acclog_path);
    last = strrchr(acc, ' ') + 1;
    TAP_INT_EQ(strlen(last), 8192 + 3 + 1, "truncate: escapes count toward the limit");
    TAP_OK(strncmp(last, "\\n\\n", 4) == 0 && strcmp(last + 8192, "...\n") == 0,
           "truncate: escaped content cut at a whole escape");
    free(acc);
    free(big);
}

static void test_buffered(void)
{
    char *sys, *acc, line[256];
    int sys0, acc0;
    off_t size0;
    struct stat st;

    sys = slurp(syslog_path);
    acc = slurp(acclog_path);
    sys0 = count_lines(sys);
    acc0 = count_lines(acc);
    free(sys);
    free(acc);

    log_set_buffered(true);
    log_info("buffered one");
    log_access("buffered access", 15);
    log_warn("buffered two");
    sys = slurp(syslog_path);
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(sys), sys0, "buffered: nothing in rpxy.log before flush");
    TAP_INT_EQ(count_lines(acc), acc0, "buffered: nothing in access.log before flush");
    free(sys);
    free(acc);

    log_flush();
    sys = slurp(syslog_path);
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(sys), sys0 + 2, "buffered: flush writes rpxy.log");
    TAP_OK(is_sys_line(line_at(sys, sys0, line, sizeof line), " INFO", "buffered one") &&
               is_sys_line(line_at(sys, sys0 + 1, line, sizeof line), " WARN", "buffered two"),
           "buffered: lines in order");
    TAP_INT_EQ(count_lines(acc), acc0 + 1, "buffered: flush writes access.log");
    free(sys);
    free(acc);

    /* Overflowing the 64 KiB buffer writes out complete lines on its own. */
    stat(syslog_path, &st);
    size0 = st.st_size;
    /* 34 bytes of timestamp and level + 65 of message + newline = 100. */
    for (int i = 0; i < 1000; i++)
        log_info("filler line %04d %.48s", i, "................................................");
    stat(syslog_path, &st);
    TAP_OK(st.st_size > size0 && (st.st_size - size0) % 100 == 0,
           "buffered: a full buffer is written in whole lines");
    log_set_buffered(false);
    stat(syslog_path, &st);
    TAP_INT_EQ(st.st_size - size0, 1000 * 100, "buffered: turning buffering off flushes");
    log_info("unbuffered again");
    sys = slurp(syslog_path);
    TAP_OK(strstr(sys, "unbuffered again\n") != NULL, "buffered: off means written at once");
    free(sys);
}

static void *buffered_exit_thread(void *arg)
{
    log_set_buffered(true);
    log_info("flushed at thread exit");
    return NULL;
}

static void test_thread_exit_flush(void)
{
    pthread_t th;
    char *sys;

    pthread_create(&th, NULL, buffered_exit_thread, NULL);
    pthread_join(th, NULL);
    sys = slurp(syslog_path);
    TAP_OK(strstr(sys, " INFO flushed at thread exit\n") != NULL,
           "buffered: a thread's pending lines are written when it exits");
    free(sys);
}

/* True when every descriptor pointing at a file named `name` is FD_CLOEXEC. */
static bool log_fds_cloexec(const char *name, int *found)
{
    char link[64], target[PATH_MAX];
    bool ok = true;

    *found = 0;
    for (int fd = 3; fd < 1024; fd++) {
        ssize_t n;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strlen(target) < strlen(name) || strcmp(target + strlen(target) - strlen(name), name))
            continue;
        (*found)++;
        ok = ok && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
    }
    return ok;
}

static void test_reopen(void)
{
    char old_sys[PATH_MAX], old_acc[PATH_MAX], moved[PATH_MAX], line[256];
    char *sys, *acc, *old;
    int found;

    TAP_OK(log_fds_cloexec("/rpxy.log", &found) && found == 1, "reopen: fd is close-on-exec");

    pathf(old_sys, "%s.1", syslog_path);
    pathf(old_acc, "%s.1", acclog_path);
    rename(syslog_path, old_sys);
    rename(acclog_path, old_acc);
    log_info("before reopen");
    log_access("access before", 13);
    TAP_INT_EQ(log_reopen(), 0, "reopen: log_reopen after rename");
    TAP_INT_EQ(mode_of(syslog_path), 0640, "reopen: new rpxy.log created 0640");
    TAP_INT_EQ(mode_of(acclog_path), 0640, "reopen: new access.log created 0640");
    log_info("after reopen");
    log_access("access after", 12);

    sys = slurp(syslog_path);
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(sys), 1, "reopen: new rpxy.log has only the new line");
    TAP_OK(is_sys_line(line_at(sys, 0, line, sizeof line), " INFO", "after reopen"),
           "reopen: new line in new rpxy.log");
    TAP_INT_EQ(count_lines(acc), 1, "reopen: new access.log has only the new line");
    TAP_OK(is_access_line(line_at(acc, 0, line, sizeof line), "access after"),
           "reopen: new line in new access.log");
    free(sys);
    free(acc);
    old = slurp(old_sys);
    TAP_OK(strstr(old, " INFO before reopen\n") && !strstr(old, "after reopen"),
           "reopen: old rpxy.log keeps the old lines only");
    free(old);
    old = slurp(old_acc);
    TAP_OK(strstr(old, " access before\n") && !strstr(old, "access after"),
           "reopen: old access.log keeps the old lines only");
    free(old);
    TAP_OK(log_fds_cloexec("/rpxy.log", &found) && found == 1,
           "reopen: same number of descriptors, still close-on-exec");

    /* Make reopen fail: the directory is moved away and replaced by a file. */
    pathf(moved, "%s.moved", logdir);
    rename(logdir, moved);
    close(open(logdir, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    TAP_INT_EQ(log_reopen(), -1, "reopen: failure reported");
    log_info("still logging");
    path_in(old_sys, moved, "rpxy.log");
    sys = slurp(old_sys);
    TAP_OK(sys && strstr(sys, "ERROR cannot reopen log file ") && strstr(sys, "Not a directory"),
           "reopen: failure logged as ERROR in the old file");
    TAP_OK(sys && strstr(sys, " INFO still logging\n"), "reopen: old file kept after failure");
    free(sys);
    unlink(logdir);
    rename(moved, logdir);
}

/* ---- concurrency -------------------------------------------------------- */

#define THREADS 4
#define LINES 2000

static void *writer(void *arg)
{
    int id = (int)(long)arg;

    if (id % 2 == 0)
        log_set_buffered(true);
    for (int i = 0; i < LINES; i++) {
        log_info("writer %d line %04d payload-%d-%04d-end", id, i, id, i);
        if (id % 2 == 0 && i % 37 == 0)
            log_flush();
    }
    log_flush();
    return NULL;
}

static void test_concurrent(void)
{
    static bool seen[THREADS][LINES];
    pthread_t th[THREADS];
    char dir[PATH_MAX], path[PATH_MAX], line[256], want[128];
    char *sys, *p;
    int good = 0, dupes = 0;

    path_in(dir, tmpdir, "concurrent");
    {
        struct capture cap;
        capture_begin(&cap, STDOUT_FILENO, "open4");
        log_open(dir, LOG_INFO);
        free(capture_end(&cap));
    }
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer, (void *)i);
    for (int i = 0; i < 20; i++) /* same file reopened under the writers' feet */
        log_reopen();
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);

    sys = slurp(path_in(path, dir, "rpxy.log"));
    TAP_INT_EQ(count_lines(sys), THREADS * LINES, "concurrent: exactly 8000 lines");
    for (p = sys; p && *p;) {
        char *end = strchr(p, '\n');
        int id, n;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        p = end ? end + 1 : p + len;
        if (len < 34 || sscanf(line + 34, "writer %d line %d", &id, &n) != 2 || id < 0 ||
            id >= THREADS || n < 0 || n >= LINES)
            continue;
        snprintf(want, sizeof want, "writer %d line %04d payload-%d-%04d-end", id, n, id, n);
        if (!is_sys_line(line, " INFO", want))
            continue;
        dupes += seen[id][n];
        seen[id][n] = true;
        good++;
    }
    TAP_INT_EQ(good, THREADS * LINES, "concurrent: every line intact");
    TAP_INT_EQ(dupes, 0, "concurrent: no line twice");
    free(sys);
}

/* ---- access lines formatted in place ------------------------------------ */

static void test_access_in_place(void)
{
    static char big[8191 + 1];
    char *acc, line[256];
    int acc0;
    off_t size0;
    struct stat st;

    acc = slurp(acclog_path);
    acc0 = count_lines(acc);
    free(acc);
    errno = EBADF;
    TAP_OK(put_access("in place one"), "in place: enabled with files");
    TAP_INT_EQ(errno, EBADF, "in place: errno preserved");
    log_access("in place one", 12);
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(acc), acc0 + 2, "in place: unbuffered thread writes at once");
    TAP_OK(is_access_line(line_at(acc, acc0, line, sizeof line), "in place one"),
           "in place: \"<timestamp> <message>\"");
    TAP_STR_EQ(line + 27, line_at(acc, acc0 + 1, line, sizeof line) + 27,
               "in place: the same line as log_access");
    free(acc);

    TAP_OK(put_access_json(",\"n\":1}"), "in place: JSON enabled with files");
    acc = slurp(acclog_path);
    TAP_OK(count_lines(acc) == acc0 + 3 &&
               is_json_access_line(line_at(acc, acc0 + 2, line, sizeof line), ",\"n\":1}"),
           "in place: a JSON line in the access file, {\"time\":...} alone");
    free(acc);
    acc0++;

    log_set_buffered(true);
    put_access("buffered in place 1");
    log_info("system line between");
    put_access("buffered in place 2");
    acc = slurp(acclog_path);
    TAP_INT_EQ(count_lines(acc), acc0 + 2, "in place: buffered until the flush");
    free(acc);
    log_flush();
    acc = slurp(acclog_path);
    TAP_OK(count_lines(acc) == acc0 + 4 &&
               is_access_line(line_at(acc, acc0 + 2, line, sizeof line), "buffered in place 1") &&
               is_access_line(line_at(acc, acc0 + 3, line, sizeof line), "buffered in place 2"),
           "in place: flushed in order, the system line elsewhere");
    free(acc);

    /* The longest message: 28 bytes of timestamp + 8191 + newline = 8220;
     * a 64 KiB buffer takes 7 of them before it is written out. */
    memset(big, 'm', sizeof big - 1);
    stat(acclog_path, &st);
    size0 = st.st_size;
    for (int i = 0; i < 20; i++)
        put_access(big);
    stat(acclog_path, &st);
    TAP_OK(st.st_size > size0 && (st.st_size - size0) % 8220 == 0,
           "in place: a full buffer is written in whole lines");
    log_set_buffered(false);
    stat(acclog_path, &st);
    TAP_INT_EQ(st.st_size - size0, 20 * 8220, "in place: every long line written");
}

/* Lines of several threads on a pipe that fills up: a write larger than
 * PIPE_BUF is split there, so only the logger's lock keeps lines whole. */
#define PIPE_THREADS 4
#define PIPE_LINES 400
#define PIPE_PAD 3000

struct pipe_reader {
    int fd;
    char *data;
    size_t len, cap;
};

static void *read_pipe_slowly(void *arg)
{
    struct pipe_reader *r = arg;
    ssize_t n;

    for (;;) {
        if (r->cap - r->len < 4096) {
            r->cap = r->cap * 2 + 65536;
            r->data = realloc(r->data, r->cap + 1);
            if (!r->data)
                abort();
        }
        n = read(r->fd, r->data + r->len, 4096);
        if (n <= 0)
            break;
        r->len += (size_t)n;
        usleep(100);
    }
    r->data[r->len] = '\0';
    return NULL;
}

static void *pipe_writer(void *arg)
{
    static char pad[PIPE_PAD + 1];
    int id = (int)(long)arg;
    char msg[PIPE_PAD + 64];

    memset(pad, 'p', PIPE_PAD);
    log_set_buffered(true);
    for (int i = 0; i < PIPE_LINES; i++) {
        snprintf(msg, sizeof msg, "t%d n%04d %s end", id, i, pad);
        put_access(msg);
        if (i % 25 == 24)
            log_flush();
    }
    log_set_buffered(false);
    return NULL;
}

/* "<timestamp>  INFO t<id> n<nnnn> ppp...p end", as pipe_writer wrote it. */
static bool parse_pipe_line(const char *p, int *id, int *n)
{
    int used = 0;

    if (strlen(p) != 34 + 9 + PIPE_PAD + 4 || !is_timestamp(p) ||
        strncmp(p + 27, "  INFO ", 7) != 0)
        return false;
    if (sscanf(p + 34, "t%d n%4d %n", id, n, &used) != 2 || used != 9)
        return false;
    if (*id < 0 || *id >= PIPE_THREADS || *n < 0 || *n >= PIPE_LINES)
        return false;
    return strspn(p + 43, "p") == PIPE_PAD && strcmp(p + 43 + PIPE_PAD, " end") == 0;
}

static void test_threads_on_a_pipe(void)
{
    static bool seen[PIPE_THREADS][PIPE_LINES];
    struct pipe_reader r = { 0 };
    pthread_t th[PIPE_THREADS], reader;
    int fds[2], saved, whole = 0, dupes = 0;

    log_open(NULL, LOG_INFO);
    fflush(stdout);
    if (pipe(fds) != 0)
        abort();
    saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    r.fd = fds[0];
    pthread_create(&reader, NULL, read_pipe_slowly, &r);
    for (long i = 0; i < PIPE_THREADS; i++)
        pthread_create(&th[i], NULL, pipe_writer, (void *)i);
    for (int i = 0; i < PIPE_THREADS; i++)
        pthread_join(th[i], NULL);
    dup2(saved, STDOUT_FILENO); /* the last write end: the reader sees EOF */
    close(saved);
    pthread_join(reader, NULL);
    close(fds[0]);

    for (char *p = r.data, *end; p && *p; p = end + 1) {
        int id, n;
        end = strchr(p, '\n');
        if (!end)
            break;
        *end = '\0';
        if (parse_pipe_line(p, &id, &n)) {
            dupes += seen[id][n];
            seen[id][n] = true;
            whole++;
        }
    }
    TAP_INT_EQ(whole, PIPE_THREADS * PIPE_LINES, "pipe: every line whole, none lost");
    TAP_INT_EQ(dupes, 0, "pipe: no line twice");
    free(r.data);
}

/* ---- failures ----------------------------------------------------------- */

static void test_open_failures(void)
{
    struct capture out_cap, err_cap;
    char file[PATH_MAX], dir[PATH_MAX], sub[PATH_MAX], want[3 * PATH_MAX];
    char *out, *err;
    int rc;

    path_in(file, tmpdir, "plainfile");
    close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    path_in(dir, file, "logs");
    capture_begin(&out_cap, STDOUT_FILENO, "fail1.out");
    capture_begin(&err_cap, STDERR_FILENO, "fail1.err");
    rc = log_open(dir, LOG_INFO);
    err = capture_end(&err_cap);
    out = capture_end(&out_cap);
    TAP_INT_EQ(rc, -1, "failure: directory under a regular file");
    snprintf(want, sizeof want, "cannot create log directory %s: Not a directory\n", dir);
    TAP_STR_EQ(err, want, "failure: reason on stderr");
    TAP_OK(out && strstr(out, "Activate logging to files: "), "failure: start-up line printed");
    free(out);
    free(err);

    /* The directory exists but rpxy.log cannot be opened (it is a directory). */
    path_in(dir, tmpdir, "badfile");
    mkdir(dir, 0700);
    path_in(sub, dir, "rpxy.log");
    mkdir(sub, 0700);
    capture_begin(&out_cap, STDOUT_FILENO, "fail2.out");
    capture_begin(&err_cap, STDERR_FILENO, "fail2.err");
    rc = log_open(dir, LOG_INFO);
    err = capture_end(&err_cap);
    out = capture_end(&out_cap);
    TAP_INT_EQ(rc, -1, "failure: rpxy.log not openable");
    snprintf(want, sizeof want, "cannot open log file %s: Is a directory\n", sub);
    TAP_STR_EQ(err, want, "failure: 'cannot open log file' on stderr");
    free(out);
    free(err);
    TAP_INT_EQ(log_reopen(), 0, "failure: left on stdout (reopen no-op)");
}

int main(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof tmpdir, "%s/test_log.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_level_parse();
    test_level_env();
    test_stdout();
    test_files_open();
    test_escaping();
    test_buffered();
    test_thread_exit_flush();
    test_access_in_place();
    test_reopen();
    test_concurrent();
    test_threads_on_a_pipe();
    test_open_failures();
    log_close();
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}
