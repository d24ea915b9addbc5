"""Pydantic models built from the settings declaration (`nexus/settings_model.py`), and the one
function that validates settings with them.

Imported on first use, never at start-up: pydantic costs ~60 ms to import and build, and a
start whose stored settings were already validated by this declaration needs none of it (see
`Settings._load`). Validation is strict, as JSON gives it: true is not a number, "5" is not a
whole number, a whole number is a fine float. Pydantic's errors are reworded per setting the way
the settings page shows them ("must be at least 1", "must be one of off, quick, named", a check's
own message).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from nexus.settings_model import GROUPS, KIND_NAMES, SPECS, Check, SettingSpec

_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True)


def _run(check: Check, kind: type) -> BeforeValidator:
    """A check sees only values of its setting's base type; pydantic names any other type wrong."""

    def run(value: Any) -> Any:
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            problem = check(value)
            if problem:
                raise ValueError(problem)
        return value

    return BeforeValidator(run)


def _field(spec: SettingSpec) -> tuple[Any, Any]:
    metadata: list[Any] = [Field(ge=spec.minimum, le=spec.maximum, description=spec.description)]
    if spec.check is not None:
        metadata.append(_run(spec.check, spec.kind))
    return Annotated[spec.annotation, *metadata], spec.default


@cache
def model() -> type[BaseModel]:
    """The pydantic model of all settings: one sub-model per group."""
    groups: dict[str, Any] = {}
    for group, cls in GROUPS.items():
        fields: dict[str, Any] = {spec.key.split(".", 1)[1]: _field(spec) for spec in SPECS
                                  if spec.key.startswith(f"{group}.")}
        sub = create_model(f"{cls.__name__}Model", __config__=_CONFIG, **fields)
        groups[group] = (sub, Field(default_factory=sub))
    return create_model("NexusSettingsModel", __config__=_CONFIG, **groups)


def _message(spec: SettingSpec, error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']:g}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']:g}"
    if kind == "literal_error" and spec.choices:
        return f"must be one of {', '.join(spec.choices)}"
    return f"must be {KIND_NAMES[spec.kind]}"  # a value of another type (or inside an object: of the wrong type)


def validate(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validates a complete set of values by key; returns (the values as validated, {}) or
    ({}, the first problem of each setting that is wrong)."""
    specs = {spec.key: spec for spec in SPECS}
    errors: dict[str, str] = {k: "no such setting" for k in values if k not in specs}
    nested: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
    for key, value in values.items():
        if key in specs:
            group, name = key.split(".", 1)
            nested[group][name] = value
    try:
        checked = model().model_validate(nested)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"][:2])
            if key in specs and key not in errors:
                errors[key] = _message(specs[key], error)
            elif key not in specs:
                errors.setdefault(key, "no such setting")
        return {}, errors
    if errors:
        return {}, errors
    return {spec.key: getattr(getattr(checked, spec.key.split(".")[0]), spec.key.split(".")[1])
            for spec in SPECS}, {}
