/* Passive health (issue 14): the state machine of upstream/passive.c with
 * explicit times, and the balancer skipping upstreams marked down, failing
 * over in each algorithm's order and answering LB_NONE when all are down. */
#include <string.h>

#include "../tap.h"
#include "config/config.h"
#include "upstream/balance.h"
#include "upstream/passive.h"

static void init(struct passive *p)
{
    atomic_init(&p->fails, 0);
    atomic_init(&p->down_until_ms, 0);
}

static void test_machine(void)
{
    struct passive p;
    init(&p);
    TAP_OK(passive_available(&p, 0) && !passive_is_down(&p), "starts up");
    TAP_INT_EQ(passive_failed(&p, 2, 1000, 500), 0, "one failure of two: still up");
    TAP_OK(!passive_is_down(&p), "up after one failure");
    TAP_INT_EQ(passive_succeeded(&p), 0, "a success of an up upstream changes nothing");
    TAP_INT_EQ(passive_failed(&p, 2, 1000, 500), 0, "the count restarted after the success");
    TAP_INT_EQ(passive_failed(&p, 2, 1100, 500), 1, "second failure in a row: now down");
    TAP_OK(passive_is_down(&p) && !passive_available(&p, 1599), "down during the cool-off");
    TAP_OK(!passive_claim(&p, 1599, 100), "no claim during the cool-off");
    TAP_OK(passive_available(&p, 1600), "cool-off over at 1600");
    TAP_OK(passive_claim(&p, 1600, 100), "the first request claims the probe");
    TAP_OK(!passive_claim(&p, 1650, 100), "a second request does not probe meanwhile");
    TAP_OK(passive_claim(&p, 1700, 100), "a probe that never reports lapses after its budget");
    TAP_INT_EQ(passive_failed(&p, 2, 1710, 500), 0, "a failed probe is no new transition");
    TAP_OK(!passive_available(&p, 2209) && passive_available(&p, 2210), "new cool-off from 1710");
    TAP_INT_EQ(passive_succeeded(&p), 1, "a success brings it up");
    TAP_OK(!passive_is_down(&p) && atomic_load(&p.fails) == 0, "up, count cleared");

    init(&p);
    for (int i = 0; i < 5; i++)
        TAP_INT_EQ(passive_failed(&p, 0, 0, 500), 0, "max_fails 0: never down");
    TAP_OK(!passive_is_down(&p), "max_fails 0 keeps it up");
    TAP_INT_EQ(passive_failed(&p, 1, 0, PASSIVE_FOREVER), 1, "with an active check: down");
    TAP_OK(!passive_available(&p, INT64_MAX - 1), "... until the active check clears it");
    TAP_INT_EQ(passive_succeeded(&p), 1, "the active check's success clears it");
}

static void test_balancer(void)
{
    struct lb_group *g = lb_group_new(CFG_LB_ROUND_ROBIN, 3);
    lb_group_set_passive(g, 1, 60000, 1000, false);
    TAP_OK(lb_connect_failed(g, 1), "one failure marks upstream 1 down");
    TAP_OK(!lb_connect_failed(g, 1), "already down: no second transition");
    TAP_OK(!lb_is_healthy(g, 1) && lb_healthy_count(g) == 2, "counted as not healthy");
    char seq[7] = { 0 };
    for (int i = 0; i < 6; i++)
        seq[i] = (char)('0' + lb_pick(g, NULL));
    TAP_STR_EQ(seq, "020202", "round robin skips the upstream marked down");
    TAP_INT_EQ(lb_next(g, 1u << 0, 0, NULL), 2, "failover after 0 goes to 2, not 1");
    TAP_INT_EQ(lb_next(g, (1u << 0) | (1u << 2), 2, NULL), LB_NONE(g), "nothing left");
    TAP_INT_EQ(lb_untried(g, 1u << 0), 1, "one untried upstream left");
    TAP_OK(lb_connect_failed(g, 0) && lb_connect_failed(g, 2), "the others go down too");
    TAP_INT_EQ(lb_pick(g, NULL), LB_NONE(g), "all down: no upstream (502 at once)");
    TAP_OK(lb_connect_ok(g, 2), "a success brings 2 back");
    TAP_INT_EQ(lb_pick(g, NULL), 2, "and it is picked");
    lb_group_free(g);

    g = lb_group_new(CFG_LB_PRIMARY_BACKUP, 2);
    lb_group_set_passive(g, 1, 60000, 1000, true);
    TAP_INT_EQ(lb_next(g, 1u << 0, 0, NULL), 1, "primary_backup: the backup after the primary");
    lb_connect_failed(g, 0);
    TAP_INT_EQ(lb_pick(g, NULL), 1, "primary marked down: the backup");
    TAP_OK(!lb_take(g, 0), "sticky cannot keep an upstream marked down");
    lb_group_free(g);

    g = lb_group_new(CFG_LB_NONE, 1);
    lb_group_set_passive(g, 1, 60000, 1000, false);
    TAP_OK(!lb_connect_failed(g, 0) && lb_pick(g, NULL) == 0,
           "a single upstream is never marked down");
    lb_group_free(g);
}

int main(void)
{
    test_machine();
    test_balancer();
    return tap_done();
}
