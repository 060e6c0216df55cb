/*
 * agilenn_core.c - one frame through the AgileNN device network, streaming row by row.
 *
 * Memory plan (all static, sized by agilenn_model.h):
 *   - resize plan: one tap per model input column and row;
 *   - two horizontally resized source rows (cache: upsampling reuses each source row);
 *   - a ring of 3 resized input rows (the rows of one depthwise-1 window);
 *   - a ring of 3 layer-1 output rows with zero padding columns (one depthwise-2 window);
 *   - the indices of the remote channels and the payload buffer.
 * The resized image, the layer-1 and layer-2 tensors are never stored whole.
 */
#include "agilenn_core.h"

#include "agilenn_codec.h"
#include "agilenn_kernels.h"

#if AGN_PIXEL_FRAC_BITS != AGN_K_PIXEL_FRAC_BITS || AGN_RESIZE_COEF_BITS != AGN_K_COEF_BITS
#error "agilenn_model.h was generated for other resize fixed-point formats"
#endif
#if AGN_MAX_PAYLOAD_BYTES < AGN_PACKED_PAYLOAD_BYTES
#error "the payload buffer must hold a packed payload"
#endif
#if AGN_CENTROIDS < 2 || AGN_CENTROIDS > 256
#error "AGN_CENTROIDS must lie in 2..256"
#endif

#define ROW_VALUES ((uint32_t)AGN_INPUT_W * 3u) /* three planar rows of the model input */
#define A1_COLS ((uint32_t)AGN_L1_W + 2u * AGN_PAD2)
#define A1_ROW_VALUES (A1_COLS * AGN_HIDDEN)       /* HIDDEN planar rows with padding */
#define FEAT_AREA ((uint32_t)AGN_FEAT_H * AGN_FEAT_W)
#define NO_ROW (-1)

static agn_tap_t s_xtaps[AGN_INPUT_W];
static agn_tap_t s_ytaps[AGN_INPUT_H];
static agn_hstep_t s_xsteps[AGN_INPUT_W];   /* the horizontal pass's plan (s_plan_fmt) */
static uint16_t s_xsteps_fast;
static agn_pixel_format_t s_plan_fmt;
static uint16_t s_plan_w;
static uint16_t s_plan_h;

/* two horizontally resized source rows, interleaved: value i of slot s at [2 i + s] (the
 * vertical pass reads both rows' values with one load) */
static union {
    int16_t v[2u * ROW_VALUES];
    uint64_t align;
} s_hrow_buf;
#define s_hpair (s_hrow_buf.v)
static int32_t s_hrow_src[2];
/* The rows below are 4-byte aligned (unions): the DSP kernels take 4-byte aligned rows
 * (32-bit and LDRD loads) on their fast paths. */
static union {
    int16_t v[3][ROW_VALUES];
    uint32_t align;
} s_rrow_buf;
#define s_rrow (s_rrow_buf.v)
static int32_t s_rrow_id[3];
static union {
    int16_t v[AGN_L1_W * 3u];                        /* depthwise-1 outputs, HWC */
    uint32_t align;
} s_d1row_buf;
#define s_d1row (s_d1row_buf.v)
static union {
    int16_t v[3][A1_ROW_VALUES];
    uint32_t align;
} s_a1_buf;
#define s_a1 (s_a1_buf.v)
static int32_t s_a1_next;
static const union {
    int16_t v[A1_ROW_VALUES];                        /* padding rows (zero = real zero) */
    uint32_t align;
} s_a1_zero_buf;
#define s_a1_zero (s_a1_zero_buf.v)
/* depthwise-2 outputs, HWC; on an 8-byte boundary (the DSP pointwise kernel loads four
 * channels per LDRD) */
static union {
    int16_t v[AGN_FEAT_W * AGN_HIDDEN];
    uint64_t align;
} s_d2row_buf;
#define s_d2row (s_d2row_buf.v)

static agn_dw_packed_t s_dw1_k[3];            /* the depthwise layers' constants, packed */
static agn_dw_packed_t s_dw2_k[AGN_HIDDEN];    /* once (agn_dw_pack) for the DSP kernels */
static uint8_t s_dw_packed;

static uint8_t s_indices[AGN_REMOTE_COUNT];
static uint8_t s_payload[AGN_MAX_PAYLOAD_BYTES];
static uint8_t s_have_indices;

static const agn_model_info_t s_info = {
    AGN_MODEL_HASH, AGN_MODEL_ID, AGN_INPUT_H, AGN_INPUT_W, AGN_REMOTE, AGN_FEAT_H, AGN_FEAT_W,
    AGN_CLASSES, AGN_CENTROIDS, AGN_MAX_PAYLOAD_BYTES, AGN_HAVE_RANS_TABLES,
};

const agn_model_info_t *agn_model_info(void)
{
    return &s_info;
}

static uint32_t bytes_per_pixel(agn_pixel_format_t format)
{
    return (format == AGN_PIXEL_RGB888) ? 3u : 2u;
}

static uint32_t frame_stride(const agn_frame_t *f)
{
    return (f->stride != 0u) ? f->stride : (uint32_t)f->width * bytes_per_pixel(f->format);
}

/* Horizontal pass of source row y into cache slot `slot` (three planar rows). */
static void fill_hrow(const agn_frame_t *f, uint32_t slot, uint16_t y)
{
    const uint8_t *row = f->pixels + (uint32_t)y * frame_stride(f);
    if (f->format == AGN_PIXEL_RGB565) {
        agn_hpass_rgb565_plan(row, s_xsteps, AGN_INPUT_W, s_hpair + slot, 2u, 0u);
    } else if (f->format == AGN_PIXEL_RGB565BE) {
        agn_hpass_rgb565_plan(row, s_xsteps, AGN_INPUT_W, s_hpair + slot, 2u, 1u);
    } else {
        agn_hpass_rgb888_plan(row, s_xsteps, s_xsteps_fast, AGN_INPUT_W, s_hpair + slot, 2u);
    }
    s_hrow_src[slot] = (int32_t)y;
}

static int32_t find_hrow(uint16_t y)
{
    if (s_hrow_src[0] == (int32_t)y) {
        return 0;
    }
    if (s_hrow_src[1] == (int32_t)y) {
        return 1;
    }
    return NO_ROW;
}

/* Resized model-input row r (Q7, three planar rows), from the ring. */
static const int16_t *resized_row(const agn_frame_t *f, uint32_t r)
{
    const uint32_t slot = r % 3u;
    if (s_rrow_id[slot] != (int32_t)r) {
        const agn_tap_t *t = &s_ytaps[r];
        int32_t s0 = find_hrow(t->i0);
        int32_t s1;
        if (s0 == NO_ROW) {
            s0 = (s_hrow_src[0] == (int32_t)t->i1) ? 1 : 0;
            fill_hrow(f, (uint32_t)s0, t->i0);
        }
        s1 = find_hrow(t->i1);
        if (s1 == NO_ROW) {
            s1 = 1 - s0;
            fill_hrow(f, (uint32_t)s1, t->i1);
        }
        agn_vpass_pair(s_hpair, (uint32_t)s0, t->frac, ROW_VALUES, s_rrow[slot]);
        s_rrow_id[slot] = (int32_t)r;
    }
    return s_rrow[slot];
}

/* Layer 1 for output row y1: depthwise 3x3 stride S1 (normalisation folded in) per input
 * channel, then per pixel the pointwise conv + BN + ReLU6 into the planar, padded ring
 * row dst. */
static void layer1_row(const agn_frame_t *f, uint32_t y1, int16_t *dst)
{
    const int16_t *r0 = resized_row(f, y1 * AGN_STRIDE1);
    const int16_t *r1 = resized_row(f, y1 * AGN_STRIDE1 + 1u);
    const int16_t *r2 = resized_row(f, y1 * AGN_STRIDE1 + 2u);

    agn_dw3x3_rows(r0, r1, r2, AGN_INPUT_W, 3u, AGN_STRIDE1, AGN_L1_W, s_dw1_k, -AGN_D1_MAX,
                   AGN_D1_MAX, s_d1row, 1u, 3u);
    agn_pw_row(s_d1row, AGN_L1_W, 3u, agn_pw1_w, agn_pw1_b, AGN_HIDDEN, agn_pw1_rq, 0,
               AGN_A1_MAX, dst + AGN_PAD2, A1_COLS);
}

/* Padded layer-1 row y (zero row outside [0, L1_H)); computes rows in order on demand. */
static const int16_t *a1_row(const agn_frame_t *f, int32_t y)
{
    if (y < 0 || y >= AGN_L1_H) {
        return s_a1_zero;
    }
    while (s_a1_next <= y) {
        layer1_row(f, (uint32_t)s_a1_next, s_a1[(uint32_t)s_a1_next % 3u]);
        s_a1_next++;
    }
    return s_a1[(uint32_t)y % 3u];
}

/* Layer 2 (depthwise 3x3 stride S2 pad P2 per channel, pointwise + BN), then per feature
 * row: the local channels' ReLU6 values into the pooling sums, the remote channels'
 * quantizer indices (agn_pw_quant_row). */
static void layer2(const agn_frame_t *f, int32_t *pool)
{
    uint32_t y2;

    for (y2 = 0u; y2 < AGN_FEAT_H; y2++) {
        const int32_t base = (int32_t)(y2 * AGN_STRIDE2) - AGN_PAD2;
        const int16_t *r0 = a1_row(f, base);
        const int16_t *r1 = a1_row(f, base + 1);
        const int16_t *r2 = a1_row(f, base + 2);
        agn_dw3x3_rows(r0, r1, r2, A1_COLS, AGN_HIDDEN, AGN_STRIDE2, AGN_FEAT_W, s_dw2_k,
                       -AGN_D2_MAX, AGN_D2_MAX, s_d2row, 1u, AGN_HIDDEN);
        agn_pw_quant_row(s_d2row, AGN_FEAT_W, AGN_HIDDEN, agn_pw2_w, agn_pw2_b, AGN_LOCAL,
                         agn_pw2_rq, AGN_A2_MAX, pool, AGN_REMOTE, agn_thresholds,
                         AGN_CENTROIDS - 1u, s_indices + y2 * AGN_FEAT_W, FEAT_AREA);
    }
}

static void reset_rows(void)
{
    uint32_t i;
    for (i = 0u; i < 2u; i++) {
        s_hrow_src[i] = NO_ROW;
    }
    for (i = 0u; i < 3u; i++) {
        s_rrow_id[i] = NO_ROW;
    }
    s_a1_next = 0;
}

agn_status_t agn_extract(const agn_frame_t *frame, agn_result_t *out)
{
    int32_t pool[AGN_LOCAL];
    int32_t mean[AGN_LOCAL];
    uint32_t c;

    s_have_indices = 0u;
    if (frame == 0 || out == 0 || frame->pixels == 0) {
        return AGN_ERR_ARG;
    }
    if (frame->format != AGN_PIXEL_RGB888 && frame->format != AGN_PIXEL_RGB565 &&
        frame->format != AGN_PIXEL_RGB565BE) {
        return AGN_ERR_ARG;
    }
    if (frame->width == 0u || frame->height == 0u || frame->width > AGN_MAX_FRAME_SIDE ||
        frame->height > AGN_MAX_FRAME_SIDE) {
        return AGN_ERR_FRAME;
    }
    if (frame->stride != 0u && frame->stride < (uint32_t)frame->width * bytes_per_pixel(frame->format)) {
        return AGN_ERR_FRAME;
    }
    if (frame->width != s_plan_w || frame->height != s_plan_h || frame->format != s_plan_fmt) {
        agn_axis_plan(frame->width, AGN_INPUT_W, s_xtaps);
        if (frame->format == AGN_PIXEL_RGB888) {
            s_xsteps_fast = agn_hplan_rgb888(s_xtaps, AGN_INPUT_W, frame->width, s_xsteps);
        } else {
            agn_hplan_rgb565(s_xtaps, AGN_INPUT_W, s_xsteps);
        }
        s_plan_fmt = frame->format;
        agn_axis_plan(frame->height, AGN_INPUT_H, s_ytaps);
        s_plan_w = frame->width;
        s_plan_h = frame->height;
    }
    if (!s_dw_packed) {
        agn_dw_pack(agn_dw1_w, agn_dw1_b, agn_dw1_rq, 3u, s_dw1_k);
        agn_dw_pack(agn_dw2_w, 0, agn_dw2_rq, AGN_HIDDEN, s_dw2_k);
        s_dw_packed = 1u;
    }
    reset_rows();
    for (c = 0u; c < AGN_LOCAL; c++) {
        pool[c] = 0;
    }
    layer2(frame, pool);
    for (c = 0u; c < AGN_LOCAL; c++) {
        mean[c] = (int32_t)(((uint32_t)pool[c] + FEAT_AREA / 2u) / FEAT_AREA);
    }
    agn_dense(mean, AGN_LOCAL, agn_dense_w, agn_dense_b, AGN_CLASSES, agn_dense_rq, out->logit_q);
    for (c = 0u; c < AGN_CLASSES; c++) {
        out->local_logits[c] = (float)out->logit_q[c] * (1.0f / (float)(1L << AGN_LOGIT_FRAC_BITS));
    }
    out->indices = s_indices;
    out->payload = 0;
    out->payload_len = 0u;
    out->codec = AGN_CODEC_PACKED;
    s_have_indices = 1u;
    return AGN_OK;
}

agn_status_t agn_encode(uint8_t codec, agn_result_t *out)
{
    int32_t n = AGILENN_CODEC_ERR_BUFFER;

    if (out == 0 || (codec != AGN_CODEC_PACKED && codec != AGN_CODEC_RANS)) {
        return AGN_ERR_ARG;
    }
    if (!s_have_indices) {
        return AGN_ERR_ORDER;
    }
    out->codec = AGN_CODEC_PACKED;
    if (codec == AGN_CODEC_RANS && agn_rans_tables != 0) {
        /* Capacity = the packed size: a longer rANS payload fails with ERR_BUFFER and the
         * frame goes out packed (the Python reference applies the same rule). */
        n = agilenn_rans_encode(s_indices, AGN_REMOTE, AGN_FEAT_H, AGN_FEAT_W, agn_rans_tables,
                                s_payload, AGN_PACKED_PAYLOAD_BYTES);
        if (n >= 0) {
            out->codec = AGN_CODEC_RANS;
        } else if (n != AGILENN_CODEC_ERR_BUFFER) {
            return AGN_ERR_CODEC;
        }
    }
    if (n < 0) {
        n = agilenn_packed_encode(s_indices, AGN_REMOTE_COUNT, AGN_CENTROIDS, s_payload,
                                  AGN_MAX_PAYLOAD_BYTES);
        if (n < 0) {
            return AGN_ERR_CODEC;
        }
    }
    out->payload = s_payload;
    out->payload_len = (uint32_t)n;
    return AGN_OK;
}

agn_status_t agn_process(const agn_frame_t *frame, uint8_t codec, agn_result_t *out)
{
    agn_status_t st = agn_extract(frame, out);
    if (st != AGN_OK) {
        return st;
    }
    return agn_encode(codec, out);
}
