"""``autograder audit``: how strong is a lab's hidden suite?

Three kinds of candidate answers go through the real grading path (``grade.grade_class``), each
one the lab's release notebook with the candidate in one graded function's answer cell and the
solutions everywhere else (``demo.build_submission``):

- **mutants** of the reference implementation, made from its syntax tree by small changes of the
  kinds students make (an operator, a constant, a bound off by one, a dropped term, swapped
  arguments or returned items, an axis, a sign, a value recorded too early, an ignored input, a
  lost conversion to float). The suite should *kill* each one: take points for that function.
- the lab's **named mistakes** (``mistakes.py``): each must be caught (lose points) and named (a
  failed test of its function carries its diagnosis).
- the lab's **equivalent variants** (``variants.py``): each must keep full marks.

A mutant that keeps full marks is then run here, in the grader's process (it comes from the
reference, trusted code), on many random inputs of the function's contract drawn by the lab's
``inputs.py`` (``INPUTS = {function: draw(rng) -> args}``). If it agrees with the reference on
every draw it is *likely equivalent* and left out of the score; otherwise it *survived*, and the
first input that tells the two apart is reported. The mutation score of a function is
``killed / (generated - likely equivalent)``; the lab's ``lab.toml`` may set the least it accepts
(``min_mutation_score``, default 0.95).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import difflib
import inspect
import logging
import numbers
import random
import shutil
import tempfile
import textwrap
import time
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import nbformat
import numpy as np

from .config import load_config
from .course import Lab, load_content_module, load_lab
from .errors import AutograderError, ConfigError, CourseError

log = logging.getLogger(__name__)

DEFAULT_SEED = 20240617
DEFAULT_MIN_SCORE = 0.95
EQUIVALENCE_DRAWS = 200
EQUIVALENCE_BUDGET = 60.0  # seconds of draws per mutant before the check gives up deciding
INPUTS_FILE = "inputs.py"

# Candidate folders: one student per candidate, named for what it is.
MUTANT, MISTAKE, VARIANT = "m", "x", "v"


# --- mutants -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutant:
    """One small change of a reference function.

    Attributes:
        id: stable within a run of the generator on the same source (``m-<function>-007``).
        function: the graded function it is a mutant of.
        description: the change, in one line (where, what, before -> after).
        source: the mutated function's definition.
    """

    id: str
    function: str
    description: str
    source: str


_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.FloorDiv: "//",
            ast.MatMult: "@", ast.Mod: "%"}
# The operators each one is swapped for: what a slip of the hand or of the formula gives.
_SWAPS = {ast.Add: (ast.Sub, ast.Mult), ast.Sub: (ast.Add,), ast.Mult: (ast.Div, ast.Add, ast.Pow),
          ast.Div: (ast.Mult, ast.FloorDiv), ast.Pow: (ast.Mult,), ast.FloorDiv: (ast.Div,),
          ast.MatMult: (ast.Mult,)}
_REDUCTIONS = {"sum", "mean", "std", "var", "max", "min", "median", "average", "prod", "nansum", "nanmean"}
_SPREADS = {"std", "var"}
_CONVERTERS = {"asarray", "array", "asfarray", "asanyarray"}
_PREALLOCATORS = {"zeros", "empty", "ones", "full"}
_RECORDERS = {"append", "extend", "insert"}


def _short(node: ast.AST | str, width: int = 60) -> str:
    text = node if isinstance(node, str) else ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _line(node: ast.AST, fn: ast.FunctionDef) -> int:
    return getattr(node, "lineno", fn.lineno) - fn.lineno + 1


def _replace(root: ast.AST, old: ast.AST, new: ast.AST) -> None:
    """Put ``new`` where ``old`` is in ``root`` (same parent, same field)."""
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return
    raise ValueError("node not found")


def _rewrite(fn: ast.FunctionDef, index: int, make: Callable[[ast.AST], ast.AST]) -> tuple[ast.FunctionDef, ast.AST]:
    """A copy of ``fn`` with its ``index``-th node (in ``ast.walk`` order) replaced by
    ``make(that node's copy)``; returns the copy and the replacement."""
    new = copy.deepcopy(fn)
    node = list(ast.walk(new))[index]
    replacement = make(node)
    if replacement is not node:
        _replace(new, node, replacement)
    return new, replacement


def _parent(root: ast.AST, node: ast.AST) -> ast.AST | None:
    for parent in ast.walk(root):
        for child in ast.iter_child_nodes(parent):
            if child is node:
                return parent
    return None


def _nodes(fn: ast.FunctionDef, kinds) -> Iterator[tuple[int, Any]]:
    for i, node in enumerate(ast.walk(fn)):
        if isinstance(node, kinds):
            yield i, node


def _call_name(node: ast.AST) -> str | None:
    """``f`` for ``f(...)``, ``np.f(...)`` and ``x.f(...)``."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None


def _plus(node: ast.expr, k: int) -> ast.expr:
    """``node + k`` (folded when ``node`` is an integer constant)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ast.Constant(node.value + k)
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) is int):
        return ast.Constant(-node.operand.value + k)
    return ast.BinOp(copy.deepcopy(node), ast.Add() if k > 0 else ast.Sub(), ast.Constant(abs(k)))


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def _arithmetic(fn):
    """Arithmetic operators swapped: ``+ - * / ** // @``."""
    for i, node in _nodes(fn, (ast.BinOp, ast.AugAssign)):
        for new_op in _SWAPS.get(type(node.op), ()):
            def make(n, new_op=new_op):
                n = copy.copy(n)
                n.op = new_op()
                return n
            mutated, after = _rewrite(fn, i, make)
            old, new = _SYMBOLS[type(node.op)], _SYMBOLS[new_op]
            where = "augmented assignment" if isinstance(node, ast.AugAssign) else "operator"
            yield f"line {_line(node, fn)}: {where} `{old}` -> `{new}`: `{_short(node)}` -> `{_short(after)}`", mutated


def _new_numbers(value):
    if value == 0:
        return [type(value)(1)]
    if value == 1:
        return [type(value)(2), type(value)(0)]
    if value == 2:
        return [type(value)(1)]
    return [value + 1] if isinstance(value, int) else [value * 2]


def _constants(fn):
    """Numeric constants changed (0 -> 1, 1 -> 2 or 0, 2 -> 1, others moved), a constant factor
    dropped (``2 * m`` -> ``m``), and compared string constants exchanged (one name for another)."""
    inside_fstring = {id(n) for j in ast.walk(fn) if isinstance(j, ast.JoinedStr) for n in ast.walk(j)}
    for i, node in _nodes(fn, ast.Constant):
        if not _is_number(node) or id(node) in inside_fstring:
            continue
        context = _parent(fn, node)
        where = f" in `{_short(context)}`" if isinstance(context, ast.expr) else ""
        for value in _new_numbers(node.value):
            mutated, _ = _rewrite(fn, i, lambda n, value=value: ast.Constant(value))
            yield f"line {_line(node, fn)}: constant {node.value!r} -> {value!r}{where}", mutated
    for i, node in _nodes(fn, ast.BinOp):
        if isinstance(node.op, ast.Mult):
            for keep, drop in (("right", node.left), ("left", node.right)):
                if _is_number(drop):
                    mutated, after = _rewrite(fn, i, lambda n, keep=keep: getattr(n, keep))
                    yield (f"line {_line(node, fn)}: constant factor dropped: `{_short(node)}` -> `{_short(after)}`",
                           mutated)
    compared = []
    for node in ast.walk(fn):
        places = node.comparators + [node.left] if isinstance(node, ast.Compare) else (
            [k for k in node.keys if k is not None] if isinstance(node, ast.Dict) else [])
        compared += [p.value for p in places if isinstance(p, ast.Constant) and isinstance(p.value, str)]
    names = list(dict.fromkeys(compared))
    if len(names) >= 2:
        for i, node in _nodes(fn, ast.Compare):
            for place in [node.left, *node.comparators]:
                if isinstance(place, ast.Constant) and place.value in names:
                    index = list(ast.walk(fn)).index(place)
                    for other in names:
                        if other != place.value:
                            mutated, _ = _rewrite(fn, index, lambda n, other=other: ast.Constant(other))
                            yield f"line {_line(place, fn)}: compared name {place.value!r} -> {other!r}", mutated


def _off_by_one(fn):
    """Bounds off by one: ``range(...)``, ``enumerate(..., 1)``, slices."""
    for i, node in _nodes(fn, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "range" and node.args and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args):
            args = node.args
            if len(args) == 1:
                options = [[_plus(args[0], -1)], [_plus(args[0], 1)], [ast.Constant(1), copy.deepcopy(args[0])]]
            else:
                options = [[_plus(args[0], 1), *args[1:]], [args[0], _plus(args[1], -1), *args[2:]],
                           [args[0], _plus(args[1], 1), *args[2:]]]
            for option in options:
                def make(n, option=option):
                    return ast.Call(n.func, [copy.deepcopy(a) for a in option], [])
                mutated, after = _rewrite(fn, i, make)
                yield f"line {_line(node, fn)}: range off by one: `{_short(node)}` -> `{_short(after)}`", mutated
        if name == "enumerate" and len(node.args) == 1 and not node.keywords:
            mutated, after = _rewrite(fn, i, lambda n: ast.Call(n.func, [n.args[0], ast.Constant(1)], []))
            yield f"line {_line(node, fn)}: enumerate off by one: `{_short(node)}` -> `{_short(after)}`", mutated
    for i, node in _nodes(fn, ast.Slice):
        changes = []
        changes += [("lower", _plus(node.lower, 1)), ("lower", _plus(node.lower, -1))] if node.lower else \
            [("lower", ast.Constant(1))]
        changes += [("upper", _plus(node.upper, -1)), ("upper", _plus(node.upper, 1))] if node.upper else \
            [("upper", ast.Constant(-1))]
        for part, value in changes:
            def make(n, part=part, value=value):
                n = copy.copy(n)
                setattr(n, part, copy.deepcopy(value))
                return n
            mutated, after = _rewrite(fn, i, make)
            yield f"line {_line(node, fn)}: slice off by one: `[{_short(node)}]` -> `[{_short(after)}]`", mutated


def _dropped_terms(fn):
    """A term dropped from a sum (``a + b`` -> ``a`` or ``b``; the bias, say), a subtracted term,
    a factor or a division dropped (``a / m`` -> ``a``), a power dropped, an accumulation dropped."""
    for i, node in _nodes(fn, ast.BinOp):
        if isinstance(node.op, ast.Add):
            sides = ("left", "right")
        elif isinstance(node.op, (ast.Sub, ast.Div, ast.FloorDiv, ast.Pow)):
            sides = ("left",)
        elif isinstance(node.op, ast.Mult):
            sides = tuple(s for s, other in (("left", node.right), ("right", node.left)) if not _is_number(other))
        else:
            sides = ()
        for side in sides:
            mutated, after = _rewrite(fn, i, lambda n, side=side: getattr(n, side))
            gone = node.right if side == "left" else node.left
            yield f"line {_line(node, fn)}: `{_short(gone)}` dropped: `{_short(node)}` -> `{_short(after)}`", mutated
    for body_owner in ast.walk(fn):
        for name in ("body", "orelse"):
            body = getattr(body_owner, name, None)
            if not isinstance(body, list) or len(body) < 2:
                continue
            for k, stmt in enumerate(body):
                if isinstance(stmt, ast.AugAssign):
                    new = copy.deepcopy(fn)
                    owner = list(ast.walk(new))[list(ast.walk(fn)).index(body_owner)]
                    del getattr(owner, name)[k]
                    yield f"line {_line(stmt, fn)}: accumulation dropped: `{_short(stmt)}`", new


def _swapped_arguments(fn):
    """Two positional arguments of a call exchanged."""
    for i, node in _nodes(fn, ast.Call):
        args = node.args
        if len(args) < 2 or any(isinstance(a, ast.Starred) for a in args):
            continue
        pairs = [(p, q) for p in range(len(args)) for q in range(p + 1, len(args))] if len(args) <= 4 else \
            [(p, p + 1) for p in range(len(args) - 1)]
        for p, q in pairs:
            if ast.dump(args[p]) == ast.dump(args[q]):
                continue

            def make(n, p=p, q=q):
                n = copy.copy(n)
                n.args = list(n.args)
                n.args[p], n.args[q] = n.args[q], n.args[p]
                return n
            mutated, after = _rewrite(fn, i, make)
            yield f"line {_line(node, fn)}: arguments {p + 1} and {q + 1} swapped: `{_short(after)}`", mutated


def _returned_items(fn):
    """Returned tuple items swapped or one left out; returned dict values swapped or a key left out."""
    for i, node in _nodes(fn, ast.Return):
        value = node.value
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) >= 2 and \
                not any(isinstance(e, ast.Starred) for e in value.elts):
            n_items = len(value.elts)
            for p in range(n_items):
                for q in range(p + 1, n_items):
                    def make(n, p=p, q=q):
                        elts = list(n.value.elts)
                        elts[p], elts[q] = elts[q], elts[p]
                        return ast.Return(type(n.value)(elts, ast.Load()))
                    mutated, _ = _rewrite(fn, i, make)
                    yield f"line {_line(node, fn)}: returned items {p + 1} and {q + 1} swapped", mutated
            for p in range(n_items):
                def make(n, p=p):
                    elts = [e for k, e in enumerate(n.value.elts) if k != p]
                    return ast.Return(elts[0] if len(elts) == 1 else type(n.value)(elts, ast.Load()))
                mutated, _ = _rewrite(fn, i, make)
                yield f"line {_line(node, fn)}: returned item {p + 1} (`{_short(value.elts[p])}`) left out", mutated
        if isinstance(value, ast.Dict) and len(value.keys) >= 2 and None not in value.keys:
            keys = [_short(k) for k in value.keys]
            for p in range(len(keys)):
                for q in range(p + 1, len(keys)):
                    def make(n, p=p, q=q):
                        values = list(n.value.values)
                        values[p], values[q] = values[q], values[p]
                        return ast.Return(ast.Dict(list(n.value.keys), values))
                    mutated, _ = _rewrite(fn, i, make)
                    yield f"line {_line(node, fn)}: values of {keys[p]} and {keys[q]} swapped", mutated
            for p in range(len(keys)):
                def make(n, p=p):
                    pairs = [(k, v) for j, (k, v) in enumerate(zip(n.value.keys, n.value.values)) if j != p]
                    return ast.Return(ast.Dict([k for k, _ in pairs], [v for _, v in pairs]))
                mutated, _ = _rewrite(fn, i, make)
                yield f"line {_line(node, fn)}: returned key {keys[p]} left out", mutated


def _keywords(fn):
    """``axis=`` and ``ddof=`` changed, removed or added."""
    for i, node in _nodes(fn, ast.Call):
        names = {k.arg for k in node.keywords}
        for k, keyword in enumerate(node.keywords):
            if keyword.arg not in ("axis", "ddof"):
                continue
            value = keyword.value
            options = []
            if _is_number(value) and keyword.arg == "axis":
                options = [ast.Constant(1 - value.value) if value.value in (0, 1) else ast.Constant(0),
                           ast.Constant(None)]
            elif _is_number(value):
                options = [ast.Constant(1 if value.value == 0 else 0)]
            for option in options:
                def make(n, k=k, option=option):
                    n = copy.copy(n)
                    n.keywords = list(n.keywords)
                    n.keywords[k] = ast.keyword(n.keywords[k].arg, option)
                    return n
                mutated, after = _rewrite(fn, i, make)
                yield f"line {_line(node, fn)}: {keyword.arg} changed: `{_short(node)}` -> `{_short(after)}`", mutated

            def drop(n, k=k):
                n = copy.copy(n)
                n.keywords = [kw for j, kw in enumerate(n.keywords) if j != k]
                return n
            mutated, after = _rewrite(fn, i, drop)
            yield f"line {_line(node, fn)}: {keyword.arg} removed: `{_short(node)}` -> `{_short(after)}`", mutated
        name = _call_name(node)
        added = []
        if name in _REDUCTIONS and "axis" not in names:
            added.append(ast.keyword("axis", ast.Constant(0)))
        if name in _SPREADS and "ddof" not in names:
            added.append(ast.keyword("ddof", ast.Constant(1)))
        for keyword in added:
            def make(n, keyword=keyword):
                n = copy.copy(n)
                n.keywords = [*n.keywords, keyword]
                return n
            mutated, after = _rewrite(fn, i, make)
            yield f"line {_line(node, fn)}: {keyword.arg} added: `{_short(node)}` -> `{_short(after)}`", mutated


def _negated(node: ast.expr) -> ast.expr:
    return ast.UnaryOp(ast.USub(), node)


def _signs(fn):
    """Signs flipped: a unary minus removed or added (on a returned or assigned value), and
    ``a - b`` -> ``b - a``."""
    for i, node in _nodes(fn, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            mutated, after = _rewrite(fn, i, lambda n: n.operand)
            yield f"line {_line(node, fn)}: minus removed: `{_short(node)}` -> `{_short(after)}`", mutated
    for i, node in _nodes(fn, ast.BinOp):
        if isinstance(node.op, ast.Sub):
            mutated, after = _rewrite(fn, i, lambda n: ast.BinOp(n.right, ast.Sub(), n.left))
            yield f"line {_line(node, fn)}: subtraction reversed: `{_short(node)}` -> `{_short(after)}`", mutated
    targets = []
    for node in ast.walk(fn):
        if isinstance(node, (ast.Return, ast.Assign, ast.AugAssign)) and node.value is not None:
            value = node.value
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], (ast.Tuple, ast.List)) and \
                    not isinstance(value, (ast.Tuple, ast.List)):
                continue  # `a, b = f()`: -f() negates a sequence, a TypeError any suite catches
            if isinstance(value, ast.Dict):
                targets += list(value.values)
            elif isinstance(value, (ast.Tuple, ast.List)):
                targets += list(value.elts)
            else:
                targets.append(value)
    order = list(ast.walk(fn))
    for target in targets:
        if isinstance(target, ast.Starred) or _is_number(target) or (isinstance(target, ast.UnaryOp) and isinstance(target.op, ast.USub)):
            continue
        mutated, after = _rewrite(fn, order.index(target), _negated)
        yield f"line {_line(target, fn)}: sign flipped: `{_short(target)}` -> `{_short(after)}`", mutated


def _is_recording(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr in _RECORDERS)


def _early_record(fn):
    """An update recorded before it happens: a statement of a loop that appends to a list moved
    before assignments that precede it in the loop's body."""
    order = list(ast.walk(fn))
    for loop in order:
        if not isinstance(loop, (ast.For, ast.While)):
            continue
        for k, stmt in enumerate(loop.body):
            if not _is_recording(stmt):
                continue
            for j in range(k):
                if not any(isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)) for s in loop.body[j:k]):
                    continue
                new = copy.deepcopy(fn)
                body = list(ast.walk(new))[order.index(loop)].body
                body.insert(j, body.pop(k))
                yield (f"line {_line(stmt, fn)}: `{_short(stmt)}` moved before "
                       f"`{_short(loop.body[j])}` (recorded before the update)"), new


def _assigned_names(nodes) -> set[str]:
    found = set()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id != "_":
                found.add(n.id)  # `_` is a throwaway, not a variable a loop carries
    return found


def _loop_assigned(fn) -> set[str]:
    return _assigned_names(n for n in ast.walk(fn) if isinstance(n, (ast.For, ast.While)))


def _parameters(fn) -> list[str]:
    a = fn.args
    return [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]


def _initial_values(fn) -> Iterator[ast.Assign]:
    """Top-level assignments that give a loop's variables their first value."""
    updated = _loop_assigned(fn)
    for stmt in fn.body:
        if isinstance(stmt, ast.Assign) and _assigned_names(stmt.targets) & updated:
            yield stmt


def _ignored_inputs(fn):
    """An input parameter ignored: where it gives a loop variable its initial value, it is
    replaced by zero (``0.0``, or ``np.zeros_like`` of it)."""
    params = set(_parameters(fn))
    order = list(ast.walk(fn))
    for stmt in _initial_values(fn):
        for node in ast.walk(stmt.value):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in params:
                zero_like = ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "zeros_like", ast.Load()),
                                     [ast.Name(node.id, ast.Load())], [])
                for replacement in (ast.Constant(0.0), zero_like):
                    mutated, after = _rewrite(fn, order.index(node), lambda n, r=replacement: copy.deepcopy(r))
                    yield f"line {_line(node, fn)}: input `{node.id}` ignored, replaced by `{_short(after)}`", mutated


def _dtype_keyword(node: ast.Call) -> tuple[str, int] | None:
    """Where a converter call says its dtype: ("keyword", k) or ("arg", 1)."""
    for k, keyword in enumerate(node.keywords):
        if keyword.arg == "dtype":
            return "keyword", k
    if len(node.args) >= 2:
        return "arg", 1
    return None


def _without_dtype(node: ast.Call) -> ast.Call:
    where = _dtype_keyword(node)
    new = copy.copy(node)
    if where and where[0] == "keyword":
        new.keywords = [kw for j, kw in enumerate(node.keywords) if j != where[1]]
    elif where:
        new.args = node.args[:1]
    return new


def _shape_source(shape: ast.expr) -> ast.expr | None:
    """For a preallocation's shape made of ``len(a)`` / ``a.shape[k]`` items, an array of that
    shape built from the inputs (``a``, or ``np.outer(a, b)``) for an ``*_like`` call."""
    items = shape.elts if isinstance(shape, ast.Tuple) else [shape]

    def source(item):
        if isinstance(item, ast.Call) and isinstance(item.func, ast.Name) and item.func.id == "len" and item.args:
            return item.args[0]
        if (isinstance(item, ast.Subscript) and isinstance(item.value, ast.Attribute)
                and item.value.attr == "shape"):
            return item.value.value
        return None

    arrays = [source(item) for item in items]
    if not arrays or any(a is None for a in arrays) or len(arrays) > 2:
        return None
    if len(arrays) == 1:
        return copy.deepcopy(arrays[0])
    return ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "outer", ast.Load()),
                    [copy.deepcopy(a) for a in arrays], [])


def _in_place(fn: ast.FunctionDef, names: set[str] | None = None) -> ast.FunctionDef:
    """``fn`` with the loop updates ``n = n op e`` of ``names`` (all when None) made in place."""
    new = copy.deepcopy(fn)
    for loop in [n for n in ast.walk(new) if isinstance(n, (ast.For, ast.While))]:
        for body_node in list(ast.walk(loop)):
            for field_name in ("body", "orelse"):
                body = getattr(body_node, field_name, None)
                if not isinstance(body, list):
                    continue
                for k, stmt in enumerate(body):
                    if _is_update(stmt) and (names is None or stmt.targets[0].id in names):
                        body[k] = ast.AugAssign(ast.Name(stmt.targets[0].id, ast.Store()), stmt.value.op,
                                                stmt.value.right)
    return new


def _is_update(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.left, ast.Name)
            and stmt.value.left.id == stmt.targets[0].id and type(stmt.value.op) in _SYMBOLS)


def _dtypes(fn):
    """Lost float conversions: ``np.asarray(x, dtype=float)`` -> ``np.asarray(x)``, ``float(e)``
    -> ``e``, ``.astype(float)`` dropped, a float preallocation replaced by ``*_like`` of an input
    array; a float copy of an input replaced by ``.copy()`` or the input itself, alone and with
    the loop's updates made in place (``w = w - d`` -> ``w -= d``)."""
    order = list(ast.walk(fn))
    for i, node in _nodes(fn, ast.Call):
        name = _call_name(node)
        if name in _CONVERTERS and isinstance(node.func, ast.Attribute) and _dtype_keyword(node):
            mutated, after = _rewrite(fn, i, _without_dtype)
            yield f"line {_line(node, fn)}: dtype dropped: `{_short(node)}` -> `{_short(after)}`", mutated
        if isinstance(node.func, ast.Name) and name == "float" and len(node.args) == 1 and not node.keywords:
            mutated, after = _rewrite(fn, i, lambda n: n.args[0])
            yield f"line {_line(node, fn)}: float() conversion removed: `{_short(node)}` -> `{_short(after)}`", mutated
        if name == "astype" and isinstance(node.func, ast.Attribute):
            mutated, after = _rewrite(fn, i, lambda n: n.func.value)
            yield f"line {_line(node, fn)}: astype conversion removed: `{_short(node)}` -> `{_short(after)}`", mutated
        if name in _PREALLOCATORS and isinstance(node.func, ast.Attribute) and node.args and \
                not any(k.arg == "dtype" for k in node.keywords) and len(node.args) <= (2 if name == "full" else 1):
            like = _shape_source(node.args[0])
            if like is not None:
                def make(n, like=like, name=name):
                    return ast.Call(ast.Attribute(copy.deepcopy(n.func.value), f"{name}_like", ast.Load()),
                                    [copy.deepcopy(like), *n.args[1:]], [])
                mutated, after = _rewrite(fn, i, make)
                yield (f"line {_line(node, fn)}: float preallocation replaced by one shaped like the inputs: "
                       f"`{_short(node)}` -> `{_short(after)}`"), mutated
    params = set(_parameters(fn))
    for stmt in _initial_values(fn):
        if not (len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call)):
            continue
        call, target = stmt.value, stmt.targets[0].id
        if not (_call_name(call) in _CONVERTERS and call.args and isinstance(call.args[0], ast.Name)
                and call.args[0].id in params):
            continue
        param = call.args[0].id
        copies = [(f"`{param}.copy()`", ast.Call(ast.Attribute(ast.Name(param, ast.Load()), "copy", ast.Load()), [], [])),
                  (f"`{param}` itself", ast.Name(param, ast.Load()))]
        for what, replacement in copies:
            mutated, _ = _rewrite(fn, order.index(call), lambda n, r=replacement: copy.deepcopy(r))
            yield f"line {_line(stmt, fn)}: `{target}` starts as {what}, not a float copy", mutated
        for what, replacement in [(f"`{_short(_without_dtype(call))}`", _without_dtype(call)), *copies]:
            mutated, _ = _rewrite(fn, order.index(call), lambda n, r=replacement: copy.deepcopy(r))
            yield (f"line {_line(stmt, fn)}: `{target}` starts as {what} and is updated in place "
                   f"(`{target} = {target} - ...` -> `{target} -= ...`)"), _in_place(mutated, {target})
    for i, node in _nodes(fn, ast.Assign):
        if _is_update(node) and node.targets[0].id in _loop_assigned(fn):
            op = _SYMBOLS[type(node.value.op)]

            def make(n):
                return ast.AugAssign(ast.Name(n.targets[0].id, ast.Store()), n.value.op, n.value.right)
            mutated, after = _rewrite(fn, i, make)
            yield (f"line {_line(node, fn)}: update made in place: `{_short(node)}` -> `{_short(after)}`"
                   f" (`{op}=`)"), mutated


# The order of the families is the order of the mutant ids: keep it, so ids stay stable.
FAMILIES: tuple[Callable, ...] = (_arithmetic, _constants, _off_by_one, _dropped_terms, _swapped_arguments,
                                  _returned_items, _keywords, _signs, _early_record, _ignored_inputs, _dtypes)


def _function_def(source: str, function: str) -> ast.FunctionDef:
    tree = ast.parse(textwrap.dedent(source))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return node
    raise CourseError(f"no definition of {function} in the given source")


def generate_mutants(source: str, function: str) -> list[Mutant]:
    """Every mutant of ``function`` (defined in ``source``) the families make, deduplicated by
    their unparsed source; only mutants that compile and differ from the original are kept."""
    fn = _function_def(source, function)
    original = ast.unparse(fn)
    seen = {original}
    mutants: list[Mutant] = []
    for family in FAMILIES:
        for description, mutated in family(fn):
            try:
                text = ast.unparse(ast.fix_missing_locations(mutated))
                compile(text, f"<mutant of {function}>", "exec")
            except (SyntaxError, ValueError, TypeError, AttributeError, RecursionError):
                continue
            if text in seen:
                continue
            seen.add(text)
            mutants.append(Mutant(id=f"{MUTANT}-{function}-{len(mutants) + 1:03d}", function=function,
                                  description=description, source=text + "\n"))
    return mutants


def mutant_diff(original: str, mutant: Mutant) -> str:
    """The unified diff of ``mutant`` against the (unparsed) original function."""
    before = ast.unparse(_function_def(original, mutant.function)) + "\n"
    lines = difflib.unified_diff(before.splitlines(keepends=True), mutant.source.splitlines(keepends=True),
                                 fromfile=f"reference {mutant.function}", tofile=mutant.id, n=1)
    return "".join(lines)


# --- the equivalence check -----------------------------------------------------------------------

@dataclass(frozen=True)
class Exposure:
    """An input on which a mutant and the reference disagree."""

    input: str       # the arguments, briefly (shapes and a few values)
    reference: str   # what the reference gave
    mutant: str      # what the mutant gave
    draw: int        # which draw it was (0-based)

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "reference": self.reference, "mutant": self.mutant, "draw": self.draw}


def describe(value: Any, *, items: int = 4, depth: int = 0) -> str:
    """A value in a few characters: arrays by dtype, shape and first items."""
    from .diagnose import Raised

    if isinstance(value, Raised):
        return f"raised {value.ename}"
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        shown = ", ".join(describe(v.item() if hasattr(v, "item") else v) for v in flat[:items])
        more = ", ..." if flat.size > items else ""
        return f"array{tuple(value.shape)} {value.dtype} [{shown}{more}]"
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value)}"
    if isinstance(value, numbers.Real):
        kind = "" if type(value) is float else f"{type(value).__name__} "
        return f"{kind}{float(value):.6g}"
    if isinstance(value, dict):
        if depth > 1:
            return "{...}"
        return "{" + ", ".join(f"{k!r}: {describe(v, items=items, depth=depth + 1)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        if depth > 1:
            return f"{type(value).__name__} of {len(value)}"
        shown = ", ".join(describe(v, items=items, depth=depth + 1) for v in value[:items])
        more = f", ... ({len(value)} items)" if len(value) > items else ""
        open_, close = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        return f"{open_}{shown}{more}{close}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    return type(value).__name__


def _arguments(args: tuple) -> str:
    return "(" + ", ".join(describe(a) for a in args) + ")"


def agree(a: Any, b: Any) -> bool:
    """``diagnose.same``, extended to dicts (key by key), and judged as the notebooks' contracts
    judge: by value. An integer array that holds exactly the reference's float values (``w * x + b``
    on integer inputs) agrees with it; the suites give it full marks, and no contract asks for a
    dtype. An integer result whose values were truncated still disagrees."""
    from .diagnose import same

    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b)
                and all(agree(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(agree(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape:
        kinds = {a.dtype.kind, b.dtype.kind}
        if "f" in kinds and kinds & {"i", "u"} and kinds <= {"i", "u", "f"}:  # integers against floats
            return bool(np.array_equal(a.astype(float), b.astype(float)))
    return same(a, b)


def _observe(fn: Callable, args: tuple) -> tuple[Any, tuple | None]:
    """What ``fn`` returns on (copies of) ``args``, and those arguments afterwards (so a function
    that changes its inputs in place is told apart from one that does not)."""
    from .diagnose import Raised, outcome

    seen = outcome(lambda *copies: (fn(*copies), copies), args)
    if isinstance(seen, Raised):
        return seen, None
    return seen


def find_exposure(candidate: Callable, reference: Callable, draw: Callable[[np.random.Generator], tuple], *,
                  seed: int, draws: int = EQUIVALENCE_DRAWS,
                  budget: float = EQUIVALENCE_BUDGET) -> tuple[Exposure | None, int]:
    """Call ``candidate`` and ``reference`` on ``draws`` random argument tuples (``draw(rng)``,
    seeded with ``seed``); return the first input where they disagree (in the value returned,
    the exception raised, or what they did to their arguments), or ``None``, and how many draws
    were made (fewer than asked when ``budget`` seconds ran out)."""
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    for k in range(draws):
        if k and time.monotonic() - started > budget:
            return None, k
        args = draw(rng)
        want, want_args = _observe(reference, args)
        got, got_args = _observe(candidate, args)
        if not agree(got, want):
            return Exposure(input=_arguments(args), reference=describe(want), mutant=describe(got), draw=k), k + 1
        if want_args is not None and got_args is not None:
            for p, (x, y) in enumerate(zip(got_args, want_args)):
                if not agree(x, y):
                    return Exposure(input=_arguments(args), reference=f"argument {p + 1} left as {describe(y)}",
                                    mutant=f"argument {p + 1} changed in place to {describe(x)}", draw=k), k + 1
    return None, draws


# --- lab content the audit reads -----------------------------------------------------------------

def load_inputs(lab: Lab) -> dict[str, Callable[[np.random.Generator], tuple]]:
    """The lab's input generators (``inputs.py``'s ``INPUTS``; none when it ships no such file)."""
    if not (lab.content_dir / INPUTS_FILE).is_file():
        return {}
    found = dict(getattr(load_content_module(lab, INPUTS_FILE, what="audit inputs"), "INPUTS", {}))
    known = {f.name for f in lab.coded}
    unknown = sorted(set(found) - known)
    if unknown:
        raise CourseError(f"lab {lab.name}: {INPUTS_FILE} has generators for {', '.join(unknown)}, which "
                          f"are not graded functions ({', '.join(sorted(known))})", lab=lab.name)
    return found


def min_mutation_score(lab: Lab) -> float:
    """The least mutation score the lab accepts (``min_mutation_score`` in its ``lab.toml``)."""
    spec = tomllib.loads((lab.content_dir / "lab.toml").read_text())
    value = spec.get("min_mutation_score", DEFAULT_MIN_SCORE)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise CourseError(f"lab {lab.name}: min_mutation_score in lab.toml must be a number from 0 to 1, "
                          f"not {value!r}", lab=lab.name)
    return float(value)


def _notebook_names(nb) -> set[str]:
    """Names the filled notebook defines at its top level (functions, data, imports)."""
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
            else:
                names |= _assigned_names([stmt])
    return names


def helper_sources(ref: ModuleType, function: str, defined: set[str]) -> list[str]:
    """Sources of the reference's own helpers ``function`` needs that the notebook does not define
    (a private ``_cost``, say), in an order that defines each before its users."""
    needed: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        source = inspect.getsource(getattr(ref, name))
        tree = _function_def(source, name)
        local = set(_parameters(tree)) | _assigned_names([tree])
        for node in ast.walk(tree):
            used = node.id if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) else None
            if (used and used not in local and used not in defined and used not in trail
                    and not hasattr(builtins, used) and inspect.isfunction(getattr(ref, used, None))
                    and used not in needed):
                visit(used, trail + (used,))
                needed.append(used)

    visit(function, (function,))
    return [textwrap.dedent(inspect.getsource(getattr(ref, name))) for name in needed]


# --- the report ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MutantFinding:
    """A mutant that kept full marks: a survivor (with the input that exposes it, where found) or
    a likely equivalent one."""

    id: str
    description: str
    diff: str
    exposure: Exposure | None = None
    draws: int = 0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        doc = {"id": self.id, "description": self.description, "diff": self.diff, "draws": self.draws}
        doc["exposing_input"] = self.exposure.to_json() if self.exposure else None
        if self.note:
            doc["note"] = self.note
        return doc


@dataclass(frozen=True)
class MistakeCheck:
    """A named mistake graded: caught (lost points) and named (a failed test carries its name)."""

    name: str
    caught: bool
    named: bool
    message: str = ""  # the first failed test's message (or why the notebook was not graded)

    @property
    def ok(self) -> bool:
        return self.caught and self.named

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "caught": self.caught, "named": self.named, "message": self.message}


@dataclass(frozen=True)
class VariantCheck:
    """An equivalent variant graded: it must keep full marks."""

    name: str
    full_marks: bool
    points: float
    max_points: float
    message: str = ""  # the first failed test's message, when it lost points

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "full_marks": self.full_marks, "points": self.points,
                "max_points": self.max_points, "message": self.message}


@dataclass
class FunctionAudit:
    """What the audit found for one graded function."""

    function: str
    generated: int              # mutants graded (all generated, or the sample)
    total: int                  # mutants the families generated before sampling
    killed: int
    survived: list[MutantFinding]
    equivalent: list[MutantFinding]
    min_score: float
    mistakes: list[MistakeCheck] = field(default_factory=list)
    variants: list[VariantCheck] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        """killed / (generated - likely equivalent); ``None`` when no mutant counts."""
        counted = self.generated - len(self.equivalent)
        return self.killed / counted if counted else None

    @property
    def problems(self) -> list[str]:
        found = []
        if self.score is not None and self.score < self.min_score:
            found.append(f"mutation score {self.score:.3f} is below {self.min_score:g}")
        found += [f"named mistake {m.name} was not caught" for m in self.mistakes if not m.caught]
        found += [f"named mistake {m.name} was caught but not named" for m in self.mistakes if m.caught and not m.named]
        found += [f"variant {v.name} was wrongly penalized ({v.points:g}/{v.max_points:g})"
                  for v in self.variants if not v.full_marks]
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        score = self.score
        return {"generated": self.generated, "total": self.total, "killed": self.killed,
                "survived": [s.to_json() for s in self.survived],
                "equivalent": [e.to_json() for e in self.equivalent],
                "score": None if score is None else round(score, 6), "min_score": self.min_score,
                "mistakes": [m.to_json() for m in self.mistakes], "variants": [v.to_json() for v in self.variants],
                "ok": self.ok}


@dataclass
class AuditReport:
    """An audit of one lab's hidden suite."""

    lab: str
    seed: int
    functions: dict[str, FunctionAudit]
    sample: int | None = None
    candidates: int = 0
    seconds: float = 0.0
    not_graded: list[str] = field(default_factory=list)  # candidates whose notebook was not graded
    grader_faults: list[str] = field(default_factory=list)  # "candidate: error" where the grader failed

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.functions.values())

    def to_json(self) -> dict[str, Any]:
        return {"lab": self.lab, "seed": self.seed, "sample": self.sample, "candidates": self.candidates,
                "seconds": round(self.seconds, 1), "not_graded": list(self.not_graded),
                "grader_faults": list(self.grader_faults),
                "functions": {name: f.to_json() for name, f in self.functions.items()}, "ok": self.ok}


def write_report(path: Path, report: AuditReport) -> Path:
    """Write ``report`` as JSON (atomically); return the path."""
    from .results import write_json

    write_json(Path(path), report.to_json())
    return Path(path)


def _indent(text: str, prefix: str = "      ") -> str:
    return "".join(prefix + line for line in text.splitlines(keepends=True))


def format_report(report: AuditReport) -> str:
    """The report as a table per function, then what needs looking at."""
    lines = [f"audit of {report.lab}: {report.candidates} candidate notebooks graded, seed {report.seed}"
             + (f", {report.sample} mutant(s) per function sampled" if report.sample else "")
             + f", {report.seconds:.0f} s", ""]
    header = (f"{'function':<24} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv':>5} {'score':>6} "
              f"{'min':>5}  {'mistakes named':>14}  {'variants':>8}")
    lines += [header, "-" * len(header)]
    for name, f in report.functions.items():
        score = "-" if f.score is None else f"{f.score:.3f}"
        mistakes = f"{sum(m.ok for m in f.mistakes)}/{len(f.mistakes)}" if f.mistakes else "-"
        variants = f"{sum(v.full_marks for v in f.variants)}/{len(f.variants)}" if f.variants else "-"
        generated = f"{f.generated}" if f.generated == f.total else f"{f.generated}/{f.total}"
        lines.append(f"{name:<24} {generated:>7} {f.killed:>6} {len(f.survived):>8} {len(f.equivalent):>5} "
                     f"{score:>6} {f.min_score:>5g}  {mistakes:>14}  {variants:>8}")
    for title, pick in (("survivors", lambda f: f.survived), ("likely equivalent", lambda f: f.equivalent)):
        found = [(name, m) for name, f in report.functions.items() for m in pick(f)]
        if not found:
            continue
        lines += ["", f"{title} ({len(found)}):"]
        for name, m in found:
            lines.append(f"  {m.id}: {m.description}")
            if m.exposure:
                lines.append(f"    exposed by draw {m.exposure.draw}: {name}{m.exposure.input}")
                lines.append(f"      reference: {m.exposure.reference}")
                lines.append(f"      mutant:    {m.exposure.mutant}")
            elif title == "likely equivalent":
                lines.append(f"    agreed with the reference on {m.draws} random inputs")
            if m.note:
                lines.append(f"    note: {m.note}")
            lines.append(_indent(m.diff).rstrip("\n"))
    missed = [(name, m) for name, f in report.functions.items() for m in f.mistakes if not m.ok]
    if missed:
        lines += ["", "named mistakes not caught or not named:"]
        for name, m in missed:
            state = "not caught" if not m.caught else "caught but not named"
            lines.append(f"  {name} {m.name}: {state}" + (f" ({_short(m.message, 160)})" if m.message else ""))
    penalized = [(name, v) for name, f in report.functions.items() for v in f.variants if not v.full_marks]
    if penalized:
        lines += ["", "variants wrongly penalized:"]
        for name, v in penalized:
            lines.append(f"  {name} {v.name}: {v.points:g}/{v.max_points:g}: {_short(v.message, 200)}")
    if report.not_graded:
        lines += ["", f"not graded (counted as losing points): {', '.join(report.not_graded)}"]
    if report.grader_faults:
        lines += ["", "the grader itself failed on (counted as losing points):"]
        lines += [f"  {fault}" for fault in report.grader_faults]
    problems = [f"{name}: {p}" for name, f in report.functions.items() for p in f.problems]
    lines += ["", "audit: OK" if not problems else "audit: FAILED: " + "; ".join(problems)]
    return "\n".join(lines)


# --- the audit -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    kind: str        # MUTANT, MISTAKE or VARIANT
    function: str
    name: str        # the mutant's id, the mistake's or the variant's name
    source: str      # what goes into the answer cell


def _student(kind: str, function: str, name: str) -> str:
    return name if kind == MUTANT else f"{kind}-{function}-{name}"


def _sampled(mutants: list[Mutant], sample: int | None, seed: int, function: str) -> list[Mutant]:
    if sample is None or sample >= len(mutants):
        return mutants
    picked = random.Random(f"{seed}:{function}").sample(range(len(mutants)), sample)
    return [mutants[k] for k in sorted(picked)]


_KEPT_MARKER = ".autograder-audit"


@contextlib.contextmanager
def _workspace(scratch: Path | None):
    if scratch is not None:
        scratch = Path(scratch)
        marker = scratch / _KEPT_MARKER
        if scratch.is_dir() and any(scratch.iterdir()) and not marker.is_file():
            # Its submitted/ and autograded/ are replaced: never a folder holding anything else.
            raise ConfigError(f"--keep {scratch}: the folder exists and was not made by an audit; "
                              "give a new or empty folder", field="keep")
        if scratch.exists() and not scratch.is_dir():
            raise ConfigError(f"--keep {scratch}: not a folder", field="keep")
        scratch.mkdir(parents=True, exist_ok=True)
        marker.write_text("made by `autograder audit --keep`: its submitted/ and autograded/ are replaced "
                          "by the next audit kept here\n")
        yield scratch
        return
    folder = Path(tempfile.mkdtemp(prefix="autograder-audit-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _first_failure(result, function: str) -> str:
    if not result.graded:
        return f"not graded: {result.status}: {result.message}"
    failed = result.failed_tests(function)
    return failed[0].message if failed else ""


def _loses_points(result, function: str) -> bool:
    if result is None or not result.graded:
        return True
    return result.points(function) < result.functions[function].max_points - 1e-9


def _judge_mutant(mutant: Mutant, *, original: str, helpers: str, ref: ModuleType, draw, seed: int) -> MutantFinding:
    """A mutant that kept full marks, run here against the reference: survivor or likely equivalent."""
    from .diagnose import compile_function

    diff = mutant_diff(original, mutant)
    if draw is None:
        return MutantFinding(mutant.id, mutant.description, diff,
                             note=f"no input generator for {mutant.function} in {INPUTS_FILE}")
    try:
        candidate = compile_function(helpers + mutant.source, mutant.function, ref)
    except Exception as exc:  # noqa: BLE001 - a mutant that does not define here is no equivalent
        return MutantFinding(mutant.id, mutant.description, diff,
                             note=f"does not run in the grader's process: {type(exc).__name__}: {exc}")
    exposure, draws = find_exposure(candidate, getattr(ref, mutant.function), draw,
                                    seed=zlib.crc32(f"{seed}:{mutant.function}".encode()))
    note = "" if exposure or draws == EQUIVALENCE_DRAWS else \
        f"only {draws} of {EQUIVALENCE_DRAWS} draws fitted in {EQUIVALENCE_BUDGET:g} s"
    return MutantFinding(mutant.id, mutant.description, diff, exposure, draws, note)


def _check_mistake(mistake, result, why: str) -> MistakeCheck:
    if result is None:
        return MistakeCheck(mistake.name, False, False, why)
    named = any((getattr(t, "diagnosis", None) or {}).get("mistake") == mistake.name
                for t in result.tests_of(mistake.function) if not t.passed)
    return MistakeCheck(mistake.name, _loses_points(result, mistake.function), named,
                        _first_failure(result, mistake.function))


def _check_variant(variant, result, max_points: float, why: str) -> VariantCheck:
    if result is None:
        return VariantCheck(variant.name, False, 0.0, max_points, why)
    points = result.points(variant.function) if result.graded else 0.0
    return VariantCheck(variant.name, not _loses_points(result, variant.function), points, max_points,
                        _first_failure(result, variant.function))


def _grade_candidates(lab: Lab, candidates: list[_Candidate], *, folder: Path, config, seed: int,
                      on_progress) -> tuple[dict[str, Any], dict[str, str]]:
    """Write the candidates as one class under ``folder`` and grade it.

    Returns the results by student, and the candidates whose grading crashed the batch (a fault
    of the grader, by student: what was raised). ``grade_class`` stops the batch at such a crash;
    the results finished by then stay on disk, so the class is graded again without the crashed
    candidates, reusing them, until it goes through.
    """
    from .demo import build_submission
    from .grade import grade_class
    from .results import result_dir, result_file

    submitted, out = folder / "submitted", folder / "autograded"
    shutil.rmtree(submitted, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)  # a kept scratch folder's old results are not reused
    students = []
    for c in candidates:
        students.append(_student(c.kind, c.function, c.name))
        target = submitted / students[-1] / lab.name
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(build_submission(lab, {c.function: c.source}), str(target / lab.notebook))
    crashed: dict[str, str] = {}
    while True:
        try:
            grading = grade_class(lab.name, submissions=submitted, out=out, seed=seed, course_root=lab.course_root,
                                  config=config, on_progress=on_progress,
                                  share=lambda names: [n for n in names if n not in crashed])
            return {r.student: r for r in grading.results}, crashed
        except (AutograderError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a grader bug on one candidate: recorded, the rest go on
            # The crashed ones got as far as their executed notebook, never to their result.
            found = [s for s in students if s not in crashed and not result_file(out, s, lab.name).is_file()
                     and (result_dir(out, s, lab.name) / lab.notebook).is_file()]
            if not found:
                raise
            for student in found:
                crashed[student] = f"grading crashed: {type(exc).__name__}: {exc}"
                log.warning("grading candidate %s crashed: %s: %s; grading the others", student,
                            type(exc).__name__, exc)


def audit_lab(lab_name: str, *, course_root: Path | None = None, sample: int | None = None,
              workers: int | None = None, seed: int = DEFAULT_SEED, on_progress=None,
              scratch: Path | None = None) -> AuditReport:
    """Audit ``lab_name``'s hidden suite with mutants, its named mistakes and its variants.

    Args:
        sample: grade only this many mutants per function (drawn with ``seed``); named mistakes
            and variants always run.
        workers: notebooks graded at once (default: the grading configuration's).
        seed: seeds the sample, the hidden tests' inputs and the equivalence check's draws.
        on_progress: ``on_progress(done, total, result)`` after each graded notebook.
        scratch: where the candidate class and its results go (kept); default a temporary
            folder, removed afterwards.

    Raises:
        CourseError: unknown lab, missing release, broken lab content.
        ConfigError: ``sample`` below 1, or a bad worker count.
    """
    from .demo import build_submission
    from .diagnose import load_mistakes, load_variants
    from .judge import load_reference

    if sample is not None and sample < 1:
        raise ConfigError(f"--sample must be at least 1 (mutants per function), not {sample}", field="sample")
    started = time.monotonic()
    lab = load_lab(lab_name, course_root)
    config = load_config(lab.course_root, workers=workers)  # a bad limit or worker count fails here, first
    lab.release_template()  # fail now, not after building the class, if the release is missing
    ref = load_reference(lab)
    inputs = load_inputs(lab)
    mistakes = load_mistakes(lab)
    variants = load_variants(lab)
    min_score = min_mutation_score(lab)
    defined = _notebook_names(build_submission(lab, {}))

    originals: dict[str, str] = {}
    helpers: dict[str, str] = {}
    generated: dict[str, list[Mutant]] = {}
    totals: dict[str, int] = {}
    candidates: list[_Candidate] = []
    audited = list(lab.coded)  # figures, experiments and compliance have no mutants
    for graded in audited:
        name = graded.name
        if not inspect.isfunction(getattr(ref, name, None)):
            raise CourseError(f"lab {lab.name}: the reference has no function {name}", lab=lab.name)
        originals[name] = textwrap.dedent(inspect.getsource(getattr(ref, name)))
        # The reference's own helpers the notebook lacks go into the answer cell with the mutant.
        helpers[name] = "".join(h + "\n\n" for h in helper_sources(ref, name, defined))
        every = generate_mutants(originals[name], name)
        totals[name] = len(every)
        generated[name] = _sampled(every, sample, seed, name)
        candidates += [_Candidate(MUTANT, name, m.id, helpers[name] + m.source) for m in generated[name]]
        candidates += [_Candidate(MISTAKE, name, m.name, m.source) for m in mistakes if m.function == name]
        candidates += [_Candidate(VARIANT, name, v.name, v.source) for v in variants if v.function == name]

    with _workspace(scratch) as folder:
        results, crashed = _grade_candidates(lab, candidates, folder=folder, config=config, seed=seed,
                                             on_progress=on_progress)

    functions: dict[str, FunctionAudit] = {}
    for graded in audited:
        name = graded.name
        kept = [m for m in generated[name] if not _loses_points(results.get(m.id), name)]
        findings = [_judge_mutant(m, original=originals[name], helpers=helpers[name], ref=ref,
                                  draw=inputs.get(name), seed=seed) for m in kept]
        functions[name] = FunctionAudit(
            function=name, generated=len(generated[name]), total=totals[name],
            killed=len(generated[name]) - len(kept),
            survived=[f for f in findings if f.exposure is not None or not f.draws],
            equivalent=[f for f in findings if f.exposure is None and f.draws],
            min_score=min_score,
            mistakes=[_check_mistake(m, results.get(student), crashed.get(student, "not graded"))
                      for m in mistakes if m.function == name
                      for student in [_student(MISTAKE, name, m.name)]],
            variants=[_check_variant(v, results.get(student), graded.points, crashed.get(student, "not graded"))
                      for v in variants if v.function == name
                      for student in [_student(VARIANT, name, v.name)]])
    not_graded = sorted([s for s, r in results.items() if not r.graded] + list(crashed))
    faults = sorted([f"{s}: {_short((r.grader_errors or [r.message])[0], 200)}"
                     for s, r in results.items() if r.failed_by_grader]
                    + [f"{s}: {_short(why, 200)}" for s, why in crashed.items()])
    return AuditReport(lab=lab.name, seed=seed, functions=functions, sample=sample, candidates=len(candidates),
                       seconds=time.monotonic() - started, not_graded=not_graded, grader_faults=faults)
