"""Parsing and validating hidden solutions; every organizer-facing error."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from server.scoring import Solution, SolutionError, load_solution, parse_solution
from server.scoring.solution import clear_solution_cache
from tests.scoring.helpers import alternating_usage, solution_csv


def error_of(data: bytes, metric: str = "accuracy") -> str:
    with pytest.raises(SolutionError) as error:
        parse_solution(data, metric)
    return str(error.value)


def test_integer_ids_and_labels_stay_integers() -> None:
    solution = parse_solution(b"id,label,usage\n3,7,public\n1,2,private\n2,7,Private\n", "accuracy")
    assert solution.target == "label"
    assert solution.ids.dtype == np.int64
    assert solution.ids.tolist() == [3, 1, 2]  # file order
    assert solution.y.tolist() == [7, 2, 7]
    assert solution.classes == [2, 7]
    assert all(type(c) is int for c in solution.classes)
    assert solution.public_mask.tolist() == [True, False, False]
    assert (solution.public_count, solution.private_count) == (1, 2)


def test_string_ids_and_labels() -> None:
    data = b"id,species,usage\nimg_b,cat,public\nimg_a, dog ,private\n0042,cat,private\n"
    solution = parse_solution(data, "accuracy")
    assert solution.ids.tolist() == ["img_b", "img_a", "0042"]  # one non-integer: all strings
    assert solution.classes == ["cat", "dog"]
    assert solution.y.tolist() == ["cat", "dog", "cat"]


def test_value_metric_targets_are_floats_and_no_classes() -> None:
    solution = parse_solution(b"id,price,usage\n1,2.5,public\n2,-3e2,private\n", "rmse")
    assert solution.y.dtype == np.float64
    assert solution.y.tolist() == [2.5, -300.0]
    assert solution.classes is None


def test_integral_float_labels_become_integer_classes() -> None:
    solution = parse_solution(b"id,label,usage\n1,1.0,public\n2,0.0,private\n", "accuracy")
    assert solution.classes == [0, 1]


def test_bom_crlf_quotes_blank_lines_and_missing_final_newline() -> None:
    data = b'\xef\xbb\xbfid,label,usage\r\n"1",3,public\r\n\r\n2,"4",private'
    solution = parse_solution(data, "accuracy")
    assert solution.ids.tolist() == [1, 2]
    assert solution.classes == [3, 4]


def test_arrays_are_read_only() -> None:
    solution = parse_solution(b"id,label,usage\n1,3,public\n2,4,private\n", "accuracy")
    with pytest.raises(ValueError):
        solution.y[0] = 9


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (
            b"id,label\n1,3\n",
            "header must be 'id,<target>,usage' (for example 'id,label,usage'), got 'id,label'",
        ),
        (
            b"Id,Label,Usage\n1,3,public\n",
            "header must be 'id,<target>,usage' (for example 'id,label,usage'), "
            "got 'Id,Label,Usage'",
        ),
        (b"id,label,usage\n", "the solution has a header but no rows"),
        (b"\xff\xfei\x00d\x00", "the file is UTF-16 encoded; save it as UTF-8 CSV"),
        (
            b"id,label,usage\n1,3,public\n2,\xe9,private\n",
            "the file is not UTF-8 text (line 3); save it as UTF-8 CSV",
        ),
        (
            b"id,label,usage\n1,3,public\n2,4\n3,4,private,x\n",
            "every row must have 3 fields like the header (id,label,usage): "
            "line 3 has 2 and line 4 has 4",
        ),
        (
            b"id,label,usage\n1,3,public\n2,3,public\n",
            "the solution needs both public and private rows; it has 2 public and 0 private",
        ),
        (
            b"id,label,usage\n1,3,public\n,3,private\n 1 ,4,private\n",
            "ids must not be empty: line 3",
        ),
        (
            b"id,label,usage\n1,3,public\n2,,private\n",
            "'label' must not be empty: line 3",
        ),
    ],
)
def test_structural_errors(data: bytes, message: str) -> None:
    assert error_of(data) == message


def test_usage_errors_name_the_first_lines_and_count_the_rest() -> None:
    usage = ["public"] * 30
    usage[3] = "private"
    usage[2] = "pubic"  # line 4
    usage[7] = ""  # line 9
    for i in range(10, 22):  # 12 more
        usage[i] = "test"
    message = error_of(solution_csv(range(30), [1] * 30, usage))
    assert (
        message == "usage must be 'public' or 'private': line 4 ('pubic'), line 9 ('') and 12 more"
    )


def test_duplicate_ids_are_listed_with_their_lines() -> None:
    ids = [5, 6, 5, 7, 6, 6, 8, 9, 9, 10, 10]
    message = error_of(solution_csv(ids, [1] * len(ids), alternating_usage(len(ids))))
    assert message == (
        "ids must be unique; 4 ids repeated: 5 (lines 2 and 4), 6 (lines 3, 6 and 7) and 2 more"
    )
    # Integer ids compare as numbers: 007 is 7.
    assert error_of(b"id,label,usage\n7,1,public\n007,1,private\n") == (
        "ids must be unique; 1 id repeated: 7 (lines 2 and 3)"
    )


def test_value_targets_must_be_finite_numbers() -> None:
    data = b"id,price,usage\n1,2.5,public\n2,abc,private\n3,inf,public\n4,nan,private\n5,,public\n"
    assert error_of(data, "rmse") == (
        "'price' must be a number between -1e100 and 1e100: "
        "line 3 ('abc'), line 4 ('inf') and 2 more"
    )


def test_probability_metrics_need_two_classes() -> None:
    data = b"id,label,usage\n1,cat,public\n2,cat,private\n"
    assert (
        error_of(data, "log_loss")
        == "log_loss needs at least two classes; the target has only 'cat'"
    )
    assert parse_solution(data, "accuracy").classes == ["cat"]


def test_roc_auc_needs_every_class_in_each_part() -> None:
    data = solution_csv(range(6), [0, 0, 1, 1, 2, 0], ["public", "private"] * 3)
    assert error_of(data, "roc_auc") == (
        "roc_auc needs every class among both the public and the private rows: "
        "class 2 has no private rows"
    )
    binary = solution_csv(range(4), [0, 1, 1, 1], ["public", "private"] * 2)
    assert error_of(binary, "roc_auc") == (
        "roc_auc needs every class among both the public and the private rows: "
        "class 0 has no private rows"
    )
    # log_loss is defined with the class list even when a part lacks a class.
    assert parse_solution(data, "log_loss").classes == [0, 1, 2]


def test_r2_needs_two_rows_in_each_part() -> None:
    data = b"id,y,usage\n1,2.0,public\n2,3.0,private\n3,4.0,private\n"
    assert error_of(data, "r2") == "r2 needs at least two public rows"


def test_unknown_metric() -> None:
    message = error_of(b"id,label,usage\n1,1,public\n2,1,private\n", "accuracyy")
    assert message.startswith("unknown metric 'accuracyy'; known metrics: ")
    assert "accuracy" in message and "roc_auc" in message


def test_long_values_are_shortened_in_messages() -> None:
    data = b"id,label,usage\n1,1," + b"x" * 500 + b"\n2,1,private\n"
    message = error_of(data)
    assert len(message) < 120
    assert "line 2 ('" + "x" * 30 + "…')" in message


def test_direct_construction_coerces_and_indexes() -> None:
    solution = Solution(
        target="label",
        ids=np.array([10, 11, 12]),
        y=np.array([1, 0, 1]),
        public_mask=np.array([True, False, True]),
        classes=[0, 1],
    )
    assert solution.public_count == 2
    assert solution._locate(np.array([12, 10, 99])).tolist() == [2, 0, -1]


def test_sparse_integer_ids_are_located_without_a_dense_table() -> None:
    ids = [10**15, 5, -(10**12), 77]
    solution = parse_solution(solution_csv(ids, [1, 2, 1, 2], alternating_usage(4)), "accuracy")
    assert solution._dense_table is None
    assert solution._locate(np.array([77, 10**15, 6, -(10**12)])).tolist() == [3, 0, -1, 2]


def test_load_solution_memoises_by_digest_and_metric(tmp_path) -> None:
    clear_solution_cache()
    data = b"id,label,usage\n1,0,public\n2,1,private\n3,1,public\n4,0,private\n"
    path = tmp_path / "solution.csv"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    first = load_solution(path, "accuracy", digest)
    assert load_solution(str(path), "accuracy", digest) is first
    assert load_solution(path, "roc_auc", digest) is not first
    # A digest that does not match the file is refused, not cached.
    with pytest.raises(SolutionError, match="has sha256"):
        load_solution(path, "accuracy", "0" * 64)
    # Served from memory: the file is not read again on a hit.
    path.unlink()
    assert load_solution(path, "accuracy", digest) is first
    clear_solution_cache()


def test_ids_beyond_18_digits() -> None:
    big = b"id,label,usage\n9223372036854775807,1,public\n-0000000000000000000042,1,private\n"
    assert parse_solution(big, "accuracy").ids.tolist() == [2**63 - 1, -42]
    # Too large for int64: every id stays a string, exactly as written.
    bigger = b"id,label,usage\n9223372036854775808,1,public\n1,1,private\n"
    assert parse_solution(bigger, "accuracy").ids.tolist() == ["9223372036854775808", "1"]
