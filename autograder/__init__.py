"""Auto-graded course kit for first-principles machine learning.

The library core: release a lab (``autograder.release``), grade a class of submissions
(``autograder.grade``), report the results (``autograder.report``). ``autograder.cli`` is the
thin command line on top.
"""

__version__ = "0.1.0"
