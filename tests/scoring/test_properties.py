"""Property tests: arbitrary input never raises anything but our own errors, the
fast path agrees with the checked one, and messages carry nothing hidden."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.scoring import (
    PredictionError,
    Solution,
    SolutionError,
    evaluate_csv,
    parse_solution,
    read_predictions,
)
from server.scoring.csvread import _read_header
from server.scoring.metrics import get_metric
from server.scoring.reading import _parse_checked, _parse_fast
from tests.scoring.helpers import alternating_usage, csv_bytes, solution_csv

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

USAGE = ["public", "public", "private", "private"] * 2
SOLUTIONS: dict[str, tuple[Solution, str]] = {
    "int ids, int labels": (
        parse_solution(solution_csv(range(8), [0, 1, 2, 0, 1, 2, 1, 0], USAGE), "accuracy"),
        "accuracy",
    ),
    "string ids and labels": (
        parse_solution(solution_csv(list("abcdefgh"), ["x", "y"] * 4, USAGE), "f1_macro"),
        "f1_macro",
    ),
    "values": (
        parse_solution(solution_csv(range(8), np.linspace(-1, 1, 8), USAGE, "y"), "rmse"),
        "rmse",
    ),
    "binary probability": (
        parse_solution(solution_csv(range(8), [0, 1] * 4, USAGE), "roc_auc"),
        "roc_auc",
    ),
    "multi-class probability": (
        parse_solution(solution_csv(range(8), [0, 1, 2, 0, 1, 2, 1, 0], USAGE), "log_loss"),
        "log_loss",
    ),
}

CSV_CHARACTERS = "0123456789abcxyid,label usage public private \"'\t\r\n.-+eEnaif\x00é;"
csv_text = st.text(alphabet=CSV_CHARACTERS, max_size=300)
field = st.one_of(
    st.text(alphabet="0123456789-+.eE xinaf\"'\t,\x00é", max_size=8),
    st.integers(-5, 12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "NA", "nan", "inf", "0x1", "1.0", " 2 ", "+3", "007", "a", "x", "y"]),
)
newline = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_like(draw: st.DrawFn, header: str) -> bytes:
    """A header then rows of plausible and implausible fields."""
    rows = draw(st.lists(st.lists(field, min_size=0, max_size=4), max_size=12))
    end = draw(newline)
    body = end.join(",".join(row) for row in rows)
    prefix = draw(st.sampled_from(["", "\ufeff"]))
    return (prefix + header + end + body + draw(st.sampled_from(["", end]))).encode()


def _check_solution(data: bytes, metric: str) -> None:
    try:
        solution = parse_solution(data, metric)
    except SolutionError as error:
        assert str(error)
        return
    assert len(solution.ids) == len(solution.y) == len(solution.public_mask)
    assert solution.public_count > 0 and solution.private_count > 0


@SETTINGS
@given(data=st.binary(max_size=300), metric=st.sampled_from(["accuracy", "roc_auc", "r2"]))
def test_parse_solution_on_arbitrary_bytes(data: bytes, metric: str) -> None:
    _check_solution(data, metric)


@SETTINGS
@given(
    data=st.one_of(csv_text.map(str.encode), csv_like("id,label,usage")),
    metric=st.sampled_from(["accuracy", "log_loss", "roc_auc", "mae", "r2"]),
)
def test_parse_solution_on_csv_like_text(data: bytes, metric: str) -> None:
    _check_solution(data, metric)


@st.composite
def solution_rows(draw: st.DrawFn) -> bytes:
    n = draw(st.integers(1, 10))
    ids = draw(st.lists(field, min_size=n, max_size=n))
    labels = draw(st.lists(field, min_size=n, max_size=n))
    usage = draw(
        st.lists(
            st.sampled_from(["public", "private", "Public", "test", ""]), min_size=n, max_size=n
        )
    )
    return csv_bytes("id,label,usage", zip(ids, labels, usage, strict=True))


@SETTINGS
@given(data=solution_rows(), metric=st.sampled_from(["accuracy", "log_loss", "roc_auc", "rmse"]))
def test_parse_solution_on_rows_of_odd_fields(data: bytes, metric: str) -> None:
    _check_solution(data, metric)


def _check_predictions(data: bytes, kind: str) -> None:
    solution, metric = SOLUTIONS[kind]
    try:
        aligned = read_predictions(data, solution, metric)
    except PredictionError as error:
        assert str(error)
        return
    assert len(aligned) == len(solution)
    scores = evaluate_csv(data, solution, metric)
    assert np.isfinite(scores.public) and np.isfinite(scores.private)


@SETTINGS
@given(data=st.binary(max_size=300), kind=st.sampled_from(sorted(SOLUTIONS)))
def test_read_predictions_on_arbitrary_bytes(data: bytes, kind: str) -> None:
    _check_predictions(data, kind)


HEADERS = {
    "int ids, int labels": "id,label",
    "string ids and labels": "id,label",
    "values": "id,y",
    "binary probability": "id,label",
    "multi-class probability": "id,2,0,1",
}


@SETTINGS
@given(st.data())
def test_read_predictions_on_csv_like_text(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(SOLUTIONS)))
    body = data.draw(st.one_of(csv_like(HEADERS[kind]), csv_text.map(str.encode)))
    _check_predictions(body, kind)


@st.composite
def near_valid(draw: st.DrawFn, kind: str) -> bytes:
    """Every id once (shuffled), each field replaced by an odd one now and then."""
    solution, _ = SOLUTIONS[kind]
    order = draw(st.permutations(range(len(solution))))
    columns = HEADERS[kind].count(",")
    value = {
        "int ids, int labels": st.sampled_from(["0", "1", "2", "2.0", "+1", " 0", "007"]),
        "string ids and labels": st.sampled_from(["x", "y", " x ", "y "]),
        "values": st.floats(-1e6, 1e6).map(repr),
        "binary probability": st.floats(0, 1).map(repr),
        "multi-class probability": st.floats(0, 1).map(repr),
    }[kind]
    rows = []
    for position in order:
        identifier = str(solution.ids[position])
        cells = [draw(value) for _ in range(columns)]
        if draw(st.integers(0, 9)) == 0:
            cells[0] = draw(field)
        if draw(st.integers(0, 9)) == 0:
            identifier = draw(field)
        rows.append([identifier, *cells])
    return csv_bytes(HEADERS[kind], rows, draw(newline))


def _both_paths(data: bytes, kind: str):
    solution, metric = SOLUTIONS[kind]
    scorer = get_metric(metric)
    fields, _, end = _read_header(data, PredictionError)
    if scorer.prediction_format == "probability" and len(solution.classes or ()) > 2:
        columns = [fields.index(str(c)) for c in solution.classes or ()]
    else:
        columns = [1]
    fast = _parse_fast(data, end, len(fields), columns, solution, scorer)
    try:
        checked = _parse_checked(data, fields, columns, solution, scorer)
    except PredictionError:
        checked = None
    return fast, checked


@SETTINGS
@given(st.data())
def test_fast_path_accepts_only_what_the_checked_path_accepts(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(SOLUTIONS)))
    body = data.draw(near_valid(kind))
    fast, checked = _both_paths(body, kind)
    if fast is not None:
        assert checked is not None
        np.testing.assert_array_equal(fast, checked)


@SETTINGS
@given(st.data())
def test_row_order_never_changes_the_scores(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(SOLUTIONS)))
    solution, metric = SOLUTIONS[kind]
    body = data.draw(near_valid(kind))
    lines = body.decode().splitlines()
    shuffled_rows = data.draw(st.permutations(lines[1:]))
    shuffled = ("\n".join([lines[0], *shuffled_rows]) + "\n").encode()
    try:
        expected = evaluate_csv(body, solution, metric)
    except PredictionError:
        with pytest.raises(PredictionError):
            evaluate_csv(shuffled, solution, metric)
        return
    assert evaluate_csv(shuffled, solution, metric) == expected


# Two solutions with the same ids and classes but different hidden labels,
# split and row order: a participant's file must get the same message from both.
TWIN_IDS = list(range(12))
TWINS = (
    parse_solution(
        solution_csv(TWIN_IDS, [i % 3 for i in TWIN_IDS], alternating_usage(12)), "accuracy"
    ),
    parse_solution(
        solution_csv(
            TWIN_IDS[::-1], [0, 1, 2, 2, 1, 0, 0, 0, 1, 2, 2, 2], ["private"] * 6 + ["public"] * 6
        ),
        "accuracy",
    ),
)


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.integers(-2, 14).map(str), field),
            st.one_of(st.sampled_from("0123"), field),
        ),
        max_size=16,
    ),
    end=newline,
)
def test_messages_do_not_depend_on_hidden_labels_or_split(rows, end: str) -> None:
    data = csv_bytes("id,label", rows, end)
    outcomes = []
    for solution in TWINS:
        try:
            read_predictions(data, solution, "accuracy")
            outcomes.append("accepted")
        except PredictionError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]
