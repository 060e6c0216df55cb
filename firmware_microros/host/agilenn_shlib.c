/*
 * agilenn_shlib.c - a flat C ABI over the firmware core for ctypes
 * (agilenn_ros/runtime/firmware_core.py). Host builds only; the same core sources as the
 * microcontroller build.
 */
#include <stdint.h>

#include "agilenn_core.h"

#if defined(__GNUC__)
#define AGN_EXPORT __attribute__((visibility("default")))
#else
#define AGN_EXPORT
#endif

#define AGN_SHLIB_ABI 1

/* info[0..11]: ABI version, model hash, input h, input w, remote channels, feature h,
 * feature w, classes, centroids, max payload bytes, have rANS tables, packed payload bytes. */
AGN_EXPORT int32_t agn_shlib_info(uint32_t *info, uint32_t n)
{
    const agn_model_info_t *m = agn_model_info();
    uint32_t v[12];
    uint32_t i;

    v[0] = AGN_SHLIB_ABI;
    v[1] = m->model_hash;
    v[2] = m->input_h;
    v[3] = m->input_w;
    v[4] = m->remote_channels;
    v[5] = m->feat_h;
    v[6] = m->feat_w;
    v[7] = m->classes;
    v[8] = m->centroids;
    v[9] = m->max_payload_bytes;
    v[10] = m->have_rans;
    v[11] = AGN_PACKED_PAYLOAD_BYTES;
    for (i = 0u; i < n && i < 12u; i++) {
        info[i] = v[i];
    }
    return 12;
}

AGN_EXPORT const char *agn_shlib_model_id(void)
{
    return agn_model_info()->model_id;
}

/* Runs one frame. Outputs: logits[classes], logit_q[classes], indices[remote count],
 * payload[cap] (*len bytes), *codec_used. Returns an agn_status_t, or -10 when cap is too
 * small for the payload. */
AGN_EXPORT int32_t agn_shlib_process(const uint8_t *pixels, uint32_t width, uint32_t height,
                                     uint32_t stride, int32_t format, int32_t codec,
                                     float *logits, int32_t *logit_q, uint8_t *indices,
                                     uint8_t *payload, uint32_t cap, uint32_t *len,
                                     uint8_t *codec_used)
{
    agn_frame_t frame;
    agn_result_t res;
    agn_status_t st;
    uint32_t i;

    if (width > 0xFFFFu || height > 0xFFFFu || codec < 0 || codec > 255) {
        return AGN_ERR_ARG;
    }
    frame.pixels = pixels;
    frame.width = (uint16_t)width;
    frame.height = (uint16_t)height;
    frame.stride = stride;
    if (format < 0 || format > 2) {
        return AGN_ERR_ARG;
    }
    frame.format = (agn_pixel_format_t)format;
    st = agn_process(&frame, (uint8_t)codec, &res);
    if (st != AGN_OK) {
        return st;
    }
    if (res.payload_len > cap) {
        return -10;
    }
    for (i = 0u; i < AGN_CLASSES; i++) {
        logits[i] = res.local_logits[i];
        logit_q[i] = res.logit_q[i];
    }
    for (i = 0u; i < AGN_REMOTE_COUNT; i++) {
        indices[i] = res.indices[i];
    }
    for (i = 0u; i < res.payload_len; i++) {
        payload[i] = res.payload[i];
    }
    *len = res.payload_len;
    *codec_used = res.codec;
    return AGN_OK;
}
