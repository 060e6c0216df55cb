/*
 * agn_frame_source.h - where frames come from: a camera driver where the board has one,
 * else the built-in test images (agilenn_test_images.h, generated from the bundle's data),
 * so every board runs without a camera.
 */
#ifndef AGN_FRAME_SOURCE_H
#define AGN_FRAME_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "agilenn_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    agn_frame_t frame;  /* pixels valid until release() */
    uint32_t index;     /* frame counter (test images: the image number) */
    int16_t label;      /* known class of a test image, -1 for camera frames */
} agn_source_frame_t;

typedef struct agn_frame_source {
    const char *name;
    bool (*open)(struct agn_frame_source *self);
    /* A new frame, or false when none is ready (must not block for long). */
    bool (*acquire)(struct agn_frame_source *self, agn_source_frame_t *out);
    void (*release)(struct agn_frame_source *self);
    void *state;
} agn_frame_source_t;

/* The generated test images, cycled in order. */
agn_frame_source_t *agn_test_image_source(void);

#if defined(AGN_CAMERA_ESP32)
/* OV2640 on an ESP32-CAM (AI Thinker pinout), QQVGA RGB565 (big-endian). */
agn_frame_source_t *agn_esp32_camera_source(void);
#endif

#ifdef __cplusplus
}
#endif

#endif /* AGN_FRAME_SOURCE_H */
