"""Score expressions over layers, as the ATT&CK Navigator's "layer from other layers": numbers,
``+ - * /``, parentheses, ``min()``, ``max()`` and one variable per layer (``a*(1-b)``).

A small recursive-descent parser, never ``eval``: the text comes from a browser. Errors name the
1-based position in the expression where it went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..errors import UsageError

MAX_LENGTH = 500
MAX_DEPTH = 40  # nesting deeper than any real expression; keeps recursion far from Python's limit
FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max}

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),]))")


class ExpressionError(UsageError):
    """An expression that does not parse, or names a variable or function that does not exist."""

    def __init__(self, position: int, message: str):
        self.position = position
        super().__init__(f"position {position}: {message}")


@dataclass(frozen=True)
class _Token:
    kind: str       # number, name, op, end
    text: str
    position: int   # 1-based column of its first character


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = _TOKEN.match(text, i)
        if not m:
            j = i + len(text[i:]) - len(text[i:].lstrip())
            raise ExpressionError(j + 1, f"unexpected character {text[j]!r}")
        kind = m.lastgroup or "op"
        out.append(_Token(kind, m.group(kind), m.start(kind) + 1))
        i = m.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


# the parsed tree: a float, a variable name (str), or (operator or function, operands...)
Node = float | str | tuple


@dataclass(frozen=True)
class Expression:
    """A parsed score expression: ``variables`` it reads, ``evaluate(values)`` its value."""

    text: str
    tree: Node
    variables: frozenset[str]

    def evaluate(self, values: Mapping[str, float]) -> float | None:
        """The value with each variable from ``values`` (missing ones count as 0); ``None`` where
        it divides by zero."""
        try:
            return _evaluate(self.tree, values)
        except ZeroDivisionError:
            return None


def _evaluate(node: Node, values: Mapping[str, float]) -> float:
    if isinstance(node, float):
        return node
    if isinstance(node, str):
        return float(values.get(node, 0.0))
    op, *args = node
    vals = [_evaluate(a, values) for a in args]
    if op in FUNCTIONS:
        return float(FUNCTIONS[op](vals))
    if op == "neg":
        return -vals[0]
    a, b = vals
    return a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b


class _Parser:
    def __init__(self, text: str, known: frozenset[str] | None):
        self.tokens = _tokens(text)
        self.i = 0
        self.known = known
        self.seen: set[str] = set()
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self, *ops: str) -> _Token | None:
        if self.tok.kind == "op" and self.tok.text in ops:
            self.i += 1
            return self.tokens[self.i - 1]
        return None

    def expect(self, op: str, why: str) -> None:
        if not self.take(op):
            raise ExpressionError(self.tok.position, f"expected '{op}' {why}, found {_found(self.tok)}")

    def parse(self) -> Node:
        tree = self.sum()
        if self.tok.kind != "end":
            raise ExpressionError(self.tok.position, f"expected an operator, found {_found(self.tok)}")
        return tree

    def sum(self) -> Node:
        node = self.product()
        while op := self.take("+", "-"):
            node = (op.text, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while op := self.take("*", "/"):
            node = (op.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.take("-"):
            return ("neg", self.nested(self.unary))
        if self.take("+"):
            return self.nested(self.unary)
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            return float(tok.text)
        if tok.kind == "name":
            self.i += 1
            if self.take("("):
                if tok.text not in FUNCTIONS:
                    raise ExpressionError(tok.position, f"unknown function '{tok.text}' (known: "
                                                        f"{', '.join(FUNCTIONS)})")
                args = [self.nested()]
                while self.take(","):
                    args.append(self.nested())
                self.expect(")", f"to close {tok.text}(")
                return (tok.text, *args)
            if tok.text in FUNCTIONS:
                raise ExpressionError(self.tok.position, f"expected '(' after {tok.text}, found {_found(self.tok)}")
            if self.known is not None and tok.text not in self.known:
                given = ", ".join(sorted(self.known)) or "none"
                raise ExpressionError(tok.position, f"unknown layer variable '{tok.text}' (given: {given})")
            self.seen.add(tok.text)
            return tok.text
        if self.take("("):
            node = self.nested()
            self.expect(")", f"to close the '(' at position {tok.position}")
            return node
        raise ExpressionError(tok.position, f"expected a number, a layer variable or '(', found {_found(tok)}")

    def nested(self, rule: Callable[[], Node] | None = None) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(self.tok.position, f"nested more than {MAX_DEPTH} levels deep")
        node = (rule or self.sum)()
        self.depth -= 1
        return node


def _found(tok: _Token) -> str:
    return "the end" if tok.kind == "end" else f"'{tok.text}'"


def parse(text: str, variables: Iterable[str] | None = None) -> Expression:
    """Parse ``text``; with ``variables`` given, any other name is an error at its position."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(MAX_LENGTH + 1, f"longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError(1, "the expression is empty")
    parser = _Parser(text, None if variables is None else frozenset(variables))
    tree = parser.parse()
    return Expression(text, tree, frozenset(parser.seen))
