"""The arithmetic of ``kind: derived`` metrics: ``(new_mrr + expansion_mrr) / churned_mrr``.

Parsed with Python's own ``ast`` and then walked by hand over an allow-list of node types
(numbers, metric names, + - * /, unary minus, parentheses), so an expression can never call
anything or read attributes. Evaluation follows SQL: a NULL operand or a division by zero
gives NULL.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
MAX_LENGTH = 1000  # far beyond any formula; keeps the generated code's nesting shallow


@lru_cache(maxsize=512)
def parse(text: str) -> ast.expr:
    """The checked syntax tree; ValueError saying what is not allowed."""
    if len(text) > MAX_LENGTH:
        raise ValueError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError("the expression is nested too deeply") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and not isinstance(node.op, _BINARY):
            raise ValueError(f"operator {type(node.op).__name__} is not allowed (use + - * /)")
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ValueError("only unary minus is allowed")
        if isinstance(node, ast.Constant) and (type(node.value) not in (int, float)
                                               or not math.isfinite(node.value)):
            raise ValueError(f"{ast.unparse(node)!r} is not allowed: only finite numbers")
        if not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant,
                                 ast.USub, ast.UAdd, *_BINARY)):
            raise ValueError(f"{ast.unparse(node)!r} is not allowed: use metric names, numbers,"
                             " + - * / and parentheses")
    return tree


def names(text: str) -> list[str]:
    """The metric names an expression refers to, in order of first use."""
    found = sorted((n.col_offset, n.id) for n in ast.walk(parse(text)) if isinstance(n, ast.Name))
    return list(dict.fromkeys(name for _, name in found))


Number = int | float | Decimal | None


def evaluate(text: str, values: Mapping[str, Number]) -> Number:
    """The expression's value; integers stay integers until a division, DECIMAL stays DECIMAL."""
    return compiled(text)(values)


def _add(a, b):
    return None if a is None or b is None else _mix(a, b, operator.add)


def _sub(a, b):
    return None if a is None or b is None else _mix(a, b, operator.sub)


def _mul(a, b):
    return None if a is None or b is None else _mix(a, b, operator.mul)


def _div(a, b):
    if a is None or b is None or b == 0:
        return None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _mix(a, b, lambda x, y: Decimal(x) / Decimal(y) if not isinstance(x, float) else x / y)
    return a / b


def _neg(a):
    return None if a is None else -a


def _mix(a, b, op):
    if isinstance(a, float) or isinstance(b, float):  # Decimal does not mix with float
        return op(float(a), float(b))
    return op(a, b)


_CALLS = {ast.Add: "_add", ast.Sub: "_sub", ast.Mult: "_mul", ast.Div: "_div"}


@lru_cache(maxsize=512)
def compiled(text: str):
    """``evaluate`` as a Python function of the values dict, for millions of calls.

    The source is generated from the checked tree (only names, numbers and the helpers
    above), so nothing but arithmetic can run.
    """

    def source(node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            return repr(node.value)
        if isinstance(node, ast.Name):
            return f"v[{node.id!r}]"
        if isinstance(node, ast.UnaryOp):
            inner = source(node.operand)
            return f"_neg({inner})" if isinstance(node.op, ast.USub) else inner
        assert isinstance(node, ast.BinOp)
        return f"{_CALLS[type(node.op)]}({source(node.left)}, {source(node.right)})"

    helpers = {"_add": _add, "_sub": _sub, "_mul": _mul, "_div": _div, "_neg": _neg,
               "__builtins__": {}}
    return eval(f"lambda v: {source(parse(text))}", helpers)  # the tree was checked
