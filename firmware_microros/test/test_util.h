/*
 * test_util.h - a minimal assertion harness for the host tests (C99, stdio only).
 */
#ifndef AGN_TEST_UTIL_H
#define AGN_TEST_UTIL_H

#include <stdio.h>

static int g_checks;
static int g_failures;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        g_checks++;                                                                     \
        if (!(cond)) {                                                                  \
            g_failures++;                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                               \
    } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        long long va_ = (long long)(a);                                                 \
        long long vb_ = (long long)(b);                                                 \
        g_checks++;                                                                     \
        if (va_ != vb_) {                                                               \
            g_failures++;                                                               \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
                    #a, va_, #b, vb_);                                                  \
        }                                                                               \
    } while (0)

#define RUN(test)                                                                       \
    do {                                                                                \
        int before_ = g_failures;                                                       \
        test();                                                                         \
        printf("%-36s %s\n", #test, g_failures == before_ ? "ok" : "FAILED");           \
    } while (0)

static inline int test_summary(const char *suite)
{
    printf("%s: %d checks, %d failures\n", suite, g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

/* Deterministic pseudo-random numbers (xorshift32). */
static unsigned int g_rng = 2463534242u;

static inline unsigned int rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

/* Uniform integer in [lo, hi]. */
static inline int rnd_range(int lo, int hi)
{
    return lo + (int)(rnd() % (unsigned int)(hi - lo + 1));
}

#endif /* AGN_TEST_UTIL_H */
