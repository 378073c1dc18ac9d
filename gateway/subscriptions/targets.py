"""The operator's allow-list of webhook targets: no subscription may make the worker call anywhere else.

A prefix allows a URL when scheme, host and port are equal and the path continues the prefix's path at
a segment boundary: `https://hr.example/hooks/` allows `https://hr.example/hooks/pension` but never
`https://hr.example.evil.net/…`, `https://hr.example@evil.net/…` or `https://hr.example/hooks-x`.
The worker never follows redirects, so an allowed host cannot bounce a delivery elsewhere.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

_PORTS = {"http": 80, "https": 443}


def _parts(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in _PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.fragment or any(ord(ch) < 33 for ch in url):
        return None
    return parts


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    return parts.scheme, (parts.hostname or "").lower(), parts.port or _PORTS[parts.scheme]


def allowed_target(url: str, prefixes: list[str]) -> bool:
    """Tell whether `url` lies under one of the operator's allowed prefixes."""
    target = _parts(url)
    if target is None:
        return False
    for prefix in prefixes:
        allowed = _parts(prefix)
        if allowed is None or _origin(allowed) != _origin(target):
            continue
        base = allowed.path or "/"
        path = target.path or "/"
        if path == base or path.startswith(base if base.endswith("/") else base + "/"):
            return True
    return False
