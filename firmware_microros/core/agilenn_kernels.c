/*
 * agilenn_kernels.c - integer kernels of the AgileNN device network (see the header).
 */
#include "agilenn_kernels.h"

void agn_axis_plan(uint16_t src, uint16_t dst, agn_tap_t *taps)
{
    const uint32_t den = 2u * (uint32_t)dst;
    uint32_t d;

    for (d = 0u; d < dst; d++) {
        uint32_t a = (2u * d + 1u) * (uint32_t)src;
        uint32_t num = (a > (uint32_t)dst) ? a - (uint32_t)dst : 0u;
        uint32_t i0 = num / den;
        uint32_t rem = num - i0 * den;
        if (i0 + 1u >= (uint32_t)src) {
            taps[d].i0 = (uint16_t)(src - 1u);
            taps[d].i1 = (uint16_t)(src - 1u);
            taps[d].frac = 0u;
        } else {
            taps[d].i0 = (uint16_t)i0;
            taps[d].i1 = (uint16_t)(i0 + 1u);
            taps[d].frac = (uint16_t)((rem * (uint32_t)AGN_K_COEF_ONE + den / 2u) / den);
        }
    }
}

#define AGN_HSHIFT (AGN_K_COEF_BITS - AGN_K_PIXEL_FRAC_BITS)

void agn_hpass_rgb888(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out)
{
    uint32_t x;

    for (x = 0u; x < out_w; x++) {
        const uint8_t *p0 = row + 3u * xt[x].i0;
        const uint8_t *p1 = row + 3u * xt[x].i1;
        int32_t w1 = (int32_t)xt[x].frac;
        int32_t w0 = AGN_K_COEF_ONE - w1;
        const int32_t half = 1 << (AGN_HSHIFT - 1);
        out[0] = (int16_t)(((int32_t)p0[0] * w0 + (int32_t)p1[0] * w1 + half) >> AGN_HSHIFT);
        out[1] = (int16_t)(((int32_t)p0[1] * w0 + (int32_t)p1[1] * w1 + half) >> AGN_HSHIFT);
        out[2] = (int16_t)(((int32_t)p0[2] * w0 + (int32_t)p1[2] * w1 + half) >> AGN_HSHIFT);
        out += 3;
    }
}

void agn_hpass_rgb565(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out)
{
    uint32_t x;
    uint8_t a[3];
    uint8_t b[3];

    for (x = 0u; x < out_w; x++) {
        int32_t w1 = (int32_t)xt[x].frac;
        int32_t w0 = AGN_K_COEF_ONE - w1;
        const int32_t half = 1 << (AGN_HSHIFT - 1);
        agn_rgb565_to_rgb888(row + 2u * xt[x].i0, a);
        agn_rgb565_to_rgb888(row + 2u * xt[x].i1, b);
        out[0] = (int16_t)(((int32_t)a[0] * w0 + (int32_t)b[0] * w1 + half) >> AGN_HSHIFT);
        out[1] = (int16_t)(((int32_t)a[1] * w0 + (int32_t)b[1] * w1 + half) >> AGN_HSHIFT);
        out[2] = (int16_t)(((int32_t)a[2] * w0 + (int32_t)b[2] * w1 + half) >> AGN_HSHIFT);
        out += 3;
    }
}

void agn_vpass(const int16_t *r0, const int16_t *r1, uint16_t frac, uint32_t n, int16_t *out)
{
    const int32_t w1 = (int32_t)frac;
    const int32_t w0 = AGN_K_COEF_ONE - w1;
    const int32_t half = 1 << (AGN_K_COEF_BITS - 1);
    uint32_t i;

    if (w1 == 0) {
        for (i = 0u; i < n; i++) {
            out[i] = r0[i];
        }
        return;
    }
    for (i = 0u; i < n; i++) {
        out[i] = (int16_t)(((int32_t)r0[i] * w0 + (int32_t)r1[i] * w1 + half) >> AGN_K_COEF_BITS);
    }
}

void agn_dw3x3_pixel(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint16_t ch,
                     const int16_t *w, const int32_t *bias, const int32_t *mult,
                     const int8_t *shift, int32_t lo, int32_t hi, int16_t *out)
{
    const uint32_t s1 = ch;
    const uint32_t s2 = 2u * (uint32_t)ch;
    uint32_t c;

    for (c = 0u; c < ch; c++) {
        const int16_t *k = w + 9u * c;
        int32_t acc = (bias != 0) ? bias[c] : 0;
        acc += (int32_t)k[0] * r0[c] + (int32_t)k[1] * r0[c + s1] + (int32_t)k[2] * r0[c + s2];
        acc += (int32_t)k[3] * r1[c] + (int32_t)k[4] * r1[c + s1] + (int32_t)k[5] * r1[c + s2];
        acc += (int32_t)k[6] * r2[c] + (int32_t)k[7] * r2[c + s1] + (int32_t)k[8] * r2[c + s2];
        out[c] = (int16_t)agn_requant(acc, mult[c], shift[c], lo, hi);
    }
}

/* sum_c w[c] * in[c] + a, two MACs per step. */
static inline int32_t dot16(const int16_t *in, const int16_t *w, uint32_t n, int32_t a)
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

void agn_pw_acc(const int16_t *in, uint16_t in_ch, const int16_t *w, const int32_t *bias,
                uint16_t out_ch, int32_t *acc)
{
    uint32_t o;
    for (o = 0u; o < out_ch; o++) {
        acc[o] = dot16(in, w, in_ch, bias[o]);
        w += in_ch;
    }
}

void agn_pw_pixel(const int16_t *in, uint16_t in_ch, const int16_t *w, const int32_t *bias,
                  uint16_t out_ch, const int32_t *mult, const int8_t *shift, int32_t lo,
                  int32_t hi, int16_t *out)
{
    uint32_t o;
    for (o = 0u; o < out_ch; o++) {
        int32_t a = dot16(in, w, in_ch, bias[o]);
        out[o] = (int16_t)agn_requant(a, mult[o], shift[o], lo, hi);
        w += in_ch;
    }
}

void agn_dense(const int32_t *in, uint16_t in_n, const int16_t *w, const int32_t *bias,
               uint16_t out_n, const int32_t *mult, const int8_t *shift, int32_t *out)
{
    uint32_t j;
    uint32_t i;

    for (j = 0u; j < out_n; j++) {
        int32_t a = bias[j];
        for (i = 0u; i < in_n; i++) {
            a += (int32_t)w[i] * in[i];
        }
        out[j] = agn_requant(a, mult[j], shift[j], (-2147483647 - 1), 2147483647);
        w += in_n;
    }
}
