/* Per-connection bounds on HTTP/2 frames that cost the server work but
 * carry no request: PING, SETTINGS, PRIORITY, empty DATA and RST_STREAM
 * floods (the last complements nghttp2's own rapid-reset limiter). Counts
 * are kept per one-second window; a connection over a bound is ended with
 * ENHANCE_YOUR_CALM. Pure bookkeeping, no I/O. */
#ifndef RPXY_HTTP_H2_FLOOD_H
#define RPXY_HTTP_H2_FLOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H2_FLOOD_PING_PER_S 100
#define H2_FLOOD_SETTINGS_PER_S 50
#define H2_FLOOD_PRIORITY_PER_S 1000
#define H2_FLOOD_EMPTY_DATA_PER_S 100
#define H2_FLOOD_RST_PER_S 200

struct h2_flood {
    uint64_t window_start_ms;
    uint32_t ping, settings, priority, empty_data, rst;
};

void h2_flood_init(struct h2_flood *f, uint64_t now_ms);

/* Counts a received frame (type and flags as on the wire). Returns true
 * when the connection is over a bound. */
bool h2_flood_frame(struct h2_flood *f, uint8_t type, uint8_t flags, size_t length,
                    uint64_t now_ms);

#endif
