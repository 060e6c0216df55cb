"""Cyclone DDS discovery configuration derived from the ROS 2 environment variables,
following what rmw_cyclonedds (Jazzy) does in ``check_create_domain``:

* ``ROS_DOMAIN_ID`` (default 0) is the DDS domain id.
* ``ROS_AUTOMATIC_DISCOVERY_RANGE``: ``SUBNET`` (default; multicast, plus static peers),
  ``LOCALHOST`` (no multicast, participant index auto/32, peer ``localhost`` plus static
  peers), ``OFF`` (no multicast, no peers, a per-process discovery tag),
  ``SYSTEM_DEFAULT`` (Cyclone's own defaults, static peers ignored). Invalid values are
  treated as LOCALHOST, as rcl does. The deprecated ``ROS_LOCALHOST_ONLY=1`` means LOCALHOST
  when the range is unset.
* ``ROS_STATIC_PEERS``: ``;``-separated addresses.
* Any ``CYCLONEDDS_URI`` of the user is appended after ours, so it wins.

The interface is left to Cyclone, as rmw does: pinning LOCALHOST to the loopback interface
was tried and breaks discovery with a participant configured the rmw way (which advertises
its default interface's address; Cyclone then ignores the other side's 127.0.0.1 locators,
in both directions). A loopback-pinned configuration is only the fallback
(:func:`loopback_config`) for when the participant cannot start at all.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Mapping
from xml.sax.saxutils import quoteattr

from .base import TransportError

RANGES = ("OFF", "LOCALHOST", "SUBNET", "SYSTEM_DEFAULT")
LOOPBACK_INTERFACE = '<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>'


@dataclass(frozen=True)
class DiscoverySettings:
    domain_id: int
    range: str
    static_peers: tuple[str, ...]


def discovery_from_env(env: Mapping[str, str] | None = None) -> DiscoverySettings:
    env = os.environ if env is None else env
    raw_id = env.get("ROS_DOMAIN_ID", "").strip()
    try:
        domain_id = int(raw_id) if raw_id else 0
    except ValueError:
        raise TransportError(f"ROS_DOMAIN_ID={raw_id!r} is not an integer") from None
    if not 0 <= domain_id <= 232:
        raise TransportError(f"ROS_DOMAIN_ID={domain_id} is outside 0..232")
    rng = env.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").strip().upper()
    if not rng:
        rng = "LOCALHOST" if env.get("ROS_LOCALHOST_ONLY", "").strip() == "1" else "SUBNET"
    elif rng not in RANGES:
        sys.stderr.write(f"[WARN] invalid ROS_AUTOMATIC_DISCOVERY_RANGE={rng!r}, assuming LOCALHOST\n")
        rng = "LOCALHOST"
    peers = tuple(p.strip() for p in env.get("ROS_STATIC_PEERS", "").split(";") if p.strip())
    return DiscoverySettings(domain_id, rng, peers)


def cyclone_config(settings: DiscoverySettings, user_uri: str | None = None,
                   pid: int | None = None) -> str:
    """The configuration string for ``dds_create_domain`` (fragments joined by commas)."""
    rng = settings.range
    localhost = rng == "LOCALHOST"
    off = rng == "OFF"
    use_peers = rng in ("SUBNET", "LOCALHOST") and bool(settings.static_peers)
    no_multicast = localhost or off
    frag = ""
    if localhost or use_peers or no_multicast:
        general = "<AllowMulticast>false</AllowMulticast>" if no_multicast else ""
        disc = ""
        if off:
            disc += "<ParticipantIndex>none</ParticipantIndex>"
            disc += f"<Tag>ros_discovery_off_{pid if pid is not None else os.getpid()}</Tag>"
        else:
            disc += "<ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>32</MaxAutoParticipantIndex>"
        peers = (["localhost"] if localhost else []) + (list(settings.static_peers) if use_peers else [])
        if peers:
            disc += "<Peers>" + "".join(f"<Peer address={quoteattr(p)}/>" for p in peers) + "</Peers>"
        frag = ("<CycloneDDS><Domain>"
                + (f"<General>{general}</General>" if general else "")
                + f"<Discovery>{disc}</Discovery></Domain></CycloneDDS>")
    parts = [p for p in (frag, (user_uri or "").strip()) if p]
    return ",".join(parts)


def loopback_config() -> str:
    """Fallback when the derived configuration cannot start a participant (no usable
    network interface): loopback interface only, unicast discovery on localhost."""
    return ("<CycloneDDS><Domain><General>" + LOOPBACK_INTERFACE
            + "<AllowMulticast>false</AllowMulticast></General><Discovery><ParticipantIndex>auto"
            "</ParticipantIndex><MaxAutoParticipantIndex>32</MaxAutoParticipantIndex><Peers>"
            "<Peer address=\"localhost\"/></Peers></Discovery></Domain></CycloneDDS>")
