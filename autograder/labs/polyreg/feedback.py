"""Pictures for Lab 2's feedback pages (the hook ``autograder.feedback`` calls).

Both come from what the hidden test ``test_gd_calls_compute_gradient_each_iteration`` recorded
when it ran the student's ``gradient_descent`` on the ten stars' standardized M3 features
(alpha = 0.1, 200 iterations, from zero): the student's convergence curve against the
reference's on that same run, and the student's fitted model L(M, T) against the stars, as a
surface and along the stars themselves. The features are standardized with the ten stars' own
mean and spread, exactly as the test's input was. Nothing is drawn where the student's run
returned nothing.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from autograder.course import load_sibling
from autograder.feedback import Picture, as_array, convergence_picture, recorded

labels = load_sibling(__file__, "labels.py")

TITLE = "Convergence on the stars' M3 features ($\\alpha$ = 0.1, from zero)"


def fit_figure(ref, w, b: float) -> Figure:
    M, T, L = (np.asarray(v, dtype=float) for v in (ref.M, ref.T, ref.L))
    _, mu, sigma = ref.standardize(ref.build_features(M, T, "M3"))

    def model(m, t):
        X = ref.build_features(np.ravel(m), np.ravel(t), "M3")
        return (((X - mu) / sigma) @ w + b).reshape(np.shape(m))

    fig = Figure(figsize=(10.5, 4.4), layout="constrained")
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    mg, tg = np.meshgrid(np.linspace(M.min(), M.max(), 30), np.linspace(T.min(), T.max(), 30))
    ax.plot_surface(mg, tg, model(mg, tg), cmap="viridis", alpha=0.55, linewidth=0)
    at_stars = model(M, T)
    for m, t, lo, hi in zip(M, T, at_stars, L):
        ax.plot([m, m], [t, t], [lo, hi], color="C3", linewidth=1)
    ax.scatter(M, T, L, color="C3", depthshade=False, s=25, label="stars")
    ax.set_xlabel("mass $M$ [$M_\\odot$]")
    ax.set_ylabel("temperature $T$ [K]")
    ax.set_zlabel("luminosity $L$")
    ax.set_title("Your model's surface L(M, T) and the stars")

    ax2 = fig.add_subplot(1, 2, 2)
    ax2.scatter(M, L, color="C0", zorder=3, label="stars")
    ax2.plot(M, at_stars, color="C3", marker="x", linewidth=1.5, label="your model at each star's (M, T)")
    ax2.set_xlabel("mass $M$ [$M_\\odot$]")
    ax2.set_ylabel("luminosity $L$ [$L_\\odot$]")
    ax2.set_title("Along the main sequence")
    ax2.legend()
    ax2.grid(alpha=0.3)
    return fig


def pictures(result, *, ref, notebook=None) -> list[Picture]:
    convergence = convergence_picture(
        result, labels.STARS_RUN_TEST, labels.CURVE, labels.ITERATIONS, title=TITLE, function="gradient_descent",
        caption=(
            "The cost after each iteration of your gradient_descent on the stars' standardized M3 features "
            "(red), against the reference's on the same run (grey, dashed). Your gradient_descent steps with "
            "your own compute_gradient and records your own compute_cost, so a mistake in either shows here too."))
    found = [convergence] if convergence else []
    w_entry, b_entry = recorded(result, labels.STARS_RUN_TEST, labels.W), recorded(result, labels.STARS_RUN_TEST, labels.B)
    w = as_array(w_entry["got"]) if w_entry else None
    b = as_array(b_entry["got"]) if b_entry else None
    if w is not None and b is not None and w.shape == (4,) and b.size == 1 and np.all(np.isfinite(w)) \
            and np.isfinite(b[0]):
        found.append(Picture(
            fit_figure(ref, w, float(b[0])),
            "The model your gradient_descent fitted after 200 iterations (alpha = 0.1, from zero), as a surface over "
            "mass and temperature with the ten stars (left; red lines join each star to the surface), and at each "
            "star's own mass and temperature (right).",
            "gradient_descent"))
    return found
