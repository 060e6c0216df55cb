/*
 * agilenn_kernels.h - the integer kernels of the AgileNN device network (C99).
 *
 * Model independent: every size, weight and requantization parameter is an argument, so
 * each kernel is unit tested on its own (test/test_kernels.c). agilenn_core.c chains them
 * with the constants of the generated agilenn_model.h. The arithmetic is the one of the
 * numpy reference in agilenn_ros/export/int8.py; any change here must be made there too.
 *
 * Layouts: rows of one channel ("planar", for the depthwise convolutions) and pixel
 * vectors of all channels ("HWC", for the pointwise convolutions), int16_t; weights int16_t
 * with one scale per output channel; accumulators int32_t (the exporter proves from the
 * weights that no sum can overflow). Pairs of int16 values go through one dual 16-bit
 * multiply-accumulate (SMLAD) on a Cortex-M7. The small per-pixel kernels are static
 * inline so that calls with compile-time sizes unroll. No dynamic allocation; no libc
 * beyond memcpy (a 4-byte load).
 *
 * Assumes two's complement and an arithmetic right shift of negative values (true of GCC,
 * Clang and every Cortex-M compiler; checked below).
 */
#ifndef AGILENN_KERNELS_H
#define AGILENN_KERNELS_H

#include <stdint.h>
#include <string.h>

/* Kernel path, chosen at compile time: the DSP path (ARMv7E-M DSP instructions through
 * ACLE intrinsics: SMLAD, SMLAxy, SMMLA, SSAT/USAT, QSUB, packed 16-bit loads, two outputs
 * per step) where the compiler targets a core with the DSP extension (__ARM_FEATURE_DSP:
 * Cortex-M4/M7/M33...), the portable C99 path everywhere else. -DAGN_PORTABLE_KERNELS
 * forces the portable path (the firmware report measures both). Both paths compute the
 * same integers (the golden tests run each against the numpy reference). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(AGN_PORTABLE_KERNELS)
#include <arm_acle.h>
#define AGN_HAVE_DSP 1
#else
#define AGN_HAVE_DSP 0
#endif

#if ((-3) >> 1) != -2
#error "agilenn_kernels needs an arithmetic right shift of negative values"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-point formats of the resize: Q15 interpolation weights, Q7 output pixels. */
#define AGN_K_COEF_BITS 15
#define AGN_K_COEF_ONE (1 << AGN_K_COEF_BITS)
#define AGN_K_PIXEL_FRAC_BITS 7

/* One output coordinate of a bilinear resize: value = src[i0] * (1 - w) + src[i1] * w,
 * w = frac / 2^15. */
typedef struct {
    uint16_t i0;
    uint16_t i1;
    uint16_t frac;
} agn_tap_t;

/* Requantization parameters of one output channel: see agn_requant. */
typedef struct {
    int32_t mult;
    int32_t shift;
} agn_rq_t;

/*
 * Requantize an accumulator (agilenn_ros.export.int8.requantize):
 *   h = (acc * mult) >> 32             high word of the 32x32 -> 64-bit product (SMULL)
 *   v = ((h >> (shift - 1)) + 1) >> 1  = floor(h / 2^shift + 1/2), shift in 1..31
 * clamped to [lo, hi]. |acc| < 2^31 and mult < 2^31 keep every step inside int32.
 */
static inline int32_t agn_requant(int32_t acc, int32_t mult, int32_t shift, int32_t lo, int32_t hi)
{
    int32_t h = (int32_t)(((int64_t)acc * (int64_t)mult) >> 32);
    int32_t v = ((h >> (shift - 1)) + 1) >> 1;
    if (v < lo) {
        return lo;
    }
    if (v > hi) {
        return hi;
    }
    return v;
}

/* Two consecutive int16 values (any alignment) as one 32-bit word. */
static inline uint32_t agn_load_pair(const int16_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* acc + x.lo * y.lo + x.hi * y.hi on the signed 16-bit halves (SMLAD on a Cortex-M7). */
static inline int32_t agn_mac2(uint32_t x, uint32_t y, int32_t acc)
{
#if AGN_HAVE_DSP
    return __smlad(x, y, acc);
#else
    /* sign-extend each 16-bit half without implementation-defined conversions */
    const int32_t xl = (int32_t)((x & 0xFFFFu) ^ 0x8000u) - 0x8000;
    const int32_t xh = (int32_t)((x >> 16) ^ 0x8000u) - 0x8000;
    const int32_t yl = (int32_t)((y & 0xFFFFu) ^ 0x8000u) - 0x8000;
    const int32_t yh = (int32_t)((y >> 16) ^ 0x8000u) - 0x8000;
    return acc + xl * yl + xh * yh;
#endif
}

/* a + sum_{c < n} w[c] * in[c], two products per step. */
static inline int32_t agn_dot(const int16_t *in, const int16_t *w, uint32_t n, int32_t a)
{
    uint32_t c;
    for (c = 0u; c + 1u < n; c += 2u) {
        a = agn_mac2(agn_load_pair(in + c), agn_load_pair(w + c), a);
    }
    if (c < n) {
        a += (int32_t)w[c] * in[c];
    }
    return a;
}

/* Pointwise (1x1) convolution of one pixel vector, raw accumulators:
 * acc[o] = bias[o] + sum_c w[o * in_ch + c] * in[c]. With 16 inputs the input pairs stay
 * in registers across the outputs. */
static inline void agn_pw_acc(const int16_t *in, uint32_t in_ch, const int16_t *w,
                              const int32_t *bias, uint32_t out_ch, int32_t *acc)
{
    uint32_t o;
    if (in_ch == 16u) {
        const uint32_t x0 = agn_load_pair(in);
        const uint32_t x1 = agn_load_pair(in + 2);
        const uint32_t x2 = agn_load_pair(in + 4);
        const uint32_t x3 = agn_load_pair(in + 6);
        const uint32_t x4 = agn_load_pair(in + 8);
        const uint32_t x5 = agn_load_pair(in + 10);
        const uint32_t x6 = agn_load_pair(in + 12);
        const uint32_t x7 = agn_load_pair(in + 14);
        for (o = 0u; o < out_ch; o++) {
            const int16_t *wo = w + 16u * o;
            int32_t a = bias[o];
            a = agn_mac2(x0, agn_load_pair(wo), a);
            a = agn_mac2(x1, agn_load_pair(wo + 2), a);
            a = agn_mac2(x2, agn_load_pair(wo + 4), a);
            a = agn_mac2(x3, agn_load_pair(wo + 6), a);
            a = agn_mac2(x4, agn_load_pair(wo + 8), a);
            a = agn_mac2(x5, agn_load_pair(wo + 10), a);
            a = agn_mac2(x6, agn_load_pair(wo + 12), a);
            a = agn_mac2(x7, agn_load_pair(wo + 14), a);
            acc[o] = a;
        }
        return;
    }
    for (o = 0u; o < out_ch; o++) {
        acc[o] = agn_dot(in, w + o * in_ch, in_ch, bias[o]);
    }
}

/* Pointwise convolution of one pixel vector with requantization and clamp to [lo, hi];
 * output o goes to out[o * out_step] (out_step 1: a pixel vector; the row length: planar
 * rows). */
static inline void agn_pw_pixel(const int16_t *in, uint32_t in_ch, const int16_t *w,
                                const int32_t *bias, uint32_t out_ch, const agn_rq_t *rq,
                                int32_t lo, int32_t hi, int16_t *out, uint32_t out_step)
{
    uint32_t o;
    for (o = 0u; o < out_ch; o++) {
        int32_t a = agn_dot(in, w + o * in_ch, in_ch, bias[o]);
        out[o * out_step] = (int16_t)agn_requant(a, rq[o].mult, rq[o].shift, lo, hi);
    }
}

/*
 * Pointwise convolution of a row of n_px pixel vectors (HWC, in_ch values each) with
 * requantization and clamp, into planar output rows: out[o * out_stride + x]. Loops over
 * the outputs outside, so one channel's weights stay in registers along the row.
 */
void agn_pw_row(const int16_t *in, uint32_t n_px, uint32_t in_ch, const int16_t *w,
                const int32_t *bias, uint32_t out_ch, const agn_rq_t *rq, int32_t lo,
                int32_t hi, int16_t *out, uint32_t out_stride);

/*
 * Layer-2 pointwise convolution of a row of n_px pixel vectors (HWC, in_ch values each)
 * with the two consumers of its outputs fused in:
 *   - output channels o < n_local (the local channels): requant(acc, rq[o], 0, hi) is added
 *     to pool[o] (the global average pooling's sum);
 *   - output channels o >= n_local (the remote channels, r = o - n_local): the quantizer
 *     index agn_threshold_index(acc, thr + r * n_thr, n_thr) goes to
 *     idx[r * idx_stride + x].
 * acc = bias[o] + sum_c w[o * in_ch + c] * in[x * in_ch + c]; n_local + n_remote outputs.
 */
void agn_pw_quant_row(const int16_t *in, uint32_t n_px, uint32_t in_ch, const int16_t *w,
                      const int32_t *bias, uint32_t n_local, const agn_rq_t *rq, int32_t hi,
                      int32_t *pool, uint32_t n_remote, const int32_t *thr, uint32_t n_thr,
                      uint8_t *idx, uint32_t idx_stride);

/* Quantizer decision: the number of thresholds strictly below acc (thr non-decreasing,
 * n_thr entries), i.e. the index of the nearest centroid with ties to the lower index.
 * Three comparisons for 8 centroids (7 thresholds). */
static inline uint8_t agn_threshold_index(int32_t acc, const int32_t *thr, uint32_t n_thr)
{
    uint32_t j;
    uint32_t n = 0u;
    if (n_thr == 7u) {
        n = (acc > thr[3]) ? 4u : 0u;
        n += (acc > thr[n + 1u]) ? 2u : 0u;
        n += (acc > thr[n]) ? 1u : 0u;
        return (uint8_t)n;
    }
    for (j = 0u; j < n_thr; j++) {
        n += (acc > thr[j]) ? 1u : 0u;
    }
    return (uint8_t)n;
}

/* An RGB565 value (red in the top 5 bits) to 8-bit channels by bit replication:
 * r8 = (r5 << 3) | (r5 >> 2), g8 = (g6 << 2) | (g6 >> 4). */
static inline void agn_rgb565_value_to_rgb888(uint32_t v, uint8_t *rgb)
{
    uint32_t r = (v >> 11) & 0x1Fu;
    uint32_t g = (v >> 5) & 0x3Fu;
    uint32_t b = v & 0x1Fu;
    rgb[0] = (uint8_t)((r << 3) | (r >> 2));
    rgb[1] = (uint8_t)((g << 2) | (g >> 4));
    rgb[2] = (uint8_t)((b << 3) | (b >> 2));
}

/* An RGB565 pixel stored little-endian (low byte first). */
static inline void agn_rgb565_to_rgb888(const uint8_t *px, uint8_t *rgb)
{
    agn_rgb565_value_to_rgb888((uint32_t)px[0] | ((uint32_t)px[1] << 8), rgb);
}

/*
 * Taps of a half-pixel-centre bilinear resize along one axis (cv2.INTER_LINEAR, torch
 * align_corners=False): source position ((2d + 1) * src - dst) / (2 dst), clamped to
 * [0, src - 1]. Exact integer arithmetic. 1 <= src, dst <= 32767; taps has dst entries.
 */
void agn_axis_plan(uint16_t src, uint16_t dst, agn_tap_t *taps);

/* Horizontal pass of one source row (3 interleaved channels) to three planar rows of
 * out_w Q7 values: out[(c * out_w + x) * out_step] = round((p0 * (2^15 - w) + p1 * w) / 2^8)
 * (out_step 1: planar rows; 2: every other element, the core's interleaved row pair). */
void agn_hpass_rgb888(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                      uint32_t out_step);
void agn_hpass_rgb565(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                      uint32_t out_step);
/* RGB565 stored big-endian (high byte first), as many camera sensors deliver it. */
void agn_hpass_rgb565be(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                        uint32_t out_step);

/* One output column of the RGB888 horizontal pass, precomputed from its tap: byte offsets
 * o0 = 3 i0, o1 = 3 i1 and the Q15 weight pair w = (2^15 - frac) | frac << 16; a tap with
 * frac = 0 gets o1 = o0 and w = (2^14, 2^14), so that both weights fit in int16. */
typedef struct {
    uint32_t w;
    uint16_t o0;
    uint16_t o1;
} agn_hstep_t;

/* The steps of out_w taps for rows of src_w RGB888 pixels; returns how many leading steps
 * read no byte past the row with a 4-byte load at o1 (the fast steps of the DSP path). */
uint16_t agn_hplan_rgb888(const agn_tap_t *xt, uint16_t out_w, uint16_t src_w, agn_hstep_t *steps);

/* The RGB888 horizontal pass with a plan (same results as agn_hpass_rgb888 with its taps):
 * out[(c * out_w + x) * out_step] = round((p0 * w.lo + p1 * w.hi) / 2^8); steps
 * [0, n_fast) may use 4-byte loads. */
void agn_hpass_rgb888_plan(const uint8_t *row, const agn_hstep_t *steps, uint16_t n_fast,
                           uint16_t out_w, int16_t *out, uint32_t out_step);

/* The steps of out_w taps for RGB565 rows (2 bytes per pixel: o0 = 2 i0, o1 = 2 i1; frac = 0
 * as for RGB888). */
void agn_hplan_rgb565(const agn_tap_t *xt, uint16_t out_w, agn_hstep_t *steps);

/* The RGB565 horizontal pass with a plan (same results as agn_hpass_rgb565 / _rgb565be with
 * its taps): the pixels little-endian (big_endian 0) or big-endian (1). The DSP path
 * expands both pixels' channels at once in one word: r8 = (r5 * 33) >> 2,
 * g8 = (g6 * 65) >> 4, b8 = (b5 * 33) >> 2 per 16-bit half, then one SMLAD per channel. */
void agn_hpass_rgb565_plan(const uint8_t *row, const agn_hstep_t *steps, uint16_t out_w,
                           int16_t *out, uint32_t out_step, uint32_t big_endian);

/* Vertical pass: out[i] = round((r0[i] * (2^15 - frac) + r1[i] * frac) / 2^15), n values. */
void agn_vpass(const int16_t *r0, const int16_t *r1, uint16_t frac, uint32_t n, int16_t *out);

/* The vertical pass over an interleaved row pair, pair[2 i + s] = row s's value i (s = 0, 1):
 * out[i] = round((pair[2 i + s0] * (2^15 - frac) + pair[2 i + 1 - s0] * frac) / 2^15), i.e.
 * agn_vpass with r0 = row s0, r1 = the other row; n values. The DSP path takes each (row 0,
 * row 1) pair with one load and one SMLAD; pair must be 4-byte aligned there. */
void agn_vpass_pair(const int16_t *pair, uint32_t s0, uint16_t frac, uint32_t n, int16_t *out);

/*
 * One output row of one channel of a 3x3 depthwise convolution over planar input rows
 * r0, r1, r2 (kernel rows 0..2): output x reads columns x * stride + 0..2 of each row.
 * w: the channel's 9 weights (ky * 3 + kx); out[x * out_step] =
 * requant(bias + sum w * in, rq, lo, hi), x < out_w.
 */
void agn_dw3x3_row(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t stride,
                   uint32_t out_w, const int16_t *w, int32_t bias, agn_rq_t rq, int32_t lo,
                   int32_t hi, int16_t *out, uint32_t out_step);

/* The per-channel constants of a 3x3 depthwise layer, packed the way the DSP kernel reads
 * them: weight pairs (w0,w1) (w1,w2) (w3,w4) (w4,w5) (w6,w7) (w7,w8), the requantization
 * multiplier, its rounding term 2^(shift-1), shift, and the bias. */
typedef struct {
    uint32_t w[6];
    int32_t mult;
    int32_t rnd;
    int32_t shift;
    int32_t bias;
} agn_dw_packed_t;

/* Packs n_ch channels: weights w[9 c + ky * 3 + kx], bias[c] (bias NULL: 0), rq[c]. */
void agn_dw_pack(const int16_t *w, const int32_t *bias, const agn_rq_t *rq, uint32_t n_ch,
                 agn_dw_packed_t *out);

/* agn_dw3x3_row for n_ch channels of one row with packed constants: channel c reads
 * r0/r1/r2 + c * in_ch_step and k[c], and writes out + c * out_ch_step (outputs out_step
 * apart). One call per row: the DSP path keeps its per-call setup out of the channel loop. */
void agn_dw3x3_rows(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t in_ch_step,
                    uint32_t n_ch, uint32_t stride, uint32_t out_w, const agn_dw_packed_t *k,
                    int32_t lo, int32_t hi, int16_t *out, uint32_t out_ch_step, uint32_t out_step);

/* Dense layer: out[j] = requant(bias[j] + sum_i w[j * in_n + i] * in[i], rq[j]) clamped to
 * the int32 range. */
void agn_dense(const int32_t *in, uint16_t in_n, const int16_t *w, const int32_t *bias,
               uint16_t out_n, const agn_rq_t *rq, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* AGILENN_KERNELS_H */
