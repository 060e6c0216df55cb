/*
 * test_app.c - host tests of the portable parts of the micro-ROS application: the agent
 * connection state machine (against a scripted fake agent), the FeatureFrame size bound
 * used to size the XRCE-DDS streams, the built-in test-image frame source through the
 * core, and the device identity (XRCE client key, node name) derived from the device id.
 */
#include <stdint.h>
#include <string.h>

#include "agilenn_core.h"
#include "agilenn_test_images.h"
#include "agn_app_config.h"
#include "agn_connection.h"
#include "agn_feature_frame.h"
#include "agn_frame_source.h"
#include "agn_identity.h"
#include "test_util.h"

/* ---------------------------------------------------------------- fake agent */

typedef struct {
    int agent_up;          /* the agent answers pings and sessions */
    int create_fails;      /* the next create calls that fail */
    int sync_ok;
    int pings, creates, destroys, syncs;
    int entities;          /* 1 while created */
    uint32_t max_block_ms; /* longest single call (timeout x attempts) */
} fake_t;

static int fake_ping(void *ctx, uint32_t timeout_ms, uint8_t attempts)
{
    fake_t *f = (fake_t *)ctx;
    uint32_t block = f->agent_up ? timeout_ms : timeout_ms * attempts;
    f->pings++;
    if (block > f->max_block_ms) {
        f->max_block_ms = block;
    }
    return f->agent_up;
}

static bool ping_cb(void *ctx, uint32_t timeout_ms, uint8_t attempts)
{
    return fake_ping(ctx, timeout_ms, attempts) != 0;
}

static bool create_cb(void *ctx)
{
    fake_t *f = (fake_t *)ctx;
    f->creates++;
    if (!f->agent_up || f->create_fails > 0) {
        if (f->create_fails > 0) {
            f->create_fails--;
        }
        return false;
    }
    f->entities = 1;
    return true;
}

static void destroy_cb(void *ctx)
{
    fake_t *f = (fake_t *)ctx;
    f->destroys++;
    f->entities = 0;
}

static bool sync_cb(void *ctx, uint32_t timeout_ms)
{
    fake_t *f = (fake_t *)ctx;
    (void)timeout_ms;
    f->syncs++;
    return f->agent_up && f->sync_ok;
}

static const agn_conn_ops_t fake_ops = {ping_cb, create_cb, destroy_cb, sync_cb};

/* Steps the machine every 10 ms for `ms` milliseconds from *t. */
static agn_conn_state_t run_for(agn_conn_t *c, uint32_t *t, uint32_t ms)
{
    agn_conn_state_t s = c->state;
    uint32_t end = *t + ms;
    while ((int32_t)(end - *t) > 0) {
        s = agn_conn_step(c, *t);
        *t += 10u;
    }
    return s;
}

static void test_connection_lifecycle(void)
{
    fake_t f;
    agn_conn_config_t cfg;
    agn_conn_t c;
    uint32_t t = 0xFFFFF000u; /* the millisecond clock wraps during the test */

    memset(&f, 0, sizeof(f));
    f.sync_ok = 1;
    agn_conn_default_config(&cfg);
    agn_conn_init(&c, &cfg, &fake_ops, &f);

    /* no agent: keeps waiting, probing once per period, never creating */
    CHECK_EQ(run_for(&c, &t, 3000), AGN_CONN_WAITING_AGENT);
    CHECK(f.pings >= 5 && f.pings <= 7);
    CHECK_EQ(f.creates, 0);
    CHECK(!agn_conn_can_publish(&c));

    /* agent appears: AVAILABLE, entities, clock sync, CONNECTED */
    f.agent_up = 1;
    CHECK_EQ(run_for(&c, &t, 600), AGN_CONN_CONNECTED);
    CHECK_EQ(f.entities, 1);
    CHECK(c.time_synced);
    CHECK(agn_conn_can_publish(&c));
    CHECK_EQ(c.connects, 1);

    /* connected: liveness pings about once a second */
    f.pings = 0;
    CHECK_EQ(run_for(&c, &t, 5000), AGN_CONN_CONNECTED);
    CHECK(f.pings >= 4 && f.pings <= 6);

    /* agent disappears: DISCONNECTED, entities destroyed, back to waiting */
    f.agent_up = 0;
    CHECK_EQ(run_for(&c, &t, 1100), AGN_CONN_WAITING_AGENT);
    CHECK_EQ(f.entities, 0);
    CHECK_EQ(c.disconnects, 1);
    CHECK(!c.time_synced);

    /* and recovers when it comes back */
    f.agent_up = 1;
    CHECK_EQ(run_for(&c, &t, 600), AGN_CONN_CONNECTED);
    CHECK_EQ(c.connects, 2);

    /* no single call blocks longer than one ping budget */
    CHECK(f.max_block_ms <= cfg.alive_timeout_ms * cfg.alive_attempts);
}

static void test_connection_create_failure_and_publish_errors(void)
{
    fake_t f;
    agn_conn_config_t cfg;
    agn_conn_t c;
    uint32_t t = 0;
    int i;

    memset(&f, 0, sizeof(f));
    f.agent_up = 1;
    f.create_fails = 2;
    f.sync_ok = 1;
    agn_conn_default_config(&cfg);
    agn_conn_init(&c, &cfg, &fake_ops, &f);

    /* two failed creations clean up and retry; the third succeeds */
    CHECK_EQ(run_for(&c, &t, 2000), AGN_CONN_CONNECTED);
    CHECK_EQ(f.creates, 3);
    CHECK(f.destroys >= 2);

    /* consecutive failed publishes drop the connection even while pings still answer */
    for (i = 0; i < cfg.max_publish_failures - 1; i++) {
        agn_conn_report_publish(&c, false);
    }
    agn_conn_report_publish(&c, true); /* a success resets the count */
    for (i = 0; i < cfg.max_publish_failures - 1; i++) {
        agn_conn_report_publish(&c, false);
    }
    CHECK_EQ(agn_conn_step(&c, t), AGN_CONN_CONNECTED);
    agn_conn_report_publish(&c, false);
    CHECK_EQ(agn_conn_step(&c, t), AGN_CONN_DISCONNECTED);
    CHECK_EQ(agn_conn_step(&c, t), AGN_CONN_WAITING_AGENT);
    CHECK_EQ(f.entities, 0);
}

static void test_connection_sync_retry(void)
{
    fake_t f;
    agn_conn_config_t cfg;
    agn_conn_t c;
    uint32_t t = 0;

    memset(&f, 0, sizeof(f));
    f.agent_up = 1;
    agn_conn_default_config(&cfg);
    agn_conn_init(&c, &cfg, &fake_ops, &f);
    CHECK_EQ(run_for(&c, &t, 300), AGN_CONN_CONNECTED);
    CHECK(!c.time_synced);                 /* first sync failed: still connected */
    f.sync_ok = 1;
    CHECK_EQ(run_for(&c, &t, 2500), AGN_CONN_CONNECTED);
    CHECK(c.time_synced);                  /* retried at the liveness pace, not after 60 s */
    f.syncs = 0;
    run_for(&c, &t, 30000);
    CHECK_EQ(f.syncs, 0);                  /* synced: next one after the long period */
    run_for(&c, &t, 31000);
    CHECK_EQ(f.syncs, 1);
    CHECK_EQ(strcmp(agn_conn_state_name(AGN_CONN_DISCONNECTED), "DISCONNECTED"), 0);
}

/* ---------------------------------------------------------------- message size */

static void test_feature_frame_size(void)
{
    /* (frame_id, device_id, payload, classes) -> bytes, from rosbags' CDR serializer
     * (test_firmware.py recomputes them) */
    CHECK_EQ(AGN_FEATURE_FRAME_CDR_BYTES(0u, 0u, 0u, 0u), 56);
    CHECK_EQ(AGN_FEATURE_FRAME_CDR_BYTES(1u, 0u, 0u, 1u), 60);
    CHECK_EQ(AGN_FEATURE_FRAME_CDR_BYTES(13u, 5u, 1830u, 10u), 1944);
    CHECK_EQ(AGN_FEATURE_FRAME_CDR_BYTES(32u, 32u, 1830u, 10u), 1992);
    CHECK_EQ(AGN_FEATURE_FRAME_CDR_BYTES(3u, 7u, 33u, 3u), 108);
    CHECK_EQ(AGN_FEATURE_FRAME_CDR_BYTES(32u, 32u, 32768u, 256u), 33912);
    CHECK_EQ(AGN_XRCE_FRAGMENTS(1992u, 1024u), 2);
    /* the encapsulation (4) is not sent, WRITE_DATA adds 8, a fragment carries MTU - 12 */
    CHECK_EQ(AGN_XRCE_FRAGMENTS(1008u, 1024u), 1);
    CHECK_EQ(AGN_XRCE_FRAGMENTS(1009u, 1024u), 2);
    CHECK_EQ(AGN_XRCE_FRAGMENTS(1952u, 1024u), 2); /* measured: datagrams of 1020 + 952 bytes */
    CHECK_EQ(AGN_XRCE_FRAGMENTS(2020u, 1024u), 2);
    CHECK_EQ(AGN_XRCE_FRAGMENTS(2021u, 1024u), 3);
    /* this model's largest frame fits the configured stream */
    CHECK(AGN_XRCE_FRAGMENTS(AGN_FEATURE_FRAME_CDR_BYTES(AGN_FRAME_ID_MAX, AGN_DEVICE_ID_MAX,
                                                         AGN_MAX_PAYLOAD_BYTES, AGN_CLASSES),
                             AGN_XRCE_MTU) <= AGN_XRCE_OUTPUT_HISTORY);
    printf("  largest FeatureFrame of this model: %u bytes CDR, %u fragment(s) of MTU %u\n",
           (unsigned)AGN_FEATURE_FRAME_CDR_BYTES(AGN_FRAME_ID_MAX, AGN_DEVICE_ID_MAX,
                                                 AGN_MAX_PAYLOAD_BYTES, AGN_CLASSES),
           (unsigned)AGN_XRCE_FRAGMENTS(AGN_FEATURE_FRAME_CDR_BYTES(AGN_FRAME_ID_MAX,
                                                                    AGN_DEVICE_ID_MAX,
                                                                    AGN_MAX_PAYLOAD_BYTES,
                                                                    AGN_CLASSES),
                                        AGN_XRCE_MTU),
           (unsigned)AGN_XRCE_MTU);
}

/* ---------------------------------------------------------------- frame source */

static void test_test_image_source(void)
{
    agn_frame_source_t *src = agn_test_image_source();
    agn_source_frame_t f;
    agn_result_t res;
    uint32_t i;

    CHECK(src->open(src));
    for (i = 0u; i < 2u * AGN_TEST_IMAGE_COUNT; i++) {
        CHECK(src->acquire(src, &f));
        CHECK_EQ(f.index, i % AGN_TEST_IMAGE_COUNT);
        CHECK_EQ(f.frame.width, AGN_TEST_IMAGE_W);
        CHECK(f.frame.pixels == agn_test_images[i % AGN_TEST_IMAGE_COUNT]);
        CHECK_EQ(f.label, agn_test_image_labels[i % AGN_TEST_IMAGE_COUNT]);
        CHECK_EQ(agn_process(&f.frame, AGN_CODEC_RANS, &res), AGN_OK);
        CHECK(res.payload_len > 6u && res.payload_len <= AGN_MAX_PAYLOAD_BYTES);
        src->release(src);
    }
}

/* ---------------------------------------------------------------- identity */

static void test_client_key(void)
{
    /* FNV-1a 32: published test vectors (empty string = offset basis, "a", "foobar") */
    CHECK_EQ(agn_client_key(""), 0x811c9dc5u);
    CHECK_EQ(agn_client_key("a"), 0xe40c292cu);
    CHECK_EQ(agn_client_key("foobar"), 0xbf9cf968u);
    /* stable across calls (a reset), different per device, never the invalid key 0 */
    CHECK_EQ(agn_client_key(AGN_DEVICE_ID), agn_client_key(AGN_DEVICE_ID));
    CHECK(agn_client_key("mcu0") != agn_client_key("mcu1"));
    CHECK(agn_client_key(AGN_DEVICE_ID) != 0u);
    CHECK(agn_client_key(NULL) == 0x811c9dc5u);
}

static void test_node_name(void)
{
    char name[sizeof(AGN_NODE_NAME_PREFIX) + AGN_DEVICE_ID_MAX];
    char small[8];
    CHECK(agn_node_name("mcu0", name, sizeof(name)));
    CHECK(strcmp(name, "agilenn_device_mcu0") == 0);
    CHECK(agn_node_name("cam-1.left", name, sizeof(name)));
    CHECK(strcmp(name, "agilenn_device_cam_1_left") == 0);
    CHECK(agn_node_name("", name, sizeof(name)));
    CHECK(strcmp(name, "agilenn_device") == 0);
    CHECK(agn_node_name("abcdefghijklmnopqrstuvwxyz012345", name, sizeof(name))); /* 32 = the bound */
    CHECK_EQ(strlen(name), sizeof(AGN_NODE_NAME_PREFIX) - 1u + 32u);
    CHECK(!agn_node_name("mcu0", small, sizeof(small)));
    CHECK(small[0] == '\0');
    CHECK(agn_node_name(AGN_DEVICE_ID, name, sizeof(name)));
}

int main(void)
{
    RUN(test_connection_lifecycle);
    RUN(test_connection_create_failure_and_publish_errors);
    RUN(test_connection_sync_retry);
    RUN(test_feature_frame_size);
    RUN(test_test_image_source);
    RUN(test_client_key);
    RUN(test_node_name);
    return test_summary("test_app");
}
