/*
 * agilenn_codec.h - feature codec encoders for the AgileNN firmware (C99).
 *
 * Encodes the centroid indices of the remote feature channels of one frame (uint8, C-order
 * channel x row x column) into the payload of agilenn_ros/FeatureFrame. The bitstreams are
 * specified in docs/codec.md; the output is byte for byte identical to the Python encoders
 * in agilenn_ros/codec (pinned by the golden vectors in test/data/codec_golden/).
 *
 * No dynamic allocation, no libc beyond what the compiler may emit for structure copies:
 * every buffer is provided by the caller. Every encoder returns the payload length in bytes
 * (>= AGILENN_CODEC_HEADER_BYTES) or a negative AGILENN_CODEC_ERR_* value. On error the
 * output buffer holds garbage but nothing past out_cap is ever written.
 */
#ifndef AGILENN_CODEC_H
#define AGILENN_CODEC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Codec ids: msg/FeatureFrame.msg CODEC_PACKED / CODEC_RANS / CODEC_LZW. */
#define AGILENN_CODEC_PACKED 0u
#define AGILENN_CODEC_RANS 1u
#define AGILENN_CODEC_LZW 2u

/* Payload header: tag = (version << 4) | codec id, n_symbols - 1, count (uint32 LE). */
#define AGILENN_CODEC_FORMAT_VERSION 1u
#define AGILENN_CODEC_HEADER_BYTES 6u
/* Largest symbol count (C*H*W) the encoders (and the Python decoders, by default) accept. */
#define AGILENN_CODEC_MAX_SYMBOLS ((uint32_t)1u << 22)

/* Error codes (negative return values). */
#define AGILENN_CODEC_ERR_BUFFER (-1) /* out_cap too small for the payload */
#define AGILENN_CODEC_ERR_ARG (-2)    /* NULL pointer, n_symbols not in 2..256, too many symbols */
#define AGILENN_CODEC_ERR_SYMBOL (-3) /* an index >= n_symbols */
#define AGILENN_CODEC_ERR_TABLE (-4)  /* rANS tables invalid or not made for this shape */

/* ---------------------------------------------------------------- packed (codec 0) */

/* Bits per packed symbol: ceil(log2(n_symbols)), n_symbols in 2..256. */
uint8_t agilenn_symbol_bits(uint16_t n_symbols);

/* Exact packed payload size for count symbols of `bits` bits. */
#define AGILENN_PACKED_SIZE(count, bits) \
    (AGILENN_CODEC_HEADER_BYTES + (((uint32_t)(count) * (uint32_t)(bits) + 7u) / 8u))

int32_t agilenn_packed_encode(const uint8_t *indices, uint32_t count, uint16_t n_symbols,
                              uint8_t *out, uint32_t out_cap);

/* ---------------------------------------------------------------- rANS (codec 1) */

#define AGILENN_RANS_L ((uint32_t)1u << 23)         /* lower bound of the normalised state */
#define AGILENN_RANS_STATE_BYTES 4u         /* final state, uint32 little-endian */
#define AGILENN_RANS_MAX_PRECISION_BITS 16u

/* Which table codes a symbol (S = n_symbols, c = channel, left/above = causal neighbours). */
#define AGILENN_RANS_CTX_SHARED 0u             /* table 0 */
#define AGILENN_RANS_CTX_CHANNEL 1u            /* table c */
#define AGILENN_RANS_CTX_CHANNEL_LEFT 2u       /* table c*S + left */
#define AGILENN_RANS_CTX_CHANNEL_LEFT_ABOVE 3u /* table (c*S + left)*S + above */

/* Static tables, as rendered by agilenn_ros.codec.rans_tables_to_c(). */
typedef struct {
    uint16_t n_symbols;      /* alphabet size S, 2..256 */
    uint8_t precision_bits;  /* P, 1..16: each table's frequencies sum to 1 << P */
    uint8_t context;         /* AGILENN_RANS_CTX_* */
    uint16_t channels;       /* C the tables were learned for (0 for SHARED: any C) */
    uint32_t n_tables;       /* 1, C, C*S or C*S*S according to context */
    const uint16_t *freq;    /* [n_tables * n_symbols], every entry >= 1 */
    const uint16_t *cum;     /* [n_tables * n_symbols], cum[t*S+s] = sum of freq[t*S+0..s-1] */
} agilenn_rans_tables_t;

/* Upper bound of the rANS payload size for count symbols at precision P (for buffer sizing). */
#define AGILENN_RANS_BOUND(count, precision_bits)                                   \
    (AGILENN_CODEC_HEADER_BYTES + AGILENN_RANS_STATE_BYTES + 1u +                   \
     (((uint32_t)(count) * (uint32_t)(precision_bits) + (uint32_t)(count) / 32u + 7u) / 8u))

/* indices: channels*height*width uint8 in C order. */
int32_t agilenn_rans_encode(const uint8_t *indices, uint16_t channels, uint16_t height,
                            uint16_t width, const agilenn_rans_tables_t *tables, uint8_t *out,
                            uint32_t out_cap);

/* ---------------------------------------------------------------- LZW (codec 2) */

#define AGILENN_LZW_MAX_BITS 12u
#define AGILENN_LZW_MAX_CODES (1u << AGILENN_LZW_MAX_BITS)

/* Dictionary of the LZW encoder (a trie in fixed arrays, 20 KiB). Declare it static or
 * give each concurrent encoder its own; its content between calls does not matter. */
typedef struct {
    uint16_t first_child[AGILENN_LZW_MAX_CODES];
    uint16_t next_sibling[AGILENN_LZW_MAX_CODES];
    uint8_t symbol[AGILENN_LZW_MAX_CODES];
} agilenn_lzw_workspace_t;

/* Upper bound of the LZW payload size for count symbols (for buffer sizing). */
#define AGILENN_LZW_BOUND(count)                                                   \
    (AGILENN_CODEC_HEADER_BYTES +                                                   \
     ((((uint32_t)(count) + (uint32_t)(count) / 1024u + 2u) * AGILENN_LZW_MAX_BITS + 7u) / 8u))

int32_t agilenn_lzw_encode(const uint8_t *indices, uint32_t count, uint16_t n_symbols,
                           agilenn_lzw_workspace_t *ws, uint8_t *out, uint32_t out_cap);

#ifdef __cplusplus
}
#endif

#endif /* AGILENN_CODEC_H */
