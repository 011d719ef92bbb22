"""Detectors for hidden data in responses: private scores, private ranks, labels, hashes."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# Label runs shorter than this could occur by chance in ids or numbers.
LABEL_WINDOW = 12
# A line of the hidden solution: id, label, usage.
SOLUTION_LINE = re.compile(r"\b\d+\s*,\s*\d+\s*,\s*(?:public|private)\b")
# JSON keys that may carry private information; their value must be null (or absent).
RANK_KEYS = ("private_rank", "public_rank", "move")


def number_forms(value: float) -> list[str]:
    """How a score may be printed: repr, fixed decimals, percent."""
    forms = {repr(value), str(value), f"{value:.15g}", f"{value:.10g}"}
    forms |= {f"{value:.{d}f}" for d in range(4, 11)}
    forms |= {f"{value * 100:.{d}f}" for d in range(2, 7)}
    forms |= {f"{value * 100:.1f}%", f"{value * 100:.1f} %"}
    forms |= {repr(value * 100)}
    return sorted(forms, key=len, reverse=True)


def _numbers_pattern(forms: Iterable[str]) -> re.Pattern[str]:
    # Not part of a longer number: no digit or decimal point glued on either side.
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(r"(?<![\d.])(?:" + alternatives + r")(?![\d])")


@dataclass
class Finding:
    where: str
    what: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what} ... {self.excerpt!r}"


class LeakDetector:
    """Looks for what a participant must not see before finalization."""

    def __init__(
        self,
        private_scores: Iterable[float],
        label_sequences: Iterable[list[int]],
        secrets: dict[str, str],
        public_scores: Iterable[float] = (),
    ) -> None:
        public_forms = {f for v in public_scores for f in number_forms(v)}
        # A rounding that a public score shares would be a false alarm.
        self.score_forms = {
            form: value
            for value in private_scores
            for form in number_forms(value)
            if form not in public_forms
        }
        self.score_pattern = _numbers_pattern(self.score_forms)
        self.label_windows: set[str] = set()
        for labels in label_sequences:
            digits = "".join(str(label) for label in labels)
            self.label_windows |= {
                digits[i : i + LABEL_WINDOW] for i in range(len(digits) - LABEL_WINDOW + 1)
            }
        self.secrets = dict(secrets)

    def _label_runs(self, text: str) -> Iterator[int]:
        """Positions where LABEL_WINDOW hidden labels follow each other, whatever separates them.

        Single digits count as a run while short gaps without letters or digits
        separate them ("3,1,4", "[3, 1, 4", "3\n1\n4"); long digit strings are
        checked as they are ("314...").
        """
        chain: list[str] = []
        start = end = -1
        for match in re.finditer(r"\d+", text):
            gap = text[end : match.start()] if end >= 0 else ""
            joined = len(gap) <= 4 and not any(ch.isalnum() for ch in gap)
            if len(match.group()) == 1 and (joined or not chain):
                if not chain:
                    start = match.start()
                chain.append(match.group())
            else:
                if len(chain) >= LABEL_WINDOW and self._has_window("".join(chain)):
                    yield start
                chain = [match.group()] if len(match.group()) == 1 else []
                start = match.start()
                if len(match.group()) >= LABEL_WINDOW and self._has_window(match.group()):
                    yield match.start()
            end = match.end()
        if len(chain) >= LABEL_WINDOW and self._has_window("".join(chain)):
            yield start

    def _has_window(self, digits: str) -> bool:
        return any(
            digits[i : i + LABEL_WINDOW] in self.label_windows
            for i in range(len(digits) - LABEL_WINDOW + 1)
        )

    def scan_text(self, where: str, text: str) -> Iterator[Finding]:
        for match in self.score_pattern.finditer(text):
            value = self.score_forms[match.group()]
            yield Finding(
                where, f"private score {value!r} as {match.group()!r}", _around(text, match.start())
            )
        for position in self._label_runs(text):
            yield Finding(where, "hidden label sequence", _around(text, position))
        match = SOLUTION_LINE.search(text)
        if match:
            yield Finding(where, "a line of the hidden solution", _around(text, match.start()))
        lowered = text.lower()
        for name, secret in self.secrets.items():
            position = lowered.find(secret.lower())
            if position >= 0:
                yield Finding(where, name, _around(text, position))

    def scan_json(self, where: str, data: Any, path: str = "$") -> Iterator[Finding]:
        """Keys that name private information must hold null before finalization."""
        if isinstance(data, dict):
            for key, value in data.items():
                lowered = str(key).lower()
                if value is not None and ("private" in lowered or lowered in RANK_KEYS):
                    yield Finding(where, f"non-null {path}.{key}", repr(value)[:80])
                yield from self.scan_json(where, value, f"{path}.{key}")
        elif isinstance(data, list):
            for index, item in enumerate(data):
                yield from self.scan_json(where, item, f"{path}[{index}]")

    def scan_response(self, where: str, response: Any, structural: bool = True) -> list[Finding]:
        findings: list[Finding] = []
        head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        findings += self.scan_text(f"{where} [headers]", head)
        body = response.content.decode("utf-8", errors="replace")
        findings += self.scan_text(where, body)
        is_json = "json" in response.headers.get("content-type", "")
        if structural and is_json and not where_is_schema(where):
            with contextlib.suppress(ValueError):
                findings += self.scan_json(where, json.loads(body))
        return findings


def where_is_schema(where: str) -> bool:
    # The OpenAPI document names the private fields (as schema), it holds no values.
    return "/openapi.json" in where


def _around(text: str, position: int, width: int = 60) -> str:
    return text[max(0, position - width) : position + width]
