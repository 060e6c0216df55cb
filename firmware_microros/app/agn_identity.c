/*
 * agn_identity.c - client key and node name of a device (see the header).
 */
#include "agn_identity.h"

#include <string.h>

uint32_t agn_client_key(const char *device_id)
{
    uint32_t hash = 2166136261u; /* FNV-1a offset basis */
    const unsigned char *p = (const unsigned char *)device_id;
    while (p != NULL && *p != '\0') {
        hash ^= (uint32_t)*p++;
        hash *= 16777619u;   /* FNV prime */
    }
    return (hash == 0u) ? 1u : hash;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool agn_node_name(const char *device_id, char *out, size_t cap)
{
    const size_t prefix = sizeof(AGN_NODE_NAME_PREFIX) - 1u;
    size_t id_len = (device_id != NULL) ? strlen(device_id) : 0u;
    size_t len = (id_len == 0u) ? prefix - 1u : prefix + id_len;
    size_t i;
    if (out == NULL || cap == 0u) {
        return false;
    }
    if (len + 1u > cap) {
        out[0] = '\0';
        return false;
    }
    memcpy(out, AGN_NODE_NAME_PREFIX, (id_len == 0u) ? prefix - 1u : prefix);
    for (i = 0u; i < id_len; i++) {
        out[prefix + i] = name_char(device_id[i]) ? device_id[i] : '_';
    }
    out[len] = '\0';
    return true;
}
