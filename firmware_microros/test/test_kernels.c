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
    int16_t r0[7] = {0, 128, 32640, 100, 200, 300, 5};
    int16_t r1[7] = {128, 0, 0, 300, 200, 100, 32640};
    int16_t v[7];
    int i;

    /* two source pixels -> 4 outputs: positions -0.25(->0), 0.25, 0.75, 1.25(->1) */
    agn_axis_plan(2, 4, taps);
    CHECK_EQ(taps[1].frac, 8192);
    CHECK_EQ(taps[2].frac, 24576);
    row888[0] = 0; row888[1] = 100; row888[2] = 255;
    row888[3] = 255; row888[4] = 101; row888[5] = 0;
    agn_hpass_rgb888(row888, taps, 4, out, 1u);    /* planar: R[4], G[4], B[4] */
    CHECK_EQ(out[0], 0); CHECK_EQ(out[4], 100 * 128); CHECK_EQ(out[8], 255 * 128);
    CHECK_EQ(out[1], 8160);   /* 255 * 0.25 * 128 */
    CHECK_EQ(out[5], 12832);  /* (100 * 0.75 + 101 * 0.25) * 128 */
    CHECK_EQ(out[9], 24480);  /* 255 * 0.75 * 128 */
    CHECK_EQ(out[3], 255 * 128);
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
    agn_hpass_rgb565(row565, taps, 4, out565, 1u);
    agn_hpass_rgb888(row888, taps, 4, out, 1u);
    CHECK(memcmp(out, out565, sizeof(out)) == 0);
    for (i = 0; i < 2; i++) {                     /* the same pixels big-endian */
        uint8_t t = row565[2 * i];
        row565[2 * i] = row565[2 * i + 1];
        row565[2 * i + 1] = t;
    }
    memset(out565, 0, sizeof(out565));
    agn_hpass_rgb565be(row565, taps, 4, out565, 1u);
    CHECK(memcmp(out, out565, sizeof(out)) == 0);

    agn_vpass(r0, r1, 16384, 7, v); /* halfway (odd count: the pair loop and the tail) */
    CHECK_EQ(v[0], 64); CHECK_EQ(v[1], 64); CHECK_EQ(v[2], 16320);
    CHECK_EQ(v[3], 200); CHECK_EQ(v[4], 200); CHECK_EQ(v[5], 200); CHECK_EQ(v[6], 16323);
    agn_vpass(r0, r1, 0, 7, v);
    CHECK(memcmp(v, r0, sizeof(v)) == 0);
    agn_vpass(r0, r1, 1, 7, v); /* 1/32768 of the way: r0 + (r1 - r0) / 32768, rounded */
    CHECK_EQ(v[0], 0); CHECK_EQ(v[1], 128); CHECK_EQ(v[2], 32639); /* 32639.004 */
    CHECK_EQ(v[3], 100); CHECK_EQ(v[5], 300); CHECK_EQ(v[6], 6);
    for (i = 0; i < 2000; i++) {   /* random rows against the definition */
        int16_t a[9];
        int16_t b[9];
        int16_t o[9];
        uint16_t frac = (uint16_t)rnd_range(0, 32767);
        int k;
        for (k = 0; k < 9; k++) {
            a[k] = (int16_t)rnd_range(0, 32640);
            b[k] = (int16_t)rnd_range(0, 32640);
        }
        agn_vpass(a, b, frac, 9, o);
        for (k = 0; k < 9; k++) {
            CHECK_EQ(o[k], ((long long)a[k] * (32768 - frac) + (long long)b[k] * frac + 16384) >> 15);
        }
    }
}

static void test_dw3x3_row(void)
{
    enum { W = 40, OUTW = 12 };
    int16_t rows[3][W];
    int16_t w[9];
    int16_t out[OUTW * 2];
    agn_rq_t rq;
    int trial;
    int k;
    int x;

    /* the clamps with a dedicated DSP path (ReLU6 [0, 2^15-1], symmetric 16-bit) and any other */
    static const int32_t clamps[3][2] = {{-1000, 30000}, {0, 32767}, {-32767, 32767}};
    for (trial = 0; trial < 900; trial++) {
        uint32_t stride = (uint32_t)rnd_range(1, 3);
        int32_t bias = (trial & 1) ? rnd_range(-100000, 100000) : 0;
        int start = rnd_range(0, 3);                  /* odd starts: unaligned pairs */
        const int32_t lo = clamps[trial % 3][0];
        const int32_t hi = clamps[trial % 3][1];
        const int out_w = (trial % 5 == 0) ? rnd_range(0, OUTW) : OUTW; /* odd widths: the tail */
        for (k = 0; k < 3 * W; k++) {
            rows[k / W][k % W] = (int16_t)rnd_range(-32767, 32767);
        }
        for (k = 0; k < 9; k++) {
            w[k] = (int16_t)rnd_range(-4095, 4095);
        }
        rq.mult = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
        rq.shift = rnd_range(trial % 7 == 0 ? 1 : 8, 20);  /* small shifts: saturation both ways */
        memset(out, 0x55, sizeof(out));
        agn_dw3x3_row(rows[0] + start, rows[1] + start, rows[2] + start, stride, (uint32_t)out_w,
                      w, bias, rq, lo, hi, out, 2u);
        for (x = out_w; x < OUTW; x++) {
            CHECK_EQ(out[2 * x], 0x5555);             /* nothing beyond out_w */
        }
        for (x = 0; x < out_w; x++) {
            long long acc = bias;
            int ky;
            int kx;
            for (ky = 0; ky < 3; ky++) {
                for (kx = 0; kx < 3; kx++) {
                    acc += (long long)w[ky * 3 + kx] * rows[ky][start + x * (int)stride + kx];
                }
            }
            CHECK_EQ(out[2 * x], ref_requant(acc, rq.mult, rq.shift, lo, hi));
            CHECK_EQ(out[2 * x + 1], 0x5555);         /* out_step respected */
        }
    }
}

/* The plan-based RGB888 horizontal pass equals the tap-based one (any scale, frac = 0
 * columns, the last source pixel, out_step 1 and 2), and the fast-step count never lets a
 * 4-byte load leave the row. */
static void test_hpass_plan(void)
{
    static const uint16_t sizes[][2] = {{32, 96}, {96, 96}, {160, 96}, {5, 96}, {1, 7}, {98, 96}, {2, 3}};
    static uint8_t row[3 * 160];
    agn_tap_t taps[96];
    agn_hstep_t steps[96];
    int16_t ref[3 * 96];
    int16_t out[2 * 3 * 96];
    unsigned int s;
    unsigned int k;
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const uint16_t src = sizes[s][0];
        const uint16_t dst = sizes[s][1];
        uint16_t n_fast;
        int step;
        for (k = 0; k < 3u * src; k++) {
            row[k] = (uint8_t)rnd();
        }
        agn_axis_plan(src, dst, taps);
        n_fast = agn_hplan_rgb888(taps, dst, src, steps);
        CHECK(n_fast <= dst);
        for (k = 0; k < n_fast; k++) {
            CHECK(steps[k].o0 + 4u <= 3u * src && steps[k].o1 + 4u <= 3u * src);
        }
        agn_hpass_rgb888(row, taps, dst, ref, 1u);
        for (step = 1; step <= 2; step++) {
            memset(out, 0x55, sizeof(out));
            agn_hpass_rgb888_plan(row, steps, n_fast, dst, out, (uint32_t)step);
            for (k = 0; k < 3u * dst; k++) {
                CHECK_EQ(out[k * (unsigned int)step], ref[k]);
                if (step == 2) {
                    CHECK_EQ(out[2u * k + 1u], 0x5555);
                }
            }
        }
    }
}

/* The plan-based RGB565 horizontal pass (both byte orders) equals the tap-based one. */
static void test_hpass_plan_rgb565(void)
{
    static const uint16_t sizes[][2] = {{160, 96}, {32, 96}, {64, 96}, {1, 5}, {97, 31}};
    static uint8_t row[2 * 160];
    agn_tap_t taps[96];
    agn_hstep_t steps[96];
    int16_t ref[3 * 96];
    int16_t out[2 * 3 * 96];
    unsigned int s;
    unsigned int k;
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const uint16_t src = sizes[s][0];
        const uint16_t dst = sizes[s][1];
        uint32_t be;
        int step;
        for (k = 0; k < 2u * src; k++) {
            row[k] = (uint8_t)rnd();
        }
        row[0] = 0xFF;                                   /* white and black pixels too */
        row[1] = 0xFF;
        if (src > 1) {
            row[2] = 0;
            row[3] = 0;
        }
        agn_axis_plan(src, dst, taps);
        agn_hplan_rgb565(taps, dst, steps);
        for (be = 0; be < 2u; be++) {
            if (be) {
                agn_hpass_rgb565be(row, taps, dst, ref, 1u);
            } else {
                agn_hpass_rgb565(row, taps, dst, ref, 1u);
            }
            for (step = 1; step <= 2; step++) {
                memset(out, 0x55, sizeof(out));
                agn_hpass_rgb565_plan(row, steps, dst, out, (uint32_t)step, be);
                for (k = 0; k < 3u * dst; k++) {
                    CHECK_EQ(out[k * (unsigned int)step], ref[k]);
                }
            }
        }
    }
}

/* agn_vpass_pair against agn_vpass on the two de-interleaved rows: both slot orders, frac 0
 * (a copy) and others, lengths with and without a remainder of 4, odd start addresses. */
static void test_vpass_pair(void)
{
    static union {
        int16_t v[2 * 300 + 2];
        unsigned long long align;
    } pair;
    int16_t a[300];
    int16_t b[300];
    int16_t ref[300];
    int16_t out[302];
    int t;
    for (t = 0; t < 200; t++) {
        const uint32_t n = (t % 4 == 0) ? (uint32_t)rnd_range(0, 300) : 288u;
        const uint32_t s0 = (uint32_t)(t & 1);
        const uint16_t frac = (t % 3 == 0) ? 0u : (uint16_t)rnd_range(1, 32767);
        const int shift = (t % 5 == 4) ? 1 : 0;        /* off the 4-byte boundary */
        uint32_t i;
        for (i = 0; i < n; i++) {
            a[i] = (int16_t)rnd_range(t % 7 == 0 ? -32768 : 0, 32767);
            b[i] = (int16_t)rnd_range(t % 7 == 0 ? -32768 : 0, 32767);
            pair.v[shift + 2 * (int)i + (int)s0] = a[i];
            pair.v[shift + 2 * (int)i + 1 - (int)s0] = b[i];
        }
        agn_vpass(a, b, frac, n, ref);
        memset(out, 0x55, sizeof(out));
        agn_vpass_pair(pair.v + shift, s0, frac, n, out + shift);
        for (i = 0; i < n; i++) {
            CHECK_EQ(out[shift + (int)i], ref[i]);
        }
        CHECK_EQ(out[shift + (int)n], 0x5555);
    }
}

/* agn_dw3x3_rows with packed constants against agn_dw3x3_row per channel: strides 1-3,
 * the three clamps, bias or none, aligned and unaligned rows, even and odd widths. */
static void test_dw3x3_rows(void)
{
    enum { CH = 5, W = 44, OUTW = 14, CSTEP = 48 };
    static union {
        int16_t v[3][CH * CSTEP + 4];
        unsigned long long align;
    } rows;
    static const int32_t clamps[3][2] = {{-32767, 32767}, {0, 32767}, {-900, 28000}};
    int16_t w[9 * CH];
    int32_t bias[CH];
    agn_rq_t rq[CH];
    agn_dw_packed_t k[CH];
    int16_t ref[OUTW * CH];
    int16_t out[OUTW * CH];
    int t;
    for (t = 0; t < 300; t++) {
        const uint32_t stride = (uint32_t)(1 + t % 3);
        const int32_t lo = clamps[(t / 3) % 3][0];
        const int32_t hi = clamps[(t / 3) % 3][1];
        const uint32_t out_w = (t % 4 == 1) ? (uint32_t)rnd_range(0, OUTW) : OUTW - (uint32_t)(t & 2);
        const int off = (t % 9 == 8) ? 1 : 0;
        const int with_bias = t & 1;
        int c;
        int i;
        for (i = 0; i < 3 * (CH * CSTEP + 4); i++) {
            rows.v[i / (CH * CSTEP + 4)][i % (CH * CSTEP + 4)] = (int16_t)rnd_range(-32767, 32767);
        }
        for (i = 0; i < 9 * CH; i++) {
            w[i] = (int16_t)rnd_range(-8191, 8191);
        }
        for (c = 0; c < CH; c++) {
            bias[c] = rnd_range(-200000, 200000);
            rq[c].mult = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            rq[c].shift = rnd_range(t % 5 == 0 ? 1 : 10, 20);
        }
        agn_dw_pack(w, with_bias ? bias : 0, rq, CH, k);
        memset(out, 0x55, sizeof(out));
        agn_dw3x3_rows(rows.v[0] + off, rows.v[1] + off, rows.v[2] + off, CSTEP, CH, stride, out_w, k,
                       lo, hi, out, 1u, CH);
        for (c = 0; c < CH; c++) {
            agn_dw3x3_row(rows.v[0] + off + c * CSTEP, rows.v[1] + off + c * CSTEP,
                          rows.v[2] + off + c * CSTEP, stride, out_w, w + 9 * c,
                          with_bias ? bias[c] : 0, rq[c], lo, hi, ref + c, CH);
        }
        for (i = 0; i < (int)out_w * CH; i++) {
            CHECK_EQ(out[i], ref[i]);
        }
        for (i = (int)out_w * CH; i < OUTW * CH; i++) {
            CHECK_EQ(out[i], 0x5555);
        }
    }
}

static void check_pointwise(int in_ch);

static void test_pointwise(void)
{
    check_pointwise(16);
    check_pointwise(3);
    check_pointwise(1);
}

static void check_pointwise(int in_ch)
{
    enum { MAXIN = 16, OUT = 24 };
    int16_t in[MAXIN];
    int16_t w[OUT * MAXIN];
    int32_t bias[OUT];
    agn_rq_t rq[OUT];
    int32_t acc[OUT];
    int16_t out[OUT * 3];
    int16_t row_out[OUT * 2];
    int trial;
    int o;
    int c;

    for (trial = 0; trial < 200; trial++) {
        for (c = 0; c < in_ch; c++) {
            in[c] = (int16_t)rnd_range(-32767, 32767);
        }
        for (c = 0; c < in_ch * OUT; c++) {
            w[c] = (int16_t)rnd_range(-2047, 2047);
        }
        for (o = 0; o < OUT; o++) {
            bias[o] = rnd_range(-1000000, 1000000);
            rq[o].mult = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            rq[o].shift = rnd_range(8, 20);
        }
        agn_pw_acc(in, (uint32_t)in_ch, w, bias, OUT, acc);
        agn_pw_pixel(in, (uint32_t)in_ch, w, bias, OUT, rq, 0, 32767, out, 3u);
        agn_pw_row(in, 1u, (uint32_t)in_ch, w, bias, OUT, rq, 0, 32767, row_out, 2u);
        for (o = 0; o < OUT; o++) {
            long long a = bias[o];
            for (c = 0; c < in_ch; c++) {
                a += (long long)w[o * in_ch + c] * in[c];
            }
            CHECK_EQ(acc[o], a);
            CHECK_EQ(out[3 * o], ref_requant(a, rq[o].mult, rq[o].shift, 0, 32767));
            CHECK_EQ(row_out[2 * o], out[3 * o]);
        }
    }
}

/* A row of pixels through agn_pw_row against agn_pw_pixel per pixel. */
static void test_pw_row(void)
{
    enum { NPX = 9, OUT = 16, STRIDE = 11 };
    static const int in_chs[3] = {3, 16, 5};
    int16_t in[NPX * 16];
    int16_t w[OUT * 16];
    int32_t bias[OUT];
    agn_rq_t rq[OUT];
    int16_t rows[OUT * STRIDE];
    int16_t ref[OUT];
    int t;
    int k;
    int x;
    int o;

    for (t = 0; t < 180; t++) {
        int in_ch = in_chs[t % 3];
        for (k = 0; k < NPX * in_ch; k++) {
            in[k] = (int16_t)rnd_range(-32767, 32767);
        }
        for (k = 0; k < OUT * in_ch; k++) {
            w[k] = (int16_t)rnd_range(-2047, 2047);
        }
        for (o = 0; o < OUT; o++) {
            bias[o] = rnd_range(-100000, 100000);
            rq[o].mult = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            rq[o].shift = rnd_range(8, 20);
        }
        {
            static const int32_t clamps[3][2] = {{0, 32767}, {-32767, 32767}, {-5000, 20000}};
            const int32_t lo = clamps[(t / 3) % 3][0];
            const int32_t hi = clamps[(t / 3) % 3][1];
            const int npx = NPX - (t & 1);            /* odd and even rows (DSP: two per step) */
            if (t % 4 == 0) {
                for (o = 0; o < OUT; o++) {
                    rq[o].shift = rnd_range(1, 4);    /* saturate */
                }
            }
            agn_pw_row(in, (uint32_t)npx, (uint32_t)in_ch, w, bias, OUT, rq, lo, hi, rows, STRIDE);
            for (x = 0; x < npx; x++) {
                agn_pw_pixel(in + x * in_ch, (uint32_t)in_ch, w, bias, OUT, rq, lo, hi, ref, 1u);
                for (o = 0; o < OUT; o++) {
                    long long a = bias[o];
                    for (k = 0; k < in_ch; k++) {
                        a += (long long)w[o * in_ch + k] * in[x * in_ch + k];
                    }
                    CHECK_EQ(rows[o * STRIDE + x], ref_requant(a, rq[o].mult, rq[o].shift, lo, hi));
                    CHECK_EQ(rows[o * STRIDE + x], ref[o]);
                }
            }
        }
    }
}

/* agn_pw_quant_row against its definition: pooled ReLU6 sums of the local channels, the
 * threshold index of the remote ones; 16, 8 and 4 inputs on and off an 8-byte boundary, other
 * input counts, 7 thresholds (the DSP binary search) and others. */
static void test_pw_quant_row(void)
{
    enum { NPX = 16, MAXIN = 16, NLOC = 5, NREM = 7, STRIDE = 20 };
    static union {
        int16_t v[(NPX + 1) * MAXIN];
        unsigned long long align;
    } in;
    int16_t w[(NLOC + NREM) * MAXIN];
    int32_t bias[NLOC + NREM];
    agn_rq_t rq[NLOC];
    int32_t thr[NREM * 9];
    int32_t pool[NLOC];
    uint8_t idx[NREM * STRIDE];
    int t;

    for (t = 0; t < 120; t++) {
        const int in_ch = (t % 4 == 3) ? 5 : (t % 12 < 4 ? 16 : (t % 12 < 8 ? 8 : 4));
        const int shift_px = (t % 4 == 2) ? 1 : 0;     /* input off the 8-byte boundary */
        const int n_thr = (t % 5 == 4) ? rnd_range(0, 9) : 7;
        const int n_px = (t % 3 == 2) ? rnd_range(0, NPX) : NPX;
        const int32_t hi = (t % 6 == 5) ? 20000 : 32767;
        const int16_t *px = in.v + shift_px;
        int k;
        int o;
        int x;
        for (k = 0; k < (NPX + 1) * MAXIN; k++) {
            in.v[k] = (int16_t)rnd_range(-32767, 32767);
        }
        for (k = 0; k < (NLOC + NREM) * in_ch; k++) {
            w[k] = (int16_t)rnd_range(-2047, 2047);
        }
        for (o = 0; o < NLOC + NREM; o++) {
            bias[o] = rnd_range(-1000000, 1000000);
        }
        for (o = 0; o < NLOC; o++) {
            rq[o].mult = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            rq[o].shift = rnd_range(1, 20);
            pool[o] = rnd_range(0, 1000);
        }
        for (o = 0; o < NREM; o++) {   /* sorted thresholds around typical sums, duplicates */
            int32_t v = rnd_range(-40000000, 0);
            for (k = 0; k < n_thr; k++) {
                thr[o * n_thr + k] = v;
                v += (rnd() & 3u) == 0u ? 0 : rnd_range(0, 20000000);
            }
        }
        if (n_thr > 0 && t % 8 == 1) {
            thr[n_thr - 1] = 2147483647;
            thr[0] = -2147483647 - 1;
        }
        memset(idx, 0xEE, sizeof(idx));
        {
            int32_t ref_pool[NLOC];
            memcpy(ref_pool, pool, sizeof(pool));
            agn_pw_quant_row(px, (uint32_t)n_px, (uint32_t)in_ch, w, bias, NLOC, rq, hi, pool, NREM,
                             thr, (uint32_t)n_thr, idx, STRIDE);
            for (o = 0; o < NLOC + NREM; o++) {
                for (x = 0; x < n_px; x++) {
                    long long a = bias[o];
                    for (k = 0; k < in_ch; k++) {
                        a += (long long)w[o * in_ch + k] * px[x * in_ch + k];
                    }
                    if (o < NLOC) {
                        ref_pool[o] += (int32_t)ref_requant(a, rq[o].mult, rq[o].shift, 0, hi);
                    } else {
                        int n = 0;
                        for (k = 0; k < n_thr; k++) {
                            n += a > thr[(o - NLOC) * n_thr + k];
                        }
                        CHECK_EQ(idx[(o - NLOC) * STRIDE + x], n);
                    }
                }
                if (o >= NLOC) {
                    for (x = n_px; x < STRIDE; x++) {
                        CHECK_EQ(idx[(o - NLOC) * STRIDE + x], 0xEE);
                    }
                } else {
                    CHECK_EQ(pool[o], ref_pool[o]);
                }
            }
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
    {   /* the 3-comparison path for 7 thresholds equals counting, duplicates included */
        int32_t t[7];
        int i;
        int j;
        for (i = 0; i < 5000; i++) {
            int32_t acc = rnd_range(-60, 60);
            int n = 0;
            t[0] = rnd_range(-50, 0);
            for (j = 1; j < 7; j++) {
                t[j] = t[j - 1] + rnd_range(0, 15);
            }
            for (j = 0; j < 7; j++) {
                n += acc > t[j];
            }
            CHECK_EQ(agn_threshold_index(acc, t, 7), n);
            CHECK_EQ(agn_threshold_index(acc, t, 6), n - (acc > t[6]));
        }
    }
}

static void test_dense(void)
{
    enum { IN = 5, OUT = 10 };
    int32_t in[IN];
    int16_t w[OUT * IN];
    int32_t bias[OUT];
    agn_rq_t rq[OUT];
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
            rq[j].mult = (int32_t)((1u << 30) | (rnd() & 0x3FFFFFFFu));
            rq[j].shift = rnd_range(1, 8);
        }
        agn_dense(in, IN, w, bias, OUT, rq, out);
        for (j = 0; j < OUT; j++) {
            long long a = bias[j];
            for (i = 0; i < IN; i++) {
                a += (long long)w[j * IN + i] * in[i];
            }
            CHECK_EQ(out[j], ref_requant(a, rq[j].mult, rq[j].shift, -2147483647LL - 1, 2147483647LL));
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
    RUN(test_dw3x3_row);
    RUN(test_dw3x3_rows);
    RUN(test_hpass_plan);
    RUN(test_hpass_plan_rgb565);
    RUN(test_vpass_pair);
    RUN(test_pointwise);
    RUN(test_pw_row);
    RUN(test_pw_quant_row);
    RUN(test_threshold_index);
    RUN(test_dense);
    return test_summary("test_kernels");
}
