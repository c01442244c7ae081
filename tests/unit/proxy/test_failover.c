/* Failover (issue 14): the order of attempts over the addresses and
 * upstreams of a route, counted once per upstream by passive health, and
 * the rotation of first addresses. The upstream client is a stand-in whose
 * connects fail or succeed as the test says (no sockets: proxy/failover.c
 * decides, the integration tests connect). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "../tap.h"
#include "config/config.h"
#include "core/worker.h"
#include "proxy/exchange.h"
#include "proxy/failover.h"
#include "proxy/router.h"
#include "proxy/runtime.h"
#include "upstream/balance.h"
#include "upstream/client.h"

#define N_UPS 3

static char attempts[64];    /* "<upstream><address>" per attach, e.g. "00 01 10" */
static const char *refusing; /* upstreams whose connects fail, as digits */

static int fake_attach(struct exchange *ex, bool fresh_only)
{
    (void)fresh_only;
    struct rt_addrs *a = atomic_load(&ex->up->addrs);
    size_t ai = failover_addr(ex, a);
    size_t used = strlen(attempts);
    if (used + 4 < sizeof(attempts))
        snprintf(attempts + used, sizeof(attempts) - used, "%s%zu%zu", used ? " " : "",
                 ex->up_index, ai);
    if (strchr(refusing, (int)('0' + ex->up_index))) {
        errno = ECONNREFUSED;
        return -1;
    }
    return 0;
}

static void fake_release(struct exchange *ex, bool reuse)
{
    (void)ex;
    (void)reuse;
}

static const struct up_client fake = { .attach = fake_attach, .release = fake_release };

static struct rt_addrs *addrs(size_t n, unsigned port)
{
    static struct rt_addrs sets[8];
    static size_t used;
    struct rt_addrs *a = &sets[used++ % 8];
    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in *s = (struct sockaddr_in *)&a->addr[i];
        s->sin_family = AF_INET;
        s->sin_port = htons((uint16_t)port);
        s->sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)i);
        a->len[i] = sizeof(*s);
    }
    a->n = n;
    return a;
}

struct fixture {
    struct cfg cfg;
    struct cfg_route cr;
    struct route route;
    struct rt_upstream ups[N_UPS];
    struct rt_route rr;
    struct runtime rt;
    struct worker w;
    struct exchange ex;
};

/* The group of the fixture before (each test sets up several). */
static struct lb_group *group;

static void setup(struct fixture *f, enum cfg_lb lb)
{
    lb_group_free(group);
    memset(f, 0, sizeof(*f));
    f->cfg.upstream_connect_timeout_s = 10;
    f->cr.load_balance = lb;
    f->route.cfg = &f->cr;
    for (size_t i = 0; i < N_UPS; i++) {
        f->ups[i].scheme = "http";
        f->ups[i].authority_len =
            (size_t)snprintf(f->ups[i].authority, sizeof(f->ups[i].authority), "u%zu", i);
        atomic_init(&f->ups[i].addrs, addrs(i == 0 ? 2 : 1, 8000 + (unsigned)i));
    }
    f->rr.route = &f->route;
    f->rr.ups = f->ups;
    f->rr.n_ups = N_UPS;
    f->rr.lb = group = lb_group_new(lb, N_UPS);
    lb_group_set_passive(f->rr.lb, 1, 60000, 1000, false);
    f->rt.cfg = &f->cfg;
    f->ex.w = &f->w;
    f->ex.rt = &f->rt;
    f->ex.route = &f->rr;
    f->ex.upc = &fake;
    attempts[0] = '\0';
}

/* Starts the exchange on upstream `first` as forward() does. Returns
 * whether an attempt is under way in the end. */
static bool run(struct fixture *f, size_t first)
{
    f->ex.up_index = first;
    f->ex.up = &f->ups[first];
    errno = 0;
    return fake.attach(&f->ex, false) == 0 || failover_connect_failed(&f->ex, NULL);
}

static void test_order(void)
{
    struct fixture f;
    setup(&f, CFG_LB_ROUND_ROBIN);
    refusing = "0";
    TAP_OK(run(&f, 0), "upstream 0 refuses: the request goes on");
    /* the first address of upstream 0 comes from the thread's rotation */
    TAP_OK(strlen(attempts) == 8 && attempts[0] == '0' && attempts[3] == '0' &&
               attempts[1] != attempts[4] && strcmp(attempts + 6, "10") == 0,
           "both addresses of upstream 0, then upstream 1");
    TAP_OK(!lb_is_healthy(f.rr.lb, 0) && lb_is_healthy(f.rr.lb, 1),
           "upstream 0 marked down once, after its last address");

    setup(&f, CFG_LB_ROUND_ROBIN);
    refusing = "01";
    TAP_OK(run(&f, 1), "round robin: after 1 comes 2");
    TAP_STR_EQ(attempts, "10 20", "upstream 2 answers");

    setup(&f, CFG_LB_PRIMARY_BACKUP);
    refusing = "12";
    TAP_OK(run(&f, 2), "primary_backup: the lowest one left");
    TAP_OK(strncmp(attempts, "20 0", 4) == 0 && strlen(attempts) == 5, "from 2 back to 0");

    setup(&f, CFG_LB_ROUND_ROBIN);
    refusing = "012";
    TAP_OK(!run(&f, 1), "every upstream refuses: no attempt left");
    TAP_OK(strncmp(attempts, "10 20 0", 7) == 0 && strlen(attempts) == 11 &&
               attempts[7] != attempts[10],
           "1, 2, then both addresses of 0: each tried once");
    TAP_OK(!lb_is_healthy(f.rr.lb, 0) && !lb_is_healthy(f.rr.lb, 1) && !lb_is_healthy(f.rr.lb, 2),
           "all marked down");
    attempts[0] = '\0';
    TAP_INT_EQ(lb_pick(f.rr.lb, NULL), LB_NONE(f.rr.lb), "the next request finds none");
}

static void test_rotation(void)
{
    struct exchange ex;
    struct rt_addrs *three = addrs(3, 9000);
    size_t seen[3] = { 0 };
    for (int i = 0; i < 30; i++) {
        memset(&ex, 0, sizeof(ex));
        seen[failover_addr(&ex, three)]++;
        TAP_OK(failover_addr(&ex, three) == ex.addr_i, "the address stays for the exchange");
    }
    TAP_OK(seen[0] == 10 && seen[1] == 10 && seen[2] == 10, "first addresses rotate evenly");
    atomic_store(&three->down_until_ms[1], INT64_MAX);
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 30; i++) {
        memset(&ex, 0, sizeof(ex));
        seen[failover_addr(&ex, three)]++;
    }
    TAP_OK(seen[1] == 0 && seen[0] + seen[2] == 30, "an address that failed lately is skipped");
    atomic_store(&three->down_until_ms[1], 1);
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 30; i++) {
        memset(&ex, 0, sizeof(ex));
        seen[failover_addr(&ex, three)]++;
    }
    TAP_INT_EQ(seen[1], 10, "and taken again once its cool-off is over");
    memset(&ex, 0, sizeof(ex));
    TAP_INT_EQ(failover_addr(&ex, addrs(1, 9001)), 0, "a single address");
}

static void test_failed_address_marked(void)
{
    struct fixture f;
    setup(&f, CFG_LB_ROUND_ROBIN);
    f.cfg.upstream_max_fails = 1;
    f.cfg.upstream_fail_timeout_s = 10;
    refusing = "0";
    TAP_OK(run(&f, 0), "upstream 0 refuses on both addresses");
    struct rt_addrs *a = atomic_load(&f.ups[0].addrs);
    TAP_OK(atomic_load(&a->down_until_ms[0]) > 0 && atomic_load(&a->down_until_ms[1]) > 0,
           "both addresses are left out of new connections for the cool-off");
    struct rt_addrs *one = atomic_load(&f.ups[1].addrs);
    TAP_OK(atomic_load(&one->down_until_ms[0]) == 0, "a single address is never marked");
}

int main(void)
{
    test_order();
    test_rotation();
    test_failed_address_marked();
    lb_group_free(group);
    return tap_done();
}
