"""Templates, Markdown and the small formatting helpers the pages share."""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

from server import __version__

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_URL = "/static"

# What a challenge description may keep after Markdown rendering.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # Raw HTML in the source stays text; nh3 then guards what Markdown itself emits.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def render_markdown(source: str) -> Markup:
    """Markdown to sanitized HTML, safe to insert into a page."""
    html = _markdown().render(source or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # sanitized by nh3 just above


def format_score(value: float | None, digits: int = 5) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.{digits}f}"


def format_utc(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def time_left(closes_at: datetime | None, now: datetime) -> str:
    """'3 days 4 hours left', '12 minutes left', 'closed', or 'no deadline'."""
    if closes_at is None:
        return "no deadline"
    seconds = int((closes_at - now).total_seconds())
    if seconds <= 0:
        return "deadline passed"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{_plural(days, 'day')} {_plural(hours, 'hour')} left"
    if hours:
        return f"{_plural(hours, 'hour')} {_plural(minutes, 'minute')} left"
    return f"{_plural(max(minutes, 1), 'minute')} left"


def url_part(value: object) -> str:
    """One path segment, fully percent-encoded (team names may hold '/', '?', '#')."""
    return quote(str(value), safe="")


def file_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def static_url(path: str) -> str:
    # The version in the query string makes browsers fetch assets again after an upgrade.
    return f"{STATIC_URL}/{path}?v={__version__}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        score=format_score,
        utc=format_utc,
        iso=iso,
        urlpart=url_part,
        filesize=file_size,
        markdown=render_markdown,
    )
    env.globals.update(static=static_url, version=__version__)
    return env
