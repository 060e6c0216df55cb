/*
 * jpeg_bench_main.c - libjpeg-turbo's encoder on the benchmark's frames (jpeg_frames.h,
 * written by tools/jpeg_m7.py frames), on QEMU mps2-an500 or on the host.
 *
 * For each DCT method (ISLOW, the library's default, then IFAST) and each quality in
 * JB_QUALITIES, the compressor is set up once (jb_setup) and every frame is encoded with
 * jb_encode; tools/jpeg_m7.py counts each call from its entry to its return address with the
 * TCG plugin. Output lines:
 *   jpeg <dct> <quality> <frame> len <bytes> crc <crc32> [ticks <FPGAIO ticks>]
 *   data <dct> <quality> <frame> <hex of the JPEG>        (ISLOW only; compared with OpenCV)
 *   heap_peak <bytes> / stack_peak <bytes> / result errors <n>
 */
#include <stdint.h>

#include "bench_io.h"
#include "jpeg_bench.h"
#include "jpeg_frames.h"

#define JB_OUT_CAPACITY (JB_WIDTH * JB_HEIGHT * 3u + 4096u)

static const int jb_qualities[] = {JB_QUALITIES};
static uint8_t jb_out[JB_OUT_CAPACITY];
static jb_encoder_t jb_enc;

int main(void)
{
    static const char *const dct_names[] = {"islow", "ifast"};
    static const J_DCT_METHOD dct_methods[] = {JDCT_ISLOW, JDCT_IFAST};
    uint32_t errors = 0u;
    uint32_t m;
    uint32_t qi;
    uint32_t f;
    uint32_t j;

    bench_puts("frames ");
    bench_put_u32(JB_FRAME_COUNT);
    bench_puts(" width ");
    bench_put_u32(JB_WIDTH);
    bench_puts(" height ");
    bench_put_u32(JB_HEIGHT);
    bench_puts(" version ");
    bench_put_u32(LIBJPEG_TURBO_VERSION_NUMBER);
    bench_puts("\n");
    for (m = 0u; m < 2u; m++) {
        for (qi = 0u; qi < sizeof(jb_qualities) / sizeof(jb_qualities[0]); qi++) {
            jb_setup(&jb_enc, JB_WIDTH, JB_HEIGHT, jb_qualities[qi], dct_methods[m], jb_out, sizeof(jb_out));
            for (f = 0u; f < JB_FRAME_COUNT; f++) {
                uint32_t t0 = bench_ticks();
                uint32_t len = jb_encode(&jb_enc, jb_frames[f]);
                uint32_t t1 = bench_ticks();
                errors += (len == 0u) ? 1u : 0u;
                bench_puts("jpeg ");
                bench_puts(dct_names[m]);
                bench_puts(" ");
                bench_put_u32((uint32_t)jb_qualities[qi]);
                bench_puts(" ");
                bench_put_u32(f);
                bench_puts(" len ");
                bench_put_u32(len);
                bench_puts(" crc ");
                bench_put_u32(bench_crc32(jb_out, len));
                if (bench_is_target()) {
                    bench_puts(" ticks ");
                    bench_put_u32(t1 - t0);
                }
                bench_puts("\n");
                if (m == 0u) {
                    bench_puts("data ");
                    bench_puts(dct_names[m]);
                    bench_puts(" ");
                    bench_put_u32((uint32_t)jb_qualities[qi]);
                    bench_puts(" ");
                    bench_put_u32(f);
                    bench_puts(" ");
                    for (j = 0u; j < len; j++) {
                        bench_put_hex8(jb_out[j]);
                    }
                    bench_puts("\n");
                }
            }
            jb_teardown(&jb_enc);
        }
    }
    bench_puts("heap_peak ");
    bench_put_u32(jb_heap_peak());
    bench_puts("\n");
    if (bench_is_target()) {
        bench_puts("stack_peak ");
        bench_put_u32(bench_stack_peak());
        bench_puts("\n");
    }
    bench_puts("result errors ");
    bench_put_u32(errors);
    bench_puts("\n");
    return errors == 0u ? 0 : 1;
}
