"""``autograder audit``: the mutant generator (each family on small functions, dedup, dropped
non-compiling mutants), the equivalence check, the labs' input generators and variants, the
report, and one sampled real audit per lab through the command line."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap

import numpy as np
import pytest

from autograder import audit
from autograder.audit import (AuditReport, FunctionAudit, MistakeCheck, MutantFinding, VariantCheck,
                              find_exposure, format_report, generate_mutants, mutant_diff)
from autograder.cli import main
from autograder.course import load_lab
from autograder.diagnose import Raised, compile_function, load_mistakes, load_variants, outcome
from autograder.judge import load_reference

LABS = ("linreg", "polyreg", "cloud")


def sources(text: str, name: str = "f") -> list[str]:
    """The mutants' function bodies, one normalized line each (for `in` checks)."""
    return [" ".join(m.source.split()) for m in generate_mutants(textwrap.dedent(text), name)]


def has(found: list[str], fragment: str) -> bool:
    return any(fragment in s for s in found)


# --- the generator, family by family -------------------------------------------------------------

@pytest.mark.parametrize("op, swaps", [("+", ("-", "*")), ("-", ("+",)), ("*", ("/", "+", "**")), ("/", ("*", "//")),
                                       ("**", ("*",)), ("//", ("/",)), ("@", ("*",))])
def test_arithmetic_operators_are_swapped(op, swaps):
    found = sources(f"def f(a, b):\n    return a {op} b\n")
    swapped = [s for s in found if s.startswith("def f(a, b): return a ") and s.endswith(" b")]
    assert swapped == [f"def f(a, b): return a {new} b" for new in swaps]
    aug = sources("def f(a, b):\n    s = 0\n    for i in a:\n        s += i\n    return s\n")
    assert has(aug, "s -= i") and has(aug, "s *= i")


def test_constants_change_and_divisions_and_factors_drop():
    found = sources("def f(s, m):\n    return s / (2 * m)\n")
    assert has(found, "return s / (1 * m)")      # 2 -> 1
    assert has(found, "return s / m")            # 2 * m -> m
    assert has(found, "def f(s, m): return s")   # the division dropped
    ones = sources("def f(x):\n    return x[0] + 1\n")
    assert has(ones, "x[1] + 1") and has(ones, "x[0] + 2") and has(ones, "x[0] + 0")


def test_compared_names_are_exchanged():
    found = sources("def f(model):\n    if model == 'A':\n        return 1\n    if model == 'B':\n        return 2\n")
    assert has(found, "if model == 'B': return 1") and has(found, "if model == 'A': return 2")


def test_range_and_slice_bounds_are_off_by_one():
    found = sources("def f(x, n):\n    s = 0\n    for i in range(n):\n        s += x[i]\n    return s\n")
    for fragment in ("range(n - 1)", "range(n + 1)", "range(1, n)"):
        assert has(found, fragment), fragment
    sliced = sources("def f(x, n):\n    return x[1:n]\n")
    for fragment in ("x[2:n]", "x[0:n]", "x[1:n - 1]", "x[1:n + 1]"):
        assert has(sliced, fragment), fragment
    assert has(sources("def f(x):\n    return x[:3]\n"), "x[1:3]")


def test_terms_and_the_bias_are_dropped():
    found = sources("def f(x, w, b):\n    return w * x + b\n")
    assert has(found, "return w * x ")       # the bias dropped (followed by the end of the line)
    assert "def f(x, w, b): return w * x" in found
    assert "def f(x, w, b): return b" in found


def test_call_arguments_are_swapped():
    found = sources("def f(a, b):\n    return np.dot(a, b)\n")
    assert "def f(a, b): return np.dot(b, a)" in found
    assert not has(sources("def f(a):\n    return np.dot(a, a)\n"), "np.dot(a, a) ")  # same argument twice


def test_returned_items_are_swapped_or_left_out():
    found = sources("def f(a, b):\n    return a, b\n")
    assert {"def f(a, b): return (b, a)", "def f(a, b): return a", "def f(a, b): return b"} <= set(found)
    dicts = sources("def f(a, b):\n    return {'x': a, 'y': b}\n")
    assert "def f(a, b): return {'x': b, 'y': a}" in dicts and "def f(a, b): return {'y': b}" in dicts


def test_axis_and_ddof_change_and_ddof_is_added():
    found = sources("def f(X):\n    return X.std(axis=0)\n")
    for fragment in ("X.std(axis=1)", "X.std(axis=None)", "X.std()", "X.std(axis=0, ddof=1)"):
        assert fragment in " ".join(found), fragment
    assert has(sources("def f(X):\n    return X.std(axis=0, ddof=1)\n"), "ddof=0")
    assert has(sources("def f(e):\n    return np.sum(e)\n"), "np.sum(e, axis=0)")


def test_signs_flip():
    found = sources("def f(a, b):\n    c = a - b\n    return -c\n")
    assert has(found, "c = b - a") and has(found, "c = -(a - b)") and has(found, "return c")


def test_an_update_is_recorded_before_it_happens():
    source = """
        def f(x, steps):
            h = []
            for _ in range(steps):
                g = x * 2
                x = x - g
                h.append(x)
            return x, h
    """
    found = sources(source)
    assert has(found, "for _ in range(steps): h.append(x) g = x * 2 x = x - g")
    assert has(found, "g = x * 2 h.append(x) x = x - g")


def test_an_initial_value_is_ignored():
    source = """
        def f(x, w_init, steps):
            w = float(w_init)
            for _ in range(steps):
                w = w - x
            return w
    """
    found = sources(source)
    assert has(found, "w = float(0.0)") and has(found, "w = float(np.zeros_like(w_init))")
    assert not has(found, "float(np.zeros_like(x))")  # x gives no loop variable its first value


def test_dtype_propagation_is_broken():
    found = sources("def f(x):\n    x = np.asarray(x, dtype=float)\n    return float(np.sum(x))\n")
    assert has(found, "x = np.asarray(x) ") and has(found, "return np.sum(x)")
    grid = sources("def f(a, b):\n    g = np.zeros((len(a), len(b)))\n    return g\n")
    assert has(grid, "g = np.zeros_like(np.outer(a, b))")
    descent = sources("""
        def f(d, w_init, steps):
            w = np.array(w_init, dtype=float)
            for _ in range(steps):
                w = w - 0.1 * d
            return w
    """)
    assert has(descent, "w = w_init.copy() for _ in range(steps): w = w - 0.1 * d")
    assert has(descent, "w = w_init.copy() for _ in range(steps): w -= 0.1 * d")
    assert has(descent, "w = np.array(w_init) for _ in range(steps): w -= 0.1 * d")
    assert has(descent, "w = w_init for _ in range(steps): w -= 0.1 * d")


def test_mutants_are_deduplicated_by_source():
    mutants = generate_mutants("def f(X):\n    return X.mean(axis=1)\n", "f")
    texts = [m.source for m in mutants]
    assert len(texts) == len(set(texts))
    # Both the constant family (1 -> 0) and the axis family (axis 1 -> 0) make this one: kept once,
    # with the first family's description.
    zero = [m for m in mutants if "X.mean(axis=0)" in m.source]
    assert len(zero) == 1 and "constant 1 -> 0" in zero[0].description


def test_non_compiling_and_unchanged_mutants_are_dropped():
    fn = audit._function_def("def f(a):\n    return float(*a)\n", "f")
    raw = [ast.unparse(tree) for family in audit.FAMILIES for _, tree in family(fn)]
    assert any("return *a" in text for text in raw)  # removing float() leaves a bare starred value
    kept = [m.source for m in generate_mutants("def f(a):\n    return float(*a)\n", "f")]
    assert not any("return *a" in text for text in kept)
    for text in kept:
        compile(text, "<m>", "exec")
    assert ast.unparse(fn) + "\n" not in kept


def test_ids_descriptions_and_diff():
    source = "def f(x, w, b):\n    return w * x + b\n"
    mutants = generate_mutants(source, "f")
    assert [m.id for m in mutants] == [f"m-f-{k:03d}" for k in range(1, len(mutants) + 1)]
    assert [m.id for m in generate_mutants(source, "f")] == [m.id for m in mutants]
    first = mutants[0]
    assert first.description == "line 2: operator `+` -> `-`: `w * x + b` -> `w * x - b`"
    assert mutant_diff(source, first) == ("--- reference f\n+++ m-f-001\n@@ -1,2 +1,2 @@\n def f(x, w, b):\n"
                                          "-    return w * x + b\n+    return w * x - b\n")


# --- the equivalence check -----------------------------------------------------------------------

def _draw(rng):
    return (rng.uniform(-3, 3, size=int(rng.integers(1, 6))),)


def test_an_equivalent_mutant_agrees_on_every_draw():
    reference = compile_function("def f(x):\n    return x * 2.0\n", "f", np)
    equivalent = compile_function("def f(x):\n    return x * 2.0 * 1\n", "f", np)
    exposure, draws = find_exposure(equivalent, reference, _draw, seed=3)
    assert exposure is None and draws == audit.EQUIVALENCE_DRAWS


def test_a_real_change_gets_an_exposing_input():
    reference = compile_function("def f(x):\n    return x * 2.0\n", "f", np)
    wrong = compile_function("def f(x):\n    return x * 2.0 + (x > 2.5)\n", "f", np)
    exposure, draws = find_exposure(wrong, reference, _draw, seed=3)
    assert exposure is not None and draws == exposure.draw + 1
    assert exposure.input.startswith("(array(") and "float64" in exposure.input
    assert exposure.reference.startswith("array(") and exposure.mutant != exposure.reference
    # Judged by value, as the contracts are: an integer result that truncates is exposed ...
    ints = compile_function("def f(x):\n    return (x * 2.0).astype(int)\n", "f", np)
    assert find_exposure(ints, reference, lambda rng: (np.arange(3.0) + 0.25,), seed=0)[0].mutant == (
        "array(3,) int64 [0, 2, 4]")
    # ... one that holds exactly the reference's values (w * x + b on integer inputs) agrees.
    assert find_exposure(ints, reference, lambda rng: (np.arange(3.0),), seed=0) == (None, audit.EQUIVALENCE_DRAWS)


def test_raising_and_changing_an_input_in_place_are_told_apart():
    reference = compile_function("def f(x):\n    return x.sum()\n", "f", np)
    raising = compile_function("def f(x):\n    if len(x) > 3:\n        raise KeyError(1)\n    return x.sum()\n",
                               "f", np)
    exposure, draws = find_exposure(raising, reference, _draw, seed=0)
    assert exposure.mutant == "raised KeyError" and exposure.reference.startswith("float64 ")
    assert draws == exposure.draw + 1 and exposure.input.startswith(("(array(4,)", "(array(5,)"))
    both_raise = compile_function("def f(x):\n    raise KeyError(2)\n", "f", np)
    assert find_exposure(both_raise, both_raise, _draw, seed=0) == (None, audit.EQUIVALENCE_DRAWS)
    in_place = compile_function("def f(x):\n    s = x.sum()\n    x -= 1\n    return s\n", "f", np)
    exposure, _ = find_exposure(in_place, reference, _draw, seed=0)
    assert exposure is not None and exposure.mutant.startswith("argument 1 changed in place")


def test_agree_compares_dicts_key_by_key():
    a = {"w": np.array([1.0, 2.0]), "h": [1.0, 0.5]}
    assert audit.agree(a, {"w": np.array([1.0, 2.0]), "h": [1.0, 0.5]})
    assert not audit.agree(a, {"w": np.array([1.0, 2.5]), "h": [1.0, 0.5]})
    assert not audit.agree(a, {"w": np.array([1.0, 2.0])})


# --- the labs' content ---------------------------------------------------------------------------

# The only raises a function's contract calls for (an unknown model name).
EXPECTED_RAISES = {("polyreg", "build_features"): "ValueError"}


@pytest.mark.parametrize("lab_name", LABS)
def test_every_graded_function_has_an_input_generator_that_the_reference_accepts(course, lab_name):
    lab = load_lab(lab_name, course)
    ref = load_reference(lab)
    inputs = audit.load_inputs(lab)
    assert set(inputs) == {f.name for f in lab.coded}
    for function, draw in inputs.items():
        rng = np.random.default_rng(0)
        kinds, raised = set(), set()
        for _ in range(30 if lab_name == "cloud" else 60):
            args = draw(rng)
            assert isinstance(args, tuple)
            kinds |= {a.dtype.kind for a in args if isinstance(a, np.ndarray)}
            got = outcome(getattr(ref, function), args)
            if isinstance(got, Raised):
                raised.add(got.ename)
        expected = EXPECTED_RAISES.get((lab_name, function))
        assert raised == ({expected} if expected else set()), (function, raised)
        if lab_name != "cloud":
            assert {"i", "f"} <= kinds, f"{function}: the contract allows integer and float arrays, got {kinds}"


@pytest.mark.parametrize("lab_name", LABS)
def test_variants_cover_every_function_and_keep_its_contract(course, lab_name):
    lab = load_lab(lab_name, course)
    ref = load_reference(lab)
    variants = load_variants(lab)
    for graded in lab.coded:
        mine = [v for v in variants if v.function == graded.name]
        assert len(mine) >= 2, graded.name
        assert len({v.name for v in mine}) == len(mine)
        reference = ast.unparse(audit._function_def(textwrap.dedent(inspect.getsource(getattr(ref, graded.name))),
                                                    graded.name))
        for variant in mine:
            assert ast.unparse(audit._function_def(variant.source, graded.name)) != reference
    loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp)
    vectorized = {"linreg": ("compute_gradient",), "polyreg": ("predict", "compute_cost", "compute_gradient")}
    for variant in variants:
        tree = audit._function_def(variant.source, variant.function)
        looped = any(isinstance(n, loops) for n in ast.walk(tree))
        if (lab_name, variant.function) == ("linreg", "compute_gradient_loop"):
            assert looped, variant.name
        if variant.function in vectorized.get(lab_name, ()):
            assert not looped, variant.name


def test_min_mutation_score_defaults_and_is_checked(tmp_path):
    lab = load_lab("linreg")
    assert audit.min_mutation_score(lab) == audit.DEFAULT_MIN_SCORE == 0.95
    content = tmp_path / "labs" / "linreg"
    content.mkdir(parents=True)
    (content / "lab.toml").write_text("min_mutation_score = 0.8\n")
    from dataclasses import replace
    assert audit.min_mutation_score(replace(lab, content_dir=content)) == 0.8
    (content / "lab.toml").write_text("min_mutation_score = 'high'\n")
    with pytest.raises(audit.CourseError, match="min_mutation_score in lab.toml must be a number from 0 to 1"):
        audit.min_mutation_score(replace(lab, content_dir=content))


def test_helpers_the_notebook_lacks_come_with_the_candidate():
    lab = load_lab("cloud")
    ref = load_reference(lab)
    from autograder.demo import build_submission
    defined = audit._notebook_names(build_submission(lab, {}))
    assert {"build_features", "standardize", "M", "T", "L", "np"} <= defined
    helpers = audit.helper_sources(ref, "run_training", defined)
    assert [audit._function_def(h, "_cost").name for h in helpers] == ["_cost"]
    assert audit.helper_sources(load_reference(load_lab("linreg")), "gradient_descent",
                                audit._notebook_names(build_submission(load_lab("linreg"), {}))) == []


# --- the report ----------------------------------------------------------------------------------

def _report(*, variant_ok=True, named=True, survivors=0) -> AuditReport:
    found = [MutantFinding(f"m-f-00{k + 2}", "line 2: constant 1 -> 2", "--- a\n+++ b\n",
                           audit.Exposure("(array(2,) float64 [1, 2])", "3", "4", 0), 1) for k in range(survivors)]
    same = MutantFinding("m-f-009", "line 2: float() conversion removed", "--- a\n+++ b\n", None, 200)
    f = FunctionAudit(function="f", generated=11, total=30, killed=10 - survivors, survived=found,
                      equivalent=[same], min_score=0.95,
                      mistakes=[MistakeCheck("one_over_m", True, named, "f(x) returned 2; expected 1")],
                      variants=[VariantCheck("loop", variant_ok, 4.0 if variant_ok else 2.0, 4.0,
                                             "" if variant_ok else "f returned 3")])
    return AuditReport(lab="lab", seed=7, functions={"f": f}, sample=11, candidates=13, seconds=12.0)


def test_score_and_verdict():
    good = _report()
    assert good.functions["f"].score == 1.0 and good.ok and good.functions["f"].problems == []
    weak = _report(survivors=2)
    assert weak.functions["f"].score == pytest.approx(0.8) and not weak.ok
    assert weak.functions["f"].problems == ["mutation score 0.800 is below 0.95"]
    assert _report(named=False).functions["f"].problems == ["named mistake one_over_m was caught but not named"]
    assert _report(variant_ok=False).functions["f"].problems == ["variant loop was wrongly penalized (2/4)"]
    same = good.functions["f"].equivalent[0]
    nothing = FunctionAudit("g", generated=2, total=2, killed=0, survived=[], equivalent=[same, same], min_score=0.95)
    assert nothing.score is None and nothing.ok


def test_json_has_the_stable_keys():
    doc = _report(survivors=1, variant_ok=False).to_json()
    assert list(doc)[:2] == ["lab", "seed"] and doc["ok"] is False
    f = doc["functions"]["f"]
    assert {"generated", "killed", "survived", "equivalent", "score", "min_score", "mistakes", "variants"} <= set(f)
    assert f["generated"] == 11 and f["killed"] == 9 and f["score"] == 0.9 and f["min_score"] == 0.95
    assert f["survived"][0]["exposing_input"] == {"input": "(array(2,) float64 [1, 2])", "reference": "3",
                                                  "mutant": "4", "draw": 0}
    assert f["equivalent"][0]["exposing_input"] is None and f["equivalent"][0]["draws"] == 200
    assert f["mistakes"] == [{"name": "one_over_m", "caught": True, "named": True,
                              "message": "f(x) returned 2; expected 1"}]
    assert f["variants"][0]["full_marks"] is False
    json.dumps(doc, allow_nan=False)


def test_format_report_lists_what_needs_looking_at():
    text = format_report(_report(survivors=2, named=False, variant_ok=False))
    row = next(line for line in text.splitlines() if line.startswith("f "))
    assert row.split() == ["f", "11/30", "8", "2", "1", "0.800", "0.95", "0/1", "0/1"]
    assert "m-f-002: line 2: constant 1 -> 2" in text and "exposed by draw 0: f(array(2,) float64 [1, 2])" in text
    assert "likely equivalent (1):" in text and "agreed with the reference on 200 random inputs" in text
    assert "f one_over_m: caught but not named" in text
    assert "variants wrongly penalized:\n  f loop: 2/4: f returned 3" in text
    assert text.splitlines()[-1].startswith("audit: FAILED: f: mutation score 0.800 is below 0.95")
    assert format_report(_report()).splitlines()[-1] == "audit: OK"


# --- the command line: bad input -----------------------------------------------------------------

def test_unknown_lab_is_exit_2(course, capsys):
    assert main(["audit", "nosuch", "--course", str(course)]) == 2
    assert capsys.readouterr().err == ("autograder: error: unknown lab 'nosuch' "
                                       "(labs in this course: linreg, polyreg, cloud)\n")


def test_sample_below_one_is_exit_2(course, capsys):
    assert main(["audit", "cloud", "--sample", "0", "--course", str(course)]) == 2
    assert capsys.readouterr().err == "autograder: error: --sample must be at least 1 (mutants per function), not 0\n"


def test_bad_worker_count_is_exit_2_before_anything_is_graded(course, capsys):
    assert main(["audit", "cloud", "--workers", "0", "--course", str(course)]) == 2
    assert capsys.readouterr().err == "autograder: error: workers must be at least 1, got 0\n"


def test_scratch_is_kept_when_given_and_removed_otherwise(tmp_path):
    with audit._workspace(tmp_path / "kept") as folder:
        (folder / "x").write_text("1")
    assert (tmp_path / "kept" / "x").read_text() == "1"
    with pytest.raises(KeyboardInterrupt):
        with audit._workspace(None) as folder:
            (folder / "x").write_text("1")
            raise KeyboardInterrupt
    assert not folder.exists()


def test_keep_refuses_a_folder_an_audit_did_not_make(course, tmp_path, capsys):
    """--keep replaces the folder's submitted/ and autograded/: pointed by mistake at a course's
    own folder, it must touch nothing."""
    mine = tmp_path / "course-like"
    (mine / "autograded" / "alice").mkdir(parents=True)
    assert main(["audit", "cloud", "--keep", str(mine), "--course", str(course)]) == 2
    assert capsys.readouterr().err == (f"autograder: error: --keep {mine}: the folder exists and was not made by "
                                       "an audit; give a new or empty folder\n")
    assert [p.name for p in mine.rglob("*")] == ["autograded", "alice"]
    (tmp_path / "file").write_text("x")
    assert main(["audit", "cloud", "--keep", str(tmp_path / "file"), "--course", str(course)]) == 2
    assert "not a folder" in capsys.readouterr().err
    # A folder an earlier audit kept is used again.
    with audit._workspace(tmp_path / "again"):
        pass
    with audit._workspace(tmp_path / "again") as folder:
        assert folder == tmp_path / "again"


def test_defaults_come_from_the_library(capsys):
    from autograder.cli import build_parser

    args = build_parser().parse_args(["audit", "cloud"])
    assert (args.sample, args.workers, args.seed) == (None, None, audit.DEFAULT_SEED)
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    assert f"(default {audit.DEFAULT_SEED})" in " ".join(capsys.readouterr().out.split())


# --- one sampled real audit per lab --------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("lab_name", LABS)
def test_sampled_audit(course, sampled_audit, lab_name):
    run = sampled_audit(lab_name)  # `autograder audit LAB --sample 1 --workers 2 --json ... --keep ...`
    status, doc = run.status, run.report
    lab = load_lab(lab_name, course)
    assert doc["lab"] == lab_name and doc["seed"] == audit.DEFAULT_SEED
    assert list(doc["functions"]) == [f.name for f in lab.coded]
    mistakes = load_mistakes(lab)
    variants = load_variants(lab)
    assert doc["candidates"] == len(lab.coded) + len(mistakes) + len(variants)
    for name, f in doc["functions"].items():
        assert f["generated"] == 1 and f["total"] > 1
        assert f["killed"] + len(f["survived"]) + len(f["equivalent"]) == 1
        for found in f["survived"]:
            assert found["diff"].startswith(f"--- reference {name}\n+++ m-{name}-")
            assert found["exposing_input"] is not None, found
    assert "[1/" in run.stderr and f"audit of {lab_name}:" in run.stdout  # the progress display, then the table
    # --keep: every candidate's graded notebook and result stay, one student each.
    assert len(run.results(lab_name)) == doc["candidates"]
    assert (run.kept / "submitted").is_dir() and (run.kept / ".autograder-audit").is_file()
    # The contract: every named mistake is caught and named, every variant keeps full marks.
    got_mistakes = {(name, m["name"]): (m["caught"], m["named"]) for name, f in doc["functions"].items()
                    for m in f["mistakes"]}
    assert got_mistakes == {(m.function, m.name): (True, True) for m in mistakes}, got_mistakes
    penalized = [(name, v["name"], v["message"]) for name, f in doc["functions"].items() for v in f["variants"]
                 if not v["full_marks"]]
    assert penalized == []
    assert sum(len(f["variants"]) for f in doc["functions"].values()) == len(variants)
    # Exit 1 only for a score below the minimum (a sample of one mutant per function).
    scores_ok = all(f["score"] is None or f["score"] >= f["min_score"] for f in doc["functions"].values())
    assert status == (0 if scores_ok else 1) and doc["ok"] == scores_ok


@pytest.mark.slow
def test_a_candidate_that_crashes_the_batch_is_reported_and_the_rest_graded(course, tmp_path, monkeypatch):
    """``grade_class`` stops a batch when writing a result fails (a grader bug, such as a value
    JSON cannot hold); the audit records that candidate as a grader fault and grades the rest."""
    import autograder.grade as grade
    from autograder.config import load_config
    from autograder.results import result_dir

    lab = load_lab("cloud", course)
    variant = load_variants(lab)[0]
    candidates = [audit._Candidate(audit.VARIANT, "run_training", name, variant.source) for name in ("a", "b")]
    real = grade.record_submission

    def record(out, result, notebook=None):
        if result.student == "v-run_training-a" and notebook is not None:
            real(out, result, notebook)  # the executed notebook is written, then the result fails
            (result_dir(out, result.student, result.lab) / "result.json").unlink()
            raise ValueError("Out of range float values are not JSON compliant: inf")
        return real(out, result, notebook)

    monkeypatch.setattr(grade, "record_submission", record)
    results, crashed = audit._grade_candidates(lab, candidates, folder=tmp_path, seed=1, on_progress=None,
                                               config=load_config(course, workers=1))
    assert crashed == {"v-run_training-a": "grading crashed: ValueError: Out of range float values are not JSON "
                                           "compliant: inf"}
    assert list(results) == ["v-run_training-b"] and results["v-run_training-b"].points("run_training") == 6
