/* TEMPORARY stub for transport testing: replaced by the real front-end. */
#include "http/h3_server.h"

#include <stdlib.h>

struct h3_conn {
    int dummy;
};

struct h3_conn *h3_server_start(struct quic_conn *qc)
{
    return calloc(1, sizeof(struct h3_conn));
}
void h3_server_free(struct h3_conn *h)
{
    free(h);
}
int h3_server_recv(struct h3_conn *h, int64_t id, const uint8_t *data, size_t len, bool fin)
{
    return 0;
}
int h3_server_acked(struct h3_conn *h, int64_t id, uint64_t n)
{
    return 0;
}
int h3_server_stream_close(struct h3_conn *h, int64_t id, uint64_t app_error)
{
    return 0;
}
int h3_server_reset(struct h3_conn *h, int64_t id)
{
    return 0;
}
int h3_server_stop_sending(struct h3_conn *h, int64_t id)
{
    return 0;
}
int h3_server_unblock(struct h3_conn *h, int64_t id)
{
    return 0;
}
void h3_server_max_streams(struct h3_conn *h, uint64_t max_bidi)
{
}
ssize_t h3_server_pull(struct h3_conn *h, int64_t *id, int *fin, nghttp3_vec *vec, size_t n)
{
    *id = -1;
    return 0;
}
int h3_server_written(struct h3_conn *h, int64_t id, size_t n)
{
    return 0;
}
int h3_server_blocked(struct h3_conn *h, int64_t id)
{
    return 0;
}
int h3_server_shut_write(struct h3_conn *h, int64_t id)
{
    return 0;
}
void h3_server_drive(struct h3_conn *h)
{
}
void h3_server_shutdown(struct h3_conn *h)
{
}
bool h3_server_busy(const struct h3_conn *h)
{
    return false;
}
