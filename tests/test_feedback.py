"""Feedback pages: what a student reads, parsed back from the HTML the command wrote.

The demo class for Lab 1 is graded once per session (``demo``); each test works on a copy of its
results folder so the pages never land in the shared one.
"""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from autograder.cli import main
from autograder.course import load_lab
from autograder.feedback import load_picture_hook, recorded
from autograder.judge import load_reference
from autograder.results import SubmissionResult

from conftest import grade_one

pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Students of the demo class whose gradient_descent returned on the stars: they get the
# convergence curve and the fitted line; dirac's raised NotImplementedError, fermi's never ended.
# The lab's two pictures, plus the student's own figure for each figure or experiment part that lost
# points (gauss: the one-rate plot; his missing convergence plot has none to show; hopper: the data plot).
PICTURES = {"ada": 2, "bohr": 2, "curie": 2, "euler": 2, "dirac": 0, "fermi": 2, "gauss": 3, "hopper": 3}


class Page(HTMLParser):
    """What a student sees: the text, the table of functions, failed messages, images, scripts."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self.messages: list[str] = []
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._message: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and "data-function" in attrs:
            self._row = attrs["data-function"]
            self.rows[self._row] = []
        elif tag == "td" and self._row:
            self._cell = []
        elif tag == "p" and attrs.get("class") == "message":
            self._message = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "p" and self._message is not None:
            self.messages.append("".join(self._message))
            self._message = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._message is not None:
            self._message.append(data)

    @property
    def images(self) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == "img"]

    @property
    def plain(self) -> str:
        return "".join(self.text)


@pytest.fixture(scope="module")
def pages(demo, course, tmp_path_factory):
    """The demo class's results copied, with ``autograder feedback`` run on them."""
    out = tmp_path_factory.mktemp("feedback") / "autograded"
    shutil.copytree(demo.grading.out, out)
    code = main(["feedback", "linreg", "--results", str(out), "--course", str(course)])
    assert code == 0
    return out


def _result(out: Path, student: str) -> dict:
    return json.loads((out / student / "linreg" / "result.json").read_text())


def _record(out: Path, student: str) -> SubmissionResult:
    return SubmissionResult.from_json(_result(out, student))


def _page(out: Path, student: str) -> Page:
    return Page((out / student / "linreg" / "feedback.html").read_text())


@pytest.mark.parametrize("student", sorted(PICTURES))
def test_page_shows_points_per_function_and_every_failed_message(pages, student):
    result, page = _result(pages, student), _page(pages, student)
    assert list(page.rows) == list(result["functions"])
    for name, fn in result["functions"].items():
        assert page.rows[name][1] == f"{fn['points']:g} / {fn['max_points']:g}"
    # Grouped under each part, in the table's order (the suite's own order within a part).
    order = {name: i for i, name in enumerate(result["functions"])}
    failed = sorted((t for t in result["tests"] if t["status"] != "passed"), key=lambda t: order[t["function"]])
    assert page.messages == [t["message"] for t in failed]
    assert f"{result['score']:g} of {result['max_score']:g} autograded points" in page.plain


def test_bohrs_page_says_what_went_wrong(pages):
    page = _page(pages, "bohr")
    assert page.rows["compute_gradient"][1] == "0 / 4"
    assert page.rows["gradient_descent"][1] == "5 / 5"
    assert len(page.messages) == 3
    assert all("(exactly 2 times the expected value)" in m for m in page.messages)
    assert "compute_gradient([2], [5], w=1, b=1) (one star, integers)[0] (dj_dw) returned -8; expected -4" \
        in page.messages[1]
    # The visible check that failed while the notebook ran is reported too.
    assert "cell 17 raised AssertionError: compute_gradient and compute_gradient_loop disagree" in page.plain


@pytest.mark.parametrize("student", sorted(PICTURES))
def test_pictures_are_inline_pngs_and_nothing_is_fetched(pages, student):
    page = _page(pages, student)
    assert len(page.images) == PICTURES[student]
    for img in page.images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        png = base64.b64decode(img["src"][len(prefix):], validate=True)
        assert png.startswith(PNG_SIGNATURE) and len(png) > 5000
        assert img["alt"]
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed")
        for key in ("href", "src"):
            assert key not in attrs or attrs[key].startswith("data:image/png;base64,")


def _figures(demo_out: Path, course: Path, student: str):
    lab = load_lab("linreg", course)
    hook = load_picture_hook(lab)
    return lab, hook.pictures(_record(demo_out, student), ref=load_reference(lab), notebook=None)


@pytest.mark.parametrize("student", ["ada", "bohr", "curie"])
def test_convergence_picture_draws_the_students_curve_and_the_reference(pages, course, student):
    lab, pictures = _figures(pages, course, student)
    curve = pictures[0].figure.axes[0]
    reference, yours = (line.get_ydata() for line in curve.get_lines())
    iterations = curve.get_lines()[1].get_xdata()
    ref = load_reference(lab)
    _, _, ref_history = ref.gradient_descent(ref.M, ref.L, 0.0, 0.0, 0.1, 200)
    np.testing.assert_allclose(reference, np.asarray(ref_history)[iterations.astype(int) - 1])
    recorded_curve = recorded(_record(pages, student), "test_gd_calls_compute_gradient_each_iteration",
                              "convergence curve: J_history at those iterations (expected: the reference's)")
    np.testing.assert_allclose(yours, recorded_curve["got"]["values"])
    ratio = np.asarray(yours) / np.asarray(reference)
    if student == "ada":
        np.testing.assert_allclose(yours, reference, rtol=1e-9)
    elif student == "curie":  # her 1/m cost doubles every recorded cost of the same run
        np.testing.assert_allclose(ratio, 2.0, rtol=1e-9)
    else:  # bohr's doubled gradient doubles each step: below the reference all the way
        assert np.all(ratio[1:] < 1.0)


def test_fitted_line_is_the_students_own(pages, course):
    lab, pictures = _figures(pages, course, "ada")
    ax = pictures[1].figure.axes[0]
    ref = load_reference(lab)
    w, b, _ = ref.gradient_descent(ref.M, ref.L, 0.0, 0.0, 0.1, 200)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), w * line.get_xdata() + b, rtol=1e-9)
    stars = ax.collections[0].get_offsets()
    np.testing.assert_allclose(stars, np.column_stack([ref.M, ref.L]))


def test_no_hidden_suite_line_or_reference_only_value_leaks(pages, course):
    lab = load_lab("linreg", course)
    hidden = []
    for path in (lab.suite, lab.reference, lab.content_dir / "feedback.py"):
        hidden += [line.strip() for line in path.read_text().splitlines() if len(line.strip()) >= 16]
    secrets = []
    for value in load_reference(lab).leak_values().values():
        secrets += [f"{value:.3f}", f"{value:.4g}", f"{value:.6g}", repr(value)]
    for student in PICTURES:
        raw = (pages / student / "linreg" / "feedback.html").read_text()
        text = _page(pages, student).plain
        for line in hidden:
            assert line not in text and line not in raw, f"{student}'s page contains the hidden line {line!r}"
        for secret in secrets:
            assert secret not in text, f"{student}'s page shows the reference-only value {secret}"
        assert "def test_" not in raw and "test_gd_" not in raw


def _forge(pages: Path, tmp_path: Path) -> Path:
    out = tmp_path / "autograded"
    shutil.copytree(pages / "bohr", out / "forged")
    path = out / "forged" / "linreg" / "result.json"
    result = json.loads(path.read_text())
    result["student"] = '<script>alert("student")</script>'
    failing = next(t for t in result["tests"] if t["status"] != "passed")
    failing["message"] = "returned <img src=x onerror=alert(1)> & more"
    result["execution"]["problems"][0]["evalue"] = "</li></ul><script>alert(2)</script>"
    result["notes"] = ["<a href='https://example.invalid'>click</a>"]
    path.write_text(json.dumps(result))
    return out


def test_student_controlled_strings_are_escaped(pages, course, tmp_path, capsys):
    out = _forge(pages, tmp_path)
    assert main(["feedback", "linreg", "--results", str(out), "--course", str(course)]) == 0
    raw = (out / "forged" / "linreg" / "feedback.html").read_text()
    page = Page(raw)
    assert not [t for t, _ in page.tags if t in ("script", "a")]
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    assert len(page.images) == 2
    assert '<script>alert("student")</script>' in page.plain
    assert "returned <img src=x onerror=alert(1)> & more" in page.messages
    assert "</li></ul><script>alert(2)</script>" in page.plain
    assert "&lt;script&gt;alert(&quot;student&quot;)&lt;/script&gt;" in raw


def test_damaged_recorded_values_give_a_page_without_pictures(pages, course, tmp_path):
    out = tmp_path / "autograded"
    shutil.copytree(pages / "ada", out / "ada")
    path = out / "ada" / "linreg" / "result.json"
    result = json.loads(path.read_text())
    for test in result["tests"]:
        for entry in test["values"]:
            if entry["label"].startswith(("convergence curve", "gradient_descent's (w, b)")):
                entry["got"] = {"shape": [3], "values": ["not a number", 1, 2]}
    path.write_text(json.dumps(result))
    assert main(["feedback", "linreg", "--results", str(out), "--course", str(course)]) == 0
    page = _page(out, "ada")
    assert page.images == []
    assert page.rows["gradient_descent"][1] == "5 / 5"


def test_a_lost_figure_is_shown_beside_what_was_expected(pages):
    text = (pages / "hopper" / "linreg" / "feedback.html").read_text()
    section = text[text.index('<section class="function" data-function="plot_data">'):]
    section = section[:section.index("</section>")]
    assert "your plot of the data has no x-axis label" in section
    assert section.count('<figure class="yours"><img') == 1 and "Your figure, as your cell showed it" in section
    assert 'class="yours"' not in text.replace(section, "")  # only the part that lost points shows it
    ada = (pages / "ada" / "linreg" / "feedback.html").read_text()
    assert 'class="yours"' not in ada


def test_one_student_only(pages, course, tmp_path, capsys):
    out = tmp_path / "autograded"
    shutil.copytree(pages, out)
    for student in PICTURES:
        (out / student / "linreg" / "feedback.html").unlink()
    assert main(["feedback", "linreg", "--results", str(out), "--course", str(course), "--student", "curie"]) == 0
    assert [p.parent.parent.name for p in out.glob("*/linreg/feedback.html")] == ["curie"]
    assert "feedback: 1 page(s), 2 picture(s)" in capsys.readouterr().out


def test_polyreg_page_draws_the_convergence_curve_and_the_fitted_surface(course, tmp_path):
    result = grade_one(course, tmp_path, "polyreg", {})
    assert result["score"] == result["max_score"]
    out = tmp_path / "out"
    assert main(["feedback", "polyreg", "--results", str(out), "--course", str(course)]) == 0
    page = Page((out / "one" / "polyreg" / "feedback.html").read_text())
    assert len(page.images) == 2 and page.messages == []
    lab = load_lab("polyreg", course)
    ref = load_reference(lab)
    convergence, fit = load_picture_hook(lab).pictures(SubmissionResult.from_json(result), ref=ref, notebook=None)
    reference, yours = (line.get_ydata() for line in convergence.figure.axes[0].get_lines())
    np.testing.assert_allclose(yours, reference, rtol=1e-9)
    # Along the main sequence: the student's model at each star equals the reference's fit after the same run.
    X_norm = ref.standardize(ref.build_features(ref.M, ref.T, "M3"))[0]
    w, b, _ = ref.gradient_descent(X_norm, ref.L, np.zeros(4), 0.0, 0.1, 200)
    at_stars = fit.figure.axes[1].get_lines()[0].get_ydata()
    np.testing.assert_allclose(at_stars, ref.predict(X_norm, w, b), rtol=1e-9)
