#include "http/h2_server.h"

#include "proxy/client_conn.h"

/* Not served yet: a connection that opens with the HTTP/2 preface is closed. */
int h2_server_start(struct client *c)
{
    return -1;
}

void h2_server_drive(struct client *c)
{
}

void h2_server_shutdown(struct client *c)
{
}

void h2_server_idle_timeout(struct client *c)
{
}

void h2_server_free(struct client *c)
{
}
