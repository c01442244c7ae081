/* Unit tests for src/cache/shared_body.c: one body per entry while readers
 * hold it, freed by the last one, the bounds on bodies read whole, and
 * threads getting, publishing and releasing at once. */
#include "../tap.h"
#include "cache/shared_body.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1u << 20)

static struct cache_shared_body *filled(uint64_t len, char c)
{
    struct cache_shared_body *b = cache_shared_body_new(len);
    if (b)
        memset(b->bytes, c, (size_t)len);
    return b;
}

static void one_body_per_entry(void)
{
    struct cache_entry e = { 0 };
    TAP_OK(cache_shared_body_get(&e) == NULL, "nothing shared before a read");
    struct cache_shared_body *a = filled(100, 'a');
    TAP_OK(a != NULL, "a body for one reader");
    TAP_OK(cache_shared_body_get(&e) == NULL, "not shared before it is published");
    TAP_OK(cache_shared_body_publish(&e, a) == a && e.shared == a, "published");
    struct cache_shared_body *b = filled(100, 'b');
    TAP_OK(cache_shared_body_publish(&e, b) == a, "a second read gets the first body");
    TAP_OK(cache_shared_body_get(&e) == a && a->readers == 3, "a third reader shares it");
    cache_shared_body_release(&e, a);
    cache_shared_body_release(&e, a);
    TAP_OK(e.shared == a, "kept while a reader holds it");
    cache_shared_body_release(&e, a);
    TAP_OK(e.shared == NULL && cache_shared_body_get(&e) == NULL, "the last reader lets it go");
    struct cache_shared_body *lone = filled(10, 'x');
    cache_shared_body_release(&e, lone); /* never published: just freed */
    TAP_OK(e.shared == NULL, "an unpublished body leaves the entry alone");
}

/* How many 2 MiB bodies can be taken at once (all given back after). */
static size_t whole_bodies_available(void)
{
    struct cache_entry e = { 0 };
    struct cache_shared_body *b[33];
    size_t n = 0;
    while (n < 33 && (b[n] = cache_shared_body_new(2 * MIB)) != NULL)
        n++;
    for (size_t i = 0; i < n; i++)
        cache_shared_body_release(&e, b[i]);
    return n;
}

static void bounds(void)
{
    TAP_OK(cache_shared_body_new(2 * MIB + 1) == NULL, "over 2 MiB: streamed instead");
    TAP_INT_EQ((long long)whole_bodies_available(), 32, "64 MiB of whole bodies in all");
    TAP_INT_EQ((long long)whole_bodies_available(), 32, "released bodies give the budget back");
}

static struct cache_entry shared_entry;

static void *reader(void *arg)
{
    long ok = 1;
    char c = (char)(long)arg;
    for (int i = 0; i < 20000; i++) {
        struct cache_shared_body *b = cache_shared_body_get(&shared_entry);
        if (!b) {
            b = filled(64, c);
            if (!b)
                return (void *)0;
            b = cache_shared_body_publish(&shared_entry, b);
        }
        /* whoever published it, a body is whole and stays put while held */
        for (size_t j = 1; j < b->len; j++)
            ok &= b->bytes[j] == b->bytes[0];
        cache_shared_body_release(&shared_entry, b);
    }
    return (void *)ok;
}

static void threads(void)
{
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reader, (void *)('a' + i));
    long ok = 1;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok &= (long)r;
    }
    TAP_OK(ok, "4 threads x 20,000 hits: every body whole while held");
    TAP_OK(shared_entry.shared == NULL, "nothing left on the entry afterwards");
    TAP_INT_EQ((long long)whole_bodies_available(), 32, "the whole budget is free again");
}

int main(void)
{
    one_body_per_entry();
    bounds();
    threads();
    return tap_done();
}
