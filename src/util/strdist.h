/* Edit distance, for did-you-mean hints. */
#ifndef RPXY_UTIL_STRDIST_H
#define RPXY_UTIL_STRDIST_H

#include <stddef.h>

/* Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), case-sensitive; strings longer than 64 bytes return a
 * large number. */
size_t strdist(const char *a, const char *b);

/* The candidate closest to word, or NULL when none is close enough to be a
 * plausible typo (distance <= 2, or <= 1 for words of up to 4 bytes). */
const char *strdist_suggest(const char *word, const char *const *candidates, size_t n);

#endif
