"""Key pins: a member's rotated key is refused until the operator pins it (its own pair of gateways:
earlier exchanges in a shared module leave sign-in failures and cached keys behind)."""

from __future__ import annotations

import time

from gateway.auth.keys import rotate_key
from gateway.federation.demo import county_b_document
from tests.federation.conftest import Federation, write_doc
from tests.federation.test_exchange import ask


def test_key_outside_pins_is_refused_until_the_operator_pins_it(federation: Federation) -> None:
    """A rotates its key: B refuses the unpinned key; once B's operator pins it, B reads it from A's JWKS."""

    old = federation.a.kid()
    new = rotate_key(federation.a.engine, federation.a.app.state.config.settings)
    deadline = time.monotonic() + 5
    while federation.a.kid() != new and time.monotonic() < deadline:
        time.sleep(0.1)  # A's guard reloads its key ring from the store
    assert federation.a.kid() == new
    r = ask(federation, "civil")
    assert r.status_code == 403 and r.json()["type"] == "/problems/member-refused", r.text
    assert "credentials" in r.json()["detail"]  # B's token endpoint refused the unpinned key
    loaded = federation.b.app.state.runtime.federation.doc
    write_doc(federation.b.federation_file, county_b_document(federation.a.url, [old, new]))
    deadline = time.monotonic() + 10
    while federation.b.app.state.runtime.federation.doc is loaded and time.monotonic() < deadline:
        time.sleep(0.1)  # B's watcher reloads the document; asking meanwhile would count as failed sign-ins
    for _ in range(3):  # B re-reads A's JWKS at most every 2 s; few asks stay under the sign-in back-off
        r = ask(federation, "civil")
        if r.status_code == 200:
            break
        time.sleep(2.5)
    assert r.status_code == 200, r.text
