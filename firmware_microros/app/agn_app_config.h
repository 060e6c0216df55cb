/*
 * agn_app_config.h - compile-time settings of the micro-ROS application. Every value can be
 * overridden from platformio.ini (build_flags = -DAGN_...=...).
 */
#ifndef AGN_APP_CONFIG_H
#define AGN_APP_CONFIG_H

/* ROS names: the node agilenn_device_<device id> (e.g. agilenn_device_mcu0; AGN_NODE_NAME
 * overrides it) in namespace agilenn publishes the relative topic `features` ->
 * /agilenn/features (agilenn_ros/msg/FeatureFrame, reliable). The XRCE-DDS client key is
 * derived from the device id too (AGN_CLIENT_KEY overrides it, non-zero): give every device
 * on one agent its own AGN_DEVICE_ID. */
#ifndef AGN_NODE_NAMESPACE
#define AGN_NODE_NAMESPACE "agilenn"
#endif
#ifndef AGN_TOPIC
#define AGN_TOPIC "features"
#endif
#ifndef AGN_ROS_DOMAIN_ID
#define AGN_ROS_DOMAIN_ID 0
#endif

/* FeatureFrame fields. */
#ifndef AGN_DEVICE_ID
#define AGN_DEVICE_ID "mcu0"                /* string<=32 */
#endif
#ifndef AGN_FRAME_ID
#define AGN_FRAME_ID "camera_optical_frame" /* header.frame_id */
#endif
#define AGN_DEVICE_ID_MAX 32u                /* FeatureFrame.msg bound */
#define AGN_FRAME_ID_MAX 32u                 /* this firmware's bound (static buffer) */

/* 0 = packed, 1 = rANS (packed whenever that is shorter: the frame size stays bounded). */
#ifndef AGN_CODEC
#define AGN_CODEC 1
#endif

/* Inference period (ms); inference runs whatever the agent connection does. */
#ifndef AGN_FRAME_PERIOD_MS
#define AGN_FRAME_PERIOD_MS 200u
#endif

/* Reliable publish: how long rcl_publish may wait for acknowledgements (ms). */
#ifndef AGN_PUBLISH_TIMEOUT_MS
#define AGN_PUBLISH_TIMEOUT_MS 20
#endif

/* Must match colcon_agilenn.meta (checked at compile time against the library's config
 * where its headers expose it, and by tools/frame_budget.py on the host). */
#ifndef AGN_XRCE_MTU
#define AGN_XRCE_MTU 1024u
#endif
#ifndef AGN_XRCE_OUTPUT_HISTORY
#define AGN_XRCE_OUTPUT_HISTORY 4u
#endif

/* Serial transport (Cortex-M7 boards). */
#ifndef AGN_SERIAL_BAUD
#define AGN_SERIAL_BAUD 921600
#endif

/* WiFi UDP transport (ESP32): set from the environment in platformio.ini. */
#ifndef AGN_WIFI_SSID
#define AGN_WIFI_SSID ""
#endif
#ifndef AGN_WIFI_PASSWORD
#define AGN_WIFI_PASSWORD ""
#endif
#ifndef AGN_AGENT_IP
#define AGN_AGENT_IP "192.168.1.10"
#endif
#ifndef AGN_AGENT_PORT
#define AGN_AGENT_PORT 8888
#endif

#endif /* AGN_APP_CONFIG_H */
