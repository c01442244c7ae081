/* Building the listener set of a config: one socket per worker per address
 * (SO_REUSEPORT). On reload, addresses that stay are carried over (dup of the
 * old sockets, so no connection is lost) and only new ones are bound. */
#ifndef RPXY_CORE_LISTENERS_H
#define RPXY_CORE_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/server.h"

/* Returns the new set (one reference), or NULL after logging why (a bind
 * failure: at start-up the process exits; on reload the old set stays). */
struct lset *lset_build(const struct cfg *cfg, size_t n_workers, const struct lset *old,
                        bool reload);

#endif
