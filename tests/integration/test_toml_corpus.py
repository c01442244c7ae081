"""The TOML parser against the toml-test corpus (tests/data/toml-test).

Every case listed in files-toml-1.0.0 runs through build/toml-decode:
valid cases must decode to JSON equal to the expected .json (compared the way
toml-test compares: types exactly, numbers by value, date-times by what they
denote), invalid cases must be rejected with exit status 1 and a
"line:col: message" on stderr. A negative status (a signal) always fails.
"""
import json
import math
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "data" / "toml-test"
DECODER = REPO / os.environ.get("RPXY_BUILD", "build") / "toml-decode"


def _cases(kind):
    listing = (CORPUS / "files-toml-1.0.0").read_text().split()
    return [name[:-len(".toml")] for name in listing
            if name.startswith(kind + "/") and name.endswith(".toml")]


VALID = _cases("valid")
INVALID = _cases("invalid")


def _decode(case):
    data = (CORPUS / (case + ".toml")).read_bytes()
    return subprocess.run([str(DECODER)], input=data, capture_output=True, timeout=10)


def _float(text):
    return float(text.replace("_", ""))  # float() reads inf, -inf, +nan, ...


_DATETIME = re.compile(
    r"^(?:(\d{4})-(\d{2})-(\d{2}))?[Tt ]?"
    r"(?:(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?"
    r"([Zz]|[+-]\d{2}:\d{2})?$")


def _datetime_key(text):
    """What a date-time denotes: its fields, the fraction without trailing
    zeros (at most nanoseconds, like toml-test), Z the same as +00:00."""
    m = _DATETIME.match(text)
    assert m, f"not a date-time: {text!r}"
    year, month, day, hour, minute, second, frac, offset = m.groups()
    frac = (frac or "")[:9].rstrip("0")
    if offset is None:
        minutes = None
    elif offset in ("Z", "z"):
        minutes = 0
    else:
        sign = -1 if offset[0] == "-" else 1
        minutes = sign * (int(offset[1:3]) * 60 + int(offset[4:6]))
    return (year, month, day, hour, minute, second, frac, minutes)


def _same_scalar(kind, want, got):
    if kind == "integer":
        return int(want) == int(got)
    if kind == "float":
        w, g = _float(want), _float(got)
        if math.isnan(w) or math.isnan(g):
            return math.isnan(w) and math.isnan(g)
        return w == g and math.copysign(1, w) == math.copysign(1, g)
    if kind in ("datetime", "datetime-local", "date-local", "time-local"):
        return _datetime_key(want) == _datetime_key(got)
    return want == got  # string, bool


def _is_tagged(v):
    return (isinstance(v, dict) and set(v) == {"type", "value"}
            and isinstance(v["type"], str) and isinstance(v["value"], str))


def _diff(want, got, path="$"):
    """Returns a description of the first difference, or None."""
    if _is_tagged(want):
        if not _is_tagged(got):
            return f"{path}: want {want}, got {got!r}"
        if want["type"] != got["type"]:
            return f"{path}: want type {want['type']}, got {got['type']}"
        if not _same_scalar(want["type"], want["value"], got["value"]):
            return f"{path}: want {want['value']!r}, got {got['value']!r}"
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or _is_tagged(got):
            return f"{path}: want a table, got {got!r}"
        if set(want) != set(got):
            return f"{path}: want keys {sorted(want)}, got {sorted(got)}"
        for k in want:
            d = _diff(want[k], got[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(want) != len(got):
            return f"{path}: want {want!r}, got {got!r}"
        for i, (w, g) in enumerate(zip(want, got)):
            d = _diff(w, g, f"{path}[{i}]")
            if d:
                return d
        return None
    return f"{path}: unexpected value in the expected JSON: {want!r}"


def test_corpus_is_complete():
    assert len(VALID) > 100 and len(INVALID) > 100
    for case in VALID:
        assert (CORPUS / (case + ".json")).is_file(), case


@pytest.mark.parametrize("case", VALID)
def test_valid(case):
    r = _decode(case)
    assert r.returncode == 0, f"{case}: exit {r.returncode}: {r.stderr.decode(errors='replace')}"
    got = json.loads(r.stdout)
    want = json.loads((CORPUS / (case + ".json")).read_text())
    d = _diff(want, got)
    assert d is None, f"{case}: {d}"


@pytest.mark.parametrize("case", INVALID)
def test_invalid(case):
    r = _decode(case)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 1, f"{case}: exit {r.returncode} (want 1), stderr: {err}"
    assert re.match(r"^\d+:\d+: \S", err), f"{case}: no 'line:col: message': {err!r}"
    assert r.stdout == b""
