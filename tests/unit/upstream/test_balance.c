/* Load balancing (SPEC 7): every algorithm with and without health holes,
 * the all-unhealthy fallbacks, and round robin shared by several threads. */
#include <pthread.h>
#include <string.h>

#include "../tap.h"
#include "config/config.h"
#include "upstream/balance.h"

/* n picks written as digits, e.g. "0120". */
static const char *picks(struct lb_group *g, struct lb_rng *rng, size_t n)
{
    static char buf[64];
    for (size_t i = 0; i < n && i < sizeof(buf) - 1; i++)
        buf[i] = (char)('0' + lb_pick(g, rng));
    buf[n < sizeof(buf) - 1 ? n : sizeof(buf) - 1] = '\0';
    return buf;
}

static void test_round_robin(void)
{
    struct lb_group *g = lb_group_new(CFG_LB_ROUND_ROBIN, 3);
    TAP_OK(g != NULL, "group created");
    TAP_INT_EQ(lb_group_size(g), 3, "size");
    TAP_INT_EQ(lb_healthy_count(g), 3, "all healthy at start");
    TAP_STR_EQ(picks(g, NULL, 7), "0120120", "round robin starts at 0 and cycles");
    lb_group_free(g);

    g = lb_group_new(CFG_LB_ROUND_ROBIN, 3);
    lb_set_healthy(g, 1, false);
    TAP_OK(!lb_is_healthy(g, 1) && lb_is_healthy(g, 0), "health flags");
    TAP_INT_EQ(lb_healthy_count(g), 2, "two healthy");
    /* c = 0..5, h = 2: the (c mod 2)-th healthy of {0, 2}. */
    TAP_STR_EQ(picks(g, NULL, 6), "020202", "hole at 1 skipped");
    lb_set_healthy(g, 1, true);
    /* c = 6, 7, 8 -> 0, 1, 2 */
    TAP_STR_EQ(picks(g, NULL, 3), "012", "back to all three, counter continues");
    lb_set_healthy(g, 0, false);
    lb_set_healthy(g, 0, false); /* repeated: counted once */
    TAP_INT_EQ(lb_healthy_count(g), 2, "repeated unhealthy counted once");
    /* c = 9, 10, 11, h = 2 over {1, 2}: 9%2=1 -> 2, 0 -> 1, 1 -> 2 */
    TAP_STR_EQ(picks(g, NULL, 3), "212", "hole at 0 skipped");
    lb_set_healthy(g, 1, false);
    lb_set_healthy(g, 2, false);
    TAP_INT_EQ(lb_healthy_count(g), 0, "none healthy");
    /* c = 12, 13, 14 -> c mod 3 */
    TAP_STR_EQ(picks(g, NULL, 3), "012", "none healthy: c mod n");
    lb_set_healthy(g, 2, true);
    TAP_STR_EQ(picks(g, NULL, 3), "222", "single healthy takes everything");
    lb_set_healthy(g, 0, true);
    lb_set_healthy(g, 1, true);
    lb_set_healthy(g, 2, true);
    TAP_INT_EQ(lb_healthy_count(g), 3, "all healthy again");
    lb_group_free(g);

    g = lb_group_new(CFG_LB_STICKY, 2);
    TAP_STR_EQ(picks(g, NULL, 4), "0101", "sticky assigns by round robin");
    lb_set_healthy(g, 0, false);
    TAP_STR_EQ(picks(g, NULL, 2), "11", "sticky: healthy only");
    lb_group_free(g);
}

static void test_none_primary_backup(void)
{
    struct lb_group *g = lb_group_new(CFG_LB_NONE, 3);
    TAP_STR_EQ(picks(g, NULL, 3), "000", "none: always 0");
    lb_set_healthy(g, 0, false);
    TAP_STR_EQ(picks(g, NULL, 3), "111", "none: first healthy");
    lb_set_healthy(g, 1, false);
    TAP_STR_EQ(picks(g, NULL, 2), "22", "none: first healthy, 2");
    lb_set_healthy(g, 2, false);
    TAP_STR_EQ(picks(g, NULL, 2), "00", "none: none healthy -> 0");
    lb_group_free(g);

    g = lb_group_new(CFG_LB_PRIMARY_BACKUP, 3);
    TAP_STR_EQ(picks(g, NULL, 3), "000", "primary_backup: the primary");
    lb_set_healthy(g, 0, false);
    TAP_STR_EQ(picks(g, NULL, 3), "111", "primary down: first backup");
    lb_set_healthy(g, 1, false);
    TAP_STR_EQ(picks(g, NULL, 3), "222", "second backup");
    lb_set_healthy(g, 0, true);
    TAP_STR_EQ(picks(g, NULL, 3), "000", "primary back: lowest healthy index");
    lb_set_healthy(g, 0, false);
    lb_set_healthy(g, 2, false);
    TAP_STR_EQ(picks(g, NULL, 3), "000", "none healthy -> 0");
    lb_group_free(g);
}

static void test_random(void)
{
    struct lb_rng rng;
    lb_rng_seed(&rng, 42);
    struct lb_group *g = lb_group_new(CFG_LB_RANDOM, 5);
    size_t seen[5] = { 0 };
    for (int i = 0; i < 5000; i++)
        seen[lb_pick(g, &rng)]++;
    int all = 1, balanced = 1;
    for (int i = 0; i < 5; i++) {
        all &= seen[i] > 0;
        balanced &= seen[i] > 800 && seen[i] < 1200; /* expected 1000 each */
    }
    TAP_OK(all, "random: every index seen");
    TAP_OK(balanced, "random: roughly uniform");

    lb_set_healthy(g, 1, false);
    lb_set_healthy(g, 3, false);
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 3000; i++)
        seen[lb_pick(g, &rng)]++;
    TAP_OK(seen[0] && seen[2] && seen[4], "random: every healthy index seen");
    TAP_OK(!seen[1] && !seen[3], "random: unhealthy never chosen");

    for (size_t i = 0; i < 5; i++)
        lb_set_healthy(g, i, false);
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 3000; i++)
        seen[lb_pick(g, &rng)]++;
    TAP_OK(seen[0] && seen[1] && seen[2] && seen[3] && seen[4],
           "random: none healthy -> uniform over all");
    lb_group_free(g);

    struct lb_rng a, b;
    lb_rng_seed(&a, 7);
    lb_rng_seed(&b, 7);
    int same = 1;
    for (int i = 0; i < 10; i++)
        same &= lb_rng_next(&a) == lb_rng_next(&b);
    TAP_OK(same, "rng: same seed, same sequence");
    lb_rng_seed_auto(&a);
    lb_rng_seed_auto(&b);
    TAP_OK(lb_rng_next(&a) != lb_rng_next(&b), "rng: auto seeds differ");
}

static void test_creation(void)
{
    TAP_OK(lb_group_new(CFG_LB_ROUND_ROBIN, 0) == NULL, "no upstreams: NULL");
    lb_group_free(NULL);

    const char *text = "listen_port = 80\n"
                       "[apps.a]\nserver_name = \"a.test\"\n"
                       "[[apps.a.reverse_proxy]]\n"
                       "upstream = [{ location = \"x\" }, { location = \"y\" }, "
                       "{ location = \"z\" }]\n"
                       "load_balance = \"round_robin\"\n";
    struct cfg_diags d;
    memset(&d, 0, sizeof(d));
    struct cfg *c = cfg_load_text("t.toml", text, strlen(text), &d);
    cfg_diags_free(&d);
    TAP_OK(c != NULL, "config loads");
    if (!c)
        return;
    struct lb_group *g = lb_group_for_route(&c->apps[0].routes[0]);
    TAP_INT_EQ(g ? lb_group_size(g) : 0, 3, "group from a route: three upstreams");
    TAP_STR_EQ(g ? picks(g, NULL, 4) : "", "0120", "group from a route: round robin");
    TAP_OK(g && !lb_is_healthy(g, 3), "out of range index is not healthy");
    if (g)
        lb_set_healthy(g, 3, false); /* ignored */
    TAP_INT_EQ(g ? lb_healthy_count(g) : 0, 3, "out of range set ignored");
    lb_group_free(g);
    cfg_free(c);
}

#define N_THREADS 4
#define N_PICKS 10000
#define N_UPSTREAMS 5

struct worker {
    pthread_t tid;
    struct lb_group *g;
    size_t counts[N_UPSTREAMS];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < N_PICKS; i++)
        w->counts[lb_pick(w->g, NULL)]++;
    return NULL;
}

static void test_threads(void)
{
    struct lb_group *g = lb_group_new(CFG_LB_ROUND_ROBIN, N_UPSTREAMS);
    struct worker w[N_THREADS];
    memset(w, 0, sizeof(w));
    int started = 1;
    for (int i = 0; i < N_THREADS; i++) {
        w[i].g = g;
        started &= pthread_create(&w[i].tid, NULL, worker_main, &w[i]) == 0;
    }
    TAP_OK(started, "threads started");
    size_t total[N_UPSTREAMS] = { 0 };
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(w[i].tid, NULL);
        for (int j = 0; j < N_UPSTREAMS; j++)
            total[j] += w[i].counts[j];
    }
    int exact = 1;
    for (int j = 0; j < N_UPSTREAMS; j++)
        exact &= total[j] == N_THREADS * N_PICKS / N_UPSTREAMS;
    TAP_OK(exact, "4 threads x 10000 picks: each index exactly total/n times");
    lb_group_free(g);
}

int main(void)
{
    test_round_robin();
    test_none_primary_backup();
    test_random();
    test_creation();
    test_threads();
    return tap_done();
}
