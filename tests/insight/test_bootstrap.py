"""The bootstrap against a direct, one-resample-at-a-time bootstrap with sklearn."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sklearn import metrics as skm

from server.scoring import bootstrap
from server.scoring.predictions import read_predictions, score_predictions
from server.scoring.solution import parse_solution

SHA = "5eed" + "0" * 60
N = 600


def solution_for(metric: str, y: np.ndarray, public: np.ndarray):  # type: ignore[no-untyped-def]
    target = "label" if metric not in ("mae", "mse", "rmse", "r2") else "value"
    lines = [f"id,{target},usage"] + [
        f"{i},{value},{'public' if p else 'private'}"
        for i, (value, p) in enumerate(zip(y, public, strict=True))
    ]
    return parse_solution(("\n".join(lines) + "\n").encode(), metric)


def direct_bootstrap(y: np.ndarray, p: np.ndarray, public: np.ndarray, metric, resamples: int):  # type: ignore[no-untyped-def]
    """The textbook loop: same seed and draws, one sklearn call per resample."""
    y_pub, p_pub = y[public], p[public]
    n = len(y_pub)
    rng = np.random.default_rng(int(SHA[:16], 16))
    rows = rng.integers(0, n, size=(resamples, n))
    scores = []
    for sample in rows:
        try:
            scores.append(metric(y_pub[sample], p_pub[sample]))
        except (ValueError, Warning):  # undefined: sklearn raises or warns (an error here)
            scores.append(np.nan)
    return np.array(scores, dtype=np.float64)


def halfwidth_of(scores: np.ndarray) -> float:
    low, high = np.percentile(scores[np.isfinite(scores)], [2.5, 97.5])
    return float(high - low) / 2


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


@pytest.mark.parametrize(
    ("metric", "direct"),
    [
        ("accuracy", skm.accuracy_score),
        ("mae", skm.mean_absolute_error),
        ("mse", skm.mean_squared_error),
        ("rmse", skm.root_mean_squared_error),
    ],
)
def test_vectorised_metrics_match_a_direct_bootstrap(metric, direct, rng) -> None:  # type: ignore[no-untyped-def]
    public = rng.random(N) < 0.4
    if metric == "accuracy":
        y = rng.integers(0, 10, N)
        p = np.where(rng.random(N) < 0.8, y, (y + 1) % 10)
    else:
        y = np.round(rng.normal(size=N), 3)
        p = np.round(y + rng.normal(scale=0.3, size=N), 3)
    solution = solution_for(metric, y, public)
    aligned = read_predictions(csv_of(p, solution.target), solution, metric)

    scores = bootstrap.public_bootstrap(aligned, solution, metric, SHA)
    expected = direct_bootstrap(y, p, public, direct, bootstrap.VECTORISED_RESAMPLES)

    assert len(scores) == bootstrap.VECTORISED_RESAMPLES == 1000
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)
    assert bootstrap.halfwidth(scores) == pytest.approx(halfwidth_of(expected), abs=1e-12)
    # The interval is around the public score the leaderboard shows.
    public_score = score_predictions(aligned, solution, metric).public
    low, high = bootstrap.interval(scores)  # type: ignore[misc]
    assert low <= public_score <= high


def test_looped_metrics_match_a_direct_bootstrap(rng) -> None:  # type: ignore[no-untyped-def]
    public = rng.random(N) < 0.5
    y = rng.integers(0, 4, N)
    p = np.where(rng.random(N) < 0.6, y, rng.integers(0, 4, N))
    solution = solution_for("f1_macro", y, public)
    aligned = read_predictions(csv_of(p, "label"), solution, "f1_macro")

    scores = bootstrap.public_bootstrap(aligned, solution, "f1_macro", SHA)
    expected = direct_bootstrap(
        y,
        p,
        public,
        lambda t, q: skm.f1_score(t, q, average="macro", zero_division=0),
        bootstrap.LOOPED_RESAMPLES,
    )
    assert len(scores) == 200
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    assert bootstrap.halfwidth(scores) == pytest.approx(halfwidth_of(expected), abs=1e-12)


def test_undefined_resamples_are_left_out(rng) -> None:  # type: ignore[no-untyped-def]
    # ROC AUC on 12 public rows with 2 positives: some resamples have no positive row.
    n = 36
    public = np.arange(n) % 3 == 0
    y = np.zeros(n, dtype=int)
    y[[0, 3, 1, 2]] = 1
    p = np.round(rng.random(n), 4)
    solution = solution_for("roc_auc", y, public)
    lines = ["id,label"] + [f"{i},{v}" for i, v in enumerate(p)]
    aligned = read_predictions(("\n".join(lines) + "\n").encode(), solution, "roc_auc")
    scores = bootstrap.public_bootstrap(aligned, solution, "roc_auc", SHA)
    expected = direct_bootstrap(y, p, public, skm.roc_auc_score, bootstrap.LOOPED_RESAMPLES)
    undefined = np.isnan(expected)
    assert undefined.any()
    np.testing.assert_array_equal(np.isnan(scores), undefined)
    np.testing.assert_allclose(scores[~undefined], expected[~undefined], rtol=1e-12)
    # Over 10% undefined: no interval rather than a misleading one.
    assert undefined.mean() > bootstrap.MAX_UNDEFINED_FRACTION
    assert bootstrap.halfwidth(scores) is None


def test_private_rows_change_nothing(rng) -> None:  # type: ignore[no-untyped-def]
    public = rng.random(N) < 0.3
    y = rng.integers(0, 10, N)
    p = np.where(rng.random(N) < 0.7, y, (y + 3) % 10)
    other_y = np.where(public, y, (y + 1) % 10)  # other private labels
    other_p = np.where(public, p, y)  # other private predictions
    runs = []
    for labels, predictions in ((y, p), (other_y, other_p)):
        solution = solution_for("accuracy", labels, public)
        aligned = read_predictions(csv_of(predictions, "label"), solution, "accuracy")
        runs.append(bootstrap.public_bootstrap(aligned, solution, "accuracy", SHA))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_paired_significance() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0.9, 0.01, size=1000)
    assert bootstrap.tied(base, base) is True  # identical predictions
    assert bootstrap.tied(base + 0.001 * rng.normal(size=1000), base) is True
    assert bootstrap.tied(base + 0.05, base) is False
    assert bootstrap.tied(base, base[:200]) is None  # other resamples: cannot say
    with_nan = base.copy()
    with_nan[:300] = np.nan
    assert bootstrap.tied(with_nan, base) is None


def test_storage_round_trip() -> None:
    scores = np.linspace(0.9, 1.0, 1000)
    columns = bootstrap.stored_columns(scores)
    stored = bootstrap.decode(columns["public_bootstrap"])  # type: ignore[arg-type]
    assert stored is not None and len(stored) == 1000
    np.testing.assert_allclose(stored, scores, rtol=1e-6)
    assert columns["public_ci_halfwidth"] == pytest.approx(bootstrap.halfwidth(scores), rel=1e-5)
    # What a remote worker posts: JSON, with null for an undefined resample.
    posted = bootstrap.columns_for([*scores[:-1].tolist(), None])
    assert np.isnan(bootstrap.decode(posted["public_bootstrap"])[-1])  # type: ignore[arg-type,index]
    assert bootstrap.columns_for(None) == {}
    assert bootstrap.decode(b"abc") is None


def test_seed_is_per_solution() -> None:
    assert bootstrap.seed_for("ab" * 32) != bootstrap.seed_for("cd" * 32)
    assert bootstrap.seed_for("ab" * 32) == int("ab" * 8, 16)


def csv_of(values: np.ndarray, column: str) -> bytes:
    out = io.StringIO()
    out.write(f"id,{column}\n")
    out.writelines(f"{i},{v}\n" for i, v in enumerate(values))
    return out.getvalue().encode()


def test_a_kept_draw_gives_the_numbers_of_a_fresh_chunked_one(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index matrix is drawn once per challenge and kept: the second and later
    submissions get exactly the numbers the chunked draw gives them."""
    public = rng.random(N) < 0.4
    y = rng.integers(0, 10, N)
    solution = solution_for("accuracy", y, public)
    first, second = (
        read_predictions(
            csv_of(np.where(rng.random(N) < q, y, (y + 1) % 10), solution.target),
            solution,
            "accuracy",
        )
        for q in (0.7, 0.9)
    )
    seed, n = int(SHA[:16], 16), int(public.sum())
    monkeypatch.setattr(bootstrap, "CHUNK_VALUES", 50_000)  # several chunks, all kept
    kept = [bootstrap.public_bootstrap(a, solution, "accuracy", SHA) for a in (first, second)]
    assert bootstrap._kept_draw(seed, n, 1000) is bootstrap._kept_draw(seed, n, 1000)
    monkeypatch.setattr(bootstrap, "KEEP_VALUES", 50_000)  # too big to keep: drawn each time
    assert bootstrap._kept_draw(seed, n, 1000) is None
    drawn = [bootstrap.public_bootstrap(a, solution, "accuracy", SHA) for a in (first, second)]
    np.testing.assert_array_equal(kept[0], drawn[0])
    np.testing.assert_array_equal(kept[1], drawn[1])
