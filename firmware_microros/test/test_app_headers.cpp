// test_app_headers.cpp - the application's C headers (and the core's inline kernels) compile
// as C++, as main.cpp and the camera driver include them. Compiled with -fsyntax-only.
#include "agilenn_core.h"
#include "agn_app_config.h"
#include "agn_connection.h"
#include "agn_feature_frame.h"
#include "agn_frame_source.h"
#include "agn_identity.h"
#include "agn_platform.h"
#include "agn_uros.h"

int agn_headers_compile(const agn_frame_t *frame, agn_result_t *res)
{
    agn_conn_t conn;
    agn_conn_config_t cfg;
    agn_conn_default_config(&cfg);
    agn_conn_init(&conn, &cfg, agn_uros_ops(), nullptr);
    return static_cast<int>(agn_process(frame, AGN_CODEC, res)) +
           agn_threshold_index(3, agn_thresholds, AGN_CENTROIDS - 1u) +
           static_cast<int>(agn_client_key(AGN_DEVICE_ID) & 1u) +
           static_cast<int>(AGN_FEATURE_FRAME_CDR_BYTES(1u, 1u, AGN_MAX_PAYLOAD_BYTES, AGN_CLASSES));
}
