/*
 * test_kernels.c - unit tests of every kernel in core/agilenn_kernels.c, each against a
 * direct (slow, obviously correct) evaluation of its definition and hand-computed values.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "agilenn_kernels.h"
#include "test_util.h"

/* Reference requantization, straight from the definition with exact floor divisions:
 * floor(floor(acc * M / 2^32) / 2^s + 1/2), clamped. */
static long long floor_div(long long num, long long den)
{
    long long q = num / den;
    return (q * den > num) ? q - 1 : q;
}

static long long ref_requant(long long acc, long long mult, int shift, long long lo, long long hi)
{
    long long h = floor_div(acc * mult, 1LL << 32); /* |acc * M| < 2^62 */
    long long v = floor_div(2 * h + (1LL << shift), 1LL << (shift + 1));
    return v < lo ? lo : (v > hi ? hi : v);
}

static void test_requant(void)
{
    int i;
    /* hand-computed: M = 2^30, s = 1 -> ratio 1/8 */
    CHECK_EQ(agn_requant(20, 1 << 30, 1, -100, 100), 3);     /* 2.5 -> 3 (half up) */
    CHECK_EQ(agn_requant(-20, 1 << 30, 1, -100, 100), -2);   /* -2.5 -> -2 */
    CHECK_EQ(agn_requant(-28, 1 << 30, 1, -100, 100), -3);   /* -3.5 -> -3 */
    CHECK_EQ(agn_requant(-27, 1 << 30, 1, -100, 100), -3);   /* h = floor(-6.75) = -7 -> -3 */
    CHECK_EQ(agn_requant(1000, 1 << 30, 1, -100, 100), 100);
    CHECK_EQ(agn_requant(-1000, 1 << 30, 1, -100, 100), -100);
    CHECK_EQ(agn_requant(2147483647, 2147483647, 1, -2147483647 - 1, 2147483647), 536870912);
    CHECK_EQ(agn_requant(-2147483647 - 1, 2147483647, 31, -5, 5), 0);    /* h = -2^30 */
    for (i = 0; i < 20000; i++) {
        int32_t acc = (int32_t)(rnd() ^ (rnd() << 7));
        int32_t mult = (int32_t)(rnd() & 0x7FFFFFFFu);
        int shift = rnd_range(1, 31);
        CHECK_EQ(agn_requant(acc, mult, shift, -32767, 32767),
                 ref_requant(acc, mult, shift, -32767, 32767));
    }
}

static void test_mac2(void)
{
    int i;
    for (i = 0; i < 10000; i++) {
        int16_t x[2];
        int16_t y[2];
        int32_t acc = rnd_range(-1000000, 1000000);
        x[0] = (int16_t)rnd_range(-32768, 32767);
        x[1] = (int16_t)rnd_range(-32768, 32767);
        y[0] = (int16_t)rnd_range(-16384, 16383);
        y[1] = (int16_t)rnd_range(-16384, 16383);
        CHECK_EQ(agn_mac2(agn_load_pair(x), agn_load_pair(y), acc),
                 (long long)acc + (long long)x[0] * y[0] + (long long)x[1] * y[1]);
    }
}

static void test_rgb565(void)
{
    uint8_t px[2];
    uint8_t rgb[3];
    px[0] = 0xFFu; px[1] = 0xFFu;                 /* white */
    agn_rgb565_to_rgb888(px, rgb);
    CHECK_EQ(rgb[0], 255); CHECK_EQ(rgb[1], 255); CHECK_EQ(rgb[2], 255);
    px[0] = 0x00u; px[1] = 0xF8u;                 /* pure red 0xF800 */
    agn_rgb565_to_rgb888(px, rgb);
    CHECK_EQ(rgb[0], 255); CHECK_EQ(rgb[1], 0); CHECK_EQ(rgb[2], 0);
    px[0] = 0xE0u; px[1] = 0x07u;                 /* pure green 0x07E0 */
    agn_rgb565_to_rgb888(px, rgb);
    CHECK_EQ(rgb[0], 0); CHECK_EQ(rgb[1], 255); CHECK_EQ(rgb[2], 0);
    px[0] = 0x10u; px[1] = 0x84u;                 /* 0x8410: r=16, g=32, b=16 */
    agn_rgb565_to_rgb888(px, rgb);
    CHECK_EQ(rgb[0], 132); CHECK_EQ(rgb[1], 130); CHECK_EQ(rgb[2], 132);
}

static void test_axis_plan(void)
{
    static const uint16_t sizes[][2] = {{32, 96}, {8, 24}, {96, 96}, {320, 96}, {7, 96}, {1, 5}, {45, 31}};
    agn_tap_t taps[96];
    unsigned int s;
    unsigned int d;
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint16_t src = sizes[s][0];
        uint16_t dst = sizes[s][1];
        agn_axis_plan(src, dst, taps);
        for (d = 0; d < dst; d++) {
            double pos = ((double)d + 0.5) * (double)src / (double)dst - 0.5;
            double i0;
            double w;
            if (pos < 0.0) {
                pos = 0.0;
            }
            i0 = floor(pos);
            w = pos - i0;
            if (i0 >= src - 1) {
                CHECK_EQ(taps[d].i0, src - 1);
                CHECK_EQ(taps[d].i1, src - 1);
                CHECK_EQ(taps[d].frac, 0);
            } else {
                CHECK_EQ(taps[d].i0, (int)i0);
                CHECK_EQ(taps[d].i1, (int)i0 + 1);
                CHECK(fabs(taps[d].frac - w * 32768.0) <= 0.5 + 1e-6);
            }
        }
    }
    /* 32 -> 96 (x3): weights 0, 1/3, 2/3 of a source step. */
    agn_axis_plan(32, 96, taps);
    CHECK_EQ(taps[1].i0, 0); CHECK_EQ(taps[1].frac, 0);           /* pos 0 */
    CHECK_EQ(taps[2].i0, 0); CHECK_EQ(taps[2].frac, 10923);       /* pos 1/3 */
    CHECK_EQ(taps[3].i0, 0); CHECK_EQ(taps[3].frac, 21845);       /* pos 2/3 */
    CHECK_EQ(taps[95].i0, 31); CHECK_EQ(taps[95].i1, 31);
}

static void test_hpass_vpass(void)
{
    agn_tap_t taps[4];
    uint8_t row888[4 * 3];
    uint8_t row565[4 * 2];
    int16_t out[4 * 3];
    int16_t out565[4 * 3];
    int16_t r0[6] = {0, 128, 32640, 100, 200, 300};
    int16_t r1[6] = {128, 0, 0, 300, 200, 100};
    int16_t v[6];
    int i;

    /* two source pixels -> 4 outputs: positions -0.25(->0), 0.25, 0.75, 1.25(->1) */
    agn_axis_plan(2, 4, taps);
    CHECK_EQ(taps[1].frac, 8192);
    CHECK_EQ(taps[2].frac, 24576);
    row888[0] = 0; row888[1] = 100; row888[2] = 255;
    row888[3] = 255; row888[4] = 101; row888[5] = 0;
    agn_hpass_rgb888(row888, taps, 4, out);
    CHECK_EQ(out[0], 0); CHECK_EQ(out[1], 100 * 128); CHECK_EQ(out[2], 255 * 128);
    CHECK_EQ(out[3], 8160);   /* 255 * 0.25 * 128 */
    CHECK_EQ(out[4], 12832);  /* (100 * 0.75 + 101 * 0.25) * 128 */
    CHECK_EQ(out[5], 24480);  /* 255 * 0.75 * 128 */
    CHECK_EQ(out[9], 255 * 128);
    /* RGB565 of the same colours after expansion */
    for (i = 0; i < 2; i++) {
        unsigned int r = (unsigned int)rnd_range(0, 31);
        unsigned int g = (unsigned int)rnd_range(0, 63);
        unsigned int b = (unsigned int)rnd_range(0, 31);
        unsigned int px = (r << 11) | (g << 5) | b;
        row565[2 * i] = (uint8_t)(px & 0xFFu);
        row565[2 * i + 1] = (uint8_t)(px >> 8);
        agn_rgb565_to_rgb888(row565 + 2 * i, row888 + 3 * i);
    }
    agn_hpass_rgb565(row565, taps, 4, out565);
    agn_hpass_rgb888(row888, taps, 4, out);
    CHECK(memcmp(out, out565, sizeof(out)) == 0);

    agn_vpass(r0, r1, 16384, 6, v); /* halfway */
    CHECK_EQ(v[0], 64); CHECK_EQ(v[1], 64); CHECK_EQ(v[2], 16320);
    CHECK_EQ(v[3], 200); CHECK_EQ(v[4], 200); CHECK_EQ(v[5], 200);
    agn_vpass(r0, r1, 0, 6, v);
    CHECK(memcmp(v, r0, sizeof(v)) == 0);
    agn_vpass(r0, r1, 1, 6, v); /* 1/32768 of the way: r0 + (r1 - r0) / 32768, rounded */
    CHECK_EQ(v[0], 0); CHECK_EQ(v[1], 128); CHECK_EQ(v[2], 32639); /* 32639.004 */
    CHECK_EQ(v[3], 100); CHECK_EQ(v[5], 300);
}

static void test_dw3x3(void)
{
    enum { CH = 5, W = 7 };
    int16_t rows[3][W * CH];
    int16_t w[CH * 9];
    int32_t bias[CH];
    int32_t mult[CH];
    int8_t shift[CH];
    int16_t out[CH];
    int trial;
    int c;
    int k;

    for (trial = 0; trial < 200; trial++) {
        int x0 = rnd_range(0, W - 3);
        for (k = 0; k < 3 * W * CH; k++) {
            rows[k / (W * CH)][k % (W * CH)] = (int16_t)rnd_range(-32767, 32767);
        }
        for (k = 0; k < CH * 9; k++) {
            w[k] = (int16_t)rnd_range(-2047, 2047);
        }
        for (c = 0; c < CH; c++) {
            bias[c] = rnd_range(-100000, 100000);
            mult[c] = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            shift[c] = (int8_t)rnd_range(8, 20);
        }
        agn_dw3x3_pixel(rows[0] + x0 * CH, rows[1] + x0 * CH, rows[2] + x0 * CH, CH, w,
                        (trial & 1) ? bias : 0, mult, shift, -1000, 30000, out);
        for (c = 0; c < CH; c++) {
            long long acc = (trial & 1) ? bias[c] : 0;
            int ky;
            int kx;
            for (ky = 0; ky < 3; ky++) {
                for (kx = 0; kx < 3; kx++) {
                    acc += (long long)w[c * 9 + ky * 3 + kx] * rows[ky][(x0 + kx) * CH + c];
                }
            }
            CHECK_EQ(out[c], ref_requant(acc, mult[c], shift[c], -1000, 30000));
        }
    }
}

static void check_pointwise(int IN);

static void test_pointwise(void)
{
    check_pointwise(16);
    check_pointwise(3);
    check_pointwise(1);
}

static void check_pointwise(int IN)
{
    enum { MAXIN = 16, OUT = 24 };
    int16_t in[MAXIN];
    int16_t w[OUT * MAXIN];
    int32_t bias[OUT];
    int32_t mult[OUT];
    int8_t shift[OUT];
    int32_t acc[OUT];
    int16_t out[OUT];
    int trial;
    int o;
    int c;

    for (trial = 0; trial < 200; trial++) {
        for (c = 0; c < IN; c++) {
            in[c] = (int16_t)rnd_range(-32767, 32767);
        }
        for (c = 0; c < IN * OUT; c++) {
            w[c] = (int16_t)rnd_range(-2047, 2047);
        }
        for (o = 0; o < OUT; o++) {
            bias[o] = rnd_range(-1000000, 1000000);
            mult[o] = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            shift[o] = (int8_t)rnd_range(8, 20);
        }
        agn_pw_acc(in, (uint16_t)IN, w, bias, OUT, acc);
        agn_pw_pixel(in, (uint16_t)IN, w, bias, OUT, mult, shift, 0, 32767, out);
        for (o = 0; o < OUT; o++) {
            long long a = bias[o];
            for (c = 0; c < IN; c++) {
                a += (long long)w[o * IN + c] * in[c];
            }
            CHECK_EQ(acc[o], a);
            CHECK_EQ(out[o], ref_requant(a, mult[o], shift[o], 0, 32767));
        }
    }
}

static void test_threshold_index(void)
{
    const int32_t thr[7] = {-50, 0, 0, 10, 11, 1000, 2147483647};
    CHECK_EQ(agn_threshold_index(-2147483647 - 1, thr, 7), 0);
    CHECK_EQ(agn_threshold_index(-50, thr, 7), 0);   /* equal to a threshold: lower index */
    CHECK_EQ(agn_threshold_index(-49, thr, 7), 1);
    CHECK_EQ(agn_threshold_index(0, thr, 7), 1);
    CHECK_EQ(agn_threshold_index(1, thr, 7), 3);     /* duplicate thresholds skip an index */
    CHECK_EQ(agn_threshold_index(11, thr, 7), 4);
    CHECK_EQ(agn_threshold_index(12, thr, 7), 5);
    CHECK_EQ(agn_threshold_index(2147483647, thr, 7), 6);
    CHECK_EQ(agn_threshold_index(5, thr, 0), 0);
}

static void test_dense(void)
{
    enum { IN = 5, OUT = 10 };
    int32_t in[IN];
    int16_t w[OUT * IN];
    int32_t bias[OUT];
    int32_t mult[OUT];
    int8_t shift[OUT];
    int32_t out[OUT];
    int trial;
    int j;
    int i;

    for (trial = 0; trial < 200; trial++) {
        for (i = 0; i < IN; i++) {
            in[i] = rnd_range(0, 32767);
        }
        for (i = 0; i < IN * OUT; i++) {
            w[i] = (int16_t)rnd_range(-8191, 8191);
        }
        for (j = 0; j < OUT; j++) {
            bias[j] = rnd_range(-10000000, 10000000);
            mult[j] = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            shift[j] = (int8_t)rnd_range(1, 8);
        }
        agn_dense(in, IN, w, bias, OUT, mult, shift, out);
        for (j = 0; j < OUT; j++) {
            long long a = bias[j];
            for (i = 0; i < IN; i++) {
                a += (long long)w[j * IN + i] * in[i];
            }
            CHECK_EQ(out[j], ref_requant(a, mult[j], shift[j], -2147483647LL - 1, 2147483647LL));
        }
    }
}

int main(void)
{
    RUN(test_requant);
    RUN(test_mac2);
    RUN(test_rgb565);
    RUN(test_axis_plan);
    RUN(test_hpass_vpass);
    RUN(test_dw3x3);
    RUN(test_pointwise);
    RUN(test_threshold_index);
    RUN(test_dense);
    return test_summary("test_kernels");
}
