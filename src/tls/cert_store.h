/* The main thread's view of every app's certificate files: loads them,
 * watches them (a stat check each second, a full re-read every 60 s, and a
 * forced re-read when the config changes), keeps the last good material of
 * a name whose files are briefly missing or half-written, and publishes a
 * new certificate set (tls/sni_table.h) whenever what is served changes.
 * Established connections keep the context they were made with. */
#ifndef RPXY_TLS_CERT_STORE_H
#define RPXY_TLS_CERT_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct cfg;

#define CERT_STAT_MS 1000
#define CERT_REREAD_MS 60000

/* Brings the served set in line with cfg's apps (after start-up and after
 * each config reload: every file is read again). */
void cert_store_sync(const struct cfg *cfg);

/* Periodic work: call often (the supervisor's loop); now_ms monotonic. */
void cert_store_tick(const struct cfg *cfg, uint64_t now_ms);

void cert_store_free(void);

#endif
