"""The ``autograder`` command: parses arguments, calls the library, prints, sets the exit status.

Exit status: 0 when the command did its job (whatever the students scored); 1 when a check
failed (``release`` leaks or, with ``--check``, is stale; ``parity`` found a mismatch;
``validate`` a failing visible check; ``audit`` a weak or unfair hidden suite); 2 for a fault
of the input or the course (one line on stderr); 3 when the grader itself failed on some
submission (or ``audit`` candidate); 130 when interrupted by Ctrl-C, 143 by SIGTERM. Each status
but 0 and 130 is the ``exit_code`` of an exception class of ``errors.py`` (``CheckFailed``,
``AutograderError``, ``GraderFault``), read by ``_exit_status``; no command spells the number.

Defaults of the options are the library functions' own (``_default``), so each is written once;
a command's options are added when that command runs (``_Command``), so reading them imports only
its own module.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import inspect
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from . import __version__
from .errors import AutograderError, CheckFailed, GraderFault, ReleaseError, Stopped


def _progress(stream):
    """A progress bar on a terminal, one plain line per submission otherwise (logs, CI)."""
    started = time.monotonic()
    tty = stream.isatty()
    failures = 0

    def show(done: int, total: int, result) -> None:
        nonlocal failures
        failures += not result.graded
        elapsed = time.monotonic() - started
        eta = elapsed / done * (total - done) if done else 0.0
        counts = f"[{done}/{total}]" + (f" {failures} not graded" if failures else "")
        latest = f"{result.student}: {result.status} {result.score:g}/{result.max_score:g}"
        if tty:
            width = 24
            filled = int(width * done / total) if total else width
            bar = "#" * filled + "-" * (width - filled)
            stream.write(f"\r\033[K{bar} {counts}  eta {eta:.0f}s  {latest}" + ("\n" if done == total else ""))
        else:
            stream.write(f"{counts} {latest}  (elapsed {elapsed:.0f}s, eta {eta:.0f}s)\n")
        stream.flush()

    return show


def _print_grading(grading, *, about: dict[str, str] | None = None) -> None:
    from .report import score_table

    print(score_table(grading.results, grading.functions, about))
    print()
    print(f"graded {grading.graded}, reused {grading.reused} unchanged result(s), seed {grading.seed}, "
          f"{grading.seconds:.1f} s")
    ungraded = collections.Counter(str(r.status) for r in grading.results if not r.graded)
    if ungraded:  # a folder of empty student folders is thousands of "missing", said in one line
        print("not graded: " + ", ".join(f"{n} {status}" for status, n in sorted(ungraded.items()))
              + " (each student's reason is in the table and its result.json)")
    print(f"results:   {grading.out}/<student>/{grading.lab}/result.json")
    print(f"notebooks: {grading.out}/<student>/{grading.lab}/<notebook>.ipynb (executed)")
    print(f"grades:    {grading.grades_csv}")


def _exit_status(*failures: type[AutograderError] | None) -> int:
    """The command's exit status: 0 when nothing failed, else the highest ``exit_code`` of the
    error classes that describe what did (``None`` for what went well)."""
    return max((failure.exit_code for failure in failures if failure is not None), default=0)


def _grader_failures(grading) -> type[GraderFault] | None:
    """Name the submissions the grader failed on (stderr); GraderFault if there were any."""
    errors = grading.grader_errors
    if errors:
        names = ", ".join(r.student for r in errors)
        print(f"autograder: the grader failed on {len(errors)} submission(s): {names} "
              "(see grader_errors in their result.json)", file=sys.stderr)
        return GraderFault
    return None


def cmd_release(args) -> int:
    from .release import release_lab

    try:
        report = release_lab(args.lab, course_root=args.course, check=args.check)
    except ReleaseError as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        for problem in exc.problems[1:10]:
            print(f"  - {problem}", file=sys.stderr)
        return _exit_status(type(exc))
    if args.check:
        print(f"release/{report.lab} is current and leak-free ({', '.join(report.notebooks)})")
    else:
        state = "updated" if report.changed else "already current"
        print(f"release/{report.lab} {state}, leak check passed ({', '.join(report.notebooks)}): {report.path}")
    return 0


def cmd_grade(args) -> int:
    from .config import load_config
    from .course import find_course_root
    from .grade import grade_class
    from .report import write_class_grades

    root = args.course or find_course_root()
    config = load_config(root, workers=args.workers, **_limits(args))
    grading = grade_class(args.lab, submissions=args.submissions, out=args.out, student=args.student,
                          force=args.force, seed=args.seed, course_root=root, config=config,
                          on_progress=None if args.quiet else _progress(sys.stderr))
    write_class_grades(grading)
    _print_grading(grading)
    return _exit_status(_grader_failures(grading))


def cmd_demo(args) -> int:
    from .demo import demo_labs, run_demo

    labs = [args.lab] if args.lab else demo_labs(args.course)
    print(f"autograder demo: for each lab ({', '.join(labs)}): release it, build a demo class, grade it"
          + ("" if args.no_cloud else f"; then the {labs[0]} class again through the SageMaker Processing path, "
             "and parity") + ". Lab 1's class has a submission that never finishes, so the whole demo takes "
          "about four minutes.", file=sys.stderr)
    failures = []
    reports = {}
    for name in labs:
        print(f"grading the {name} demo class", file=sys.stderr)
        report = run_demo(lab_name=name, out=args.out / name, workers=args.workers, course_root=args.course,
                          on_progress=_progress(sys.stderr))
        state = "updated" if report.release.changed else "current"
        print(f"\n== {name} ==")
        print(f"release:     {report.release.path} ({state}, leak-free)")
        print(f"submissions: {report.submissions}")
        print()
        _print_grading(report.grading, about=report.about)
        failures.append(_grader_failures(report.grading))
        reports[name] = report
    if not args.no_cloud and reports:
        failures.append(_demo_cloud(next(iter(reports.values())), args))
    return _exit_status(*failures)


def _demo_cloud(report, args) -> type[CheckFailed] | None:
    """The first lab's demo class again, through the Processing path, with the same seed; parity
    (CheckFailed when it does not hold)."""
    from .demo import run_cloud_demo
    from .parity import format_report, write_report

    lab = report.grading.lab
    print(f"grading the {lab} demo class through the SageMaker Processing path (seed {report.grading.seed})",
          file=sys.stderr)
    cloud = run_cloud_demo(report, out=args.out / f"{lab}-processing" / "autograded", course_root=args.course,
                           on_step=lambda text: print(f"  {text}", file=sys.stderr, flush=True))
    print(f"\n== {lab}: local grading vs. the Processing path ==")
    print(f"mode:   {cloud.mode} ({cloud.why})")
    print("hosts:  " + "; ".join(f"{m['host']} graded {', '.join(m['students']) or 'nobody'}"
                                 for m in cloud.merged.manifests))
    print()
    print(format_report(cloud.parity))
    path = write_report(args.out / f"{lab}-processing" / "parity.json", cloud.parity)
    print(f"parity report: {path}")
    return None if cloud.parity.ok else CheckFailed


def cmd_validate(args) -> int:
    from .validate import validate_notebook

    report = validate_notebook(args.notebook, lab_name=args.lab, course_root=args.course)
    labels = {"passed": "ok", "failed": "FAILED", "not_attempted": "not attempted", "timeout": "TIMED OUT",
              "not_run": "NOT RUN"}
    print(f"{report.notebook.name}: {report.title}")
    width = max(len(c.function) for c in report.checks)
    for check in report.checks:
        detail = f"  {check.message}" if check.message else ""
        print(f"  {check.function:<{width}}  {labels[check.status]}{detail}")
    for problem in report.other_problems:
        print(f"  other: {problem}")
    for note in report.notes:
        print(f"  note: {note}")
    passing = report.passing
    print(f"{passing} of {len(report.checks)} parts pass their visible checks. "
          "These are sanity checks; the grade comes from hidden tests.")
    return _exit_status(None if report.passed else CheckFailed)


def cmd_bench(args) -> int:
    from .bench import format_figures, run_bench, write_figures

    figures = run_bench(submissions=args.submissions, workers=args.workers, lab_name=args.lab,
                        course_root=args.course, on_step=lambda text: print(f"bench: {text}", file=sys.stderr))
    print(format_figures(figures))
    if args.json:
        write_figures(args.json, figures)
        print(f"figures: {args.json}")
    return 0


def cmd_gradebook(args) -> int:
    from .gradebook import sync_gradebook

    sync = sync_gradebook(args.lab, results=args.results, course_root=args.course, student=args.student)
    state = "recorded now with nbgrader generate_assignment" if sync.registered else "already recorded"
    print(f"gradebook: {sync.db_url} (course {sync.course_id}); assignment {sync.lab}: {state}")
    print("cells: " + ", ".join(f"{name} {points:g}" + (" (by hand)" if kind == "manual" else "")
                                for name, kind, points in sync.cells))
    width = max([len(s.student) for s in sync.students] + [7])
    print(f"{'student':<{width}}  {'cells':>5}  {'autograded':>10}  {'by hand':>7}  {'total':>9}  to grade in formgrader")
    for s in sync.synced:
        auto_max = sum(points for _, kind, points in sync.cells if kind == "auto")
        hand_max = s.max_total - auto_max
        print(f"{s.student:<{width}}  {len(s.cells):>5}  {f'{s.auto_total:g}/{auto_max:g}':>10}  "
              f"{f'{s.manual_total:g}/{hand_max:g}':>7}  {f'{s.total:g}/{s.max_total:g}':>9}  "
              f"{', '.join(s.to_grade) or '-'}")
    for s in sync.skipped:
        print(f"{s.student:<{width}}  skipped: {s.reason}")
    print(f"synced {len(sync.synced)}, skipped {len(sync.skipped)}; manual grades are kept. "
          f"Review in the formgrader or run `nbgrader export`.")
    for warning in sync.warnings:
        print(f"autograder: warning: {warning}", file=sys.stderr)
    return 0


def cmd_labs(args) -> int:
    import json

    from .course import PART_KINDS, find_course_root, list_labs, load_lab

    root = args.course or find_course_root()
    labs = [load_lab(name, root) for name in list_labs(root)]
    if args.json:
        doc = []
        for lab in labs:
            by_kind = {kind: 0.0 for kind in PART_KINDS}
            for part in lab.functions:
                by_kind[lab.kind_of(part.name)] += part.points
            doc.append({"lab": lab.name, "title": lab.title, "notebook": lab.notebook,
                        "autograded_points": lab.max_score, "manual_points": lab.manual_points,
                        "points_by_kind": {**by_kind, "manual": lab.manual_points},
                        "parts": [{"name": f.name, "kind": lab.kind_of(f.name), "points": f.points}
                                  for f in lab.functions]})
        print(json.dumps(doc, indent=2))
        return 0
    for lab in labs:
        kinds: dict[str, list] = {kind: [] for kind in PART_KINDS}
        for part in lab.functions:
            kinds[lab.kind_of(part.name)].append(part)
        parts = "; ".join(f"{_KIND_WORDS[kind]} {sum(p.points for p in found):g}: {', '.join(p.name for p in found)}"
                          for kind, found in kinds.items() if found)
        print(f"{lab.name:10} {lab.title}  ({lab.max_score:g} autograded points + {lab.manual_points:g} by hand; "
              f"{parts})")
    return 0


_KIND_WORDS = {"function": "functions", "figure": "figures", "experiment": "experiments", "compliance": "compliance"}


def cmd_feedback(args) -> int:
    from .feedback import write_feedback

    report = write_feedback(args.lab, results=args.results, course_root=args.course, student=args.student)
    print(f"feedback: {len(report.pages)} page(s), {report.pictures} picture(s): "
          f"{args.results}/<student>/{report.lab}/feedback.html")
    for path in report.unreadable:
        print(f"autograder: unreadable result left out: {path}", file=sys.stderr)
    if report.problems:
        print(f"autograder: pictures failed for {len(report.problems)} page(s) (written without them): "
              + "; ".join(report.problems), file=sys.stderr)
    # Pictures that failed are the grader's fault; an unreadable result is a fault of the input.
    return _exit_status(GraderFault if report.problems else None, AutograderError if report.unreadable else None)


def cmd_export(args) -> int:
    from .exports import export_lab

    report = export_lab(args.lab, results=args.results, course_root=args.course, visibility=args.visibility)
    print(f"grades:     {report.grades_csv}")
    print(f"gradescope: {len(report.gradescope)} file(s): {args.results}/<student>/{report.lab}/gradescope.json")
    for path in report.unreadable:
        print(f"autograder: unreadable result left out: {path}", file=sys.stderr)
    return _exit_status(AutograderError if report.unreadable else None)


def cmd_summary(args) -> int:
    from .summary import summary_text, write_summary

    summary = write_summary(args.lab, results=args.results, course_root=args.course)
    print(summary_text(summary))
    print()
    print(f"figure: {summary.png}")
    return 0


def cmd_cloud_grade(args) -> int:
    from .cloud import cloud_grade
    from .config import load_config
    from .course import find_course_root

    root = args.course or find_course_root()
    # Resolved here exactly as `grade` resolves it, and shipped to the job; workers stay per host.
    config = load_config(root, **_limits(args))
    merged = cloud_grade(args.lab, submissions=args.submissions, out=args.out, bucket=args.bucket, role=args.role,
                         image=args.image, instances=args.instances, instance_type=args.instance_type,
                         max_runtime=args.max_runtime, seed=args.seed, local=args.local, workers=args.workers,
                         config=config, course_root=root, wait=not args.no_wait, resume=args.resume,
                         on_step=lambda text: print(f"cloud: {text}", file=sys.stderr, flush=True))
    if isinstance(merged, str):
        print(f"started processing job {merged}; results will be under its results prefix")
        return 0
    _print_grading(merged)
    hosts = (", ".join(f"{m['host']} ({len(m['students'])})" for m in merged.manifests)
             or "none: every student's result in OUT was current")
    print(f"hosts:     {hosts}")
    return _exit_status(_grader_failures(merged))


def cmd_parity(args) -> int:
    from .parity import compare, format_report, write_report

    report = compare(args.a, args.b, rtol=args.rtol, atol=args.atol)
    print(format_report(report))
    if args.json:
        write_report(args.json, report)
        print(f"report: {args.json}")
    return _exit_status(None if report.ok else CheckFailed)


def cmd_audit(args) -> int:
    from .audit import audit_lab, format_report, write_report

    report = audit_lab(args.lab, course_root=args.course, sample=args.sample, workers=args.workers, seed=args.seed,
                       on_progress=_progress(sys.stderr), scratch=args.keep)
    print(format_report(report))
    if args.json:
        write_report(args.json, report)
        print(f"report: {args.json}")
    if report.grader_faults:
        print(f"autograder: the grader failed on {len(report.grader_faults)} candidate(s) "
              "(listed in the report)", file=sys.stderr)
    return _exit_status(None if report.ok else CheckFailed, GraderFault if report.grader_faults else None)


def _default(function: Callable, name: str):
    """The default of ``function``'s parameter ``name``: an option's default is the library's own."""
    return inspect.signature(function).parameters[name].default


# The limits both `grade` and `cloud grade` take: GradingConfig fields, None meaning "not given".
LIMITS = {
    "cell_timeout": "seconds per notebook cell",
    "notebook_timeout": "seconds per notebook",
    "call_timeout": "seconds per call of a student function",
    "judge_timeout": "seconds of student code the hidden suite may wait for, per submission",
}


def _limit_options(p: argparse.ArgumentParser) -> None:
    from .config import ENV_PREFIX, GradingConfig

    defaults = {f.name: f.default for f in dataclasses.fields(GradingConfig)}
    for name, text in LIMITS.items():
        p.add_argument("--" + name.replace("_", "-"), type=float, default=None,
                       help=f"{text} (default: nbgrader_config.py's c.Autograder.{name} or "
                            f"{ENV_PREFIX}{name.upper()}, else {defaults[name]:g})")


def _limits(args) -> dict[str, float | None]:
    return {name: getattr(args, name) for name in LIMITS}


class _Command(argparse.ArgumentParser):
    """A command's parser whose options (``options(parser)``) are added only when that command is
    parsed or shows its help: reading defaults from a library function imports its module, and
    `autograder labs` should not pay for importing the cloud launcher."""

    def __init__(self, *args, options: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._options = options

    def _add_options(self) -> None:
        options, self._options = self._options, None
        if options is not None:
            options(self)

    def parse_known_args(self, args=None, namespace=None):
        self._add_options()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_options()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_options()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Release and grade first-principles ML labs.")
    parser.add_argument("--version", action="version", version=f"autograder {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Command)

    def course_option(p):
        p.add_argument("--course", type=Path, default=None,
                       help="course folder (default: the nearest folder with nbgrader_config.py and source/)")

    p = sub.add_parser("release", help="generate release/LAB from source/LAB with nbgrader, and leak-check it")
    p.add_argument("lab")
    p.add_argument("--check", action="store_true",
                   help="change nothing; fail if release/LAB is stale or leaks")
    course_option(p)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="grade a class: SUBMISSIONS/<student>/LAB/<notebook>.ipynb")
    p.add_argument("lab")
    p.add_argument("--submissions", type=Path, required=True, help="folder of student folders (nbgrader layout)")
    p.add_argument("--out", type=Path, required=True, help="where results, executed notebooks and grades.csv go")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: cores)")
    p.add_argument("--student", default=None, help="grade only this student")
    p.add_argument("--force", action="store_true", help="re-grade even where an up-to-date result exists")
    p.add_argument("--seed", type=int, default=None, help="seed of the hidden tests' inputs (default: fresh)")
    _limit_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    course_option(p)
    p.set_defaults(func=cmd_grade)

    def demo_options(p):
        from .demo import run_demo

        p.add_argument("--lab", default=None, help="only this lab (default: every lab with a demo class)")
        p.add_argument("--out", type=Path, default=_default(run_demo, "out"),
                       help="demo folder (default: ./%(default)s/<lab>)")
        p.add_argument("--workers", type=int, default=_default(run_demo, "workers"))
        p.add_argument("--no-cloud", action="store_true",
                       help="skip grading the first lab's class again through the Processing path (and parity)")
        course_option(p)

    p = sub.add_parser("demo", help="the main job: release, build a demo class, grade it, show the table",
                       options=demo_options)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("validate", help="run a notebook and its visible checks (for students; no hidden tests)")
    p.add_argument("notebook", type=Path)
    p.add_argument("--lab", default=None, help="the lab (default: recognised from the notebook's cells)")
    course_option(p)
    p.set_defaults(func=cmd_validate)

    def bench_options(p):
        from .bench import run_bench

        p.add_argument("--submissions", type=int, default=_default(run_bench, "submissions"),
                       help="size of the generated class (default %(default)s)")
        p.add_argument("--workers", type=int, default=_default(run_bench, "workers"),
                       help="the kit's workers (default: cores)")
        p.add_argument("--lab", default=_default(run_bench, "lab_name"), help="the lab (default %(default)s)")
        p.add_argument("--json", type=Path, default=None, help="also write the figures here")
        course_option(p)

    p = sub.add_parser("bench", help="throughput: the kit against nbgrader autograde and bare papermill",
                       options=bench_options)
    p.set_defaults(func=cmd_bench)

    def cloud_grade_options(p):
        from .cloud import LOCAL_IMAGE, cloud_grade

        p.add_argument("lab")
        p.add_argument("--submissions", required=True, help="folder of student folders, or s3://bucket/prefix")
        p.add_argument("--out", type=Path, required=True, help="where the merged results and grades.csv go")
        p.add_argument("--bucket", default=None, help="S3 bucket for inputs and results (required unless --local)")
        p.add_argument("--role", default=None, help="the job's execution role ARN (required unless --local)")
        p.add_argument("--image", default=None, help="grading image URI (required unless --local; "
                                                     f"--local default: {LOCAL_IMAGE})")
        p.add_argument("--instances", type=int, default=_default(cloud_grade, "instances"),
                       help="hosts; each grades every n-th student (default %(default)s)")
        p.add_argument("--instance-type", default=_default(cloud_grade, "instance_type"),
                       help="(default %(default)s; --local runs containers here)")
        p.add_argument("--max-runtime", type=int, default=_default(cloud_grade, "max_runtime"),
                       help="stopping condition in seconds (default %(default)s)")
        p.add_argument("--seed", type=int, default=None, help="seed of the hidden tests' inputs (default: fresh)")
        p.add_argument("--workers", type=int, default=_default(cloud_grade, "workers"),
                       help="submissions graded at once on each host (default: its cores)")
        _limit_options(p)
        p.add_argument("--local", action="store_true",
                       help="SageMaker local mode: real containers via docker-compose, S3 stand-in on loopback")
        p.add_argument("--no-wait", action="store_true", help="start the job and return its name")
        p.add_argument("--resume", action="store_true",
                       help="grade only the students whose result in OUT is missing or stale, with the seed "
                            "of OUT's earlier job (after a failed or interrupted job)")
        course_option(p)

    p = sub.add_parser("cloud", help="grade a class as a SageMaker Processing job (or its local mode)")
    cloud = p.add_subparsers(dest="cloud_command", required=True, metavar="ACTION", parser_class=_Command)
    p = cloud.add_parser("grade", help="upload, run the Processing job, download and merge the results",
                         options=cloud_grade_options)
    p.set_defaults(func=cmd_cloud_grade)

    def parity_options(p):
        from .parity import compare

        p.add_argument("a", type=Path, help="results folder A (e.g. local grading)")
        p.add_argument("b", type=Path, help="results folder B (e.g. cloud grading)")
        p.add_argument("--rtol", type=float, default=_default(compare, "rtol"),
                       help="relative tolerance for compared values (default %(default)g)")
        p.add_argument("--atol", type=float, default=_default(compare, "atol"),
                       help="absolute tolerance for compared values (default %(default)g)")
        p.add_argument("--json", type=Path, default=None, help="write the report here")

    p = sub.add_parser("parity", help="compare two result sets test by test (exit 1 on any mismatch)",
                       options=parity_options)
    p.set_defaults(func=cmd_parity)

    def audit_options(p):
        from .audit import audit_lab

        p.add_argument("lab")
        p.add_argument("--json", type=Path, default=None, help="also write the report here")
        p.add_argument("--sample", type=int, default=_default(audit_lab, "sample"),
                       help="grade only N mutants per function, drawn with the seed (default: all); "
                            "named mistakes and variants always run")
        p.add_argument("--workers", type=int, default=_default(audit_lab, "workers"),
                       help="notebooks graded at once (default: cores)")
        p.add_argument("--seed", type=int, default=_default(audit_lab, "seed"),
                       help="seed of the sample, the hidden tests' inputs and the equivalence check (default %(default)s)")
        p.add_argument("--keep", type=Path, default=_default(audit_lab, "scratch"), metavar="FOLDER",
                       help="keep the candidate class (submitted/) and its graded notebooks and results "
                            "(autograded/) here (default: a temporary folder, removed)")
        course_option(p)

    p = sub.add_parser("audit", help="how strong is LAB's hidden suite: mutants, named mistakes, variants "
                                     "(exit 1 when it is too weak)", options=audit_options)
    p.set_defaults(func=cmd_audit)

    def results_command(name: str, help: str, func, options=None):
        """A command that reads the results `grade --out` wrote: LAB --results OUT [--course DIR]."""
        def all_options(p):
            p.add_argument("lab")
            p.add_argument("--results", type=Path, required=True, help="the --out folder of `autograder grade`")
            course_option(p)
            if options is not None:
                options(p)

        p = sub.add_parser(name, help=help, options=all_options)
        p.set_defaults(func=func)

    def student_option(help: str):
        return lambda p: p.add_argument("--student", default=None, help=help)

    def export_options(p):
        from .exports import VISIBILITIES, export_lab

        p.add_argument("--visibility", default=_default(export_lab, "visibility"), choices=VISIBILITIES,
                       help="Gradescope visibility of the results (default: %(default)s)")

    results_command("feedback", "write a feedback page per student: OUT/<student>/LAB/feedback.html",
                    cmd_feedback, student_option("only this student's page"))
    results_command("export", "re-write OUT/grades.csv and a Gradescope results file per student", cmd_export,
                    export_options)
    results_command("summary", "the class view: score histogram and pass rate per function (PNG + text)",
                    cmd_summary)
    results_command("gradebook", "write results into the course's nbgrader gradebook (formgrader, export)",
                    cmd_gradebook, student_option("sync only this student"))

    p = sub.add_parser("labs", help="list the course's labs, their graded parts and points by kind")
    course_option(p)
    p.add_argument("--json", action="store_true", help="print the list as JSON: per lab its parts, kinds and points")
    p.set_defaults(func=cmd_labs)
    return parser


def _terminate(signum, frame) -> None:
    raise Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM stops a run as Ctrl-C does
    except ValueError:  # not the main thread (main() called from a thread): leave signals alone
        previous = None
    try:
        return args.func(args)
    except AutograderError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return _exit_status(type(exc))
    except KeyboardInterrupt as exc:
        stopped = exc if isinstance(exc, Stopped) else Stopped(signal.SIGINT)
        done = f"{stopped.finished} submission(s) graded in this run are kept" if stopped.finished is not None \
            else "finished results are kept"
        print(f"autograder: stopped ({signal.Signals(stopped.signum).name}); {done}, nothing half-written is "
              "left; run the same command again to resume", file=sys.stderr)
        return stopped.exit_code  # 130 for Ctrl-C, 143 for SIGTERM, as a shell reports them
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
