/*
 * bench_io_semihost.c - bench I/O on QEMU mps2-an500 (Cortex-M7): ARM semihosting for the
 * console and the exit status, the FPGAIO 25 MHz counter (with -icount shift=N it advances
 * 2^N ns per instruction), and the stack high-water mark from the pattern the startup code
 * paints over the stack region.
 */
#include "bench_io.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define FPGAIO_COUNTER (*(volatile uint32_t *)0x40028018u)
#define STACK_PAINT 0xA5A5A5A5u

extern uint32_t _sstack; /* linker script: lowest address of the stack region */
extern uint32_t _estack; /* initial SP */

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void bench_puts(const char *s)
{
    (void)semihost(SYS_WRITE0, s);
}

uint32_t bench_ticks(void)
{
    return FPGAIO_COUNTER;
}

uint32_t bench_stack_peak(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((const uint8_t *)&_estack - (const uint8_t *)p);
}

int bench_is_target(void)
{
    return 1;
}

/* Called by the startup code with main's return value. */
void bench_exit(int status)
{
    uint32_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)status;
    for (;;) {
        (void)semihost(SYS_EXIT_EXTENDED, block);
    }
}
