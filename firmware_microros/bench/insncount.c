/*
 * insncount.c - QEMU TCG plugin (API v1, QEMU 7.2): exact counts of executed guest
 * instructions between address pairs.
 *
 *   -plugin ./libinsncount.so,win=0xBEGIN:0xEND[,win=...] -d plugin -D log
 *
 * Every executed instruction adds 1 to a counter (inline, per instruction). When the
 * instruction at BEGIN executes, the window snapshots the counter; when the one at END
 * executes it prints "win <k> <count>". With BEGIN = a function's entry and END = the
 * return address of its call site, a window counts the call from its first instruction
 * through its return, callees included. At exit: "total <count>". Thumb bit ignored.
 *
 * profile=FILE additionally writes "<address> <executions>" for every executed
 * instruction below 1 MiB (the image's code) at exit, for tools/profile_report.py. With
 * windows given too, only instructions executed while a window is open are profiled (the
 * calls being measured, not the harness around them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_WINDOWS 8

typedef struct {
    uint64_t begin;
    uint64_t end;
    uint64_t start;
    int open;
} window_t;

#define PROFILE_LIMIT (1u << 20) /* bytes of address space profiled */

static window_t windows[MAX_WINDOWS];
static int n_windows;
static uint64_t total; /* one vCPU on mps2: a plain counter is enough */
static uint64_t *profile;  /* one counter per halfword address, or NULL */
static char profile_path[256];
static int open_windows; /* windows currently between BEGIN and END */

static void on_begin(unsigned int vcpu, void *udata)
{
    uint64_t addr = (uint64_t)(uintptr_t)udata;
    int k;
    (void)vcpu;
    for (k = 0; k < n_windows; k++) {
        if (windows[k].begin == addr) {
            windows[k].start = total;
            if (!windows[k].open) {
                windows[k].open = 1;
                open_windows++;
            }
        }
    }
}

static void on_end(unsigned int vcpu, void *udata)
{
    uint64_t addr = (uint64_t)(uintptr_t)udata;
    char line[64];
    int k;
    (void)vcpu;
    for (k = 0; k < n_windows; k++) {
        if (windows[k].end == addr && windows[k].open) {
            windows[k].open = 0;
            open_windows--;
            snprintf(line, sizeof(line), "win %d %" PRIu64 "\n", k, total - windows[k].start);
            qemu_plugin_outs(line);
        }
    }
}

/* Profile counter of one instruction, counted only inside an open window. */
static void on_profiled_insn(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    if (open_windows > 0) {
        (*(uint64_t *)udata)++;
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    size_t i;
    int k;
    (void)id;
    for (i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t addr = qemu_plugin_insn_vaddr(insn) & ~(uint64_t)1;
        int is_begin = 0;
        int is_end = 0;
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &total, 1);
        for (k = 0; k < n_windows; k++) {
            is_begin |= windows[k].begin == addr;
            is_end |= windows[k].end == addr;
        }
        /* END first (a return address is outside its window), then BEGIN (a function's
         * entry is inside), then the profile counter. */
        if (is_end) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)addr);
        }
        if (is_begin) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)addr);
        }
        if (profile != NULL && addr < PROFILE_LIMIT) {
            if (n_windows > 0) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_profiled_insn,
                                                       QEMU_PLUGIN_CB_NO_REGS, &profile[addr / 2]);
            } else {
                qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                           &profile[addr / 2], 1);
            }
        }
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *udata)
{
    char line[64];
    (void)id;
    (void)udata;
    snprintf(line, sizeof(line), "total %" PRIu64 "\n", total);
    qemu_plugin_outs(line);
    if (profile != NULL) {
        FILE *f = fopen(profile_path, "w");
        uint64_t i;
        if (f != NULL) {
            for (i = 0; i < PROFILE_LIMIT / 2; i++) {
                if (profile[i] != 0) {
                    fprintf(f, "%" PRIx64 " %" PRIu64 "\n", i * 2, profile[i]);
                }
            }
            fclose(f);
        }
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    int i;
    (void)info;
    for (i = 0; i < argc; i++) {
        const char *arg = argv[i];
        char *colon;
        if (strncmp(arg, "profile=", 8) == 0) {
            snprintf(profile_path, sizeof(profile_path), "%s", arg + 8);
            profile = calloc(PROFILE_LIMIT / 2, sizeof(uint64_t));
            if (profile == NULL) {
                return -1;
            }
            continue;
        }
        if (strncmp(arg, "win=", 4) != 0 || n_windows == MAX_WINDOWS) {
            fprintf(stderr, "insncount: bad or too many arguments: %s\n", arg);
            return -1;
        }
        windows[n_windows].begin = strtoull(arg + 4, &colon, 0) & ~(uint64_t)1;
        if (*colon != ':') {
            fprintf(stderr, "insncount: expected win=BEGIN:END, got %s\n", arg);
            return -1;
        }
        windows[n_windows].end = strtoull(colon + 1, NULL, 0) & ~(uint64_t)1;
        n_windows++;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
