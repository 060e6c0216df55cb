/*
 * bench_main.c - runs every golden frame through the firmware core, checks the results
 * against the numpy reference embedded in golden_vectors.h, and prints them (payload in
 * hex) so that the host build's and the emulated Cortex-M7's outputs can be diffed.
 * On the target it also prints the FPGAIO tick counts around each call (instruction
 * counts with -icount) and the stack high-water mark.
 */
#include <stdint.h>

#include "agilenn_core.h"
#include "bench_io.h"
#include "golden_vectors.h"

static int same(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    uint32_t i;
    for (i = 0u; i < n; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

/* BENCH_CASES: run only the first N golden cases (the profile build runs the test
 * images); BENCH_SKIP_PACKED: no second, packed agn_encode per frame (profile build). */
#ifndef BENCH_CASES
#define BENCH_CASES GOLDEN_COUNT
#endif

volatile int32_t g_bench_sink;

/* Distinct call sites for the two codecs: the report counts each agn_encode call from its
 * entry to its return address inside these wrappers (noipa: no inlining, no tail call). */
static __attribute__((noipa)) agn_status_t encode_rans(agn_result_t *res)
{
    agn_status_t st = agn_encode(AGN_CODEC_RANS, res);
    g_bench_sink = st;
    return st;
}

#ifndef BENCH_SKIP_PACKED
static __attribute__((noipa)) agn_status_t encode_packed(agn_result_t *res)
{
    agn_status_t st = agn_encode(AGN_CODEC_PACKED, res);
    g_bench_sink = st;
    return st;
}
#endif

static void put_kv(const char *key, uint32_t v)
{
    bench_puts(" ");
    bench_puts(key);
    bench_puts(" ");
    bench_put_u32(v);
}

int main(void)
{
    static const char *const status_names[] = {"equal", "MISMATCH"};
    agn_result_t res;
    uint32_t mismatches = 0u;
    uint32_t i;
    uint32_t j;

    bench_puts("model ");
    bench_puts(AGN_MODEL_ID);
    put_kv("cases", BENCH_CASES);
    bench_puts("\n");
    for (i = 0u; i < (uint32_t)BENCH_CASES; i++) {
        const golden_case_t *g = &golden_cases[i];
        agn_frame_t frame;
        uint32_t t0;
        uint32_t t1;
        uint32_t t2;
        uint32_t t3;
        int ok = 1;
        agn_status_t st;

        frame.pixels = g->pixels;
        frame.width = g->width;
        frame.height = g->height;
        frame.stride = 0u;
        frame.format = (agn_pixel_format_t)g->format;

        t0 = bench_ticks();
        st = agn_extract(&frame, &res);
        t1 = bench_ticks();
        if (st != AGN_OK || encode_rans(&res) != AGN_OK) {
            ok = 0;
        }
        t2 = bench_ticks();
        for (j = 0u; j < AGN_CLASSES; j++) {
            ok &= (res.logit_q[j] == g->logit_q[j]);
        }
        ok &= same(res.indices, g->indices, AGN_REMOTE_COUNT);
        ok &= (res.codec == g->codec && res.payload_len == g->payload_len);
        ok &= (res.payload_len == g->payload_len) && same(res.payload, g->payload, g->payload_len);

        bench_puts("frame ");
        bench_put_u32(i);
        bench_puts(" ");
        bench_puts(g->name);
        put_kv("codec", res.codec);
        put_kv("len", res.payload_len);
        put_kv("indices_crc", bench_crc32(res.indices, AGN_REMOTE_COUNT));
        bench_puts("\nlogit_q ");
        bench_put_u32(i);
        for (j = 0u; j < AGN_CLASSES; j++) {
            bench_puts(" ");
            bench_put_i32(res.logit_q[j]);
        }
        bench_puts("\npayload ");
        bench_put_u32(i);
        bench_puts(" ");
        for (j = 0u; j < res.payload_len; j++) {
            bench_put_hex8(res.payload[j]);
        }
        bench_puts("\n");

#ifndef BENCH_SKIP_PACKED
        st = encode_packed(&res);
        t3 = bench_ticks();
        ok &= (st == AGN_OK && res.payload_len == g->packed_len &&
               same(res.payload, g->packed, g->packed_len));
#else
        t3 = bench_ticks();
#endif
        bench_puts("packed ");
        bench_put_u32(i);
        put_kv("len", res.payload_len);
        put_kv("crc", bench_crc32(res.payload, res.payload_len));
        bench_puts("\ncheck ");
        bench_put_u32(i);
        bench_puts(" ");
        bench_puts(status_names[ok ? 0 : 1]);
        bench_puts("\n");
        if (bench_is_target()) {
            bench_puts("ticks ");
            bench_put_u32(i);
            put_kv("extract", t1 - t0);
            put_kv("encode", t2 - t1);
            put_kv("packed", t3 - t2);
            bench_puts("\n");
        }
        mismatches += ok ? 0u : 1u;
    }
    if (bench_is_target()) {
        bench_puts("stack_peak ");
        bench_put_u32(bench_stack_peak());
        bench_puts("\n");
    }
    bench_puts("result mismatches ");
    bench_put_u32(mismatches);
    bench_puts("\n");
    return mismatches == 0u ? 0 : 1;
}
