/*
 * agn_uros.h - the micro-ROS side of the device: node `agilenn_device_<device id>` (one XRCE
 * session per device: a stable client key, agn_identity.h), reliable publisher
 * of agilenn_ros/msg/FeatureFrame on `features`, agent-synchronised time. The connection
 * state machine (agn_connection.h) drives it through agn_uros_ops().
 */
#ifndef AGN_UROS_H
#define AGN_UROS_H

#include <stdbool.h>
#include <stdint.h>

#include "agilenn_core.h"
#include "agn_connection.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ping / create / destroy / sync_time for agn_conn_init. */
const agn_conn_ops_t *agn_uros_ops(void);

/* Nanoseconds since the epoch on the agent's clock, or 0 before a synchronisation. */
int64_t agn_uros_epoch_ns(void);

/* Fills the static FeatureFrame (zero copy: the payload and logits fields point at the
 * core's static result) and publishes it. stamp_ns: capture time (agent clock, 0 unknown). */
bool agn_uros_publish(const agn_result_t *res, int64_t stamp_ns, uint32_t sequence,
                      uint32_t compute_us);

/* Teardown calls (rcl_publisher_fini, rcl_node_fini, rclc_support_fini, rcl_init_options_fini)
 * that reported an error since start-up; expected while the agent is gone. */
uint32_t agn_uros_fini_failures(void);

#ifdef __cplusplus
}
#endif

#endif /* AGN_UROS_H */
