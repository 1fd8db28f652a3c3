"""Random inputs for ``autograder audit``'s equivalence check of Lab 3: ``run_training``'s
arguments within its contract (any of the three models, a learning rate and a number of
iterations as the launcher chooses them, a seed), with short runs so the check stays quick.
"""

MODELS = ("M1", "M2", "M3")


def _run(rng):
    return (str(rng.choice(MODELS)), float(rng.choice([0.01, 0.02, 0.05, 0.1, 0.2, 0.3])),
            int(rng.integers(1, 120)), int(rng.integers(0, 10_000)))


INPUTS = {"run_training": _run}
