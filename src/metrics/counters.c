#include "metrics/counters.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct mx_global mx_global;

static pthread_mutex_t g_names_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_names[MX_APPS][64]; /* slot -> app name; slot 0 stays "" */
static unsigned g_n_names = 1;    /* slots given out; the last one is never given */

unsigned mx_app_slot(const char *name)
{
    pthread_mutex_lock(&g_names_lock);
    unsigned slot = 0;
    for (unsigned i = 1; i < g_n_names && !slot; i++)
        if (strncmp(g_names[i], name, sizeof(g_names[i])) == 0)
            slot = i;
    if (!slot && g_n_names < MX_APPS - 1) {
        slot = g_n_names++;
        snprintf(g_names[slot], sizeof(g_names[slot]), "%s", name);
    }
    pthread_mutex_unlock(&g_names_lock);
    return slot ? slot : MX_APPS - 1;
}

void mx_app_name(unsigned i, char *out, size_t cap)
{
    pthread_mutex_lock(&g_names_lock);
    snprintf(out, cap, "%s", i == MX_APPS - 1 ? "(other)" : i < g_n_names ? g_names[i] : "");
    pthread_mutex_unlock(&g_names_lock);
}

void mx_config_loaded(bool reload, bool ok)
{
    if (reload)
        mx_add(ok ? &mx_global.reloads_ok : &mx_global.reloads_failed, 1);
    if (!ok)
        return;
    atomic_store_explicit(&mx_global.last_reload_ok_s, (uint64_t)time(NULL), memory_order_relaxed);
}
