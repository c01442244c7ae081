/* /metrics: the Prometheus text format (version 0.0.4) of the per-worker
 * counters (summed), the configuration in force, upstream health and
 * certificate expiry. Runs on the admin thread. */
#ifndef RPXY_ADMIN_METRICS_TEXT_H
#define RPXY_ADMIN_METRICS_TEXT_H

#include <stddef.h>

/* Renders every metric. Returns a malloc'd text the caller frees (its
 * length in *len), or NULL when out of memory. */
char *metrics_render(size_t *len);

#endif
