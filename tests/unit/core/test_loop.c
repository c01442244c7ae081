/* The event loop: timers fire in deadline order and can be re-armed or
 * cancelled, deferred callbacks run after the pass, wake-ups cross threads,
 * edge-triggered readiness is reported for both directions. */
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../tap.h"
#include "core/loop.h"

static char order[32];
static size_t n_order;

struct named_timer {
    struct loop_timer t;
    char name;
};

static void on_timer(struct loop *loop, struct loop_timer *t)
{
    struct named_timer *nt = container_of(t, struct named_timer, t);
    if (n_order < sizeof(order) - 1)
        order[n_order] = nt->name;
    n_order++;
    if (nt->name == 'z')
        loop_stop(loop);
}

static void test_timers(void)
{
    struct loop *loop = loop_new();
    TAP_OK(loop != NULL, "loop created");
    struct named_timer a = { .name = 'a' }, b = { .name = 'b' }, c = { .name = 'c' },
                       d = { .name = 'd' }, z = { .name = 'z' };
    n_order = 0;
    loop_timer_set(loop, &c.t, 30, on_timer);
    loop_timer_set(loop, &a.t, 10, on_timer);
    loop_timer_set(loop, &b.t, 20, on_timer);
    loop_timer_set(loop, &d.t, 15, on_timer);
    loop_timer_set(loop, &z.t, 60, on_timer);
    TAP_OK(loop_timer_armed(&d.t), "armed");
    loop_timer_cancel(loop, &d.t);
    TAP_OK(!loop_timer_armed(&d.t), "cancelled");
    loop_timer_set(loop, &a.t, 40, on_timer); /* re-armed later */
    loop_run(loop);
    order[n_order] = '\0';
    TAP_STR_EQ(order, "bcaz", "fired in deadline order, cancelled one never");
    loop_free(loop);
}

static void test_many_timers_heap(void)
{
    struct loop *loop = loop_new();
    static struct named_timer ts[200];
    n_order = 0;
    for (int i = 0; i < 200; i++) {
        ts[i].name = 'x';
        loop_timer_set(loop, &ts[i].t, (uint64_t)(199 - i) % 7, on_timer);
    }
    for (int i = 0; i < 200; i += 2)
        loop_timer_cancel(loop, &ts[i].t);
    struct named_timer z = { .name = 'z' };
    loop_timer_set(loop, &z.t, 20, on_timer);
    loop_run(loop);
    TAP_INT_EQ(n_order, 101, "100 remaining timers and the stopper fired");
    loop_free(loop);
}

static int deferred_ran;
static void on_deferred(struct loop *loop, struct loop_deferred *d)
{
    deferred_ran++;
    loop_stop(loop);
}

static void test_deferred(void)
{
    struct loop *loop = loop_new();
    struct loop_deferred d = { 0 };
    loop_defer(loop, &d, on_deferred);
    loop_defer(loop, &d, on_deferred); /* queued once */
    loop_run(loop);
    TAP_INT_EQ(deferred_ran, 1, "deferred ran once");
    loop_free(loop);
}

static int woken;
static void on_wake(struct loop *loop, void *arg)
{
    woken++;
    loop_stop(loop);
}

static void *waker(void *arg)
{
    usleep(20000);
    loop_wake(arg);
    return NULL;
}

static void test_wake(void)
{
    struct loop *loop = loop_new();
    loop_set_on_wake(loop, on_wake, NULL);
    pthread_t t;
    pthread_create(&t, NULL, waker, loop);
    loop_run(loop);
    pthread_join(t, NULL);
    TAP_INT_EQ(woken, 1, "woken by another thread");
    loop_free(loop);
}

struct pipe_end {
    struct loop_io io;
    uint32_t events;
};

static void on_pipe(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct pipe_end *p = container_of(io, struct pipe_end, io);
    p->events |= events;
    loop_stop(loop);
}

static void test_io(void)
{
    struct loop *loop = loop_new();
    int fds[2];
    TAP_OK(pipe(fds) == 0, "pipe");
    struct pipe_end r = { 0 }, w = { 0 };
    TAP_OK(loop_add(loop, &w.io, fds[1], on_pipe, true) == 0, "add write end");
    loop_run(loop);
    TAP_OK(w.events & EPOLLOUT, "write end reported writable");
    TAP_OK(loop_add(loop, &r.io, fds[0], on_pipe, false) == 0, "add read end");
    TAP_INT_EQ(write(fds[1], "x", 1), 1, "write a byte");
    for (int i = 0; i < 5 && !(r.events & EPOLLIN); i++)
        loop_run(loop); /* the write end may report first */
    TAP_OK(r.events & EPOLLIN, "read end reported readable");
    loop_del(loop, &r.io);
    TAP_INT_EQ(r.io.fd, -1, "removed io is marked");
    close(fds[0]);
    loop_del(loop, &w.io);
    close(fds[1]);
    loop_free(loop);
}

int main(void)
{
    test_timers();
    test_many_timers_heap();
    test_deferred();
    test_wake();
    test_io();
    return tap_done();
}
