"""The one answer to "which address is this request from?", for the API throttles, the
HTML rate limits, the sign-in lockout records and the audit log's source IP alike.

X-Forwarded-For is written by whoever sent the request, so it is believed only as far
as it was written by a proxy named in TRUSTED_PROXIES: reading the header from the right,
each hop added by a trusted proxy is the address that proxy saw; the first address that
is not itself a trusted proxy is the client. Without a trusted proxy the header is
ignored and the peer address (REMOTE_ADDR) is the client.
"""

import functools
import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[_Network, ...]:
    """Parse TRUSTED_PROXIES (addresses or CIDR ranges); a bad entry fails loudly."""
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 peer seen through an IPv6 socket (::ffff:10.0.0.1) is that IPv4 address.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the right-most
    forwarded address that is not a trusted proxy."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    if not networks:
        return peer

    def trusted(address) -> bool:
        return any(address in network for network in networks)

    current = _address(peer)
    if current is None or not trusted(current):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _address(hop)
        if address is None:
            # Not an address: nothing a trusted proxy writes. The last proxy we believed
            # is the furthest we can honestly see.
            break
        current = address
        if not trusted(address):
            break
    return str(current)
