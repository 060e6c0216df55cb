/*
 * startup_m7.S - reset code for the Cortex-M7 benchmark on QEMU mps2-an500.
 * Enables the FPU (CPACR) before any C code can run an FP instruction, copies .data,
 * zeroes .bss, paints the stack region (for the high-water mark), calls main and passes
 * its return value to bench_exit (semihosting exit with status). Faults exit with 99.
 */
    .syntax unified
    .cpu cortex-m7
    .fpu fpv5-sp-d16
    .thumb

    .section .isr_vector, "a", %progbits
    .align 2
    .global g_vectors
g_vectors:
    .word _estack
    .word Reset_Handler
    .rept 14
    .word Fault_Handler
    .endr

    .text
    .thumb_func
    .global Reset_Handler
    .type Reset_Handler, %function
Reset_Handler:
    ldr r0, =0xE000ED88          /* CPACR: full access to CP10 and CP11 */
    ldr r1, [r0]
    orr r1, r1, #(0xF << 20)
    str r1, [r0]
    dsb
    isb
    ldr r0, =_sidata             /* copy .data from its load address */
    ldr r1, =_sdata
    ldr r2, =_edata
1:  cmp r1, r2
    bhs 2f
    ldr r3, [r0], #4
    str r3, [r1], #4
    b 1b
2:  ldr r1, =_sbss               /* zero .bss */
    ldr r2, =_ebss
    movs r3, #0
3:  cmp r1, r2
    bhs 4f
    str r3, [r1], #4
    b 3b
4:  ldr r1, =_sstack             /* paint the stack region below the current SP */
    mov r2, sp
    ldr r3, =0xA5A5A5A5
5:  cmp r1, r2
    bhs 6f
    str r3, [r1], #4
    b 5b
6:  bl main
    bl bench_exit
7:  b 7b
    .size Reset_Handler, . - Reset_Handler

    .thumb_func
    .type Fault_Handler, %function
Fault_Handler:
    movs r0, #99
    bl bench_exit
    b .
    .size Fault_Handler, . - Fault_Handler
