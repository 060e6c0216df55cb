/*
 * bench_io_common.c - number formatting on top of bench_puts, and the CRC-32 of outputs.
 */
#include "bench_io.h"

void bench_put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u);
    bench_puts(&buf[i]);
}

void bench_put_i32(int32_t v)
{
    if (v < 0) {
        bench_puts("-");
        bench_put_u32((uint32_t)0u - (uint32_t)v);
    } else {
        bench_put_u32((uint32_t)v);
    }
}

void bench_put_hex8(uint8_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[3];
    buf[0] = digits[v >> 4];
    buf[1] = digits[v & 15u];
    buf[2] = '\0';
    bench_puts(buf);
}

uint32_t bench_crc32(const uint8_t *p, uint32_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    uint32_t i;
    uint32_t k;
    for (i = 0u; i < n; i++) {
        crc ^= p[i];
        for (k = 0u; k < 8u; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
