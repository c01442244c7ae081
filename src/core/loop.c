#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct loop {
    int epfd;
    struct loop_io wake_io;
    uint64_t now_ms;
    int64_t wall_s;
    bool stopping;

    struct loop_timer **heap; /* 1-based binary min-heap on deadline */
    size_t heap_n, heap_cap;

    struct loop_deferred *deferred_head, **deferred_tail;

    void (*before_wait)(struct loop *, void *);
    void *before_wait_arg;
    void (*on_wake)(struct loop *, void *);
    void *on_wake_arg;
};

static void update_now(struct loop *loop)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    loop->wall_s = ts.tv_sec;
}

static void on_wake_event(struct loop *loop, struct loop_io *io, uint32_t events)
{
    uint64_t v;
    while (read(io->fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
    if (loop->on_wake)
        loop->on_wake(loop, loop->on_wake_arg);
}

struct loop *loop_new(void)
{
    struct loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    int wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loop->heap_cap = 64;
    loop->heap = malloc((loop->heap_cap + 1) * sizeof(*loop->heap));
    loop->deferred_tail = &loop->deferred_head;
    if (loop->epfd < 0 || wfd < 0 || !loop->heap ||
        loop_add_level(loop, &loop->wake_io, wfd, on_wake_event) < 0) {
        int saved = errno;
        if (wfd >= 0)
            close(wfd);
        if (loop->epfd >= 0)
            close(loop->epfd);
        free(loop->heap);
        free(loop);
        errno = saved;
        return NULL;
    }
    update_now(loop);
    return loop;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    close(loop->wake_io.fd);
    close(loop->epfd);
    free(loop->heap);
    free(loop);
}

static int add(struct loop *loop, struct loop_io *io, int fd, loop_io_cb cb, uint32_t events)
{
    io->fd = fd;
    io->cb = cb;
    io->events = events;
    struct epoll_event ev = { .events = events, .data.ptr = io };
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int loop_add(struct loop *loop, struct loop_io *io, int fd, loop_io_cb cb, bool want_out)
{
    return add(loop, io, fd, cb, EPOLLIN | EPOLLRDHUP | EPOLLET | (want_out ? EPOLLOUT : 0));
}

void loop_want_out(struct loop *loop, struct loop_io *io, bool on)
{
    uint32_t events = on ? io->events | EPOLLOUT : io->events & ~(uint32_t)EPOLLOUT;
    if (events == io->events || io->fd < 0)
        return;
    io->events = events;
    struct epoll_event ev = { .events = events, .data.ptr = io };
    epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

int loop_add_level(struct loop *loop, struct loop_io *io, int fd, loop_io_cb cb)
{
    return add(loop, io, fd, cb, EPOLLIN);
}

void loop_del(struct loop *loop, struct loop_io *io)
{
    if (io->fd >= 0)
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->fd = -1;
}

void loop_close(struct loop *loop, struct loop_io *io)
{
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
}

/* ---- timers ---- */

static void heap_place(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 1 && loop->heap[i / 2]->deadline_ms > t->deadline_ms) {
        heap_place(loop, i, loop->heap[i / 2]);
        i /= 2;
    }
    heap_place(loop, i, t);
}

static void sift_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t c = i * 2;
        if (c > loop->heap_n)
            break;
        if (c + 1 <= loop->heap_n && loop->heap[c + 1]->deadline_ms < loop->heap[c]->deadline_ms)
            c++;
        if (loop->heap[c]->deadline_ms >= t->deadline_ms)
            break;
        heap_place(loop, i, loop->heap[c]);
        i = c;
    }
    heap_place(loop, i, t);
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *t)
{
    size_t i = t->heap_index;
    if (!i)
        return;
    t->heap_index = 0;
    struct loop_timer *last = loop->heap[loop->heap_n--];
    if (last == t)
        return;
    heap_place(loop, i, last);
    sift_up(loop, i);
    sift_down(loop, last->heap_index);
}

void loop_timer_set(struct loop *loop, struct loop_timer *t, uint64_t ms, loop_timer_cb cb)
{
    t->cb = cb;
    uint64_t deadline = loop->now_ms + ms;
    if (t->heap_index) {
        uint64_t old = t->deadline_ms;
        t->deadline_ms = deadline;
        if (deadline < old)
            sift_up(loop, t->heap_index);
        else if (deadline > old)
            sift_down(loop, t->heap_index);
        return;
    }
    if (loop->heap_n == loop->heap_cap) {
        size_t cap = loop->heap_cap * 2;
        struct loop_timer **h = realloc(loop->heap, (cap + 1) * sizeof(*h));
        if (!h)
            abort(); /* a lost timer would hang a connection forever */
        loop->heap = h;
        loop->heap_cap = cap;
    }
    t->deadline_ms = deadline;
    loop->heap_n++;
    heap_place(loop, loop->heap_n, t);
    sift_up(loop, loop->heap_n);
}

static void run_timers(struct loop *loop)
{
    while (loop->heap_n && loop->heap[1]->deadline_ms <= loop->now_ms) {
        struct loop_timer *t = loop->heap[1];
        loop_timer_cancel(loop, t);
        t->cb(loop, t);
    }
}

static int next_timeout(const struct loop *loop)
{
    if (loop->deferred_head)
        return 0;
    if (!loop->heap_n)
        return 1000;
    uint64_t d = loop->heap[1]->deadline_ms;
    if (d <= loop->now_ms)
        return 0;
    uint64_t wait = d - loop->now_ms;
    return wait > 1000 ? 1000 : (int)wait;
}

/* ---- deferred ---- */

void loop_defer(struct loop *loop, struct loop_deferred *d,
                void (*cb)(struct loop *loop, struct loop_deferred *d))
{
    if (d->queued)
        return;
    d->queued = true;
    d->cb = cb;
    d->next = NULL;
    *loop->deferred_tail = d;
    loop->deferred_tail = &d->next;
}

/* Runs what was queued before this call; what the callbacks queue waits
 * for the next pass (which then does not block), so a callback that keeps
 * queueing itself cannot keep the loop from epoll and its timers. */
static void run_deferred(struct loop *loop)
{
    struct loop_deferred *d = loop->deferred_head;
    loop->deferred_head = NULL;
    loop->deferred_tail = &loop->deferred_head;
    while (d) {
        struct loop_deferred *next = d->next; /* d may be freed by its callback */
        d->queued = false;
        d->cb(loop, d);
        d = next;
    }
}

void loop_run_deferred(struct loop *loop)
{
    while (loop->deferred_head)
        run_deferred(loop);
}

/* ---- running ---- */

uint64_t loop_now_ms(const struct loop *loop)
{
    return loop->now_ms;
}

int64_t loop_wall_s(const struct loop *loop)
{
    return loop->wall_s;
}

void loop_set_before_wait(struct loop *loop, void (*cb)(struct loop *loop, void *arg), void *arg)
{
    loop->before_wait = cb;
    loop->before_wait_arg = arg;
}

void loop_set_on_wake(struct loop *loop, void (*cb)(struct loop *loop, void *arg), void *arg)
{
    loop->on_wake = cb;
    loop->on_wake_arg = arg;
}

void loop_wake(struct loop *loop)
{
    uint64_t one = 1;
    while (write(loop->wake_io.fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

void loop_stop(struct loop *loop)
{
    loop->stopping = true;
}

int loop_run(struct loop *loop)
{
    struct epoll_event events[LOOP_MAX_EVENTS];
    while (!loop->stopping) {
        if (loop->before_wait)
            loop->before_wait(loop, loop->before_wait_arg);
        int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, next_timeout(loop));
        update_now(loop);
        for (int i = 0; i < n; i++) {
            struct loop_io *io = events[i].data.ptr;
            if (io->fd >= 0)
                io->cb(loop, io, events[i].events);
        }
        run_timers(loop);
        run_deferred(loop);
    }
    loop->stopping = false; /* a later loop_run runs again */
    return 0;
}
