"""One set of event sequences, two reducers: the server's transcript (Python) and the browser's
(JavaScript, run with Node's built-in test runner) must both give the transcript each case
expects (`tests/data/transcript_cases.json`)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nexus.chat.transcript import Transcript

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "data" / "transcript_cases.json").read_text())["cases"]


def matches(actual: Any, expected: Any, path: str) -> None:
    if expected == "<any>":
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path} is an object"
        for key, value in expected.items():
            matches(actual.get(key), value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for i, item in enumerate(expected):
            matches(actual[i], item, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_reducer(case: dict[str, Any]) -> None:
    start = copy.deepcopy(case["start"])
    transcript = Transcript(start["session"], start["messages"])
    transcript.status = dict(start["status"])
    for permission in start["permissions"]:
        transcript.permissions[permission["id"]] = permission
    for event in case["events"]:
        transcript.apply(event["type"], copy.deepcopy(event["data"]))
    snapshot = transcript.snapshot()
    for key, expected in case["expect"].items():
        matches(snapshot[key], expected, key)


def test_browser_reducer_agrees() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (it comes with npm, which installs OpenCode)")
    out = subprocess.run([node, "--test", str(ROOT / "tests" / "js")], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"# pass {len(CASES)}" in out.stdout, out.stdout[-2000:]
