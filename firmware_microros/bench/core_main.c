/*
 * core_main.c - the smallest program that uses the whole firmware core, for the flash and
 * RAM figures: one call of agn_process on a frame whose address the linker cannot know
 * (so nothing is optimised away). Sizes are those of a microcontroller image of the core,
 * startup code and vector table included, camera/transport drivers excluded.
 */
#include <stdint.h>

#include "agilenn_core.h"

volatile const uint8_t *g_frame_pixels;
volatile uint16_t g_frame_w = 32u;
volatile uint16_t g_frame_h = 32u;
volatile uint32_t g_payload_len;

int main(void)
{
    agn_frame_t frame;
    agn_result_t res;
    frame.pixels = (const uint8_t *)g_frame_pixels;
    frame.width = g_frame_w;
    frame.height = g_frame_h;
    frame.stride = 0u;
    frame.format = AGN_PIXEL_RGB888;
    if (agn_process(&frame, AGN_CODEC_RANS, &res) != AGN_OK) {
        return 1;
    }
    g_payload_len = res.payload_len;
    return 0;
}
