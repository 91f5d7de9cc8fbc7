"""Which URLs the sandbox sends webhooks to, and how a URL is shown.

A webhook URL comes from whoever calls the API (ContactShip's per-call `webhook_url`, a
control-plane subscription), and the sandbox POSTs to it from wherever it runs: a CI runner or
a cloud VM, beside that host's instance metadata service. So the policy is:

- only `http://` and `https://` URLs with a host;
- loopback, private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10), public
  addresses and every host name (service names, `localhost`) are allowed: a sandbox's
  receivers are usually on the same machine or network;
- link-local addresses (169.254.0.0/16, fe80::/10, where AWS, GCP, Azure, Oracle and
  DigitalOcean serve instance metadata), the other well-known metadata addresses
  (100.100.100.200 Alibaba, fd00:ec2::254 AWS over IPv6, 168.63.129.16 Azure) and metadata
  host names (`metadata.google.internal`...) are refused unless the sandbox runs with
  `--webhook-allow-link-local` (Settings.webhook_allow_link_local);
- addresses nothing can receive at (0.0.0.0/8, ::, multicast, broadcast, 240.0.0.0/4) are
  always refused.

Only what the URL literally says is judged, with no name lookup (a lookup would block, and
its answer could change before the POST): a host name that resolves to a link-local address
is sent to. IPv4 in the legacy spellings a resolver accepts (`2852039166`, `0xa9.0xfe.0xa9.0xfe`,
`0251.0376.0251.0376`), IPv4 inside IPv6 (`::ffff:169.254.169.254`, NAT64's `64:ff9b::/96`)
and hosts IDNA maps to an address (`169。254。169。254`) are read as the address they spell.

A URL is shown (attempts, journal, logs, subscription listings) with its userinfo replaced by
`***`: `http://user:secret@host/hook` shows as `http://***@host/hook`. The receiver still gets
the credentials, as HTTP Basic auth.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from urllib.parse import urlsplit

ALLOW_FLAG = "--webhook-allow-link-local"
SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("100.100.100.200", "fd00:ec2::254", "168.63.129.16")
)
_METADATA_NAMES = frozenset(
    ("metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal")
)
_UNUSABLE = (
    (ipaddress.ip_network("0.0.0.0/8"), "an unspecified address (0.0.0.0/8)"),
    (ipaddress.ip_network("::/128"), "the unspecified address (::)"),
    (ipaddress.ip_network("255.255.255.255/32"), "the broadcast address"),
    (ipaddress.ip_network("224.0.0.0/4"), "a multicast address (224.0.0.0/4)"),
    (ipaddress.ip_network("ff00::/8"), "a multicast address (ff00::/8)"),
    (ipaddress.ip_network("240.0.0.0/4"), "a reserved address (240.0.0.0/4)"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 reached through a NAT64 gateway
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@")


def redact(url: str) -> str:
    """`url` with its userinfo (`user:password@`) shown as `***@`."""
    return _USERINFO.sub(r"\1***@", url)


def redact_in(text: str, url: str) -> str:
    """`text` (an error message) with `url`'s userinfo, wherever it appears, redacted."""
    found = _USERINFO.match(url)
    if found is None:
        return text
    userinfo = found.group()[len(found[1]) :]  # "user:password@"
    return text.replace(url, redact(url)).replace(userinfo, "***@")


def normal_host(host: str) -> str:
    """A host as a client library sends it: lower case, without a trailing dot, and IDNA's
    mapping applied (so `169。254。169。254` is read as the address httpx would reach)."""
    if not host.isascii():
        # A host IDNA refuses is no name anything can reach: the POST fails and is recorded.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host.rstrip(".").lower()


def address(host: str) -> IPAddress | None:
    """The IP address a URL's host spells, or None for a host name. No lookup is made."""
    host = normal_host(host)
    try:
        found = ipaddress.ip_address(host.split("%")[0])  # an IPv6 zone does not change it
    except ValueError:
        if not _LEGACY_IPV4.fullmatch(host):
            return None
        try:  # the forms inet_aton accepts, and so the system resolver: 2852039166, 0xa9.0xfe...
            found = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(found, ipaddress.IPv6Address):
        if found.ipv4_mapped is not None:
            return found.ipv4_mapped
        if found in _NAT64:
            return ipaddress.IPv4Address(int(found) & 0xFFFFFFFF)
    return found


def refusal(url: str, *, allow_link_local: bool = False) -> str | None:
    """Why webhooks may not go to `url`, as the rest of a sentence about it ("must not
    point at ..."), naming what to fix; None when they may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (parsing it raises for a port out of range)
    except ValueError:
        return (
            "is not a valid URL (check its host and port): send an absolute http:// or https:// URL"
        )
    if parts.scheme not in SCHEMES or not host:
        return "is not an absolute http:// or https:// URL"
    ip = address(host)
    spelled = host if ip is None or str(ip) == host else f"{host} ({ip})"
    for network, what in _UNUSABLE:
        if ip is not None and ip.version == network.version and ip in network:
            return (
                f"must not point at {spelled}, {what}: nothing receives webhooks there; use "
                "the receiver's own address (127.0.0.1 for this machine)"
            )
    if allow_link_local:
        return None
    if ip is not None and any(ip.version == n.version and ip in n for n in _LINK_LOCAL):
        what = "a link-local address (169.254.0.0/16, fe80::/10), where clouds serve metadata"
    elif ip is not None and ip in _METADATA_ADDRESSES:
        what = "a cloud metadata address"
    elif ip is None and normal_host(host) in _METADATA_NAMES:
        what = "a cloud metadata host name"
    else:
        return None
    return (
        f"must not point at {spelled}, {what}; use the receiver's own address, or start "
        f"the sandbox with {ALLOW_FLAG} to allow it"
    )
