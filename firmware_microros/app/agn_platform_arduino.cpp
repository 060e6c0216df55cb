/*
 * agn_platform_arduino.cpp - agn_platform.h on the Arduino cores (Teensy 4.1, Portenta H7,
 * ESP32).
 */
#include <Arduino.h>

#if defined(MICRO_ROS_TRANSPORT_ARDUINO_WIFI)
#include <WiFi.h>
#endif

#include "agn_platform.h"

extern "C" {

uint32_t agn_platform_millis(void)
{
    return static_cast<uint32_t>(millis());
}

uint32_t agn_platform_micros(void)
{
    return static_cast<uint32_t>(micros());
}

bool agn_platform_link_up(void)
{
#if defined(MICRO_ROS_TRANSPORT_ARDUINO_WIFI)
    return WiFi.status() == WL_CONNECTED;
#else
    return true;
#endif
}

void agn_platform_status_led(bool on)
{
#if defined(LED_BUILTIN) && !defined(AGN_CAMERA_ESP32)
    static bool configured = false;
    if (!configured) {
        pinMode(LED_BUILTIN, OUTPUT);
        configured = true;
    }
    digitalWrite(LED_BUILTIN, on ? HIGH : LOW);
#else
    (void)on; /* ESP32-CAM: the LED pin is the flash LED; leave it off */
#endif
}

void agn_platform_log(const char *msg)
{
#if defined(AGN_LOG_SERIAL1)
    /* The first serial port carries the XRCE-DDS stream on serial boards: log elsewhere. */
    static bool started = false;
    if (!started) {
        Serial1.begin(115200);
        started = true;
    }
    Serial1.println(msg);
#else
    (void)msg;
#endif
}

}  // extern "C"
