"""Load the YAML configuration into frozen, validated dataclasses.

Every problem is reported with its key path (``telegram.webhook.port: expected an integer``),
all of them at once, before anything starts. ``${VAR}`` and ``${VAR:-default}`` in string
values are expanded from the environment. The bot token is never part of an error message.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

PLACEHOLDER_TOKENS = frozenset({"", "123456:REPLACE_ME", "REPLACE_ME", "YOUR_TOKEN", "<token>"})
LOCALES = ("zh-Hans", "zh-Hant", "en")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists each one with its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))

    def report(self) -> str:
        """A human-readable multi-line report."""
        lines = [f"{self.source}: {len(self.problems)} problem(s) in the configuration:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class WebhookConfig:
    """Where the webhook server listens and the public URL Telegram posts to."""

    listen: str = "127.0.0.1"
    port: int = 8443
    url_path: str = "telegram"
    public_url: str = ""
    secret_token: str = ""


@dataclass(frozen=True)
class TelegramConfig:
    """How the bot reaches Telegram (or a local Bot API server)."""

    token: str = field(default="", repr=False)
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    poll_interval: float = 0.0
    poll_timeout: int = 10
    request_timeout: float = 15.0
    max_retries: int = 5
    concurrent_updates: int = 8
    overall_max_rate: float = 30.0
    group_max_rate: float = 20.0
    webhook: WebhookConfig = field(default_factory=WebhookConfig)


@dataclass(frozen=True)
class ArchiveConfig:
    """Where the archive lives."""

    db: str = "archive.db"
    index: str = ""
    state_db: str = ""
    paths: tuple[str, ...] = ()
    ingest_on_start: bool = False
    reload_interval: float = 30.0

    @property
    def index_path(self) -> str:
        """The saved search index: ``index``, else next to the store."""
        return self.index or self.db + ".index"

    @property
    def state_path(self) -> str:
        """The bot's own state (query log, answered updates): ``state_db``, else next to the store."""
        return self.state_db or self.db + ".state"


@dataclass(frozen=True)
class AnswersConfig:
    """How much of an archived question one reply shows."""

    per_message: int = 3
    chars: int = 600
    max_related: int = 10


@dataclass(frozen=True)
class SiteConfig:
    """The web archive the pages came from (optional)."""

    url_template: str = ""


@dataclass(frozen=True)
class AccessConfig:
    """Who may use the bot. Empty lists mean everyone."""

    allowed_users: tuple[int, ...] = ()
    allowed_chats: tuple[int, ...] = ()


@dataclass(frozen=True)
class RateLimitConfig:
    """Per-user question budget."""

    per_minute: int = 20


@dataclass(frozen=True)
class LoggingConfig:
    """Log level and format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json: bool = False


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    matcher: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    answers: AnswersConfig = field(default_factory=AnswersConfig)
    site: SiteConfig = field(default_factory=SiteConfig)
    locale: Literal["zh-Hans", "zh-Hant", "en"] = "zh-Hans"
    admins: tuple[int, ...] = ()
    access: AccessConfig = field(default_factory=AccessConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: str = field(default="<defaults>", compare=False)


def expand_env(value: str, environ: Mapping[str, str], path: str, problems: list[str]) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}``; an unset variable without default is a problem."""

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        problems.append(f"{path}: environment variable {name} is not set")
        return ""

    return _ENV.sub(repl, value)


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if tp in names:
        return names[tp]
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return "a list"
    if typing.get_origin(tp) in (Mapping, dict):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, path: str, problems: list[str], environ: Mapping[str, str]) -> Any:
    """Check ``value`` against the annotation ``tp``; record a problem and return None when it fails."""
    origin = typing.get_origin(tp)
    if isinstance(value, str):
        value = expand_env(value, environ, path, problems)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, problems, environ)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if value is None and arg is type(None):
                return None
        return _convert(typing.get_args(tp)[0], value, path, problems, environ)
    elif origin is tuple:
        if value is None:
            return ()
        if isinstance(value, list):
            (item_tp, _) = typing.get_args(tp)
            items = [_convert(item_tp, v, f"{path}[{i}]", problems, environ) for i, v in enumerate(value)]
            return tuple(items)
    elif origin in (Mapping, dict):
        if value is None:
            return {}
        if isinstance(value, dict):
            key_tp, val_tp = typing.get_args(tp)
            out = {}
            for k, v in value.items():
                key = _convert(key_tp, k, f"{path}.{k}", problems, environ)
                out[key] = v if val_tp is Any else _convert(val_tp, v, f"{path}.{k}", problems, environ)
            return out
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif tp is Any:
        return value
    shown = "null" if value is None else type(value).__name__
    problems.append(f"{path}: expected {_type_name(tp)}, got {shown}")
    return None


def _build(cls: Any, data: Any, path: str, problems: list[str], environ: Mapping[str, str]) -> Any:
    """Build dataclass ``cls`` from a mapping, recording unknown keys and type errors."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{path or '<top level>'}: expected a mapping, got {type(data).__name__}")
        return cls()
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields))
            problems.append(f"{_join(path, str(key))}: unknown key (known keys: {known})")
    kwargs = {}
    for name in fields:
        if name in data:
            value = _convert(hints[name], data[name], _join(path, name), problems, environ)
            if value is not None:
                kwargs[name] = value
    return cls(**kwargs)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check(cfg: Config, problems: list[str], *, require_token: bool) -> None:
    """Semantic checks that types alone cannot express."""
    tg = cfg.telegram
    if require_token:
        if tg.token.strip() in PLACEHOLDER_TOKENS:
            problems.append(
                "telegram.token: missing or still the example placeholder; set it, e.g. "
                "token: ${ARCHIVE_BOT_TOKEN} and export ARCHIVE_BOT_TOKEN"
            )
        elif any(c.isspace() for c in tg.token) or "/" in tg.token:
            problems.append("telegram.token: contains spaces or '/'; it does not look like a bot token")
    for key, url in (("telegram.base_url", tg.base_url), ("telegram.base_file_url", tg.base_file_url)):
        if not re.match(r"^https?://[^\s/]+", url):
            problems.append(f"{key}: expected an http(s) URL, got {url!r}")
    positive = {
        "telegram.poll_timeout": tg.poll_timeout,
        "telegram.request_timeout": tg.request_timeout,
        "telegram.concurrent_updates": tg.concurrent_updates,
        "answers.per_message": cfg.answers.per_message,
        "answers.chars": cfg.answers.chars,
        "rate_limit.per_minute": cfg.rate_limit.per_minute,
    }
    for key, value in positive.items():
        if value <= 0:
            problems.append(f"{key}: must be greater than 0, got {value}")
    non_negative = {
        "telegram.poll_interval": tg.poll_interval,
        "telegram.max_retries": tg.max_retries,
        "telegram.overall_max_rate": tg.overall_max_rate,
        "telegram.group_max_rate": tg.group_max_rate,
        "archive.reload_interval": cfg.archive.reload_interval,
        "answers.max_related": cfg.answers.max_related,
    }
    for key, value in non_negative.items():
        if value < 0:
            problems.append(f"{key}: must not be negative, got {value}")
    if cfg.answers.per_message > 10:
        problems.append(f"answers.per_message: at most 10 answers fit one message, got {cfg.answers.per_message}")
    if cfg.answers.chars > 3500:
        problems.append(f"answers.chars: at most 3500 so a reply fits Telegram's 4096, got {cfg.answers.chars}")
    if tg.mode == "webhook":
        wh = tg.webhook
        if not re.match(r"^https?://", wh.public_url):
            problems.append("telegram.webhook.public_url: required in webhook mode (the https URL Telegram posts to)")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", wh.secret_token):
            problems.append(
                "telegram.webhook.secret_token: required in webhook mode: 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        if not 0 < wh.port < 65536:
            problems.append(f"telegram.webhook.port: expected 1-65535, got {wh.port}")
    if cfg.site.url_template:
        if not re.match(r"^https?://", cfg.site.url_template):
            problems.append("site.url_template: expected an http(s) URL such as https://example.org/q/{id}")
        else:
            try:
                cfg.site.url_template.format(id="x", title="x")
            except (KeyError, IndexError, ValueError) as exc:
                problems.append(f"site.url_template: only {{id}} and {{title}} may be used ({exc!s})")
    if not cfg.archive.db:
        problems.append("archive.db: required (the SQLite file of the archive)")


def _resolve_paths(cfg: Config, base: Path) -> Config:
    """Relative paths in the file are taken relative to the config file's folder."""

    def res(p: str) -> str:
        return p if not p or os.path.isabs(p) else str((base / p).resolve())

    a = cfg.archive
    archive = dataclasses.replace(
        a, db=res(a.db), index=res(a.index), state_db=res(a.state_db), paths=tuple(res(p) for p in a.paths)
    )
    return dataclasses.replace(cfg, archive=archive)


def parse_config(
    data: Any,
    *,
    source: str = "<config>",
    base: Path | None = None,
    environ: Mapping[str, str] | None = None,
    require_token: bool = True,
    matcher_fields: Mapping[str, type] | None = None,
) -> Config:
    """Validate already-loaded YAML data; raise :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    env = os.environ if environ is None else environ
    cfg = _build(Config, data, "", problems, env)
    if matcher_fields is not None:
        for key, value in cfg.matcher.items():
            if key not in matcher_fields:
                problems.append(f"matcher.{key}: unknown key (known keys: {', '.join(sorted(matcher_fields))})")
            else:
                _convert(matcher_fields[key], value, f"matcher.{key}", problems, env)
    if not problems:
        _check(cfg, problems, require_token=require_token)
    if problems:
        raise ConfigError(source, problems)
    if base is not None:
        cfg = _resolve_paths(cfg, base)
    return dataclasses.replace(cfg, source=source)


def load_config(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    require_token: bool = True,
    matcher_fields: Mapping[str, type] | None = None,
) -> Config:
    """Read and validate a YAML file. Raises :class:`ConfigError` (never a bare traceback)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(p), [f"cannot read the file: {exc.__class__.__name__}: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(p), [f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    return parse_config(
        data, source=str(p), base=p.resolve().parent, environ=environ,
        require_token=require_token, matcher_fields=matcher_fields,
    )
