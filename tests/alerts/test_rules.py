"""alerts.yaml as a policy document: validated with file and line, tested by `gateway policy test`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from policies.engine import PolicyEngine
from policies.loader import DEFAULT_DIR, PolicyInvalid
from policies.testing import run_paths


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(DEFAULT_DIR, target)
    return target


@pytest.mark.parametrize(
    ("needle", "replacement", "words"),
    [
        ("purpose: child-protection", "purpose: child-care", ["unknown purpose 'child-care'"]),
        ("department: hr\n    purpose: pension", "department: police\n    purpose: pension",
         ["department", "civil_affairs"]),
        ("ending_within_days: 30", "ending_within_days: 0", ["ending_within_days"]),
        ("department: hr\n    purpose: employment-service", "department: hr\n    purpose: elderly-care",
         ["hr has no grant on residents for 'elderly-care'"]),
        ("      returned_within_days: 90", "      returned_in: 90", ["returned_in", "Extra inputs"]),
    ],
)  # fmt: skip
def test_a_bad_rule_is_named_with_file_and_line(
    tmp_path: Path, needle: str, replacement: str, words: list[str]
) -> None:
    target = _copy(tmp_path)
    text = (target / "alerts.yaml").read_text()
    assert needle in text
    (target / "alerts.yaml").write_text(text.replace(needle, replacement, 1))
    line = text[: text.index(needle)].count("\n") + 1
    with pytest.raises(PolicyInvalid) as err:
        PolicyEngine.load(target)
    (issue,) = err.value.issues
    assert issue.file == "alerts.yaml" and abs(issue.line - line) <= 1, str(issue)
    assert all(w in str(issue) for w in words), str(issue)


def test_gateway_policy_test_runs_the_alert_cases_and_fails_a_wrong_one(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["policy", "test"])
    assert ok.exit_code == 0, ok.output
    target = _copy(tmp_path)
    cases = (target / "tests" / "alerts.yaml").read_text()
    wrong = cases.replace("expect: {raised: [migrant-returned]}", "expect: {not_raised: [migrant-returned]}")
    (target / "tests" / "alerts.yaml").write_text(wrong)
    total, failures = run_paths(PolicyEngine.load(target), [target / "tests" / "alerts.yaml"])
    assert total >= 11 and len(failures) == 1
    assert failures[0].case == "a migrant worker who came back last month" and failures[0].line > 1
    assert "migrant-returned raised, expected not" in failures[0].message
    bad = runner.invoke(app, ["policy", "test", "--dir", str(target)])
    assert bad.exit_code == 1 and "alerts.yaml:" in bad.output


def test_a_policy_without_alert_rules_raises_nothing(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "alerts.yaml").unlink()
    (target / "tests" / "alerts.yaml").unlink()
    assert PolicyEngine.load(target).docs.alerts.rules == []
