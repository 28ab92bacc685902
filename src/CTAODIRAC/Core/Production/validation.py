"""Turn pydantic's validation errors into :class:`~.errors.Issue` objects a production manager can act on.

pydantic's ``loc`` mixes document keys with union tags (``ctapipe-process``, ``str``...); the document
itself tells them apart. The message says what is wrong and what is allowed (for unknown keys, the keys
the model accepts, with a close match when there is one).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Issue, KeyPath, SpecValidationError

__all__ = ["clean_path", "issues_from_validation_error", "validated"]

_PATTERN_HELP = {
    r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$": "letters, digits and '_ . + -', starting with a letter or digit",
    r"^[A-Za-z0-9$][A-Za-z0-9_.+${}-]*$": "letters, digits, '_ . + -' and ${variables}, starting with a letter, "
    "a digit or a variable",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "letters, digits and '_', not starting with a digit",
}


def clean_path(data: Any, loc: Sequence[str | int], keep_missing_last: bool = True) -> KeyPath:
    """The document key path of a pydantic ``loc``: elements that are not keys of ``data`` are union tags
    and are dropped, except a last key that is missing from the document."""
    path: list[str | int] = []
    node = data
    for index, element in enumerate(loc):
        if isinstance(node, Mapping) and node.get("kind") == element and isinstance(element, str):
            continue  # the tag of a step kind (``executable`` is also a key of that kind)
        if isinstance(node, Mapping) and element in node:
            node = node[element]
            path.append(element)
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(element, int):
            if 0 <= element < len(node):
                node = node[element]
                path.append(element)
        elif keep_missing_last and index == len(loc) - 1 and isinstance(node, Mapping) and isinstance(element, str):
            path.append(element)
    return tuple(path)


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _tag_of(tp: Any) -> str | None:
    if typing.get_origin(tp) is typing.Annotated:
        for meta in typing.get_args(tp)[1:]:
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                return tag
    base = _strip(tp)
    if isinstance(base, type) and issubclass(base, BaseModel) and "kind" in base.model_fields:
        literal = base.model_fields["kind"].annotation
        args = typing.get_args(literal)
        if args:
            return str(args[0])
    return None


def _child_type(tp: Any, element: str | int) -> Any:
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(element) if isinstance(element, str) else None
        return field.annotation if field is not None else None
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(tp)
        for member in members:
            if _tag_of(member) == element:
                return member
        non_none = [m for m in members if _strip(m) is not type(None)]
        if len(non_none) == 1:
            return _child_type(non_none[0], element)
        return None
    if origin in (list, Sequence) and isinstance(element, int):
        return typing.get_args(tp)[0]
    if origin in (dict, Mapping):
        return typing.get_args(tp)[1]
    return None


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    tp: Any = root
    for element in loc:
        # A union with a single model and None (``X | None``) is transparent.
        stripped = _strip(tp)
        if typing.get_origin(stripped) in (typing.Union, types.UnionType):
            members = [m for m in typing.get_args(stripped) if _strip(m) is not type(None)]
            if len(members) == 1:
                tp = members[0]
        tp = _child_type(tp, element)
        if tp is None:
            return None
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(tp) if _strip(m) is not type(None)]
        tp = _strip(members[0]) if len(members) == 1 else None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{value!r}"


def _message(error: Mapping[str, Any], root: type[BaseModel] | None) -> str:
    kind = error["type"]
    loc = error["loc"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        key = loc[-1]
        model = _model_at(root, loc[:-1]) if root is not None else None
        if model is None:
            return f"unknown key '{key}'"
        allowed = [name for name in model.model_fields]
        close = [name for name in allowed if name.startswith(str(key)) or str(key).startswith(name)]
        close = close or difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{key}'{hint}; allowed keys: {', '.join(allowed)}"
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    if kind == "literal_error":
        return f"{_describe(value)} is not allowed; allowed: {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        key = str(ctx.get("discriminator", "kind")).strip("'")
        return f"unknown {key} {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        key = str(ctx.get("discriminator", "kind")).strip("'")
        return f"missing required key '{key}' (it says which kind of step this is)"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"{_describe(value)} is not a valid name; use {_PATTERN_HELP.get(pattern, 'the pattern ' + pattern)}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"needs at least {ctx.get('min_length')} entries"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {_describe(value)}"
    if kind == "list_type":
        return f"expected a list, got {_describe(value)}"
    if kind in ("string_type",):
        return f"expected a string, got {_describe(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected an integer, got {_describe(value)}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be {'>=' if kind == 'greater_than_equal' else '>'} {ctx.get('ge', ctx.get('gt'))}, got {value!r}"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "must not be empty"
    return f"{error['msg']} (got {_describe(value)})"


def issues_from_validation_error(
    exc: ValidationError,
    data: Any,
    root: type[BaseModel] | None = None,
    prefix: KeyPath = (),
    suffix: str = "",
) -> list[Issue]:
    """One issue per document node: the messages of alternative union members are joined with 'or'."""
    by_path: dict[KeyPath, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc += (str((error.get("ctx") or {}).get("discriminator", "kind")).strip("'"),)
        missing_key = error["type"] in ("missing", "union_tag_not_found")
        path = prefix + clean_path(data, loc, keep_missing_last=missing_key)
        message = _message(error, root)
        messages = by_path.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    issues = []
    for path, messages in by_path.items():
        if len(messages) > 1 and all(m.startswith("expected ") for m in messages):
            got = messages[0].split(", got ", 1)[-1]
            kinds = [m.removeprefix("expected ").split(", got ", 1)[0] for m in messages]
            text = f"expected {' or '.join(kinds)}, got {got}"
        else:
            text = "; or ".join(messages)
        issues.append(Issue(message=text + suffix, path=path))
    return issues


def validated(model: type[BaseModel], data: Any) -> Any:
    """``model`` validated from plain ``data``; a validation error becomes a :class:`~.errors.SpecValidationError`
    whose issues carry key paths (not yet file positions)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecValidationError(issues_from_validation_error(exc, data, model)) from None
