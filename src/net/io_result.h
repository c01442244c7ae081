/* Results of non-blocking reads and writes, shared by plain and TLS
 * sockets: a byte count, 0 for the end of the stream, or one of these. */
#ifndef RPXY_NET_IO_RESULT_H
#define RPXY_NET_IO_RESULT_H

#define IO_AGAIN (-1) /* nothing now: wait for readiness */
#define IO_ERROR (-2)

#endif
