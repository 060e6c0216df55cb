/*
 * agilenn_kernels.c - integer kernels of the AgileNN device network (see the header).
 */
#include "agilenn_kernels.h"

#if AGN_HAVE_DSP
/*
 * DSP path helpers. Requantization in three instructions:
 *   h' = SMMLA(acc, mult, 2^(shift-1)) = floor((acc * mult + 2^(31 + shift)) / 2^32)
 *   v  = h' >> shift
 * equals agn_requant's ((h >> (shift - 1)) + 1) >> 1 with h = (acc * mult) >> 32 (adding an
 * integer commutes with the floor), then one saturation for the usual clamps:
 *   [0, 2^15 - 1]       USAT #15 (ReLU6 outputs);
 *   [-2^15 + 1, 2^15 - 1] SSAT #16 and two saturating negations (QSUB16 from 0), which map
 *                       -2^15 to -2^15 + 1 and leave every other value;
 * any other [lo, hi] is clamped with compares.
 */
#define AGN_AI static inline __attribute__((always_inline))

enum { CLAMP_U15 = 0, CLAMP_S16_SYM = 1, CLAMP_ANY = 2 };

static int clamp_mode(int32_t lo, int32_t hi)
{
    if (hi == 32767 && lo == 0) {
        return CLAMP_U15;
    }
    if (hi == 32767 && lo == -32767) {
        return CLAMP_S16_SYM;
    }
    return CLAMP_ANY;
}

AGN_AI int32_t dsp_smmla(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

AGN_AI int32_t dsp_requant(int32_t acc, int32_t mult, int32_t rnd, int32_t shift, int mode,
                           int32_t lo, int32_t hi)
{
    int32_t v = dsp_smmla(acc, mult, rnd) >> shift;
    if (mode == CLAMP_U15) {
        return (int32_t)__usat(v, 15);
    }
    if (mode == CLAMP_S16_SYM) {
        return __qsub16(0, __qsub16(0, __ssat(v, 16)));
    }
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Two 16-bit values into one word: lo in the bottom half, hi in the top half (PKHBT). */
AGN_AI uint32_t dsp_pack(int32_t lo, int32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}

/* The top halves of a (bottom) and b (top) (PKHTB). */
AGN_AI uint32_t dsp_pack_tops(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}

/* (lo >> 15) in the bottom half, (hi >> 15) in the top half (LSL + PKHTB). */
AGN_AI uint32_t dsp_pack_q15(int32_t lo, int32_t hi)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #15" : "=r"(r) : "r"((uint32_t)hi << 1), "r"(lo));
    return r;
}

AGN_AI void store_pair(int16_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* Eight bytes from an 8-byte aligned address (one LDRD). */
AGN_AI uint64_t load_quad(const int16_t *p)
{
    uint64_t v;
    memcpy(&v, __builtin_assume_aligned(p, 8), sizeof(v));
    return v;
}
#endif

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
        /* Two values per step: the (r0, r1) pairs of both columns (PKHBT / PKHTB) against the
         * weight pair (2^15 - frac, frac) (SMLAD; frac > 0 here, so both weights fit in int16),
         * both results >> 15 packed into one word (PKHTB) and stored at once. */
        const uint32_t wpair = (uint32_t)(AGN_K_COEF_ONE - (int32_t)frac) | ((uint32_t)frac << 16);
        for (; i + 3u < n; i += 4u) {
            const uint32_t a = agn_load_pair(r0 + i), b = agn_load_pair(r1 + i);
            const uint32_t c = agn_load_pair(r0 + i + 2u), d = agn_load_pair(r1 + i + 2u);
            store_pair(out + i, dsp_pack_q15(__smlad(dsp_pack(a, b), wpair, half),
                                             __smlad(dsp_pack_tops(a, b), wpair, half)));
            store_pair(out + i + 2u, dsp_pack_q15(__smlad(dsp_pack(c, d), wpair, half),
                                                  __smlad(dsp_pack_tops(c, d), wpair, half)));
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

#if AGN_HAVE_DSP
/*
 * DSP depthwise row, two outputs per step. Per kernel row k the weights sit in two pairs,
 * wa = (w0, w1) and wb = (w1, w2), and the input columns c0.. of the step as 32-bit pairs
 * A = (c0, c1), B = (c2, c3), C = (c4, c5), D = (c3, c4):
 *   stride 1: out0 = A.wa + c2 w2 (SMLAD, SMLABT)   out1 = c1 w0 + B.wb (SMLATB, SMLAD)
 *   stride 2: out0 = A.wa + c2 w2                   out1 = B.wa + c4 w2 (SMLAD, SMLATT on D)
 *   stride 3: out0 = A.wa + c2 w2                   out1 = c3 w0 + C.wb
 * Only columns inside the two windows are read. mode/stride are constants in each
 * instantiation (always_inline), so the selection costs nothing inside the loop.
 */
AGN_AI void dw_row_dsp(const int16_t *r0, const int16_t *r1, const int16_t *r2,
                       const uint32_t stride, uint32_t out_w, const int16_t *w, int32_t bias,
                       agn_rq_t rq, const int mode, int32_t lo, int32_t hi, int16_t *out,
                       uint32_t out_step)
{
    const uint32_t a0 = agn_load_pair(w), b0 = agn_load_pair(w + 1);
    const uint32_t a1 = agn_load_pair(w + 3), b1 = agn_load_pair(w + 4);
    const uint32_t a2 = agn_load_pair(w + 6), b2 = agn_load_pair(w + 7);
    const int32_t mult = rq.mult;
    const int32_t shift = rq.shift;
    const int32_t rnd = (int32_t)(1u << (shift - 1));
    const uint32_t step2 = 2u * stride;
    int16_t *const end = out + (out_w & ~1u) * out_step;

    while (out != end) {
        int32_t s0;
        int32_t s1;
        if (stride == 3u) {
            uint32_t p = agn_load_pair(r0), q = agn_load_pair(r0 + 2), t = agn_load_pair(r0 + 4);
            s0 = __smlabt(q, b0, __smlad(p, a0, bias));
            s1 = __smlad(t, b0, __smlatb(q, a0, bias));
            p = agn_load_pair(r1); q = agn_load_pair(r1 + 2); t = agn_load_pair(r1 + 4);
            s0 = __smlabt(q, b1, __smlad(p, a1, s0));
            s1 = __smlad(t, b1, __smlatb(q, a1, s1));
            p = agn_load_pair(r2); q = agn_load_pair(r2 + 2); t = agn_load_pair(r2 + 4);
            s0 = __smlabt(q, b2, __smlad(p, a2, s0));
            s1 = __smlad(t, b2, __smlatb(q, a2, s1));
        } else if (stride == 2u) {
            uint32_t p = agn_load_pair(r0), q = agn_load_pair(r0 + 2), t = agn_load_pair(r0 + 3);
            s0 = __smlabt(q, b0, __smlad(p, a0, bias));
            s1 = __smlatt(t, b0, __smlad(q, a0, bias));
            p = agn_load_pair(r1); q = agn_load_pair(r1 + 2); t = agn_load_pair(r1 + 3);
            s0 = __smlabt(q, b1, __smlad(p, a1, s0));
            s1 = __smlatt(t, b1, __smlad(q, a1, s1));
            p = agn_load_pair(r2); q = agn_load_pair(r2 + 2); t = agn_load_pair(r2 + 3);
            s0 = __smlabt(q, b2, __smlad(p, a2, s0));
            s1 = __smlatt(t, b2, __smlad(q, a2, s1));
        } else {
            uint32_t p = agn_load_pair(r0), q = agn_load_pair(r0 + 2);
            s0 = __smlabt(q, b0, __smlad(p, a0, bias));
            s1 = __smlad(q, b0, __smlatb(p, a0, bias));
            p = agn_load_pair(r1); q = agn_load_pair(r1 + 2);
            s0 = __smlabt(q, b1, __smlad(p, a1, s0));
            s1 = __smlad(q, b1, __smlatb(p, a1, s1));
            p = agn_load_pair(r2); q = agn_load_pair(r2 + 2);
            s0 = __smlabt(q, b2, __smlad(p, a2, s0));
            s1 = __smlad(q, b2, __smlatb(p, a2, s1));
        }
        out[0] = (int16_t)dsp_requant(s0, mult, rnd, shift, mode, lo, hi);
        out[out_step] = (int16_t)dsp_requant(s1, mult, rnd, shift, mode, lo, hi);
        out += 2u * out_step;
        r0 += step2;
        r1 += step2;
        r2 += step2;
    }
    if (out_w & 1u) {
        int32_t acc = __smlabt(r0[2], b0, __smlad(agn_load_pair(r0), a0, bias));
        acc = __smlabt(r1[2], b1, __smlad(agn_load_pair(r1), a1, acc));
        acc = __smlabt(r2[2], b2, __smlad(agn_load_pair(r2), a2, acc));
        *out = (int16_t)dsp_requant(acc, mult, rnd, shift, mode, lo, hi);
    }
}

#define AGN_DW_CASE(S, MODE)                                                                \
    dw_row_dsp(r0, r1, r2, (S), out_w, w, bias, rq, (MODE), lo, hi, out, out_step)

static void dw_row_s1(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t out_w,
                      const int16_t *w, int32_t bias, agn_rq_t rq, int32_t lo, int32_t hi,
                      int16_t *out, uint32_t out_step)
{
    const int mode = clamp_mode(lo, hi);
    if (mode == CLAMP_S16_SYM) {
        AGN_DW_CASE(1u, CLAMP_S16_SYM);
    } else if (mode == CLAMP_U15) {
        AGN_DW_CASE(1u, CLAMP_U15);
    } else {
        AGN_DW_CASE(1u, CLAMP_ANY);
    }
}

static void dw_row_s2(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t out_w,
                      const int16_t *w, int32_t bias, agn_rq_t rq, int32_t lo, int32_t hi,
                      int16_t *out, uint32_t out_step)
{
    const int mode = clamp_mode(lo, hi);
    if (mode == CLAMP_S16_SYM) {
        AGN_DW_CASE(2u, CLAMP_S16_SYM);
    } else if (mode == CLAMP_U15) {
        AGN_DW_CASE(2u, CLAMP_U15);
    } else {
        AGN_DW_CASE(2u, CLAMP_ANY);
    }
}

static void dw_row_s3(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t out_w,
                      const int16_t *w, int32_t bias, agn_rq_t rq, int32_t lo, int32_t hi,
                      int16_t *out, uint32_t out_step)
{
    const int mode = clamp_mode(lo, hi);
    if (mode == CLAMP_S16_SYM) {
        AGN_DW_CASE(3u, CLAMP_S16_SYM);
    } else if (mode == CLAMP_U15) {
        AGN_DW_CASE(3u, CLAMP_U15);
    } else {
        AGN_DW_CASE(3u, CLAMP_ANY);
    }
}
#endif

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

#if AGN_HAVE_DSP
    if (stride == 3u) {
        dw_row_s3(r0, r1, r2, out_w, w, bias, rq, lo, hi, out, out_step);
        return;
    }
    if (stride == 2u) {
        dw_row_s2(r0, r1, r2, out_w, w, bias, rq, lo, hi, out, out_step);
        return;
    }
    if (stride == 1u) {
        dw_row_s1(r0, r1, r2, out_w, w, bias, rq, lo, hi, out, out_step);
        return;
    }
#endif
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

#if AGN_HAVE_DSP
/*
 * DSP pointwise row of 3-channel pixels, two pixels per step: their six values are three
 * 32-bit pairs A = (p0c0, p0c1), B = (p0c2, p1c0), C = (p1c1, p1c2) and the weights two pairs
 * wa = (w0, w1), wb = (w1, w2):
 *   out0 = A.wa + p0c2 w2 (SMLAD, SMLABT)    out1 = p1c0 w0 + C.wb (SMLATB, SMLAD)
 * the two requantized outputs are packed into one word and stored at once.
 */
AGN_AI void pw3_row_dsp(const int16_t *in, uint32_t n_px, const int16_t *w, const int32_t *bias,
                        uint32_t out_ch, const agn_rq_t *rq, const int mode, int32_t lo,
                        int32_t hi, int16_t *out, uint32_t out_stride)
{
    uint32_t o;
    for (o = 0u; o < out_ch; o++) {
        const uint32_t wa = agn_load_pair(w + 3u * o);
        const uint32_t wb = agn_load_pair(w + 3u * o + 1u);
        const int32_t b = bias[o];
        const int32_t mult = rq[o].mult;
        const int32_t shift = rq[o].shift;
        const int32_t rnd = (int32_t)(1u << (shift - 1));
        const int16_t *px = in;
        int16_t *dst = out + o * out_stride;
        int16_t *const end = dst + (n_px & ~1u);
        for (; dst != end; dst += 2, px += 6) {
            const uint32_t pa = agn_load_pair(px);
            const uint32_t pb = agn_load_pair(px + 2);
            const uint32_t pc = agn_load_pair(px + 4);
            const int32_t s0 = __smlabt(pb, wb, __smlad(pa, wa, b));
            const int32_t s1 = __smlad(pc, wb, __smlatb(pb, wa, b));
            store_pair(dst, dsp_pack(dsp_requant(s0, mult, rnd, shift, mode, lo, hi),
                                     dsp_requant(s1, mult, rnd, shift, mode, lo, hi)));
        }
        if (n_px & 1u) {
            const int32_t s0 = __smlabt(px[2], wb, __smlad(agn_load_pair(px), wa, b));
            *dst = (int16_t)dsp_requant(s0, mult, rnd, shift, mode, lo, hi);
        }
    }
}
#endif

void agn_pw_row(const int16_t *in, uint32_t n_px, uint32_t in_ch, const int16_t *w,
                const int32_t *bias, uint32_t out_ch, const agn_rq_t *rq, int32_t lo,
                int32_t hi, int16_t *out, uint32_t out_stride)
{
    uint32_t o;
    uint32_t x;

#if AGN_HAVE_DSP
    if (in_ch == 3u) {
        const int mode = clamp_mode(lo, hi);
        if (mode == CLAMP_U15) {
            pw3_row_dsp(in, n_px, w, bias, out_ch, rq, CLAMP_U15, lo, hi, out, out_stride);
        } else if (mode == CLAMP_S16_SYM) {
            pw3_row_dsp(in, n_px, w, bias, out_ch, rq, CLAMP_S16_SYM, lo, hi, out, out_stride);
        } else {
            pw3_row_dsp(in, n_px, w, bias, out_ch, rq, CLAMP_ANY, lo, hi, out, out_stride);
        }
        return;
    }
#endif
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

#if AGN_HAVE_DSP
/* a > t as 0/1 for any int32 pair: the saturating difference t - a keeps the sign of the
 * exact one (QSUB), so its sign bit is the answer. */
AGN_AI uint32_t dsp_gt(int32_t a, int32_t t)
{
    return (uint32_t)__qsub(t, a) >> 31;
}

/*
 * DSP layer-2 pointwise + pooling + quantizer for 16 input channels and pixel vectors on an
 * 8-byte boundary (32 bytes each): per output channel its 8 weight pairs stay in registers
 * along the row, each pixel's 16 inputs come in with four LDRDs and go through 8 SMLADs;
 * a remote channel's index is a branch-free 3-step binary search over its 7 thresholds
 * (t[3], then t[1] or t[5], then t[2m]), each step one QSUB compare.
 */
static void pw_quant_row16_dsp(const int16_t *in, uint32_t n_px, const int16_t *w,
                               const int32_t *bias, uint32_t n_local, const agn_rq_t *rq,
                               int32_t hi, int32_t *pool, uint32_t n_remote, const int32_t *thr,
                               uint32_t n_thr, uint8_t *idx, uint32_t idx_stride)
{
    const int mode = clamp_mode(0, hi);
    uint32_t o;
    uint32_t x;

    for (o = 0u; o < n_local + n_remote; o++) {
        const int16_t *wo = w + 16u * o;
        const uint32_t w0 = agn_load_pair(wo), w1 = agn_load_pair(wo + 2);
        const uint32_t w2 = agn_load_pair(wo + 4), w3 = agn_load_pair(wo + 6);
        const uint32_t w4 = agn_load_pair(wo + 8), w5 = agn_load_pair(wo + 10);
        const uint32_t w6 = agn_load_pair(wo + 12), w7 = agn_load_pair(wo + 14);
        const int32_t b = bias[o];
        const int16_t *px = in;
#define AGN_PW16_ACC(a)                                                                     \
    do {                                                                                    \
        const uint64_t q0 = load_quad(px), q1 = load_quad(px + 4);                           \
        const uint64_t q2 = load_quad(px + 8), q3 = load_quad(px + 12);                      \
        (a) = __smlad((uint32_t)q0, w0, b);                                                 \
        (a) = __smlad((uint32_t)(q0 >> 32), w1, (a));                                       \
        (a) = __smlad((uint32_t)q1, w2, (a));                                               \
        (a) = __smlad((uint32_t)(q1 >> 32), w3, (a));                                       \
        (a) = __smlad((uint32_t)q2, w4, (a));                                               \
        (a) = __smlad((uint32_t)(q2 >> 32), w5, (a));                                       \
        (a) = __smlad((uint32_t)q3, w6, (a));                                               \
        (a) = __smlad((uint32_t)(q3 >> 32), w7, (a));                                       \
    } while (0)
        if (o < n_local) {
            const int32_t mult = rq[o].mult;
            const int32_t shift = rq[o].shift;
            const int32_t rnd = (int32_t)(1u << (shift - 1));
            int32_t sum = pool[o];
            for (x = 0u; x < n_px; x++, px += 16) {
                int32_t a;
                AGN_PW16_ACC(a);
                if (mode == CLAMP_U15) {
                    sum += dsp_requant(a, mult, rnd, shift, CLAMP_U15, 0, hi);
                } else {
                    sum += dsp_requant(a, mult, rnd, shift, CLAMP_ANY, 0, hi);
                }
            }
            pool[o] = sum;
        } else {
            const int32_t *t = thr + (o - n_local) * n_thr;
            uint8_t *ix = idx + (o - n_local) * idx_stride;
            if (n_thr == 7u) {
                const int32_t t3 = t[3];
                for (x = 0u; x < n_px; x++, px += 16) {
                    int32_t a;
                    uint32_t m;
                    AGN_PW16_ACC(a);
                    m = dsp_gt(a, t3);
                    m = 2u * m + dsp_gt(a, t[4u * m + 1u]);
                    m = 2u * m + dsp_gt(a, t[2u * m]);
                    ix[x] = (uint8_t)m;
                }
            } else {
                for (x = 0u; x < n_px; x++, px += 16) {
                    int32_t a;
                    AGN_PW16_ACC(a);
                    ix[x] = agn_threshold_index(a, t, n_thr);
                }
            }
        }
#undef AGN_PW16_ACC
    }
}
#endif

void agn_pw_quant_row(const int16_t *in, uint32_t n_px, uint32_t in_ch, const int16_t *w,
                      const int32_t *bias, uint32_t n_local, const agn_rq_t *rq, int32_t hi,
                      int32_t *pool, uint32_t n_remote, const int32_t *thr, uint32_t n_thr,
                      uint8_t *idx, uint32_t idx_stride)
{
    uint32_t o;
    uint32_t x;

#if AGN_HAVE_DSP
    if (in_ch == 16u && ((uintptr_t)in & 7u) == 0u) {
        pw_quant_row16_dsp(in, n_px, w, bias, n_local, rq, hi, pool, n_remote, thr, n_thr, idx,
                           idx_stride);
        return;
    }
#endif
    for (o = 0u; o < n_local + n_remote; o++) {
        const int16_t *wo = w + o * in_ch;
        const int16_t *px = in;
        if (o < n_local) {
            int32_t sum = pool[o];
            for (x = 0u; x < n_px; x++, px += in_ch) {
                sum += agn_requant(agn_dot(px, wo, in_ch, bias[o]), rq[o].mult, rq[o].shift, 0, hi);
            }
            pool[o] = sum;
        } else {
            const int32_t *t = thr + (o - n_local) * n_thr;
            uint8_t *ix = idx + (o - n_local) * idx_stride;
            for (x = 0u; x < n_px; x++, px += in_ch) {
                ix[x] = agn_threshold_index(agn_dot(px, wo, in_ch, bias[o]), t, n_thr);
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
