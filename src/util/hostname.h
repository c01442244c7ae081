/* Host name validation as rpxy applies it to `server_name`. */
#ifndef RPXY_UTIL_HOSTNAME_H
#define RPXY_UTIL_HOSTNAME_H

#include <stddef.h>

/* Checks s: 1-253 bytes, ASCII, dot-separated labels of 1-63 characters,
 * each starting and ending with a letter or digit and containing only
 * letters, digits and '-'. IPv4 literals pass; '*', '_', a trailing dot and
 * IPv6 literals fail. Returns NULL when valid, else the reason, one of:
 *   "must be 1-253 characters long"
 *   "must be ASCII (use punycode for internationalized names)"
 *   "each label must be 1-63 characters long"
 *   "label must start and end with an alphanumeric character"
 *   "label may contain only alphanumerics and '-'"                        */
const char *hostname_check(const char *s, size_t len);

#endif
