"""A submission's fact sheet: the ``metadata`` JSON object a team sends with it.

Validated before the submission is recorded, so a malformed one is refused (422)
and costs no quota. It is data only: stored as JSON, never executed, and shown
as text (templates autoescape; charts receive numbers through JSON data blocks).
"""

from __future__ import annotations

import json
import math
from typing import Any

from server.exceptions import Invalid

MAX_METADATA_BYTES = 64 * 1024
MAX_CURVE_POINTS = 10_000
MAX_HIDDEN_LAYERS = 64

# The documented keys, in the order a fact sheet shows them.
TEXT_KEYS = ("model", "activation", "optimizer")
DOCUMENTED_KEYS = (
    "model",
    "hidden_sizes",
    "activation",
    "optimizer",
    "learning_rate",
    "batch_size",
    "epochs",
    "dropout",
    "weight_decay",
    "seed",
    "val_metric",
    "curve",
)
CURVE_KEYS = ("epoch", "train_loss", "val_loss", "val_metric")
# A checkpoint's model config (model.json, baselines.models.ModelConfig) -> fact sheet key.
ARCHITECTURE_KEYS = {
    "family": "model",
    "hidden": "hidden_sizes",
    "activation": "activation",
    "dropout": "dropout",
}


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in metadata (use null)")


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(key: str, value: object, low: float | None = None, high: float | None = None) -> None:
    if not is_number(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise Invalid(f"metadata '{key}' must be a number, got {json.dumps(value)[:40]}")
    number = float(value)  # type: ignore[arg-type]
    if low is not None and number < low:
        raise Invalid(f"metadata '{key}' must be at least {low}, got {number}")
    if high is not None and number > high:
        raise Invalid(f"metadata '{key}' must be at most {high}, got {number}")


def _integer(key: str, value: object, low: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"metadata '{key}' must be an integer, got {json.dumps(value)[:40]}")
    if low is not None and value < low:
        raise Invalid(f"metadata '{key}' must be at least {low}, got {value}")


def _check_curve(curve: object) -> None:
    if not isinstance(curve, list):
        raise Invalid(
            "metadata 'curve' must be a list of {epoch, train_loss, val_loss, val_metric}"
        )
    if len(curve) > MAX_CURVE_POINTS:
        raise Invalid(f"metadata 'curve' has {len(curve)} points; at most {MAX_CURVE_POINTS}")
    for index, point in enumerate(curve):
        where = f"curve[{index}]"
        if not isinstance(point, dict):
            raise Invalid(f"metadata '{where}' must be an object with an 'epoch'")
        unknown = sorted(set(point) - set(CURVE_KEYS))
        if unknown:
            raise Invalid(
                f"metadata '{where}' has unknown key '{unknown[0]}'; "
                f"use only {', '.join(CURVE_KEYS)}"
            )
        if "epoch" not in point:
            raise Invalid(f"metadata '{where}' needs an 'epoch'")
        _integer(f"{where}.epoch", point["epoch"], low=0)
        for key in CURVE_KEYS[1:]:
            if point.get(key) is not None:
                _number(f"{where}.{key}", point[key])


def validate(data: object) -> dict[str, Any]:
    """Check the documented keys' types; other keys are kept as they are."""
    if not isinstance(data, dict):
        raise Invalid('metadata must be a JSON object, e.g. {"model": "mlp"}')
    for key in TEXT_KEYS:
        if key in data and not (isinstance(data[key], str) and len(data[key]) <= 200):
            raise Invalid(f"metadata '{key}' must be a string of at most 200 characters")
    if "hidden_sizes" in data:
        sizes = data["hidden_sizes"]
        if not isinstance(sizes, list) or len(sizes) > MAX_HIDDEN_LAYERS:
            raise Invalid(
                f"metadata 'hidden_sizes' must be a list of at most {MAX_HIDDEN_LAYERS} "
                "positive integers, e.g. [128, 64]"
            )
        for size in sizes:
            _integer("hidden_sizes[]", size, low=1)
    if "learning_rate" in data:
        _number("learning_rate", data["learning_rate"], low=0)
    if "batch_size" in data:
        _integer("batch_size", data["batch_size"], low=1)
    if "epochs" in data:
        _integer("epochs", data["epochs"], low=0)
    if "dropout" in data:
        _number("dropout", data["dropout"], low=0, high=1)
    if "weight_decay" in data:
        _number("weight_decay", data["weight_decay"], low=0)
    if "seed" in data:
        _integer("seed", data["seed"])
    if "val_metric" in data:
        _number("val_metric", data["val_metric"])
    if "curve" in data:
        _check_curve(data["curve"])
    return data


def parse(raw: str | bytes | None) -> dict[str, Any] | None:
    """The metadata form field, parsed and validated; None when absent or empty."""
    if raw is None:
        return None
    encoded = raw.encode() if isinstance(raw, str) else raw
    if not encoded.strip():
        return None
    if len(encoded) > MAX_METADATA_BYTES:
        raise Invalid(
            f"metadata is {len(encoded)} bytes; at most {MAX_METADATA_BYTES} (64 KB). "
            "Thin the curve (one point per epoch) or drop large keys"
        )
    try:
        data = json.loads(encoded, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise Invalid(f"metadata is not valid JSON: {str(error)[:200]}") from None
    return validate(data)


def documented(metadata: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """The documented keys present, in display order (the curve is drawn, not listed)."""
    if not metadata:
        return []
    return [(k, metadata[k]) for k in DOCUMENTED_KEYS if k != "curve" and k in metadata]


def extra(metadata: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Other keys, each shown as text (JSON for anything that is not a string)."""
    if not metadata:
        return []
    return [
        (str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)[:2000])
        for k, v in metadata.items()
        if k not in DOCUMENTED_KEYS
    ]


def with_architecture(
    metadata: dict[str, Any] | None, config: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The fact sheet, with the architecture keys that a checkpoint's ``model.json``
    gives and the sheet does not (what the team sent always wins)."""
    if not config:
        return metadata
    filled = dict(metadata or {})
    for source, key in ARCHITECTURE_KEYS.items():
        if key in filled or config.get(source) is None:
            continue
        try:
            validate({key: config[source]})
        except Invalid:
            continue  # not something a fact sheet can hold: leave it to model.json
        filled[key] = config[source]
    return filled or metadata
