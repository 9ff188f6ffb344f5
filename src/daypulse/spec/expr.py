"""The arithmetic of ``kind: derived`` metrics: ``(new_mrr + expansion_mrr) / churned_mrr``.

Parsed with Python's own ``ast`` and then walked by hand over an allow-list of node types
(numbers, metric names, + - * /, unary minus, parentheses), so an expression can never call
anything or read attributes. Evaluation follows SQL: a NULL operand or a division by zero
gives NULL.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: None}


@lru_cache(maxsize=512)
def parse(text: str) -> ast.expr:
    """The checked syntax tree; ValueError saying what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Load)) or type(node) in _BINARY:
            if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
                raise ValueError(f"operator {type(node.op).__name__} is not allowed (use + - * /)")
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ValueError("only unary minus is allowed")
            continue
        if isinstance(node, (ast.USub, ast.UAdd)):
            continue
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            continue
        raise ValueError(f"{ast.unparse(node)!r} is not allowed: use metric names, numbers,"
                         " + - * / and parentheses")
    return tree


def names(text: str) -> list[str]:
    """The metric names an expression refers to, in order of first use."""
    found = sorted((n.col_offset, n.id) for n in ast.walk(parse(text)) if isinstance(n, ast.Name))
    return list(dict.fromkeys(name for _, name in found))


Number = int | float | Decimal | None


def evaluate(text: str, values: Mapping[str, Number]) -> Number:
    """The expression's value; integers stay integers until a
    division, and DECIMAL values stay DECIMAL."""
    return _eval(parse(text), values)


def _eval(node: ast.expr, values: Mapping[str, Number]) -> Number:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, values)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    assert isinstance(node, ast.BinOp)
    left, right = _eval(node.left, values), _eval(node.right, values)
    if left is None or right is None:
        return None
    if isinstance(left, float) or isinstance(right, float):  # Decimal does not mix with float
        left, right = float(left), float(right)
    if isinstance(node.op, ast.Div):
        if right == 0:
            return None
        return Decimal(left) / Decimal(right) if isinstance(left, Decimal) or isinstance(
            right, Decimal) else left / right
    return _BINARY[type(node.op)](left, right)
