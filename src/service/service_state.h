/* What the proxy tells its service manager (systemd, via sd_notify.c) as it
 * starts, reloads and stops: READY=1, RELOADING=1, STOPPING=1, and a one-line
 * STATUS= summary of what is being served. */
#ifndef RPXY_SERVICE_SERVICE_STATE_H
#define RPXY_SERVICE_SERVICE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;

/* Every listener is bound and every worker runs on cfg. last_reload_failed
 * adds a note to STATUS that the running configuration is an older one. */
void service_ready(const struct cfg *cfg, size_t n_workers, bool last_reload_failed);

/* A configuration reload begins (RELOADING=1 with MONOTONIC_USEC=, which
 * systemd 253+ wants); service_ready() tells when it is over. */
void service_reloading(void);

/* Graceful shutdown begins: connections drain for up to grace_s seconds. */
void service_stopping(uint64_t grace_s);

/* Writes the STATUS= summary of cfg into out (at most size bytes, NUL
 * included). Returns out. */
char *service_summary(const struct cfg *cfg, size_t n_workers, char *out, size_t size);

#endif
