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

LOCALHOST differs from rmw_cyclonedds in three settings, so that it interoperates with
Fast DDS (Jazzy's default RMW, and the micro-ROS agent) and finds participants that appear
later (issue 9, items 6 and 19; docs/transport.md):

* the participant uses the loopback interface only (``127.0.0.1``), unless a static peer
  is not a loopback address. On the default interface it advertises that interface's
  address, and a Fast DDS participant with LOCALHOST discovery started after it was not
  matched, or its frames did not arrive;
* ``SPDPInterval`` 1 s (Cyclone's default is 30 s): a participant that appears later and
  does not probe us itself is found within about a second;
* ``InitialLocatorPruneDelay`` ``inf``: Cyclone's default (30 s) stops probing the localhost
  ports that did not answer at start-up, so such a participant was never found.

A ROS node on rmw_cyclonedds_cpp with LOCALHOST needs the same loopback interface
(``CYCLONEDDS_URI`` with ``<NetworkInterface address="127.0.0.1"/>``): on its default interface
the two do not match. If the participant cannot start at all with the derived settings
(:func:`loopback_config` is the fallback), the backend warns.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass
from typing import Mapping
from xml.sax.saxutils import quoteattr

from .base import TransportError

RANGES = ("OFF", "LOCALHOST", "SUBNET", "SYSTEM_DEFAULT")
LOOPBACK_INTERFACE = '<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>'
LOCALHOST_PROBING = "<SPDPInterval>1s</SPDPInterval><InitialLocatorPruneDelay>inf</InitialLocatorPruneDelay>"


def is_loopback(address: str) -> bool:
    """Whether a peer address (name or IPv4/IPv6 literal, no port) is this host's loopback."""
    host = address.strip().lower()
    if host.startswith("[") and "]" in host:
        host = host[1:host.index("]")]
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        if localhost:
            disc += LOCALHOST_PROBING
            if all(is_loopback(p) for p in peers):
                general += LOOPBACK_INTERFACE
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
