"""A bounded fuzz run in CI: any bytes become model input or a clean ImageError."""

from __future__ import annotations

from hypothesis import given, settings

from benchmarks.fuzz import check, damaged_images, inputs


@settings(max_examples=300, deadline=None, database=None)
@given(inputs)
def test_any_bytes_become_model_input_or_a_clear_error(data):
    check(data)


@settings(max_examples=200, deadline=None, database=None)
@given(damaged_images())
def test_damaged_images_of_every_format_never_crash(data):
    assert check(data) in {"ok", "empty_file", "unsupported_format", "corrupt_image", "too_many_pixels"}
