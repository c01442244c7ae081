/* The ACME service (SPEC 10): one thread, off the request path, that keeps
 * a certificate in the registry for every app with `tls.acme = true`. At
 * start it loads (or creates and stores at once) the account key and reads
 * the cached certificates; then, domain by domain, it orders a certificate
 * when there is none, when the cached one is unusable, or at two thirds of
 * its lifetime, backing off 1 s, 2 s, ... 2^16 s after failures. A stored
 * certificate is announced to the main thread, which rebuilds and publishes
 * the certificate set at once (tls/cert_store.h). Every step is logged as
 * `rpxy ACME event: ...` or `rpxy ACME error: ...`. */
#ifndef RPXY_ACME_MANAGER_H
#define RPXY_ACME_MANAGER_H

#include <stdbool.h>

struct cfg;

/* Starts, restarts or stops the service to match cfg (main thread; at
 * start-up and after each config reload). Nothing changes when the ACME
 * settings and domains are those already served. Returns 0, or -1 after
 * logging why it could not start (the start-up checks of SPEC 10 are the
 * caller's: acme_registry_check). */
int acme_manager_sync(const struct cfg *cfg);

/* True once after the service stored a new certificate: the caller reloads
 * the certificate set. */
bool acme_manager_take_changed(void);

/* Stops the thread (interrupting any request in flight) and frees it all. */
void acme_manager_stop(void);

#endif
