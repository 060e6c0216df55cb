/*
 * bench_io.h - the little I/O the benchmark needs, with a host (stdio) and a bare-metal
 * Cortex-M7 / QEMU mps2-an500 (semihosting) implementation.
 */
#ifndef BENCH_IO_H
#define BENCH_IO_H

#include <stdint.h>

void bench_puts(const char *s);          /* writes s as is (no newline added) */
uint32_t bench_ticks(void);              /* free-running counter (0 where there is none) */
uint32_t bench_stack_peak(void);         /* bytes of stack ever used (0 where unknown) */
int bench_is_target(void);               /* 1 on the microcontroller / emulator */

/* Formatting helpers (no printf on the target). */
void bench_put_u32(uint32_t v);
void bench_put_i32(int32_t v);
void bench_put_hex8(uint8_t v);

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32) of n bytes: how outputs are compared. */
uint32_t bench_crc32(const uint8_t *p, uint32_t n);

#endif /* BENCH_IO_H */
