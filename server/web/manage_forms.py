"""The create/edit form of the organizer console: form fields to the API's schema and back.

Every input is named after the path of its setting in :class:`ChallengeCreate`
(``limits.per_day``, ``checkpoint_spec.input_shape``), so a pydantic error's
``loc`` names the input it belongs to. Values go to the schema as the user
typed them (pydantic's own coercion and messages); a blank input is a setting
left out. The form keeps what was typed, for the re-render next to the errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from server.challenges.schemas import ChallengeCreate, ChallengeUpdate
from server.models import Challenge
from server.scoring.metrics import METRICS
from server.submissions.quota import limits_of

TEXT_FIELDS = (
    "slug",
    "title",
    "description",
    "metric",
    "tie_breakers",
    "opens_at",
    "closes_at",
    "timezone",
    "visibility",
    "max_team_size",
    "final_selection_count",
    "allowed_email_domains",
    "atlas_visibility",
    "tracks",
    "limits.per_day",
    "limits.per_window.count",
    "limits.per_window.minutes",
    "limits.total",
    "limits.min_interval_seconds",
    "checkpoint_spec.input_shape",
    "checkpoint_spec.input_dtype",
    "checkpoint_spec.batch_size",
    "checkpoint_spec.time_limit_seconds",
    "checkpoint_spec.memory_limit_mb",
)
CHECKBOXES = (
    "late_submissions",
    "join_requires_approval",
    "checkpoint_spec.show_program_errors",
)
MULTI = ("submission_kinds", "checkpoint_spec.formats")
# An error of the whole model (loc ()) goes next to the first field its message names.
MESSAGE_FIELDS = (
    ("closes_at", "closes_at"),
    ("opens_at", "opens_at"),
    ("per_day", "limits.per_day"),
    ("daily_submission_limit", "limits.per_day"),
    ("metric", "metric"),
    ("slug", "slug"),
    ("timezone", "timezone"),
)
DATETIME_INPUT = "%Y-%m-%dT%H:%M"
DEFAULT_METRIC = "accuracy"


@dataclass
class SettingsForm:
    """What the form shows: the values (as typed) and the messages per input."""

    values: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str, option: str = "on") -> bool:
        return option in self.chosen.get(name, [])

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def add_validation(self, error: ValidationError) -> None:
        for problem in error.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            self.error(_input_for(tuple(problem["loc"]), message), message)

    def add_refusal(self, message: str) -> None:
        """A service's refusal (409, 422): next to the field it names, else on top."""
        name = _named_field(message)
        if name is None:
            self.general.append(message)
        else:
            self.error(name, message)

    @property
    def unplaced(self) -> list[str]:
        """Messages for settings the form has no input for (shown on top)."""
        inputs = {*TEXT_FIELDS, *CHECKBOXES, *MULTI}
        return [m for name, ms in self.errors.items() if name not in inputs for m in ms]

    @property
    def invalid(self) -> bool:
        return bool(self.errors or self.general)


def _named_field(message: str) -> str | None:
    for word, name in MESSAGE_FIELDS:
        if word in message:
            return name
    return None


def _input_for(loc: tuple[Any, ...], message: str) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if not parts:
        return _named_field(message) or "title"
    if parts[0] == "metrics":
        return "tie_breakers"
    if parts[0] == "tracks":
        return "tracks"
    if parts[0] == "daily_submission_limit":
        return "limits.per_day"
    if parts[:2] == ["limits", "per_window"] and len(parts) == 2:
        return "limits.per_window.count"
    return ".".join(parts)


def read_form(form: Mapping[str, Any], getlist: Any) -> SettingsForm:
    """The posted form as typed (``getlist`` reads the multi-valued inputs)."""
    values = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS}
    values["description"] = str(form.get("description") or "")
    chosen = {name: [str(v) for v in getlist(name)] for name in (*MULTI, *CHECKBOXES)}
    return SettingsForm(values=values, chosen=chosen)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _tracks(text: str) -> list[dict[str, str]]:
    """``tiny: 10000, small: 100000`` as the API's tracks (a part without ':' has no budget)."""
    tracks = []
    for part in _split(text):
        name, colon, budget = part.partition(":")
        tracks.append(
            {"name": name.strip(), **({"max_parameters": budget.strip()} if colon else {})}
        )
    return tracks


def _blank_is_none(text: str) -> str | None:
    return text or None


def _body(form: SettingsForm) -> dict[str, Any]:
    """The JSON body the API would get (blank inputs left out)."""
    v = form.value
    window = None
    if v("limits.per_window.count") or v("limits.per_window.minutes"):
        window = {
            k: v(f"limits.per_window.{k}")
            for k in ("count", "minutes")
            if v(f"limits.per_window.{k}")
        }
    limits = {
        "per_day": _blank_is_none(v("limits.per_day")),
        "per_window": window,
        "total": _blank_is_none(v("limits.total")),
        "min_interval_seconds": _blank_is_none(v("limits.min_interval_seconds")),
    }
    spec: dict[str, Any] = {
        "show_program_errors": form.checked("checkpoint_spec.show_program_errors"),
    }
    if v("checkpoint_spec.input_shape"):
        spec["input_shape"] = _split(v("checkpoint_spec.input_shape"))
    formats = form.chosen.get("checkpoint_spec.formats", [])
    if formats or form.checked("submission_kinds", "checkpoint"):
        spec["formats"] = formats  # none chosen: refused only where checkpoints are taken
    for name in ("input_dtype", "batch_size", "time_limit_seconds", "memory_limit_mb"):
        if v(f"checkpoint_spec.{name}"):
            spec[name] = v(f"checkpoint_spec.{name}")
    metrics = [m for m in [v("metric"), *_split(v("tie_breakers"))] if m]
    body: dict[str, Any] = {
        "title": v("title"),
        "description": v("description"),
        "metrics": metrics or None,
        "opens_at": _blank_is_none(v("opens_at")),
        "closes_at": _blank_is_none(v("closes_at")),
        "limits": limits,
        "timezone": v("timezone") or "UTC",
        "late_submissions": form.checked("late_submissions"),
        "max_team_size": v("max_team_size"),
        "final_selection_count": v("final_selection_count"),
        "submission_kinds": form.chosen.get("submission_kinds", []),
        "checkpoint_spec": spec,
        "visibility": v("visibility"),
        "allowed_email_domains": _split(v("allowed_email_domains")),
        "join_requires_approval": form.checked("join_requires_approval"),
        "tracks": _tracks(v("tracks")),
    }
    if v("atlas_visibility"):
        body["atlas_visibility"] = v("atlas_visibility")
    return body


def _validated(model: type[BaseModel], body: dict[str, Any], form: SettingsForm) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        form.add_validation(error)
        return None


def to_create(form: SettingsForm) -> ChallengeCreate | None:
    """The API's create schema from the form; None (and the errors on the form) if refused."""
    body = _body(form)
    if not body["metrics"]:
        body["metrics"] = None
    result: ChallengeCreate | None = _validated(
        ChallengeCreate, {"slug": form.value("slug"), **body}, form
    )
    return result


def to_update(form: SettingsForm) -> ChallengeUpdate | None:
    """The API's PATCH schema from the form: every setting of the form is set."""
    body = {k: v for k, v in _body(form).items() if v is not None or k in ("opens_at", "closes_at")}
    result: ChallengeUpdate | None = _validated(ChallengeUpdate, body, form)
    return result


def _datetime_input(value: datetime | None) -> str:
    return value.strftime(DATETIME_INPUT) if value is not None else ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def blank_form() -> SettingsForm:
    """The create form's starting values: the schema's defaults (slug and title blank)."""
    defaults = ChallengeCreate.model_validate(
        {"slug": "new", "title": "new", "metric": DEFAULT_METRIC}
    )
    limits = defaults.limits.model_dump() if defaults.limits else {}
    form = _from_settings(defaults.model_dump(), limits=limits)
    form.values["slug"] = form.values["title"] = ""
    return form


def challenge_form(challenge: Challenge) -> SettingsForm:
    """The edit form's starting values: the challenge's settings."""
    settings = {
        name: getattr(challenge, name)
        for name in ChallengeCreate.model_fields
        if hasattr(challenge, name)
    }
    settings["metrics"] = [challenge.metric, *(challenge.extra_metrics or [])]
    return _from_settings(settings, limits=dict(limits_of(challenge)))


def _from_settings(settings: dict[str, Any], limits: dict[str, Any]) -> SettingsForm:
    metrics = settings.get("metrics") or [settings.get("metric")]
    spec = dict(settings.get("checkpoint_spec") or {})
    window = limits.get("per_window") or {}
    values = {
        "slug": _text(settings.get("slug")),
        "title": _text(settings.get("title")),
        "description": _text(settings.get("description")),
        "metric": _text(metrics[0]),
        "tie_breakers": ", ".join(metrics[1:]),
        "opens_at": _datetime_input(settings.get("opens_at")),
        "closes_at": _datetime_input(settings.get("closes_at")),
        "timezone": _text(settings.get("timezone")),
        "visibility": _text(settings.get("visibility")),
        "max_team_size": _text(settings.get("max_team_size")),
        "final_selection_count": _text(settings.get("final_selection_count")),
        "allowed_email_domains": ", ".join(settings.get("allowed_email_domains") or []),
        "atlas_visibility": _text(settings.get("atlas_visibility")),
        "tracks": ", ".join(
            f"{t['name']}: {t['max_parameters']}" for t in settings.get("tracks") or []
        ),
        "limits.per_day": _text(limits.get("per_day")),
        "limits.per_window.count": _text(window.get("count")),
        "limits.per_window.minutes": _text(window.get("minutes")),
        "limits.total": _text(limits.get("total")),
        "limits.min_interval_seconds": _text(limits.get("min_interval_seconds")),
        "checkpoint_spec.input_shape": ", ".join(str(s) for s in spec.get("input_shape", [])),
        "checkpoint_spec.input_dtype": _text(spec.get("input_dtype")),
        "checkpoint_spec.batch_size": _text(spec.get("batch_size")),
        "checkpoint_spec.time_limit_seconds": _text(spec.get("time_limit_seconds")),
        "checkpoint_spec.memory_limit_mb": _text(spec.get("memory_limit_mb")),
    }
    on = ["on"]
    chosen = {
        "submission_kinds": list(settings.get("submission_kinds") or []),
        "checkpoint_spec.formats": list(spec.get("formats") or []),
        "late_submissions": on if settings.get("late_submissions") else [],
        "join_requires_approval": on if settings.get("join_requires_approval") else [],
        "checkpoint_spec.show_program_errors": on if spec.get("show_program_errors") else [],
    }
    return SettingsForm(values=values, chosen=chosen)


def metric_names() -> list[str]:
    return sorted(METRICS)
