/*
 * agilenn_codec.c - feature codec encoders (packed, rANS, LZW), see agilenn_codec.h and
 * docs/codec.md. C99, no allocation, no libc (a 4-byte memcpy that compiles to one load).
 */
#include "agilenn_codec.h"

#include <string.h>

/* ---------------------------------------------------------------- common */

static int32_t check_common(const uint8_t *indices, uint32_t count, uint16_t n_symbols,
                            const uint8_t *out)
{
    if ((indices == 0 && count != 0u) || out == 0) {
        return AGILENN_CODEC_ERR_ARG;
    }
    if (n_symbols < 2u || n_symbols > 256u || count > AGILENN_CODEC_MAX_SYMBOLS) {
        return AGILENN_CODEC_ERR_ARG;
    }
    return 0;
}

static void write_header(uint8_t *out, uint8_t codec_id, uint16_t n_symbols, uint32_t count)
{
    out[0] = (uint8_t)((AGILENN_CODEC_FORMAT_VERSION << 4) | codec_id);
    out[1] = (uint8_t)(n_symbols - 1u);
    out[2] = (uint8_t)(count & 0xFFu);
    out[3] = (uint8_t)((count >> 8) & 0xFFu);
    out[4] = (uint8_t)((count >> 16) & 0xFFu);
    out[5] = (uint8_t)((count >> 24) & 0xFFu);
}

static uint8_t bit_length(uint32_t v)
{
    uint8_t n = 0u;
    while (v != 0u) {
        v >>= 1;
        n++;
    }
    return n;
}

uint8_t agilenn_symbol_bits(uint16_t n_symbols)
{
    return (n_symbols < 2u) ? 1u : bit_length((uint32_t)n_symbols - 1u);
}

/* MSB-first bit writer over a caller buffer. */
typedef struct {
    uint8_t *out;
    uint32_t pos;
    uint32_t cap;
    uint32_t acc;   /* pending bits, right-aligned; fewer than 8 between calls */
    uint32_t nbits; /* number of pending bits */
} bit_writer_t;

/* Appends the low `width` (<= 16) bits of value; returns 0 or AGILENN_CODEC_ERR_BUFFER. */
static int32_t bw_put(bit_writer_t *bw, uint32_t value, uint32_t width)
{
    bw->acc = (bw->acc << width) | value;
    bw->nbits += width;
    while (bw->nbits >= 8u) {
        if (bw->pos >= bw->cap) {
            return AGILENN_CODEC_ERR_BUFFER;
        }
        bw->nbits -= 8u;
        bw->out[bw->pos++] = (uint8_t)((bw->acc >> bw->nbits) & 0xFFu);
    }
    bw->acc &= ((uint32_t)1u << bw->nbits) - 1u;
    return 0;
}

/* Writes the last partial byte, padded with zero bits. */
static int32_t bw_flush(bit_writer_t *bw)
{
    if (bw->nbits > 0u) {
        if (bw->pos >= bw->cap) {
            return AGILENN_CODEC_ERR_BUFFER;
        }
        bw->out[bw->pos++] = (uint8_t)((bw->acc << (8u - bw->nbits)) & 0xFFu);
        bw->acc = 0u;
        bw->nbits = 0u;
    }
    return 0;
}

/* ---------------------------------------------------------------- packed */

int32_t agilenn_packed_encode(const uint8_t *indices, uint32_t count, uint16_t n_symbols,
                              uint8_t *out, uint32_t out_cap)
{
    int32_t rc = check_common(indices, count, n_symbols, out);
    uint32_t bits;
    uint32_t need;
    uint32_t i;
    bit_writer_t bw;

    if (rc != 0) {
        return rc;
    }
    bits = agilenn_symbol_bits(n_symbols);
    need = AGILENN_PACKED_SIZE(count, bits);
    if (out_cap < need) {
        return AGILENN_CODEC_ERR_BUFFER;
    }
    write_header(out, (uint8_t)AGILENN_CODEC_PACKED, n_symbols, count);
    bw.out = out;
    bw.pos = AGILENN_CODEC_HEADER_BYTES;
    bw.cap = out_cap;
    bw.acc = 0u;
    bw.nbits = 0u;
    for (i = 0u; i < count; i++) {
        if (indices[i] >= n_symbols) {
            return AGILENN_CODEC_ERR_SYMBOL;
        }
        (void)bw_put(&bw, indices[i], bits); /* capacity checked above */
    }
    (void)bw_flush(&bw);
    return (int32_t)bw.pos;
}

/* ---------------------------------------------------------------- rANS */

static uint32_t rans_expected_tables(uint8_t context, uint32_t channels, uint32_t n_symbols)
{
    switch (context) {
    case AGILENN_RANS_CTX_SHARED:
        return 1u;
    case AGILENN_RANS_CTX_CHANNEL:
        return channels;
    case AGILENN_RANS_CTX_CHANNEL_LEFT:
        return channels * n_symbols;
    case AGILENN_RANS_CTX_CHANNEL_LEFT_ABOVE:
        return channels * n_symbols * n_symbols;
    default:
        return 0u;
    }
}

#if defined(__GNUC__)
#define AGN_CODEC_INLINE static inline __attribute__((always_inline))
#else
#define AGN_CODEC_INLINE static inline
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(AGN_PORTABLE_KERNELS)
#include <arm_acle.h>
#define AGN_CODEC_DSP 1
#else
#define AGN_CODEC_DSP 0
#endif

/* 1 if some index is >= n_sym. The DSP path tests four at a time: UQSUB8 of each byte and
 * n_sym - 1 is non-zero exactly for the bytes above n_sym - 1. */
static int rans_bad_symbol(const uint8_t *indices, uint32_t count, uint32_t n_sym)
{
    uint32_t i = 0u;
#if AGN_CODEC_DSP
    const uint32_t top = (n_sym - 1u) * 0x01010101u; /* n_sym <= 256 */
    uint32_t any = 0u;
    for (; i + 8u <= count; i += 8u) {
        uint32_t v0;
        uint32_t v1;
        memcpy(&v0, indices + i, sizeof(v0));
        memcpy(&v1, indices + i + 4u, sizeof(v1));
        any |= __uqsub8(v0, top) | __uqsub8(v1, top);
    }
    if (any != 0u) {
        return 1;
    }
#endif
    for (; i < count; i++) {
        if (indices[i] >= n_sym) {
            return 1;
        }
    }
    return 0;
}

/* The coder's state between symbols: x, the write pointer p (bytes go backwards, never
 * below stop) and the table constants. */
typedef struct {
    uint32_t x;
    uint8_t *p;
    uint8_t *stop;
    const uint16_t *freq;
    const uint16_t *cum;
    uint32_t x_max_unit; /* (L >> P) << 8: x must stay below x_max_unit * freq */
    uint32_t prec;
} rans_coder_t;

/* Codes symbol entry k of the tables freq/cum (= table * S + symbol, relative to the
 * pointers passed). Returns 0, AGILENN_CODEC_ERR_BUFFER or AGILENN_CODEC_ERR_TABLE (a zero
 * frequency). checked = 0: the caller has made sure that the buffer has room for every
 * byte this symbol can emit (at most 2: x < 2^31 and x_max >= 2^(31 - P), P <= 16). */
AGN_CODEC_INLINE int32_t rans_put(rans_coder_t *rc, const uint16_t *freq, const uint16_t *cum,
                                  uint32_t k, const int checked)
{
    const uint32_t f = freq[k];
    uint32_t x = rc->x;
    uint32_t x_max;
    uint32_t q;
    if (f == 0u) {
        return AGILENN_CODEC_ERR_TABLE;
    }
    x_max = rc->x_max_unit * f; /* <= 2^31 */
    while (x >= x_max) {
        if (checked && rc->p == rc->stop) {
            return AGILENN_CODEC_ERR_BUFFER;
        }
        *--rc->p = (uint8_t)(x & 0xFFu);
        x >>= 8;
    }
    /* x' = (x / f) * 2^P + x % f + cum = x + q * (2^P - f) + cum, q = x / f */
    q = x / f;
    rc->x = x + q * (((uint32_t)1u << rc->prec) - f) + cum[k];
    return 0;
}

/*
 * Codes one row of one channel's plane backwards (x = width-1 .. 0). ctx and (where the
 * caller can) n_sym are constants in each expansion. The neighbour contexts read the
 * causal neighbours: left = row[x-1] (at x = 0: the first symbol of the row above, or 0
 * in the first row), above = up[x] (in the first row: left); table = c (CHANNEL),
 * c*S + left (LEFT), (c*S + left)*S + above. Right to left, each symbol is the previous
 * position's left neighbour (kept in s). The hot loop (rows below the first, buffer room
 * for the whole row) runs without buffer checks.
 */
AGN_CODEC_INLINE int32_t rans_code_row(rans_coder_t *rc, const uint8_t *row, const uint8_t *up,
                                       uint32_t width, uint32_t c, const uint32_t n_sym,
                                       const uint32_t ctx)
{
    const uint8_t *pr = row + width - 1u;
    uint32_t s = *pr;
    const uint16_t *freq = rc->freq;
    const uint16_t *cum = rc->cum;
    int32_t err;

    if (ctx == AGILENN_RANS_CTX_SHARED || ctx == AGILENN_RANS_CTX_CHANNEL) {
        if (ctx == AGILENN_RANS_CTX_CHANNEL) {
            freq += c * n_sym;
            cum += c * n_sym;
        }
        for (;;) {
            err = rans_put(rc, freq, cum, *pr, 1);
            if (err != 0 || pr == row) {
                return err;
            }
            pr--;
        }
    }
    /* tables of channel c: c*S (LEFT) or c*S*S (LEFT_ABOVE) tables of S entries */
    freq += c * n_sym * ((ctx == AGILENN_RANS_CTX_CHANNEL_LEFT) ? n_sym : n_sym * n_sym);
    cum += c * n_sym * ((ctx == AGILENN_RANS_CTX_CHANNEL_LEFT) ? n_sym : n_sym * n_sym);
    if (up != 0 && (uint32_t)(rc->p - rc->stop) >= 2u * width) {
        const uint8_t *pu = up + width - 1u;
        for (; pr != row; pr--, pu--) {
            const uint32_t left = pr[-1];
            uint32_t k;
            if (n_sym == 8u) { /* symbols < 8: the index fields are bit fields */
                const uint32_t t = (ctx == AGILENN_RANS_CTX_CHANNEL_LEFT) ? left : ((left << 3) | *pu);
                k = (t << 3) | s;
            } else {
                const uint32_t t = (ctx == AGILENN_RANS_CTX_CHANNEL_LEFT) ? left : left * n_sym + *pu;
                k = t * n_sym + s;
            }
            err = rans_put(rc, freq, cum, k, 0);
            if (err != 0) {
                return err;
            }
            s = left;
        }
    } else {
        for (; pr != row; pr--) {
            const uint32_t left = pr[-1];
            uint32_t t = left;
            if (ctx == AGILENN_RANS_CTX_CHANNEL_LEFT_ABOVE) {
                t = t * n_sym + ((up != 0) ? *(pr - width) : left); /* above = up[x] */
            }
            err = rans_put(rc, freq, cum, t * n_sym + s, 1);
            if (err != 0) {
                return err;
            }
            s = left;
        }
    }
    {
        const uint32_t left = (up != 0) ? up[0] : 0u;
        const uint32_t t = (ctx == AGILENN_RANS_CTX_CHANNEL_LEFT) ? left : left * n_sym + left;
        return rans_put(rc, freq, cum, t * n_sym + s, 1);
    }
}

/* All rows of all channels, last to first, for one context type (a constant). */
AGN_CODEC_INLINE int32_t rans_code_all(rans_coder_t *rc, const uint8_t *indices,
                                       uint32_t channels, uint32_t height, uint32_t width,
                                       const uint32_t n_sym, const uint32_t ctx)
{
    const uint32_t plane_size = height * width;
    uint32_t c;
    uint32_t y;
    int32_t err;
    for (c = channels; c-- > 0u;) {
        const uint8_t *plane = indices + c * plane_size;
        for (y = height; y-- > 0u;) {
            const uint8_t *row = plane + y * width;
            err = rans_code_row(rc, row, (y > 0u) ? row - width : 0, width, c, n_sym, ctx);
            if (err != 0) {
                return err;
            }
        }
    }
    return 0;
}

int32_t agilenn_rans_encode(const uint8_t *indices, uint16_t channels, uint16_t height,
                            uint16_t width, const agilenn_rans_tables_t *tables, uint8_t *out,
                            uint32_t out_cap)
{
    const uint32_t start = AGILENN_CODEC_HEADER_BYTES + AGILENN_RANS_STATE_BYTES;
    uint32_t count;
    uint32_t plane_size;
    uint32_t n_sym;
    uint32_t prec;
    uint32_t i;
    uint32_t len;
    rans_coder_t rc;
    int32_t rc_err;

    if (tables == 0 || tables->freq == 0 || tables->cum == 0) {
        return (tables == 0) ? AGILENN_CODEC_ERR_ARG : AGILENN_CODEC_ERR_TABLE;
    }
    if ((uint32_t)height * (uint32_t)width > AGILENN_CODEC_MAX_SYMBOLS) {
        return AGILENN_CODEC_ERR_ARG;
    }
    plane_size = (uint32_t)height * (uint32_t)width;
    if (channels != 0u && plane_size > AGILENN_CODEC_MAX_SYMBOLS / channels) {
        return AGILENN_CODEC_ERR_ARG;
    }
    count = plane_size * channels;
    rc_err = check_common(indices, count, tables->n_symbols, out);
    if (rc_err != 0) {
        return (tables->n_symbols < 2u || tables->n_symbols > 256u) ? AGILENN_CODEC_ERR_TABLE : rc_err;
    }
    n_sym = tables->n_symbols;
    prec = tables->precision_bits;
    if (prec < 1u || prec > AGILENN_RANS_MAX_PRECISION_BITS || n_sym > ((uint32_t)1u << prec)) {
        return AGILENN_CODEC_ERR_TABLE;
    }
    if (tables->context > AGILENN_RANS_CTX_CHANNEL_LEFT_ABOVE) {
        return AGILENN_CODEC_ERR_TABLE;
    }
    if (tables->context == AGILENN_RANS_CTX_SHARED) {
        if (tables->n_tables != 1u) {
            return AGILENN_CODEC_ERR_TABLE;
        }
    } else if (tables->channels != channels || (uint32_t)channels > 0xFFFFFFFFu / (n_sym * n_sym) ||
               tables->n_tables != rans_expected_tables(tables->context, channels, n_sym)) {
        return AGILENN_CODEC_ERR_TABLE;
    }
    /* All symbols are checked first: the neighbour contexts read symbols not yet coded. */
    if (rans_bad_symbol(indices, count, n_sym)) {
        return AGILENN_CODEC_ERR_SYMBOL;
    }
    if (out_cap < start) {
        return AGILENN_CODEC_ERR_BUFFER;
    }

    /* Code the symbols from last to first; bytes are written backwards from the end of
     * the buffer, so memory order is the reverse of emission order. */
    rc.x = AGILENN_RANS_L;
    rc.p = out + out_cap;
    rc.stop = out + start;
    rc.freq = tables->freq;
    rc.cum = tables->cum;
    rc.x_max_unit = (AGILENN_RANS_L >> prec) << 8;
    rc.prec = prec;
    rc_err = 0;
    if (count != 0u) {
        switch (tables->context) {
        case AGILENN_RANS_CTX_SHARED:
            rc_err = rans_code_all(&rc, indices, channels, height, width, n_sym, AGILENN_RANS_CTX_SHARED);
            break;
        case AGILENN_RANS_CTX_CHANNEL:
            rc_err = rans_code_all(&rc, indices, channels, height, width, n_sym, AGILENN_RANS_CTX_CHANNEL);
            break;
        case AGILENN_RANS_CTX_CHANNEL_LEFT:
            rc_err = rans_code_all(&rc, indices, channels, height, width, n_sym,
                                   AGILENN_RANS_CTX_CHANNEL_LEFT);
            break;
        default:
            /* 8 centroids (3-bit indices), the usual alphabet: constant S, shifts for the
             * table index and one register less in the hot loop */
            if (n_sym == 8u) {
                rc_err = rans_code_all(&rc, indices, channels, height, width, 8u,
                                       AGILENN_RANS_CTX_CHANNEL_LEFT_ABOVE);
            } else {
                rc_err = rans_code_all(&rc, indices, channels, height, width, n_sym,
                                       AGILENN_RANS_CTX_CHANNEL_LEFT_ABOVE);
            }
            break;
        }
    }
    if (rc_err != 0) {
        return rc_err;
    }

    /* Move the stream right after header and state (forward copy: destination first). */
    len = (uint32_t)((out + out_cap) - rc.p);
    for (i = 0u; i < len; i++) {
        out[start + i] = rc.p[i];
    }
    write_header(out, (uint8_t)AGILENN_CODEC_RANS, (uint16_t)n_sym, count);
    out[6] = (uint8_t)(rc.x & 0xFFu);
    out[7] = (uint8_t)((rc.x >> 8) & 0xFFu);
    out[8] = (uint8_t)((rc.x >> 16) & 0xFFu);
    out[9] = (uint8_t)((rc.x >> 24) & 0xFFu);
    return (int32_t)(start + len);
}

/* ---------------------------------------------------------------- LZW */

/* Width of code number i since the last reset: bits of min(first + i, MAX_CODES) - 1. */
static uint32_t lzw_width(uint32_t first, uint32_t i)
{
    uint32_t d = first + i;
    if (d > AGILENN_LZW_MAX_CODES) {
        d = AGILENN_LZW_MAX_CODES;
    }
    return bit_length(d - 1u);
}

static void lzw_reset(agilenn_lzw_workspace_t *ws, uint32_t n_symbols)
{
    uint32_t code;
    for (code = 0u; code < n_symbols; code++) {
        ws->first_child[code] = 0u; /* 0 = none: codes >= first are never 0 */
    }
}

int32_t agilenn_lzw_encode(const uint8_t *indices, uint32_t count, uint16_t n_symbols,
                           agilenn_lzw_workspace_t *ws, uint8_t *out, uint32_t out_cap)
{
    int32_t rc = check_common(indices, count, n_symbols, out);
    const uint32_t clear = n_symbols;
    const uint32_t first = (uint32_t)n_symbols + 1u;
    uint32_t next_code = first;
    uint32_t emitted = 0u; /* codes emitted since the last reset */
    uint32_t w;
    uint32_t k;
    bit_writer_t bw;

    if (rc != 0) {
        return rc;
    }
    if (ws == 0) {
        return AGILENN_CODEC_ERR_ARG;
    }
    if (out_cap < AGILENN_CODEC_HEADER_BYTES) {
        return AGILENN_CODEC_ERR_BUFFER;
    }
    write_header(out, (uint8_t)AGILENN_CODEC_LZW, n_symbols, count);
    if (count == 0u) {
        return (int32_t)AGILENN_CODEC_HEADER_BYTES;
    }
    bw.out = out;
    bw.pos = AGILENN_CODEC_HEADER_BYTES;
    bw.cap = out_cap;
    bw.acc = 0u;
    bw.nbits = 0u;
    lzw_reset(ws, n_symbols);

    w = indices[0];
    if (w >= n_symbols) {
        return AGILENN_CODEC_ERR_SYMBOL;
    }
    for (k = 1u; k < count; k++) {
        uint32_t s = indices[k];
        uint32_t child;
        if (s >= n_symbols) {
            return AGILENN_CODEC_ERR_SYMBOL;
        }
        child = ws->first_child[w];
        while (child != 0u && ws->symbol[child] != s) {
            child = ws->next_sibling[child];
        }
        if (child != 0u) {
            w = child;
            continue;
        }
        rc = bw_put(&bw, w, lzw_width(first, emitted));
        if (rc != 0) {
            return rc;
        }
        emitted++;
        if (next_code < AGILENN_LZW_MAX_CODES) {
            ws->symbol[next_code] = (uint8_t)s;
            ws->first_child[next_code] = 0u;
            ws->next_sibling[next_code] = ws->first_child[w];
            ws->first_child[w] = (uint16_t)next_code;
            next_code++;
        } else {
            rc = bw_put(&bw, clear, lzw_width(first, emitted));
            if (rc != 0) {
                return rc;
            }
            lzw_reset(ws, n_symbols);
            next_code = first;
            emitted = 0u;
        }
        w = s;
    }
    rc = bw_put(&bw, w, lzw_width(first, emitted));
    if (rc == 0) {
        rc = bw_flush(&bw);
    }
    return (rc != 0) ? rc : (int32_t)bw.pos;
}
