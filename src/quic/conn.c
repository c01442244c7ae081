#include "quic/conn.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/server.h"
#include "core/worker.h"
#include "http/h3_server.h"
#include "log/log.h"
#include "metrics/tls_handshake.h"
#include "proxy/client_conn.h"
#include "proxy/runtime.h"
#include "quic/crypto.h"
#include "quic/retry.h"
#include "quic/secret.h"
#include "quic/token.h"
#include "quic/endpoint.h"
#include "quic/tls_bridge.h"
#include "tls/group_name.h"
#include "tls/server.h"
#include "tls/sni_table.h"

#define QUIC_MAX_DATA (8u << 20)          /* connection receive window */
#define QUIC_MAX_STREAM_DATA (1u << 20)   /* stream receive window: unidirectional streams */
#define QUIC_MAX_REQUEST_DATA (64u << 10) /* request streams: what h3_server buffers */
#define QUIC_CID_LIMIT 8                  /* active_connection_id_limit */
#define QUIC_PACKETS_PER_WRITE 64
#define QUIC_RETRY_TOKEN_LIFETIME (10 * NGTCP2_SECONDS)
#define QUIC_TOKEN_LIFETIME (24 * 3600 * NGTCP2_SECONDS) /* NEW_TOKEN */

struct quic_conn {
    struct client *c; /* owns this connection */
    struct quic_endpoint *ep;
    ngtcp2_conn *conn;
    SSL *ssl;
    struct quic_tls *tls;
    struct tls_hello hello;
    struct tls_sni_table *table; /* reference held during the handshake */
    struct h3_conn *h3;
    struct loop_timer timer;
    ngtcp2_cid odcid;             /* the client's first destination ID, mapped until the end */
    struct quic_conn *next_dirty; /* wants a write at the end of the batch */
    bool dirty;
    bool handshake_done;
    bool in_handshake_count; /* counted in ep->n_handshakes */
    bool shutting_down;      /* GOAWAY: close once the streams are done */
    bool closing;            /* CONNECTION_CLOSE sent: closing period */
    bool draining;           /* the peer closed: draining period */
    ngtcp2_connection_close_error err;
    uint8_t *close_pkt; /* our CONNECTION_CLOSE, sent again to late packets */
    size_t close_len;
    uint32_t close_rx;           /* packets received in the closing period */
    struct loop_deferred free_d; /* freed after the loop pass, like its client */
};

static _Thread_local struct quic_conn *dirty_head;
/* QUIC connections of every worker: [experimental.h3] max_concurrent_connections */
static atomic_long quic_conns;

static ngtcp2_tstamp now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

ngtcp2_conn *quic_conn_ngtcp2(struct quic_conn *qc)
{
    return qc->conn;
}

struct client *quic_conn_client(struct quic_conn *qc)
{
    return qc->c;
}

const char *quic_conn_sni(const struct quic_conn *qc)
{
    return qc->hello.sni;
}

static void mark_dirty(struct quic_conn *qc)
{
    if (qc->dirty)
        return;
    qc->dirty = true;
    qc->next_dirty = dirty_head;
    dirty_head = qc;
}

static void handshake_uncount(struct quic_conn *qc)
{
    if (qc->in_handshake_count) {
        qc->in_handshake_count = false;
        qc->ep->n_handshakes--;
    }
}

/* ---- ending ---- */

static void end_now(struct quic_conn *qc)
{
    client_close(qc->c); /* frees qc through quic_conn_free */
}

static void on_close_timer(struct loop *loop, struct loop_timer *t)
{
    end_now(container_of(t, struct quic_conn, timer));
}

/* Closing or draining: the connection stays three PTOs to absorb late
 * packets, then goes. */
static void linger_then_end(struct quic_conn *qc)
{
    client_release_ip_slot(qc->c);
    uint64_t ms = ngtcp2_conn_get_pto(qc->conn) * 3 / NGTCP2_MILLISECONDS;
    loop_timer_set(qc->c->w->loop, &qc->timer, ms ? ms : 1, on_close_timer);
}

/* Sends CONNECTION_CLOSE with qc->err and enters the closing period. */
static void close_with_error(struct quic_conn *qc)
{
    if (qc->closing || qc->draining)
        return;
    qc->closing = true;
    if (!qc->conn || ngtcp2_conn_is_in_closing_period(qc->conn) ||
        ngtcp2_conn_is_in_draining_period(qc->conn)) {
        end_now(qc);
        return;
    }
    uint8_t *buf = qc->ep->tx;
    ngtcp2_pkt_info pi;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
        qc->conn, &ps.path, &pi, buf, NGTCP2_MAX_UDP_PAYLOAD_SIZE, &qc->err, now_ns());
    if (n <= 0) {
        end_now(qc);
        return;
    }
    qc->close_pkt = malloc((size_t)n);
    if (qc->close_pkt) {
        memcpy(qc->close_pkt, buf, (size_t)n);
        qc->close_len = (size_t)n;
    }
    quic_endpoint_send(qc->ep, &ps.path, pi.ecn, buf, (size_t)n, (size_t)n);
    linger_then_end(qc);
}

/* The client closed during the handshake: with a TLS alert (it refused our
 * certificate, say) that is the audit line of SPEC 8.5, as for TCP. */
static void peer_closed_handshake(struct quic_conn *qc)
{
    ngtcp2_connection_close_error ce;
    ngtcp2_conn_get_connection_close_error(qc->conn, &ce);
    if (ce.type != NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT ||
        ce.error_code < NGTCP2_CRYPTO_ERROR || ce.error_code > NGTCP2_CRYPTO_ERROR + 0xff ||
        !log_enabled(LOG_WARN))
        return;
    log_warn("HTTP/3 handshake failed sni=\"%s\" failure=\"handshake\" reason=alert %u from the "
             "client",
             qc->hello.sni[0] ? qc->hello.sni : "-",
             (unsigned)(ce.error_code - NGTCP2_CRYPTO_ERROR));
}

/* Turns an ngtcp2 error into the connection's end. */
static void fail(struct quic_conn *qc, int rv)
{
    if (rv == NGTCP2_ERR_DRAINING) {
        if (!qc->handshake_done)
            peer_closed_handshake(qc);
        qc->draining = true;
        linger_then_end(qc);
        return;
    }
    if (rv == NGTCP2_ERR_DROP_CONN || rv == NGTCP2_ERR_IDLE_CLOSE) {
        end_now(qc);
        return;
    }
    if (rv == NGTCP2_ERR_CRYPTO)
        ngtcp2_connection_close_error_set_transport_error_tls_alert(
            &qc->err, ngtcp2_conn_get_tls_alert(qc->conn), NULL, 0);
    else if (qc->err.error_code == 0)
        ngtcp2_connection_close_error_set_transport_error_liberr(&qc->err, rv, NULL, 0);
    log_debug("QUIC connection error: %s", ngtcp2_strerror(rv));
    close_with_error(qc);
}

/* ---- the TLS bridge's callbacks ---- */

static int tls_secret(void *arg, ngtcp2_crypto_level level, int write,
                      const struct tls13_suite *suite, const uint8_t *secret, size_t len)
{
    struct quic_conn *qc = arg;
    if (level == NGTCP2_CRYPTO_LEVEL_HANDSHAKE && write) {
        /* the ClientHello was read: its transport parameters are known */
        size_t tp_len;
        const uint8_t *tp = quic_tls_peer_transport_params(qc->tls, &tp_len);
        if (!tp || ngtcp2_conn_decode_remote_transport_params(qc->conn, tp, tp_len) != 0)
            return -1;
        /* ours again, now with the negotiated version in version_info: the
         * EncryptedExtensions that carry them are written after this */
        uint8_t buf[256];
        ngtcp2_ssize n = ngtcp2_conn_encode_local_transport_params(qc->conn, buf, sizeof(buf));
        if (n < 0 || quic_tls_set_local_transport_params(qc->tls, buf, (size_t)n) < 0)
            return -1;
    }
    return quic_crypto_install_secret(qc->conn, level, write, suite, secret, len);
}

static int tls_crypto_data(void *arg, ngtcp2_crypto_level level, const uint8_t *data, size_t len)
{
    struct quic_conn *qc = arg;
    return ngtcp2_conn_submit_crypto_data(qc->conn, level, data, len) == 0 ? 0 : -1;
}

static void tls_alert(void *arg, uint8_t alert)
{
    struct quic_conn *qc = arg;
    ngtcp2_conn_set_tls_alert(qc->conn, alert);
}

static const struct quic_tls_ops tls_ops = {
    .secret = tls_secret,
    .crypto_data = tls_crypto_data,
    .alert = tls_alert,
};

/* ---- ngtcp2 callbacks ---- */

/* The audit of SPEC 8.5 for QUIC; a missing SNI is the WARN of SPEC 9.2. */
static void handshake_failed(struct quic_conn *qc)
{
    uint8_t alert = quic_tls_alert(qc->tls);
    ngtcp2_conn_set_tls_alert(qc->conn, alert);
    mx_tls_handshake_failed(&qc->c->w->mx, true,
                            qc->hello.refused ? qc->hello.refused : TLS_FAIL_HANDSHAKE);
    if (qc->hello.refused == TLS_FAIL_NO_SNI) {
        log_warn("HTTP/3 no SNI is given");
    } else if (log_enabled(LOG_INFO)) {
        char why[160] = "";
        unsigned long e = ERR_peek_error();
        if (e)
            ERR_error_string_n(e, why, sizeof(why));
        log_info("HTTP/3 handshake failed sni=\"%s\" failure=\"%s\" alert=%u%s%s",
                 qc->hello.sni[0] ? qc->hello.sni : "-",
                 tls_failure_name(qc->hello.refused ? qc->hello.refused : TLS_FAIL_HANDSHAKE),
                 alert, why[0] ? " reason=" : "", why);
    }
    ERR_clear_error();
}

static int on_recv_crypto_data(ngtcp2_conn *conn, ngtcp2_crypto_level level, uint64_t offset,
                               const uint8_t *data, size_t len, void *user)
{
    struct quic_conn *qc = user;
    int r = quic_tls_provide(qc->tls, level, data, len);
    if (r == 0)
        r = quic_tls_do_handshake(qc->tls);
    if (r < 0) {
        handshake_failed(qc);
        return NGTCP2_ERR_CRYPTO;
    }
    if (r == 1 && !ngtcp2_conn_get_handshake_completed(conn))
        ngtcp2_conn_handshake_completed(conn);
    return 0;
}

static bool admit_after_handshake(struct quic_conn *qc)
{
    struct client *c = qc->c;
    if (qc->hello.refused != TLS_FAIL_NONE)
        return false;
    if (!qc->hello.sni[0]) {
        log_warn("HTTP/3 no SNI is given"); /* SPEC 9.2 */
        mx_tls_handshake_failed(&c->w->mx, true, TLS_FAIL_NO_SNI);
        return false;
    }
    mx_tls_handshake_done(&c->w->mx, true, qc->ssl);
    /* SPEC 9.6: the per-IP limit counts QUIC connections after the handshake */
    const struct cfg *cfg = c->w->rt ? c->w->rt->cfg : NULL;
    if (!cfg || !client_take_ip_slot(c, cfg->max_clients_per_ip))
        return false;
    return true;
}

/* What was negotiated, for the debug log (as TCP's "TLS handshake done"). */
static void log_done(struct quic_conn *qc)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    char group[64];
    tls_group_name(qc->ssl, group, sizeof(group));
    log_debug("HTTP/3 handshake done sni=\"%s\" cipher=%s group=%s resumed=%s mtls=%s",
              qc->hello.sni, SSL_get_cipher_name(qc->ssl), group,
              SSL_session_reused(qc->ssl) ? "true" : "false", qc->hello.mtls ? "true" : "false");
}

static int on_handshake_completed(ngtcp2_conn *conn, void *user)
{
    struct quic_conn *qc = user;
    log_done(qc);
    qc->handshake_done = true;
    handshake_uncount(qc);
    sni_table_unref(qc->table);
    qc->table = NULL;
    if (!admit_after_handshake(qc)) {
        /* a transport error: ngtcp2 0.12 asserts on an application close
         * written this early */
        ngtcp2_connection_close_error_set_transport_error(&qc->err, NGTCP2_CONNECTION_REFUSED, NULL,
                                                          0);
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    /* a token for the next connection: it skips the Retry under load */
    uint8_t token[QUIC_TOKEN_REGULAR_LEN];
    const ngtcp2_path *path = ngtcp2_conn_get_path(conn);
    ngtcp2_ssize tl = quic_token_make_regular(token, path->remote.addr, now_ns());
    if (tl > 0)
        ngtcp2_conn_submit_new_token(conn, token, (size_t)tl);
    qc->h3 = h3_server_start(qc);
    return qc->h3 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int on_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t offset,
                               const uint8_t *data, size_t len, void *user, void *stream_user)
{
    struct quic_conn *qc = user;
    if (!qc->h3)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    if (qc->c->w->mx.on)
        mx_add(&qc->c->w->mx.bytes_in[MX_LISTEN_QUIC], len);
    int r = h3_server_recv(qc->h3, id, data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
    if (r != 0) {
        ngtcp2_connection_close_error_set_application_error(
            &qc->err, nghttp3_err_infer_quic_app_error_code(r), NULL, 0);
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int on_acked_stream_data(ngtcp2_conn *conn, int64_t id, uint64_t offset, uint64_t len,
                                void *user, void *stream_user)
{
    struct quic_conn *qc = user;
    return qc->h3 && h3_server_acked(qc->h3, id, len) != 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t app_error,
                           void *user, void *stream_user)
{
    struct quic_conn *qc = user;
    if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
        app_error = NGHTTP3_H3_NO_ERROR;
    return qc->h3 && h3_server_stream_close(qc->h3, id, app_error) != 0
               ? NGTCP2_ERR_CALLBACK_FAILURE
               : 0;
}

static int on_stream_reset(ngtcp2_conn *conn, int64_t id, uint64_t final_size, uint64_t app_error,
                           void *user, void *stream_user)
{
    struct quic_conn *qc = user;
    return qc->h3 && h3_server_reset(qc->h3, id) != 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_stream_stop_sending(ngtcp2_conn *conn, int64_t id, uint64_t app_error, void *user,
                                  void *stream_user)
{
    struct quic_conn *qc = user;
    return qc->h3 && h3_server_stop_sending(qc->h3, id) != 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_extend_max_stream_data(ngtcp2_conn *conn, int64_t id, uint64_t max_data, void *user,
                                     void *stream_user)
{
    struct quic_conn *qc = user;
    return qc->h3 && h3_server_unblock(qc->h3, id) != 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_extend_max_remote_streams_bidi(ngtcp2_conn *conn, uint64_t max_streams, void *user)
{
    struct quic_conn *qc = user;
    if (qc->h3)
        h3_server_max_streams(qc->h3, max_streams);
    return 0;
}

static int on_get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                                    size_t cidlen, void *user)
{
    struct quic_conn *qc = user;
    if (quic_endpoint_new_cid(qc->ep, cid, cidlen) < 0 || quic_secret_reset_token(cid, token) < 0 ||
        quic_endpoint_add_cid(qc->ep, cid, qc) < 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user)
{
    struct quic_conn *qc = user;
    quic_endpoint_del_cid(qc->ep, cid);
    return 0;
}

static ngtcp2_callbacks callbacks(void)
{
    ngtcp2_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    quic_crypto_callbacks(&cb);
    cb.recv_crypto_data = on_recv_crypto_data;
    cb.handshake_completed = on_handshake_completed;
    cb.recv_stream_data = on_recv_stream_data;
    cb.acked_stream_data_offset = on_acked_stream_data;
    cb.stream_close = on_stream_close;
    cb.stream_reset = on_stream_reset;
    cb.stream_stop_sending = on_stream_stop_sending;
    cb.extend_max_stream_data = on_extend_max_stream_data;
    cb.extend_max_remote_streams_bidi = on_extend_max_remote_streams_bidi;
    cb.get_new_connection_id = on_get_new_connection_id;
    cb.remove_connection_id = on_remove_connection_id;
    return cb;
}

/* ---- timer ---- */

static void on_timer(struct loop *loop, struct loop_timer *t)
{
    struct quic_conn *qc = container_of(t, struct quic_conn, timer);
    int rv = ngtcp2_conn_handle_expiry(qc->conn, now_ns());
    if (rv != 0) {
        fail(qc, rv);
        return;
    }
    quic_conn_write(qc);
}

static void arm_timer(struct quic_conn *qc)
{
    if (qc->closing || qc->draining)
        return;
    ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(qc->conn), now = now_ns();
    uint64_t ms =
        expiry <= now ? 0 : (expiry - now + NGTCP2_MILLISECONDS - 1) / NGTCP2_MILLISECONDS;
    loop_timer_set(qc->c->w->loop, &qc->timer, ms, on_timer);
}

/* ---- writing ---- */

static int send_train(struct quic_conn *qc, const ngtcp2_path *path, uint8_t ecn, size_t len,
                      size_t seg)
{
    return quic_endpoint_send(qc->ep, path, ecn, qc->ep->tx, len, seg) < 0 ? -1 : 0;
}

/* Stream data bytes sent, for the metrics (as TCP counts HTTP bytes inside TLS). */
static void count_sent(struct quic_conn *qc, ngtcp2_ssize written)
{
    if (written > 0 && qc->c->w->mx.on)
        mx_add(&qc->c->w->mx.bytes_out[MX_LISTEN_QUIC], (uint64_t)written);
}

void quic_conn_write(struct quic_conn *qc)
{
    if (qc->closing || qc->draining || qc->c->dead)
        return;
    ngtcp2_tstamp ts = now_ns();
    size_t max_pkt = ngtcp2_conn_get_path_max_tx_udp_payload_size(qc->conn);
    size_t quantum = ngtcp2_conn_get_send_quantum(qc->conn);
    if (quantum > QUIC_TX_MAX)
        quantum = QUIC_TX_MAX;
    if (quantum < max_pkt)
        quantum = max_pkt;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi = { 0 };
    uint8_t ecn = 0;
    size_t off = 0, seg = 0;
    for (int packets = 0; packets < QUIC_PACKETS_PER_WRITE;) {
        int64_t id = -1;
        int fin = 0;
        nghttp3_vec vec[16];
        ssize_t nvec = 0;
        if (qc->h3) {
            nvec = h3_server_pull(qc->h3, &id, &fin, vec, 16);
            if (nvec < 0) {
                ngtcp2_connection_close_error_set_application_error(
                    &qc->err, nghttp3_err_infer_quic_app_error_code((int)nvec), NULL, 0);
                close_with_error(qc);
                return;
            }
        }
        size_t total = 0;
        for (ssize_t i = 0; i < nvec; i++)
            total += vec[i].len;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
        ngtcp2_ssize written = -1;
        ngtcp2_ssize n =
            ngtcp2_conn_writev_stream(qc->conn, &ps.path, &pi, qc->ep->tx + off, max_pkt, &written,
                                      flags, id, (const ngtcp2_vec *)vec, (size_t)nvec, ts);
        if (n < 0) {
            if (n == NGTCP2_ERR_WRITE_MORE) {
                count_sent(qc, written);
                if (h3_server_written(qc->h3, id, (size_t)written,
                                      fin && (size_t)written == total) != 0)
                    break;
                continue;
            }
            if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
                h3_server_blocked(qc->h3, id);
                continue;
            }
            if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
                h3_server_shut_write(qc->h3, id);
                continue;
            }
            fail(qc, (int)n);
            return;
        }
        if (written >= 0 && qc->h3) {
            h3_server_written(qc->h3, id, (size_t)written, fin && (size_t)written == total);
            count_sent(qc, written);
        }
        if (n == 0)
            break;
        packets++;
        if (off == 0) {
            seg = (size_t)n;
            ecn = pi.ecn;
        }
        off += (size_t)n;
        /* a train holds equal packets of one path and ECN; a short one ends it */
        if ((size_t)n < seg || off + max_pkt > quantum) {
            if (send_train(qc, &ps.path, ecn, off, seg) < 0)
                break;
            off = 0;
        }
    }
    if (off)
        send_train(qc, &ps.path, ecn, off, seg);
    ngtcp2_conn_update_pkt_tx_time(qc->conn, ts);
    arm_timer(qc);
}

void quic_conn_drive(struct quic_conn *qc)
{
    if (qc->h3)
        h3_server_drive(qc->h3);
    if (qc->c->dead)
        return;
    quic_conn_write(qc);
    if (qc->shutting_down && qc->h3 && !h3_server_busy(qc->h3) && !qc->closing && !qc->c->dead) {
        /* GOAWAY sent and every stream done: close (RFC 9114 5.2) */
        ngtcp2_connection_close_error_set_application_error(&qc->err, NGHTTP3_H3_NO_ERROR, NULL, 0);
        close_with_error(qc);
    }
}

void quic_conn_flush_all(struct quic_endpoint *ep)
{
    while (dirty_head) {
        struct quic_conn *qc = dirty_head;
        dirty_head = qc->next_dirty;
        qc->dirty = false;
        if (!qc->c->dead)
            quic_conn_drive(qc);
    }
}

/* ---- reading ---- */

void quic_conn_recv(struct quic_conn *qc, const ngtcp2_path *path, uint8_t ecn, const uint8_t *pkt,
                    size_t len)
{
    if (qc->c->dead || qc->draining || !qc->conn)
        return;
    if (qc->closing) {
        /* late packets in the closing period get our CONNECTION_CLOSE again,
         * for the 1st, 2nd, 4th, 8th... of them (RFC 9000 10.2.1: limited) */
        qc->close_rx++;
        if (qc->close_pkt && (qc->close_rx & (qc->close_rx - 1)) == 0)
            quic_endpoint_send(qc->ep, path, 0, qc->close_pkt, qc->close_len, qc->close_len);
        return;
    }
    ngtcp2_pkt_info pi = { .ecn = ecn };
    int rv = ngtcp2_conn_read_pkt(qc->conn, path, &pi, pkt, len, now_ns());
    if (rv != 0) {
        fail(qc, rv);
        return;
    }
    mark_dirty(qc);
}

/* RFC 9000 8.1: an Initial's token. Returns 1 when the client's address is
 * validated (original DCID in *odcid for a Retry token, else hd's DCID), 0
 * when it is not, -1 when the packet must be dropped (a bad Retry token). */
static int check_token(const ngtcp2_pkt_hd *hd, const ngtcp2_path *path, ngtcp2_tstamp now,
                       ngtcp2_cid *odcid, bool *retried)
{
    *odcid = hd->dcid;
    *retried = false;
    switch (quic_token_kind(hd->token.base, hd->token.len)) {
    case QUIC_TOKEN_RETRY:
        if (quic_token_verify_retry(hd->token.base, hd->token.len, path->remote.addr, &hd->dcid,
                                    QUIC_RETRY_TOKEN_LIFETIME, now, odcid) != 0) {
            log_debug("QUIC: an Initial with an invalid or expired Retry token: dropped");
            return -1;
        }
        *retried = true;
        return 1;
    case QUIC_TOKEN_REGULAR:
        return quic_token_verify_regular(hd->token.base, hd->token.len, path->remote.addr,
                                         QUIC_TOKEN_LIFETIME, now) == 0;
    case QUIC_TOKEN_NONE: break;
    }
    return 0;
}

static void send_retry(struct quic_endpoint *ep, const ngtcp2_pkt_hd *hd, const ngtcp2_path *path,
                       ngtcp2_tstamp now)
{
    ngtcp2_cid scid;
    if (quic_endpoint_new_cid(ep, &scid, QUIC_SCID_LEN) < 0)
        return;
    ngtcp2_ssize n = quic_retry_write(ep->tx, 256, hd, &scid, path->remote.addr, now);
    if (n > 0)
        quic_endpoint_send(ep, path, 0, ep->tx, (size_t)n, (size_t)n);
}

void quic_conn_accept(struct quic_endpoint *ep, const ngtcp2_path *path, uint8_t ecn,
                      const uint8_t *pkt, size_t len)
{
    struct worker *w = ep->w;
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, pkt, len) != 0 || hd.type != NGTCP2_PKT_INITIAL ||
        hd.version != NGTCP2_PROTO_VER_V1)
        return;
    const struct cfg *cfg = w->rt ? w->rt->cfg : NULL;
    if (!cfg || w->draining || !w->tls)
        return;
    if (cfg->h3.max_concurrent_connections &&
        atomic_load_explicit(&quic_conns, memory_order_relaxed) >=
            (long)cfg->h3.max_concurrent_connections)
        return; /* the client retries later */
    ngtcp2_tstamp now = now_ns();
    ngtcp2_cid odcid;
    bool retried;
    int validated = check_token(&hd, path, now, &odcid, &retried);
    if (validated < 0)
        return;
    if (!validated && ep->n_handshakes >= cfg->h3.retry_above_handshakes) {
        send_retry(ep, &hd, path, now);
        return;
    }
    struct quic_conn *qc = calloc(1, sizeof(*qc));
    if (!qc)
        return;
    qc->ep = ep;
    qc->c = client_new_quic(w, path->remote.addr, qc);
    if (!qc->c) {
        free(qc);
        return;
    }

    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now;
    if (validated)
        settings.token = hd.token; /* the address is proven: no amplification limit */
    settings.cc_algo = NGTCP2_CC_ALGO_CUBIC;
    settings.max_window = 4 * QUIC_MAX_DATA;
    /* no auto-tuning of stream windows: a request stream's window is what
     * h3_server buffers (credit follows what the upstream side takes) */
    settings.max_stream_window = QUIC_MAX_REQUEST_DATA;
    settings.handshake_timeout = (ngtcp2_duration)TLS_HANDSHAKE_TIMEOUT_MS * NGTCP2_MILLISECONDS;

    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_streams_bidi = cfg->h3.max_concurrent_bidistream;
    params.initial_max_streams_uni = cfg->h3.max_concurrent_unistream;
    params.initial_max_data = QUIC_MAX_DATA;
    params.initial_max_stream_data_bidi_remote = QUIC_MAX_REQUEST_DATA;
    params.initial_max_stream_data_uni = QUIC_MAX_STREAM_DATA;
    params.max_idle_timeout = cfg->h3.max_idle_timeout_s * NGTCP2_SECONDS;
    params.active_connection_id_limit = QUIC_CID_LIMIT;
    params.original_dcid = odcid;
    if (retried) {
        params.retry_scid = hd.dcid;
        params.retry_scid_present = 1;
    }

    ngtcp2_cid scid;
    ngtcp2_callbacks cb = callbacks();
    if (quic_endpoint_new_cid(ep, &scid, QUIC_SCID_LEN) < 0 ||
        quic_secret_reset_token(&scid, params.stateless_reset_token) < 0)
        goto fail;
    params.stateless_reset_token_present = 1;
    params.initial_scid = scid;
    if (ngtcp2_conn_server_new(&qc->conn, &hd.scid, &scid, path, hd.version, &cb, &settings,
                               &params, NULL, qc) != 0)
        goto fail;
    ep->n_conns++;
    atomic_fetch_add_explicit(&quic_conns, 1, memory_order_relaxed);

    sni_table_ref(w->tls);
    qc->table = w->tls;
    qc->hello.table = w->tls;
    qc->hello.quic = true;
    qc->ssl = tls_server_ssl_new(&qc->hello);
    qc->tls = qc->ssl ? quic_tls_new(qc->ssl, 1, &tls_ops, qc) : NULL;
    uint8_t tp[256];
    ngtcp2_ssize tp_len =
        qc->tls ? ngtcp2_conn_encode_local_transport_params(qc->conn, tp, sizeof(tp)) : -1;
    if (tp_len < 0 || quic_tls_set_local_transport_params(qc->tls, tp, (size_t)tp_len) < 0)
        goto fail;
    if (quic_endpoint_add_cid(ep, &scid, qc) < 0 || quic_endpoint_add_cid(ep, &hd.dcid, qc) < 0)
        goto fail;
    qc->odcid = hd.dcid;
    ep->n_handshakes++;
    qc->in_handshake_count = true;
    quic_conn_recv(qc, path, ecn, pkt, len);
    return;
fail:
    end_now(qc);
}

void quic_conn_shutdown(struct quic_conn *qc)
{
    qc->shutting_down = true;
    if (qc->h3) {
        h3_server_shutdown(qc->h3);
        mark_dirty(qc);
        quic_conn_flush_all(qc->ep);
    } else if (!qc->handshake_done) {
        ngtcp2_connection_close_error_set_transport_error(&qc->err, NGTCP2_NO_ERROR, NULL, 0);
        close_with_error(qc);
    }
}

static void forget_ids(struct quic_conn *qc)
{
    if (qc->odcid.datalen)
        quic_endpoint_del_cid(qc->ep, &qc->odcid);
    if (!qc->conn)
        return;
    ngtcp2_cid ids[QUIC_CID_LIMIT + 4];
    size_t n = ngtcp2_conn_get_num_scid(qc->conn);
    if (n > sizeof(ids) / sizeof(ids[0])) {
        quic_endpoint_forget(qc->ep, qc); /* never expected: walk the whole map */
        return;
    }
    n = ngtcp2_conn_get_scid(qc->conn, ids);
    for (size_t i = 0; i < n; i++)
        quic_endpoint_del_cid(qc->ep, &ids[i]);
}

static void free_later(struct loop *loop, struct loop_deferred *d)
{
    free(container_of(d, struct quic_conn, free_d));
}

void quic_conn_free(struct quic_conn *qc)
{
    struct quic_endpoint *ep = qc->ep;
    if (qc->h3) {
        h3_server_free(qc->h3);
        qc->h3 = NULL;
    }
    if (qc->conn && !qc->closing && !qc->draining) {
        ngtcp2_connection_close_error_set_transport_error(&qc->err, NGTCP2_NO_ERROR, NULL, 0);
        close_with_error(qc); /* a last CONNECTION_CLOSE, no closing period: we go now */
    }
    if (qc->dirty) { /* unlink from the write list */
        struct quic_conn **p = &dirty_head;
        while (*p && *p != qc)
            p = &(*p)->next_dirty;
        if (*p)
            *p = qc->next_dirty;
    }
    handshake_uncount(qc);
    if (qc->conn) {
        ep->n_conns--;
        atomic_fetch_sub_explicit(&quic_conns, 1, memory_order_relaxed);
    }
    loop_timer_cancel(qc->c->w->loop, &qc->timer);
    forget_ids(qc);
    if (qc->tls)
        quic_tls_free(qc->tls);
    SSL_free(qc->ssl);
    sni_table_unref(qc->table);
    ngtcp2_conn_del(qc->conn);
    qc->conn = NULL;
    free(qc->close_pkt);
    qc->close_pkt = NULL;
    loop_defer(qc->c->w->loop, &qc->free_d, free_later);
}
