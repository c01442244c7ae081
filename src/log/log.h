/* System log and access log.
 *
 * Without a log directory both go to stdout; with one, the access log goes to
 * DIR/access.log and everything else to DIR/rpxy.log (files created 0640,
 * opened for append). Lines are formatted into a per-thread buffer (64 KiB
 * per destination) and written with one write(2) per flush: threads that
 * call log_set_buffered(true) flush with log_flush() once per loop pass (and
 * when the buffer fills); other threads write each line at once. A write
 * holds its destination's lock, so lines of two threads never interleave.
 *
 * System line:  2026-06-13T00:00:00.000000Z  INFO message
 * Access line:  stdout: same shape at INFO; file: "<timestamp> <message>".
 * JSON access line (access_log_format = "json"): {"time":"<timestamp>",...}
 *                on both, with no level tag.
 */
#ifndef RPXY_LOG_LOG_H
#define RPXY_LOG_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
    LOG_ERROR = 1,
    LOG_WARN,
    LOG_INFO,
    LOG_DEBUG,
    LOG_TRACE,
};

/* Level named by RUST_LOG, or by RPXY_LOG (our alias) when RUST_LOG is unset:
 * a bare level name, case-insensitive; anything else means LOG_INFO. */
enum log_level log_level_from_env(void);

/* Parses one level name ("warn", "INFO", ...). Returns 0 and sets *out, or -1. */
int log_level_parse(const char *s, enum log_level *out);

/* Opens the destinations. log_dir NULL = stdout. With a directory, prints the
 * rpxy start-up lines on stdout ("Activate logging to files: DIR", ...),
 * creates the directory (recursively, 0750) if missing and opens the files.
 * Returns 0, or -1 after printing the reason on stderr. */
int log_open(const char *log_dir, enum log_level level);

/* Re-opens the log files (after logrotate moved them); a no-op on stdout.
 * Safe while other threads log: the file descriptors keep their numbers.
 * Returns 0, or -1 (old files kept) after logging why. */
int log_reopen(void);

void log_close(void);

enum log_level log_get_level(void);
bool log_enabled(enum log_level level);
/* True when access lines are produced at all (always with files; with stdout
 * only at INFO and above). */
bool log_access_enabled(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

/* One access-log message (no timestamp, no newline); control bytes are
 * escaped as in system lines. */
void log_access(const char *msg, size_t len);

/* An access line formatted in place: returns where its message goes in this
 * thread's buffer, after the timestamp (and " INFO " on stdout), with room
 * for *cap bytes (a NUL may be written in the last one), or NULL when access
 * lines are off. The message must hold no control byte (alog_format's output
 * holds none); nothing may be logged on this thread before
 * log_access_end(len) ends the line (len <= *cap - 1). */
char *log_access_begin(size_t *cap);
/* The same for a JSON access line (access_json.h): the line starts with
 * {"time":"<timestamp>" on both destinations (on stdout too: no level tag,
 * a bare object per line), the message goes on with the other members. */
char *log_access_begin_json(size_t *cap);
void log_access_end(size_t len);

/* Per-thread buffering: off by default. */
void log_set_buffered(bool on);
void log_flush(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) (log_enabled(LOG_DEBUG) ? log_msg(LOG_DEBUG, __VA_ARGS__) : (void)0)

#endif
