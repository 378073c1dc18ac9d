"""Render Kustomize overlays offline with the real Kustomize (a `kustomize` binary or `kubectl kustomize`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MIN_KUSTOMIZE = (5, 0)  # `labels`, `patches` with targets and per-generator options need v5


@dataclass(frozen=True)
class Renderer:
    """A command that prints the rendered manifests of a kustomization directory."""

    argv: tuple[str, ...]
    version: str

    def render(self, directory: Path) -> list[dict[str, Any]]:
        """Return the rendered objects of a kustomization directory (no network is touched)."""
        done = subprocess.run(
            [*self.argv, str(directory)], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(self.argv)} {directory} failed:\n{done.stderr}")
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _version_tuple(text: str) -> tuple[int, int] | None:
    match = re.search(r"v?(\d+)\.(\d+)\.\d+", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _kustomize_version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout + done.stderr
    if "kubectl" in argv[0]:
        match = re.search(r"Kustomize Version:\s*(\S+)", text)
        return match.group(1) if match else None
    match = re.search(r"v?\d+\.\d+\.\d+", text)
    return match.group(0) if match else None


def find_renderer() -> tuple[Renderer | None, str]:
    """Find Kustomize >= 5: a `kustomize` binary, else `kubectl kustomize`; return it or why not."""
    tried: list[str] = []
    kustomize = shutil.which("kustomize")
    if kustomize:
        version = _kustomize_version([kustomize, "version"])
        vt = _version_tuple(version or "")
        if vt and vt >= MIN_KUSTOMIZE:
            return Renderer((kustomize, "build"), f"kustomize {version}"), ""
        tried.append(f"{kustomize} is Kustomize {version or '?'}")
    kubectl = shutil.which("kubectl")
    if kubectl:
        version = _kustomize_version([kubectl, "version", "--client"])
        vt = _version_tuple(version or "")
        if vt and vt >= MIN_KUSTOMIZE:
            return Renderer((kubectl, "kustomize"), f"kubectl kustomize ({version})"), ""
        tried.append(f"{kubectl} embeds Kustomize {version or '?'}")
    tried = tried or ["neither `kustomize` nor `kubectl` is on PATH"]
    return None, f"Kustomize >= {MIN_KUSTOMIZE[0]} is needed to render deploy/k8s: {'; '.join(tried)}"
