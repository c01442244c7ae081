#include "service/service_state.h"

#include <stdio.h>
#include <time.h>

#include "config/config.h"
#include "service/sd_notify.h"

char *service_summary(const struct cfg *cfg, size_t n_workers, char *out, size_t size)
{
    char ports[64] = "";
    int n = 0;
    if (cfg->listen_port >= 0)
        n = snprintf(ports, sizeof(ports), "%d (http)", (int)cfg->listen_port);
    if (cfg->listen_port_tls >= 0)
        snprintf(ports + n, sizeof(ports) - (size_t)n, "%s%d (https%s)", n ? ", " : "",
                 (int)cfg->listen_port_tls, cfg->h3.enabled ? ", h3" : "");
    snprintf(out, size, "Serving %zu app%s on port%s %s with %zu worker%s", cfg->n_apps,
             cfg->n_apps == 1 ? "" : "s",
             cfg->listen_port >= 0 && cfg->listen_port_tls >= 0 ? "s" : "", ports, n_workers,
             n_workers == 1 ? "" : "s");
    return out;
}

void service_ready(const struct cfg *cfg, size_t n_workers, bool last_reload_failed)
{
    char summary[512];
    sd_notify_send("READY=1\nSTATUS=%s%s",
                   service_summary(cfg, n_workers, summary, sizeof(summary)),
                   last_reload_failed ? "; the last reload failed, see the log" : "");
}

void service_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration",
                   (unsigned long long)ts.tv_sec * 1000000ull +
                       (unsigned long long)ts.tv_nsec / 1000u);
}

void service_stopping(uint64_t grace_s)
{
    sd_notify_send("STOPPING=1\nSTATUS=Draining connections (at most %llu s)",
                   (unsigned long long)grace_s);
}
