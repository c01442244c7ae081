/* Strict UTF-8: shortest forms only, no surrogates, nothing above U+10FFFF
 * (the rule of Rust's String::from_utf8, which rpxy applies). */
#ifndef RPXY_UTIL_UTF8_H
#define RPXY_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid sequence starting at s[0] (n >= 1 bytes available):
 * 1 for ASCII, 2-4 for a multi-byte sequence, 0 when invalid or cut short. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Whether all n bytes at s are valid UTF-8. */
bool utf8_valid(const void *s, size_t n);

#endif
