/* Unit tests for src/net/listener.c: the options a listening socket gives
 * the connections it accepts. */
#include "../tap.h"
#include "net/listener.h"
#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static int nodelay(int fd)
{
    int v = -1;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) < 0)
        return -1;
    return v;
}

int main(void)
{
    struct ip_addr lo = { .family = 4, .bytes = { 127, 0, 0, 1 } };
    int l = listener_open(&lo, 0, 16);
    TAP_OK(l >= 0, "listener on 127.0.0.1, a free port");
    if (l < 0)
        return tap_done();
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(l, (struct sockaddr *)&sin, &len);
    TAP_INT_EQ(nodelay(l), 1, "the listener has TCP_NODELAY");

    int c = socket(AF_INET, SOCK_STREAM, 0);
    TAP_INT_EQ(connect(c, (struct sockaddr *)&sin, len), 0, "a client connects");
    struct pollfd p = { .fd = l, .events = POLLIN };
    TAP_INT_EQ(poll(&p, 1, 5000), 1, "the listener reports it");
    int a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    TAP_OK(a >= 0, "accepted");
    /* the proxy sets nothing per connection: small responses must not wait
     * for Nagle's algorithm */
    TAP_INT_EQ(nodelay(a), 1, "the accepted socket inherits TCP_NODELAY");
    close(a);
    close(c);
    close(l);
    return tap_done();
}
