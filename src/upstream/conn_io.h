/* Bytes to and from an upstream connection, plain or TLS, with the
 * readiness bookkeeping an edge-triggered loop needs. */
#ifndef RPXY_UPSTREAM_CONN_IO_H
#define RPXY_UPSTREAM_CONN_IO_H

#include <sys/types.h>
#include <sys/uio.h>

struct upstream_conn;

/* Writes iov. Returns bytes taken, IO_AGAIN or IO_ERROR. */
ssize_t upconn_write(struct upstream_conn *uc, const struct iovec *iov, int niov);

/* Reads into uc->in while it holds less than `limit` bytes. Returns 1
 * (bytes arrived), 0 (nothing now), -1 (the upstream closed), -2 (error). */
int upconn_read(struct upstream_conn *uc, size_t limit);

#endif
