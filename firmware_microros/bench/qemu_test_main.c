/*
 * qemu_test_main.c - runs a host test program (test/test_kernels.c, test/test_golden.c,
 * compiled with -Dmain=agn_test_main) bare-metal on QEMU mps2-an500: newlib's semihosting
 * stdio (rdimon) for its output, its return value as QEMU's exit status (startup_m7.S ->
 * bench_exit). This is how the DSP kernel path is tested: the same tests as on the host.
 */
extern void initialise_monitor_handles(void);
int agn_test_main(void);

int main(void)
{
    initialise_monitor_handles();
    return agn_test_main();
}
