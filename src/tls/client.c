#include "tls/client.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "log/log.h"
#include "tls/server.h"
#include "util/ipaddr.h"

static SSL_CTX *client_ctx;

static int new_session(SSL *ssl, SSL_SESSION *session)
{
    struct tls_session_slot *slot = SSL_get_app_data(ssl);
    if (!slot || !SSL_SESSION_is_resumable(session))
        return 0;
    /* a copy: OpenSSL marks the original unusable when its connection ends
     * without a close_notify, which is how most backends close */
    SSL_SESSION *copy = SSL_SESSION_dup(session);
    if (!copy)
        return 0;
    SSL_SESSION_free(slot->session);
    slot->session = copy;
    return 0;
}

int tls_client_init(void)
{
    if (client_ctx)
        return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    static const unsigned char alpn[] = "\x08http/1.1";
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set1_groups_list(ctx, tls_groups_list()) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        log_error("Cannot set up TLS to upstreams: %s", ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return -1;
    }
    /* the system trust store; OpenSSL reads SSL_CERT_FILE and SSL_CERT_DIR */
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        log_warn("Cannot load the system trust store: TLS upstreams will fail verification");
    ERR_clear_error();
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session);
    client_ctx = ctx;
    return 0;
}

void tls_client_free(void)
{
    SSL_CTX_free(client_ctx);
    client_ctx = NULL;
}

SSL *tls_client_ssl_new(const char *host, struct tls_session_slot *slot)
{
    SSL *ssl = client_ctx ? SSL_new(client_ctx) : NULL;
    if (!ssl)
        return NULL;
    struct ip_addr ip;
    const char *why;
    bool literal = ip_parse(host, strlen(host), &ip, &why) == 0;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                     : SSL_set_tlsext_host_name(ssl, host) == 1 &&
                           X509_VERIFY_PARAM_set1_host(param, host, 0) == 1;
    if (!ok) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set_connect_state(ssl);
    SSL_set_app_data(ssl, slot);
    if (slot && slot->session)
        SSL_set_session(ssl, slot->session);
    return ssl;
}

const char *tls_client_verify_error(SSL *ssl)
{
    long v = SSL_get_verify_result(ssl);
    return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
}
