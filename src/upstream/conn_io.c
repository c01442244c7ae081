#include "upstream/conn_io.h"

#include <errno.h>
#include <sys/socket.h>

#include "net/io_result.h"
#include "upstream/pool.h"

ssize_t upconn_write(struct upstream_conn *uc, const struct iovec *iov, int niov)
{
    if (uc->tls) {
        bool blocked;
        ssize_t w = tls_io_writev(uc->tls, iov, niov, true, &blocked);
        return w == 0 && blocked ? IO_AGAIN : w;
    }
    ssize_t w;
    do
        w = niov == 1 ? send(uc->io.fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                      : writev(uc->io.fd, iov, niov);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EAGAIN ? IO_AGAIN : IO_ERROR;
    return w;
}

int upconn_read(struct upstream_conn *uc, size_t limit)
{
    if (!uc->can_read || uc->in.len >= limit)
        return 0;
    if (buf_reserve(&uc->in, 4096) < 0)
        return -2;
    size_t room = buf_room(&uc->in);
    ssize_t r;
    if (uc->tls) {
        bool drained;
        r = tls_io_read(uc->tls, buf_data(&uc->in) + uc->in.len, room, &drained);
        if (r == IO_AGAIN || (drained && !uc->rdhup))
            uc->can_read = false;
        if (r > 0) {
            uc->in.len += (size_t)r;
            return 1;
        }
        return r == 0 ? -1 : r == IO_AGAIN ? 0 : -2;
    }
    do
        r = recv(uc->io.fd, buf_data(&uc->in) + uc->in.len, room, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        uc->in.len += (size_t)r;
        if ((size_t)r < room && !uc->rdhup)
            uc->can_read = false;
        return 1;
    }
    if (r == 0) {
        uc->can_read = false;
        return -1;
    }
    if (errno == EAGAIN) {
        uc->can_read = false;
        return 0;
    }
    return -2;
}
