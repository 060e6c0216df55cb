/*
 * agilenn_codec.c - feature codec encoders (packed, rANS, LZW), see agilenn_codec.h and
 * docs/codec.md. C99, no allocation, no libc.
 */
#include "agilenn_codec.h"

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

/* Table index of the symbol at (c, y, x); plane = the channel's H*W symbols. */
static uint32_t rans_table_index(const agilenn_rans_tables_t *t, const uint8_t *plane,
                                 uint32_t width, uint32_t c, uint32_t y, uint32_t x)
{
    uint32_t left;
    uint32_t above;
    uint32_t s = t->n_symbols;

    if (t->context == AGILENN_RANS_CTX_SHARED) {
        return 0u;
    }
    if (t->context == AGILENN_RANS_CTX_CHANNEL) {
        return c;
    }
    /* causal neighbours: left = p[y][x-1], else p[y-1][0], else 0;
     * above = p[y-1][x], else left */
    if (x > 0u) {
        left = plane[y * width + x - 1u];
        above = (y > 0u) ? plane[(y - 1u) * width + x] : left;
    } else if (y > 0u) {
        left = plane[(y - 1u) * width];
        above = left;
    } else {
        left = 0u;
        above = 0u;
    }
    if (t->context == AGILENN_RANS_CTX_CHANNEL_LEFT) {
        return c * s + left;
    }
    return (c * s + left) * s + above;
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
    uint32_t x_max_unit;
    uint32_t x = AGILENN_RANS_L;
    uint32_t c;
    uint32_t y;
    uint32_t xx;
    uint32_t i;
    uint32_t len;
    uint8_t *p;
    int32_t rc;

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
    rc = check_common(indices, count, tables->n_symbols, out);
    if (rc != 0) {
        return (tables->n_symbols < 2u || tables->n_symbols > 256u) ? AGILENN_CODEC_ERR_TABLE : rc;
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
    for (i = 0u; i < count; i++) {
        if (indices[i] >= n_sym) {
            return AGILENN_CODEC_ERR_SYMBOL;
        }
    }
    if (out_cap < start) {
        return AGILENN_CODEC_ERR_BUFFER;
    }

    /* Code the symbols from last to first; bytes are written backwards from the end of
     * the buffer, so memory order is the reverse of emission order. */
    x_max_unit = (AGILENN_RANS_L >> prec) << 8;
    p = out + out_cap;
    for (c = channels; c-- > 0u;) {
        const uint8_t *plane = indices + c * plane_size;
        for (y = height; y-- > 0u;) {
            for (xx = width; xx-- > 0u;) {
                uint32_t s = plane[y * (uint32_t)width + xx];
                uint32_t k = rans_table_index(tables, plane, width, c, y, xx) * n_sym + s;
                uint32_t f = tables->freq[k];
                uint32_t x_max;
                if (f == 0u) {
                    return AGILENN_CODEC_ERR_TABLE;
                }
                x_max = x_max_unit * f; /* <= 2^31 */
                while (x >= x_max) {
                    if (p == out + start) {
                        return AGILENN_CODEC_ERR_BUFFER;
                    }
                    *--p = (uint8_t)(x & 0xFFu);
                    x >>= 8;
                }
                x = ((x / f) << prec) + (x % f) + tables->cum[k];
            }
        }
    }

    /* Move the stream right after header and state (forward copy: destination first). */
    len = (uint32_t)((out + out_cap) - p);
    for (i = 0u; i < len; i++) {
        out[start + i] = p[i];
    }
    write_header(out, (uint8_t)AGILENN_CODEC_RANS, (uint16_t)n_sym, count);
    out[6] = (uint8_t)(x & 0xFFu);
    out[7] = (uint8_t)((x >> 8) & 0xFFu);
    out[8] = (uint8_t)((x >> 16) & 0xFFu);
    out[9] = (uint8_t)((x >> 24) & 0xFFu);
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
