#include "core/listeners.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "net/listener.h"

static const struct lset_entry *find_old(const struct lset *old, const struct ip_addr *a,
                                         uint16_t port, bool tls)
{
    for (size_t i = 0; old && i < old->n; i++) {
        const struct lset_entry *e = &old->entries[i];
        if (e->port == port && e->tls == tls && memcmp(&e->addr, a, sizeof(*a)) == 0)
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
    const struct lset_entry *prev = find_old(old, &e->addr, e->port, e->tls);
    for (size_t w = 0; w < n_workers; w++) {
        e->fds[w] = prev && w < old->n_workers ? dup(prev->fds[w]) : -1;
        if (e->fds[w] >= 0)
            continue;
        e->fds[w] = listener_open(&e->addr, e->port, backlog);
        if (e->fds[w] < 0) {
            log_error("Failed to bind %s: %s%s", name, strerror(errno),
                      reload ? " (keeping the previous listeners)" : "");
            for (size_t k = 0; k < w; k++)
                close(e->fds[k]);
            free(e->fds);
            e->fds = NULL;
            return -1;
        }
    }
    if (!prev)
        log_info("rpxy proxy service for %s (%s) started", name, e->tls ? "https" : "http");
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
    ls->entries = calloc(n_addrs ? 2 * n_addrs : 1, sizeof(*ls->entries));
    if (!ls->entries) {
        free(ls);
        return NULL;
    }
    int backlog = cfg->tcp_listen_backlog > 65535 ? 65535 : (int)cfg->tcp_listen_backlog;
    int32_t ports[2] = { cfg->listen_port, cfg->listen_port_tls };
    for (int p = 0; p < 2; p++) {
        if (ports[p] < 0)
            continue;
        for (size_t i = 0; i < n_addrs; i++) {
            struct lset_entry *e = &ls->entries[ls->n];
            e->addr =
                i < cfg->n_listen_v4 ? cfg->listen_v4[i] : cfg->listen_v6[i - cfg->n_listen_v4];
            e->port = (uint16_t)ports[p];
            e->tls = p == 1;
            if (open_entry(e, old, n_workers, backlog, reload) < 0) {
                lset_unref(ls);
                return NULL;
            }
            ls->n++;
        }
    }
    return ls;
}
