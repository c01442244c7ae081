/* A worker's QUIC endpoint: reads the datagrams of its UDP listeners and
 * hands each packet to the connection its destination connection ID names;
 * packets no connection owns get what RFC 9000 prescribes (version
 * negotiation, a stateless reset, a Retry when handshakes pile up) or start
 * a connection. Connection IDs we issue start with the worker's index, so
 * the kernel's steering program (net/udp) brings a migrated client's
 * packets back here. */
#ifndef RPXY_QUIC_ENDPOINT_H
#define RPXY_QUIC_ENDPOINT_H

#include <ngtcp2/ngtcp2.h>
#include <stddef.h>
#include <stdint.h>

#include "quic/cid_map.h"

struct worker;
struct worker_listener;
struct quic_conn;

#define QUIC_SCID_LEN 16
#define QUIC_TX_MAX (64u * 1024) /* one GSO train */

struct quic_endpoint {
    struct worker *w;
    struct cid_map cids;
    size_t n_conns;
    size_t n_handshakes;      /* connections not yet through the handshake */
    uint64_t reset_window_ms; /* stateless resets sent in this second */
    uint32_t resets_in_window;
    uint8_t *rx_bufs; /* struct udp_rx buffers */
    uint8_t tx[QUIC_TX_MAX];
};

/* The worker's UDP listener l has datagrams. */
void quic_datagrams(struct worker *w, struct worker_listener *l);

/* Sends len bytes (datagrams of seg bytes) on path from the worker's UDP
 * socket for the path's local address. Returns 0, 1 when the socket is
 * full, -1 when no socket serves that address any more or on error. */
int quic_endpoint_send(struct quic_endpoint *ep, const ngtcp2_path *path, uint8_t ecn,
                       const uint8_t *data, size_t len, size_t seg);

/* A new connection ID of ours for qc: random, first byte the worker's
 * index. */
int quic_endpoint_new_cid(struct quic_endpoint *ep, ngtcp2_cid *cid, size_t len);

/* Maps / forgets connection IDs of a connection. */
int quic_endpoint_add_cid(struct quic_endpoint *ep, const ngtcp2_cid *cid, struct quic_conn *qc);
void quic_endpoint_del_cid(struct quic_endpoint *ep, const ngtcp2_cid *cid);
void quic_endpoint_forget(struct quic_endpoint *ep, struct quic_conn *qc);

/* Frees the worker's endpoint (thread exit; its connections are gone). */
void quic_endpoint_free(struct worker *w);

#endif
