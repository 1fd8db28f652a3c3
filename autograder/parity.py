"""Parity: do two result sets (say, local and cloud grading of one class with one seed) agree?

Compared, for every ``<student>/<lab>/result.json`` in either set: the same students and labs,
the same seed, the same grading configuration (the limits each result records; ``prewarm``, which
changes only how fast kernels start, is shown but not compared), the same status and score per
submission, the same status, points and diagnosis (named mistake) per hidden test, and every value a
hidden test compared
(what the student's code returned and what the reference expected) within a stated tolerance.
A result written before results recorded their configuration (schema 1) has none to compare;
the report says so. The environment fingerprints are shown
side by side; a difference in the Python feature release (3.11 vs 3.12) or in a package version
is a mismatch too, since
it is exactly what makes two graders drift. The host's platform string and interpreter path
are shown but not compared (a container and a laptop differ there by design).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .results import RESULT_FILE, SubmissionResult, load_result_folder, write_json

RTOL = 1e-9
ATOL = 1e-12
COMPARED_ENVIRONMENT = ("python", "implementation", "numpy")
NOT_COMPARED_CONFIG = ("prewarm",)  # how soon the next kernel boots; no grade depends on it


@dataclass
class Mismatch:
    where: str       # "<student>/<lab>" or "environment" or "<student>/<lab>::<test>"
    what: str        # short kind: missing, status, score, points, value, seed, environment
    detail: str

    def line(self) -> str:
        return f"{self.where}: {self.what}: {self.detail}"


@dataclass
class ParityReport:
    a: Path
    b: Path
    rtol: float
    atol: float
    submissions: list[dict] = field(default_factory=list)
    environment: dict[str, list] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    values_compared: int = 0
    tests_compared: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_json(self) -> dict:
        return {
            "a": str(self.a), "b": str(self.b), "ok": self.ok,
            "tolerance": {"rtol": self.rtol, "atol": self.atol},
            "submissions": self.submissions,
            "tests_compared": self.tests_compared,
            "values_compared": self.values_compared,
            "environment": self.environment,
            "notes": self.notes,
            "mismatches": [m.__dict__ for m in self.mismatches],
        }


def _load(folder: Path) -> dict[tuple[str, str], SubmissionResult]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"results folder {folder} does not exist")
    found = load_result_folder(folder)
    if not found:
        raise ConfigError(f"no results in {folder} (expected <student>/<lab>/{RESULT_FILE})")
    return found


def _numbers_close(x: Any, y: Any, rtol: float, atol: float) -> bool:
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is type(y) and x == y
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if math.isinf(x) or math.isinf(y):
            return x == y
        return abs(x - y) <= atol + rtol * abs(y)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_numbers_close(p, q, rtol, atol) for p, q in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_numbers_close(x[k], y[k], rtol, atol) for k in x)
    return x == y


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _first_difference(x: Any, y: Any, rtol: float, atol: float, path: str = "") -> str:
    """Where two JSON values first disagree, for the message."""
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            if k not in x or k not in y:
                return f"{path}.{k} only in one"
            if not _numbers_close(x[k], y[k], rtol, atol):
                return _first_difference(x[k], y[k], rtol, atol, f"{path}.{k}")
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            if not _numbers_close(p, q, rtol, atol):
                return _first_difference(p, q, rtol, atol, f"{path}[{i}]")
    return f"{path or 'value'} {_short(x)} vs {_short(y)}"


def _compare_config(key: str, ra: SubmissionResult, rb: SubmissionResult, report: ParityReport) -> None:
    if ra.config is None or rb.config is None:
        if ra.config is not rb.config:
            report.notes.append(f"{key}: configuration recorded only in {'B' if ra.config is None else 'A'} "
                                "(the other result predates recorded configurations): not compared")
        return
    for name in sorted(set(ra.config) | set(rb.config)):
        if name in NOT_COMPARED_CONFIG:
            continue
        va, vb = ra.config.get(name), rb.config.get(name)
        if va != vb:
            report.mismatches.append(Mismatch(key, "config", f"{name} {va!r} vs {vb!r} (graded with other limits)"))


def _compare_submission(key: str, ra: SubmissionResult, rb: SubmissionResult, report: ParityReport) -> int:
    before = len(report.mismatches)
    add = report.mismatches.append
    if ra.seed != rb.seed:
        add(Mismatch(key, "seed", f"{ra.seed} vs {rb.seed} (the runs drew different hidden inputs)"))
    _compare_config(key, ra, rb, report)
    if ra.status != rb.status:
        add(Mismatch(key, "status", f"{ra.status} vs {rb.status}"))
    if not math.isclose(ra.score, rb.score, abs_tol=1e-9):
        add(Mismatch(key, "score", f"{ra.score:g} vs {rb.score:g}"))
    tests_a = {t.name: t for t in ra.tests}
    tests_b = {t.name: t for t in rb.tests}
    for name in sorted(set(tests_a) | set(tests_b)):
        where = f"{key}::{name}"
        if name not in tests_a or name not in tests_b:
            add(Mismatch(where, "missing", f"test only in {'A' if name in tests_a else 'B'}"))
            continue
        ta, tb = tests_a[name], tests_b[name]
        report.tests_compared += 1
        if ta.status != tb.status:
            add(Mismatch(where, "status", f"{ta.status} vs {tb.status}"))
        if not math.isclose(float(ta.points), float(tb.points), abs_tol=1e-9):
            add(Mismatch(where, "points", f"{float(ta.points):g} vs {float(tb.points):g}"))
        if (ta.diagnosis or {}).get("mistake") != (tb.diagnosis or {}).get("mistake"):
            add(Mismatch(where, "diagnosis", f"{(ta.diagnosis or {}).get('mistake')} vs "
                                             f"{(tb.diagnosis or {}).get('mistake')}"))
        values_a, values_b = ta.values, tb.values
        if len(values_a) != len(values_b):
            add(Mismatch(where, "value", f"{len(values_a)} compared values vs {len(values_b)}"))
            continue
        for va, vb in zip(values_a, values_b):
            label = va.get("label", "?")
            for side in ("got", "expected"):
                report.values_compared += 1
                if not _numbers_close(va.get(side), vb.get(side), report.rtol, report.atol):
                    detail = _first_difference(va.get(side), vb.get(side), report.rtol, report.atol)
                    add(Mismatch(where, "value", f"{label} [{side}] {detail}"))
    return len(report.mismatches) - before


def compare(a: Path, b: Path, *, rtol: float = RTOL, atol: float = ATOL) -> ParityReport:
    """Compare result sets ``a`` and ``b``; the report lists every mismatch."""
    results_a, results_b = _load(a), _load(b)
    report = ParityReport(a=Path(a), b=Path(b), rtol=rtol, atol=atol)
    for key in sorted(set(results_a) | set(results_b)):
        where = "/".join(key)
        ra, rb = results_a.get(key), results_b.get(key)
        row = {"student": key[0], "lab": key[1],
               "a": None if ra is None else {"status": str(ra.status), "score": ra.score},
               "b": None if rb is None else {"status": str(rb.status), "score": rb.score}}
        if ra is None or rb is None:
            report.mismatches.append(Mismatch(where, "missing", f"result only in {'A' if rb is None else 'B'}"))
            row["mismatches"] = 1
        else:
            row["mismatches"] = _compare_submission(where, ra, rb, report)
        report.submissions.append(row)
    report.environment = _environments(results_a, results_b, report)
    return report


def _fingerprint(results: dict) -> dict[str, Any]:
    """The flattened environment of a result set (every result of one run shares it, except
    where hosts differ; differing hosts are listed joined by ' | ')."""
    seen: dict[str, list] = {}
    for r in results.values():
        env = r.environment
        flat = {k: v for k, v in env.items() if k != "packages"}
        flat.update({f"packages.{k}": v for k, v in (env.get("packages") or {}).items()})
        for k, v in flat.items():
            if v not in seen.setdefault(k, []):
                seen[k].append(v)
    return {k: " | ".join(str(v) for v in vs) for k, vs in seen.items()}


def _comparable(key: str, value: str | None) -> str | None:
    """Python is compared by feature release (3.11.2 and 3.11.7 run the same locked wheels and
    give the same floating-point results); everything else exactly."""
    if key == "python" and value:
        return ".".join(value.split(".")[:2])
    return value


def _environment_mismatch(key: str, a: str | None, b: str | None) -> bool:
    """Whether two fingerprint entries disagree in a way that counts (see COMPARED_ENVIRONMENT)."""
    compared = key in COMPARED_ENVIRONMENT or key.startswith("packages.")
    return compared and _comparable(key, a) != _comparable(key, b)


def _environments(results_a: dict, results_b: dict, report: ParityReport) -> dict[str, list]:
    fa, fb = _fingerprint(results_a), _fingerprint(results_b)
    side_by_side = {}
    for k in sorted(set(fa) | set(fb)):
        side_by_side[k] = [fa.get(k), fb.get(k)]
        if _environment_mismatch(k, fa.get(k), fb.get(k)):
            report.mismatches.append(Mismatch("environment", "environment", f"{k} {fa.get(k)} vs {fb.get(k)}"))
    return side_by_side


def format_report(report: ParityReport, *, limit: int = 30) -> str:
    """The table the CLI prints: one line per submission, the fingerprints, the verdict."""
    rows = report.submissions
    name_w = max([len("student/lab"), *(len(f"{r['student']}/{r['lab']}") for r in rows)])

    def side(s: dict | None) -> str:
        return "-" if s is None else f"{s['status']} {s['score']:g}"

    lines = [f"A = {report.a}", f"B = {report.b}", "",
             f"{'student/lab':<{name_w}}  {'A':>16}  {'B':>16}  parity"]
    lines.append("-" * len(lines[-1]))
    for r in rows:
        verdict = "ok" if not r["mismatches"] else f"MISMATCH ({r['mismatches']})"
        lines.append(f"{r['student'] + '/' + r['lab']:<{name_w}}  {side(r['a']):>16}  {side(r['b']):>16}  {verdict}")
    lines += ["", "environment:"]
    key_w = max(len(k) for k in report.environment) if report.environment else 0
    for k, (va, vb) in report.environment.items():
        mark = "" if va == vb else "   <- differs" + ("" if _environment_mismatch(k, va, vb) else " (not compared)" if k != "python"
                                                     else " (patch level only: not compared)")
        lines.append(f"  {k:<{key_w}}  {str(va):<28}  {vb}{mark}")
    lines += [f"note: {n}" for n in report.notes[:limit]]
    lines.append("")
    if report.ok:
        lines.append(f"parity: OK: {len(rows)} submission(s), {report.tests_compared} tests and "
                     f"{report.values_compared} compared values agree (rtol {report.rtol:g}, atol {report.atol:g})")
    else:
        lines.append(f"parity: {len(report.mismatches)} MISMATCH(ES):")
        lines += [f"  {m.line()}" for m in report.mismatches[:limit]]
        if len(report.mismatches) > limit:
            lines.append(f"  ... and {len(report.mismatches) - limit} more (see the JSON report)")
    return "\n".join(lines)


def write_report(path: Path, report: ParityReport) -> Path:
    write_json(Path(path), report.to_json())
    return Path(path)
