/*
 * agn_platform.h - the few board services the application needs (agn_platform_arduino.cpp
 * implements them on the Arduino cores of Teensy 4.1, Portenta H7 and ESP32).
 */
#ifndef AGN_PLATFORM_H
#define AGN_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint32_t agn_platform_millis(void);   /* monotonic, wraps */
uint32_t agn_platform_micros(void);   /* monotonic, wraps */
bool agn_platform_link_up(void);      /* network link ready (always true on serial) */
void agn_platform_status_led(bool on);
void agn_platform_log(const char *msg); /* a debug UART where the board has a spare one */

#ifdef __cplusplus
}
#endif

#endif /* AGN_PLATFORM_H */
