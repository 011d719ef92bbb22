"""Downloads: streamed to disk, skipped when present, resumed, verified."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import podium
import pytest

from .conftest import FakeAPI, file_server, reply, sha256

TRAIN = b"id,pixel0,label\n" + b"0,0.5,3\n" * 5000
TEST = b"id,pixel0\n" + b"0,0.5\n" * 100


def listing(*files: tuple[str, bytes]) -> list[dict[str, object]]:
    return [{"name": n, "size": len(d), "sha256": sha256(d)} for n, d in files]


@pytest.fixture
def served(fake: FakeAPI) -> FakeAPI:
    fake.add(
        "GET",
        "/challenges/mnist/files",
        reply(200, listing(("train.csv", TRAIN), ("test.csv", TEST))),
    )
    fake.add("GET", "/challenges/mnist/files/train.csv", file_server(TRAIN))
    fake.add("GET", "/challenges/mnist/files/test.csv", file_server(TEST))
    return fake


def test_downloads_every_file(served: FakeAPI, client: podium.Client, tmp_path: Path) -> None:
    results = client.download("mnist", tmp_path / "data", progress=False)
    assert [(r.name, r.status) for r in results] == [
        ("train.csv", "downloaded"),
        ("test.csv", "downloaded"),
    ]
    assert (tmp_path / "data" / "train.csv").read_bytes() == TRAIN
    assert (tmp_path / "data" / "test.csv").read_bytes() == TEST
    assert results[0].sha256 == sha256(TRAIN) and results[0].size == len(TRAIN)
    assert not list((tmp_path / "data").glob("*.part"))


def test_default_folder_is_data_slug(
    served: FakeAPI, client: podium.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    client.download("mnist", progress=False)
    assert (tmp_path / "data" / "mnist" / "train.csv").read_bytes() == TRAIN


def test_skips_files_that_already_match(
    served: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    (tmp_path / "train.csv").write_bytes(TRAIN)
    (tmp_path / "test.csv").write_bytes(b"stale")
    results = client.download("mnist", tmp_path, progress=False)
    assert [r.status for r in results] == ["skipped", "downloaded"]
    assert served.calls("GET", "/challenges/mnist/files/train.csv") == []
    assert (tmp_path / "test.csv").read_bytes() == TEST


def test_resumes_a_partial_file_with_range(
    served: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    (tmp_path / "train.csv.part").write_bytes(TRAIN[:1000])
    results = client.download("mnist", tmp_path, progress=False)
    assert results[0].status == "resumed"
    assert (tmp_path / "train.csv").read_bytes() == TRAIN
    [request] = served.calls("GET", "/challenges/mnist/files/train.csv")
    assert request.headers["Range"] == "bytes=1000-"
    assert request.headers["If-Range"] == f'"{sha256(TRAIN)}"'
    assert "Range" not in served.calls("GET", "/challenges/mnist/files/test.csv")[0].headers


def test_starts_over_when_the_server_ignores_range(
    fake: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    fake.add("GET", "/challenges/mnist/files", reply(200, listing(("train.csv", TRAIN))))
    fake.add("GET", "/challenges/mnist/files/train.csv", file_server(TRAIN, ranges=False))
    (tmp_path / "train.csv.part").write_bytes(b"garbage that is not a prefix")
    [result] = client.download("mnist", tmp_path, progress=False)
    assert result.status == "downloaded"
    assert (tmp_path / "train.csv").read_bytes() == TRAIN


def test_restarts_after_416(fake: FakeAPI, client: podium.Client, tmp_path: Path) -> None:
    fake.add("GET", "/challenges/mnist/files", reply(200, listing(("test.csv", TEST))))
    fake.add(
        "GET",
        "/challenges/mnist/files/test.csv",
        reply(416, {"detail": "range not satisfiable"}),
        file_server(TEST),
    )
    (tmp_path / "test.csv.part").write_bytes(TEST[:10])
    [result] = client.download("mnist", tmp_path, progress=False)
    assert result.status == "downloaded"
    assert (tmp_path / "test.csv").read_bytes() == TEST
    assert "Range" not in fake.calls("GET", "/challenges/mnist/files/test.csv")[1].headers


def test_complete_part_file_is_just_renamed(
    served: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    (tmp_path / "test.csv.part").write_bytes(TEST)
    (tmp_path / "train.csv").write_bytes(TRAIN)
    client.download("mnist", tmp_path, progress=False)
    assert (tmp_path / "test.csv").read_bytes() == TEST
    assert served.calls("GET", "/challenges/mnist/files/test.csv") == []


def test_checksum_mismatch_raises_and_removes_the_part(
    fake: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    fake.add(
        "GET",
        "/challenges/mnist/files",
        reply(200, [{"name": "test.csv", "size": len(TEST), "sha256": "0" * 64}]),
    )
    fake.add("GET", "/challenges/mnist/files/test.csv", file_server(TEST))
    with pytest.raises(podium.ChecksumError) as info:
        client.download("mnist", tmp_path, progress=False)
    assert info.value.expected == "0" * 64 and info.value.actual == sha256(TEST)
    assert "sha256 mismatch" in str(info.value)
    assert not (tmp_path / "test.csv").exists()
    assert not (tmp_path / "test.csv.part").exists()


class DropsAfter(httpx.SyncByteStream):
    """A response body that breaks off after `cut` bytes, like a dropped connection."""

    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut]
        raise httpx.ReadError("connection reset by peer")


def test_dropped_connection_resumes_where_it_stopped(
    fake: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    fake.add("GET", "/challenges/mnist/files", reply(200, listing(("train.csv", TRAIN))))
    fake.add(
        "GET",
        "/challenges/mnist/files/train.csv",
        lambda r: httpx.Response(200, stream=DropsAfter(TRAIN, 4096)),
        file_server(TRAIN),
    )
    [result] = client.download("mnist", tmp_path, progress=False)
    assert result.status == "resumed"
    assert (tmp_path / "train.csv").read_bytes() == TRAIN
    second = fake.calls("GET", "/challenges/mnist/files/train.csv")[1]
    assert second.headers["Range"] == "bytes=4096-"


def test_dropped_connection_gives_up_after_the_retries(fake: FakeAPI, tmp_path: Path) -> None:
    fake.add("GET", "/challenges/mnist/files", reply(200, listing(("train.csv", TRAIN))))
    fake.add(
        "GET",
        "/challenges/mnist/files/train.csv",
        lambda r: httpx.Response(200, stream=DropsAfter(TRAIN, 100)),
    )
    with fake.client(retries=1) as client, pytest.raises(podium.ConnectionError):
        client.download("mnist", tmp_path, progress=False)
    assert (tmp_path / "train.csv.part").exists()  # kept for the next try
    assert not (tmp_path / "train.csv").exists()


def test_missing_file_on_server(fake: FakeAPI, client: podium.Client, tmp_path: Path) -> None:
    fake.add("GET", "/challenges/nope/files", reply(404, {"detail": "challenge not found"}))
    with pytest.raises(podium.NotFoundError, match="challenge not found"):
        client.download("nope", tmp_path / "d", progress=False)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("name", ["../evil.sh", "/etc/passwd", "a\\b", "..", ""])
def test_refuses_unsafe_names(
    fake: FakeAPI, client: podium.Client, tmp_path: Path, name: str
) -> None:
    fake.add(
        "GET",
        "/challenges/mnist/files",
        reply(200, [{"name": name, "size": 1, "sha256": sha256(b"x")}]),
    )
    with pytest.raises(podium.PodiumError, match="unsafe name"):
        client.download("mnist", tmp_path / "d", progress=False)
    assert not (tmp_path / "evil.sh").exists()


def test_progress_bars_do_not_change_the_result(
    served: FakeAPI, client: podium.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "train.csv.part").write_bytes(TRAIN[:100])
    results = client.download("mnist", tmp_path, progress=True)
    assert [r.status for r in results] == ["resumed", "downloaded"]
    assert (tmp_path / "train.csv").read_bytes() == TRAIN
    assert "train.csv" in capsys.readouterr().err  # the bar went to stderr


def test_upload_and_submit_with_progress_bars(
    fake: FakeAPI, client: podium.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "weights.bin"
    big.write_bytes(b"\x01" * 3_000_000)
    fake.add("PUT", "/challenges/mnist/files/weights.bin", reply(201, {"name": "weights.bin"}))
    fake.add("POST", "/challenges/mnist/submissions", reply(201, {"id": 1, "status": "queued"}))
    client.upload_file("mnist", big, progress=True)
    client.submit("mnist", big, kind="checkpoint", progress=True)
    assert fake.bodies[0] == big.read_bytes()
    assert big.read_bytes() in fake.bodies[1]
    assert "weights.bin" in capsys.readouterr().err
