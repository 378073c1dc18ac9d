"""The guide's signature example is what the gateway sends; the allow-list holds at its edges."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gateway.subscriptions.signing import headers, new_secret, sign
from gateway.subscriptions.targets import allowed_target
from tests.changes.support import verify

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrating.md"


def test_the_guide_sample_is_signed_as_the_worker_signs() -> None:
    """The `webhook-signature` in docs/integrating.md is the one gateway.subscriptions.signing computes."""
    text = GUIDE.read_text(encoding="utf-8")
    block = text[text.index("def verify_webhook") :]
    values = dict(re.findall(r'"(webhook-[a-z]+)": "([^"]+)"', block))
    secret = re.search(r'secret = "(whsec_[^"]+)"', block)
    body = b"".join(ast.literal_eval(p) for p in re.findall(r"^    (b'.*')$", block, re.MULTILINE))
    assert secret is not None and body.startswith(b'{"type":"resident.deceased"')
    expected = sign(
        secret.group(1), msg_id=values["webhook-id"], timestamp=int(values["webhook-timestamp"]), body=body
    )
    assert values["webhook-signature"] == expected


def test_fresh_secrets_sign_what_an_independent_verifier_accepts() -> None:
    """A new secret's headers verify with the stdlib-only verifier; another secret's do not."""
    secret, body = new_secret(), b'{"type":"notice.published"}'
    sent = headers(secret, msg_id="msg_abc", timestamp=1761955200, body=body)
    assert verify(secret, sent, body)
    assert not verify(new_secret(), sent, body)
    assert not verify(secret, sent, body + b" ")


ALLOWED = ["https://hr.county.example/hooks/", "http://127.0.0.1:8080/in"]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hr.county.example/hooks/deaths", True),
        ("https://HR.county.example:443/hooks/", True),
        ("http://127.0.0.1:8080/in", True),
        ("http://127.0.0.1:8080/in/x", True),
        ("http://127.0.0.1:8080/inbox", False),  # not at a segment boundary
        ("https://hr.county.example.evil.net/hooks/x", False),
        ("https://hr.county.example@evil.net/hooks/x", False),
        ("https://evil.net/?https://hr.county.example/hooks/", False),
        ("http://hr.county.example/hooks/x", False),  # scheme is part of the prefix
        ("https://hr.county.example:8443/hooks/x", False),
        ("https://hr.county.example/hooks/x#frag", False),
        ("https://hr.county.example/other", False),
        ("http://127.0.0.1:8080:9/in", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("ftp://hr.county.example/hooks/x", False),
    ],
)
def test_allow_list(url: str, ok: bool) -> None:
    """Only URLs under an allowed prefix pass; look-alike hosts, userinfo and other ports do not."""
    assert allowed_target(url, ALLOWED) is ok
