# Two commands: `make demo` (the main job) and `make test`. Each bootstraps what it needs:
# uv (pinned, from PyPI) into .tools/, then .venv/ from the lock file uv.lock.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: demo test lock release check-release audit setup image clean

setup: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	@touch $@

demo: $(VENV)/.synced
	$(VENV)/bin/autograder demo

test: $(VENV)/.synced
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The grading image for SageMaker Processing (and `autograder cloud grade --local`); needs Docker.
image: $(VENV)/.synced
	infra/build-image.sh

LABS := linreg polyreg cloud

release: $(VENV)/.synced
	for lab in $(LABS); do $(VENV)/bin/autograder release $$lab || exit 1; done

check-release: $(VENV)/.synced
	for lab in $(LABS); do $(VENV)/bin/autograder release $$lab --check || exit 1; done

# How strong each lab's hidden suite is (mutants, named mistakes, variants); long: every mutant is graded.
audit: $(VENV)/.synced
	for lab in $(LABS); do $(VENV)/bin/autograder audit $$lab || exit 1; done

# Re-resolve the lock after editing pyproject.toml dependencies.
lock: $(UV)
	$(UV) lock --python $(PYTHON)

clean:
	rm -rf $(VENV) .tools demo
