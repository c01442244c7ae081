/* Running the proxy: start-up, workers, signals (SIGHUP reload, SIGUSR1 log
 * reopen, SIGTERM/SIGINT graceful shutdown), config file watching, systemd
 * notifications (service/) and the admin listener (admin/). */
#ifndef RPXY_SUPERVISOR_H
#define RPXY_SUPERVISOR_H

#include "cli.h"

/* Serves until shut down. Returns the process exit status. */
int supervisor_run(const struct cli_options *o);

#endif
