"""The federation document is validated like the policy: every issue names its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from gateway.federation.breaker import CircuitBreaker
from gateway.federation.document import FederationInvalid, load_federation
from gateway.federation.trust import pinned_keys

PIN = "A" * 43
GOOD = f"""\
name: county-a
region_code: "511599000000"
members:
  - name: county-b
    region_code: "511521000000"
    base_url: http://127.0.0.1:8001
    pins: [{PIN}]
    as_client_id: county-a
allow:
  - department: civil_affairs
    members: [county-b]
    purposes: [social-assistance-review]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "federation.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_document_loads(tmp_path: Path) -> None:
    doc = load_federation(_write(tmp_path, GOOD), purposes=["social-assistance-review"])
    member = doc.member("county-b")
    assert member is not None and member.keys_url() == "http://127.0.0.1:8001/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        (f"pins: [{PIN}]", "pins: []", 7, "at least 1"),
        (f"pins: [{PIN}]", "pins: [short]", 7, "pattern"),
        ("base_url: http://127.0.0.1:8001", "base_url: ftp://x", 6, "pattern"),
        (
            "    as_client_id: county-a\n",
            "    as_client_id: county-a\n    trust_everyone: true\n",
            9,
            "Extra inputs",
        ),
        ("members: [county-b]", "members: [county-z]", 11, "unknown member county-z"),
        ("  - name: county-b", "  - name: county-a", 4, "listed twice (or is us)"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, old: str, new: str, line: int, words: str) -> None:
    with pytest.raises(FederationInvalid) as caught:
        load_federation(_write(tmp_path, GOOD.replace(old, new)))
    text = str(caught.value)
    assert text.startswith("federation.yaml:") and words in text, text
    assert any(i.line == line for i in caught.value.issues), text


def test_rules_name_purposes_of_our_policy(tmp_path: Path) -> None:
    with pytest.raises(FederationInvalid) as caught:
        load_federation(_write(tmp_path, GOOD), purposes=["statistics"])
    assert str(caught.value) == (
        "federation.yaml:12: allow.0.purposes.0: unknown purpose social-assistance-review"
    )


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(FederationInvalid) as caught:
        load_federation(_write(tmp_path, GOOD + "  - : [\n"))
    assert "not valid YAML" in str(caught.value) and caught.value.issues[0].line >= 13


def test_only_pinned_keys_are_kept() -> None:
    pinned, other = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    jwks = {
        "keys": [{**k.as_dict(private=False), "kid": k.thumbprint(), "alg": "ES256"} for k in (pinned, other)]
    }
    kept = pinned_keys(jwks, [pinned.thumbprint()])
    assert [k["kid"] for k in kept["keys"]] == [pinned.thumbprint()]
    # A key claiming a pinned kid it does not hash to is not the pinned key.
    forged = {"keys": [{**other.as_dict(private=False), "kid": pinned.thumbprint(), "alg": "ES256"}]}
    assert pinned_keys(forged, [pinned.thumbprint()]) == {"keys": []}
    private = {"keys": [{**pinned.as_dict(private=True), "kid": pinned.thumbprint()}]}
    assert pinned_keys(private, [pinned.thumbprint()]) == {"keys": []}


def test_breaker_opens_then_lets_one_trial_through() -> None:
    breaker = CircuitBreaker(failures_to_open=2, reset_seconds=10)
    assert breaker.retry_after(now=0) is None
    breaker.failed(now=0)
    assert breaker.state == "closed" and breaker.retry_after(now=0) is None
    breaker.failed(now=1)
    assert breaker.state == "open" and breaker.retry_after(now=2) == 9
    assert breaker.retry_after(now=11.5) is None and breaker.state == "half-open"
    assert breaker.retry_after(now=11.6) == 1  # one trial at a time
    breaker.failed(now=12)
    assert breaker.state == "open" and breaker.retry_after(now=13) == 9
    assert breaker.retry_after(now=23) is None
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.failures == 0
