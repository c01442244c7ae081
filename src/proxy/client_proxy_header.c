#include "proxy/client_proxy_header.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "config/config.h"
#include "log/log.h"
#include "net/listener.h"
#include "net/proxy_header.h"
#include "proxy/client_conn.h"

static void fail(const struct ip_addr *ip, uint16_t port, const char *reason)
{
    char peer[64];
    listener_format(ip, port, peer);
    log_warn("Failed to parse PROXY header: %s. Closing connection from %s", reason, peer);
}

bool client_proxy_peer_trusted(const struct cfg_proxy_protocol *pp, const struct ip_addr *peer,
                               uint16_t port)
{
    for (size_t i = 0; i < pp->n_trusted_proxies; i++)
        if (ip_cidr_contains(&pp->trusted_proxies[i], peer))
            return true;
    char text[64], reason[128];
    listener_format(peer, port, text);
    snprintf(reason, sizeof(reason), "PROXY header from untrusted source: %s", text);
    fail(peer, port, reason);
    return false;
}

uint64_t client_proxy_timeout_ms(const struct cfg_proxy_protocol *pp)
{
    return pp->timeout_ms ? pp->timeout_ms : 5000;
}

void client_proxy_header_timed_out(const struct client *c, uint64_t timeout_ms)
{
    char reason[96];
    snprintf(reason, sizeof(reason), "PROXY header read timed out after %llums",
             (unsigned long long)timeout_ms);
    fail(&c->peer_ip, c->peer_port, reason);
}

/* recv() without EINTR. */
static ssize_t recv_retry(int fd, void *p, size_t n, int flags)
{
    ssize_t r;
    do
        r = recv(fd, p, n, flags);
    while (r < 0 && errno == EINTR);
    return r;
}

int client_proxy_header_read(struct client *c)
{
    uint8_t b[PROXY_HEADER_MAX];
    ssize_t n = recv_retry(c->io.fd, b, sizeof(b), MSG_PEEK);
    if (n < 0 && errno == EAGAIN) {
        c->can_read = false;
        return 0;
    }
    if (n <= 0) {
        fail(&c->peer_ip, c->peer_port,
             n == 0 ? "connection closed before the PROXY header was complete"
                    : "read error before the PROXY header was complete");
        return -1;
    }
    struct proxy_header h;
    long len = proxy_header_parse(b, (size_t)n, &h);
    if (len < 0) {
        fail(&c->peer_ip, c->peer_port, proxy_header_strerror(len));
        return -1;
    }
    if (len == 0 && c->rdhup) {
        fail(&c->peer_ip, c->peer_port, "connection closed before the PROXY header was complete");
        return -1;
    }
    if (len == 0) {
        /* the bytes so far were all peeked: the next arrival wakes us */
        c->can_read = false;
        return 0;
    }
    if (recv_retry(c->io.fd, b, (size_t)len, 0) != len) {
        fail(&c->peer_ip, c->peer_port, "read error while consuming the PROXY header");
        return -1;
    }
    if (h.has_address) {
        c->peer_ip = ip_unmap(h.src);
        c->peer_port = h.src_port;
    }
    return 1;
}
