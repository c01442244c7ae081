#include "service/sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log/log.h"

static int g_fd = -1;
static struct sockaddr_un g_addr;
static socklen_t g_addr_len;
static bool g_warned; /* a failed send is reported once, not per message */

int sd_notify_open(void)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !name[0])
        return 0;
    size_t n = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || n >= sizeof(g_addr.sun_path)) {
        log_warn("NOTIFY_SOCKET=%s is not a unix socket path or @abstract name of at most %zu "
                 "bytes; systemd notifications are off",
                 name, sizeof(g_addr.sun_path) - 1);
        return -1;
    }
    memset(&g_addr, 0, sizeof(g_addr));
    g_addr.sun_family = AF_UNIX;
    memcpy(g_addr.sun_path, name, n);
    if (name[0] == '@')
        g_addr.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
    else
        n++;
    g_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    g_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (g_fd < 0) {
        log_warn("cannot create the systemd notification socket: %s; notifications are off",
                 strerror(errno));
        return -1;
    }
    g_warned = false;
    return 0;
}

void sd_notify_send(const char *fmt, ...)
{
    if (g_fd < 0)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof(msg))
        len = sizeof(msg) - 1;
    ssize_t r;
    do {
        r = sendto(g_fd, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&g_addr, g_addr_len);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && !g_warned) {
        g_warned = true;
        log_warn("cannot notify systemd through NOTIFY_SOCKET=%s: %s", getenv("NOTIFY_SOCKET"),
                 strerror(errno));
    }
}

void sd_notify_close(void)
{
    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
}
