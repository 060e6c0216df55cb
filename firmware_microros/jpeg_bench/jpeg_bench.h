/*
 * jpeg_bench.h - the harness around libjpeg-turbo's encoder for the measured edge-only
 * baseline (make jpeg-report): a fixed in-memory destination, an error manager without
 * stdio, and a compressor set up once per quality the way a device would keep it.
 * libjpeg-turbo itself is fetched at build time (tools/fetch_libjpeg_turbo.sh).
 */
#ifndef JPEG_BENCH_H
#define JPEG_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t declared first */

#include "jpeglib.h"

typedef struct {
    struct jpeg_destination_mgr pub;
    uint8_t *buffer;
    size_t capacity;
    int overflowed;
} jb_mem_dest_t;

typedef struct {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr err;
    jb_mem_dest_t dest;
} jb_encoder_t;

/* Create the compressor for width x height RGB888 frames at this IJG quality (1..100) and
 * DCT method (JDCT_ISLOW / JDCT_IFAST), writing into buffer[capacity]. Baseline Huffman
 * with the standard tables (no optimize_coding), 4:2:0 (jpeg_set_defaults). */
void jb_setup(jb_encoder_t *enc, uint32_t width, uint32_t height, int quality, J_DCT_METHOD dct,
              uint8_t *buffer, size_t capacity);

/* Encode one frame (rows of width * 3 bytes, RGB). Returns the JPEG length in bytes, 0 when
 * the buffer overflowed. */
uint32_t jb_encode(jb_encoder_t *enc, const uint8_t *rgb);

void jb_teardown(jb_encoder_t *enc);

/* Bytes of heap the library ever held (newlib malloc on top of _sbrk over a static arena). */
uint32_t jb_heap_peak(void);

#endif /* JPEG_BENCH_H */
