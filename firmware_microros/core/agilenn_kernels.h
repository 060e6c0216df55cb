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
 * Requantize an accumulator: clamp((acc * mult + 2^(shift-1)) >> shift, lo, hi), with a
 * 64-bit product and an arithmetic right shift (round half up). shift in 1..62,
 * mult in [0, 2^31).
 */
static inline int32_t agn_requant(int32_t acc, int32_t mult, int32_t shift, int32_t lo, int32_t hi)
{
    int64_t v = ((int64_t)acc * (int64_t)mult + ((int64_t)1 << (shift - 1))) >> shift;
    if (v < (int64_t)lo) {
        return lo;
    }
    if (v > (int64_t)hi) {
        return hi;
    }
    return (int32_t)v;
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

/* Quantizer decision: the number of thresholds strictly below acc (thr ascending, n_thr
 * entries), i.e. the index of the nearest centroid with ties to the lower index. */
uint8_t agn_threshold_index(int32_t acc, const int32_t *thr, uint8_t n_thr);

/* Dense layer: out[j] = requant(bias[j] + sum_i w[j * in_n + i] * in[i], mult[j], shift[j])
 * clamped to the int32 range. */
void agn_dense(const int32_t *in, uint16_t in_n, const int16_t *w, const int32_t *bias,
               uint16_t out_n, const int32_t *mult, const int8_t *shift, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* AGILENN_KERNELS_H */
