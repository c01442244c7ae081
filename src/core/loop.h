/* The per-worker event loop: edge-triggered epoll, a timer heap with `now`
 * cached once per pass, deferred callbacks that run after all I/O callbacks
 * of a pass (so closing never frees memory a later callback of the same pass
 * still uses), and an eventfd other threads use to wake the loop.
 *
 * Each file descriptor is registered once for both directions
 * (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET): no epoll_ctl per request; the
 * owner remembers readiness itself.
 */
#ifndef RPXY_CORE_LOOP_H
#define RPXY_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;

typedef void (*loop_io_cb)(struct loop *loop, struct loop_io *io, uint32_t events);
typedef void (*loop_timer_cb)(struct loop *loop, struct loop_timer *t);

/* Embedded in the owner's struct; the owner is found with container_of. */
struct loop_io {
    int fd;
    loop_io_cb cb;
    uint32_t events; /* registered epoll events */
};

struct loop_timer {
    uint64_t deadline_ms;
    size_t heap_index; /* 0 = not armed */
    loop_timer_cb cb;
};

struct loop_deferred {
    struct loop_deferred *next;
    void (*cb)(struct loop *loop, struct loop_deferred *d);
    bool queued;
};

/* Creates a loop (epoll + eventfd). Returns NULL on failure (errno set). */
struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Registers fd edge-triggered for input, and for output when want_out. Write
 * readiness is reported only while asked for (loop_want_out), so that every
 * ACK does not wake the loop: the owner writes until EAGAIN, then asks.
 * Returns 0 or -1. */
int loop_add(struct loop *loop, struct loop_io *io, int fd, loop_io_cb cb, bool want_out);

/* Starts or stops reporting write readiness (one epoll_ctl when it changes). */
void loop_want_out(struct loop *loop, struct loop_io *io, bool on);
/* Registers a listening socket or eventfd: level-triggered, input only. */
int loop_add_level(struct loop *loop, struct loop_io *io, int fd, loop_io_cb cb);
/* Removes fd from the loop (before close). Events already collected for it in
 * this pass are dropped. */
void loop_del(struct loop *loop, struct loop_io *io);
/* Closes the fd and forgets it. Closing a socket's only descriptor takes it
 * out of the epoll set, so this saves loop_del's epoll_ctl per connection;
 * events already collected for it in this pass are dropped. */
void loop_close(struct loop *loop, struct loop_io *io);

/* Arms (or re-arms) t to fire after ms milliseconds from the cached now. */
void loop_timer_set(struct loop *loop, struct loop_timer *t, uint64_t ms, loop_timer_cb cb);
void loop_timer_cancel(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
    return t->heap_index != 0;
}

/* Queues d to run after the I/O callbacks of this pass (once per queueing);
 * queued from a deferred callback, it runs at the end of the next pass. */
void loop_defer(struct loop *loop, struct loop_deferred *d,
                void (*cb)(struct loop *loop, struct loop_deferred *d));

/* Runs queued deferred callbacks now (after the loop stopped). */
void loop_run_deferred(struct loop *loop);

/* Milliseconds of CLOCK_MONOTONIC, cached at the start of each pass. */
uint64_t loop_now_ms(const struct loop *loop);
/* Wall-clock seconds, cached likewise. */
int64_t loop_wall_s(const struct loop *loop);

/* Called once per pass before waiting (flush logs, apply pending work). */
void loop_set_before_wait(struct loop *loop, void (*cb)(struct loop *loop, void *arg), void *arg);
/* Called when another thread woke the loop with loop_wake(). */
void loop_set_on_wake(struct loop *loop, void (*cb)(struct loop *loop, void *arg), void *arg);

/* Thread-safe: makes the loop's next (or current) wait return. */
void loop_wake(struct loop *loop);

/* Runs passes until loop_stop() (called before or during the run). Returns 0. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
