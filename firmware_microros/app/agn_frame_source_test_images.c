/*
 * agn_frame_source_test_images.c - frames from the built-in test images (flash).
 */
#define AGILENN_TEST_IMAGES_IMPLEMENTATION
#include "agilenn_test_images.h"

#include "agn_frame_source.h"

typedef struct {
    uint32_t next;
} test_image_state_t;

static test_image_state_t s_state;

static bool ti_open(agn_frame_source_t *self)
{
    ((test_image_state_t *)self->state)->next = 0u;
    return AGN_TEST_IMAGE_COUNT > 0u;
}

static bool ti_acquire(agn_frame_source_t *self, agn_source_frame_t *out)
{
    test_image_state_t *st = (test_image_state_t *)self->state;
    uint32_t i = st->next % AGN_TEST_IMAGE_COUNT;
    out->frame.pixels = agn_test_images[i];
    out->frame.width = (uint16_t)AGN_TEST_IMAGE_W;
    out->frame.height = (uint16_t)AGN_TEST_IMAGE_H;
    out->frame.stride = 0u;
    out->frame.format = AGN_PIXEL_RGB888;
    out->index = i;
    out->label = (int16_t)agn_test_image_labels[i];
    st->next = i + 1u;
    return true;
}

static void ti_release(agn_frame_source_t *self)
{
    (void)self;
}

static agn_frame_source_t s_source = {"test_images", ti_open, ti_acquire, ti_release, &s_state};

agn_frame_source_t *agn_test_image_source(void)
{
    return &s_source;
}
