"""The operator's allow-list of webhook targets: no subscription may make the worker call anywhere else.

A URL is normalised first (scheme and host lower-case, default port dropped, percent-encoded unreserved
characters decoded, dot-segments resolved; userinfo, encoded slashes and backslashes refused), and the
normalised URL is what is checked, stored and called: `…/hooks/../admin` and `…/hooks/%2e%2e/admin` are
`…/admin`. A prefix allows a URL when scheme, host and port are equal and the path continues the
prefix's path at a segment boundary. At delivery the host is resolved once; private, loopback,
link-local, reserved and cloud-metadata addresses are refused unless the allow-list names that exact
address, and the connection goes to the checked address (no second lookup a DNS answer could change).
The worker never follows redirects, so an allowed host cannot bounce a delivery elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

_PORTS = {"http": 80, "https": 443}
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Cloud instance-metadata addresses (AWS/GCP/Azure/OpenStack, Alibaba Cloud, Tencent Cloud, AWS IPv6).
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "169.254.0.23", "fd00:ec2::254")
)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """A webhook target may not be called; the message says why (kept on the delivery)."""


def _decode_unreserved(path: str) -> str | None:
    if re.search(r"%(2[fF]|5[cC]|00)", path) or "\\" in path:
        return None  # an encoded slash, backslash or NUL means different paths to different parsers
    return _UNRESERVED.sub(
        lambda m: chr(int(m[1], 16)) if chr(int(m[1], 16)) in _UNRESERVED_CHARS else m[0].upper(), path
    )


def _remove_dot_segments(path: str) -> str:
    """Resolve `.` and `..` segments (RFC 3986 §5.2.4)."""
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    joined = "/".join(out)
    return joined if joined.startswith("/") else "/" + joined


def normalise(url: str) -> str | None:
    """Return the normal form of an http(s) URL, or None for one that cannot be a webhook target."""
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
        host = (parts.hostname or "").rstrip(".")
        host = host.encode("idna").decode("ascii").lower() if host else ""
    except (ValueError, UnicodeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in _PORTS or not host or "@" in parts.netloc or parts.fragment:
        return None
    path = _decode_unreserved(parts.path or "/")
    if path is None:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, _remove_dot_segments(path), parts.query, ""))


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    return parts.scheme, (parts.hostname or "").lower(), parts.port or _PORTS[parts.scheme]


def allowed_target(url: str, prefixes: list[str]) -> bool:
    """Tell whether the normalised `url` lies under one of the operator's normalised prefixes."""
    norm = normalise(url)
    if norm is None:
        return False
    target = urlsplit(norm)
    for prefix in prefixes:
        allowed_norm = normalise(prefix)
        if allowed_norm is None:
            continue
        allowed = urlsplit(allowed_norm)
        if _origin(allowed) != _origin(target):
            continue
        base, path = allowed.path, target.path
        if path == base or path.startswith(base if base.endswith("/") else base + "/"):
            return True
    return False


def _named_addresses(prefixes: list[str]) -> set[IpAddress]:
    out: set[IpAddress] = set()
    for prefix in prefixes:
        host = urlsplit(prefix).hostname or ""
        try:
            out.add(ipaddress.ip_address(host))
        except ValueError:
            continue
    return out


def forbidden(address: IpAddress) -> bool:
    """Tell whether an address is one a webhook may not reach unless named (internal or metadata)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address in _METADATA
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or address in ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: inside the county network
    )


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    """Where to connect (the checked address) and what to tell the server (its name)."""

    url: str  # the normalised URL with the host replaced by the checked address
    host_header: str
    server_name: str | None  # for TLS: SNI and certificate check against the name, not the address


async def check_target(url: str, prefixes: list[str]) -> CheckedTarget:
    """Normalise, allow-list and resolve a target once; raise TargetRefused when it may not be called."""
    norm = normalise(url)
    if norm is None or not allowed_target(norm, prefixes):
        raise TargetRefused("target not on the allow-list (GATEWAY_WEBHOOK_ALLOWED_URLS)")
    parts = urlsplit(norm)
    host = parts.hostname or ""
    port = parts.port or _PORTS[parts.scheme]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    named = _named_addresses(prefixes)
    refused = [a for a in addresses if forbidden(a) and a not in named]
    if refused or not addresses:
        # Any internal answer refuses the name: a rebinding name may mix public and private answers.
        raise TargetRefused(f"{host} resolves to an internal address ({refused[0] if refused else 'none'})")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return CheckedTarget(
        url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
        host_header=parts.netloc,
        server_name=host if parts.scheme == "https" else None,
    )
