"""A query that does not parse, in the user's words: where (line, column), at which word, and
what is missing there, never a parser class ("Required keyword: 'expression' missing for
<class 'sqlglot.expressions.core.Mul'>" reads "'*' needs a value after it").

The same text reaches the command line, the HTTP API and the web page (all three call the
validator).
"""

from __future__ import annotations

import re

from sqlglot.errors import ParseError, TokenError

# sqlglot expression class -> the word or symbol a user typed for it.
_OPERATORS = {
    "Mul": "*", "Div": "/", "IntDiv": "//", "Mod": "%", "Add": "+", "Sub": "-", "DPipe": "||",
    "EQ": "=", "NEQ": "<>", "NullSafeEQ": "<=>", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=",
    "And": "AND", "Or": "OR", "Not": "NOT", "Like": "LIKE", "ILike": "ILIKE", "Is": "IS", "In": "IN",
    "Between": "BETWEEN", "BitwiseAnd": "&", "BitwiseOr": "|", "BitwiseXor": "^", "Escape": "ESCAPE",
}  # fmt: skip
_CLAUSES = {
    "Where": ("WHERE", "a condition"), "Having": ("HAVING", "a condition"), "Group": ("GROUP BY", "a column"),
    "Order": ("ORDER BY", "a column"), "Limit": ("LIMIT", "a number"), "Offset": ("OFFSET", "a number"),
    "Join": ("JOIN", "a table"), "From": ("FROM", "a table"), "Alias": ("AS", "a name"),
    "Cast": ("CAST", "a value and a type"), "Case": ("CASE", "WHEN ... THEN ..."), "If": ("WHEN", "THEN and a value"),
    "Select": ("SELECT", "a column or an expression"), "Union": ("UNION", "a query"),
    "Intersect": ("INTERSECT", "a query"), "Except": ("EXCEPT", "a query"), "Ordered": ("ORDER BY", "a column"),
}  # fmt: skip
_REQUIRED = re.compile(r"Required keyword: '(?P<arg>\w+)' missing for <class '(?:[\w.]*\.)?(?P<cls>\w+)'>")
_EXPECTED = re.compile(r"Expected (?P<what>.+?) but got <Token token_type: TokenType\.(?P<type>\w+), text: (?P<text>.*?), line")
_TOKEN = re.compile(r"<Token token_type: TokenType\.\w+, text: (?P<text>.*?), line: .*?>")


def describe_parse_error(exc: ParseError | TokenError, sql: str) -> str:
    """``line 1, column 12, at 'FROM': '*' needs a value after it``, or for an unreadable query
    (an unclosed quote) where it stops being readable."""
    if isinstance(exc, TokenError):
        return _token_error(str(exc), sql)
    errors = getattr(exc, "errors", None) or []
    if not errors:
        return _plain(str(exc))
    error = errors[0]
    highlight = str(error.get("highlight") or "").strip()
    line, end_column = error.get("line"), error.get("col")
    what = _explain(str(error.get("description") or ""), highlight, not str(error.get("end_context") or "").strip())
    if not line or not end_column:
        return what
    column = max(1, int(end_column) - len(highlight) + 1)
    at = f", at {highlight!r}" if highlight else ""
    return f"line {line}, column {column}{at}: {what}"


def _explain(description: str, highlight: str, at_end: bool) -> str:
    required = _REQUIRED.search(description)
    if required:
        name = required["cls"]
        if name in _OPERATORS:
            return f"{_OPERATORS[name]!r} needs a value after it"
        if name in _CLAUSES:
            clause, needs = _CLAUSES[name]
            return f"{clause} needs {needs} after it"
        return f"something is missing before {highlight!r}" if highlight else "something is missing"
    expected = _EXPECTED.search(description)
    if expected:
        if expected["type"] == "SENTINEL":
            return f"expected {_article(expected['what'])}, but the query ends here"
        return f"expected {_article(expected['what'])}, not {expected['text']!r}"
    if description.startswith("Expecting "):
        wanted = description.removeprefix("Expecting ").strip()
        if wanted == ")":
            return "a '(' is not closed: ')' expected here"
        return f"expected {wanted!r} here"
    if "Invalid expression / Unexpected token" in description:
        where = "at the end of the query" if at_end else "here"
        return f"{highlight!r} is not expected {where}" if highlight else "unexpected word"
    return _plain(description)


def _token_error(message: str, sql: str) -> str:
    """sqlglot's tokenizer stops at an unclosed quote or comment: say where the readable part ends."""
    quoted = re.search(r"Error tokenizing '(?P<text>.*)'$", message.strip(), re.DOTALL)
    readable = quoted["text"] if quoted else ""
    opening = max(readable.rfind("'"), readable.rfind('"'))
    if opening >= 0:
        line, column = _position(readable, opening)
        return f"line {line}, column {column}: the quote {readable[opening]} opened here is not closed"
    line, column = _position(readable, len(readable))
    return f"line {line}, column {column}: the query cannot be read from here (a comment that is not closed?)"


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``."""
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _article(what: str) -> str:
    return what if what.split()[0] in ("a", "an", "the") else f"{'an' if what[0] in 'aeiou' else 'a'} {what}"


def _plain(description: str) -> str:
    """Any other message, with sqlglot's token dumps and class names taken out."""
    text = _TOKEN.sub(lambda m: repr(m["text"]), description)
    return re.sub(r"<class '(?:[\w.]*\.)?(\w+)'>", r"\1", text)
