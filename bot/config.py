"""The YAML configuration as frozen pydantic models: every key, its type and its bounds, defined once.

Every problem is reported at once with its key path (``telegram.webhook.port: …``) and pydantic's
message, never the value given (a token pasted into the wrong key must not be printed).
``${VAR}`` and ``${VAR:-default}`` in string values are expanded from the environment *before*
validation, so an expanded value is validated and converted like any other. Relative paths are
taken from the config file's folder.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

PLACEHOLDER_TOKENS = frozenset({"", "123456:REPLACE_ME", "REPLACE_ME", "YOUR_TOKEN", "<token>"})
Locale = Literal["zh-Hans", "zh-Hant", "en"]
LOCALES: tuple[str, ...] = get_args(Locale)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_HTTP_URL = re.compile(r"^https?://[^\s/]+")


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


def check_url_template(template: str | None) -> str | None:
    """A web-page URL template may use only ``{id}`` and ``{title}`` and must be an http(s) URL."""
    if not template:
        return template
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
        url = template.format(id="abc", title="t")
    except Exception as exc:  # KeyError, IndexError, AttributeError ({title.x}), ValueError ({)
        raise ValueError(f"only {{id}} and {{title}} may be used ({type(exc).__name__})") from None
    if any(name not in ("id", "title") or spec or conv for name, spec, conv in fields):
        raise ValueError("only {id} and {title} may be used, without attributes, indexes or format specs")
    if not url.startswith(("https://", "http://")):
        raise ValueError("expected an http(s) URL such as https://example.org/q/{id}")
    return template


def _http_url(value: str) -> str:
    if not _HTTP_URL.match(value):
        raise ValueError("expected an http(s) URL")
    return value


UrlTemplate = Annotated[str, AfterValidator(check_url_template)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
#: Bounds shared by the config and the renderer's settings (one definition each).
AnswersPerMessage = Annotated[int, Field(ge=1, le=10, description="answers shown in one reply")]
AnswerChars = Annotated[int, Field(ge=40, le=3500, description="trim length; 3500 keeps a reply under 4096")]
MaxRelated = Annotated[int, Field(ge=0, le=20, description="related-topic buttons")]
Score = Annotated[float, Field(ge=0, le=100)]


class Section(BaseModel):
    """Base of every section: unknown keys are errors, NaN/inf refused, numbers accepted as strings."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        """A section or list left empty in YAML (``matcher:`` with only comments) takes its default;
        ``true``/``false`` is not a number (pydantic would take it as 1/0)."""
        if not isinstance(data, dict):
            return data
        out = {}
        for key, value in data.items():
            f = cls.model_fields.get(key)
            if f is not None and value is None and isinstance(f.default, BaseModel | tuple | dict):
                continue
            if f is not None and isinstance(value, bool) and f.annotation in (int, float):
                value = str(value).lower()  # fails number parsing with pydantic's own message
            out[key] = value
        return out


class WebhookConfig(Section):
    """Where the webhook server listens and the public URL Telegram posts to."""

    listen: str = "127.0.0.1"
    port: int = Field(8443, ge=1, le=65535)
    url_path: str = "telegram"
    public_url: str = ""
    secret_token: str = Field("", repr=False)
    read_timeout: float = Field(10.0, gt=0, le=120, description="seconds a client may take to send headers or body")
    claim_lease: float = Field(15.0, ge=1, le=3600, description="replicas: seconds before another replica takes over "
                               "an update claimed by one that died")


class TelegramConfig(Section):
    """How the bot reaches Telegram (or a local Bot API server)."""

    token: str = Field("", repr=False)
    base_url: HttpUrl = "https://api.telegram.org/bot"
    base_file_url: HttpUrl = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    poll_interval: float = Field(0.0, ge=0)
    poll_timeout: int = Field(10, gt=0, le=600)
    request_timeout: float = Field(15.0, gt=0)
    max_retries: int = Field(5, ge=0, le=100)
    concurrent_updates: int = Field(8, gt=0, le=1024)
    overall_max_rate: float = Field(30.0, ge=0)
    group_max_rate: float = Field(20.0, ge=0)
    webhook: WebhookConfig = WebhookConfig()

    @field_validator("token")
    @classmethod
    def _token(cls, token: str, info: ValidationInfo) -> str:
        if not (info.context or {}).get("require_token", True):
            return token
        if token.strip() in PLACEHOLDER_TOKENS:
            raise ValueError(
                "missing or still the example placeholder; set it, e.g. token: ${ARCHIVE_BOT_TOKEN} "
                "and export ARCHIVE_BOT_TOKEN"
            )
        if any(c.isspace() for c in token) or "/" in token:
            raise ValueError("contains spaces or '/'; it does not look like a bot token")
        return token

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> TelegramConfig:
        if self.mode != "webhook":
            return self
        problems = []
        if not re.match(r"^https?://", self.webhook.public_url):
            problems.append("webhook.public_url: required in webhook mode (the https URL Telegram posts to)")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook.secret_token):
            problems.append(
                "webhook.secret_token: required in webhook mode: 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        if problems:
            raise ValueError(_MULTI + _MULTI.join(problems))
        return self


def is_database_url(value: str) -> bool:
    """A PostgreSQL URL (``postgresql://…`` or ``postgres://…``) rather than an SQLite file path."""
    return value.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class ArchiveConfig(Section):
    """Where the archive lives: ``db`` and ``state_db`` are SQLite file paths or ``postgresql://`` URLs."""

    db: str = Field("archive.db", min_length=1)
    index: str = ""
    state_db: str = ""
    paths: tuple[str, ...] = ()
    ingest_on_start: bool = False
    reload_interval: float = Field(30.0, ge=0)

    @property
    def index_path(self) -> str:
        """The saved search index: ``index``, else next to the store (in the working folder for a URL)."""
        return self.index or ("archive-bot.index" if is_database_url(self.db) else self.db + ".index")

    @property
    def state_path(self) -> str:
        """The bot's own state (query log, answered updates): ``state_db``, else next to the store
        (for a PostgreSQL store: the same database, in a schema of its own)."""
        return self.state_db or (self.db if is_database_url(self.db) else self.db + ".state")


class MatcherSettings(Section):
    """Matcher knobs (YAML ``matcher.<field>``); see docs/matcher.md."""

    answer_threshold: Score = 95.0
    suggest_threshold: Score = 25.0
    margin: Score = 0.0
    max_query_chars: int = Field(200, ge=10, le=2000)
    candidates: int = Field(200, ge=1, le=10_000)
    rerank: int = Field(15, ge=1, le=1000)
    common_df: float = Field(0.02, gt=0, le=1)
    common_df_max: int = Field(5000, ge=1)
    max_alias_variants: int = Field(4, ge=0, le=64)
    coverage_power: float = Field(1.5, gt=0, le=10)
    title_weight: float = Field(0.25, ge=0, le=1)
    #: ``title_weight`` when choosing the ``rerank`` titles among the ``candidates``: more weight lets a short
    #: title the query covers wholly in beside long titles that merely contain the query's words
    shortlist_title_weight: float = Field(0.5, ge=0, le=1)
    fuzz_weight: float = Field(0.25, ge=0, le=1)
    evidence_weight: float = Field(12.0, gt=0)
    substitution_penalty: float = Field(0.5, ge=0, le=1)
    confidence_power: float = Field(0.5, gt=0, le=10)
    gap_weight: float = Field(0.3, ge=0, le=1)
    junction_weight: float = Field(0.3, ge=0, le=1)
    #: highest confidence of a top hit with a one-slot substitution or another number than the query's
    substitution_cap: Score = 85.0
    #: highest confidence of a top hit for a query of one bare term (a topic, not a question: suggest)
    term_cap: Score = 85.0
    #: a top hit (not the query's own title) the ranker gives less than this percent chance is capped at
    #: ``substitution_cap``: the relevance model alone never makes it a direct answer (0: no such cap)
    ranker_doubt: Score = 50.0
    #: a bare term in at least this many titles, of at most ``topic_max_chars`` characters, is a TOPIC
    topic_min_titles: int = Field(5, ge=2)
    topic_max_chars: int = Field(6, ge=1, le=50)
    #: use the learned confidence (bot/search/scorer_params.json); false: the hand-made confidence
    learned_scorer: bool = True

    @model_validator(mode="after")
    def _bands_in_order(self) -> MatcherSettings:
        if self.suggest_threshold > self.answer_threshold:
            raise ValueError("suggest_threshold must not exceed answer_threshold")
        return self


class AnswersConfig(Section):
    """How much of an archived question one reply shows."""

    per_message: AnswersPerMessage = 3
    chars: AnswerChars = 600
    max_related: MaxRelated = 10


class SiteConfig(Section):
    """The web archive the pages came from (optional)."""

    url_template: UrlTemplate = ""


class AccessConfig(Section):
    """Who may use the bot. Empty lists mean everyone."""

    allowed_users: tuple[int, ...] = ()
    allowed_chats: tuple[int, ...] = ()


class RateLimitConfig(Section):
    """Per-user budgets: one for everything that runs a match (questions, /ask, buttons that search or
    page), a separate, larger one for inline-mode keystrokes."""

    per_minute: int = Field(20, gt=0)
    inline_per_minute: int = Field(120, gt=0, le=100_000)


class LearningConfig(Section):
    """Learning from "did you mean" choices (see ``archive-bot learned``)."""

    auto_accept: int = Field(0, ge=0, description="accept a rewording once N distinct users agree; 0 = off")

    @field_validator("auto_accept")
    @classmethod
    def _never_one_user(cls, value: int) -> int:
        if value == 1:
            raise ValueError("must be 0 (off) or at least 2: never learn from one user alone")
        return value


class LoggingConfig(Section):
    """Log level and format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = Field(False, alias="json")

    model_config = ConfigDict(populate_by_name=True)

    @property
    def json(self) -> bool:  # type: ignore[override]
        return self.json_lines


class Config(Section):
    """The whole validated configuration."""

    telegram: TelegramConfig = TelegramConfig()
    archive: ArchiveConfig = ArchiveConfig()
    matcher: MatcherSettings = MatcherSettings()
    aliases: dict[str, str] = {}
    answers: AnswersConfig = AnswersConfig()
    site: SiteConfig = SiteConfig()
    locale: Locale = "zh-Hans"
    admins: tuple[int, ...] = ()
    access: AccessConfig = AccessConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    learning: LearningConfig = LearningConfig()
    logging: LoggingConfig = LoggingConfig()
    source: str = Field("<defaults>", exclude=True)


#: Keys only ``run`` needs: with ``require_token=False`` an unset ``${VAR}`` there expands to "".
TOKEN_KEYS = frozenset({"telegram.token"})

#: Separates several problems raised by one model validator (each with its own sub-path).
_MULTI = "\x1f"


def expand_env(
    data: Any, environ: Mapping[str, str], path: str, problems: list[str], optional: frozenset[str] = frozenset()
) -> Any:
    """``data`` with ``${VAR}`` / ``${VAR:-default}`` replaced in every string; unset variables are problems,
    except at the key paths in ``optional`` (there an unset variable expands to "")."""
    if isinstance(data, dict):
        return {k: expand_env(v, environ, _join(path, str(k)), problems, optional) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_env(v, environ, f"{path}[{i}]", problems, optional) for i, v in enumerate(data)]
    if not isinstance(data, str):
        return data

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        if path in optional:
            return ""
        problems.append(f"{path}: environment variable {name} is not set")
        return ""

    return _ENV.sub(repl, data)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _loc_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
    return path


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at the parent of ``loc`` (for 'unknown key' messages)."""
    model: Any = Config
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        model = getattr(field, "annotation", None)
    fields = getattr(model, "model_fields", {})
    return sorted((f.alias or name) for name, f in fields.items() if name != "source")


def _problems(exc: ValidationError) -> list[str]:
    """One line per error: key path and message, never the input value."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            out.append(f"{_loc_path(loc)}: unknown key (known keys: {', '.join(_known_keys(loc))})")
            continue
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if _MULTI in msg:
            out += [f"{_join(_loc_path(loc), part)}" for part in msg.split(_MULTI) if part]
        else:
            out.append(f"{_loc_path(loc) or '<top level>'}: {msg}")
    return out


def _resolve_paths(cfg: Config, base: Path) -> Config:
    """Relative paths in the file are taken relative to the config file's folder."""

    def res(p: str) -> str:
        return p if not p or os.path.isabs(p) or is_database_url(p) else str((base / p).resolve())

    a = cfg.archive
    archive = a.model_copy(update={
        "db": res(a.db), "index": res(a.index or ("archive-bot.index" if is_database_url(a.db) else "")),
        "state_db": res(a.state_db), "paths": tuple(res(p) for p in a.paths),
    })
    return cfg.model_copy(update={"archive": archive})


def parse_config(
    data: Any,
    *,
    source: str = "<config>",
    base: Path | None = None,
    environ: Mapping[str, str] | None = None,
    require_token: bool = True,
) -> Config:
    """Validate already-loaded YAML data; raise :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [f"<top level>: expected a mapping of sections, got {type(data).__name__}"])
    # Only `run` needs the token: for the other commands an unset ${ARCHIVE_BOT_TOKEN} is no error.
    optional = frozenset() if require_token else TOKEN_KEYS
    data = expand_env(data, os.environ if environ is None else environ, "", problems, optional)
    data.pop("source", None)
    try:
        cfg = Config.model_validate(data, context={"require_token": require_token})
    except ValidationError as exc:
        problems += _problems(exc)
        cfg = None
    if problems or cfg is None:
        raise ConfigError(source, problems)
    if base is not None:
        cfg = _resolve_paths(cfg, base)
    return cfg.model_copy(update={"source": source})


def load_config(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    require_token: bool = True,
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
    return parse_config(data, source=str(p), base=p.resolve().parent, environ=environ, require_token=require_token)
