/* Whether two TOML documents say the same thing: same keys with equal
 * values at every level, whatever the key order, comments, whitespace,
 * quoting or table syntax ([a] vs a = { }). Arrays compare in order. */
#ifndef RPXY_CONFIG_TOML_EQUAL_H
#define RPXY_CONFIG_TOML_EQUAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/toml.h"

bool toml_table_equal(const struct toml_table *a, const struct toml_table *b);

/* Parses both texts; false when either does not parse. */
bool toml_text_equal(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
