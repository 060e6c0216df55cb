/*
 * bench_io_host.c - bench I/O on a host: stdout, no counter.
 */
#include <stdio.h>

#include "bench_io.h"

void bench_puts(const char *s)
{
    fputs(s, stdout);
}

uint32_t bench_ticks(void)
{
    return 0u;
}

uint32_t bench_stack_peak(void)
{
    return 0u;
}

int bench_is_target(void)
{
    return 0;
}
