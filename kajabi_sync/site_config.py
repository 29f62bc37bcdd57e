"""How the site's settings are read: one pydantic-settings model per group of settings (the guard
thresholds, the plan settings, the push thresholds, the Kajabi API settings), each field
declared once in its model.

Where a value comes from, the first source that has it winning:

1. this run's override (``Model.load(overrides=...)``: the Launchpad or the command line);
2. environment variables, ``KAJABI_SYNC_`` + the field's name in capitals (empty = unset);
3. the model's table (``toml_table``) in the site's TOML file: ``KAJABI_SYNC_THRESHOLDS_FILE``
   (it must exist), else ``kajabi_sync.toml`` at the repository root when it exists;
4. the model's defaults.

Every source is checked on its own before the sources are merged, so a mistake is refused naming
where it is (the file and table, the variable, the override) even when a higher source hides it
this time: a misspelt name or a bad value is an error, never silently ignored, because a setting
that quietly fell back to another value would be worse than one that refuses to start.

Constructing a model directly (``Thresholds(max_conflicts=3)``) reads no file and no environment:
it is the defaults plus the values given, checked the same way.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kajabi_sync.settings import REPO_ROOT

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

SITE_FILE_ENV = "KAJABI_SYNC_THRESHOLDS_FILE"
DEFAULT_SITE_FILE = REPO_ROOT / "kajabi_sync.toml"
ENV_PREFIX = "KAJABI_SYNC_"


def env_name(field: str) -> str:
    """The environment variable of a setting: ``KAJABI_SYNC_`` + its name in capitals."""
    return ENV_PREFIX + field.upper()


def not_boolean(value: Any) -> Any:
    """A field validator (``BeforeValidator``) for numbers: ``True`` would pass as 1, and a
    switch where a number belongs is a mistake, not a limit."""
    if isinstance(value, bool):
        raise ValueError("a number, not a boolean")
    return value


def site_file(environ: Mapping[str, str]) -> Path | None:
    """The site's TOML file: the one ``KAJABI_SYNC_THRESHOLDS_FILE`` names (it must exist), else
    the repository's ``kajabi_sync.toml`` when it exists."""
    named = environ.get(SITE_FILE_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"{SITE_FILE_ENV}={named}: no such file")
        return path
    return DEFAULT_SITE_FILE if DEFAULT_SITE_FILE.is_file() else None


@dataclass(frozen=True)
class _Loading:
    """What ``SiteSettings.load`` reads besides the override."""

    environ: Mapping[str, str]
    file: Path | None


# Set while ``SiteSettings.load`` builds a model; unset, a model is built from its arguments only.
_LOADING: ContextVar[_Loading | None] = ContextVar("kajabi_sync_site_settings", default=None)


class SiteSettings(BaseSettings):
    """A group of site settings (see the module docstring). A subclass declares its fields, with
    their constraints in the field types (each source is checked against them), and says how a
    refusal reads: ``error`` (its exception), ``noun`` and ``allowed``."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,
    )

    toml_table: ClassVar[str | None] = None  # the model's table in the site's file; None: none
    override_source: ClassVar[str] = "override"  # how a refusal names this run's override
    error: ClassVar[type[ValueError]] = ValueError
    noun: ClassVar[str] = "setting"

    @classmethod
    def allowed(cls, name: str) -> str:
        """What a field accepts, in words ("a non-negative float", "one of a, b")."""
        raise NotImplementedError

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Self:
        """The override, then the environment (``os.environ`` unless given), then the site's
        file, then the defaults, each source checked (see the module docstring)."""
        environ = os.environ if environ is None else environ
        try:
            file = None if cls.toml_table is None else site_file(environ)
        except FileNotFoundError as missing:
            raise cls.error(str(missing)) from None
        token = _LOADING.set(_Loading(environ=environ, file=file))
        try:
            return cls(**dict(overrides or {}))
        finally:
            _LOADING.reset(token)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Self:
        """A copy with some fields replaced (unknown names and bad values refused)."""
        return self.model_copy(update=type(self).check(overrides, self.override_source))

    @classmethod
    def check(cls, values: Mapping[str, Any], where: str | None) -> dict[str, Any]:
        """``values`` validated (``"2"`` becomes 2.0 for a percentage); unknown names and bad
        values refused (``cls.error``), ``where`` naming their source."""
        try:
            checked = _values_model(cls).model_validate(dict(values))
        except ValidationError as invalid:
            raise cls.refusal(where, invalid.errors()) from None
        return {name: getattr(checked, name) for name in values}

    @classmethod
    def refusal(cls, where: str | None, errors: list[ErrorDetails]) -> ValueError:
        prefix = f"{where}: " if where else ""
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        if unknown:
            return cls.error(
                f"{prefix}unknown {cls.noun}(s) {', '.join(unknown)}; "
                f"known: {', '.join(cls.model_fields)}"
            )
        name = str(errors[0]["loc"][0])
        return cls.error(
            f"{prefix}{cls.noun} {name} must be {cls.allowed(name)}, not {errors[0]['input']!r}"
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        loading = _LOADING.get()
        if loading is None:  # built directly: the arguments, checked, over the defaults
            return (_Checked(cls, init_settings, lambda _: None),)
        sources: list[PydanticBaseSettingsSource] = [
            _Checked(cls, init_settings, lambda _: cls.override_source),
            _Checked(cls, _Environment(cls, loading.environ), env_name),
        ]
        if loading.file is not None and cls.toml_table is not None:
            where = f"{loading.file} [{cls.toml_table}]"
            table = _FileTable(cls, loading.file, cls.toml_table)
            sources.append(_Checked(cls, table, lambda _: where))
        return tuple(sources)


_VALUES_MODELS: dict[type[SiteSettings], type[BaseModel]] = {}


def _values_model(settings: type[SiteSettings]) -> type[BaseModel]:
    """A plain model with the settings' fields (their types, constraints and defaults) that
    validates one source's values without reading any other source."""
    if settings not in _VALUES_MODELS:
        fields: dict[str, tuple[Any, FieldInfo]] = {
            name: (info.annotation, info) for name, info in settings.model_fields.items()
        }
        _VALUES_MODELS[settings] = create_model(  # type: ignore[call-overload]
            f"{settings.__name__}Values", __config__=ConfigDict(extra="forbid"), **fields
        )
    return _VALUES_MODELS[settings]


class _Checked(PydanticBaseSettingsSource):
    """A source whose values are checked before they are merged; ``where(field)`` names the
    source in a refusal (a field's variable for the environment)."""

    def __init__(
        self,
        settings_cls: type[SiteSettings],
        source: PydanticBaseSettingsSource,
        where: Callable[[str], str | None],
    ) -> None:
        super().__init__(settings_cls)
        self.settings = settings_cls
        self.source = source
        self.where = where

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        values = self.source()
        for group in _by_where(values, self.where):
            self.settings.check(group, self.where(next(iter(group))))
        return values


def _by_where(
    values: dict[str, Any], where: Callable[[str], str | None]
) -> Iterator[dict[str, Any]]:
    """The values grouped by how a refusal names their source."""
    groups: dict[str | None, dict[str, Any]] = {}
    for name, value in values.items():
        groups.setdefault(where(name), {})[name] = value
    yield from groups.values()


class _Environment(EnvSettingsSource):
    """The environment source reading the mapping ``load`` was given (``os.environ`` in use, a
    test's own mapping in tests). Names are compared in lower case; empty values are unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self.environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self.environ.items() if value != ""}


class _FileTable(TomlConfigSettingsSource):
    """One table of the site's TOML file (an absent table gives nothing)."""

    def __init__(self, settings_cls: type[SiteSettings], path: Path, table: str) -> None:
        self.settings = settings_cls
        self.table = table
        super().__init__(settings_cls, toml_file=path, toml_table_header=())

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            document = super()._read_file(file_path)
        except tomllib.TOMLDecodeError as invalid:
            raise self.settings.error(f"{file_path}: not valid TOML ({invalid})") from None
        table = document.get(self.table, {})
        if not isinstance(table, dict):
            raise self.settings.error(f"{file_path}: [{self.table}] must be a table")
        return table
