/*
 * agn_frame_source_esp32cam.cpp - OV2640 frames on an ESP32-CAM (AI Thinker pinout) through
 * the esp32-camera driver of the Arduino ESP32 core: QQVGA (160x120) RGB565, frame buffer
 * in PSRAM, latest frame only. Built only with -DAGN_CAMERA_ESP32.
 *
 * Not run here (no hardware): the pin map is the AI Thinker board's; the byte order of
 * RGB565 from the driver is big-endian on the boards we know of - set
 * AGN_CAMERA_RGB565_BIG_ENDIAN=0 if colours come out swapped.
 */
#if defined(AGN_CAMERA_ESP32)

#include <Arduino.h>
#include <esp_camera.h>

#include "agn_frame_source.h"

#ifndef AGN_CAMERA_RGB565_BIG_ENDIAN
#define AGN_CAMERA_RGB565_BIG_ENDIAN 1
#endif

namespace {

struct CameraState {
    camera_fb_t *fb;
    uint32_t count;
};

CameraState g_camera = {nullptr, 0};

bool cam_open(agn_frame_source_t *self)
{
    (void)self;
    camera_config_t c = {};
    c.ledc_channel = LEDC_CHANNEL_0;
    c.ledc_timer = LEDC_TIMER_0;
    c.pin_d0 = 5;
    c.pin_d1 = 18;
    c.pin_d2 = 19;
    c.pin_d3 = 21;
    c.pin_d4 = 36;
    c.pin_d5 = 39;
    c.pin_d6 = 34;
    c.pin_d7 = 35;
    c.pin_xclk = 0;
    c.pin_pclk = 22;
    c.pin_vsync = 25;
    c.pin_href = 23;
    c.pin_sccb_sda = 26;   /* older esp32-camera releases name these pin_sscb_* */
    c.pin_sccb_scl = 27;
    c.pin_pwdn = 32;
    c.pin_reset = -1;
    c.xclk_freq_hz = 20000000;
    c.pixel_format = PIXFORMAT_RGB565;
    c.frame_size = FRAMESIZE_QQVGA;
    c.jpeg_quality = 12;
    c.fb_count = 1;
    c.fb_location = CAMERA_FB_IN_PSRAM;
    c.grab_mode = CAMERA_GRAB_LATEST;
    return esp_camera_init(&c) == ESP_OK;
}

bool cam_acquire(agn_frame_source_t *self, agn_source_frame_t *out)
{
    CameraState *st = static_cast<CameraState *>(self->state);
    st->fb = esp_camera_fb_get();
    if (st->fb == nullptr || st->fb->format != PIXFORMAT_RGB565) {
        if (st->fb != nullptr) {
            esp_camera_fb_return(st->fb);
            st->fb = nullptr;
        }
        return false;
    }
    out->frame.pixels = st->fb->buf;
    out->frame.width = static_cast<uint16_t>(st->fb->width);
    out->frame.height = static_cast<uint16_t>(st->fb->height);
    out->frame.stride = 0u;
    out->frame.format = AGN_CAMERA_RGB565_BIG_ENDIAN ? AGN_PIXEL_RGB565BE : AGN_PIXEL_RGB565;
    out->index = st->count++;
    out->label = -1;
    return true;
}

void cam_release(agn_frame_source_t *self)
{
    CameraState *st = static_cast<CameraState *>(self->state);
    if (st->fb != nullptr) {
        esp_camera_fb_return(st->fb);
        st->fb = nullptr;
    }
}

agn_frame_source_t g_source = {"esp32_camera", cam_open, cam_acquire, cam_release, &g_camera};

}  // namespace

extern "C" agn_frame_source_t *agn_esp32_camera_source(void)
{
    return &g_source;
}

#endif /* AGN_CAMERA_ESP32 */
