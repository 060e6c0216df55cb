/*
 * agn_connection.c - micro-ROS agent connection state machine (see the header).
 */
#include "agn_connection.h"

#include <stddef.h>

static bool elapsed(uint32_t now, uint32_t since, uint32_t period)
{
    return (uint32_t)(now - since) >= period;
}

void agn_conn_default_config(agn_conn_config_t *cfg)
{
    cfg->probe_period_ms = 500u;
    cfg->probe_timeout_ms = 50u;
    cfg->probe_attempts = 1u;
    cfg->alive_period_ms = 1000u;
    cfg->alive_timeout_ms = 50u;
    cfg->alive_attempts = 3u;
    cfg->sync_period_ms = 60000u;
    cfg->sync_timeout_ms = 100u;
    cfg->max_publish_failures = 3u;
}

void agn_conn_init(agn_conn_t *c, const agn_conn_config_t *cfg, const agn_conn_ops_t *ops,
                   void *ctx)
{
    c->state = AGN_CONN_WAITING_AGENT;
    c->cfg = *cfg;
    c->ops = ops;
    c->ctx = ctx;
    c->last_probe_ms = 0u;
    c->last_alive_ms = 0u;
    c->last_sync_ms = 0u;
    c->publish_failures = 0u;
    c->probed_once = false;
    c->time_synced = false;
    c->connects = 0u;
    c->disconnects = 0u;
}

static void sync_clock(agn_conn_t *c, uint32_t now_ms)
{
    c->time_synced = c->ops->sync_time(c->ctx, c->cfg.sync_timeout_ms);
    c->last_sync_ms = now_ms;
}

agn_conn_state_t agn_conn_step(agn_conn_t *c, uint32_t now_ms)
{
    switch (c->state) {
    case AGN_CONN_WAITING_AGENT:
        if (!c->probed_once || elapsed(now_ms, c->last_probe_ms, c->cfg.probe_period_ms)) {
            c->probed_once = true;
            c->last_probe_ms = now_ms;
            if (c->ops->ping(c->ctx, c->cfg.probe_timeout_ms, c->cfg.probe_attempts)) {
                c->state = AGN_CONN_AVAILABLE;
            }
        }
        break;
    case AGN_CONN_AVAILABLE:
        if (c->ops->create(c->ctx)) {
            c->state = AGN_CONN_CONNECTED;
            c->publish_failures = 0u;
            c->last_alive_ms = now_ms;
            c->connects++;
            sync_clock(c, now_ms);
        } else {
            c->ops->destroy(c->ctx); /* whatever was created */
            c->state = AGN_CONN_WAITING_AGENT;
            c->last_probe_ms = now_ms;
        }
        break;
    case AGN_CONN_CONNECTED:
        if (c->publish_failures >= c->cfg.max_publish_failures) {
            c->state = AGN_CONN_DISCONNECTED;
        } else if (elapsed(now_ms, c->last_alive_ms, c->cfg.alive_period_ms)) {
            c->last_alive_ms = now_ms;
            if (!c->ops->ping(c->ctx, c->cfg.alive_timeout_ms, c->cfg.alive_attempts)) {
                c->state = AGN_CONN_DISCONNECTED;
            }
        } else if (elapsed(now_ms, c->last_sync_ms, c->cfg.sync_period_ms) || !c->time_synced) {
            /* Unsynchronised: retry at the liveness pace instead of the long period. */
            if (c->time_synced || elapsed(now_ms, c->last_sync_ms, c->cfg.alive_period_ms)) {
                sync_clock(c, now_ms);
            }
        }
        break;
    case AGN_CONN_DISCONNECTED:
    default:
        c->ops->destroy(c->ctx);
        c->disconnects++;
        c->time_synced = false;
        c->state = AGN_CONN_WAITING_AGENT;
        c->last_probe_ms = now_ms;
        break;
    }
    return c->state;
}

bool agn_conn_can_publish(const agn_conn_t *c)
{
    return c->state == AGN_CONN_CONNECTED;
}

void agn_conn_report_publish(agn_conn_t *c, bool ok)
{
    if (ok) {
        c->publish_failures = 0u;
    } else if (c->publish_failures < 255u) {
        c->publish_failures++;
    }
}

const char *agn_conn_state_name(agn_conn_state_t s)
{
    static const char *const names[] = {"WAITING_AGENT", "AVAILABLE", "CONNECTED", "DISCONNECTED"};
    return ((unsigned)s < 4u) ? names[s] : "?";
}
