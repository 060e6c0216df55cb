/*
 * main.cpp - AgileNN device on micro-ROS (PlatformIO, Arduino framework).
 *
 * Every AGN_FRAME_PERIOD_MS: take a frame (camera or built-in test image), run the firmware
 * core (resize, feature extractor, local predictor, quantizer, codec) and, when connected,
 * publish an agilenn_ros/msg/FeatureFrame on /agilenn/features. Inference never waits for
 * the agent: the connection state machine probes it with bounded timeouts between frames.
 */
#include <Arduino.h>
#include <micro_ros_platformio.h>

#include "agilenn_core.h"
#include "agn_app_config.h"
#include "agn_connection.h"
#include "agn_frame_source.h"
#include "agn_platform.h"
#include "agn_uros.h"

#if defined(MICRO_ROS_TRANSPORT_ARDUINO_WIFI)
#include <WiFi.h>
#endif

namespace {

agn_conn_t g_conn;
agn_frame_source_t *g_source = nullptr;
agn_result_t g_result;
uint32_t g_sequence = 0;
uint32_t g_last_frame_ms = 0;
agn_conn_state_t g_last_state = AGN_CONN_WAITING_AGENT;

void setup_transport()
{
#if defined(MICRO_ROS_TRANSPORT_ARDUINO_SERIAL)
    Serial.begin(AGN_SERIAL_BAUD);
    set_microros_serial_transports(Serial);
#elif defined(MICRO_ROS_TRANSPORT_ARDUINO_WIFI)
    /* Like set_microros_wifi_transports() but without waiting for the access point: the
     * pings fail (and inference goes on) until the link is up. */
    static struct micro_ros_agent_locator locator;
    WiFi.mode(WIFI_STA);
    WiFi.setAutoReconnect(true);
    WiFi.begin(AGN_WIFI_SSID, AGN_WIFI_PASSWORD);
    locator.address.fromString(AGN_AGENT_IP);
    locator.port = AGN_AGENT_PORT;
    rmw_uros_set_custom_transport(false, &locator, platformio_transport_open,
                                  platformio_transport_close, platformio_transport_write,
                                  platformio_transport_read);
#else
#error "firmware_microros supports board_microros_transport = serial or wifi"
#endif
}

agn_frame_source_t *open_source()
{
#if defined(AGN_CAMERA_ESP32)
    agn_frame_source_t *cam = agn_esp32_camera_source();
    if (cam->open(cam)) {
        return cam;
    }
    agn_platform_log("camera init failed: using the built-in test images");
#endif
    agn_frame_source_t *images = agn_test_image_source();
    images->open(images);
    return images;
}

}  // namespace

void setup()
{
    agn_conn_config_t cfg;
    setup_transport();
    agn_conn_default_config(&cfg);
    agn_conn_init(&g_conn, &cfg, agn_uros_ops(), nullptr);
    g_source = open_source();
    agn_platform_log(agn_model_info()->model_id);
}

void loop()
{
    const uint32_t now = agn_platform_millis();
    const agn_conn_state_t state = agn_conn_step(&g_conn, now);
    if (state != g_last_state) {
        agn_platform_log(agn_conn_state_name(state));
        agn_platform_status_led(state == AGN_CONN_CONNECTED);
        g_last_state = state;
    }
    if (static_cast<uint32_t>(now - g_last_frame_ms) < AGN_FRAME_PERIOD_MS) {
        return;
    }
    g_last_frame_ms = now;

    agn_source_frame_t frame;
    if (!g_source->acquire(g_source, &frame)) {
        return;
    }
    const int64_t stamp_ns = agn_uros_epoch_ns();          /* capture time, agent clock */
    const uint32_t t0 = agn_platform_micros();
    const agn_status_t status = agn_process(&frame.frame, AGN_CODEC, &g_result);
    const uint32_t compute_us = agn_platform_micros() - t0;
    g_source->release(g_source);
    if (status != AGN_OK) {
        agn_platform_log("agn_process failed");
        return;
    }
    if (agn_conn_can_publish(&g_conn)) {
        const bool ok = agn_uros_publish(&g_result, stamp_ns, g_sequence++, compute_us);
        agn_conn_report_publish(&g_conn, ok);
    }
}
