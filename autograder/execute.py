"""Stage 3 of the flow: execute a restored notebook in a fresh kernel session, and keep that
kernel alive for the judge.

The kernel itself (papermill's engine, the session and its pool, the fork server, the sandbox, the
bridge the judge calls through) is :mod:`autograder.kernel`; this module is the stage's door.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from .kernel import Execution, KernelSession


def execute_notebook(session: KernelSession, notebook: nbformat.NotebookNode, *, partial_path: Path | None = None,
                     parameters: dict | None = None) -> Execution:
    """Run a restored notebook in ``session``'s kernel; the kernel stays alive for the judge.

    Every cell has a time limit (the per-cell one, or what is left of the notebook's), errors do
    not stop the run, and cells past the notebook's deadline are skipped; each of these is a
    :class:`~autograder.kernel.CellProblem` of the result, not an exception.

    Args:
        partial_path: where the notebook, as far as it ran, is saved if the run fails.
        parameters: papermill parameters, injected after the cell tagged ``parameters``.

    Raises:
        GraderFault: the kernel did not become ready, or papermill could not run the notebook.
    """
    return session.run(notebook, partial_path=partial_path, parameters=parameters)
