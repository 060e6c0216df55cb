/*
 * rans_decode.c - native decoder of the static-table rANS bitstream (codec 1), see
 * docs/codec.md and agilenn_ros/codec/rans.py. Loaded with ctypes by
 * agilenn_ros/codec/native.py; produces exactly the output and the error classification of
 * the pure-Python decoder (RansCodec._decode_order0 / _decode_neighbours).
 *
 * C99, no allocation, no library calls: every buffer is provided by the caller. Not a
 * Python extension module (no PyInit function): a plain shared library.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define AGILENN_RANS_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define AGILENN_RANS_EXPORT __attribute__((visibility("default")))
#else
#define AGILENN_RANS_EXPORT
#endif

/* Bumped whenever the signature or the meaning of an argument or return code changes. */
#define AGILENN_RANS_DECODE_ABI 1u

#define RANS_L ((uint32_t)1u << 23)
#define RANS_STATE_BYTES 4u
#define RANS_MAX_PRECISION_BITS 16u

/* Return codes of agilenn_rans_decode. */
#define AGILENN_RANS_DEC_OK 0
#define AGILENN_RANS_DEC_TRUNCATED (-1)   /* payload ended before every symbol was decoded */
#define AGILENN_RANS_DEC_FINAL_STATE (-2) /* final state != RANS_L (corrupt or wrong tables) */
#define AGILENN_RANS_DEC_TRAILING (-3)    /* bytes left after the coded data */
#define AGILENN_RANS_DEC_ARG (-4)         /* invalid arguments (caller bug) */
#define AGILENN_RANS_DEC_INITIAL_STATE (-5) /* initial state outside [RANS_L, 256 * RANS_L) */

AGILENN_RANS_EXPORT uint32_t agilenn_rans_decode_abi(void);
AGILENN_RANS_EXPORT int32_t agilenn_rans_decode(
    const uint8_t *data, uint32_t len, uint32_t start, const uint8_t *slot_sym,
    const uint32_t *freq, const uint32_t *cum, uint32_t n_symbols, uint32_t n_tables,
    uint32_t precision_bits, uint32_t kc, uint32_t kl, uint32_t ka, uint32_t channels,
    uint32_t height, uint32_t width, uint8_t *out);

uint32_t agilenn_rans_decode_abi(void)
{
    return AGILENN_RANS_DECODE_ABI;
}

/* Decoder state shared by the loops. */
typedef struct {
    const uint8_t *data;
    uint32_t len;
    uint32_t pos;
    uint32_t x;
    const uint8_t *slot_sym;
    const uint32_t *freq;
    const uint32_t *cum;
    uint32_t n_symbols;
    uint32_t prec;
    uint32_t mask;
} rans_dec_t;

/* Alphabets up to this size are decoded by searching the cumulative frequencies. */
#define SEARCH_MAX_SYMBOLS 16u

/*
 * Decodes one symbol with table t and renormalises. Returns the symbol (0..S-1) or -1 when
 * the payload runs out. The state stays in [RANS_L, 256 * RANS_L) between calls (the step
 * gives x >= 2**(23 - P) >= 2**7, so two bytes always suffice, as in the Python decoder).
 */
static inline int32_t dec_symbol(rans_dec_t *d, uint32_t t)
{
    uint32_t x = d->x;
    uint32_t slot = x & d->mask;
    uint32_t s;
    size_t base = (size_t)t * d->n_symbols;
    if (d->n_symbols <= SEARCH_MAX_SYMBOLS) {
        /* small alphabets: a linear search of the table's cumulative frequencies (32 bytes
           for 8 symbols, cache-resident) beats the 2**P-byte slot table of every context
           (5 MB for 1216 tables), and ends at once on the dominant symbol */
        s = 0u;
        while (s + 1u < d->n_symbols && d->cum[base + s + 1u] <= slot) {
            s++;
        }
    } else {
        s = d->slot_sym[((size_t)t << d->prec) | slot];
    }
    size_t k = base + s;
    x = d->freq[k] * (x >> d->prec) + slot - d->cum[k];
    if (x < RANS_L) {
        if (d->pos >= d->len) {
            return -1;
        }
        x = (x << 8) | d->data[d->pos++];
        if (x < RANS_L) {
            if (d->pos >= d->len) {
                return -1;
            }
            x = (x << 8) | d->data[d->pos++];
        }
    }
    d->x = x;
    return (int32_t)s;
}

/*
 * data[0..len): the whole payload; start: offset of the 4-byte initial state (uint32 LE),
 * the coded bytes follow it (6 for the format's header).
 * slot_sym[(t << P) | slot]: the symbol of slot `slot` in table t (n_tables << P bytes);
 * freq, cum: n_tables * n_symbols entries, row-major (entry t * S + s).
 * Table of symbol (c, y, x): c * kc + left * kl + above * ka, with the causal neighbours of
 * docs/codec.md (left = p[y][x-1] if x > 0, else p[y-1][0] if y > 0, else 0;
 * above = p[y-1][x] if y > 0, else left). The contexts: shared (0, 0, 0), channel (1, 0, 0),
 * channel_left (S, 1, 0), channel_left_above (S*S, S, 1).
 * out: channels * height * width bytes, C order.
 * Returns AGILENN_RANS_DEC_OK or a negative AGILENN_RANS_DEC_* code.
 */
int32_t agilenn_rans_decode(const uint8_t *data, uint32_t len, uint32_t start,
                            const uint8_t *slot_sym, const uint32_t *freq, const uint32_t *cum,
                            uint32_t n_symbols, uint32_t n_tables, uint32_t precision_bits,
                            uint32_t kc, uint32_t kl, uint32_t ka, uint32_t channels,
                            uint32_t height, uint32_t width, uint8_t *out)
{
    rans_dec_t d;
    uint64_t count = (uint64_t)channels * height * width;
    uint64_t max_table;
    uint32_t c;
    uint32_t y;
    uint32_t xx;
    int32_t s;

    if (data == NULL || slot_sym == NULL || freq == NULL || cum == NULL ||
        (out == NULL && count != 0u)) {
        return AGILENN_RANS_DEC_ARG;
    }
    if (n_symbols < 2u || n_symbols > 256u || precision_bits < 1u ||
        precision_bits > RANS_MAX_PRECISION_BITS || n_symbols > ((uint32_t)1u << precision_bits) ||
        n_tables == 0u || count > (uint64_t)UINT32_MAX) {
        return AGILENN_RANS_DEC_ARG;
    }
    /* every table index the frame can produce must exist */
    max_table = (uint64_t)(channels == 0u ? 0u : channels - 1u) * kc +
                (uint64_t)(n_symbols - 1u) * ((uint64_t)kl + ka);
    if (max_table >= n_tables) {
        return AGILENN_RANS_DEC_ARG;
    }
    if (start > len || len - start < RANS_STATE_BYTES) {
        return AGILENN_RANS_DEC_TRUNCATED;
    }

    d.data = data;
    d.len = len;
    d.pos = start + RANS_STATE_BYTES;
    d.x = (uint32_t)data[start] | ((uint32_t)data[start + 1u] << 8) |
          ((uint32_t)data[start + 2u] << 16) | ((uint32_t)data[start + 3u] << 24);
    d.slot_sym = slot_sym;
    d.freq = freq;
    d.cum = cum;
    d.n_symbols = n_symbols;
    d.prec = precision_bits;
    d.mask = ((uint32_t)1u << precision_bits) - 1u;
    if (d.x < RANS_L || d.x >= (RANS_L << 8)) {
        return AGILENN_RANS_DEC_INITIAL_STATE;
    }

    if (kl == 0u && ka == 0u) {
        /* order 0: one table per channel (shared: kc = 0, table 0) */
        size_t plane = (size_t)height * width;
        size_t j = 0u;
        for (c = 0u; c < channels; c++) {
            uint32_t t = c * kc;
            size_t i;
            for (i = 0u; i < plane; i++) {
                s = dec_symbol(&d, t);
                if (s < 0) {
                    return AGILENN_RANS_DEC_TRUNCATED;
                }
                out[j++] = (uint8_t)s;
            }
        }
    } else if (width != 0u) {
        for (c = 0u; c < channels; c++) {
            uint8_t *p = out + (size_t)c * height * width;
            uint32_t cb = c * kc;
            for (y = 0u; y < height; y++) {
                uint8_t *row = p + (size_t)y * width;
                const uint8_t *above_row = row - width; /* only used when y > 0 */
                uint32_t left;
                uint32_t above;
                /* column 0: left = above = the symbol above it (0 in row 0) */
                left = (y != 0u) ? above_row[0] : 0u;
                s = dec_symbol(&d, cb + left * kl + left * ka);
                if (s < 0) {
                    return AGILENN_RANS_DEC_TRUNCATED;
                }
                row[0] = (uint8_t)s;
                left = (uint32_t)s;
                for (xx = 1u; xx < width; xx++) {
                    above = (y != 0u) ? above_row[xx] : left;
                    s = dec_symbol(&d, cb + left * kl + above * ka);
                    if (s < 0) {
                        return AGILENN_RANS_DEC_TRUNCATED;
                    }
                    row[xx] = (uint8_t)s;
                    left = (uint32_t)s;
                }
            }
        }
    }

    if (d.x != RANS_L) {
        return AGILENN_RANS_DEC_FINAL_STATE;
    }
    if (d.pos != len) {
        return AGILENN_RANS_DEC_TRAILING;
    }
    return AGILENN_RANS_DEC_OK;
}
