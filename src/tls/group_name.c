#include "tls/group_name.h"

#include <openssl/objects.h>
#include <stdio.h>
#include <strings.h>

void tls_group_name(SSL *ssl, char *out, size_t cap)
{
    int nid = SSL_get_session(ssl) != NULL ? SSL_get_negotiated_group(ssl) : 0;
    const char *name, *sn;

    if (nid == 0) {
        snprintf(out, cap, "none");
        return;
    }
    name = SSL_group_to_name(ssl, nid);
    sn = (nid & TLSEXT_nid_unknown) == 0 ? OBJ_nid2sn(nid) : NULL;
    /* libssl calls X25519 "x25519"; prefer the object name's spelling. */
    if (name != NULL && sn != NULL && strcasecmp(name, sn) == 0)
        name = sn;
    if (name != NULL)
        snprintf(out, cap, "%s", name);
    else if ((nid & TLSEXT_nid_unknown) != 0)
        snprintf(out, cap, "0x%04x", nid & 0xffff);
    else
        snprintf(out, cap, "%s", sn != NULL ? sn : "unknown");
}
