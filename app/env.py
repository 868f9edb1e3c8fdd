"""Typed readers for settings taken from the environment (twelve-factor).

A malformed value fails at start-up with ImproperlyConfigured instead of
being half-understood at request time.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """A string; NAME_FILE (e.g. a mounted secret) wins over NAME."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE={file_path}: {error.strerror}") from error
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if not number >= minimum:  # also refuses nan
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}, not {value}")
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_zone(name: str, default: str) -> str:
    """An IANA time zone name (UTC, Europe/Amsterdam), checked against the zone database."""
    value = os.environ.get(name) or default
    if value == "UTC":
        return value  # known without a zone database (slim images may lack one)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a time zone such as UTC or Europe/Amsterdam, not {value!r}") from None
    return value


# --- the settings the web app (app/settings.py) and the batch command (app/classify.py) share ---

def model_variant() -> str:
    """MODEL_VARIANT: auto runs int8 where the CPU gains from it (app/inference/variant.py)."""
    from app.inference.variant import CHOICES

    return env_choice("MODEL_VARIANT", "auto", CHOICES)


DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def max_upload_bytes() -> int:
    """MAX_UPLOAD_BYTES: the API's whole request body, the command's each file."""
    return env_int("MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES, minimum=1024)


def max_image_pixels() -> int:
    """MAX_IMAGE_PIXELS: the largest picture decoded, as its file declares it."""
    from app.inference.preprocess import DEFAULT_MAX_PIXELS

    return env_int("MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS, minimum=1)
