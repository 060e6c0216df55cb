/*
 * test_codec_host.c - host unit test of the firmware codec encoders (agilenn_codec.c).
 *
 *   make -f Makefile.codec codec-host-test         (from firmware_microros/test)
 *   ./test_codec_host <golden dir>                  (test/data/codec_golden)
 *
 * 1. Golden vectors: every case listed in <golden dir>/cases.txt is encoded with the three
 *    codecs and compared byte for byte with the payloads the Python encoders produced.
 * 2. Error handling: every too-small output capacity returns AGILENN_CODEC_ERR_BUFFER and
 *    never writes past it; bad symbols, arguments and tables return their error codes.
 * 3. Hand-checked bitstreams for tiny inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agilenn_codec.h"
#include "golden_tables.h"

#define MAX_SYMBOLS_TEST (64u * 1024u)
#define MAX_PAYLOAD_TEST (128u * 1024u)
#define CANARY 0xA5u

static uint8_t g_indices[MAX_SYMBOLS_TEST];
static uint8_t g_expected[MAX_PAYLOAD_TEST];
static uint8_t g_out[MAX_PAYLOAD_TEST + 16u];
static agilenn_lzw_workspace_t g_lzw_ws;
static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        g_checks++;                                                       \
        if (!(cond)) {                                                    \
            g_failures++;                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

static long read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1u, cap, f);
    if (!feof(f) && fgetc(f) != EOF) {
        fclose(f);
        return -2; /* larger than cap */
    }
    fclose(f);
    return (long)n;
}

static const agilenn_rans_tables_t *find_tables(const char *name)
{
    unsigned i;
    for (i = 0u; i < GOLDEN_TABLES_COUNT; i++) {
        if (strcmp(golden_tables_registry[i].name, name) == 0) {
            return golden_tables_registry[i].tables;
        }
    }
    return NULL;
}

typedef struct {
    uint16_t channels, height, width, n_symbols;
    const agilenn_rans_tables_t *tables;
} case_t;

/* Encodes with codec (0, 1, 2) into out[0..cap); returns the encoder's result. */
static int32_t encode(unsigned codec, const case_t *c, const uint8_t *idx, uint8_t *out,
                      uint32_t cap)
{
    uint32_t count = (uint32_t)c->channels * c->height * c->width;
    switch (codec) {
    case AGILENN_CODEC_PACKED:
        return agilenn_packed_encode(idx, count, c->n_symbols, out, cap);
    case AGILENN_CODEC_RANS:
        return agilenn_rans_encode(idx, c->channels, c->height, c->width, c->tables, out, cap);
    default:
        return agilenn_lzw_encode(idx, count, c->n_symbols, &g_lzw_ws, out, cap);
    }
}

static const char *const k_codec_names[3] = {"packed", "rans", "lzw"};

/* Every capacity below the payload size must fail cleanly without writing past it. */
static void check_small_buffers(unsigned codec, const case_t *c, const char *name, int32_t need)
{
    uint32_t cap;
    uint32_t step = (need > 600) ? (uint32_t)need / 97u : 1u;
    for (cap = 0u; cap < (uint32_t)need; cap += step) {
        int32_t rc;
        memset(g_out, CANARY, (size_t)need + 16u);
        rc = encode(codec, c, g_indices, g_out, cap);
        CHECK(rc == AGILENN_CODEC_ERR_BUFFER, "%s/%s cap %u: got %d, want ERR_BUFFER", name,
              k_codec_names[codec], (unsigned)cap, (int)rc);
        CHECK(g_out[cap] == CANARY, "%s/%s cap %u: wrote past the buffer", name,
              k_codec_names[codec], (unsigned)cap);
    }
    /* the exact size must succeed */
    CHECK(encode(codec, c, g_indices, g_out, (uint32_t)need) == need,
          "%s/%s: exact capacity %d failed", name, k_codec_names[codec], (int)need);
}

static void run_golden(const char *dir)
{
    char path[1024];
    char line[512];
    FILE *list;
    int n_cases = 0;

    snprintf(path, sizeof path, "%s/cases.txt", dir);
    list = fopen(path, "r");
    if (list == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        g_failures++;
        return;
    }
    while (fgets(line, sizeof line, list) != NULL) {
        char name[128];
        char tname[128];
        unsigned ch, h, w, ns;
        case_t c;
        long n;
        uint32_t count;
        unsigned codec;

        if (sscanf(line, "%127s %u %u %u %u %127s", name, &ch, &h, &w, &ns, tname) != 6) {
            continue;
        }
        c.channels = (uint16_t)ch;
        c.height = (uint16_t)h;
        c.width = (uint16_t)w;
        c.n_symbols = (uint16_t)ns;
        c.tables = find_tables(tname);
        CHECK(c.tables != NULL, "%s: unknown tables %s", name, tname);
        if (c.tables == NULL) {
            continue;
        }
        count = (uint32_t)ch * h * w;
        snprintf(path, sizeof path, "%s/%s.u8", dir, name);
        n = read_file(path, g_indices, sizeof g_indices);
        CHECK(n == (long)count, "%s: read %ld index bytes, want %u", name, n, (unsigned)count);
        if (n != (long)count) {
            continue;
        }
        for (codec = 0u; codec < 3u; codec++) {
            int32_t rc;
            snprintf(path, sizeof path, "%s/%s.%s.bin", dir, name, k_codec_names[codec]);
            n = read_file(path, g_expected, sizeof g_expected);
            CHECK(n > 0, "%s: cannot read %s", name, path);
            if (n <= 0) {
                continue;
            }
            memset(g_out, CANARY, sizeof g_out);
            rc = encode(codec, &c, g_indices, g_out, MAX_PAYLOAD_TEST);
            CHECK(rc == (int32_t)n, "%s/%s: length %d, golden %ld", name, k_codec_names[codec],
                  (int)rc, n);
            if (rc == (int32_t)n) {
                CHECK(memcmp(g_out, g_expected, (size_t)n) == 0, "%s/%s: bytes differ from golden",
                      name, k_codec_names[codec]);
            }
            check_small_buffers(codec, &c, name, (int32_t)n);
        }
        n_cases++;
    }
    fclose(list);
    CHECK(n_cases >= 5, "only %d golden cases found", n_cases);
    printf("golden: %d cases x 3 codecs\n", n_cases);
}

static void test_hand_checked(void)
{
    /* packed, 8 symbols: 0b000 001 010 011 100 101 110 111 = 0x05 0x39 0x77 */
    static const uint8_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    static const uint8_t want_packed[9] = {0x10, 0x07, 0x08, 0x00, 0x00, 0x00, 0x05, 0x39, 0x77};
    /* LZW, 2 symbols, input 0 0 0 0: codes 0 (2 bits), 3 (2 bits: "00"), 0 (3 bits)
     * -> bits 00 11 000 -> 0x30 */
    static const uint8_t zeros[4] = {0, 0, 0, 0};
    static const uint8_t want_lzw[7] = {0x12, 0x01, 0x04, 0x00, 0x00, 0x00, 0x30};
    int32_t rc;

    rc = agilenn_packed_encode(seq, 8u, 8u, g_out, sizeof g_out);
    CHECK(rc == 9 && memcmp(g_out, want_packed, 9u) == 0, "packed 0..7: rc %d", (int)rc);
    rc = agilenn_lzw_encode(zeros, 4u, 2u, &g_lzw_ws, g_out, sizeof g_out);
    CHECK(rc == 7 && memcmp(g_out, want_lzw, 7u) == 0, "lzw 0000: rc %d byte6 0x%02x", (int)rc,
          g_out[6]);
    CHECK(agilenn_symbol_bits(2u) == 1u && agilenn_symbol_bits(5u) == 3u &&
              agilenn_symbol_bits(8u) == 3u && agilenn_symbol_bits(9u) == 4u &&
              agilenn_symbol_bits(256u) == 8u,
          "symbol_bits");
}

static void test_errors(void)
{
    static const uint8_t bad[4] = {0, 1, 8, 2};
    const agilenn_rans_tables_t *u8t = find_tables("uniform8");
    const agilenn_rans_tables_t *c19 = find_tables("c19_left_above");
    agilenn_rans_tables_t broken;
    int32_t rc;

    CHECK(agilenn_packed_encode(bad, 4u, 8u, g_out, sizeof g_out) == AGILENN_CODEC_ERR_SYMBOL,
          "packed bad symbol");
    CHECK(agilenn_lzw_encode(bad, 4u, 8u, &g_lzw_ws, g_out, sizeof g_out) ==
              AGILENN_CODEC_ERR_SYMBOL,
          "lzw bad symbol");
    CHECK(agilenn_rans_encode(bad, 1u, 2u, 2u, u8t, g_out, sizeof g_out) ==
              AGILENN_CODEC_ERR_SYMBOL,
          "rans bad symbol");
    CHECK(agilenn_packed_encode(bad, 4u, 1u, g_out, sizeof g_out) == AGILENN_CODEC_ERR_ARG,
          "packed n_symbols 1");
    CHECK(agilenn_packed_encode(bad, 4u, 257u, g_out, sizeof g_out) == AGILENN_CODEC_ERR_ARG,
          "packed n_symbols 257");
    CHECK(agilenn_packed_encode(NULL, 4u, 8u, g_out, sizeof g_out) == AGILENN_CODEC_ERR_ARG,
          "packed NULL indices");
    CHECK(agilenn_packed_encode(bad, 4u, 8u, NULL, 100u) == AGILENN_CODEC_ERR_ARG,
          "packed NULL out");
    CHECK(agilenn_packed_encode(g_indices, AGILENN_CODEC_MAX_SYMBOLS + 1u, 8u, g_out,
                                sizeof g_out) == AGILENN_CODEC_ERR_ARG,
          "packed too many symbols");
    CHECK(agilenn_lzw_encode(bad, 4u, 8u, NULL, g_out, sizeof g_out) == AGILENN_CODEC_ERR_ARG,
          "lzw NULL workspace");
    CHECK(agilenn_rans_encode(bad, 1u, 2u, 2u, NULL, g_out, sizeof g_out) ==
              AGILENN_CODEC_ERR_ARG,
          "rans NULL tables");
    /* per-channel tables for 19 channels used on 3 channels */
    memset(g_indices, 0, 3u * 4u * 4u);
    CHECK(agilenn_rans_encode(g_indices, 3u, 4u, 4u, c19, g_out, sizeof g_out) ==
              AGILENN_CODEC_ERR_TABLE,
          "rans channel mismatch");
    broken = *u8t;
    broken.precision_bits = 17u;
    CHECK(agilenn_rans_encode(g_indices, 1u, 2u, 2u, &broken, g_out, sizeof g_out) ==
              AGILENN_CODEC_ERR_TABLE,
          "rans precision 17");
    broken = *u8t;
    broken.context = 9u;
    CHECK(agilenn_rans_encode(g_indices, 1u, 2u, 2u, &broken, g_out, sizeof g_out) ==
              AGILENN_CODEC_ERR_TABLE,
          "rans bad context");
    broken = *u8t;
    broken.n_tables = 2u;
    CHECK(agilenn_rans_encode(g_indices, 1u, 2u, 2u, &broken, g_out, sizeof g_out) ==
              AGILENN_CODEC_ERR_TABLE,
          "rans bad n_tables");
    /* bounds macros hold for worst cases */
    memset(g_indices, 7, 19u * 32u * 32u);
    g_indices[0] = 0;
    {
        case_t c = {19u, 32u, 32u, 8u, NULL};
        c.tables = c19;
        rc = encode(AGILENN_CODEC_RANS, &c, g_indices, g_out, MAX_PAYLOAD_TEST);
        CHECK(rc > 0 && (uint32_t)rc <= AGILENN_RANS_BOUND(19u * 32u * 32u, 12u),
              "rans bound: %d > %u", (int)rc, (unsigned)AGILENN_RANS_BOUND(19u * 32u * 32u, 12u));
    }
    {
        uint32_t i;
        uint32_t s = 12345u;
        for (i = 0u; i < 19u * 32u * 32u; i++) {
            s = s * 1103515245u + 12345u;
            g_indices[i] = (uint8_t)(s >> 24);
        }
        rc = agilenn_lzw_encode(g_indices, 19u * 32u * 32u, 256u, &g_lzw_ws, g_out,
                                MAX_PAYLOAD_TEST);
        CHECK(rc > 0 && (uint32_t)rc <= AGILENN_LZW_BOUND(19u * 32u * 32u), "lzw bound: %d", (int)rc);
    }
}

int main(int argc, char **argv)
{
    const char *dir = (argc > 1) ? argv[1] : "../../test/data/codec_golden";
    test_hand_checked();
    test_errors();
    run_golden(dir);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return (g_failures == 0) ? EXIT_SUCCESS : EXIT_FAILURE;
}
