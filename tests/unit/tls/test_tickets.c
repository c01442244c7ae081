/* Session tickets through the proxy's own server path (front context,
 * ClientHello callback, app contexts): a ticket resumes, still resumes after
 * one key rotation, no longer after two; a ticket of one app does not resume
 * on another; an mTLS app issues none. Handshakes run in memory. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "../tap.h"
#include "tls/cert_load.h"
#include "tls/server.h"
#include "tls/sni_table.h"
#include "tls/tickets.h"
#include "../test_site.h"

static struct tls_sni_table *table;

/* One connection for sni, resuming *session when set; on return *session
 * is the new session (a ticket, if one came). Returns 1 resumed, 0 full
 * handshake, -1 failure. */
static int connect_once(SSL_CTX *cctx, const char *sni, SSL_SESSION **session, int with_cert)
{
    struct tls_hello hello = { .table = table };
    SSL *s = tls_server_ssl_new(&hello);
    SSL *c = SSL_new(cctx);
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(s_in, -1);
    BIO_set_mem_eof_return(c_in, -1);
    SSL_set_bio(s, s_in, s_out);
    SSL_set_bio(c, c_in, c_out);
    SSL_set_connect_state(c);
    SSL_set_tlsext_host_name(c, sni);
    if (with_cert) {
        SSL_use_certificate(c, cert);
        SSL_use_PrivateKey(c, key);
    }
    if (*session)
        SSL_set_session(c, *session);
    int rc = -1;
    for (int i = 0; i < 10; i++) {
        int cr = SSL_do_handshake(c);
        shuttle(c_out, s_in);
        int sr = SSL_do_handshake(s);
        shuttle(s_out, c_in);
        if (cr == 1 && sr == 1) {
            rc = SSL_session_reused(c);
            break;
        }
    }
    if (rc >= 0) {
        /* the tickets come after the handshake: let the client read them */
        char b;
        SSL_write(s, "x", 1);
        shuttle(s_out, c_in);
        SSL_read(c, &b, 1);
        SSL_SESSION_free(*session);
        /* a copy: ending a connection without close_notify spoils its session */
        *session = SSL_SESSION_dup(SSL_get0_session(c));
    }
    ERR_clear_error();
    SSL_free(c);
    SSL_free(s);
    return rc;
}

int main(void)
{
    TAP_OK(tls_server_init() == 0, "TLS set up");
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cert = self_signed("a.test");
    SSL_CTX *a = site("a.test", 0), *b = site("b.test", 0), *m = site("m.test", 1);
    TAP_OK(a && b && m, "app contexts");
    table = sni_table_new(3);
    unsigned char digest[32] = { 0 };
    sni_table_add(table, "a.test", a, false, digest);
    sni_table_add(table, "b.test", b, false, digest);
    sni_table_add(table, "m.test", m, true, digest);
    sni_table_seal(table);

    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);

    SSL_SESSION *sa = NULL;
    TAP_INT_EQ(connect_once(cctx, "a.test", &sa, 0), 0, "first connection: full handshake");
    TAP_OK(sa && SSL_SESSION_has_ticket(sa), "a ticket was issued");
    SSL_SESSION *first = SSL_SESSION_dup(sa);
    TAP_INT_EQ(connect_once(cctx, "a.test", &sa, 0), 1, "the ticket resumes");
    TAP_OK(sa && SSL_SESSION_has_ticket(sa) &&
               memcmp(SSL_SESSION_get0_id_context(sa, NULL),
                      SSL_SESSION_get0_id_context(first, NULL), 1) == 0,
           "the resumed handshake brought a new ticket");
    {
        const unsigned char *t1, *t2;
        size_t l1, l2;
        SSL_SESSION_get0_ticket(first, &t1, &l1);
        SSL_SESSION_get0_ticket(sa, &t2, &l2);
        TAP_OK(l1 && l2 && (l1 != l2 || memcmp(t1, t2, l1) != 0), "... a different one");
    }
    SSL_SESSION_free(first);
    TAP_INT_EQ(connect_once(cctx, "a.test", &sa, 0), 1, "the new ticket resumes in turn");

    SSL_SESSION *before_rotation = NULL;
    connect_once(cctx, "a.test", &before_rotation, 0);
    TAP_OK(tickets_rotate() == 0, "rotate the keys");
    SSL_SESSION *one = SSL_SESSION_dup(before_rotation);
    TAP_INT_EQ(connect_once(cctx, "a.test", &one, 0), 1,
               "a ticket of the previous key still resumes");
    TAP_OK(tickets_rotate() == 0, "rotate again");
    TAP_INT_EQ(connect_once(cctx, "a.test", &before_rotation, 0), 0,
               "a ticket two keys old does not resume");

    SSL_SESSION *cross = SSL_SESSION_dup(sa);
    /* same certificate on both apps: only the session context tells them apart */
    SSL_SESSION_set1_hostname(cross, "b.test");
    TAP_INT_EQ(connect_once(cctx, "b.test", &cross, 0), 0,
               "a ticket of a.test does not resume on b.test");

    SSL_SESSION *ms = NULL;
    TAP_INT_EQ(connect_once(cctx, "m.test", &ms, 1), 0, "mTLS app: full handshake");
    TAP_OK(ms && !SSL_SESSION_has_ticket(ms), "mTLS app: no ticket issued");
    SSL_SESSION *from_a = SSL_SESSION_dup(sa);
    SSL_SESSION_set1_hostname(from_a, "m.test");
    TAP_INT_EQ(connect_once(cctx, "m.test", &from_a, 1), 0,
               "mTLS app: another app's ticket does not resume");

    SSL_SESSION_free(sa);
    SSL_SESSION_free(one);
    SSL_SESSION_free(before_rotation);
    SSL_SESSION_free(cross);
    SSL_SESSION_free(ms);
    SSL_SESSION_free(from_a);
    SSL_CTX_free(cctx);
    SSL_CTX_free(a);
    SSL_CTX_free(b);
    SSL_CTX_free(m);
    sni_table_unref(table);
    X509_free(cert);
    EVP_PKEY_free(key);
    tls_server_free();
    return tap_done();
}
