/*
 * jpeg_size_main.c - the smallest program that encodes a frame with libjpeg-turbo, for the
 * encoder's flash and RAM figures: one jb_setup + jb_encode at a quality and on a frame the
 * linker cannot know (nothing is optimised away). Startup code, vector table, newlib's
 * malloc and memcpy/memset are included; camera and transport drivers are not.
 */
#include <stdint.h>

#include "jpeg_bench.h"

#define SIZE_W 96u
#define SIZE_H 96u

volatile const uint8_t *g_jpeg_frame;
volatile int g_jpeg_quality = 75;
volatile uint32_t g_jpeg_len;
static uint8_t g_jpeg_out[SIZE_W * SIZE_H * 3u];
static jb_encoder_t g_jpeg_enc;

int main(void)
{
    jb_setup(&g_jpeg_enc, SIZE_W, SIZE_H, g_jpeg_quality, JDCT_ISLOW, g_jpeg_out, sizeof(g_jpeg_out));
    g_jpeg_len = jb_encode(&g_jpeg_enc, (const uint8_t *)g_jpeg_frame);
    jb_teardown(&g_jpeg_enc);
    return 0;
}
