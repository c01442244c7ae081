/* Test fixtures shared by the access-log tests (line and JSON). */
#ifndef RPXY_TESTS_ALOG_FIXTURE_H
#define RPXY_TESTS_ALOG_FIXTURE_H

#include "log/access_line.h"
#include "util/ipaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) ((struct alog_str){ (lit), sizeof(lit) - 1 })

static struct ip_addr addr(const char *s)
{
    struct ip_addr a;
    const char *why;
    if (ip_parse(s, strlen(s), &a, &why) != 0) {
        printf("# bad test address %s\n", s);
        exit(1);
    }
    return a;
}

/* The SPEC 13.1 example. */
static struct alog_fields example(void)
{
    struct alog_fields f = {
        .host = S("example.com"),
        .has_client = true,
        .client_ip = addr("192.168.1.1"),
        .client_port = 8080,
        .method = S("GET"),
        .path_and_query = S("/path?query=value"),
        .version = ALOG_HTTP_11,
        .status = 200,
        .scheme = S("https"),
        .user_agent = S("Mozilla/5.0"),
        .xff = S("10.0.0.1"),
        .upstream = S("https://backend.example.com/path?query=value"),
    };
    return f;
}

#endif
