#include "core/listeners.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "net/listener.h"
#include "net/udp.h"

static const struct lset_entry *find_old(const struct lset *old, const struct lset_entry *want)
{
    for (size_t i = 0; old && i < old->n; i++) {
        const struct lset_entry *e = &old->entries[i];
        if (e->port == want->port && e->tls == want->tls && e->udp == want->udp &&
            memcmp(&e->addr, &want->addr, sizeof(e->addr)) == 0)
            return e;
    }
    return NULL;
}

/* Opens (or dups from old) the sockets of one address:port for every worker. */
static int open_entry(struct lset_entry *e, const struct lset *old, size_t n_workers, int backlog,
                      bool reload)
{
    char name[64];
    listener_format(&e->addr, e->port, name);
    e->fds = malloc(n_workers * sizeof(int));
    if (!e->fds)
        return -1;
    const struct lset_entry *prev = find_old(old, e);
    for (size_t w = 0; w < n_workers; w++) {
        e->fds[w] = prev && w < old->n_workers ? dup(prev->fds[w]) : -1;
        if (e->fds[w] >= 0)
            continue;
        /* UDP sockets join their reuseport group in worker order: the
         * steering program counts on socket i being worker i's */
        e->fds[w] =
            e->udp ? udp_open(&e->addr, e->port) : listener_open(&e->addr, e->port, backlog);
        if (e->fds[w] < 0) {
            log_error("Failed to bind %s%s: %s%s", name, e->udp ? " (UDP)" : "", strerror(errno),
                      reload ? " (keeping the previous listeners)" : "");
            for (size_t k = 0; k < w; k++)
                close(e->fds[k]);
            free(e->fds);
            e->fds = NULL;
            return -1;
        }
    }
    if (!prev && e->udp && udp_steer_by_cid(e->fds[0]) < 0)
        log_warn("HTTP/3 on %s: no connection-ID steering (%s): a client whose address "
                 "changes may lose its connection",
                 name, strerror(errno));
    if (!prev)
        log_info("rpxy proxy service for %s (%s) started", name,
                 e->udp   ? "h3"
                 : e->tls ? "https"
                          : "http");
    return 0;
}

struct lset *lset_build(const struct cfg *cfg, size_t n_workers, const struct lset *old,
                        bool reload)
{
    struct lset *ls = calloc(1, sizeof(*ls));
    if (!ls)
        return NULL;
    atomic_init(&ls->refs, 1);
    ls->n_workers = n_workers;
    size_t n_addrs = cfg->n_listen_v4 + cfg->n_listen_v6;
    ls->entries = calloc(n_addrs ? 3 * n_addrs : 1, sizeof(*ls->entries));
    if (!ls->entries) {
        free(ls);
        return NULL;
    }
    int backlog = cfg->tcp_listen_backlog > 65535 ? 65535 : (int)cfg->tcp_listen_backlog;
    int32_t ports[3] = { cfg->listen_port, cfg->listen_port_tls,
                         cfg->h3.enabled ? cfg->listen_port_tls : -1 };
    for (int p = 0; p < 3; p++) {
        if (ports[p] < 0)
            continue;
        for (size_t i = 0; i < n_addrs; i++) {
            struct lset_entry *e = &ls->entries[ls->n];
            e->addr =
                i < cfg->n_listen_v4 ? cfg->listen_v4[i] : cfg->listen_v6[i - cfg->n_listen_v4];
            e->port = (uint16_t)ports[p];
            e->tls = p >= 1;
            e->udp = p == 2;
            if (open_entry(e, old, n_workers, backlog, reload) < 0) {
                lset_unref(ls);
                return NULL;
            }
            ls->n++;
        }
    }
    return ls;
}
