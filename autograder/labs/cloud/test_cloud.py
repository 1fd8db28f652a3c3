"""Hidden tests for Lab 3. The notebook ran with hidden papermill parameters (``parameters``
fixture); its recorded metrics are read from the executed notebook (``executed``), and
``run_training`` is also called directly with other arguments.

Points: run_training 6 (the notebook's ``test_run_training`` cell).
"""

import numpy as np

from autograder.suite import Mismatch, as_number, expect, expect_array, expect_number, graded

METRICS_CELL = "record_metrics"


def recorded(executed):
    """The JSON the read-only record_metrics cell displayed, or a clear mismatch."""
    cell = next((c for c in executed.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == METRICS_CELL), None)
    expect(cell is not None, "the record_metrics cell is missing from the executed notebook")
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if isinstance(data.get("application/json"), dict):
            return data["application/json"]
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    if error is not None:
        detail = f": {error.get('evalue')[:200]}" if error.get("evalue") else ""
        raise Mismatch(f"the record_metrics cell raised {error.get('ename')}{detail}; no metrics were recorded")
    raise Mismatch("the record_metrics cell recorded no metrics (did it run?)")


def _expect_run(label, got_w, got_b, got_cost, want):
    expect_number(f"{label}: final_cost", got_cost, want["final_cost"], rtol=1e-6)
    w = np.asarray(got_w, dtype=float) if isinstance(got_w, (list, tuple, np.ndarray)) else got_w
    expect_array(f"{label}: w", w, want["w"], rtol=1e-6, atol=1e-9)
    expect_number(f"{label}: b", got_b, want["b"], rtol=1e-6)


@graded("run_training", points=3)
def test_recorded_metrics_follow_the_hidden_parameters(executed, parameters, ref):
    record = recorded(executed)
    used = record.get("parameters", {})
    for name, value in parameters.items():
        expect(used.get(name) == value,
               f"the notebook ran with {name} = {used.get(name)!r} although it was launched with {value!r}: "
               "a cell after the parameters cell overrides it")
    metrics = record.get("metrics", {})
    want = ref.run_training(**parameters)
    _expect_run(f"the recorded metrics of the run launched with {parameters}", metrics.get("w"), metrics.get("b"),
                metrics.get("final_cost"), want)


@graded("run_training", points=3)
def test_run_training_follows_its_arguments(student, rng, ref):
    for _ in range(2):
        args = ref.hidden_parameters(rng)
        got = student.run_training(args["model"], args["learning_rate"], args["num_iters"], args["seed"])
        expect(isinstance(got, dict), f"run_training returned {type(got).__name__}; expected a dict of metrics")
        missing = {"final_cost", "w", "b", "J_history"} - set(got)
        expect(not missing, f"run_training's dict lacks {sorted(missing)}")
        label = (f"run_training({args['model']!r}, {args['learning_rate']}, {args['num_iters']}, {args['seed']})")
        want = ref.run_training(**args)
        _expect_run(label, got["w"], got["b"], got["final_cost"], want)
        history = got["J_history"]
        expect(np.ndim(history) == 1 and len(history) == args["num_iters"],
               f"{label}: J_history should have {args['num_iters']} entries")
        expect_number(f"{label}: final_cost is the last J_history entry", as_number("J_history[-1]", history[-1]),
                      want["final_cost"])
