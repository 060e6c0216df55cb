/*
 * agn_uros.c - micro-ROS (rclc, Jazzy) entities of the AgileNN device.
 *
 * Everything is static: the FeatureFrame's strings live in fixed buffers and its payload /
 * local_logits sequences point at the firmware core's static result, so publishing copies
 * nothing and allocates nothing. The publisher is reliable (large frames are fragmented,
 * which best-effort streams cannot do) with a short acknowledgement timeout so a lost agent
 * cannot stall the inference loop; the connection state machine then notices and rebuilds
 * the entities when the agent is back.
 */
#include "agn_uros.h"

#include <string.h>

#include <rcl/error_handling.h>
#include <rcl/rcl.h>
#include <rclc/rclc.h>
#include <rmw_microros/rmw_microros.h>
#include <rmw_microxrcedds_c/config.h>

#include <agilenn_ros/msg/feature_frame.h>

#include "agn_app_config.h"
#include "agn_feature_frame.h"
#include "agn_identity.h"
#include "agn_platform.h"

/* The largest frame this model can produce must fit the reliable output stream:
 * ceil((CDR bytes - 4 + 8) / (MTU - 12)) fragments <= output history (see README.md). */
#define AGN_FRAME_MAX_CDR \
    AGN_FEATURE_FRAME_CDR_BYTES(AGN_FRAME_ID_MAX, AGN_DEVICE_ID_MAX, AGN_MAX_PAYLOAD_BYTES, AGN_CLASSES)
typedef char agn_check_frame_fits_history[
    (AGN_XRCE_FRAGMENTS(AGN_FRAME_MAX_CDR, AGN_XRCE_MTU) <= AGN_XRCE_OUTPUT_HISTORY) ? 1 : -1];
#if defined(RMW_UXRCE_STREAM_HISTORY_OUTPUT)
typedef char agn_check_meta_history[(RMW_UXRCE_STREAM_HISTORY_OUTPUT >= AGN_XRCE_OUTPUT_HISTORY) ? 1 : -1];
#endif
#if defined(RMW_UXRCE_MAX_TRANSPORT_MTU)
typedef char agn_check_meta_mtu[(RMW_UXRCE_MAX_TRANSPORT_MTU >= AGN_XRCE_MTU) ? 1 : -1];
#endif

typedef char agn_check_device_id_bound[(sizeof(AGN_DEVICE_ID) <= AGN_DEVICE_ID_MAX + 1u) ? 1 : -1];
#if defined(RMW_UXRCE_NODE_NAME_MAX_LENGTH) && !defined(AGN_NODE_NAME)
typedef char agn_check_node_name_length[
    (sizeof(AGN_NODE_NAME_PREFIX) + sizeof(AGN_DEVICE_ID) - 2u <= RMW_UXRCE_NODE_NAME_MAX_LENGTH) ? 1 : -1];
#endif

static rcl_allocator_t s_allocator;
static rclc_support_t s_support;
static rcl_node_t s_node;
static rcl_publisher_t s_publisher;
static bool s_have_support;
static bool s_have_node;
static bool s_have_publisher;

static agilenn_ros__msg__FeatureFrame s_msg;
static char s_frame_id[AGN_FRAME_ID_MAX + 1u];
static char s_device_id[AGN_DEVICE_ID_MAX + 1u];
#ifndef AGN_NODE_NAME
static char s_node_name[sizeof(AGN_NODE_NAME_PREFIX) + AGN_DEVICE_ID_MAX];
#endif
static uint32_t s_fini_failures; /* teardown calls that reported an error (statistics) */

/* rcl/rclc teardown results: the agent may already be gone, which is not an error here, but
 * the error state must be cleared (and the outcome is counted, not silently dropped). */
static void check_fini(rcl_ret_t rc)
{
    if (rc != RCL_RET_OK) {
        s_fini_failures++;
        rcl_reset_error();
    }
}

uint32_t agn_uros_fini_failures(void)
{
    return s_fini_failures;
}

static const char *node_name(void)
{
#ifdef AGN_NODE_NAME
    return AGN_NODE_NAME; /* configured explicitly */
#else
    if (s_node_name[0] == '\0' && !agn_node_name(AGN_DEVICE_ID, s_node_name, sizeof(s_node_name))) {
        return NULL;
    }
    return s_node_name;
#endif
}

static uint32_t client_key(void)
{
#ifdef AGN_CLIENT_KEY
    return (uint32_t)(AGN_CLIENT_KEY);
#else
    return agn_client_key(AGN_DEVICE_ID);
#endif
}

static void set_string(rosidl_runtime_c__String *dst, char *buf, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n > cap - 1u) {
        n = cap - 1u;
    }
    memcpy(buf, src, n);
    buf[n] = '\0';
    dst->data = buf;
    dst->size = n;
    dst->capacity = cap;
}

static void init_message(void)
{
    const agn_model_info_t *info = agn_model_info();
    memset(&s_msg, 0, sizeof(s_msg));
    set_string(&s_msg.header.frame_id, s_frame_id, sizeof(s_frame_id), AGN_FRAME_ID);
    set_string(&s_msg.device_id, s_device_id, sizeof(s_device_id), AGN_DEVICE_ID);
    s_msg.model_hash = info->model_hash;
    s_msg.channels = info->remote_channels;
    s_msg.height = info->feat_h;
    s_msg.width = info->feat_w;
}

static bool uros_ping(void *ctx, uint32_t timeout_ms, uint8_t attempts)
{
    (void)ctx;
    if (!agn_platform_link_up()) {
        return false;
    }
    return rmw_uros_ping_agent((int)timeout_ms, attempts) == RMW_RET_OK;
}

static void uros_destroy(void *ctx)
{
    (void)ctx;
    if (s_have_support) {
        /* Do not wait for an agent that is gone. */
        rmw_context_t *rmw_ctx = rcl_context_get_rmw_context(&s_support.context);
        (void)rmw_uros_set_context_entity_destroy_session_timeout(rmw_ctx, 0);
    }
    if (s_have_publisher) {
        check_fini(rcl_publisher_fini(&s_publisher, &s_node));
        s_have_publisher = false;
    }
    if (s_have_node) {
        check_fini(rcl_node_fini(&s_node));
        s_have_node = false;
    }
    if (s_have_support) {
        check_fini(rclc_support_fini(&s_support));
        s_have_support = false;
    }
    rcl_reset_error();
}

static bool uros_create(void *ctx)
{
    rcl_init_options_t options = rcl_get_zero_initialized_init_options();
    rmw_init_options_t *rmw_options;
    const char *name = node_name();
    rcl_ret_t rc;
    (void)ctx;

    if (name == NULL) {
        agn_platform_log("AGN_DEVICE_ID does not fit the node name buffer");
        return false;
    }
    s_allocator = rcl_get_default_allocator();
    if (rcl_init_options_init(&options, s_allocator) != RCL_RET_OK) {
        rcl_reset_error();
        return false;
    }
    rc = rcl_init_options_set_domain_id(&options, AGN_ROS_DOMAIN_ID);
    if (rc == RCL_RET_OK) {
        /* One XRCE session per device across reconnections and resets (see the top). */
        rmw_options = rcl_init_options_get_rmw_init_options(&options);
        rc = (rmw_options != NULL && rmw_uros_options_set_client_key(client_key(), rmw_options) == RMW_RET_OK)
                 ? RCL_RET_OK : RCL_RET_ERROR;
    }
    if (rc == RCL_RET_OK) {
        rc = rclc_support_init_with_options(&s_support, 0, NULL, &options, &s_allocator);
        s_have_support = rcl_context_is_valid(&s_support.context);
    }
    check_fini(rcl_init_options_fini(&options)); /* rcl_init keeps its own copy */
    if (rc != RCL_RET_OK) {
        rcl_reset_error();
        return false;
    }

    s_node = rcl_get_zero_initialized_node();
    if (rclc_node_init_default(&s_node, name, AGN_NODE_NAMESPACE, &s_support) != RCL_RET_OK) {
        rcl_reset_error();
        return false;
    }
    s_have_node = true;

    /* Reliable, keep last (rmw_qos_profile_default). */
    s_publisher = rcl_get_zero_initialized_publisher();
    if (rclc_publisher_init_default(&s_publisher, &s_node,
                                    ROSIDL_GET_MSG_TYPE_SUPPORT(agilenn_ros, msg, FeatureFrame),
                                    AGN_TOPIC) != RCL_RET_OK) {
        rcl_reset_error();
        return false;
    }
    s_have_publisher = true;
    (void)rmw_uros_set_publisher_session_timeout(rcl_publisher_get_rmw_handle(&s_publisher),
                                                 AGN_PUBLISH_TIMEOUT_MS);
    init_message();
    return true;
}

static bool uros_sync_time(void *ctx, uint32_t timeout_ms)
{
    (void)ctx;
    return rmw_uros_sync_session((int)timeout_ms) == RMW_RET_OK && rmw_uros_epoch_synchronized();
}

static const agn_conn_ops_t s_ops = {uros_ping, uros_create, uros_destroy, uros_sync_time};

const agn_conn_ops_t *agn_uros_ops(void)
{
    return &s_ops;
}

int64_t agn_uros_epoch_ns(void)
{
    return rmw_uros_epoch_synchronized() ? rmw_uros_epoch_nanos() : 0;
}

bool agn_uros_publish(const agn_result_t *res, int64_t stamp_ns, uint32_t sequence,
                      uint32_t compute_us)
{
    if (!s_have_publisher || res == NULL || res->payload == NULL) {
        return false;
    }
    s_msg.header.stamp.sec = (int32_t)(stamp_ns / 1000000000LL);
    s_msg.header.stamp.nanosec = (uint32_t)(stamp_ns % 1000000000LL);
    s_msg.sequence = sequence;
    s_msg.codec = res->codec;
    s_msg.payload.data = (uint8_t *)res->payload;     /* zero copy: the core's buffer */
    s_msg.payload.size = res->payload_len;
    s_msg.payload.capacity = AGN_MAX_PAYLOAD_BYTES;
    s_msg.local_logits.data = (float *)res->local_logits;
    s_msg.local_logits.size = AGN_CLASSES;
    s_msg.local_logits.capacity = AGN_CLASSES;
    s_msg.device_compute_us = compute_us;
    if (rcl_publish(&s_publisher, &s_msg, NULL) != RCL_RET_OK) {
        rcl_reset_error();
        return false;
    }
    return true;
}
