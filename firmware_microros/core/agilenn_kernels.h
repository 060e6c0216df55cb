/*
 * agilenn_kernels.h - the integer kernels of the AgileNN device network (C99).
 *
 * Model independent: every size, weight and requantization parameter is an argument, so
 * each kernel is unit tested on its own (test/test_kernels.c). agilenn_core.c chains them
 * with the constants of the generated agilenn_model.h. The arithmetic is the one of the
 * numpy reference in agilenn_ros/export/int8.py; any change here must be made there too.
 *
 * Layouts: activations HWC (channels innermost) in int16_t; weights int16_t with one scale
 * per output channel; accumulators int32_t (the exporter proves they cannot overflow).
 * No dynamic allocation, no libc.
 */
#ifndef AGILENN_KERNELS_H
#define AGILENN_KERNELS_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define AGN_HAVE_DSP 1
#else
#define AGN_HAVE_DSP 0
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

/* acc + x.lo * y.lo + x.hi * y.hi on the signed 16-bit halves (SMLAD on a Cortex-M7). The
 * exporter bounds every partial sum, so the int32 additions never overflow. */
static inline int32_t agn_mac2(uint32_t x, uint32_t y, int32_t acc)
{
#if AGN_HAVE_DSP
    return __smlad(x, y, acc);
#else
    return acc + (int32_t)(int16_t)(x & 0xFFFFu) * (int32_t)(int16_t)(y & 0xFFFFu) +
           (int32_t)(int16_t)(x >> 16) * (int32_t)(int16_t)(y >> 16);
#endif
}

/* Quantizer decision: the number of thresholds strictly below acc (thr ascending, n_thr
 * entries), i.e. the index of the nearest centroid with ties to the lower index. */
static inline uint8_t agn_threshold_index(int32_t acc, const int32_t *thr, uint32_t n_thr)
{
    uint32_t j;
    uint32_t n = 0u;
    for (j = 0u; j < n_thr; j++) {
        n += (acc > thr[j]) ? 1u : 0u;
    }
    return (uint8_t)n;
}

/* RGB565 (little-endian 16-bit pixel, red in the top 5 bits) to 8-bit channels by bit
 * replication: r8 = (r5 << 3) | (r5 >> 2), g8 = (g6 << 2) | (g6 >> 4). */
static inline void agn_rgb565_to_rgb888(const uint8_t *px, uint8_t *rgb)
{
    uint32_t v = (uint32_t)px[0] | ((uint32_t)px[1] << 8);
    uint32_t r = (v >> 11) & 0x1Fu;
    uint32_t g = (v >> 5) & 0x3Fu;
    uint32_t b = v & 0x1Fu;
    rgb[0] = (uint8_t)((r << 3) | (r >> 2));
    rgb[1] = (uint8_t)((g << 2) | (g >> 4));
    rgb[2] = (uint8_t)((b << 3) | (b >> 2));
}

/*
 * Taps of a half-pixel-centre bilinear resize along one axis (cv2.INTER_LINEAR, torch
 * align_corners=False): source position ((2d + 1) * src - dst) / (2 dst), clamped to
 * [0, src - 1]. Exact integer arithmetic. src, dst >= 1; taps has dst entries.
 */
void agn_axis_plan(uint16_t src, uint16_t dst, agn_tap_t *taps);

/* Horizontal pass of one source row (3 channels) to out_w Q7 pixels (HWC, 3 per pixel):
 * out = round((p0 * (2^15 - w) + p1 * w) / 2^8). */
void agn_hpass_rgb888(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out);
void agn_hpass_rgb565(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out);

/* Vertical pass: out[i] = round((r0[i] * (2^15 - frac) + r1[i] * frac) / 2^15), n values. */
void agn_vpass(const int16_t *r0, const int16_t *r1, uint16_t frac, uint32_t n, int16_t *out);

/*
 * One output pixel of a 3x3 depthwise convolution over HWC rows. r0, r1, r2 point at the
 * first of the three input pixels of kernel rows 0, 1, 2 (consecutive pixels ch values
 * apart). w: [ch][9] (ky * 3 + kx); bias: [ch] or NULL; mult/shift: [ch].
 * out[c] = requant(bias[c] + sum w * x, mult[c], shift[c], lo, hi).
 */
void agn_dw3x3_pixel(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint16_t ch,
                     const int16_t *w, const int32_t *bias, const int32_t *mult,
                     const int8_t *shift, int32_t lo, int32_t hi, int16_t *out);

/* Pointwise (1x1) convolution of one pixel, raw accumulators:
 * acc[o] = bias[o] + sum_c w[o * in_ch + c] * in[c]. */
void agn_pw_acc(const int16_t *in, uint16_t in_ch, const int16_t *w, const int32_t *bias,
                uint16_t out_ch, int32_t *acc);

/* Pointwise convolution of one pixel with requantization and clamp to [lo, hi]. */
void agn_pw_pixel(const int16_t *in, uint16_t in_ch, const int16_t *w, const int32_t *bias,
                  uint16_t out_ch, const int32_t *mult, const int8_t *shift, int32_t lo,
                  int32_t hi, int16_t *out);

/* Dense layer: out[j] = requant(bias[j] + sum_i w[j * in_n + i] * in[i], mult[j], shift[j])
 * clamped to the int32 range. */
void agn_dense(const int32_t *in, uint16_t in_n, const int16_t *w, const int32_t *bias,
               uint16_t out_n, const int32_t *mult, const int8_t *shift, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* AGILENN_KERNELS_H */
