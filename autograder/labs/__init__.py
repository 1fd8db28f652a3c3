"""Lab content: one folder per lab, holding its hidden pytest suite and reference solution.

Nothing here is imported by the engine at import time; ``autograder.course`` finds a lab's
folder by name when that lab is asked for. Adding a lab adds a folder here, never engine code.
"""
