#include "tls/server.h"

#include <ctype.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/tls1.h>
#include <stdio.h>
#include <string.h>

#include "acme/challenge.h"
#include "log/log.h"
#include "quic/tls_bridge.h"
#include "tls/cert_load.h"
#include "tls/pq/provider.h"
#include "tls/sni_table.h"
#include "tls/tickets.h"

#define TLS13_SUITES "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"   \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305"
#define CLASSIC_GROUPS "X25519:P-256:P-384"

static SSL_CTX *front;
static bool pq_groups;

const char *tls_groups_list(void)
{
    return pq_groups ? PQ_GROUPS_LIST : CLASSIC_GROUPS;
}

const char *tls_failure_name(enum tls_failure f)
{
    switch (f) {
    case TLS_FAIL_ACCEPTOR: return "acceptor";
    case TLS_FAIL_NO_SNI: return "no_sni";
    case TLS_FAIL_UNKNOWN_SNI: return "unknown_sni";
    case TLS_FAIL_ACME_NO_CONFIG: return "acme_no_config";
    case TLS_FAIL_CLIENT_CERT: return "client_cert";
    case TLS_FAIL_HANDSHAKE: return "handshake";
    case TLS_FAIL_TIMEOUT: return "timeout";
    case TLS_FAIL_NONE: break;
    }
    return "none";
}

/* What we serve: h2 when the client offers it (whatever its order, RFC
 * 7301 lets the server choose), else http/1.1; over QUIC h3 or nothing
 * (RFC 9001 8.1: the handshake fails without an application protocol). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    const struct tls_hello *h = SSL_get_app_data(ssl);
    bool quic = h && h->quic;
    const unsigned char *h11 = NULL;
    for (unsigned i = 0; i < inlen;) {
        unsigned len = in[i];
        if (i + 1 + len > inlen)
            break;
        if (quic) {
            if (len == 2 && memcmp(in + i + 1, "h3", 2) == 0) {
                *out = in + i + 1;
                *outlen = 2;
                return SSL_TLSEXT_ERR_OK;
            }
        } else if (len == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
            *out = in + i + 1;
            *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        if (!quic && len == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0)
            h11 = in + i + 1;
        i += 1 + len;
    }
    if (quic)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    if (!h11)
        return SSL_TLSEXT_ERR_NOACK;
    *out = h11;
    *outlen = 8;
    return SSL_TLSEXT_ERR_OK;
}

/* ALPN extension body consisting of exactly one protocol, acme-tls/1. */
static bool alpn_only_acme(const unsigned char *p, size_t len)
{
    static const char acme[] = "acme-tls/1";
    size_t n = sizeof(acme) - 1;
    return len == 2 + 1 + n && ((size_t)p[0] << 8 | p[1]) == 1 + n && p[2] == n &&
           memcmp(p + 3, acme, n) == 0;
}

/* The host_name entry of a server_name extension, lower-cased into out.
 * Returns false when there is none. */
static bool parse_sni(const unsigned char *p, size_t len, char *out, size_t cap)
{
    if (len < 2)
        return false;
    size_t list = (size_t)p[0] << 8 | p[1];
    if (list + 2 != len)
        return false;
    for (size_t i = 2; i + 3 <= len;) {
        unsigned type = p[i];
        size_t n = (size_t)p[i + 1] << 8 | p[i + 2];
        if (i + 3 + n > len)
            return false;
        if (type == TLSEXT_NAMETYPE_host_name) {
            if (n == 0 || n >= cap)
                return false;
            for (size_t k = 0; k < n; k++)
                out[k] = (char)tolower(p[i + 3 + k]);
            out[n] = '\0';
            return memchr(out, '\0', n) == NULL;
        }
        i += 3 + n;
    }
    return false;
}

static int client_hello(SSL *ssl, int *alert, void *arg)
{
    struct tls_hello *h = SSL_get_app_data(ssl);
    if (!h)
        return SSL_CLIENT_HELLO_ERROR;
    if (h->decided)
        return SSL_CLIENT_HELLO_SUCCESS;
    const unsigned char *p;
    size_t len;
    /* ACME challenges first (SPEC 8.3): a name with a pending TLS-ALPN-01
     * authorization gets the RFC 8737 certificate (TCP only) */
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                  &len) &&
        alpn_only_acme(p, len)) {
        if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) ||
            !parse_sni(p, len, h->sni, sizeof(h->sni)))
            h->sni[0] = '\0';
        SSL_CTX *ctx = h->sni[0] && !h->quic ? acme_challenge_ctx(h->sni) : NULL;
        if (!ctx) {
            h->refused = TLS_FAIL_ACME_NO_CONFIG;
            return SSL_CLIENT_HELLO_RETRY;
        }
        SSL_CTX *set = SSL_set_SSL_CTX(ssl, ctx);
        SSL_CTX_free(ctx); /* the connection holds its own reference */
        if (set != ctx) {
            *alert = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        SSL_set_options(ssl, SSL_OP_NO_TICKET);
        SSL_set_num_tickets(ssl, 0);
        h->acme = true;
        h->decided = true;
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) ||
        !parse_sni(p, len, h->sni, sizeof(h->sni))) {
        h->sni[0] = '\0';
        h->refused = TLS_FAIL_NO_SNI;
        return SSL_CLIENT_HELLO_RETRY;
    }
    const struct tls_site *site = h->table ? sni_table_find(h->table, h->sni) : NULL;
    if (!site) {
        h->refused = TLS_FAIL_UNKNOWN_SNI;
        return SSL_CLIENT_HELLO_RETRY;
    }
    if (SSL_set_SSL_CTX(ssl, site->ctx) != site->ctx) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (site->mtls) {
        /* settings SSL_set_SSL_CTX does not carry over */
        SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_set_options(ssl, SSL_OP_NO_TICKET);
        SSL_set_num_tickets(ssl, 0);
        tickets_refuse(ssl);
        h->mtls = true;
    }
    h->decided = true;
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* Settings every server context shares. */
static int common_setup(SSL_CTX *ctx)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(ctx, tls_groups_list()) != 1)
        return -1;
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                 SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
    /* the chain is the configured one, as rustls sends it: without this
     * OpenSSL tries to complete it from the context's store on every
     * handshake (an X509_verify_cert per handshake for a leaf alone) */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_max_early_data(ctx, 0);
    SSL_CTX_set_recv_max_early_data(ctx, 0);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    /* the same contexts serve QUIC: the front one too, as OpenSSL reads the
     * ClientHello's extensions against it */
    return quic_tls_ctx_prepare(ctx);
}

int tls_server_init(void)
{
    if (front)
        return 0;
    if (pq_provider_init() == 0) {
        pq_groups = true;
        log_info("Post-quantum key exchange: %s", pq_provider_description());
    } else {
        unsigned long e = ERR_get_error();
        log_warn("Post-quantum key exchange unavailable (%s): offering X25519, P-256, P-384",
                 e ? ERR_reason_error_string(e) : "provider not loaded");
        ERR_clear_error();
    }
    if (tickets_init() < 0) {
        log_error("Cannot create session ticket keys");
        return -1;
    }
    front = SSL_CTX_new(TLS_server_method());
    if (!front || common_setup(front) < 0) {
        log_error("Cannot set up TLS: %s", ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(front);
        front = NULL;
        return -1;
    }
    SSL_CTX_set_client_hello_cb(front, client_hello, NULL);
    tickets_attach(front);
    return 0;
}

void tls_server_free(void)
{
    SSL_CTX_free(front);
    front = NULL;
    tickets_free();
    pq_provider_free();
}

SSL_CTX *tls_site_ctx_new(const struct tls_material *m, const char *server_name, char *err,
                          size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    unsigned char sid[32];
    if (!ctx || common_setup(ctx) < 0)
        goto fail;
    if (SSL_CTX_use_certificate(ctx, m->leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, m->key) != 1)
        goto fail;
    for (int i = 0; i < sk_X509_num(m->chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(m->chain, i)) != 1)
            goto fail;
    /* tickets of one app never resume on another */
    if (EVP_Digest(server_name, strlen(server_name), sid, NULL, EVP_sha256(), NULL) != 1 ||
        SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid)) != 1)
        goto fail;
    tickets_attach(ctx);
    if (m->client_ca) {
        STACK_OF(X509_NAME) *names = SSL_dup_CA_list(m->client_ca_names);
        if (!names || X509_STORE_up_ref(m->client_ca) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            goto fail;
        }
        SSL_CTX_set_cert_store(ctx, m->client_ca);
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    return ctx;
fail:;
    unsigned long e = ERR_get_error();
    snprintf(err, errlen, "cannot build the TLS context: %s",
             e ? ERR_reason_error_string(e) : "out of memory");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

SSL *tls_server_ssl_new(struct tls_hello *h)
{
    SSL *ssl = front ? SSL_new(front) : NULL;
    if (ssl) {
        SSL_set_app_data(ssl, h);
        SSL_set_accept_state(ssl);
    }
    return ssl;
}
