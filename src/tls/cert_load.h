/* Reading one app's certificate material: the PEM certificate chain (leaf
 * first), the private key (PKCS#8, PKCS#1 RSA or SEC1 EC; RSA, ECDSA or
 * Ed25519; never encrypted), and for mutual TLS the client CA file. */
#ifndef RPXY_TLS_CERT_LOAD_H
#define RPXY_TLS_CERT_LOAD_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>

struct cfg_app;

#define TLS_FILE_MAX (1u << 20)

struct tls_material {
    X509 *leaf;
    STACK_OF(X509) * chain; /* intermediates, in file order; may be empty */
    EVP_PKEY *key;
    X509_STORE *client_ca; /* mutual TLS trust anchors, or NULL */
    STACK_OF(X509_NAME) * client_ca_names;
    unsigned char digest[32]; /* SHA-256 over the files' bytes: "did anything change" */
};

/* SHA-256 over the app's files as they are now. Returns 0, or -1 with a
 * message in err when a file cannot be read. */
int tls_files_digest(const struct cfg_app *app, unsigned char digest[32], char *err, size_t errlen);

/* Reads and checks the app's files: the key matches the leaf certificate,
 * the leaf covers server_name, the CA file has at least one usable anchor.
 * Returns 0 with m filled (release with tls_material_free), or -1 with a
 * message in err. */
int tls_material_load(const struct cfg_app *app, struct tls_material *m, char *err, size_t errlen);

void tls_material_free(struct tls_material *m);

/* Warns (rpxy's text) when the key file is readable by group or others. */
void tls_key_permissions_check(const char *key_path);

#endif
