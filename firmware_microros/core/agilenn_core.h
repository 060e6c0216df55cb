/*
 * agilenn_core.h - the AgileNN device computation for one camera frame (C99, portable).
 *
 *   frame (RGB888 or RGB565, any size) -> bilinear resize to the model input -> integer
 *   feature extractor -> local predictor (local logits) + quantizer (centroid indices of the
 *   remote channels) -> codec (payload of agilenn_ros/FeatureFrame).
 *
 * Model constants come from the generated agilenn_model.h (agilenn export); every buffer
 * is static and sized from it at compile time. No dynamic allocation, no libc beyond
 * memset/memcpy. Not reentrant: one frame at a time (results stay valid until the next
 * call).
 */
#ifndef AGILENN_CORE_H
#define AGILENN_CORE_H

#include <stdint.h>

#include "agilenn_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest accepted source frame side (the resize plan's integer arithmetic needs
 * (2 * dst + 1) * src < 2^32). */
#define AGN_MAX_FRAME_SIDE 4096u

typedef enum {
    AGN_PIXEL_RGB888 = 0,   /* 3 bytes per pixel: R, G, B */
    AGN_PIXEL_RGB565 = 1,   /* 2 bytes per pixel, little-endian uint16, R in bits 15..11 */
    AGN_PIXEL_RGB565BE = 2  /* the same, big-endian (high byte first: camera sensors) */
} agn_pixel_format_t;

typedef struct {
    const uint8_t *pixels;     /* first byte of the top row */
    uint16_t width;            /* pixels */
    uint16_t height;           /* rows */
    uint32_t stride;           /* bytes from one row to the next (0: packed rows) */
    agn_pixel_format_t format;
} agn_frame_t;

/* Codec choice for agn_encode (ids of msg/FeatureFrame.msg). */
#define AGN_CODEC_PACKED AGILENN_CODEC_PACKED /* fixed 3-bit packing */
#define AGN_CODEC_RANS AGILENN_CODEC_RANS     /* rANS; packed when that would be larger */

typedef enum {
    AGN_OK = 0,
    AGN_ERR_ARG = -1,    /* NULL pointer, unknown pixel format or codec */
    AGN_ERR_FRAME = -2,  /* empty or oversized frame */
    AGN_ERR_CODEC = -3,  /* the encoder failed (tables do not match the model) */
    AGN_ERR_ORDER = -4   /* agn_encode before a successful agn_extract */
} agn_status_t;

typedef struct {
    float local_logits[AGN_CLASSES];   /* logit_q * 2^-AGN_LOGIT_FRAC_BITS */
    int32_t logit_q[AGN_CLASSES];      /* fixed-point logits, AGN_LOGIT_FRAC_BITS (16) */
    const uint8_t *indices;            /* AGN_REMOTE_COUNT indices, C order (c, y, x) */
    const uint8_t *payload;            /* coded indices (after agn_encode) */
    uint32_t payload_len;
    uint8_t codec;                     /* codec id actually used */
} agn_result_t;

/* Feature extractor, local predictor and quantizer. Fills local_logits, logit_q and
 * indices of *out. */
agn_status_t agn_extract(const agn_frame_t *frame, agn_result_t *out);

/* Codes the indices of the last agn_extract with `codec` (AGN_CODEC_PACKED or
 * AGN_CODEC_RANS; RANS without tables in the model header, or with a payload longer than
 * the packed one, sends packed). Fills payload, payload_len and codec of *out. */
agn_status_t agn_encode(uint8_t codec, agn_result_t *out);

/* agn_extract then agn_encode. */
agn_status_t agn_process(const agn_frame_t *frame, uint8_t codec, agn_result_t *out);

/* The model's identity, for the FeatureFrame fields. */
typedef struct {
    uint32_t model_hash;
    const char *model_id;
    uint16_t input_h, input_w;
    uint16_t remote_channels, feat_h, feat_w;
    uint16_t classes;
    uint16_t centroids;
    uint32_t max_payload_bytes;
    uint8_t have_rans;
} agn_model_info_t;

const agn_model_info_t *agn_model_info(void);

#ifdef __cplusplus
}
#endif

#endif /* AGILENN_CORE_H */
