"""Reading, validating and scoring participant predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from server.scoring import (
    PredictionError,
    Scores,
    SolutionError,
    evaluate_csv,
    parse_solution,
    read_predictions,
    sample_submission,
    score_predictions,
)
from server.scoring.csvread import _read_header
from server.scoring.reading import _parse_checked, _parse_fast
from tests.scoring.helpers import alternating_usage, csv_bytes, solution_csv

N = 12
DIGITS = parse_solution(
    solution_csv(range(N), [i % 10 for i in range(N)], alternating_usage(N)), "accuracy"
)
RIGHT = [(i, i % 10) for i in range(N)]


def error_of(data: bytes, solution=DIGITS, metric: str = "accuracy") -> str:
    with pytest.raises(PredictionError) as error:
        read_predictions(data, solution, metric)
    message = str(error.value)
    # evaluate_csv goes through the same validation.
    with pytest.raises(PredictionError, match="^" + _escape(message) + "$"):
        evaluate_csv(data, solution, metric)
    return message


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def both_paths(data: bytes, solution, metric: str):
    """(fast path result or None, checked path result) on the internal representation."""
    from server.scoring.metrics import get_metric

    scorer = get_metric(metric)
    fields, _, end = _read_header(data, PredictionError)
    columns = [1] if len(fields) == 2 else [fields.index(str(c)) for c in solution.classes]
    fast = _parse_fast(data, end, len(fields), columns, solution, scorer)
    checked = _parse_checked(data, fields, columns, solution, scorer)
    return fast, checked


# --------------------------------------------------------------------------
# Accepted files


def test_perfect_and_partly_wrong_labels() -> None:
    assert evaluate_csv(csv_bytes("id,label", RIGHT), DIGITS, "accuracy") == Scores(1.0, 1.0)
    guesses = [(i, 0) for i in range(N)]
    scores = evaluate_csv(csv_bytes("id,label", guesses), DIGITS, "accuracy")
    y = np.array([i % 10 for i in range(N)])
    public = np.array(alternating_usage(N)) == "public"
    assert scores.public == pytest.approx(accuracy_score(y[public], np.zeros(public.sum())))
    assert scores.private == pytest.approx(accuracy_score(y[~public], np.zeros((~public).sum())))


@pytest.mark.parametrize("seed", range(5))
def test_any_row_order_gives_the_same_scores(seed: int) -> None:
    rng = np.random.default_rng(seed)
    guesses = [(i, int(rng.integers(0, 10))) for i in range(N)]
    in_order = evaluate_csv(csv_bytes("id,label", guesses), DIGITS, "accuracy")
    shuffled = [guesses[i] for i in rng.permutation(N)]
    assert evaluate_csv(csv_bytes("id,label", shuffled), DIGITS, "accuracy") == in_order
    in_order_values = read_predictions(csv_bytes("id,label", guesses), DIGITS, "accuracy")
    shuffled_values = read_predictions(csv_bytes("id,label", shuffled), DIGITS, "accuracy")
    np.testing.assert_array_equal(in_order_values, shuffled_values)


def test_solution_order_differs_from_sorted_order() -> None:
    ids = [30, 10, 20, 40]
    solution = parse_solution(solution_csv(ids, [1, 2, 1, 2], alternating_usage(4)), "accuracy")
    for order in ([30, 10, 20, 40], [10, 20, 30, 40], [40, 20, 10, 30]):
        labels = {30: 1, 10: 2, 20: 2, 40: 2}
        data = csv_bytes("id,label", [(i, labels[i]) for i in order])
        assert read_predictions(data, solution, "accuracy").tolist() == [1, 2, 2, 2]
        assert evaluate_csv(data, solution, "accuracy") == Scores(public=0.5, private=1.0)


@pytest.mark.parametrize(
    "data",
    [
        b"id,label\n0,0\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,0\n11,1\n",
        # no final newline
        b"id,label\n0,0\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,0\n11,1",
        b"\xef\xbb\xbfid,label\r\n0,0\r\n1,1\r\n2,2\r\n3,3\r\n4,4\r\n5,5\r\n6,6\r\n7,7\r\n8,8\r\n"
        b"9,9\r\n10,0\r\n11,1\r\n",  # Excel: BOM and CRLF
        b'"id","label"\n"0","0"\n1,"1"\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,0\n11,1\n',
        b"id,label\n\n0,0\n1,1\n2,2\n\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,0\n11,1\n\n\n",
        b"id, label\n 0 , 0\n1,1.0\n2,2\n3,+3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,0\n011,1\n",
    ],
)
def test_formatting_variants_are_accepted(data: bytes) -> None:
    assert evaluate_csv(data, DIGITS, "accuracy") == Scores(1.0, 1.0)
    fast, checked = both_paths(data, DIGITS, "accuracy")
    if fast is not None:
        np.testing.assert_array_equal(fast, checked)


def test_read_predictions_shapes_and_types() -> None:
    labels = read_predictions(csv_bytes("id,label", RIGHT), DIGITS, "accuracy")
    assert labels.dtype == np.int64 and labels.tolist() == [i % 10 for i in range(N)]

    names = parse_solution(
        solution_csv(["a", "b"], ["cat", "dog"], ["public", "private"]), "f1_macro"
    )
    assert read_predictions(b"id,label\nb,dog\na,dog\n", names, "f1_macro").tolist() == [
        "dog",
        "dog",
    ]

    three = parse_solution(
        solution_csv(range(3), [0, 1, 2], ["public", "private", "public"]), "log_loss"
    )
    probabilities = read_predictions(
        b"id,2,1,0\n2,0.5,0.25,0.25\n0,0,0,1\n1,0.1,0.8,0.1\n", three, "log_loss"
    )
    assert probabilities.shape == (3, 3)
    expected = np.array([[1, 0, 0], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])
    np.testing.assert_allclose(probabilities, expected)

    values = parse_solution(solution_csv(range(2), [1.5, 2.5], ["public", "private"], "y"), "mae")
    assert read_predictions(b"id,y\n1,3\n0,-1e1\n", values, "mae").tolist() == [-10.0, 3.0]


def test_score_predictions_on_arrays() -> None:
    labels = np.array([i % 10 for i in range(N)])
    assert score_predictions(labels, DIGITS, "accuracy") == Scores(1.0, 1.0)
    with pytest.raises(PredictionError) as error:
        score_predictions(np.where(labels == 3, 42, labels), DIGITS, "accuracy")
    assert str(error.value) == "label 42 is not one of the classes 0..9 (id 3)"
    with pytest.raises(ValueError, match="expected 12 aligned predictions"):
        score_predictions(labels[:5], DIGITS, "accuracy")
    with pytest.raises(ValueError, match="parsed for a classification metric"):
        score_predictions(labels, DIGITS, "rmse")


@pytest.mark.parametrize(
    ("targets", "metric"),
    [
        ([i % 10 for i in range(N)], "accuracy"),
        (["b", "a", "c"] * 4, "f1_macro"),
        ([i / 3 for i in range(N)], "rmse"),
        ([0, 1] * 6, "roc_auc"),
        ([0, 1, 2] * 4, "log_loss"),
        ([0, 1, 2, 3] * 3, "roc_auc"),
    ],
)
def test_sample_submission_is_valid_and_uninformative(targets, metric: str) -> None:
    ids = [f"img,{i}" if metric == "f1_macro" else i * 7 % N for i in range(N)]
    usage = ["public"] * 4 + ["private"] * 4 + ["public"] * 4
    solution = parse_solution(solution_csv([_quote(i) for i in ids], targets, usage), metric)
    sample = sample_submission(solution, metric)
    evaluate_csv(sample, solution, metric)  # no error
    lines = sample.decode().splitlines()
    assert len(lines) == N + 1
    body = [
        line.split(",", 1) if metric != "f1_macro" else line.rsplit(",", 1) for line in lines[1:]
    ]
    # Ids in sorted order (the solution's order could hint at the split) ...
    shown_ids = [row[0] for row in body]
    assert shown_ids == sorted(shown_ids, key=lambda s: (len(s), s) if metric != "f1_macro" else s)
    # ... and one constant value, never derived from the hidden targets.
    assert len({row[1] for row in body}) == 1


def _quote(value):
    return f'"{value}"' if isinstance(value, str) and "," in value else value


def test_sample_submission_headers() -> None:
    assert sample_submission(DIGITS, "accuracy").startswith(b"id,label\n0,0\n1,0\n")
    three = parse_solution(
        solution_csv(range(3), ["x", "y", "z"], ["public", "private", "public"]), "log_loss"
    )
    assert sample_submission(three, "log_loss").decode().splitlines()[:2] == [
        "id,x,y,z",
        "0,0.3333333333333333,0.3333333333333333,0.3333333333333333",
    ]


# --------------------------------------------------------------------------
# Rejected files: exact messages


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"  \r\n \n", "the file is empty"),
        (b"id,label", "the file has a header but no rows; expected one row per id (12 rows)"),
        (b"id,label\r\n", "the file has a header but no rows; expected one row per id (12 rows)"),
        (b"Id,Label\n0,0\n", "header must be 'id,label', got 'Id,Label'"),
        (b"id,label,\n0,0\n", "header must be 'id,label', got 'id,label,'"),
        (b"id;label\n0;0\n", "header must be 'id,label', got 'id;label'"),
        (b"\xff\xfei\x00d\x00,\x00", "the file is UTF-16 encoded; save it as UTF-8 CSV"),
        (b"id,label\n0,\xff\n", "the file is not UTF-8 text (line 2); save it as UTF-8 CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "the file is not UTF-8 text (line 1); save it as UTF-8 CSV"),
        (b"\x00\x01\x02", "header must be 'id,label', got '\\x00\\x01\\x02'"),
        (
            b"id,label\n0,0\n1\n2,2,2\n3,3\n4\n",
            "every row must have 2 fields like the header (id,label): "
            "line 3 has 1, line 4 has 3 and 1 more",
        ),
    ],
)
def test_file_level_errors(data: bytes, message: str) -> None:
    assert error_of(data) == message


def test_missing_ids_are_counted_and_listed_in_id_order() -> None:
    ids = list(range(10_000))
    solution = parse_solution(
        solution_csv(ids, [i % 3 for i in ids], alternating_usage(10_000)), "accuracy"
    )
    kept = [i for i in ids if i not in (17, 204, 9981)]
    message = error_of(csv_bytes("id,label", [(i, 0) for i in kept]), solution)
    assert message == "3 ids missing, e.g. 17, 204, 9981"
    kept = [i for i in ids if i not in (17, 204, 9981, 5000, 6000)]
    message = error_of(csv_bytes("id,label", [(i, 0) for i in reversed(kept)]), solution)
    assert message == "5 ids missing, e.g. 17, 204, 5000"
    kept = [i for i in ids if i != 42]
    assert error_of(csv_bytes("id,label", [(i, 0) for i in kept]), solution) == "1 id missing: 42"


def test_duplicate_ids_name_their_lines() -> None:
    rows = RIGHT[:5] + [(4, 4)] + RIGHT[5:]  # id 4 on lines 6 and 7
    assert error_of(csv_bytes("id,label", rows)) == "1 duplicate id: 4 (lines 6 and 7)"
    rows = RIGHT[:6] + [(5, 5)] + RIGHT[6:] + [(9, 9), (9, 1)]
    assert error_of(csv_bytes("id,label", rows)) == (
        "2 duplicate ids, e.g. 5 (lines 7 and 8), 9 (lines 12, 15 and 16)"
    )


def test_unknown_ids_name_their_lines() -> None:
    rows = RIGHT + [(12, 1), (-3, 1)]
    assert error_of(csv_bytes("id,label", rows)) == "2 unknown ids, e.g. 12 (line 14), -3 (line 15)"


def test_several_problems_are_reported_together() -> None:
    rows = [(0, 0), (0, 0), ("x", 1), (12, 3)] + RIGHT[3:]
    assert error_of(csv_bytes("id,label", rows)) == (
        "ids must be integers: line 4 ('x'); 1 unknown id: 12 (line 5); "
        "1 duplicate id: 0 (lines 2 and 3); 2 ids missing, e.g. 1, 2"
    )


def test_labels_must_be_classes() -> None:
    rows = [(i, 11 if i == 1 else i % 10) for i in range(N)]
    assert (
        error_of(csv_bytes("id,label", rows)) == "label 11 is not one of the classes 0..9 (line 3)"
    )
    bad = ["11", "cat", "", "2.5", "nan", "0x1"]
    odd_rows = [(i, bad[i] if i < len(bad) else str(i % 10)) for i in range(N)]
    assert error_of(csv_bytes("id,label", odd_rows)) == (
        "6 labels are not among the classes 0..9: 11 (line 2), 'cat' (line 3) and 4 more"
    )


def test_string_labels_are_case_sensitive() -> None:
    solution = parse_solution(
        solution_csv(range(4), ["cat", "dog"] * 2, alternating_usage(4)), "accuracy"
    )
    message = error_of(b"id,label\n0,cat\n1,Dog\n2,cat\n3,dog\n", solution)
    assert message == "label 'Dog' is not one of the classes 'cat', 'dog' (line 3)"


def test_values_must_be_finite_numbers() -> None:
    solution = parse_solution(
        solution_csv(range(6), [1, 2, 3, 4, 5, 6], alternating_usage(6), "y"), "rmse"
    )
    data = b"id,y\n0,1\n1,\n2,nan\n3,inf\n4,abc\n5,1e999\n"
    assert error_of(data, solution, "rmse") == (
        "values must be numbers between -1e100 and 1e100: line 3 (''), line 4 ('nan') and 3 more"
    )


def test_probabilities_must_be_in_range_and_rows_not_all_zero() -> None:
    binary = parse_solution(
        solution_csv(range(4), ["no", "no", "yes", "yes"], alternating_usage(4), "sick"), "roc_auc"
    )
    assert error_of(b"id,sick\n0,0.1\n1,1.2\n2,-0.1\n3,0.5\n", binary, "roc_auc") == (
        "probabilities must be numbers between 0 and 1: line 3 (1.2) and line 4 (-0.1)"
    )
    three = parse_solution(
        solution_csv(range(3), [0, 1, 2], ["public", "private", "public"]), "log_loss"
    )
    assert error_of(b"id,0,1,2\n0,1,0,0\n1,0.5,1.5,0\n2,1,0,x\n", three, "log_loss") == (
        "probabilities must be numbers between 0 and 1: "
        "line 3 (1.5 in column '1') and line 4 ('x' in column '2')"
    )
    assert error_of(b"id,0,1,2\n0,1,0,0\n1,0,0,0\n2,0,1,0\n", three, "log_loss") == (
        "probabilities on a row must not all be 0: line 3"
    )


def test_multiclass_probability_header() -> None:
    three = parse_solution(
        solution_csv(range(3), [0, 1, 2], ["public", "private", "public"]), "log_loss"
    )
    prefix = "header must be 'id' then one column per class (0..2) in any order, got "
    assert (
        error_of(b"id,0,1\n0,1,0\n", three, "log_loss") == prefix + "'id,0,1': missing columns: '2'"
    )
    assert (
        error_of(b"id,0,1,1,2\n", three, "log_loss")
        == prefix + "'id,0,1,1,2': repeated columns: '1'"
    )
    assert error_of(b"label,0,1,2,x\n", three, "log_loss") == (
        prefix + "'label,0,1,2,x': the first column must be 'id'; unexpected columns: 'x'"
    )


def test_string_ids() -> None:
    solution = parse_solution(
        solution_csv(["b", "a", "c"], [1, 2, 1], ["public", "private", "public"]), "accuracy"
    )
    assert evaluate_csv(b"id,label\nc,1\n a ,2\nb,1\n", solution, "accuracy") == Scores(1.0, 1.0)
    assert error_of(b"id,label\nc,1\nA,2\nb,1\nb,1\n", solution) == (
        "1 unknown id: 'A' (line 3); 1 duplicate id: 'b' (lines 4 and 5); 1 id missing: 'a'"
    )


def test_line_numbers_count_blank_lines_and_crlf() -> None:
    data = (
        b"id,label\r\n\r\n"
        + b"".join(f"{i},{i % 10}\r\n".encode() for i in range(11))
        + b"\r\n11,x\r\n"
    )
    assert error_of(data) == "label 'x' is not one of the classes 0..9 (line 15)"


def test_hexadecimal_is_not_a_number_on_either_path() -> None:
    rows = [("0x0", 0)] + RIGHT[1:]
    assert (
        error_of(csv_bytes("id,label", rows))
        == "ids must be integers: line 2 ('0x0'); 1 id missing: 0"
    )


# --------------------------------------------------------------------------
# Nothing hidden leaks into messages


def test_messages_never_reveal_a_true_value() -> None:
    secret = [271828.125, -31415.5, 16180.25, 14142.75, 17320.5, 22360.625]
    solution = parse_solution(solution_csv(range(6), secret, alternating_usage(6), "y"), "rmse")
    attempts = [
        b"id,y\n0,nan\n1,\n2,x\n3,inf\n4,1\n5,1\n",
        b"id,y\n0,1\n0,1\n7,1\n",
        b"id,yy\n0,1\n",
        b"id,y\n0,1,2\n",
        b"id,y\n0,271828\n",
    ]
    for attempt in attempts:
        message = error_of(attempt, solution, "rmse")
        for value in secret:
            for shown in (str(value), str(int(value)), f"{value:g}"):
                assert shown not in message, (attempt, message)
        for hint in ("public", "private", "score", "expected label", "true"):
            assert hint not in message.lower(), (attempt, message)


def test_a_wrong_label_never_shows_the_right_one() -> None:
    # Id 1 is a 7. Tempting message: "id 1 should be 7" -- it must not say so.
    solution = parse_solution(b"id,label,usage\n1,7,public\n2,0,private\n3,9,public\n", "accuracy")
    message = error_of(b"id,label\n1,seven\n2,0\n3,9\n", solution)
    assert message == "label 'seven' is not one of the classes 0, 7, 9 (line 2)"
    message = error_of(b"id,label\n2,0\n3,9\n", solution)
    assert message == "1 id missing: 1"


def test_messages_do_not_depend_on_the_hidden_split_or_labels() -> None:
    ids = list(range(40))
    public_first = [i for i in ids if i % 2] + [i for i in ids if i % 2 == 0]
    first = parse_solution(
        solution_csv(
            public_first, [i % 4 for i in public_first], ["public"] * 20 + ["private"] * 20
        ),
        "accuracy",
    )
    second = parse_solution(
        solution_csv(ids, [(i * 7) % 4 for i in ids], ["private", "public"] * 20), "accuracy"
    )
    bad = csv_bytes(
        "id,label", [(i, 5 if i == 9 else 1) for i in ids if i not in (1, 2, 3, 4, 5, 33)]
    )
    assert error_of(bad, first) == error_of(bad, second)
    assert error_of(bad, first) == (
        "label 5 is not one of the classes 0..3 (line 6); 6 ids missing, e.g. 1, 2, 3"
    )


def test_values_so_large_that_the_error_overflows_are_rejected() -> None:
    solution = parse_solution(
        solution_csv(range(4), [1, 2, 3, 4], alternating_usage(4), "y"), "rmse"
    )
    message = error_of(b"id,y\n0,1\n1,1e200\n2,1\n3,1\n", solution, "rmse")
    assert message == "values must be numbers between -1e100 and 1e100: line 3 (1e200)"
    # Within the bound, even a million squared errors stay finite.
    scores = evaluate_csv(b"id,y\n0,1e100\n1,-1e100\n2,1\n3,1\n", solution, "rmse")
    assert np.isfinite(scores.public) and np.isfinite(scores.private)
    with pytest.raises(PredictionError, match="^1 prediction not between -1e100 and 1e100$"):
        score_predictions(np.array([1.0, 2.0, np.inf, 4.0]), solution, "rmse")
    huge = b"id,y,usage\n0,1e200,public\n1,1,private\n"
    with pytest.raises(
        SolutionError, match=r"^'y' must be a number between -1e100 and 1e100: line 2 \(1e200\)$"
    ):
        parse_solution(huge, "rmse")
