"""deploy/Dockerfile, parsed: multi-stage, pinned base, non-root, no build tools or secrets at the end."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from tests.conftest import REPO

DOCKERFILE = REPO / "deploy" / "Dockerfile"
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|cc|make|build-essential|clang|libc6?-dev|python3?-dev|pip wheel)\b")
SECRETISH = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL)", re.I)
# An exact patch release on a named Debian release, optionally pinned by digest too.
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")

Instr = dict[str, Any]


def parse(path: Path) -> DockerfileParser:
    """Parse a Dockerfile read-only (an in-memory copy: the parser never writes the file)."""
    return DockerfileParser(fileobj=io.BytesIO(path.read_bytes()))


@pytest.fixture(scope="module")
def parsed() -> DockerfileParser:
    """Return the parsed Dockerfile."""
    return parse(DOCKERFILE)


def stages(parsed: DockerfileParser) -> list[list[Instr]]:
    """Split the instructions into stages (each starts at FROM)."""
    out: list[list[Instr]] = []
    for ins in parsed.structure:
        if ins["instruction"] == "FROM":
            out.append([])
        if out:
            out[-1].append(ins)
    return out


def global_args(parsed: DockerfileParser) -> dict[str, str]:
    """Return the ARGs declared before the first FROM, with their defaults."""
    args: dict[str, str] = {}
    for ins in parsed.structure:
        if ins["instruction"] == "FROM":
            break
        if ins["instruction"] == "ARG" and "=" in ins["value"]:
            key, value = ins["value"].split("=", 1)
            args[key.strip()] = value.strip().strip('"')
    return args


def resolve(image: str, args: dict[str, str]) -> str:
    """Substitute ${ARG} and $ARG in a FROM image with the global ARG defaults."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


def final(parsed: DockerfileParser) -> list[Instr]:
    """Return the instructions of the last stage."""
    return stages(parsed)[-1]


def test_multi_stage_with_pinned_base(parsed: DockerfileParser) -> None:
    """At least two stages, each FROM an exact python:3.11.x-slim-bookworm (or that plus a digest)."""
    args = global_args(parsed)
    froms = [s[0]["value"].split()[0] for s in stages(parsed)]
    assert len(froms) >= 2
    for image in froms:
        assert PINNED_BASE.match(resolve(image, args)), f"{image} -> {resolve(image, args)} is not pinned"


def test_final_stage_copies_the_built_venv_from_the_builder(parsed: DockerfileParser) -> None:
    """The runtime gets the venv from the builder; wheels are built there from constraints.txt."""
    builder = stages(parsed)[0]
    runs = " ".join(i["value"] for i in builder if i["instruction"] == "RUN")
    assert "-c constraints.txt" in runs and "pip wheel" in runs
    copies = [i["value"] for i in final(parsed) if i["instruction"] == "COPY"]
    assert any(c.startswith("--from=builder /opt/gateway") for c in copies)


def test_final_stage_runs_as_non_root_without_build_tools(parsed: DockerfileParser) -> None:
    """USER is a non-root uid in the final stage; nothing there installs or runs a compiler."""
    last = final(parsed)
    users = [i["value"].split(":")[0] for i in last if i["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")
    for ins in last:
        if ins["instruction"] == "RUN":
            assert not BUILD_TOOLS.search(ins["value"]), ins["value"]
            assert "apt-get install" not in ins["value"]


def test_no_secret_values(parsed: DockerfileParser) -> None:
    """No ENV, ARG or LABEL holds a key, secret, password or token."""
    for ins in parsed.structure:
        if ins["instruction"] in ("ENV", "ARG", "LABEL"):
            for name in re.findall(r"(\w+)=", ins["value"]) or [ins["value"].split()[0]]:
                assert not SECRETISH.search(name), f"{ins['instruction']} {name}"


def test_healthcheck_expose_and_cmd(parsed: DockerfileParser) -> None:
    """HEALTHCHECK probes /healthz with python's urllib; EXPOSE 8000; CMD serves on all interfaces."""
    last = final(parsed)
    (health,) = [i["value"] for i in last if i["instruction"] == "HEALTHCHECK"]
    assert "/healthz" in health and "urllib" in health and "curl" not in health
    assert any(i["value"].split() == ["8000"] for i in last if i["instruction"] == "EXPOSE")
    (cmd,) = [i["value"] for i in last if i["instruction"] == "CMD"]
    assert json.loads(cmd) == ["gateway", "serve", "--host", "0.0.0.0"]


def test_config_is_mounted_not_baked(parsed: DockerfileParser) -> None:
    """Policies are a VOLUME at GATEWAY_POLICY_DIR; nothing copies policies or sources config in."""
    last = final(parsed)
    env = parsed.envs
    assert env["GATEWAY_POLICY_DIR"] == "/etc/gateway/policies"
    assert env["GATEWAY_SOURCES_CONFIG"].startswith("/etc/gateway/")
    (volume,) = [json.loads(i["value"]) for i in last if i["instruction"] == "VOLUME"]
    assert "/etc/gateway/policies" in volume
    for ins in last:
        if ins["instruction"] in ("COPY", "ADD"):
            assert ins["value"].startswith("--from="), (
                f"the final stage copies from the context: {ins['value']}"
            )


def test_dockerignore_keeps_secrets_and_venvs_out() -> None:
    """The build context excludes everything but what the builder copies."""
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "**", "deny by default"
    for must in ("**/.env", "**/*.pem", "**/*.key", "**/*.db"):
        assert must in ignore
    builder = stages(parse(DOCKERFILE))[0]
    copies = [i["value"].split() for i in builder if i["instruction"] == "COPY"]
    builder_copies = [src for parts in copies for src in parts[:-1]]
    for src in builder_copies:
        assert f"!{src}" in ignore or f"!{src.rstrip('/')}" in ignore, f"{src} is not let into the context"
