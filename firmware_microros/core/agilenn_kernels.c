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
#define AGN_HHALF (1 << (AGN_HSHIFT - 1))

void agn_hpass_rgb888(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out)
{
    int16_t *g = out + out_w;
    int16_t *b = g + out_w;
    uint32_t x;

    for (x = 0u; x < out_w; x++) {
        const uint8_t *p0 = row + 3u * xt[x].i0;
        const uint8_t *p1 = row + 3u * xt[x].i1;
        int32_t w1 = (int32_t)xt[x].frac;
        int32_t w0 = AGN_K_COEF_ONE - w1;
        out[x] = (int16_t)(((int32_t)p0[0] * w0 + (int32_t)p1[0] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        g[x] = (int16_t)(((int32_t)p0[1] * w0 + (int32_t)p1[1] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        b[x] = (int16_t)(((int32_t)p0[2] * w0 + (int32_t)p1[2] * w1 + AGN_HHALF) >> AGN_HSHIFT);
    }
}

static void hpass_rgb565(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                         uint32_t hi_byte)
{
    int16_t *g = out + out_w;
    int16_t *b = g + out_w;
    const uint32_t lo_byte = 1u - hi_byte;
    uint32_t x;
    uint8_t p0[3];
    uint8_t p1[3];

    for (x = 0u; x < out_w; x++) {
        const uint8_t *a0 = row + 2u * xt[x].i0;
        const uint8_t *a1 = row + 2u * xt[x].i1;
        int32_t w1 = (int32_t)xt[x].frac;
        int32_t w0 = AGN_K_COEF_ONE - w1;
        agn_rgb565_value_to_rgb888((uint32_t)a0[lo_byte] | ((uint32_t)a0[hi_byte] << 8), p0);
        agn_rgb565_value_to_rgb888((uint32_t)a1[lo_byte] | ((uint32_t)a1[hi_byte] << 8), p1);
        out[x] = (int16_t)(((int32_t)p0[0] * w0 + (int32_t)p1[0] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        g[x] = (int16_t)(((int32_t)p0[1] * w0 + (int32_t)p1[1] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        b[x] = (int16_t)(((int32_t)p0[2] * w0 + (int32_t)p1[2] * w1 + AGN_HHALF) >> AGN_HSHIFT);
    }
}

void agn_hpass_rgb565(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out)
{
    hpass_rgb565(row, xt, out_w, out, 1u);
}

void agn_hpass_rgb565be(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out)
{
    hpass_rgb565(row, xt, out_w, out, 0u);
}

void agn_vpass(const int16_t *r0, const int16_t *r1, uint16_t frac, uint32_t n, int16_t *out)
{
    const int32_t half = 1 << (AGN_K_COEF_BITS - 1);
    uint32_t i = 0u;

    if (frac == 0u) {
        memcpy(out, r0, n * sizeof(int16_t));
        return;
    }
#if AGN_HAVE_DSP
    {
        /* Two values per step: (r0, r1) pairs against the weight pair (w0, w1). */
        const uint32_t wpair = (uint32_t)(AGN_K_COEF_ONE - (int32_t)frac) | ((uint32_t)frac << 16);
        for (; i + 1u < n; i += 2u) {
            uint32_t a = agn_load_pair(r0 + i);
            uint32_t b = agn_load_pair(r1 + i);
            uint32_t lo = (a & 0xFFFFu) | (b << 16);         /* r0[i],   r1[i]   (PKHBT) */
            uint32_t hi = (b & 0xFFFF0000u) | (a >> 16);     /* r0[i+1], r1[i+1] (PKHTB) */
            out[i] = (int16_t)(__smlad(lo, wpair, half) >> AGN_K_COEF_BITS);
            out[i + 1u] = (int16_t)(__smlad(hi, wpair, half) >> AGN_K_COEF_BITS);
        }
    }
#endif
    {
        const int32_t w1 = (int32_t)frac;
        const int32_t w0 = AGN_K_COEF_ONE - w1;
        for (; i < n; i++) {
            out[i] = (int16_t)(((int32_t)r0[i] * w0 + (int32_t)r1[i] * w1 + half) >> AGN_K_COEF_BITS);
        }
    }
}

void agn_dw3x3_row(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t stride,
                   uint32_t out_w, const int16_t *w, int32_t bias, agn_rq_t rq, int32_t lo,
                   int32_t hi, int16_t *out, uint32_t out_step)
{
    const uint32_t w01 = agn_load_pair(w);
    const uint32_t w34 = agn_load_pair(w + 3);
    const uint32_t w67 = agn_load_pair(w + 6);
    const int32_t w2 = w[2];
    const int32_t w5 = w[5];
    const int32_t w8 = w[8];
    uint32_t x;

    for (x = 0u; x < out_w; x++) {
        int32_t acc = bias;
        acc = agn_mac2(agn_load_pair(r0), w01, acc);
        acc = agn_mac2(agn_load_pair(r1), w34, acc);
        acc = agn_mac2(agn_load_pair(r2), w67, acc);
        acc += w2 * r0[2] + w5 * r1[2] + w8 * r2[2];
        *out = (int16_t)agn_requant(acc, rq.mult, rq.shift, lo, hi);
        out += out_step;
        r0 += stride;
        r1 += stride;
        r2 += stride;
    }
}

void agn_pw_row(const int16_t *in, uint32_t n_px, uint32_t in_ch, const int16_t *w,
                const int32_t *bias, uint32_t out_ch, const agn_rq_t *rq, int32_t lo,
                int32_t hi, int16_t *out, uint32_t out_stride)
{
    uint32_t o;
    uint32_t x;

    for (o = 0u; o < out_ch; o++) {
        const int16_t *wo = w + o * in_ch;
        const int32_t b = bias[o];
        const int32_t mult = rq[o].mult;
        const int32_t shift = rq[o].shift;
        const int16_t *px = in;
        int16_t *dst = out + o * out_stride;
        if (in_ch == 3u) {
            const uint32_t w01 = agn_load_pair(wo);
            const int32_t w2 = wo[2];
            for (x = 0u; x < n_px; x++) {
                int32_t a = agn_mac2(agn_load_pair(px), w01, b) + w2 * px[2];
                dst[x] = (int16_t)agn_requant(a, mult, shift, lo, hi);
                px += 3;
            }
        } else {
            for (x = 0u; x < n_px; x++) {
                dst[x] = (int16_t)agn_requant(agn_dot(px, wo, in_ch, b), mult, shift, lo, hi);
                px += in_ch;
            }
        }
    }
}

void agn_dense(const int32_t *in, uint16_t in_n, const int16_t *w, const int32_t *bias,
               uint16_t out_n, const agn_rq_t *rq, int32_t *out)
{
    uint32_t j;
    uint32_t i;

    for (j = 0u; j < out_n; j++) {
        int32_t a = bias[j];
        for (i = 0u; i < in_n; i++) {
            a += (int32_t)w[i] * in[i];
        }
        out[j] = agn_requant(a, rq[j].mult, rq[j].shift, (-2147483647 - 1), 2147483647);
        w += in_n;
    }
}
