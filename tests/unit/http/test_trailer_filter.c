/* The trailer filter: allowed fields kept in order and byte for byte,
 * framing, routing, authentication and forwarding fields dropped whatever
 * their case, lines without a colon dropped. */
#include <string.h>

#include "../tap.h"
#include "http/trailer_filter.h"

int main(void)
{
    static const char in[] = "X-Checksum: 1\r\n"
                             "Content-Length: 5\r\n"
                             "transfer-ENCODING: chunked\r\n"
                             "Host: evil\r\n"
                             "grpc-status: 0\r\n"
                             "X-Forwarded-For: 6.6.6.6\r\n"
                             "no colon here\r\n"
                             "Set-Cookie: a=b\r\n"
                             "Server-Timing: db;dur=53\r\n";
    char out[sizeof(in)];
    size_t dropped;
    size_t n = trailer_filter(in, sizeof(in) - 1, out, &dropped);
    static const char want[] = "X-Checksum: 1\r\ngrpc-status: 0\r\nServer-Timing: db;dur=53\r\n";
    TAP_INT_EQ(n, sizeof(want) - 1, "kept length");
    TAP_OK(n == sizeof(want) - 1 && memcmp(out, want, n) == 0, "kept fields, in order");
    TAP_INT_EQ(dropped, 6, "dropped lines");
    TAP_INT_EQ(trailer_filter("", 0, out, &dropped), 0, "empty section");
    TAP_INT_EQ(dropped, 0, "nothing dropped from nothing");
    static const char *const refused[] = { "content-length",
                                           "Transfer-Encoding",
                                           "HOST",
                                           "connection",
                                           "te",
                                           "trailer",
                                           "authorization",
                                           "cookie",
                                           "x-real-ip",
                                           "forwarded",
                                           "content-type",
                                           "upgrade" };
    int all = 1;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        all &= !trailer_field_allowed(refused[i], strlen(refused[i]));
    TAP_OK(all, "framing, routing, auth and forwarding fields are refused");
    TAP_OK(trailer_field_allowed("grpc-message", 12), "grpc-message is allowed");
    TAP_OK(trailer_field_allowed("content-lengthx", 15), "names match whole");
    TAP_OK(trailer_field_allowed("t", 1), "a prefix of te is not te");
    return tap_done();
}
