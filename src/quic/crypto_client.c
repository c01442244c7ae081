#include "quic/crypto_client.h"

#include "quic/crypto.h"
#include "quic/retry.h"

int quic_crypto_client_initial(ngtcp2_conn *conn)
{
    if (ngtcp2_conn_get_client_chosen_version(conn) != NGTCP2_PROTO_VER_V1)
        return -1;
    ngtcp2_crypto_aead retry_aead;
    ngtcp2_crypto_aead_ctx retry_ctx = { 0 };
    /* a Retry is accepted only once: its AEAD is needed until then */
    if (!ngtcp2_conn_after_retry(conn) && quic_retry_aead(&retry_aead, &retry_ctx) != 0)
        return -1;
    if (quic_crypto_install_initial_role(conn, ngtcp2_conn_get_dcid(conn), 0) != 0) {
        quic_crypto_aead_ctx_free(&retry_ctx);
        return -1;
    }
    if (retry_ctx.native_handle)
        ngtcp2_conn_set_retry_aead(conn, &retry_aead, &retry_ctx);
    return 0;
}

/* RFC 9001 5.2: after a Retry, Initial keys come from the Retry's Source
 * Connection ID (the client's new Destination Connection ID). */
static int cb_recv_retry(ngtcp2_conn *conn, const ngtcp2_pkt_hd *hd, void *user_data)
{
    if (quic_crypto_install_initial_role(conn, &hd->scid, 0) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

void quic_crypto_client_callbacks(ngtcp2_callbacks *cb)
{
    quic_crypto_callbacks(cb);
    cb->recv_client_initial = NULL;
    cb->recv_retry = cb_recv_retry;
}
