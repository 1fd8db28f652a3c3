"""Names Lab 1's hidden suite records values under and its feedback hook reads them by: written
once here, so the two cannot drift apart. Run in the grader's process only."""

# The hidden test that runs the student's gradient_descent on the ten stars and records the run.
STARS_RUN_TEST = "test_gd_calls_compute_gradient_each_iteration"
FIT = "gradient_descent's (w, b) on the stars (alpha=0.1, 200 iterations)"
ITERATIONS = "convergence curve: iterations"
CURVE = "convergence curve: J_history at those iterations (expected: the reference's)"
# The two items of a gradient, in the notebook's words.
GRADIENT = ("dj_dw", "dj_db")
