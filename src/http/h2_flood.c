#include "http/h2_flood.h"

/* RFC 9113 frame types and flags (kept here so the bookkeeping needs no
 * HTTP/2 library) */
enum { T_DATA = 0, T_PRIORITY = 2, T_RST_STREAM = 3, T_SETTINGS = 4, T_PING = 6 };
enum { F_ACK = 0x1, F_END_STREAM = 0x1 };

void h2_flood_init(struct h2_flood *f, uint64_t now_ms)
{
    *f = (struct h2_flood){ .window_start_ms = now_ms };
}

bool h2_flood_frame(struct h2_flood *f, uint8_t type, uint8_t flags, size_t length, uint64_t now_ms)
{
    if (now_ms - f->window_start_ms >= 1000)
        h2_flood_init(f, now_ms);
    switch (type) {
    case T_PING: return !(flags & F_ACK) && ++f->ping > H2_FLOOD_PING_PER_S;
    case T_SETTINGS: return !(flags & F_ACK) && ++f->settings > H2_FLOOD_SETTINGS_PER_S;
    case T_PRIORITY: return ++f->priority > H2_FLOOD_PRIORITY_PER_S;
    case T_RST_STREAM: return ++f->rst > H2_FLOOD_RST_PER_S;
    case T_DATA:
        return length == 0 && !(flags & F_END_STREAM) &&
               ++f->empty_data > H2_FLOOD_EMPTY_DATA_PER_S;
    default: return false;
    }
}
