"""RFC 3161: each checkpoint is time-stamped by a TSA; verify checks the tokens with `rfc3161-client`.

The test TSA is OpenSSL's own (`openssl ts -reply`) behind a loopback HTTP server, with a root CA
and a TSA certificate (extended key usage timeStamping) made here: no network, a real TSA.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import random
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Engine

from gateway.audit.sequencer import open_sequencer
from gateway.audit.trust import Trust
from gateway.audit.verify import verify_store
from gateway.audit.witness import read_witnesses, witnesses_of
from gateway.audit.writer import AuditWriter, WriterOptions
from gateway.settings import Settings
from tests.audit.support import make_key, sample_event
from tests.conftest import skip_or_fail

TSA_CONFIG = """[ tsa ]
default_tsa = tsa1
[ tsa1 ]
serial = {serial}
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, *, issuer: x509.Certificate | None, signer: object
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]


@dataclass
class Tsa:
    """A running test TSA: its URL and the root certificate to trust."""

    url: str
    root: x509.Certificate
    root_pem: Path


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[Tsa]:
    openssl = shutil.which("openssl")
    if openssl is None:
        skip_or_fail("the test TSA needs the openssl command (apt-get install openssl)")
    work = tmp_path / "tsa"
    work.mkdir()
    ca_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _cert("Test Root CA", ca_key, issuer=None, signer=ca_key)
    leaf = _cert("Test TSA", tsa_key, issuer=root, signer=ca_key)
    (work / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    (work / "tsa.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (work / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (work / "serial").write_text("01\n")
    (work / "tsa.cnf").write_text(TSA_CONFIG.format(serial=work / "serial"))
    command = [openssl, "ts", "-reply", "-config", str(work / "tsa.cnf"), "-queryfile", "/dev/stdin"]
    command += ["-inkey", str(work / "tsa.key"), "-signer", str(work / "tsa.pem"), "-out", "/dev/stdout"]
    lock = threading.Lock()  # one serial file

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                reply = subprocess.run(command, input=query, capture_output=True, check=True).stdout
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Tsa(f"http://127.0.0.1:{server.server_address[1]}/tsa", root, work / "root.pem")
    finally:
        server.shutdown()
        thread.join()


async def _write(settings: Settings, *, key_dir: Path, n: int) -> None:
    seq = await open_sequencer(settings.database_url)
    writer = AuditWriter(
        seq,
        key=make_key(key_dir),
        options=WriterOptions(checkpoint_every=10, checkpoint_seconds=3600),
        witnesses=witnesses_of(settings),
    )
    await writer.start()
    rng = random.Random(3)
    for start in range(0, n, 10):
        await asyncio.gather(*(writer.append(sample_event(start + i, rng=rng)) for i in range(10)))
    await writer.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_checkpoints_are_time_stamped_and_verified(
    tsa: Tsa, store_url: str, store_engine: Engine, tmp_path: Path
) -> None:
    witness_dir = tmp_path / "witness"
    settings = Settings(database_url=store_url, audit_witness_dir=witness_dir, audit_tsa_url=tsa.url)
    asyncio.run(_write(settings, key_dir=tmp_path, n=30))
    tokens = sorted(witness_dir.glob("*.tsr"))
    assert [t.stem for t in tokens] == [f"{s:020d}" for s in (10, 20, 30)]
    witnessed = read_witnesses([witness_dir])
    report = verify_store(store_engine, trust=Trust(witnessed=witnessed, tsa_roots=[tsa.root]))
    assert report.ok, report.finding
    assert any("3 checkpoints time-stamped by the TSA" in n for n in report.notes), report.notes
    # A token moved to another checkpoint's note (a backdated checkpoint) does not verify.
    tokens[0].chmod(0o644)
    tokens[0].write_bytes(tokens[1].read_bytes())
    found = verify_store(store_engine, trust=Trust(witnessed=witnessed, tsa_roots=[tsa.root])).finding
    assert found is not None and found.kind == "timestamp" and found.seq == 10, found
    # A TSA the auditor does not trust proves nothing.
    other = ec.generate_private_key(ec.SECP256R1())
    stranger = _cert("Other Root", other, issuer=None, signer=other)
    tokens[0].write_bytes(b"")
    tokens[0].unlink()
    found = verify_store(store_engine, trust=Trust(witnessed=witnessed, tsa_roots=[stranger])).finding
    assert found is not None and found.kind == "timestamp", found


def test_a_tsa_needs_a_witness_directory() -> None:
    with pytest.raises(ValueError, match="GATEWAY_AUDIT_WITNESS_DIR"):
        witnesses_of(Settings(audit_tsa_url="http://127.0.0.1:1/tsa"))
