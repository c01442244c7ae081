/* The `--check` summary: listeners, apps, routes and upstreams of a snapshot. */
#ifndef RPXY_CONFIG_SUMMARY_H
#define RPXY_CONFIG_SUMMARY_H

#include <stdio.h>

#include "config/config.h"

void cfg_print_summary(const struct cfg *cfg, FILE *out);

#endif
