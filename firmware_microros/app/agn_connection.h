/*
 * agn_connection.h - the micro-ROS agent connection state machine, kept free of micro-ROS
 * types so it builds and is unit tested on a host (test/test_connection.c).
 *
 *   WAITING_AGENT --ping ok--> AVAILABLE --entities created--> CONNECTED
 *        ^                        | create failed                 | ping lost / publishes failing
 *        |                        v                               v
 *        +-------------------- (destroy) <----------------- DISCONNECTED
 *
 * Every operation is bounded (ping timeout x attempts, session timeouts), so one call of
 * agn_conn_step never blocks the inference loop for long; it only probes the agent when a
 * period has elapsed. When the agent disappears the entities are destroyed without waiting
 * for it (destroy-session timeout 0) and the device goes back to waiting, so the agent can
 * be restarted at any time.
 */
#ifndef AGN_CONNECTION_H
#define AGN_CONNECTION_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    AGN_CONN_WAITING_AGENT = 0,
    AGN_CONN_AVAILABLE = 1,
    AGN_CONN_CONNECTED = 2,
    AGN_CONN_DISCONNECTED = 3
} agn_conn_state_t;

/* What the state machine drives (micro-ROS in agn_uros.c, fakes in the host test). */
typedef struct {
    bool (*ping)(void *ctx, uint32_t timeout_ms, uint8_t attempts); /* agent answers */
    bool (*create)(void *ctx);                    /* support, node, publisher */
    void (*destroy)(void *ctx);                   /* must not wait for the agent */
    bool (*sync_time)(void *ctx, uint32_t timeout_ms);
} agn_conn_ops_t;

typedef struct {
    uint32_t probe_period_ms;      /* WAITING_AGENT: time between pings */
    uint32_t probe_timeout_ms;     /* per ping attempt */
    uint8_t probe_attempts;
    uint32_t alive_period_ms;      /* CONNECTED: time between liveness pings */
    uint32_t alive_timeout_ms;
    uint8_t alive_attempts;
    uint32_t sync_period_ms;       /* CONNECTED: clock re-synchronisation period */
    uint32_t sync_timeout_ms;
    uint8_t max_publish_failures;  /* consecutive failed publishes -> DISCONNECTED */
} agn_conn_config_t;

typedef struct {
    agn_conn_state_t state;
    agn_conn_config_t cfg;
    const agn_conn_ops_t *ops;
    void *ctx;
    uint32_t last_probe_ms;
    uint32_t last_alive_ms;
    uint32_t last_sync_ms;
    uint8_t publish_failures;
    bool probed_once;
    bool time_synced;              /* the last synchronisation attempt succeeded */
    uint32_t connects;             /* statistics */
    uint32_t disconnects;
} agn_conn_t;

/* Defaults: probe every 500 ms (50 ms x 1), liveness every 1 s (50 ms x 3), re-sync every
 * 60 s (100 ms), 3 failed publishes. */
void agn_conn_default_config(agn_conn_config_t *cfg);

void agn_conn_init(agn_conn_t *c, const agn_conn_config_t *cfg, const agn_conn_ops_t *ops,
                   void *ctx);

/* Advances the state machine at time now_ms (any monotonic millisecond clock, wrapping is
 * fine); returns the new state. */
agn_conn_state_t agn_conn_step(agn_conn_t *c, uint32_t now_ms);

/* Entities exist and the agent was reachable at the last check. */
bool agn_conn_can_publish(const agn_conn_t *c);

/* The outcome of a publish; enough consecutive failures mark the link as lost. */
void agn_conn_report_publish(agn_conn_t *c, bool ok);

const char *agn_conn_state_name(agn_conn_state_t s);

#ifdef __cplusplus
}
#endif

#endif /* AGN_CONNECTION_H */
