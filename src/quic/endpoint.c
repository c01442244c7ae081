#include "quic/endpoint.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "core/server.h"
#include "core/worker.h"
#include "log/log.h"
#include "net/listener.h"
#include "net/udp.h"
#include "quic/conn.h"
#include "quic/crypto.h"
#include "quic/secret.h"

/* a short-header packet shorter than this cannot be one of ours: no reset */
#define RESET_MIN_TRIGGER 41
/* stateless resets a worker sends per second at most (spoofed sources
 * must not turn it into a packet cannon) */
#define RESETS_PER_SECOND 100

static struct quic_endpoint *endpoint_of(struct worker *w)
{
    if (w->quic)
        return w->quic;
    struct quic_endpoint *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return NULL;
    ep->w = w;
    if (cid_map_init(&ep->cids) < 0) {
        free(ep);
        return NULL;
    }
    w->quic = ep;
    return ep;
}

void quic_endpoint_free(struct worker *w)
{
    struct quic_endpoint *ep = w->quic;
    if (!ep)
        return;
    cid_map_free(&ep->cids);
    free(ep->rx_bufs);
    free(ep);
    w->quic = NULL;
}

int quic_endpoint_new_cid(struct quic_endpoint *ep, ngtcp2_cid *cid, size_t len)
{
    if (len > NGTCP2_MAX_CIDLEN || RAND_bytes(cid->data, (int)len) != 1)
        return -1;
    cid->data[0] = (uint8_t)ep->w->index; /* steering: net/udp.c */
    cid->datalen = len;
    return 0;
}

int quic_endpoint_add_cid(struct quic_endpoint *ep, const ngtcp2_cid *cid, struct quic_conn *qc)
{
    return cid_map_put(&ep->cids, cid->data, cid->datalen, qc);
}

void quic_endpoint_del_cid(struct quic_endpoint *ep, const ngtcp2_cid *cid)
{
    cid_map_del(&ep->cids, cid->data, cid->datalen);
}

void quic_endpoint_forget(struct quic_endpoint *ep, struct quic_conn *qc)
{
    cid_map_del_value(&ep->cids, qc);
}

static bool same_addr(const struct sockaddr *a, const struct lset_entry *e)
{
    bool any = true;
    for (size_t i = 0; i < 16; i++)
        any &= e->addr.bytes[i] == 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
        return e->addr.family == 4 && ntohs(sin->sin_port) == e->port &&
               (any || memcmp(&sin->sin_addr, e->addr.bytes, 4) == 0);
    }
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)a;
    return e->addr.family == 6 && ntohs(sin6->sin6_port) == e->port &&
           (any || memcmp(&sin6->sin6_addr, e->addr.bytes, 16) == 0);
}

/* The worker's UDP socket that serves local (looked up on each send: a
 * reload replaces the listener array). */
static int socket_for(const struct worker *w, const struct sockaddr *local)
{
    for (size_t i = 0; i < w->n_listeners; i++) {
        const struct worker_listener *l = &w->listeners[i];
        if (l->udp && same_addr(local, &w->lset->entries[l->entry]))
            return l->io.fd;
    }
    return -1;
}

int quic_endpoint_send(struct quic_endpoint *ep, const ngtcp2_path *path, uint8_t ecn,
                       const uint8_t *data, size_t len, size_t seg)
{
    int fd = socket_for(ep->w, path->local.addr);
    if (fd < 0)
        return -1;
    return udp_send(fd, path->remote.addr, path->remote.addrlen, path->local.addr, ecn, data, len,
                    seg);
}

static void send_version_negotiation(struct quic_endpoint *ep, const ngtcp2_path *path,
                                     const ngtcp2_version_cid *vc)
{
    uint32_t versions[] = { NGTCP2_PROTO_VER_V1 };
    uint8_t unused;
    RAND_bytes(&unused, 1);
    ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
        ep->tx, sizeof(ep->tx), unused, vc->scid, vc->scidlen, vc->dcid, vc->dcidlen, versions,
        sizeof(versions) / sizeof(versions[0]));
    if (n > 0)
        quic_endpoint_send(ep, path, 0, ep->tx, (size_t)n, (size_t)n);
}

/* RFC 9000 10.3: a short-header packet for a connection we do not know
 * (lost state, another process) gets a stateless reset, smaller than it so
 * two endpoints cannot loop. */
static void send_stateless_reset(struct quic_endpoint *ep, const ngtcp2_path *path,
                                 const uint8_t *dcid, size_t len)
{
    if (len < RESET_MIN_TRIGGER)
        return;
    uint64_t now = loop_now_ms(ep->w->loop);
    if (now - ep->reset_window_ms >= 1000) {
        ep->reset_window_ms = now;
        ep->resets_in_window = 0;
    }
    if (ep->resets_in_window++ >= RESETS_PER_SECOND)
        return;
    uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[64];
    ngtcp2_cid cid;
    ngtcp2_cid_init(&cid, dcid, QUIC_SCID_LEN);
    size_t rndlen = len - 1 - NGTCP2_STATELESS_RESET_TOKENLEN;
    if (rndlen > sizeof(rnd))
        rndlen = sizeof(rnd);
    if (quic_secret_reset_token(&cid, token) < 0 || RAND_bytes(rnd, (int)rndlen) != 1)
        return;
    ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(ep->tx, sizeof(ep->tx), token, rnd, rndlen);
    if (n > 0)
        quic_endpoint_send(ep, path, 0, ep->tx, (size_t)n, (size_t)n);
}

static void handle_packet(struct quic_endpoint *ep, const ngtcp2_path *path, uint8_t ecn,
                          const uint8_t *data, size_t len)
{
    ngtcp2_version_cid vc;
    int rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, QUIC_SCID_LEN);
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
        if (len >= 1200) /* only for a datagram that could be an Initial (RFC 9000 6) */
            send_version_negotiation(ep, path, &vc);
        return;
    }
    if (rv != 0)
        return;
    struct quic_conn *qc = cid_map_get(&ep->cids, vc.dcid, vc.dcidlen);
    if (qc) {
        quic_conn_recv(qc, path, ecn, data, len);
        return;
    }
    if (!(data[0] & 0x80)) {
        send_stateless_reset(ep, path, vc.dcid, len);
        return;
    }
    quic_conn_accept(ep, path, ecn, data, len);
}

void quic_datagrams(struct worker *w, struct worker_listener *l)
{
    struct quic_endpoint *ep = endpoint_of(w);
    if (!ep)
        return;
    struct udp_rx rx;
    if (!ep->rx_bufs) {
        if (udp_rx_init(&rx) < 0)
            return;
        ep->rx_bufs = rx.bufs;
    }
    rx.bufs = ep->rx_bufs;
    const struct lset_entry *e = &w->lset->entries[l->entry];
    struct sockaddr_storage self;
    socklen_t self_len = listener_sockaddr(&e->addr, e->port, &self);
    for (int round = 0; round < 8; round++) {
        int n = udp_recv_batch(l->io.fd, &self, self_len, &rx);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            struct udp_dgram *d = &rx.d[i];
            ngtcp2_path path = {
                .local = { (struct sockaddr *)&d->local, d->local_len },
                .remote = { (struct sockaddr *)&d->peer, d->peer_len },
            };
            for (size_t off = 0; off < d->len; off += d->seg) {
                size_t seg = d->len - off < d->seg ? d->len - off : d->seg;
                handle_packet(ep, &path, d->ecn, d->data + off, seg);
            }
        }
        if (n < UDP_RX_BATCH)
            break;
    }
    quic_conn_flush_all(ep);
}
