"""Names Lab 2's hidden suite records values under and its feedback hook reads them by: written
once here, so the two cannot drift apart. Run in the grader's process only."""

# The hidden test that runs the student's gradient_descent on the stars and records the run.
STARS_RUN_TEST = "test_gd_calls_compute_gradient_each_iteration"
RUN = "on the stars' standardized M3 features (alpha=0.1, 200 iterations)"
W = f"gradient_descent's w {RUN}"
B = f"gradient_descent's b {RUN}"
ITERATIONS = "convergence curve: iterations"
CURVE = "convergence curve: J_history at those iterations (expected: the reference's)"
