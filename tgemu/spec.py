"""Access to the vendored machine-readable Bot API spec (``botapi.json``).

The emulator decides from the spec — not from a hand-written list — which methods exist (an
unknown one gets Telegram's 404), which fields are required, and how to coerce form-encoded
string values into typed ones.  Telegram treats method names case-insensitively, so lookups do
too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One parameter of a Bot API method."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One Bot API method: its canonical camelCase name and its parameters."""

    name: str
    fields: dict[str, FieldSpec]
    returns: tuple[str, ...]

    @property
    def required_fields(self) -> list[str]:
        """Names of parameters the spec marks required, in documentation order."""
        return [f.name for f in self.fields.values() if f.required]


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """The whole spec, indexed for case-insensitive method lookup."""

    version: str
    methods: dict[str, MethodSpec]
    types: frozenset[str]

    def method(self, name: str) -> MethodSpec | None:
        """The method called ``name`` (any letter case), or None if Telegram has no such method."""
        return self.methods.get(name.lower())


def _parse(raw: dict[str, Any]) -> ApiSpec:
    methods: dict[str, MethodSpec] = {}
    for name, body in raw["methods"].items():
        fields = {
            f["name"]: FieldSpec(f["name"], tuple(f["types"]), bool(f["required"]))
            for f in body.get("fields", [])
        }
        methods[name.lower()] = MethodSpec(name, fields, tuple(body.get("returns", [])))
    return ApiSpec(str(raw.get("version", "")), methods, frozenset(raw.get("types", {})))


@cache
def load_spec() -> ApiSpec:
    """Load and index ``botapi.json`` once per process."""
    text = resources.files("tgemu").joinpath("botapi.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))
