#include "metrics/counters.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct mx_global mx_global;

/* Names given slots for the life of the process; slot 0 stays "", the last
 * one is never given (shared by the names past it). */
struct slots {
    pthread_mutex_t lock;
    char names[MX_SLOTS][300];
    unsigned n; /* slots given out, slot 0 included */
};

static struct slots g_apps = { PTHREAD_MUTEX_INITIALIZER, { "" }, 1 };
static struct slots g_upstreams = { PTHREAD_MUTEX_INITIALIZER, { "" }, 1 };

static unsigned slot_of(struct slots *t, const char *name)
{
    pthread_mutex_lock(&t->lock);
    unsigned slot = 0;
    for (unsigned i = 1; i < t->n && !slot; i++)
        if (strncmp(t->names[i], name, sizeof(t->names[i])) == 0)
            slot = i;
    if (!slot && t->n < MX_SLOTS - 1) {
        slot = t->n++;
        snprintf(t->names[slot], sizeof(t->names[slot]), "%s", name);
    }
    pthread_mutex_unlock(&t->lock);
    return slot ? slot : MX_SLOTS - 1;
}

static void name_of(struct slots *t, unsigned i, char *out, size_t cap)
{
    pthread_mutex_lock(&t->lock);
    snprintf(out, cap, "%s", i == MX_SLOTS - 1 ? "(other)" : i < t->n ? t->names[i] : "");
    pthread_mutex_unlock(&t->lock);
}

unsigned mx_app_slot(const char *name)
{
    return slot_of(&g_apps, name);
}

void mx_app_name(unsigned i, char *out, size_t cap)
{
    name_of(&g_apps, i, out, cap);
}

unsigned mx_upstream_slot(const char *location)
{
    return slot_of(&g_upstreams, location);
}

void mx_upstream_name(unsigned i, char *out, size_t cap)
{
    name_of(&g_upstreams, i, out, cap);
}

void mx_config_loaded(bool reload, bool ok)
{
    if (reload)
        mx_add(ok ? &mx_global.reloads_ok : &mx_global.reloads_failed, 1);
    if (!ok)
        return;
    atomic_store_explicit(&mx_global.last_reload_ok_s, (uint64_t)time(NULL), memory_order_relaxed);
}
