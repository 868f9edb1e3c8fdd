"""Frozen dataclasses as JSON: their values (`as_json`) and their JSON Schema (`schema_of`),
read from the fields and their type hints, each field described once in its metadata
(`described`, `required`), so that the document cannot fall behind the classes.

Types understood: str, float, int, bool, X | None, list[X], dict[str, X] and nested
dataclasses; any other raises TypeError when the schema is made, not later.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import MISSING, Field, field, fields, is_dataclass
from typing import Any

_PLAIN = {str: "string", float: "number", int: "integer", bool: "boolean"}
_REQUIRED = object()


def described(description: str, default: Any = None, *, choices: str = "", **keywords: Any) -> Any:
    """A field with its description. `choices` names a vocabulary given to `schema_of` (a string
    is one of its words, a dict is keyed by them); `keywords` are further JSON Schema keywords
    (minimum, maximum...)."""
    metadata = {"description": description, "choices": choices, "keywords": keywords}
    if default is _REQUIRED:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


def required(description: str, *, choices: str = "", **keywords: Any) -> Any:
    """A field without a default: always in the JSON, and listed as required in the schema."""
    return described(description, _REQUIRED, choices=choices, **keywords)


def as_json(value: Any) -> Any:
    """A dataclass as dicts, fields in their order, those left None out; lists and dicts walked."""
    if is_dataclass(value):
        pairs = ((f.name, getattr(value, f.name)) for f in fields(value))
        return {name: as_json(item) for name, item in pairs if item is not None}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value


def schema_of(cls: type, vocabularies: dict[str, list[str]] | None = None) -> dict:
    """The JSON Schema of a dataclass, its description from its docstring."""
    return {**_object(cls, vocabularies or {}), "description": inspect.cleandoc(cls.__doc__ or "")}


def _object(cls: type, vocabularies: dict[str, list[str]]) -> dict:
    hints = typing.get_type_hints(cls)
    schema: dict[str, Any] = {"type": "object",
                              "properties": {f.name: _property(f, hints[f.name], vocabularies) for f in fields(cls)}}
    needed = [f.name for f in fields(cls) if _is_required(f)]
    if needed:
        schema["required"] = needed
    return schema


def _is_required(f: Field) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _property(f: Field, hint: Any, vocabularies: dict[str, list[str]]) -> dict:
    words = vocabularies[f.metadata["choices"]] if f.metadata.get("choices") else None
    schema = {**_schema(_without_none(hint), vocabularies, words), **f.metadata.get("keywords", {})}
    if f.metadata.get("description"):
        schema["description"] = f.metadata["description"]
    return schema


def _without_none(hint: Any) -> Any:
    """X for X | None (absent from the JSON rather than null); the hint itself otherwise."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return hint


def _schema(hint: Any, vocabularies: dict[str, list[str]], words: list[str] | None = None) -> dict:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _PLAIN:
        return {"type": _PLAIN[hint], **({"enum": list(words)} if words is not None else {})}
    if origin is list:
        return {"type": "array", "items": _schema(args[0], vocabularies)}
    if origin is dict and args[0] is str:
        if words is not None:
            return {"type": "object", "properties": {word: _schema(args[1], vocabularies) for word in words}}
        return {"type": "object", "additionalProperties": _schema(args[1], vocabularies)}
    if is_dataclass(hint):
        return schema_of(hint, vocabularies)
    raise TypeError(f"no JSON Schema for the type {hint!r}")
