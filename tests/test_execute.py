"""Kernels: forked or started, pre-warmed or not, each submission gets a fresh one."""

import nbformat
import pytest

from autograder.config import GradingConfig
from autograder.kernel import KernelPool, can_fork

pytestmark = pytest.mark.slow


def notebook(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def stdout(execution, index):
    return "".join(o.get("text", "") for o in execution.notebook.cells[index].outputs if o.output_type == "stream")


@pytest.mark.parametrize("fork", [True, False])
def test_no_state_passes_from_one_kernel_to_the_next(fork, tmp_path):
    config = GradingConfig(workers=1, cell_timeout=10, notebook_timeout=30, fork_kernels=fork)
    pool = KernelPool(config, warm=True, fork=fork)
    try:
        first = pool.take()
        first.wait_ready()
        pool.prepare_next()
        ran = first.run(notebook("import numpy, os\nnumpy.LEAK = 42\nos.environ['LEAK'] = '1'\n"
                                 "open('left-behind.txt', 'w').write('x')\nprint(os.getpid())"))
        first_pid = int(stdout(ran, 0))
        assert (first.server is not None) == (fork and can_fork(config))
        first.close()
        second = pool.take()
        ran = second.run(notebook("import numpy, os\nprint(hasattr(numpy, 'LEAK'), 'LEAK' in os.environ, "
                                  "os.path.exists('left-behind.txt'), os.getpid())"))
        leak, env, file, pid = stdout(ran, 0).split()
        assert (leak, env, file) == ("False", "False", "False")
        assert int(pid) != first_pid
        second.close()
    finally:
        pool.close()


def test_forked_kernel_is_interrupted_at_the_cell_limit():
    config = GradingConfig(workers=1, cell_timeout=2, notebook_timeout=20)
    pool = KernelPool(config, warm=True)
    try:
        session = pool.take()
        ran = session.run(notebook("while True:\n    pass", "print('after')"))
        assert [p.kind for p in ran.problems] == ["timeout"]
        assert stdout(ran, 1) == "after\n"
        assert ran.kernel_alive
        session.close()
        assert not session.kernel_alive()
    finally:
        pool.close()


def test_the_environment_is_minimal():
    config = GradingConfig(workers=1)
    pool = KernelPool(config, warm=True)
    try:
        session = pool.take()
        ran = session.run(notebook("import os\nprint(sorted(k for k in os.environ if 'AWS' in k or 'TOKEN' in k))"))
        assert stdout(ran, 0) == "[]\n"
        session.close()
    finally:
        pool.close()


def test_output_flood_is_cut_and_the_notebook_goes_on():
    config = GradingConfig(workers=1, max_output_mb=1, cell_timeout=20, notebook_timeout=40)
    pool = KernelPool(config, warm=True)
    try:
        session = pool.take()
        ran = session.run(notebook("for _ in range(30000):\n    print('x' * 100)", "print('still here')"))
        session.close()
    finally:
        pool.close()
    kinds = [p.kind for p in ran.problems]
    assert kinds == ["output_cut"]
    texts = [o.get("text", "") for o in ran.notebook.cells[0].outputs]
    assert sum(len(t) for t in texts) < 1.1 * 2**20
    assert texts[-1].startswith("[autograder: output cut here: the notebook printed more than 1 MB")
    assert ran.notebook.cells[1].outputs == []  # past the cap everything is dropped, the run goes on
