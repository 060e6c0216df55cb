/*
 * agn_identity.h - what makes one device distinguishable on a shared micro-ROS agent, derived
 * from its device id (AGN_DEVICE_ID): the XRCE-DDS client key and the ROS node name.
 *
 * The client key must be the same on every (re)connection of a device: the agent keeps one
 * session (ProxyClient) per key, and a session created with a known key replaces the old one
 * together with its participant and writer. A random key per connection, the rmw default,
 * leaves the old participant and publisher behind after each device reset. Free of micro-ROS
 * types, so it is unit tested on the host (test/test_app.c).
 */
#ifndef AGN_IDENTITY_H
#define AGN_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Prefix of the derived node name: "agilenn_device_" + device id. */
#define AGN_NODE_NAME_PREFIX "agilenn_device_"

/* The XRCE-DDS client key of device_id: 32-bit FNV-1a of its bytes, never 0 (an invalid
 * XRCE client key). Stable across resets; distinct ids give distinct keys with
 * overwhelming probability (the ids of the devices on one agent must differ anyway). */
uint32_t agn_client_key(const char *device_id);

/* A valid ROS node name for device_id into out (capacity cap, NUL included):
 * AGN_NODE_NAME_PREFIX followed by the id with every character outside [A-Za-z0-9_]
 * replaced by '_' (so "cam-1" -> "agilenn_device_cam_1"). false (and out = "") when it does
 * not fit; an empty id gives the prefix without its trailing '_'. */
bool agn_node_name(const char *device_id, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* AGN_IDENTITY_H */
