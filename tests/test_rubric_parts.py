"""Lab 2's plots and experiments graded through the real path: right-but-unusual work keeps every
point, and each wrong-but-plausible one loses exactly the points of the part that has it."""

import nbformat
import pytest

from autograder.course import load_lab
from autograder.demo import build_submission
from autograder.grade import grade_class

from conftest import FAST

pytestmark = pytest.mark.slow

# Two panels and fig.colorbar, a dict comprehension of fits with J as an array, object-oriented
# axes drawn in another order, a sweep over a fixed range with the fit marked by a point, and the
# new star predicted from the standardized features: all as the notebook asks, written otherwise.
UNUSUAL = {
    "plot_data": '''
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
points = axes[0].scatter(M, L, c=T, cmap="plasma")
axes[0].set_xlabel("mass $M$ [$M_\\\\odot$]")
axes[0].set_ylabel("luminosity $L$ [$L_\\\\odot$]")
fig.colorbar(points, ax=axes[0], label="temperature $T$ [K]")
axes[1].scatter(T, L)
axes[1].set_xlabel("temperature $T$ [K]")
axes[1].set_ylabel("luminosity $L$ [$L_\\\\odot$]")
plt.show()
''',
    "train_models": '''
def fit(model):
    Xn, mu, sigma = standardize(build_features(M, T, model))
    w, b, J = gradient_descent(Xn, L, np.zeros(Xn.shape[1]), 0, 0.4, 20000)
    return dict(w_norm=w, b_norm=b, J=np.array(J), mu=mu, sigma=sigma)
fits = {m: fit(m) for m in ("M1", "M2", "M3")}
for m in fits:
    print(m, fits[m]["J"][-1])
''',
    "plot_convergence": '''
fig, ax = plt.subplots()
for name in ["M3", "M1", "M2"]:
    ax.plot(range(len(fits[name]["J"])), fits[name]["J"], label=f"model {name}")
ax.set_yscale("log")
ax.set_xlabel("Iterations")
ax.set_ylabel("Loss J(w,b)")
ax.legend()
plt.show()
''',
    "interaction_sweep": '''
w_mt_fit = fits["M3"]["w_norm"][3]
X3n = (build_features(M, T, "M3") - fits["M3"]["mu"]) / fits["M3"]["sigma"]
w_mt = np.linspace(-30, 30, 100)
costs = np.array([compute_cost(X3n, L, np.r_[fits["M3"]["w_norm"][:3], v], fits["M3"]["b_norm"]) for v in w_mt])
plt.plot(w_mt, costs, label="cost")
plt.scatter([w_mt_fit], [compute_cost(X3n, L, fits["M3"]["w_norm"], fits["M3"]["b_norm"])], color="red")
plt.xlabel("w_MT")
plt.ylabel("J")
plt.show()
''',
    "predict_new_star": '''
L_new = {}
for model in fits:
    xs = (build_features(np.array([1.3]), np.array([6600.0]), model) - fits[model]["mu"]) / fits[model]["sigma"]
    L_new[model] = predict(xs, fits[model]["w_norm"], fits[model]["b_norm"])[0]
print(L_new)
''',
}

# student: (answers, the points it must lose, the message of the test that catches it)
CASES = {
    "unusual": (UNUSUAL, {}, None),
    "no_colorbar": ({"plot_data": "plt.scatter(M, L, c=T)\nplt.xlabel('M')\nplt.ylabel('L')\nplt.show()"},
                    {"plot_data": 1.0},
                    "your plot of the data has no colorbar for the temperature; add plt.colorbar(points, label=...)"),
    "uncoloured": ({"plot_data": "plt.scatter(M, L)\nplt.xlabel('mass')\nplt.ylabel('luminosity')\nplt.show()"},
                   {"plot_data": 2.0},
                   "your plot of the data: the points are not coloured by temperature; pass c=T to plt.scatter"),
    "no_legend": ({"plot_convergence": "for model, fit in fits.items():\n    plt.semilogy(fit['J'])\n"
                                       "plt.xlabel('iteration')\nplt.ylabel('cost')\nplt.show()"},
                  {"plot_convergence": 1.0},
                  "your convergence plot has no legend; label each series and call legend()"),
    "raw_sweep": ({"interaction_sweep": '''
fit = fits["M3"]
w_mt_fit = fit["w_norm"][3]
w_mt = np.linspace(w_mt_fit - 25, 25, 80)
X3 = build_features(M, T, "M3")
costs = []
for value in w_mt:
    w = fit["w_norm"].copy()
    w[3] = value
    costs.append(compute_cost(X3, L, w, fit["b_norm"]))   # the raw features, not the standardized ones
plt.plot(w_mt, costs)
plt.axvline(w_mt_fit)
plt.xlabel("interaction weight")
plt.ylabel("cost")
plt.show()
'''}, {"interaction_sweep": 1.0}, None),
}


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    lab = load_lab("polyreg", course)
    subs = tmp_path_factory.mktemp("rubric")
    for student, (answers, _, _) in CASES.items():
        folder = subs / student / "polyreg"
        folder.mkdir(parents=True)
        nbformat.write(build_submission(lab, answers), str(folder / "polyreg.ipynb"))
    out = tmp_path_factory.mktemp("rubric-out")
    result = grade_class("polyreg", submissions=subs, out=out, seed=3, course_root=course, config=FAST)
    return {r.student: r.to_json() for r in result.results}


@pytest.mark.parametrize("student", sorted(CASES))
def test_each_loses_exactly_its_parts_points(graded, student):
    _, loses, message = CASES[student]
    result = graded[student]
    lost = {name: f["max_points"] - f["points"] for name, f in result["functions"].items()
            if f["points"] != f["max_points"]}
    assert lost == loses, [(t["name"], t["message"]) for t in result["tests"] if t["status"] != "passed"]
    assert result["score"] == result["max_score"] - sum(loses.values())
    if message:
        assert message in [t["message"] for t in result["tests"] if t["status"] != "passed"]


def test_the_sweep_on_raw_features_is_told_what_was_expected(graded):
    failed = [t for t in graded["raw_sweep"]["tests"] if t["status"] != "passed"]
    assert [t["name"] for t in failed] == ["test_sweep_costs_are_m3_with_one_weight_varied"]
    assert failed[0]["message"].startswith("costs[0] (your compute_cost of M3 on its standardized features, with "
                                           "w_norm[3] = w_mt[0] = ")
