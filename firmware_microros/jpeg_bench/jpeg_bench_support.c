/*
 * jpeg_bench_support.c - the device-side glue a firmware needs around libjpeg-turbo's
 * encoder: an in-memory destination over a fixed buffer, an error manager that needs no
 * stdio (a fatal error ends the run with status 98 and the libjpeg message code), the heap
 * for the library's memory manager (jmemnobs.c -> newlib malloc -> _sbrk over a static
 * arena, with its high-water mark), and the per-frame encode call.
 */
#include "jpeg_bench.h"

#include "bench_io.h"

#define JB_HEAP_BYTES (256u * 1024u)

void bench_exit(int status); /* bench_io_semihost.c */

static uint8_t jb_heap[JB_HEAP_BYTES] __attribute__((aligned(8)));
static uint32_t jb_heap_used;
static uint32_t jb_heap_high;

void *_sbrk(ptrdiff_t increment);
void *_sbrk(ptrdiff_t increment)
{
    uint32_t before = jb_heap_used;
    if (increment < 0 ? (uint32_t)(-increment) > jb_heap_used
                      : (uint32_t)increment > JB_HEAP_BYTES - jb_heap_used) {
        return (void *)-1;
    }
    jb_heap_used = (uint32_t)((int32_t)jb_heap_used + (int32_t)increment);
    if (jb_heap_used > jb_heap_high) {
        jb_heap_high = jb_heap_used;
    }
    return &jb_heap[before];
}

uint32_t jb_heap_peak(void)
{
    return jb_heap_high;
}

/* ------------------------------------------------------------------ error manager */
static void jb_error_exit(j_common_ptr cinfo)
{
    bench_puts("jpeg_error ");
    bench_put_i32(cinfo->err->msg_code);
    bench_puts("\n");
    bench_exit(98);
}

static void jb_emit_message(j_common_ptr cinfo, int msg_level)
{
    if (msg_level < 0) {
        cinfo->err->num_warnings++;
    }
}

static void jb_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void jb_format_message(j_common_ptr cinfo, char *buffer)
{
    (void)cinfo;
    buffer[0] = '\0';
}

static void jb_reset_error_mgr(j_common_ptr cinfo)
{
    cinfo->err->num_warnings = 0;
    cinfo->err->msg_code = 0;
}

/* ------------------------------------------------------------------ destination */
static void jb_init_destination(j_compress_ptr cinfo)
{
    jb_mem_dest_t *d = (jb_mem_dest_t *)cinfo->dest;
    d->pub.next_output_byte = d->buffer;
    d->pub.free_in_buffer = d->capacity;
    d->overflowed = 0;
}

static boolean jb_empty_output_buffer(j_compress_ptr cinfo)
{
    /* The buffer is full: keep the encoder running on its last bytes and report 0. */
    jb_mem_dest_t *d = (jb_mem_dest_t *)cinfo->dest;
    d->overflowed = 1;
    d->pub.next_output_byte = d->buffer;
    d->pub.free_in_buffer = d->capacity;
    return TRUE;
}

static void jb_term_destination(j_compress_ptr cinfo)
{
    (void)cinfo;
}

/* ------------------------------------------------------------------ encoder */
void jb_setup(jb_encoder_t *enc, uint32_t width, uint32_t height, int quality, J_DCT_METHOD dct,
              uint8_t *buffer, size_t capacity)
{
    struct jpeg_compress_struct *c = &enc->cinfo;
    enc->err.error_exit = jb_error_exit;
    enc->err.emit_message = jb_emit_message;
    enc->err.output_message = jb_output_message;
    enc->err.format_message = jb_format_message;
    enc->err.reset_error_mgr = jb_reset_error_mgr;
    enc->err.trace_level = 0;
    enc->err.num_warnings = 0;
    enc->err.msg_code = 0;
    enc->err.jpeg_message_table = NULL;
    enc->err.last_jpeg_message = 0;
    enc->err.addon_message_table = NULL;
    enc->err.first_addon_message = 0;
    enc->err.last_addon_message = 0;
    c->err = &enc->err;
    jpeg_create_compress(c);
    c->image_width = width;
    c->image_height = height;
    c->input_components = 3;
    c->in_color_space = JCS_RGB;
    jpeg_set_defaults(c);
    c->dct_method = dct;
    jpeg_set_quality(c, quality, TRUE);
    enc->dest.pub.init_destination = jb_init_destination;
    enc->dest.pub.empty_output_buffer = jb_empty_output_buffer;
    enc->dest.pub.term_destination = jb_term_destination;
    enc->dest.buffer = buffer;
    enc->dest.capacity = capacity;
    c->dest = &enc->dest.pub;
}

uint32_t jb_encode(jb_encoder_t *enc, const uint8_t *rgb)
{
    struct jpeg_compress_struct *c = &enc->cinfo;
    const uint32_t stride = c->image_width * 3u;
    JSAMPROW rows[16];
    jpeg_start_compress(c, TRUE);
    while (c->next_scanline < c->image_height) {
        uint32_t n = c->image_height - c->next_scanline;
        uint32_t i;
        if (n > 16u) {
            n = 16u;
        }
        for (i = 0u; i < n; i++) {
            rows[i] = (JSAMPROW)(rgb + (size_t)(c->next_scanline + i) * stride);
        }
        (void)jpeg_write_scanlines(c, rows, n);
    }
    jpeg_finish_compress(c);
    if (enc->dest.overflowed) {
        return 0u;
    }
    return (uint32_t)(enc->dest.capacity - enc->dest.pub.free_in_buffer);
}

void jb_teardown(jb_encoder_t *enc)
{
    jpeg_destroy_compress(&enc->cinfo);
}
