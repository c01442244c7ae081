#include "quic/cid_map.h"

#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cid_map_entry {
    struct cid_map_entry *next;
    void *value;
    uint8_t len;
    uint8_t id[QUIC_CID_MAX];
};

static size_t slot_of(const struct cid_map *m, const uint8_t *id, size_t len)
{
    uint64_t h = m->seed ^ (0x9e3779b97f4a7c15ull * (len + 1));
    for (size_t i = 0; i < len; i++) {
        h ^= id[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return (size_t)(h & (m->n_slots - 1));
}

int cid_map_init(struct cid_map *m)
{
    memset(m, 0, sizeof(*m));
    m->n_slots = 64;
    m->slots = calloc(m->n_slots, sizeof(*m->slots));
    if (!m->slots || RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1) {
        free(m->slots);
        m->slots = NULL;
        return -1;
    }
    return 0;
}

void cid_map_free(struct cid_map *m)
{
    for (size_t i = 0; m->slots && i < m->n_slots; i++)
        for (struct cid_map_entry *e = m->slots[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(m->slots);
    m->slots = NULL;
    m->n = 0;
}

static struct cid_map_entry **find(const struct cid_map *m, const uint8_t *id, size_t len)
{
    struct cid_map_entry **p = &m->slots[slot_of(m, id, len)];
    while (*p && !((*p)->len == len && memcmp((*p)->id, id, len) == 0))
        p = &(*p)->next;
    return p;
}

static void grow(struct cid_map *m)
{
    size_t old_n = m->n_slots;
    struct cid_map_entry **old = m->slots;
    struct cid_map_entry **slots = calloc(old_n * 2, sizeof(*slots));
    if (!slots)
        return; /* longer chains, still correct */
    m->slots = slots;
    m->n_slots = old_n * 2;
    for (size_t i = 0; i < old_n; i++)
        for (struct cid_map_entry *e = old[i], *next; e; e = next) {
            next = e->next;
            size_t s = slot_of(m, e->id, e->len);
            e->next = m->slots[s];
            m->slots[s] = e;
        }
    free(old);
}

int cid_map_put(struct cid_map *m, const uint8_t *id, size_t len, void *value)
{
    if (len > QUIC_CID_MAX)
        return -1;
    struct cid_map_entry **p = find(m, id, len);
    if (*p) {
        (*p)->value = value;
        return 0;
    }
    struct cid_map_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    e->value = value;
    e->len = (uint8_t)len;
    memcpy(e->id, id, len);
    *p = e;
    if (++m->n > m->n_slots - m->n_slots / 4)
        grow(m);
    return 0;
}

void *cid_map_get(const struct cid_map *m, const uint8_t *id, size_t len)
{
    if (len > QUIC_CID_MAX)
        return NULL;
    struct cid_map_entry *e = *find(m, id, len);
    return e ? e->value : NULL;
}

void cid_map_del(struct cid_map *m, const uint8_t *id, size_t len)
{
    if (len > QUIC_CID_MAX)
        return;
    struct cid_map_entry **p = find(m, id, len);
    struct cid_map_entry *e = *p;
    if (!e)
        return;
    *p = e->next;
    free(e);
    m->n--;
}

void cid_map_del_value(struct cid_map *m, const void *value)
{
    for (size_t i = 0; i < m->n_slots; i++) {
        struct cid_map_entry **p = &m->slots[i];
        while (*p) {
            if ((*p)->value == value) {
                struct cid_map_entry *e = *p;
                *p = e->next;
                free(e);
                m->n--;
            } else {
                p = &(*p)->next;
            }
        }
    }
}
