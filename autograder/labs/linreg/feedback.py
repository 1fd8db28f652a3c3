"""Pictures for Lab 1's feedback pages (the hook ``autograder.feedback`` calls).

Both come from what the hidden test ``test_gd_calls_compute_gradient_each_iteration`` recorded
when it ran the student's ``gradient_descent`` on the ten stars (alpha = 0.1, 200 iterations,
from w = b = 0): the student's convergence curve against the reference's on that same run, and
the student's fitted line against the stars. Nothing is drawn where the student's run returned
nothing (an error, a timeout, a wrong shape).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from autograder.course import load_sibling
from autograder.feedback import Picture, as_array, convergence_picture, recorded

labels = load_sibling(__file__, "labels.py")

TITLE = "Convergence on the stars ($\\alpha$ = 0.1, from w = b = 0)"


def fit_figure(M, L, w: float, b: float) -> Figure:
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(M, L, color="C0", zorder=3, label="stars")
    line = np.linspace(M.min() - 0.1, M.max() + 0.1, 100)
    ax.plot(line, w * line + b, color="C3", linewidth=2, label="your line after 200 iterations")
    ax.set_xlabel("mass $M$ [$M_\\odot$]")
    ax.set_ylabel("luminosity $L$ [$L_\\odot$]")
    ax.set_title("Your fitted line against the data")
    span = L.max() - L.min()
    ax.set_ylim(L.min() - 0.3 * span, L.max() + 0.3 * span)  # a wild line stays readable
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def pictures(result, *, ref, notebook=None) -> list[Picture]:
    convergence = convergence_picture(
        result, labels.STARS_RUN_TEST, labels.CURVE, labels.ITERATIONS, title=TITLE, function="gradient_descent",
        caption=(
            "The cost after each iteration of your gradient_descent on the ten stars (red), against the "
            "reference's on the same run (grey, dashed). Your gradient_descent steps with "
            "your own compute_gradient and records your own compute_cost, so a mistake in either shows here too."))
    found = [convergence] if convergence else []
    fit = recorded(result, labels.STARS_RUN_TEST, labels.FIT)
    wb = as_array(fit["got"]) if fit else None
    if wb is not None and wb.shape == (2,) and np.all(np.isfinite(wb)):
        found.append(Picture(
            fit_figure(np.asarray(ref.M, dtype=float), np.asarray(ref.L, dtype=float), float(wb[0]), float(wb[1])),
            "The straight line your gradient_descent returned after 200 iterations (alpha = 0.1, from w = b = 0), "
            "drawn over the ten stars.",
            "gradient_descent"))
    return found
