"""Picks a port's adapter from a setting, like Django's EMAIL_BACKEND or CACHES."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string


@cache
def _instance(setting: str, value: str, choices: tuple[tuple[str, str], ...]) -> Any:
    path = dict(choices).get(value, value)
    try:
        cls = import_string(path)
    except ImportError as exc:
        names = ", ".join(name for name, _ in choices)
        raise ImproperlyConfigured(
            f"{setting}={value!r}: expected one of {names} or a dotted path ({exc})"
        ) from exc
    return cls()


def adapter(setting: str, choices: dict[str, str]) -> Any:
    """The one instance of the adapter named by `settings.<setting>`.

    `choices` maps short names to dotted class paths; any other value is taken as
    a dotted path itself. Instances are cached per setting value.
    """
    value = getattr(settings, setting)
    return _instance(setting, value, tuple(sorted(choices.items())))


def _reset(**kwargs: object) -> None:
    _instance.cache_clear()


setting_changed.connect(_reset)
