/* The configuration reference, generated from the key table of schema.c:
 * docs/config.md (Markdown) and rpxy.toml(5) (a man page). */
#ifndef RPXY_CONFIG_REFERENCE_H
#define RPXY_CONFIG_REFERENCE_H

#include <stdio.h>

struct cfg_key;

/* The text before the key tables (Markdown, see util/roff.h for the subset). */
extern const char cfg_reference_intro[];

/* docs/config.md. */
void cfg_print_reference(FILE *out);

/* rpxy.toml(5), man(7) source. */
void cfg_print_man(FILE *out);

/* A key's type and default as the reference shows them (Markdown). */
void cfg_print_key_type(const struct cfg_key *k, FILE *out);
void cfg_print_key_default(const struct cfg_key *k, FILE *out);

/* " *(ours)*", " *(deprecated)*", " *(removed)*" or "". */
const char *cfg_key_mark(const struct cfg_key *k);

#endif
