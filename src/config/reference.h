/* docs/config.md, generated from the key table of schema.c. */
#ifndef RPXY_CONFIG_REFERENCE_H
#define RPXY_CONFIG_REFERENCE_H

#include <stdio.h>

void cfg_print_reference(FILE *out);

#endif
