"""app.json_dataclasses: a dataclass's JSON (None fields left out, order kept) and its JSON Schema."""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass

import pytest

from app.json_dataclasses import as_json, described, required, schema_of


@dataclass(frozen=True)
class Inner:
    """A nested thing."""

    word: str = required("A word.", choices="words")


@dataclass(frozen=True)
class Outer:
    """Everything the schema maker knows."""

    text: str = required("Some text.", maxLength=5)
    ratio: float = required("A ratio.", minimum=0, maximum=1)
    count: int = described("A count.", 0)
    flag: bool = described("A flag.", False)
    maybe: str | None = described("Only sometimes.")
    rows: list[list[float]] | None = described("A grid.")
    by_word: dict[str, float] | None = described("One number per word.", choices="words")
    by_name: dict[str, int] | None = described("Any names.")
    inner: Inner | None = described("The nested one.")
    inners: list[Inner] | None = described("Several nested ones.")


WORDS = {"words": ["cat", "dog"]}


@pytest.mark.parametrize("name,expected", [
    ("text", {"type": "string", "maxLength": 5, "description": "Some text."}),
    ("ratio", {"type": "number", "minimum": 0, "maximum": 1, "description": "A ratio."}),
    ("count", {"type": "integer", "description": "A count."}),
    ("flag", {"type": "boolean", "description": "A flag."}),
    ("maybe", {"type": "string", "description": "Only sometimes."}),
    ("rows", {"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "description": "A grid."}),
    ("by_word", {"type": "object", "properties": {"cat": {"type": "number"}, "dog": {"type": "number"}},
                 "description": "One number per word."}),
    ("by_name", {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Any names."}),
    ("inner", {"type": "object", "properties": {"word": {"type": "string", "enum": ["cat", "dog"],
                                                         "description": "A word."}},
               "required": ["word"], "description": "The nested one."}),
])
def test_each_type_has_its_json_schema(name, expected):
    assert schema_of(Outer, WORDS)["properties"][name] == expected


def test_a_list_of_dataclasses_is_an_array_of_their_objects():
    items = schema_of(Outer, WORDS)["properties"]["inners"]["items"]
    assert items["type"] == "object" and items["description"] == "A nested thing."
    assert items["properties"]["word"]["enum"] == ["cat", "dog"]


def test_fields_without_a_default_are_required_and_the_docstring_describes_the_object():
    schema = schema_of(Outer, WORDS)
    assert schema["required"] == ["text", "ratio"]
    assert schema["description"] == "Everything the schema maker knows."


def test_a_field_added_to_a_class_is_in_its_schema_by_itself():
    grown = make_dataclass("Grown", [("extra", int | None, described("Added later."))], bases=(Outer,),
                           frozen=True)
    assert schema_of(grown, WORDS)["properties"]["extra"] == {"type": "integer", "description": "Added later."}


def test_an_unknown_vocabulary_or_type_fails_when_the_schema_is_made():
    with pytest.raises(KeyError):
        schema_of(Inner, {})
    odd = make_dataclass("Odd", [("when", complex, required("A complex number."))], frozen=True)
    with pytest.raises(TypeError, match="complex"):
        schema_of(odd)


def test_as_json_keeps_the_fields_order_and_leaves_out_what_is_none():
    value = Outer(text="hi", ratio=0.5, rows=[[0.5]], by_word={"dog": 1.0, "cat": 0.0}, inners=[Inner("cat")])
    assert as_json(value) == {"text": "hi", "ratio": 0.5, "count": 0, "flag": False, "rows": [[0.5]],
                              "by_word": {"dog": 1.0, "cat": 0.0}, "inners": [{"word": "cat"}]}
    assert list(as_json(value)) == ["text", "ratio", "count", "flag", "rows", "by_word", "inners"]
    assert list(as_json(value)["by_word"]) == ["dog", "cat"]  # a dict's own order, not sorted
