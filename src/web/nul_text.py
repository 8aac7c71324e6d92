"""Whether a GraphQL request carries U+0000 (NUL) in any of its text, which PostgreSQL can
neither store nor compare: refused up front as BAD_USER_INPUT, on every backend alike.

The text is looked at decoded: the strings of `variables` (keys and values, however nested),
`operationName`, and the string literals of the document as GraphQL reads them (`"\\u0000"`,
`"\\u{0}"`). A backslash followed by `u0000` that is just text — JSON's `"\\\\u0000"`, a
block string — is no NUL and passes. Cheap for what it guards: the document is tokenized only
when it holds a `\\u` escape at all, and the variables are scanned by orjson (C) first and
walked in Python only when its output shows an escaped NUL or something like one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from graphql import GraphQLError
from graphql.language import Lexer, Source, TokenKind

NUL = "\x00"
ESCAPED_NUL = b"\\u0000"
"""How JSON writes NUL, and all orjson writes for it."""
STRING_TOKENS = (TokenKind.STRING, TokenKind.BLOCK_STRING)


def carries_nul(payload: Mapping[str, Any], max_tokens: int) -> bool:
    query, name = payload.get("query"), payload.get("operationName")
    if isinstance(name, str) and NUL in name:
        return True
    if isinstance(query, str) and _document_has_nul(query, max_tokens):
        return True
    variables = payload.get("variables")
    return variables is not None and _value_has_nul(variables)


def _document_has_nul(document: str, max_tokens: int) -> bool:
    """A NUL in the document itself, or in a string literal once GraphQL decodes its
    escapes. A document the lexer refuses, or longer than `max_tokens`, is left to the
    executor, which refuses it with its own error."""
    if NUL in document:
        return True
    if "\\u" not in document:
        return False
    lexer = Lexer(Source(document))
    try:
        for _ in range(max_tokens):
            token = lexer.advance()
            if token.kind is TokenKind.EOF:
                return False
            if token.kind in STRING_TOKENS and token.value and NUL in token.value:
                return True
    except GraphQLError:
        return False
    return False


def _value_has_nul(value: Any) -> bool:
    try:
        if ESCAPED_NUL not in orjson.dumps(value):
            return False
    except TypeError:
        pass
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
