#include "proxy/client_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/worker.h"
#include "log/log.h"
#include "metrics/tls_handshake.h"
#include "net/listener.h"
#include "proxy/client_conn.h"
#include "tls/group_name.h"
#include "tls/sni_table.h"

int client_tls_start(struct client *c, struct tls_sni_table *table)
{
    if (!table)
        return -1; /* certificates not loaded yet: close (SPEC 3) */
    struct client_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    sni_table_ref(table);
    t->table = table;
    t->hello.table = table;
    SSL *ssl = tls_server_ssl_new(&t->hello);
    if (!ssl || tls_io_attach(&t->io, ssl, c->io.fd) < 0) {
        sni_table_unref(table);
        free(t);
        return -1;
    }
    c->tlsc = t;
    return 0;
}

void client_tls_free(struct client *c)
{
    struct client_tls *t = c->tlsc;
    if (!t)
        return;
    tls_io_free(&t->io);
    sni_table_unref(t->table);
    free(t);
    c->tlsc = NULL;
}

/* The audit record of SPEC 8.5. */
static void audit(struct client *c, enum tls_failure f, const char *reason)
{
    struct client_tls *t = c->tlsc;
    mx_tls_handshake_failed(&c->w->mx, false, f);
    enum log_level level =
        f == TLS_FAIL_NO_SNI || f == TLS_FAIL_UNKNOWN_SNI || f == TLS_FAIL_ACME_NO_CONFIG
            ? LOG_INFO
            : LOG_WARN;
    if (!log_enabled(level))
        return;
    char peer[64];
    listener_format(&c->peer_ip, c->peer_port, peer);
    const char *sni = f == TLS_FAIL_TIMEOUT || !t->hello.sni[0] ? "-" : t->hello.sni;
    if (f == TLS_FAIL_CLIENT_CERT || f == TLS_FAIL_HANDSHAKE)
        log_msg(level, "TLS handshake failed peer=%s sni=\"%s\" failure=\"%s\" mtls=%s reason=%s",
                peer, sni, tls_failure_name(f), t->hello.mtls ? "true" : "false", reason);
    else if (reason)
        log_msg(level, "TLS handshake failed peer=%s sni=\"%s\" failure=\"%s\" reason=%s", peer,
                sni, tls_failure_name(f), reason);
    else
        log_msg(level, "TLS handshake failed peer=%s sni=\"%s\" failure=\"%s\"", peer, sni,
                tls_failure_name(f));
}

void client_tls_timed_out(struct client *c)
{
    audit(c, TLS_FAIL_TIMEOUT, NULL);
}

/* Which category a failed handshake falls in, and why. */
static enum tls_failure classify(struct client_tls *t, const char **reason)
{
    unsigned long e = ERR_peek_last_error();
    int lib = ERR_GET_LIB(e), why = ERR_GET_REASON(e);
    *reason = e ? ERR_reason_error_string(e) : NULL;
    if (!*reason)
        *reason = t->io.eof ? "connection closed by peer" : "connection error";
    if (!t->hello.decided)
        return TLS_FAIL_ACCEPTOR;
    if (t->hello.mtls && ((lib == ERR_LIB_SSL && (why == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
                                                  why == SSL_R_CERTIFICATE_VERIFY_FAILED)) ||
                          SSL_get_verify_result(t->io.ssl) != X509_V_OK)) {
        long v = SSL_get_verify_result(t->io.ssl);
        if (v != X509_V_OK)
            *reason = X509_verify_cert_error_string(v);
        return TLS_FAIL_CLIENT_CERT;
    }
    return TLS_FAIL_HANDSHAKE;
}

/* What was negotiated, for the debug log (which group a browser chose). */
static void log_done(struct client *c)
{
    struct client_tls *t = c->tlsc;
    char peer[64], group[64];
    listener_format(&c->peer_ip, c->peer_port, peer);
    tls_group_name(t->io.ssl, group, sizeof(group));
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(t->io.ssl, &alpn, &alpn_len);
    log_debug("TLS handshake done peer=%s sni=\"%s\" version=%s cipher=%s group=%s alpn=%.*s "
              "resumed=%s mtls=%s",
              peer, t->hello.sni, SSL_get_version(t->io.ssl), SSL_get_cipher_name(t->io.ssl), group,
              alpn_len ? (int)alpn_len : 1, alpn_len ? (const char *)alpn : "-",
              SSL_session_reused(t->io.ssl) ? "true" : "false", t->hello.mtls ? "true" : "false");
}

int client_tls_step(struct client *c)
{
    struct client_tls *t = c->tlsc;
    int r = tls_io_handshake(&t->io);
    if (r == 1) {
        mx_tls_handshake_done(&c->w->mx, false, c->tlsc->io.ssl);
        if (log_enabled(LOG_DEBUG))
            log_done(c);
        if (t->hello.acme) {
            /* RFC 8737 section 3: the validation is the handshake itself */
            log_info("rpxy ACME event: TlsAlpnChallengeAnswered sni=\"%s\"", t->hello.sni);
            tls_io_close_notify(&t->io);
            return -1;
        }
        t->done = true;
        t->hello.table = NULL;
        sni_table_unref(t->table);
        t->table = NULL;
        t->ticket_only = tls_io_has_pending(&t->io); /* sent with the first response */
        return 1;
    }
    if (r == IO_AGAIN) {
        if (t->io.drained)
            c->can_read = false;
        if (tls_io_has_pending(&t->io)) {
            c->can_write = false;
            loop_want_out(c->w->loop, &c->io, true);
        }
        return 0;
    }
    if (!t->io.got_bytes) {
        /* a bare TCP connect and close (port probes): nothing to audit */
        log_debug("TLS connection closed before any byte was received");
        ERR_clear_error();
        return -1;
    }
    const char *reason = NULL;
    enum tls_failure f = t->hello.refused ? t->hello.refused : classify(t, &reason);
    audit(c, f, reason);
    ERR_clear_error();
    return -1;
}
