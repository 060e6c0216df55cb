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

void agn_hpass_rgb888(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                      uint32_t out_step)
{
    int16_t *g = out + out_w * out_step;
    int16_t *b = g + out_w * out_step;
    uint32_t x;

    for (x = 0u; x < out_w; x++) {
        const uint8_t *p0 = row + 3u * xt[x].i0;
        const uint8_t *p1 = row + 3u * xt[x].i1;
        int32_t w1 = (int32_t)xt[x].frac;
        int32_t w0 = AGN_K_COEF_ONE - w1;
        const uint32_t k = x * out_step;
        out[k] = (int16_t)(((int32_t)p0[0] * w0 + (int32_t)p1[0] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        g[k] = (int16_t)(((int32_t)p0[1] * w0 + (int32_t)p1[1] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        b[k] = (int16_t)(((int32_t)p0[2] * w0 + (int32_t)p1[2] * w1 + AGN_HHALF) >> AGN_HSHIFT);
    }
}

uint16_t agn_hplan_rgb888(const agn_tap_t *xt, uint16_t out_w, uint16_t src_w, agn_hstep_t *steps)
{
    uint32_t x;
    uint16_t n_fast = 0u;
    for (x = 0u; x < out_w; x++) {
        const uint32_t f = xt[x].frac;
        steps[x].o0 = (uint16_t)(3u * xt[x].i0);
        if (f == 0u) {
            steps[x].o1 = steps[x].o0;
            steps[x].w = ((uint32_t)1u << 14) | ((uint32_t)1u << 30);
        } else {
            steps[x].o1 = (uint16_t)(3u * xt[x].i1);
            steps[x].w = ((uint32_t)AGN_K_COEF_ONE - f) | (f << 16);
        }
        /* a 4-byte load at o reads bytes o..o+3: inside the row while o + 4 <= 3 src_w */
        if (n_fast == x && (uint32_t)steps[x].o0 + 4u <= 3u * src_w &&
            (uint32_t)steps[x].o1 + 4u <= 3u * src_w) {
            n_fast++;
        }
    }
    return n_fast;
}

void agn_hpass_rgb888_plan(const uint8_t *row, const agn_hstep_t *steps, uint16_t n_fast,
                           uint16_t out_w, int16_t *out, uint32_t out_step)
{
    int16_t *g = out + out_w * out_step;
    int16_t *b = g + out_w * out_step;
    uint32_t x = 0u;

#if AGN_HAVE_DSP
    /* Per column: two 4-byte loads (r g b + one more byte), PKHBT -> bytes r0 g0 r1 g1 and
     * PKHTB -> b0 . b1 ., UXTB16 (ROR 8) -> the (c0, c1) pairs, one SMLAD per channel. */
    {
        const uint32_t g_off = out_w * out_step; /* g = out + g_off, b = out + 2 g_off */
        const agn_hstep_t *st = steps;
        const agn_hstep_t *const st_end = steps + n_fast;
        for (; st != st_end; st++) {
            const uint32_t w = st->w;
            uint32_t a;
            uint32_t c;
            uint32_t rg;
            uint32_t gg;
            memcpy(&a, row + st->o0, sizeof(a));
            memcpy(&c, row + st->o1, sizeof(c));
            rg = dsp_pack((int32_t)a, (int32_t)c);
            __asm__("uxtb16 %0, %1, ror #8" : "=r"(gg) : "r"(rg)); /* (g0, g1) */
            out[0] = (int16_t)(__smlad(__uxtb16(rg), w, AGN_HHALF) >> AGN_HSHIFT);
            out[g_off] = (int16_t)(__smlad(gg, w, AGN_HHALF) >> AGN_HSHIFT);
            out[2u * g_off] = (int16_t)(__smlad(__uxtb16(dsp_pack_tops(a, c)), w, AGN_HHALF) >> AGN_HSHIFT);
            out += out_step;
        }
        x = n_fast;
        g = out + g_off;
        b = out + 2u * g_off;
    }
#else
    (void)n_fast;
#endif
    for (; x < out_w; x++) {
        const uint8_t *p0 = row + steps[x].o0;
        const uint8_t *p1 = row + steps[x].o1;
        const int32_t w0 = (int32_t)(steps[x].w & 0xFFFFu);
        const int32_t w1 = (int32_t)(steps[x].w >> 16);
        *out = (int16_t)(((int32_t)p0[0] * w0 + (int32_t)p1[0] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        *g = (int16_t)(((int32_t)p0[1] * w0 + (int32_t)p1[1] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        *b = (int16_t)(((int32_t)p0[2] * w0 + (int32_t)p1[2] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        out += out_step;
        g += out_step;
        b += out_step;
    }
}

void agn_hplan_rgb565(const agn_tap_t *xt, uint16_t out_w, agn_hstep_t *steps)
{
    uint32_t x;
    for (x = 0u; x < out_w; x++) {
        const uint32_t f = xt[x].frac;
        steps[x].o0 = (uint16_t)(2u * xt[x].i0);
        if (f == 0u) {
            steps[x].o1 = steps[x].o0;
            steps[x].w = ((uint32_t)1u << 14) | ((uint32_t)1u << 30);
        } else {
            steps[x].o1 = (uint16_t)(2u * xt[x].i1);
            steps[x].w = ((uint32_t)AGN_K_COEF_ONE - f) | (f << 16);
        }
    }
}

void agn_hpass_rgb565_plan(const uint8_t *row, const agn_hstep_t *steps, uint16_t out_w,
                           int16_t *out, uint32_t out_step, uint32_t big_endian)
{
    const uint32_t g_off = out_w * out_step; /* g = out + g_off, b = out + 2 g_off */
    const agn_hstep_t *st = steps;
    const agn_hstep_t *const st_end = steps + out_w;

    for (; st != st_end; st++, out += out_step) {
        const uint32_t w = st->w;
        uint16_t v0;
        uint16_t v1;
        memcpy(&v0, row + st->o0, sizeof(v0));
        memcpy(&v1, row + st->o1, sizeof(v1));
#if AGN_HAVE_DSP
        {
            /* both pixels in one word (little-endian host order; REV16 for big-endian) */
            uint32_t px = dsp_pack((int32_t)v0, (int32_t)v1);
            uint32_t t;
            if (big_endian) {
                __asm__("rev16 %0, %1" : "=r"(px) : "r"(px));
            }
            t = (px >> 11) & 0x001F001Fu;
            out[0] = (int16_t)(__smlad(((t + (t << 5)) >> 2) & 0x00FF00FFu, w, AGN_HHALF) >> AGN_HSHIFT);
            t = (px >> 5) & 0x003F003Fu;
            out[g_off] = (int16_t)(__smlad(((t + (t << 6)) >> 4) & 0x00FF00FFu, w, AGN_HHALF) >> AGN_HSHIFT);
            t = px & 0x001F001Fu;
            out[2u * g_off] = (int16_t)(__smlad(((t + (t << 5)) >> 2) & 0x00FF00FFu, w, AGN_HHALF) >> AGN_HSHIFT);
        }
#else
        {
            const uint8_t *b0 = (const uint8_t *)&v0;
            const uint8_t *b1 = (const uint8_t *)&v1;
            const uint32_t lo = big_endian ? 1u : 0u;
            const int32_t w0 = (int32_t)(w & 0xFFFFu);
            const int32_t w1 = (int32_t)(w >> 16);
            uint8_t p0[3];
            uint8_t p1[3];
            /* bytes in memory order, whatever the host's byte order */
            agn_rgb565_value_to_rgb888((uint32_t)b0[lo] | ((uint32_t)b0[1u - lo] << 8), p0);
            agn_rgb565_value_to_rgb888((uint32_t)b1[lo] | ((uint32_t)b1[1u - lo] << 8), p1);
            out[0] = (int16_t)(((int32_t)p0[0] * w0 + (int32_t)p1[0] * w1 + AGN_HHALF) >> AGN_HSHIFT);
            out[g_off] = (int16_t)(((int32_t)p0[1] * w0 + (int32_t)p1[1] * w1 + AGN_HHALF) >> AGN_HSHIFT);
            out[2u * g_off] = (int16_t)(((int32_t)p0[2] * w0 + (int32_t)p1[2] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        }
#endif
    }
}

static void hpass_rgb565(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                         uint32_t out_step, uint32_t hi_byte)
{
    int16_t *g = out + out_w * out_step;
    int16_t *b = g + out_w * out_step;
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
        out[x * out_step] = (int16_t)(((int32_t)p0[0] * w0 + (int32_t)p1[0] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        g[x * out_step] = (int16_t)(((int32_t)p0[1] * w0 + (int32_t)p1[1] * w1 + AGN_HHALF) >> AGN_HSHIFT);
        b[x * out_step] = (int16_t)(((int32_t)p0[2] * w0 + (int32_t)p1[2] * w1 + AGN_HHALF) >> AGN_HSHIFT);
    }
}

void agn_hpass_rgb565(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                      uint32_t out_step)
{
    hpass_rgb565(row, xt, out_w, out, out_step, 1u);
}

void agn_hpass_rgb565be(const uint8_t *row, const agn_tap_t *xt, uint16_t out_w, int16_t *out,
                        uint32_t out_step)
{
    hpass_rgb565(row, xt, out_w, out, out_step, 0u);
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

void agn_vpass_pair(const int16_t *pair, uint32_t s0, uint16_t frac, uint32_t n, int16_t *out)
{
    const int32_t half = 1 << (AGN_K_COEF_BITS - 1);
    const uint32_t s1 = 1u - s0;
    uint32_t i = 0u;

#if AGN_HAVE_DSP
    if (n >= 4u && (((uintptr_t)pair | (uintptr_t)out) & 3u) == 0u) {
        /* By hand, four values per step, two LDRDs of (row 0, row 1) pairs and one STRD. */
        const int16_t *src = pair;
        int16_t *dst = out;
        int16_t *const end = out + (n & ~3u);
        uint32_t a;
        uint32_t b;
        uint32_t c;
        uint32_t d;
        if (frac == 0u && s0 == 0u) { /* row 0 alone: PKHBT of two pairs */
            __asm__ volatile(
                "1:\n\t"
                "ldrd %[a], %[b], [%[src]], #8\n\t"
                "ldrd %[c], %[d], [%[src]], #8\n\t"
                "pkhbt %[a], %[a], %[b], lsl #16\n\t"
                "pkhbt %[c], %[c], %[d], lsl #16\n\t"
                "strd %[a], %[c], [%[dst]], #8\n\t"
                "cmp %[dst], %[end]\n\t"
                "bne 1b"
                : [src] "+r"(src), [dst] "+r"(dst), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c),
                  [d] "=&r"(d)
                : [end] "r"(end)
                : "cc", "memory");
        } else if (frac == 0u) { /* row 1 alone: PKHTB */
            __asm__ volatile(
                "1:\n\t"
                "ldrd %[a], %[b], [%[src]], #8\n\t"
                "ldrd %[c], %[d], [%[src]], #8\n\t"
                "pkhtb %[a], %[b], %[a], asr #16\n\t"
                "pkhtb %[c], %[d], %[c], asr #16\n\t"
                "strd %[a], %[c], [%[dst]], #8\n\t"
                "cmp %[dst], %[end]\n\t"
                "bne 1b"
                : [src] "+r"(src), [dst] "+r"(dst), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c),
                  [d] "=&r"(d)
                : [end] "r"(end)
                : "cc", "memory");
        } else { /* one SMLAD per value with the weights in (row 0, row 1) order, >> 15 */
            const uint32_t wf = (uint32_t)(AGN_K_COEF_ONE - (int32_t)frac);
            const uint32_t wpair =
                (s0 == 0u) ? (wf | ((uint32_t)frac << 16)) : ((uint32_t)frac | (wf << 16));
            __asm__ volatile(
                "1:\n\t"
                "ldrd %[a], %[b], [%[src]], #8\n\t"
                "ldrd %[c], %[d], [%[src]], #8\n\t"
                "smlad %[a], %[a], %[w], %[h]\n\t"
                "smlad %[b], %[b], %[w], %[h]\n\t"
                "smlad %[c], %[c], %[w], %[h]\n\t"
                "smlad %[d], %[d], %[w], %[h]\n\t"
                "lsl %[b], %[b], #1\n\t"
                "lsl %[d], %[d], #1\n\t"
                "pkhtb %[a], %[b], %[a], asr #15\n\t"
                "pkhtb %[c], %[d], %[c], asr #15\n\t"
                "strd %[a], %[c], [%[dst]], #8\n\t"
                "cmp %[dst], %[end]\n\t"
                "bne 1b"
                : [src] "+r"(src), [dst] "+r"(dst), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c),
                  [d] "=&r"(d)
                : [end] "r"(end), [w] "r"(wpair), [h] "r"(half)
                : "cc", "memory");
        }
        i = n & ~3u;
    }
#endif
    {
        const int32_t w1 = (int32_t)frac;
        const int32_t w0 = AGN_K_COEF_ONE - w1;
        for (; i < n; i++) {
            out[i] = (int16_t)(((int32_t)pair[2u * i + s0] * w0 + (int32_t)pair[2u * i + s1] * w1 + half) >>
                               AGN_K_COEF_BITS);
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

/*
 * The depthwise rows by hand for strides 2 and 3, the symmetric 16-bit clamp and 4-byte
 * aligned rows, two outputs per step (the pairs of dw_row_dsp), every channel of the row in
 * one call. Registers: the three row pointers, the output pointer and step, the channel's
 * packed constants (agn_dw_packed_t), 0, the two sums, one LDRD pair of inputs and one of
 * constants; the constants of each kernel row (wa, wb), the requantization and the bias
 * are loaded from the packed block with LDRD/LDR as they are needed. Per two outputs,
 * stride 3: bias, 3 x (LDRD w, LDRD in, LDR in, 4 MACs), LDRD + 2 SMMLA, LDR + 2 ASR,
 * 2 SSAT + 4 QSUB16, 2 STRH + ADD, the end from the stack, CMP, BNE: 40 instructions.
 */
static __attribute__((noinline)) void dw_rows_s16_asm(const int16_t *r0, const int16_t *r1,
                                                      const int16_t *r2, uint32_t in_ch_step,
                                                      uint32_t n_ch, uint32_t stride,
                                                      uint32_t n_pairs, const agn_dw_packed_t *k,
                                                      int16_t *out, uint32_t out_ch_step,
                                                      uint32_t out_step)
{
    const uint32_t step = 2u * out_step; /* bytes */
    const int32_t zero = 0;
    uint32_t c;

    for (c = 0u; c < n_ch; c++, k++) {
        const int16_t *p0 = r0 + c * in_ch_step;
        const int16_t *p1 = r1 + c * in_ch_step;
        const int16_t *p2 = r2 + c * in_ch_step;
        int16_t *o = out + c * out_ch_step;
        int16_t *end = o + 2u * n_pairs * out_step;
        int32_t s0;
        int32_t s1;
        uint32_t p;
        uint32_t q;
        uint32_t wa;
        uint32_t wb;
#define AGN_DW_REQUANT_STORE                                                                \
    "ldrd %[wa], %[wb], [%[k], #24]\n\t"                                                     \
    "smmla %[s0], %[s0], %[wa], %[wb]\n\t"                                                   \
    "smmla %[s1], %[s1], %[wa], %[wb]\n\t"                                                   \
    "ldr %[wa], [%[k], #32]\n\t"                                                             \
    "asr %[s0], %[s0], %[wa]\n\t"                                                            \
    "asr %[s1], %[s1], %[wa]\n\t"                                                            \
    "ssat %[s0], #16, %[s0]\n\t"                                                             \
    "ssat %[s1], #16, %[s1]\n\t"                                                             \
    "qsub16 %[s0], %[zero], %[s0]\n\t"                                                       \
    "qsub16 %[s1], %[zero], %[s1]\n\t"                                                       \
    "qsub16 %[s0], %[zero], %[s0]\n\t"                                                       \
    "qsub16 %[s1], %[zero], %[s1]\n\t"                                                       \
    "strh %[s1], [%[out], %[step]]\n\t"                                                      \
    "strh %[s0], [%[out]]\n\t"                                                               \
    "add %[out], %[out], %[step], lsl #1\n\t"                                                \
    "ldr %[p], %[end]\n\t"                                                                   \
    "cmp %[out], %[p]\n\t"                                                                   \
    "bne 1b"
#define AGN_DW_OPERANDS                                                                     \
    : [r0] "+r"(p0), [r1] "+r"(p1), [r2] "+r"(p2), [out] "+r"(o), [s0] "=&r"(s0),            \
      [s1] "=&r"(s1), [p] "=&r"(p), [q] "=&r"(q), [wa] "=&r"(wa), [wb] "=&r"(wb)              \
    : [k] "r"(k), [zero] "r"(zero), [step] "r"(step), [end] "m"(end)                         \
    : "cc", "memory"
        if (stride == 3u) {
            /* out0 = (c0,c1).(w0,w1) + c2 w2, out1 = c3 w0 + (c4,c5).(w1,w2) */
            __asm__ volatile(
                "1:\n\t"
                "ldr %[s1], [%[k], #36]\n\t"
                "ldrd %[wa], %[wb], [%[k], #0]\n\t"
                "ldrd %[p], %[q], [%[r0]], #12\n\t"
                "smlad %[s0], %[p], %[wa], %[s1]\n\t"
                "smlabt %[s0], %[q], %[wb], %[s0]\n\t"
                "smlatb %[s1], %[q], %[wa], %[s1]\n\t"
                "ldr %[p], [%[r0], #-4]\n\t"
                "smlad %[s1], %[p], %[wb], %[s1]\n\t"
                "ldrd %[wa], %[wb], [%[k], #8]\n\t"
                "ldrd %[p], %[q], [%[r1]], #12\n\t"
                "smlad %[s0], %[p], %[wa], %[s0]\n\t"
                "smlabt %[s0], %[q], %[wb], %[s0]\n\t"
                "smlatb %[s1], %[q], %[wa], %[s1]\n\t"
                "ldr %[p], [%[r1], #-4]\n\t"
                "smlad %[s1], %[p], %[wb], %[s1]\n\t"
                "ldrd %[wa], %[wb], [%[k], #16]\n\t"
                "ldrd %[p], %[q], [%[r2]], #12\n\t"
                "smlad %[s0], %[p], %[wa], %[s0]\n\t"
                "smlabt %[s0], %[q], %[wb], %[s0]\n\t"
                "smlatb %[s1], %[q], %[wa], %[s1]\n\t"
                "ldr %[p], [%[r2], #-4]\n\t"
                "smlad %[s1], %[p], %[wb], %[s1]\n\t"
                AGN_DW_REQUANT_STORE
                AGN_DW_OPERANDS);
        } else {
            /* stride 2: out0 = (c0,c1).(w0,w1) + c2 w2, out1 = (c2,c3).(w0,w1) + c4 w2 */
            __asm__ volatile(
                "1:\n\t"
                "ldr %[s1], [%[k], #36]\n\t"
                "ldrd %[wa], %[wb], [%[k], #0]\n\t"
                "ldrd %[p], %[q], [%[r0]], #8\n\t"
                "smlad %[s0], %[p], %[wa], %[s1]\n\t"
                "smlabt %[s0], %[q], %[wb], %[s0]\n\t"
                "smlad %[s1], %[q], %[wa], %[s1]\n\t"
                "ldr %[p], [%[r0], #-2]\n\t"
                "smlatt %[s1], %[p], %[wb], %[s1]\n\t"
                "ldrd %[wa], %[wb], [%[k], #8]\n\t"
                "ldrd %[p], %[q], [%[r1]], #8\n\t"
                "smlad %[s0], %[p], %[wa], %[s0]\n\t"
                "smlabt %[s0], %[q], %[wb], %[s0]\n\t"
                "smlad %[s1], %[q], %[wa], %[s1]\n\t"
                "ldr %[p], [%[r1], #-2]\n\t"
                "smlatt %[s1], %[p], %[wb], %[s1]\n\t"
                "ldrd %[wa], %[wb], [%[k], #16]\n\t"
                "ldrd %[p], %[q], [%[r2]], #8\n\t"
                "smlad %[s0], %[p], %[wa], %[s0]\n\t"
                "smlabt %[s0], %[q], %[wb], %[s0]\n\t"
                "smlad %[s1], %[q], %[wa], %[s1]\n\t"
                "ldr %[p], [%[r2], #-2]\n\t"
                "smlatt %[s1], %[p], %[wb], %[s1]\n\t"
                AGN_DW_REQUANT_STORE
                AGN_DW_OPERANDS);
        }
#undef AGN_DW_REQUANT_STORE
#undef AGN_DW_OPERANDS
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

/* The portable depthwise row (also the DSP path's fallback for other strides). */
static void dw_row_portable(const int16_t *r0, const int16_t *r1, const int16_t *r2,
                            uint32_t stride, uint32_t out_w, const int16_t *w, int32_t bias,
                            agn_rq_t rq, int32_t lo, int32_t hi, int16_t *out, uint32_t out_step)
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

void agn_dw3x3_row(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t stride,
                   uint32_t out_w, const int16_t *w, int32_t bias, agn_rq_t rq, int32_t lo,
                   int32_t hi, int16_t *out, uint32_t out_step)
{
#if AGN_HAVE_DSP
    if ((stride == 3u || stride == 2u) && lo == -32767 && hi == 32767 && out_w >= 2u &&
        (((uintptr_t)r0 | (uintptr_t)r1 | (uintptr_t)r2) & 3u) == 0u) {
        /* the hand-scheduled loop for the pairs, the C loop for an odd last output */
        const uint32_t n_pairs = out_w / 2u;
        agn_dw_packed_t k;
        agn_dw_pack(w, &bias, &rq, 1u, &k);
        dw_rows_s16_asm(r0, r1, r2, 0u, 1u, stride, n_pairs, &k, out, 0u, out_step);
        if ((out_w & 1u) == 0u) {
            return;
        }
        r0 += 2u * n_pairs * stride;
        r1 += 2u * n_pairs * stride;
        r2 += 2u * n_pairs * stride;
        out += 2u * n_pairs * out_step;
        out_w = 1u;
    }
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
    dw_row_portable(r0, r1, r2, stride, out_w, w, bias, rq, lo, hi, out, out_step);
}

void agn_dw_pack(const int16_t *w, const int32_t *bias, const agn_rq_t *rq, uint32_t n_ch,
                 agn_dw_packed_t *out)
{
    uint32_t c;
    uint32_t r;
    for (c = 0u; c < n_ch; c++) {
        for (r = 0u; r < 3u; r++) {
            out[c].w[2u * r] = agn_load_pair(w + 9u * c + 3u * r);
            out[c].w[2u * r + 1u] = agn_load_pair(w + 9u * c + 3u * r + 1u);
        }
        out[c].mult = rq[c].mult;
        out[c].rnd = (int32_t)(1u << (rq[c].shift - 1));
        out[c].shift = rq[c].shift;
        out[c].bias = (bias != 0) ? bias[c] : 0;
    }
}

void agn_dw3x3_rows(const int16_t *r0, const int16_t *r1, const int16_t *r2, uint32_t in_ch_step,
                    uint32_t n_ch, uint32_t stride, uint32_t out_w, const agn_dw_packed_t *k,
                    int32_t lo, int32_t hi, int16_t *out, uint32_t out_ch_step, uint32_t out_step)
{
    uint32_t c;
#if AGN_HAVE_DSP
    if ((stride == 3u || stride == 2u) && lo == -32767 && hi == 32767 && out_w >= 2u &&
        (out_w & 1u) == 0u && (in_ch_step & 1u) == 0u &&
        (((uintptr_t)r0 | (uintptr_t)r1 | (uintptr_t)r2 | (uintptr_t)k) & 3u) == 0u) {
        dw_rows_s16_asm(r0, r1, r2, in_ch_step, n_ch, stride, out_w / 2u, k, out, out_ch_step,
                        out_step);
        return;
    }
#endif
    for (c = 0u; c < n_ch; c++) {
        int16_t w[9];
        agn_rq_t rq;
        uint32_t r;
        for (r = 0u; r < 3u; r++) { /* back to the 9 weights: (w0, w1), (w1, w2) per row */
            w[3u * r] = (int16_t)(k[c].w[2u * r] & 0xFFFFu);
            w[3u * r + 1u] = (int16_t)(k[c].w[2u * r + 1u] & 0xFFFFu);
            w[3u * r + 2u] = (int16_t)(k[c].w[2u * r + 1u] >> 16);
        }
        rq.mult = k[c].mult;
        rq.shift = k[c].shift;
        agn_dw3x3_row(r0 + c * in_ch_step, r1 + c * in_ch_step, r2 + c * in_ch_step, stride, out_w,
                      w, k[c].bias, rq, lo, hi, out + c * out_ch_step, out_step);
    }
}

#if AGN_HAVE_DSP
/*
 * The 3-input pointwise row by hand for the ReLU6 clamp [0, 2^15 - 1] and 4-byte aligned
 * input, every output channel in one call (n_pairs >= 1 pairs of pixels, the pairs of
 * pw3_row_dsp). The requantization shift is an immediate of USAT (USAT #15, ASR #s): one
 * copy of the loop per shift 1..31, chosen per channel. Per two outputs: LDRD + LDR of the
 * six inputs, 4 MACs, 2 x (SMMLA, USAT with shift), PKHBT, STR, CMP, BNE: 14 instructions.
 */
#define AGN_PW3_LOOP(S)                                                                     \
    case S:                                                                                 \
        __asm__ volatile("1:\n\t"                                                           \
                         "ldrd %[p], %[q], [%[px]], #12\n\t"                                \
                         "smlad %[s0], %[p], %[wa], %[bias]\n\t"                            \
                         "smlabt %[s0], %[q], %[wb], %[s0]\n\t"                             \
                         "smlatb %[s1], %[q], %[wa], %[bias]\n\t"                           \
                         "ldr %[p], [%[px], #-4]\n\t"                                       \
                         "smlad %[s1], %[p], %[wb], %[s1]\n\t"                              \
                         "smmla %[s0], %[s0], %[mult], %[rnd]\n\t"                          \
                         "smmla %[s1], %[s1], %[mult], %[rnd]\n\t"                          \
                         "usat %[s0], #15, %[s0], asr #" #S "\n\t"                         \
                         "usat %[s1], #15, %[s1], asr #" #S "\n\t"                         \
                         "pkhbt %[s0], %[s0], %[s1], lsl #16\n\t"                           \
                         "str %[s0], [%[dst]], #4\n\t"                                      \
                         "cmp %[px], %[end]\n\t"                                            \
                         "bne 1b"                                                           \
                         : [px] "+r"(px), [dst] "+r"(dst), [s0] "=&r"(s0), [s1] "=&r"(s1), \
                           [p] "=&r"(p), [q] "=&r"(q)                                       \
                         : [wa] "r"(wa), [wb] "r"(wb), [bias] "r"(b), [mult] "r"(mult),    \
                           [rnd] "r"(rnd), [end] "r"(end)                                   \
                         : "cc", "memory");                                                 \
        break;

static __attribute__((noinline)) void pw3_rows_u15_asm(const int16_t *in, uint32_t n_pairs,
                                                       const int16_t *w, const int32_t *bias,
                                                       const agn_rq_t *rq, uint32_t out_ch,
                                                       int16_t *out, uint32_t out_stride)
{
    const int16_t *const end = in + 6u * n_pairs;
    uint32_t o;
    for (o = 0u; o < out_ch; o++) {
        const uint32_t wa = agn_load_pair(w + 3u * o);
        const uint32_t wb = agn_load_pair(w + 3u * o + 1u);
        const int32_t b = bias[o];
        const int32_t mult = rq[o].mult;
        const int32_t rnd = (int32_t)(1u << (rq[o].shift - 1));
        const int16_t *px = in;
        int16_t *dst = out + o * out_stride;
        int32_t s0;
        int32_t s1;
        uint32_t p;
        uint32_t q;
        switch (rq[o].shift) {
            AGN_PW3_LOOP(1) AGN_PW3_LOOP(2) AGN_PW3_LOOP(3) AGN_PW3_LOOP(4) AGN_PW3_LOOP(5)
            AGN_PW3_LOOP(6) AGN_PW3_LOOP(7) AGN_PW3_LOOP(8) AGN_PW3_LOOP(9) AGN_PW3_LOOP(10)
            AGN_PW3_LOOP(11) AGN_PW3_LOOP(12) AGN_PW3_LOOP(13) AGN_PW3_LOOP(14) AGN_PW3_LOOP(15)
            AGN_PW3_LOOP(16) AGN_PW3_LOOP(17) AGN_PW3_LOOP(18) AGN_PW3_LOOP(19) AGN_PW3_LOOP(20)
            AGN_PW3_LOOP(21) AGN_PW3_LOOP(22) AGN_PW3_LOOP(23) AGN_PW3_LOOP(24) AGN_PW3_LOOP(25)
            AGN_PW3_LOOP(26) AGN_PW3_LOOP(27) AGN_PW3_LOOP(28) AGN_PW3_LOOP(29) AGN_PW3_LOOP(30)
            AGN_PW3_LOOP(31)
        default: /* shifts outside 1..31 are rejected by the exporter; keep them exact anyway */
            for (; px != end; px += 6, dst += 2) {
                const uint32_t pa = agn_load_pair(px);
                const uint32_t pb = agn_load_pair(px + 2);
                const uint32_t pc = agn_load_pair(px + 4);
                dst[0] = (int16_t)agn_requant(__smlabt(pb, wb, __smlad(pa, wa, b)), mult, rq[o].shift, 0, 32767);
                dst[1] = (int16_t)agn_requant(__smlad(pc, wb, __smlatb(pb, wa, b)), mult, rq[o].shift, 0, 32767);
            }
            break;
        }
        (void)s0;
        (void)s1;
        (void)p;
        (void)q;
    }
}
#undef AGN_PW3_LOOP

#endif

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
    if (in_ch == 3u && lo == 0 && hi == 32767 && n_px >= 2u && ((uintptr_t)in & 3u) == 0u) {
        const uint32_t n_pairs = n_px / 2u;
        pw3_rows_u15_asm(in, n_pairs, w, bias, rq, out_ch, out, out_stride);
        for (o = 0u; o < out_ch && (n_px & 1u); o++) {
            int16_t *dst = out + o * out_stride;
            { /* the last pixel */
                const int16_t *px = in + 6u * n_pairs;
                const int32_t rnd = (int32_t)(1u << (rq[o].shift - 1));
                const int32_t s0 = __smlabt(px[2], agn_load_pair(w + 3u * o + 1u),
                                            __smlad(agn_load_pair(px), agn_load_pair(w + 3u * o), bias[o]));
                dst[2u * n_pairs] = (int16_t)dsp_requant(s0, rq[o].mult, rnd, rq[o].shift, CLAMP_U15, 0, hi);
            }
        }
        return;
    }
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

/* The quantizer for 7 thresholds t (8 centroids) over n accumulators: a branch-free 3-step
 * binary search (t[3], then t[1] or t[5], then t[2m]), each step one QSUB compare. Out of
 * line (the profile shows the threshold search on its own). */
static __attribute__((noinline)) void quant7_row_dsp(const int32_t *dots, uint32_t n,
                                                     const int32_t *t, uint8_t *ix)
{
    const int32_t t3 = t[3];
    uint32_t x = n & ~1u;
    if (x != 0u) {
        /* by hand, two accumulators per step (LDRD) and their two indices in one STRH */
        const int32_t *d = dots;
        const int32_t *const end = dots + x;
        int32_t a0;
        int32_t a1;
        uint32_t m0;
        uint32_t m1;
        uint32_t tmp;
#define AGN_Q7_SEARCH(A, M)                                                                 \
    "qsub %[tmp], %[t3], %[" A "]\n\t"                                                       \
    "lsr %[" M "], %[tmp], #31\n\t"                                                         \
    "add %[tmp], %[t], %[" M "], lsl #4\n\t"                                                 \
    "ldr %[tmp], [%[tmp], #4]\n\t"                                                          \
    "qsub %[tmp], %[tmp], %[" A "]\n\t"                                                     \
    "lsr %[tmp], %[tmp], #31\n\t"                                                           \
    "add %[" M "], %[tmp], %[" M "], lsl #1\n\t"                                            \
    "ldr %[tmp], [%[t], %[" M "], lsl #3]\n\t"                                               \
    "qsub %[tmp], %[tmp], %[" A "]\n\t"                                                     \
    "lsr %[tmp], %[tmp], #31\n\t"                                                           \
    "add %[" M "], %[tmp], %[" M "], lsl #1\n\t"
        __asm__ volatile("1:\n\t"
                         "ldrd %[a0], %[a1], [%[d]], #8\n\t"
                         AGN_Q7_SEARCH("a0", "m0")
                         AGN_Q7_SEARCH("a1", "m1")
                         "orr %[m0], %[m0], %[m1], lsl #8\n\t"
                         "strh %[m0], [%[ix]], #2\n\t"
                         "cmp %[d], %[end]\n\t"
                         "bne 1b"
                         : [d] "+r"(d), [ix] "+r"(ix), [a0] "=&r"(a0), [a1] "=&r"(a1),
                           [m0] "=&r"(m0), [m1] "=&r"(m1), [tmp] "=&r"(tmp)
                         : [t] "r"(t), [t3] "r"(t3), [end] "r"(end)
                         : "cc", "memory");
#undef AGN_Q7_SEARCH
        ix -= x; /* back to the row start: the loop below indexes from it */
    }
    for (; x < n; x++) {
        const int32_t a = dots[x];
        uint32_t m = dsp_gt(a, t3);
        m = 2u * m + dsp_gt(a, t[4u * m + 1u]);
        m = 2u * m + dsp_gt(a, t[2u * m]);
        ix[x] = (uint8_t)m;
    }
}

/* Maximum row length of the DSP layer-2 kernel's accumulator row (longer rows go in
 * pieces). */
#define AGN_PWQ_CHUNK 32u

/*
 * Dot products of n >= 1 pixel vectors of 16 channels (8-byte aligned, 32 bytes each) with
 * one output channel's 16 weights plus its bias, by hand: 14 registers hold the operands
 * (8 weight pairs, bias, 2 pointers, the sum, one LDRD pair), nothing spills: per pixel
 * 4 LDRD (post-increment), 8 SMLAD, STR, the end pointer from the stack, CMP, BNE. Out of line, so that the
 * caller's values are not live across the loop.
 */
static __attribute__((noinline)) void dots16_dsp(const int16_t *px, int32_t *d, int32_t *d_end,
                                                 const int16_t *wo, int32_t bias)
{
    const uint32_t w0 = agn_load_pair(wo), w1 = agn_load_pair(wo + 2);
    const uint32_t w2 = agn_load_pair(wo + 4), w3 = agn_load_pair(wo + 6);
    const uint32_t w4 = agn_load_pair(wo + 8), w5 = agn_load_pair(wo + 10);
    const uint32_t w6 = agn_load_pair(wo + 12), w7 = agn_load_pair(wo + 14);
    int32_t a;
    uint32_t lo;
    uint32_t hi;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[lo], %[hi], [%[px]], #8\n\t"
        "smlad %[a], %[lo], %[w0], %[bias]\n\t"
        "smlad %[a], %[hi], %[w1], %[a]\n\t"
        "ldrd %[lo], %[hi], [%[px]], #8\n\t"
        "smlad %[a], %[lo], %[w2], %[a]\n\t"
        "smlad %[a], %[hi], %[w3], %[a]\n\t"
        "ldrd %[lo], %[hi], [%[px]], #8\n\t"
        "smlad %[a], %[lo], %[w4], %[a]\n\t"
        "smlad %[a], %[hi], %[w5], %[a]\n\t"
        "ldrd %[lo], %[hi], [%[px]], #8\n\t"
        "smlad %[a], %[lo], %[w6], %[a]\n\t"
        "smlad %[a], %[hi], %[w7], %[a]\n\t"
        "str %[a], [%[d]], #4\n\t"
        "ldr %[hi], %[end]\n\t"
        "cmp %[d], %[hi]\n\t"
        "bne 1b"
        : [px] "+r"(px), [d] "+r"(d), [a] "=&r"(a), [lo] "=&r"(lo), [hi] "=&r"(hi)
        : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [w3] "r"(w3), [w4] "r"(w4), [w5] "r"(w5),
          [w6] "r"(w6), [w7] "r"(w7), [bias] "r"(bias), [end] "m"(d_end)
        : "cc", "memory");
}

/*
 * Dot products of n >= 1 pixel vectors of 8 channels (8-byte aligned, 16 bytes each) with one
 * output channel's 8 weights plus its bias, by hand: per pixel 2 LDRD (post-increment), 4
 * SMLAD, STR, CMP, BNE; the 4 weight pairs, bias, pointers and end stay in registers.
 */
static __attribute__((noinline)) void dots8_dsp(const int16_t *px, int32_t *d, int32_t *d_end,
                                                const int16_t *wo, int32_t bias)
{
    const uint32_t w0 = agn_load_pair(wo), w1 = agn_load_pair(wo + 2);
    const uint32_t w2 = agn_load_pair(wo + 4), w3 = agn_load_pair(wo + 6);
    int32_t a;
    uint32_t lo;
    uint32_t hi;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[lo], %[hi], [%[px]], #8\n\t"
        "smlad %[a], %[lo], %[w0], %[bias]\n\t"
        "smlad %[a], %[hi], %[w1], %[a]\n\t"
        "ldrd %[lo], %[hi], [%[px]], #8\n\t"
        "smlad %[a], %[lo], %[w2], %[a]\n\t"
        "smlad %[a], %[hi], %[w3], %[a]\n\t"
        "str %[a], [%[d]], #4\n\t"
        "cmp %[d], %[end]\n\t"
        "bne 1b"
        : [px] "+r"(px), [d] "+r"(d), [a] "=&r"(a), [lo] "=&r"(lo), [hi] "=&r"(hi)
        : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [w3] "r"(w3), [bias] "r"(bias), [end] "r"(d_end)
        : "cc", "memory");
}

/*
 * Dot products of n >= 1 pixel vectors of 4 channels (8-byte aligned, 8 bytes each) with one
 * output channel's 4 weights plus its bias (the paper's 4-channel first layer): per pixel one
 * LDRD (post-increment), 2 SMLAD, STR, CMP, BNE; both weight pairs, bias, pointers and end stay
 * in registers.
 */
static __attribute__((noinline)) void dots4_dsp(const int16_t *px, int32_t *d, int32_t *d_end,
                                                const int16_t *wo, int32_t bias)
{
    const uint32_t w0 = agn_load_pair(wo), w1 = agn_load_pair(wo + 2);
    int32_t a;
    uint32_t lo;
    uint32_t hi;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[lo], %[hi], [%[px]], #8\n\t"
        "smlad %[a], %[lo], %[w0], %[bias]\n\t"
        "smlad %[a], %[hi], %[w1], %[a]\n\t"
        "str %[a], [%[d]], #4\n\t"
        "cmp %[d], %[end]\n\t"
        "bne 1b"
        : [px] "+r"(px), [d] "+r"(d), [a] "=&r"(a), [lo] "=&r"(lo), [hi] "=&r"(hi)
        : [w0] "r"(w0), [w1] "r"(w1), [bias] "r"(bias), [end] "r"(d_end)
        : "cc", "memory");
}

/*
 * DSP layer-2 pointwise + pooling + quantizer for 16, 8 or 4 input channels (in_ch) and pixel
 * vectors on an 8-byte boundary (32, 16 or 8 bytes each), per output channel in two passes over
 * the row so that neither loop runs out of registers:
 *   1. the dot products: the channel's 8 (4, 2) weight pairs stay in registers along the row,
 *      each pixel's 16 (8, 4) inputs come in with four (two, one) LDRDs and go through 8 (4, 2)
 *      SMLADs;
 *   2. bias + requantization into the pooling sum (local channels), or the index (remote
 *      channels): a branch-free 3-step binary search over 7 thresholds (t[3], then t[1] or
 *      t[5], then t[2m]), each step one QSUB compare.
 */
static void pw_quant_row_dsp(const int16_t *in, uint32_t n_px, uint32_t in_ch, const int16_t *w,
                               const int32_t *bias, uint32_t n_local, const agn_rq_t *rq,
                               int32_t hi, int32_t *pool, uint32_t n_remote, const int32_t *thr,
                               uint32_t n_thr, uint8_t *idx, uint32_t idx_stride)
{
    const int mode = clamp_mode(0, hi);
    int32_t dots[AGN_PWQ_CHUNK];
    uint32_t x0;

    for (x0 = 0u; x0 < n_px; x0 += AGN_PWQ_CHUNK) {
        const uint32_t n = (n_px - x0 < AGN_PWQ_CHUNK) ? n_px - x0 : AGN_PWQ_CHUNK; /* >= 1 */
        const int16_t *const row = in + in_ch * x0;
        uint32_t o;
        for (o = 0u; o < n_local + n_remote; o++) {
            const int32_t b = bias[o];
            uint32_t x;
            if (in_ch == 16u) {
                dots16_dsp(row, dots, dots + n, w + 16u * o, b);
            } else if (in_ch == 8u) {
                dots8_dsp(row, dots, dots + n, w + 8u * o, b);
            } else {
                dots4_dsp(row, dots, dots + n, w + 4u * o, b);
            }
            if (o < n_local) {
                const int32_t mult = rq[o].mult;
                const int32_t shift = rq[o].shift;
                const int32_t rnd = (int32_t)(1u << (shift - 1));
                int32_t sum = pool[o];
                for (x = 0u; x < n; x++) {
                    if (mode == CLAMP_U15) {
                        sum += dsp_requant(dots[x], mult, rnd, shift, CLAMP_U15, 0, hi);
                    } else {
                        sum += dsp_requant(dots[x], mult, rnd, shift, CLAMP_ANY, 0, hi);
                    }
                }
                pool[o] = sum;
            } else {
                const int32_t *t = thr + (o - n_local) * n_thr;
                uint8_t *ix = idx + (o - n_local) * idx_stride + x0;
                if (n_thr == 7u) {
                    quant7_row_dsp(dots, n, t, ix);
                } else {
                    for (x = 0u; x < n; x++) {
                        ix[x] = agn_threshold_index(dots[x], t, n_thr);
                    }
                }
            }
        }
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
    if ((in_ch == 16u || in_ch == 8u || in_ch == 4u) && ((uintptr_t)in & 7u) == 0u) {
        pw_quant_row_dsp(in, n_px, in_ch, w, bias, n_local, rq, hi, pool, n_remote, thr, n_thr, idx,
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
