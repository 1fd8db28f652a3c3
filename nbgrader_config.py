# Course configuration shared by nbgrader and the kit's engine (`autograder`).
# nbgrader reads the `c.CourseDirectory`/`c.ClearSolutions` sections; the engine reads
# `c.Autograder`. Precedence for the engine: this file < AUTOGRADER_* environment < command line.
c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

c.CourseDirectory.course_id = "stellar-ml"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# nbgrader's defaults, plus the kit's result.json: it holds the values the hidden tests expected,
# so `nbgrader generate_feedback` must never copy it to a student if results live in autograded/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "result.json"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading limits used by `autograder grade` (see autograder/config.py for every field).
c.Autograder.cell_timeout = 20
c.Autograder.notebook_timeout = 120
c.Autograder.call_timeout = 10
