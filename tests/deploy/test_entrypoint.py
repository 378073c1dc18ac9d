"""The image's entrypoint, run outside Docker as `docker run` would: empty policy volume, fresh SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from dockerfile_parse import DockerfileParser

from tests.conftest import REPO
from tests.support.pgcluster import free_port


def container_env(workdir: Path) -> dict[str, str]:
    """Return the image's environment (its ENV lines) for a process in `workdir`, none of our GATEWAY_*."""
    parsed = DockerfileParser(fileobj=open(REPO / "deploy" / "Dockerfile", "rb"))  # noqa: SIM115
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    image = {k: v for k, v in parsed.envs.items() if k.startswith("GATEWAY_")}
    (workdir / "etc-gateway-policies").mkdir()  # the VOLUME, empty as docker creates it
    image["GATEWAY_POLICY_DIR"] = str(workdir / "etc-gateway-policies")
    image["GATEWAY_SOURCES_CONFIG"] = str(workdir / "sources.yaml")  # not mounted
    return {**env, **image, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}


def test_dockerfile_runs_the_entrypoint_before_its_command() -> None:
    """ENTRYPOINT is gateway.entrypoint (shipped in the wheel); CMD stays the server."""
    parsed = DockerfileParser(fileobj=open(REPO / "deploy" / "Dockerfile", "rb"))  # noqa: SIM115
    last = [i for i in parsed.structure if i["instruction"] in ("ENTRYPOINT", "CMD")]
    assert [(i["instruction"], json.loads(i["value"])) for i in last[-2:]] == [
        ("ENTRYPOINT", ["python", "-m", "gateway.entrypoint"]),
        ("CMD", ["gateway", "serve", "--host", "0.0.0.0"]),
    ]


def test_a_lone_container_migrates_its_store_and_serves_with_the_default_policy(tmp_path: Path) -> None:
    """No policy mounted, no store: the entrypoint migrates SQLite, the server becomes ready."""
    port = free_port()
    env = container_env(tmp_path)
    log = tmp_path / "container.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.entrypoint", "gateway", "serve", "--port", str(port)],
            cwd=tmp_path,  # WORKDIR /var/lib/gateway
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        # The packaged default policy is in force: a client registered as `docker exec … gateway clients
        # create` reads its catalogue.
        made = subprocess.run(
            ["gateway", "clients", "create", "--name", "t", "--department", "civil_affairs",
             "--subsystem", "t", "--scope", "residents:read", "--region", "511599000000", "--json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        client = json.loads(made.stdout)
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        ).json()["access_token"]
        catalog = httpx.get(f"{base}/v1/catalog", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert catalog.status_code == 200 and "resident" in catalog.text, catalog.text
        text = log.read_text()
        assert "using the packaged default policy" in text and "store at revision" in text
        assert (tmp_path / "var" / "gateway.db").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_postgresql_and_other_commands_are_not_migrated_by_the_entrypoint(tmp_path: Path) -> None:
    """Only the server and the worker on SQLite migrate; any other command is exec'd as it is."""
    env = {**container_env(tmp_path), "GATEWAY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.entrypoint",
            "python",
            "-c",
            "import os; print(os.environ.get('X', 'ok'))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert not (tmp_path / "var").exists()
