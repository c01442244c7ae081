/* Optimal string alignment distance and did-you-mean suggestions. */
#include "util/strdist.h"

#include <stdint.h>
#include <string.h>

#define STRDIST_MAX_LEN 64

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

size_t strdist(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > STRDIST_MAX_LEN || lb > STRDIST_MAX_LEN)
        return SIZE_MAX;

    /* Three rolling rows of the DP table: i-2, i-1 and i. */
    size_t rows[3][STRDIST_MAX_LEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t d = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *strdist_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t limit = strlen(word) <= 4 ? 1 : 2, best_d = SIZE_MAX;
    const char *best = NULL;

    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = strdist(word, candidates[i]);
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}
