/* Unit tests for src/http/h2_flood.c: each bound allows exactly its limit per
 * one-second window and refuses the next frame; ACKs, non-empty DATA and
 * empty DATA ending a stream are not counted; the window and every counter
 * restart 1000 ms after the window began. */
#include "../tap.h"
#include "http/h2_flood.h"

#include <stdint.h>
#include <stdio.h>

/* RFC 9113 frame types and flags, written out here on purpose: the test
 * checks the code against the wire numbers, not against its own enum. */
#define T_DATA 0x0
#define T_HEADERS 0x1
#define T_PRIORITY 0x2
#define T_RST_STREAM 0x3
#define T_SETTINGS 0x4
#define T_PUSH_PROMISE 0x5
#define T_PING 0x6
#define T_GOAWAY 0x7
#define T_WINDOW_UPDATE 0x8
#define T_CONTINUATION 0x9
#define F_ACK 0x1
#define F_END_STREAM 0x1
#define F_END_HEADERS 0x4
#define F_PADDED 0x8

#define T0 5000 /* an arbitrary start so "now - start" is not trivially now */

/* Sends n identical frames at time now; returns how many were refused and
 * the index (0-based) of the first refusal, or -1 when none was. */
static unsigned send_n(struct h2_flood *f, uint8_t type, uint8_t flags, size_t len, unsigned n,
                       uint64_t now, long *first_refused)
{
    unsigned refused = 0;
    *first_refused = -1;
    for (unsigned i = 0; i < n; i++) {
        if (h2_flood_frame(f, type, flags, len, now)) {
            if (refused++ == 0)
                *first_refused = (long)i;
        }
    }
    return refused;
}

/* One bound: `limit` frames within the window pass, frame limit+1 is
 * refused, and so is every later one in the same window. */
static void check_bound(const char *name, uint8_t type, uint8_t flags, size_t len, unsigned limit)
{
    struct h2_flood f;
    char what[128];
    long first;

    h2_flood_init(&f, T0);
    snprintf(what, sizeof what, "%s: %u in one window allowed", name, limit);
    TAP_INT_EQ(send_n(&f, type, flags, len, limit, T0, &first), 0, what);
    snprintf(what, sizeof what, "%s: frame %u refused", name, limit + 1);
    TAP_OK(h2_flood_frame(&f, type, flags, len, T0 + 999), what);
    snprintf(what, sizeof what, "%s: later frames in the window refused too", name);
    TAP_INT_EQ(send_n(&f, type, flags, len, 3, T0 + 999, &first), 3, what);

    /* spread over the window: the count is per window, not per instant */
    h2_flood_init(&f, T0);
    unsigned refused = 0;
    for (unsigned i = 0; i < limit; i++)
        refused += h2_flood_frame(&f, type, flags, len, T0 + (uint64_t)i * 999 / limit);
    snprintf(what, sizeof what, "%s: %u spread over 999 ms allowed", name, limit);
    TAP_INT_EQ(refused, 0, what);
    snprintf(what, sizeof what, "%s: one more at 999 ms refused", name);
    TAP_OK(h2_flood_frame(&f, type, flags, len, T0 + 999), what);

    /* at 1000 ms the window restarts */
    snprintf(what, sizeof what, "%s: allowed again at exactly 1000 ms", name);
    TAP_OK(!h2_flood_frame(&f, type, flags, len, T0 + 1000), what);
    snprintf(what, sizeof what, "%s: the new window counts from the reset frame", name);
    TAP_INT_EQ(send_n(&f, type, flags, len, limit, T0 + 1500, &first), 1, what);
    snprintf(what, sizeof what, "%s: new window refuses frame %u", name, limit + 1);
    TAP_INT_EQ(first, (long)limit - 1, what);
    snprintf(what, sizeof what, "%s: the new window ends 1000 ms after the reset frame", name);
    TAP_OK(!h2_flood_frame(&f, type, flags, len, T0 + 2000), what);
}

/* Frames that never count: any number in one window passes. */
static void check_uncounted(const char *name, uint8_t type, uint8_t flags, size_t len)
{
    struct h2_flood f;
    char what[128];
    long first;

    h2_flood_init(&f, T0);
    snprintf(what, sizeof what, "%s: never counted (5000 in one window)", name);
    TAP_INT_EQ(send_n(&f, type, flags, len, 5000, T0, &first), 0, what);
    snprintf(what, sizeof what, "%s: counters untouched", name);
    TAP_OK(f.ping == 0 && f.settings == 0 && f.priority == 0 && f.empty_data == 0 && f.rst == 0,
           what);
}

static void test_init(void)
{
    struct h2_flood f;
    f.ping = f.settings = f.priority = f.empty_data = f.rst = 77;
    f.window_start_ms = 1;
    h2_flood_init(&f, 123456);
    TAP_INT_EQ(f.window_start_ms, 123456, "init: window starts now");
    TAP_OK(f.ping == 0 && f.settings == 0 && f.priority == 0 && f.empty_data == 0 && f.rst == 0,
           "init: every counter zero");
}

static void test_bounds(void)
{
    check_bound("PING", T_PING, 0, 8, H2_FLOOD_PING_PER_S);
    check_bound("SETTINGS", T_SETTINGS, 0, 6, H2_FLOOD_SETTINGS_PER_S);
    check_bound("empty SETTINGS", T_SETTINGS, 0, 0, H2_FLOOD_SETTINGS_PER_S);
    check_bound("PRIORITY", T_PRIORITY, 0, 5, H2_FLOOD_PRIORITY_PER_S);
    check_bound("RST_STREAM", T_RST_STREAM, 0, 4, H2_FLOOD_RST_PER_S);
    check_bound("empty DATA", T_DATA, 0, 0, H2_FLOOD_EMPTY_DATA_PER_S);
    check_bound("empty padded DATA", T_DATA, F_PADDED, 0, H2_FLOOD_EMPTY_DATA_PER_S);
    /* flags that mean nothing for a type do not exempt it */
    check_bound("PRIORITY with flag 0x1", T_PRIORITY, 0x1, 5, H2_FLOOD_PRIORITY_PER_S);
    check_bound("RST_STREAM with flag 0x1", T_RST_STREAM, 0x1, 4, H2_FLOOD_RST_PER_S);
    check_bound("PING with flags 0xfe", T_PING, 0xfe, 8, H2_FLOOD_PING_PER_S);
}

static void test_uncounted(void)
{
    check_uncounted("PING ACK", T_PING, F_ACK, 8);
    check_uncounted("SETTINGS ACK", T_SETTINGS, F_ACK, 0);
    check_uncounted("PING ACK with other flags", T_PING, 0xff, 8);
    check_uncounted("empty DATA with END_STREAM", T_DATA, F_END_STREAM, 0);
    check_uncounted("empty padded DATA with END_STREAM", T_DATA, F_END_STREAM | F_PADDED, 0);
    check_uncounted("1-byte DATA", T_DATA, 0, 1);
    check_uncounted("16384-byte DATA", T_DATA, 0, 16384);
    check_uncounted("HEADERS", T_HEADERS, F_END_HEADERS, 0);
    check_uncounted("PUSH_PROMISE", T_PUSH_PROMISE, 0, 0);
    check_uncounted("GOAWAY", T_GOAWAY, 0, 8);
    check_uncounted("WINDOW_UPDATE", T_WINDOW_UPDATE, 0, 4);
    check_uncounted("CONTINUATION", T_CONTINUATION, 0, 0);
    check_uncounted("unknown type 0x0a", 0x0a, 0, 0);
    check_uncounted("unknown type 0xff", 0xff, 0, 0);
}

/* ACKs interleaved with counted frames leave the bound where it is. */
static void test_acks_interleaved(void)
{
    struct h2_flood f;
    unsigned refused = 0;

    h2_flood_init(&f, T0);
    for (unsigned i = 0; i < H2_FLOOD_PING_PER_S; i++) {
        refused += h2_flood_frame(&f, T_PING, 0, 8, T0);
        refused += h2_flood_frame(&f, T_PING, F_ACK, 8, T0);
    }
    TAP_INT_EQ(refused, 0, "PING and PING ACK alternating: limit reached, not passed");
    TAP_INT_EQ(f.ping, H2_FLOOD_PING_PER_S, "PING: only the non-ACKs counted");
    TAP_OK(h2_flood_frame(&f, T_PING, 0, 8, T0), "PING: one over refused");

    h2_flood_init(&f, T0);
    refused = 0;
    for (unsigned i = 0; i < H2_FLOOD_SETTINGS_PER_S; i++) {
        refused += h2_flood_frame(&f, T_SETTINGS, 0, 6, T0);
        refused += h2_flood_frame(&f, T_SETTINGS, F_ACK, 0, T0);
    }
    TAP_INT_EQ(refused, 0, "SETTINGS and ACK alternating: limit reached, not passed");
    TAP_INT_EQ(f.settings, H2_FLOOD_SETTINGS_PER_S, "SETTINGS: only the non-ACKs counted");
    TAP_OK(h2_flood_frame(&f, T_SETTINGS, 0, 6, T0), "SETTINGS: one over refused");

    h2_flood_init(&f, T0);
    refused = 0;
    for (unsigned i = 0; i < H2_FLOOD_EMPTY_DATA_PER_S; i++) {
        refused += h2_flood_frame(&f, T_DATA, 0, 0, T0);
        refused += h2_flood_frame(&f, T_DATA, 0, 100, T0);
        refused += h2_flood_frame(&f, T_DATA, F_END_STREAM, 0, T0);
    }
    TAP_INT_EQ(refused, 0, "empty DATA among others: limit reached, not passed");
    TAP_INT_EQ(f.empty_data, H2_FLOOD_EMPTY_DATA_PER_S, "DATA: only empty non-final counted");
    TAP_OK(h2_flood_frame(&f, T_DATA, 0, 0, T0), "empty DATA: one over refused");
}

/* Each bound has its own counter: filling one to its limit does not
 * refuse a frame of another kind. */
static void test_independent(void)
{
    struct h2_flood f;
    long first;
    unsigned refused = 0;

    h2_flood_init(&f, T0);
    refused += send_n(&f, T_PING, 0, 8, H2_FLOOD_PING_PER_S, T0, &first);
    refused += send_n(&f, T_SETTINGS, 0, 6, H2_FLOOD_SETTINGS_PER_S, T0, &first);
    refused += send_n(&f, T_PRIORITY, 0, 5, H2_FLOOD_PRIORITY_PER_S, T0, &first);
    refused += send_n(&f, T_RST_STREAM, 0, 4, H2_FLOOD_RST_PER_S, T0, &first);
    refused += send_n(&f, T_DATA, 0, 0, H2_FLOOD_EMPTY_DATA_PER_S, T0, &first);
    TAP_INT_EQ(refused, 0, "every bound filled to its limit in one window: nothing refused");
    TAP_OK(h2_flood_frame(&f, T_PING, 0, 8, T0), "then PING over");
    TAP_OK(h2_flood_frame(&f, T_SETTINGS, 0, 6, T0), "then SETTINGS over");
    TAP_OK(h2_flood_frame(&f, T_PRIORITY, 0, 5, T0), "then PRIORITY over");
    TAP_OK(h2_flood_frame(&f, T_RST_STREAM, 0, 4, T0), "then RST_STREAM over");
    TAP_OK(h2_flood_frame(&f, T_DATA, 0, 0, T0), "then empty DATA over");
    TAP_OK(!h2_flood_frame(&f, T_PING, F_ACK, 8, T0), "an ACK still passes when over");
    TAP_OK(!h2_flood_frame(&f, T_HEADERS, F_END_HEADERS, 20, T0), "HEADERS still pass when over");

    /* one frame of another kind after the window resets every counter */
    TAP_OK(!h2_flood_frame(&f, T_HEADERS, F_END_HEADERS, 20, T0 + 1000),
           "an uncounted frame at 1000 ms starts a new window");
    TAP_OK(f.window_start_ms == T0 + 1000 && f.ping == 0 && f.settings == 0 && f.priority == 0 &&
               f.empty_data == 0 && f.rst == 0,
           "the new window has every counter at zero");
    TAP_INT_EQ(send_n(&f, T_PING, 0, 8, H2_FLOOD_PING_PER_S, T0 + 1999, &first), 0,
               "PING: full limit available in the new window");
}

/* The window length is 1000 ms from its start, whenever frames came. */
static void test_window(void)
{
    struct h2_flood f;
    long first;

    h2_flood_init(&f, T0);
    TAP_INT_EQ(send_n(&f, T_PING, 0, 8, H2_FLOOD_PING_PER_S, T0 + 998, &first), 0,
               "window: limit at 998 ms");
    TAP_OK(h2_flood_frame(&f, T_PING, 0, 8, T0 + 999), "window: 999 ms is still the same window");
    TAP_INT_EQ(f.window_start_ms, T0, "window: start kept within the window");
    TAP_OK(!h2_flood_frame(&f, T_PING, 0, 8, T0 + 1000), "window: 1000 ms is a new window");
    TAP_INT_EQ(f.window_start_ms, T0 + 1000, "window: restarted at the frame's time");
    TAP_INT_EQ(f.ping, 1, "window: the frame that restarted it is counted");

    /* a long silence: one reset, not one per elapsed second */
    h2_flood_init(&f, T0);
    TAP_INT_EQ(send_n(&f, T_RST_STREAM, 0, 4, H2_FLOOD_RST_PER_S + 5, T0, &first), 5,
               "window: over the RST_STREAM bound");
    TAP_OK(!h2_flood_frame(&f, T_RST_STREAM, 0, 4, T0 + 3600000), "window: an hour later allowed");
    TAP_INT_EQ(f.window_start_ms, T0 + 3600000, "window: starts at the late frame");

    /* the initial window starts at init, not at the first frame */
    h2_flood_init(&f, T0);
    TAP_OK(!h2_flood_frame(&f, T_PING, 0, 8, T0 + 999), "window: first frame at 999 ms");
    TAP_INT_EQ(f.window_start_ms, T0, "window: started at init");
    TAP_OK(!h2_flood_frame(&f, T_PING, 0, 8, T0 + 1000), "window: next at 1000 ms");
    TAP_INT_EQ(f.ping, 1, "window: reset at 1000 ms after init although one frame came at 999");

    /* now_ms of 0 from a fresh clock works too */
    h2_flood_init(&f, 0);
    TAP_INT_EQ(send_n(&f, T_SETTINGS, 0, 6, H2_FLOOD_SETTINGS_PER_S + 1, 0, &first), 1,
               "window: clock at 0");
    TAP_INT_EQ(first, H2_FLOOD_SETTINGS_PER_S, "window: clock at 0, refused at limit + 1");
}

int main(void)
{
    test_init();
    test_bounds();
    test_uncounted();
    test_acks_interleaved();
    test_independent();
    test_window();
    return tap_done();
}
