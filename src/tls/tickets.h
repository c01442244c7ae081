/* Session ticket keys (RFC 5077 stateless tickets), one set for the whole
 * process: every worker and every app context encrypts with the current key
 * and accepts the previous one too. A new key is made every 6 hours, so a
 * ticket stays usable for at most 12 hours. Config and certificate reloads do
 * not touch the keys; a restart loses them (as in rpxy). */
#ifndef RPXY_TLS_TICKETS_H
#define RPXY_TLS_TICKETS_H

#include <openssl/ssl.h>
#include <stdint.h>

#define TICKET_ROTATE_S (6 * 3600)
#define TICKET_LIFETIME_S (12 * 3600)

/* Makes the first key. Returns 0, or -1 when the random generator fails. */
int tickets_init(void);

/* Rotates when the current key is TICKET_ROTATE_S old (main thread, any
 * time; now_s from a monotonic clock). */
void tickets_rotate_if_due(uint64_t now_s);

/* Rotates now (tests, and the periodic call above). */
int tickets_rotate(void);

/* Installs the ticket callback and lifetime on ctx: the context a TLS
 * connection starts with (its session context). */
void tickets_attach(SSL_CTX *ctx);

/* Connections for which tickets must be neither issued nor accepted
 * (mutual-TLS apps) are marked with this. */
void tickets_refuse(SSL *ssl);

void tickets_free(void);

#endif
