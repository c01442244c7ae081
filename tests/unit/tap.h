/* A tiny TAP harness for the unit tests: one executable per source file,
 * each check prints "ok N - what" or "not ok N - what", and tap_done()
 * prints the plan and returns the exit status (0 only if every check passed).
 *
 *   int main(void) {
 *       TAP_OK(1 + 1 == 2, "addition");
 *       TAP_STR_EQ(got, "want", "rendering");
 *       return tap_done();
 *   }
 */
#ifndef RPXY_TESTS_TAP_H
#define RPXY_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static void tap_report(int pass, const char *file, int line, const char *what)
{
    tap_count++;
    if (!pass)
        tap_failed++;
    printf("%sok %d - %s\n", pass ? "" : "not ", tap_count, what);
    if (!pass)
        printf("#   failed at %s:%d\n", file, line);
}

#define TAP_OK(cond, what) tap_report(!!(cond), __FILE__, __LINE__, (what))

#define TAP_INT_EQ(got, want, what)                                                                \
    do {                                                                                           \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                           \
        tap_report(tap_g_ == tap_w_, __FILE__, __LINE__, (what));                                  \
        if (tap_g_ != tap_w_)                                                                      \
            printf("#   got %lld, want %lld\n", tap_g_, tap_w_);                                   \
    } while (0)

#define TAP_STR_EQ(got, want, what)                                                                \
    do {                                                                                           \
        const char *tap_g_ = (got), *tap_w_ = (want);                                              \
        int tap_p_ = tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0;                              \
        tap_report(tap_p_, __FILE__, __LINE__, (what));                                            \
        if (!tap_p_)                                                                               \
            printf("#   got  \"%s\"\n#   want \"%s\"\n", tap_g_ ? tap_g_ : "(null)",               \
                   tap_w_ ? tap_w_ : "(null)");                                                    \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    if (tap_failed)
        printf("# %d of %d checks failed\n", tap_failed, tap_count);
    return tap_failed ? 1 : 0;
}

#endif
