#include "net/udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/listener.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* cleared when the kernel refuses UDP_SEGMENT: then one datagram per call */
static atomic_bool gso_works = true;

int udp_open(const struct ip_addr *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = listener_sockaddr(addr, port, &ss);
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    bool v6 = addr->family == 6;
    /* DF set, no kernel path MTU state: QUIC probes the path itself */
    int pmtu = v6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &one,
                   sizeof(one)) < 0 ||
        setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVTCLASS : IP_RECVTOS, &one,
                   sizeof(one)) < 0 ||
        setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
                   &pmtu, sizeof(pmtu)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    (void)setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)); /* where the kernel has it */
    return fd;
}

int udp_steer_by_cid(int fd)
{
    /* offsets count from the UDP payload */
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),            /* A = first byte */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80, 2, 0), /* long header: hash */
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1),            /* A = dcid[0] */
        BPF_STMT(BPF_RET | BPF_A, 0),                     /* the socket of that worker */
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),           /* past the group: hash */
    };
    struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}

int udp_rx_init(struct udp_rx *rx)
{
    memset(rx, 0, sizeof(*rx));
    rx->bufs = malloc((size_t)UDP_RX_BATCH * UDP_RX_BUF);
    return rx->bufs ? 0 : -1;
}

void udp_rx_free(struct udp_rx *rx)
{
    free(rx->bufs);
    rx->bufs = NULL;
}

#define CMSG_ROOM                                                                                  \
    (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int)))

/* The local address (pktinfo, with the socket's port), ECN bits and GRO
 * segment size from a received datagram's control messages. */
static void read_cmsgs(struct msghdr *m, struct udp_dgram *d, uint16_t local_port)
{
    d->local_len = 0;
    d->ecn = 0;
    d->seg = d->len;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in *sin = (struct sockaddr_in *)&d->local;
            memset(sin, 0, sizeof(*sin));
            sin->sin_family = AF_INET;
            sin->sin_addr = pi.ipi_addr;
            sin->sin_port = local_port;
            d->local_len = sizeof(*sin);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->local;
            memset(sin6, 0, sizeof(*sin6));
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = pi.ipi6_addr;
            sin6->sin6_port = local_port;
            d->local_len = sizeof(*sin6);
        } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ||
                   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)) {
            uint8_t tos;
            if (c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int v;
                memcpy(&v, CMSG_DATA(c), sizeof(v));
                tos = (uint8_t)v;
            } else {
                memcpy(&tos, CMSG_DATA(c), 1);
            }
            d->ecn = tos & 0x3;
        } else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
            int seg;
            memcpy(&seg, CMSG_DATA(c), sizeof(seg));
            if (seg > 0)
                d->seg = (size_t)seg;
        }
    }
}

int udp_recv_batch(int fd, const struct sockaddr_storage *self, socklen_t self_len,
                   struct udp_rx *rx)
{
    struct mmsghdr msgs[UDP_RX_BATCH];
    struct iovec iov[UDP_RX_BATCH];
    union {
        char buf[CMSG_ROOM];
        struct cmsghdr align;
    } ctrl[UDP_RX_BATCH];
    for (int i = 0; i < UDP_RX_BATCH; i++) {
        iov[i] = (struct iovec){ rx->bufs + (size_t)i * UDP_RX_BUF, UDP_RX_BUF };
        msgs[i].msg_hdr = (struct msghdr){
            .msg_name = &rx->d[i].peer,
            .msg_namelen = sizeof(rx->d[i].peer),
            .msg_iov = &iov[i],
            .msg_iovlen = 1,
            .msg_control = ctrl[i].buf,
            .msg_controllen = sizeof(ctrl[i].buf),
        };
        msgs[i].msg_len = 0;
    }
    int n;
    do
        n = recvmmsg(fd, msgs, UDP_RX_BATCH, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    uint16_t port = self->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)self)->sin6_port
                                                : ((const struct sockaddr_in *)self)->sin_port;
    for (int i = 0; i < n; i++) {
        struct udp_dgram *d = &rx->d[i];
        d->data = iov[i].iov_base;
        d->len = msgs[i].msg_len;
        d->peer_len = msgs[i].msg_hdr.msg_namelen;
        read_cmsgs(&msgs[i].msg_hdr, d, port);
        if (!d->local_len) { /* no pktinfo: the socket's own address */
            memcpy(&d->local, self, self_len);
            d->local_len = self_len;
        }
    }
    return n;
}

static bool is_wildcard(const struct sockaddr *sa)
{
    static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &any6, sizeof(any6)) == 0;
}

static ssize_t send_one(int fd, const struct sockaddr *peer, socklen_t peer_len,
                        const struct sockaddr *local, uint8_t ecn, const uint8_t *data, size_t len,
                        size_t seg)
{
    union {
        char buf[CMSG_ROOM + CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctrl;
    memset(&ctrl, 0, sizeof(ctrl));
    struct iovec iov = { (void *)data, len };
    struct msghdr m = { .msg_name = (void *)peer,
                        .msg_namelen = peer_len,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctrl.buf,
                        .msg_controllen = sizeof(ctrl.buf) };
    size_t used = 0;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    bool v6 = peer->sa_family == AF_INET6;
    if (local && !is_wildcard(local)) {
        if (v6) {
            struct in6_pktinfo pi = { .ipi6_addr =
                                          ((const struct sockaddr_in6 *)local)->sin6_addr };
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            memcpy(CMSG_DATA(c), &pi, sizeof(pi));
            used += CMSG_SPACE(sizeof(pi));
        } else {
            struct in_pktinfo pi = { .ipi_spec_dst =
                                         ((const struct sockaddr_in *)local)->sin_addr };
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            memcpy(CMSG_DATA(c), &pi, sizeof(pi));
            used += CMSG_SPACE(sizeof(pi));
        }
        c = CMSG_NXTHDR(&m, c);
    }
    int tos = ecn;
    c->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    c->cmsg_type = v6 ? IPV6_TCLASS : IP_TOS;
    c->cmsg_len = CMSG_LEN(sizeof(tos));
    memcpy(CMSG_DATA(c), &tos, sizeof(tos));
    used += CMSG_SPACE(sizeof(tos));
    if (len > seg) {
        c = CMSG_NXTHDR(&m, c);
        uint16_t s = (uint16_t)seg;
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(s));
        memcpy(CMSG_DATA(c), &s, sizeof(s));
        used += CMSG_SPACE(sizeof(s));
    }
    m.msg_controllen = used;
    ssize_t n;
    do
        n = sendmsg(fd, &m, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n;
}

int udp_send(int fd, const struct sockaddr *peer, socklen_t peer_len, const struct sockaddr *local,
             uint8_t ecn, const uint8_t *data, size_t len, size_t seg)
{
    if (seg == 0 || seg > len)
        seg = len;
    if (len > seg && atomic_load_explicit(&gso_works, memory_order_relaxed)) {
        if (send_one(fd, peer, peer_len, local, ecn, data, len, seg) >= 0)
            return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 1;
        if (errno != EIO && errno != EINVAL && errno != EOPNOTSUPP)
            return -1;
        atomic_store(&gso_works, false); /* no GSO here: one by one from now on */
    }
    for (size_t off = 0; off < len; off += seg) {
        size_t n = len - off < seg ? len - off : seg;
        if (send_one(fd, peer, peer_len, local, ecn, data + off, n, n) < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return off ? 0 : 1; /* what is left is lost: QUIC retransmits */
            return -1;
        }
    }
    return 0;
}
