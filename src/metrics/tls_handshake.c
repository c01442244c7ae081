#include "metrics/tls_handshake.h"

#include <strings.h>

#include "tls/group_name.h"

void mx_tls_handshake_done(struct mx_worker *m, bool quic, SSL *ssl)
{
    int v = SSL_version(ssl);
    enum mx_tls_version mv = v == TLS1_3_VERSION   ? MX_TLS13
                             : v == TLS1_2_VERSION ? MX_TLS12
                                                   : MX_TLS_OTHER;
    char group[64];
    tls_group_name(ssl, group, sizeof(group));
    static const char *const names[] = { [MX_X25519MLKEM768] = "X25519MLKEM768",
                                         [MX_X25519] = "X25519",
                                         [MX_P256] = "secp256r1",
                                         [MX_P384] = "secp384r1" };
    enum mx_group g = 0;
    while (g < MX_GROUP_OTHER && strcasecmp(group, names[g]) != 0)
        g++;
    mx_add(&m->tls_done[quic][mv][g], 1);
}
