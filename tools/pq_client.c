/* pq-client: a TLS client for tests of the X25519MLKEM768 key exchange.
 *
 *   pq-client HOST PORT [--groups LIST] [--sni NAME] [--alpn a,b] [--cafile F]
 *             [--cert F --key F] [--get PATH] [--sess-out F] [--sess-in F] [--tls12]
 *
 * Connects, handshakes (verifying the server against --cafile when given,
 * otherwise not at all) and prints one line:
 *
 *   version=TLSv1.3 group=X25519MLKEM768 alpn=h2 resumed=0
 *
 * With --get it then sends "GET PATH HTTP/1.1" (Host: the SNI name or HOST,
 * Connection: close) and prints the response's status line. --sess-out
 * saves the session (PEM) the server gave, --sess-in offers a saved one.
 * Exit status: 0 on success, 1 on a connection or handshake failure (the
 * OpenSSL errors on stderr), 2 on a usage error. */
#include "tls/alpn.h"
#include "tls/group_name.h"
#include "tls/pq/provider.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct opts {
    const char *host, *port;
    const char *groups, *sni, *alpn, *cafile, *cert, *key, *get, *sess_out, *sess_in;
    int tls12;
};

static const char *g_sess_out; /* for the new-session callback */
static int g_sess_saved;

static void usage(FILE *out, int status)
{
    fprintf(out, "usage: pq-client HOST PORT [--groups LIST] [--sni NAME] [--alpn a,b]\n"
                 "                 [--cafile F] [--cert F --key F] [--get PATH]\n"
                 "                 [--sess-out F] [--sess-in F] [--tls12]\n");
    exit(status);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    static const struct {
        const char *name;
        size_t off;
    } with_value[] = {
        { "--groups", offsetof(struct opts, groups) },
        { "--sni", offsetof(struct opts, sni) },
        { "--alpn", offsetof(struct opts, alpn) },
        { "--cafile", offsetof(struct opts, cafile) },
        { "--cert", offsetof(struct opts, cert) },
        { "--key", offsetof(struct opts, key) },
        { "--get", offsetof(struct opts, get) },
        { "--sess-out", offsetof(struct opts, sess_out) },
        { "--sess-in", offsetof(struct opts, sess_in) },
    };
    int positional = 0;

    memset(o, 0, sizeof(*o));
    o->groups = PQ_GROUPS_LIST;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t k;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            usage(stdout, 0);
        if (strcmp(a, "--tls12") == 0) {
            o->tls12 = 1;
            continue;
        }
        for (k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
            if (strcmp(a, with_value[k].name) == 0)
                break;
        if (k < sizeof(with_value) / sizeof(with_value[0])) {
            if (i + 1 >= argc) {
                fprintf(stderr, "pq-client: %s needs a value\n", a);
                usage(stderr, 2);
            }
            *(const char **)((char *)o + with_value[k].off) = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "pq-client: unknown option %s\n", a);
            usage(stderr, 2);
        } else if (positional == 0) {
            o->host = a;
            positional++;
        } else if (positional == 1) {
            o->port = a;
            positional++;
        } else {
            usage(stderr, 2);
        }
    }
    if (o->host == NULL || o->port == NULL || (o->cert == NULL) != (o->key == NULL))
        usage(stderr, 2);
}

static int fail(const char *what)
{
    fprintf(stderr, "pq-client: %s\n", what);
    ERR_print_errors_fp(stderr);
    return 1;
}

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
    int fd = -1, rc = getaddrinfo(host, port, &hints, &res);

    if (rc != 0) {
        fprintf(stderr, "pq-client: %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        fprintf(stderr, "pq-client: connect %s:%s: %s\n", host, port, strerror(errno));
    freeaddrinfo(res);
    if (fd >= 0) {
        struct timeval tv = { .tv_sec = 10 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return fd;
}

/* New-session callback: keeps the latest session (TLS 1.3 servers may send
 * several tickets) in the --sess-out file. */
static int save_session(SSL *ssl, SSL_SESSION *sess)
{
    BIO *out = BIO_new_file(g_sess_out, "w");

    if (out != NULL && PEM_write_bio_SSL_SESSION(out, sess))
        g_sess_saved = 1;
    else
        fprintf(stderr, "pq-client: cannot write %s\n", g_sess_out);
    BIO_free(out);
    return 0; /* no reference kept */
}

static SSL_CTX *make_ctx(const struct opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    unsigned char alpn[256];
    int alpn_len;

    if (ctx == NULL)
        return NULL;
    if (!SSL_CTX_set1_groups_list(ctx, o->groups) ||
        !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        (o->tls12 && !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION)))
        goto err;
    if (o->alpn != NULL && ((alpn_len = tls_alpn_wire(o->alpn, alpn, sizeof(alpn))) < 0 ||
                            SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned)alpn_len) != 0)) {
        fprintf(stderr, "pq-client: bad --alpn %s\n", o->alpn);
        goto err;
    }
    if (o->cafile != NULL) {
        if (!SSL_CTX_load_verify_locations(ctx, o->cafile, NULL))
            goto err;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (o->cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
                            SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
                            !SSL_CTX_check_private_key(ctx)))
        goto err;
    if (o->sess_out != NULL) {
        g_sess_out = o->sess_out;
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, save_session);
    }
    return ctx;
err:
    SSL_CTX_free(ctx);
    return NULL;
}

static int configure_ssl(SSL *ssl, const struct opts *o)
{
    const char *name = o->sni != NULL ? o->sni : o->host;

    if ((o->sni != NULL || !is_ip_literal(o->host)) && !SSL_set_tlsext_host_name(ssl, name))
        return -1;
    if (o->cafile != NULL) {
        /* The certificate must match the SNI name, or HOST. */
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        if (is_ip_literal(name) ? !X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                                : !SSL_set1_host(ssl, name))
            return -1;
    }
    if (o->sess_in != NULL) {
        BIO *in = BIO_new_file(o->sess_in, "r");
        SSL_SESSION *sess = in != NULL ? PEM_read_bio_SSL_SESSION(in, NULL, NULL, NULL) : NULL;
        int ok = sess != NULL && SSL_set_session(ssl, sess);
        SSL_SESSION_free(sess);
        BIO_free(in);
        if (!ok) {
            fprintf(stderr, "pq-client: cannot use the session in %s\n", o->sess_in);
            return -1;
        }
    }
    return 0;
}

static void print_summary(SSL *ssl)
{
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    char group[64];

    tls_group_name(ssl, group, sizeof(group));
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    printf("version=%s group=%s alpn=%.*s resumed=%d\n", SSL_get_version(ssl), group,
           alpn_len ? (int)alpn_len : 1, alpn_len ? (const char *)alpn : "-",
           SSL_session_reused(ssl) ? 1 : 0);
    fflush(stdout);
}

/* Sends the GET and prints the status line; reads on to the end so late
 * session tickets are seen. Returns 0 or 1. */
static int do_get(SSL *ssl, const struct opts *o)
{
    char req[2048], buf[8192];
    size_t have = 0;
    int printed = 0, n;

    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                 o->get, o->sni != NULL ? o->sni : o->host);
    if (n < 0 || (size_t)n >= sizeof(req))
        return fail("request too long");
    if (SSL_write(ssl, req, n) != n)
        return fail("write failed");
    for (;;) {
        n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));
        if (n <= 0)
            break;
        if (printed) {
            continue; /* discard the rest */
        }
        have += (size_t)n;
        buf[have] = '\0';
        char *eol = strstr(buf, "\r\n");
        if (eol != NULL || have == sizeof(buf) - 1) {
            if (eol != NULL)
                *eol = '\0';
            printf("%s\n", buf);
            fflush(stdout);
            printed = 1;
            have = 0;
        }
    }
    if (!printed)
        return fail("no response status line");
    return 0;
}

/* Without --get, waits up to a second for the server's session tickets. */
static void wait_for_tickets(SSL *ssl, int fd)
{
    struct timespec start, now;
    char buf[256];

    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!g_sess_saved) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= 1000)
            break;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (SSL_pending(ssl) == 0 && poll(&pfd, 1, (int)(1000 - waited)) <= 0)
            break;
        int n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0 && SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
            break;
    }
    ERR_clear_error();
}

int main(int argc, char **argv)
{
    struct opts o;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    int fd = -1, status = 1;

    parse_args(argc, argv, &o);
    if (pq_provider_init() != 0)
        return fail("cannot load the X25519MLKEM768 provider");
    ctx = make_ctx(&o);
    if (ctx == NULL)
        return fail("cannot set up TLS");
    ssl = SSL_new(ctx);
    if (ssl == NULL || configure_ssl(ssl, &o) != 0) {
        status = fail("cannot set up the connection");
        goto out;
    }
    fd = connect_to(o.host, o.port);
    if (fd < 0)
        goto out;
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        long verify = SSL_get_verify_result(ssl);
        if (o.cafile != NULL && verify != X509_V_OK)
            fprintf(stderr, "pq-client: certificate verification: %s\n",
                    X509_verify_cert_error_string(verify));
        status = fail("handshake failed");
        goto out;
    }
    print_summary(ssl);
    status = 0;
    if (o.get != NULL)
        status = do_get(ssl, &o);
    else if (o.sess_out != NULL)
        wait_for_tickets(ssl, fd);
    if (o.sess_out != NULL && !g_sess_saved) {
        /* TLS 1.2 without tickets: the handshake's session. */
        SSL_SESSION *sess = SSL_get1_session(ssl);
        if (sess != NULL)
            save_session(ssl, sess);
        SSL_SESSION_free(sess);
    }
    SSL_shutdown(ssl);
out:
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return status;
}
