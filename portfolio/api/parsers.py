"""The API's JSON parser: a body too deeply nested is a 400, like any malformed body.

Python's JSON decoder recurses once per level of nesting, so a body of a few thousand
``[`` exhausts the interpreter's stack (``RecursionError``, which DRF's parser does not
catch: a 500). No body the API accepts is more than a few levels deep, so anything past
``MAX_DEPTH`` is refused, whether the decoder gave up or not; checking the parsed value
without recursion means nothing later walks a structure that deep either.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
TOO_DEEP = f"The JSON body is nested too deeply: at most {MAX_DEPTH} levels."


def _depth(value) -> int:
    """How many arrays and objects are nested at the deepest point, counted iteratively."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body nested deeper than ``MAX_DEPTH`` with 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if _depth(data) > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        return data
