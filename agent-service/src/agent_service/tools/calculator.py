"""A calculator tool that evaluates arithmetic by walking its syntax tree (never ``eval``)."""

import ast
import math
import operator
from collections.abc import Callable

from langchain_core.tools import BaseTool, tool

from chatsphere_contracts.v1 import ToolName

__all__ = ["CalculatorError", "calculate", "calculator_tool"]

_MAX_EXPRESSION_CHARS = 200
_MAX_EXPONENT = 1000
_MAX_MAGNITUDE = 1e100

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs,
    "round": lambda value, digits=0: round(value, int(digits)),
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
}


class CalculatorError(ValueError):
    """The expression is not plain arithmetic, or its result is out of range."""


def calculate(expression: str) -> float:
    """The value of an arithmetic expression: numbers, + - * / // % **, and a few functions."""
    if len(expression) > _MAX_EXPRESSION_CHARS:
        raise CalculatorError("expression too long")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise CalculatorError("not an arithmetic expression") from exc
    try:
        return _evaluate(tree.body)
    except (ZeroDivisionError, OverflowError, TypeError) as exc:
        raise CalculatorError(str(exc) or type(exc).__name__) from exc


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise CalculatorError("not a number: bool")
        return _bounded(float(node.value))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise CalculatorError("exponent too large")
        return _bounded(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = _FUNCTIONS.get(node.func.id)
        if function is not None:
            return _bounded(float(function(*(_evaluate(arg) for arg in node.args))))
    raise CalculatorError(f"unsupported element: {type(node).__name__}")


def _bounded(value: float) -> float:
    if isinstance(value, complex) or not math.isfinite(value) or abs(value) > _MAX_MAGNITUDE:
        raise CalculatorError("result out of range")
    return value


@tool(ToolName.CALCULATOR.value)
def _calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as '(12.5 * 4) / 3' or 'sqrt(2) ** 3'."""
    try:
        value = calculate(expression)
    except CalculatorError as exc:
        return f"Error: {exc}"
    return f"{value:.10g}"


def calculator_tool() -> BaseTool:
    """The calculator as a LangChain tool."""
    return _calculator
