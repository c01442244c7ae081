/* UDP sockets for QUIC: one per worker on the same address and port
 * (SO_REUSEPORT), packets of a connection steered to the worker that owns
 * it by the first byte of the destination connection ID, batched receive
 * (recvmmsg, GRO) and send (UDP_SEGMENT), the local address of each
 * datagram (so a wildcard socket answers from the right one) and ECN. */
#ifndef RPXY_NET_UDP_H
#define RPXY_NET_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/ipaddr.h"

#define UDP_RX_BATCH 8
#define UDP_RX_BUF 65536 /* room for a GRO train */

/* One received datagram train: segments of seg bytes (the last may be
 * shorter); seg == len when the kernel did not coalesce. */
struct udp_dgram {
    uint8_t *data;
    size_t len, seg;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    struct sockaddr_storage local; /* the address the datagram was sent to */
    socklen_t local_len;
    uint8_t ecn; /* the two ECN bits of the IP header */
};

struct udp_rx {
    struct udp_dgram d[UDP_RX_BATCH];
    uint8_t *bufs; /* UDP_RX_BATCH * UDP_RX_BUF */
};

/* Opens a non-blocking UDP socket bound to addr:port with SO_REUSEPORT and
 * the receive options above. Returns the fd, or -1 with errno set. */
int udp_open(const struct ip_addr *addr, uint16_t port);

/* Attaches the steering program to fd's reuseport group: a short-header
 * packet goes to socket number dcid[0] of the group (sockets count in the
 * order they were bound); other packets, and numbers past the group, by
 * the kernel's 4-tuple hash. Returns 0 or -1. */
int udp_steer_by_cid(int fd);

int udp_rx_init(struct udp_rx *rx);
void udp_rx_free(struct udp_rx *rx);

/* Receives up to UDP_RX_BATCH datagrams on fd, bound to self. Returns how
 * many (0 when none waits), or -1 on an error other than EAGAIN. */
int udp_recv_batch(int fd, const struct sockaddr_storage *self, socklen_t self_len,
                   struct udp_rx *rx);

/* Sends len bytes as datagrams of seg bytes (the last may be shorter) to
 * peer, from local's address, with the ECN bits: one sendmsg with
 * UDP_SEGMENT when the kernel has it. Returns 0, 1 when the socket is full
 * (EAGAIN: nothing sent), or -1. */
int udp_send(int fd, const struct sockaddr *peer, socklen_t peer_len, const struct sockaddr *local,
             uint8_t ecn, const uint8_t *data, size_t len, size_t seg);

#endif
