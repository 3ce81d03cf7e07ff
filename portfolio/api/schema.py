"""Post-processing of the OpenAPI schema: say what the server refuses, so that the schema
and the validation agree (a client, or a fuzzer, reading it is never surprised)."""

from __future__ import annotations

from django.conf import settings

from portfolio.api.common import NO_NUL

# Text that is not blank once trimmed (Python's ``str.strip``, as the serializers trim):
# at least one character that is neither whitespace nor NUL.
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000\\u001c-\\u001f\\u0085][^\\u0000]*$"


def _text_without_nul(schema: dict) -> None:
    """Every free text of a request body may not hold a NUL character: PostgreSQL cannot
    store one, and the serializers refuse it (400). Required text must not be blank."""
    for prop in schema.get("properties", {}).values():
        if prop.get("type") == "string" and "enum" not in prop and "pattern" not in prop:
            prop["pattern"] = NOT_BLANK if prop.get("minLength", 0) >= 1 else NO_NUL
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            _text_without_nul({"properties": {"item": prop["items"]}})


def refuse_nul_in_request_text(result, generator, request, public):
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the shapes clients send
            _text_without_nul(component)
    return result


# The schema is read by people: it states the rates in force, never a setting's name.
THROTTLED_TEXT = ("Too many requests: more than {user} from this user, or more than "
                  "{token_failure} failed token sign-ins from this address. The one error "
                  "shape, code \"throttled\".")


def throttled_response() -> dict:
    rates = {scope: rate.replace("/", " requests per ", 1) if scope == "user"
             else rate.replace("/", " per ", 1)
             for scope, rate in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items()}
    return {
        "description": THROTTLED_TEXT.format(**rates),
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1},
                                    "description": "Seconds to wait before trying again."}},
    }


def document_throttling(result, generator, request, public):
    """Every operation may answer 429 (``portfolio.api.throttling``)."""
    throttled = throttled_response()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("429", throttled)
    return result
