/* The debug line of a forwarded request: rpxy's shape, names lower-cased,
 * values quoted and escaped as Rust's Debug does, credentials redacted
 * unless asked otherwise, long lines cut with "...". */
#include <string.h>

#include "../tap.h"
#include "log/request_debug.h"

static const char head[] = "POST /api?x=1 HTTP/1.1\r\n"
                           "Host: a.test\r\n"
                           "Authorization: Basic Zm9vOmJhcg==\r\n"
                           "Cookie: session=secret\r\n"
                           "cookie: other=secret2\r\n"
                           "Proxy-Authorization: Basic cHJveHk=\r\n"
                           "X-Quote: say \"hi\" \\ \x01\xc3\xa9\r\n"
                           "\r\n";

int main(void)
{
    char out[2048];
    const char *uri = "http://127.0.0.1:9000/api?x=1";
    request_debug_format(out, sizeof(out), uri, strlen(uri), "HTTP/1.1", head, sizeof(head) - 1);
    TAP_STR_EQ(out,
               "Request to be forwarded: [uri http://127.0.0.1:9000/api?x=1, method: POST, version "
               "HTTP/1.1, headers {\"host\": \"a.test\", \"authorization\": \"<redacted>\", "
               "\"cookie\": \"<redacted>\", \"cookie\": \"<redacted>\", \"proxy-authorization\": "
               "\"<redacted>\", \"x-quote\": \"say \\\"hi\\\" \\\\ \\x01\\xc3\\xa9\"}]",
               "redacted line");
    request_debug_show_credentials(true);
    request_debug_format(out, sizeof(out), uri, strlen(uri), "HTTP/2.0", head, sizeof(head) - 1);
    TAP_OK(strstr(out, "\"authorization\": \"Basic Zm9vOmJhcg==\"") &&
               strstr(out, "\"cookie\": \"session=secret\"") && strstr(out, "version HTTP/2.0,"),
           "credentials shown when RPXY_UNSAFE_DEBUG_HEADERS is on");
    request_debug_show_credentials(false);
    char small[64];
    size_t n = request_debug_format(small, sizeof(small), uri, strlen(uri), "HTTP/1.1", head,
                                    sizeof(head) - 1);
    TAP_OK(n < sizeof(small) && strlen(small) == n && !strcmp(small + n - 3, "..."),
           "a long line is cut with ...");
    return tap_done();
}
