/* The admin listener (ours; top-level `admin_listen`): one thread serving
 * GET/HEAD /metrics (admin/metrics_text.c) and /healthz, anything else
 * 404 or 405. It is no part of the proxy's routing, so no app reaches it,
 * and it is bounded: one connection at a time, a request head of at most
 * 8 KiB within 5 s, then the connection is closed. */
#ifndef RPXY_ADMIN_ADMIN_SERVER_H
#define RPXY_ADMIN_ADMIN_SERVER_H

#include <stdbool.h>

struct cfg;

/* Binds cfg's admin address (when set), before the proxy's listeners
 * serve, so the admin port takes connections once the proxy does. Returns
 * 0 (also when no admin listener is configured), or -1 after logging why. */
int admin_bind(const struct cfg *cfg);

/* Starts the thread serving what admin_bind() bound (nothing to do without
 * it). Returns 0, or -1 after logging why. */
int admin_start(void);

/* Stops and joins the thread, closes the socket. Safe without a start. */
void admin_stop(void);

/* A reload, first step: binds the new admin_listen when it moved (nothing
 * when it did not, or was removed). Returns 0, or -1 after logging why:
 * the reload is then refused and the running listener keeps serving. */
int admin_reload_prepare(const struct cfg *cfg);

/* A reload in force: the prepared listener replaces the running one, or
 * the running one stops when admin_listen was removed. */
void admin_reload_commit(const struct cfg *cfg);

/* A reload refused after admin_reload_prepare(): its socket is closed. */
void admin_reload_abort(void);

/* Whether the admin listener runs (its counters are wanted). */
bool admin_serving(void);

#endif
