"""A real browser on nbgrader's formgrader inside JupyterLab: a submission graded by the kit and
synced into the gradebook shows its autograded score.

JupyterLab (with nbgrader's server and lab extensions) runs on loopback on a free port in a copy of
the course; Debian's chromium, driven by Playwright, opens the Formgrader panel from JupyterLab's
own command. Screenshots land in ``test-artifacts/`` at the repository's top (ignored by git).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from autograder.gradebook import sync_gradebook

from conftest import REPO, copy_course
from test_gradebook import ANSWER_W, FACTOR_OF_TWO_GRADIENT, grade_course, gradebook, write_submission

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(),
                       reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/machine-setup installs it)"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyter_lab(course: Path, scratch: Path):
    """JupyterLab serving ``course`` on 127.0.0.1 with a fresh token; yields (base URL, token)."""
    port, token = free_port(), secrets.token_hex(16)
    settings = scratch / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    (scratch / "exchange").mkdir()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ["PATH"]]),
           "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "JUPYTER_CONFIG_DIR": str(scratch / "config")}
    log = scratch / "jupyter.log"
    command = [str(bin_dir / "jupyter"), "lab", "--allow-root", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={course}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={scratch / 'lab-settings'}",
               f"--LabApp.workspaces_dir={scratch / 'workspaces'}", f"--Exchange.root={scratch / 'exchange'}"]
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                request = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer on {base} within 180 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def synced_course(tmp_path_factory):
    """A course copy whose gradebook holds bohr's submission (factor-of-2 gradient: 32/36 autograded,
    one written answer to grade), graded by the kit and synced."""
    root = tmp_path_factory.mktemp("formgrader")
    course = copy_course(root / "course")
    write_submission(course, "bohr", answers={"compute_gradient": FACTOR_OF_TWO_GRADIENT},
                     written={"meaning_of_w": ANSWER_W})
    out = root / "out"
    results = grade_course(course, out).results
    assert results[0].score == 32
    sync = sync_gradebook("linreg", results=out, course_root=course)
    assert [s.student for s in sync.synced] == ["bohr"]
    with gradebook(course) as gb:
        notebook_id = gb.find_submission_notebook("linreg", "linreg", "bohr").id
    return course, root, notebook_id


def test_formgrader_in_jupyterlab_shows_the_autograded_score(synced_course):
    from playwright.sync_api import sync_playwright

    course, root, notebook_id = synced_course
    ARTIFACTS.mkdir(exist_ok=True)
    with jupyter_lab(course, root) as (base, token), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            # The token as a header authenticates the page and every request its scripts make.
            context = browser.new_context(viewport={"width": 1280, "height": 800},
                                          extra_http_headers={"Authorization": f"token {token}"})
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{base}/lab")
            page.wait_for_function("() => window.jupyterapp && "
                                   "window.jupyterapp.commands.hasCommand('nbgrader:open-formgrader')",
                                   timeout=180_000)
            page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
            panel = page.locator("iframe").first
            panel.wait_for()
            assert panel.get_attribute("src").endswith("/formgrader")
            frame = panel.element_handle().content_frame()
            frame.locator("text=Manage Assignments").first.wait_for()

            frame.goto(f"{base}/formgrader/manage_submissions/linreg")
            row = frame.locator("tr", has_text="bohr")
            row.wait_for()
            score = row.locator("td.score")
            score.wait_for()
            assert score.inner_text().strip() == "32 / 40"
            # The written answer waits for a grader; the timestamp is the one nbgrader collected.
            assert row.inner_text().split("\t")[1:4] == ["bohr", "2026-11-20 10:00:00 UTC", "needs manual grading"]
            page.screenshot(path=str(ARTIFACTS / "formgrader.png"))

            # The submission itself: the executed notebook, with the kit's score per test cell
            # (nbgrader shows an automatic score as the placeholder of the cell's score box).
            frame.goto(f"{base}/formgrader/submissions/{notebook_id}/")
            gradient = frame.locator("input.score#test_compute_gradient")
            frame.wait_for_function("() => document.querySelector('input.score#test_predict')"
                                    " && document.querySelector('input.score#test_predict').placeholder === '2'")
            assert gradient.get_attribute("placeholder") == "0"
            assert frame.locator("input.score#test_gradient_descent").get_attribute("placeholder") == "5"
            assert frame.locator("input.score#meaning_of_w").get_attribute("placeholder") in (None, "")
            comment = frame.locator("textarea#compute_gradient-comment").get_attribute("placeholder")
            assert "exactly 2 times the expected value" in comment
            gradient.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "formgrader-submission.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "formgrader.png").stat().st_size > 10_000
