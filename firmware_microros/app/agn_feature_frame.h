/*
 * agn_feature_frame.h - size of a serialized agilenn_ros/msg/FeatureFrame (XCDR1, as sent
 * by micro-ROS), for sizing the XRCE-DDS MTU and output stream history.
 *
 * Layout (4-byte encapsulation header, then offsets aligned to each field's size):
 *   header.stamp (8) | header.frame_id (4 + len + 1) | device_id (4 + len + 1) |
 *   sequence, model_hash (8) | channels, height, width (6) | codec (1) |
 *   payload (4 + n) | local_logits (4 + 4 * classes) | device_compute_us (4)
 * Checked against the rosbags serializer in test/test_firmware.py.
 */
#ifndef AGN_FEATURE_FRAME_H
#define AGN_FEATURE_FRAME_H

#define AGN_CDR_A4(x) ((((x) + 3u) / 4u) * 4u)
#define AGN_CDR_FRAME_ID_END(F) (8u + 4u + (F) + 1u)
#define AGN_CDR_DEVICE_ID_END(F, D) (AGN_CDR_A4(AGN_CDR_FRAME_ID_END(F)) + 4u + (D) + 1u)
#define AGN_CDR_CODEC_END(F, D) (AGN_CDR_A4(AGN_CDR_DEVICE_ID_END(F, D)) + 8u + 6u + 1u)
#define AGN_CDR_PAYLOAD_END(F, D, P) (AGN_CDR_A4(AGN_CDR_CODEC_END(F, D)) + 4u + (P))
#define AGN_CDR_LOGITS_END(F, D, P, C) (AGN_CDR_A4(AGN_CDR_PAYLOAD_END(F, D, P)) + 4u + 4u * (C))

/* Serialized bytes of a FeatureFrame with a frame_id of F characters, a device_id of D,
 * a payload of P bytes and C local logits (encapsulation header included). */
#define AGN_FEATURE_FRAME_CDR_BYTES(F, D, P, C) (4u + AGN_CDR_A4(AGN_CDR_LOGITS_END(F, D, P, C)) + 4u)

/* XRCE-DDS framing of one publication (measured against a real Jazzy micro-ROS client and
 * agent 2.4.3): the CDR encapsulation header is not sent; the serialized message goes into a
 * WRITE_DATA submessage (4-byte submessage header + 4-byte object request), which is split
 * into FRAGMENT submessages of at most MTU - 12 bytes of data, each sent as one message with
 * the session's 4-byte message header and a 4-byte submessage header (a 1952-byte CDR frame
 * went out as datagrams of 1020 + 952 bytes at MTU 1024). */
#define AGN_CDR_ENCAPSULATION 4u
#define AGN_XRCE_WRITE_OVERHEAD 8u
#define AGN_XRCE_FRAGMENT_OVERHEAD 12u
#define AGN_XRCE_FRAGMENTS(cdr_bytes, mtu) \
    (((cdr_bytes) - AGN_CDR_ENCAPSULATION + AGN_XRCE_WRITE_OVERHEAD + ((mtu) - AGN_XRCE_FRAGMENT_OVERHEAD) - 1u) / \
     ((mtu) - AGN_XRCE_FRAGMENT_OVERHEAD))

#endif /* AGN_FEATURE_FRAME_H */
