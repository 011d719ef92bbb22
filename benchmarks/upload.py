"""Upload: a 200 MB public file streams to disk without growing the server's memory.

    .venv/bin/python benchmarks/upload.py [--megabytes 200] [--postgres]

Starts ``podium-server serve`` on a temporary data directory, then an organizer
uploads a file of random bytes with ``PUT /api/v1/challenges/{slug}/files/{name}``,
streamed from disk by the client, three ways: the raw body (what the CLI sends),
a multipart form (field ``file``, what a browser form sends), and, as the
reference, a 1 MB raw body. While each upload runs, psutil samples the resident
memory (RSS) of the server process every 10 ms; the figure is the peak minus
the RSS just before. The throughput reference, measured in the same run, is
this process copying the same file on the same disk (read + write, no fsync:
the server does not fsync uploads either).

Target: the server's RSS grows by at most 50 MB during the 200 MB upload.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
from figures import machine
from harness import Server, create_challenge, database, organizer, running_server

SLUG = "upload"
TARGET_GROWTH_MB = 50.0
CHUNK = 1024 * 1024


class RssSampler:
    """Peak RSS of a process while a block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = 0.0
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float:
        return self.process.memory_info().rss / 1e6

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.01)

    def __enter__(self) -> RssSampler:
        self.before = self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> float:
        return self.peak - self.before


def write_random_file(path: Path, megabytes: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            chunk = os.urandom(CHUNK)
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def upload(server: Server, token: str, name: str, path: Path, multipart: bool) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    url = server.api(f"/challenges/{SLUG}/files/{name}")
    with httpx.Client(timeout=600) as client:
        if multipart:
            with open(path, "rb") as handle:
                response = client.put(url, headers=headers, files={"file": (name, handle)})
        else:
            headers["Content-Length"] = str(path.stat().st_size)
            response = client.put(url, headers=headers, content=file_chunks(path))
    if response.status_code != 201:
        raise SystemExit(f"upload failed: {response.status_code} {response.text[:300]}")
    return response.json()


def disk_copy_seconds(source: Path, target: Path) -> float:
    start = time.perf_counter()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        shutil.copyfileobj(reader, writer, CHUNK)
    seconds = time.perf_counter() - start
    target.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    rows = []
    with database(args.postgres) as db:
        org = organizer(db)
        big = db.data_dir / "big.bin"
        small = db.data_dir / "small.bin"
        big_sha = write_random_file(big, args.megabytes)
        write_random_file(small, 1)
        with running_server(db) as server:
            create_challenge(server, org, SLUG, 100)
            runs = [
                ("1 MB raw body (reference)", "small.bin", small, False, None),
                (f"{args.megabytes} MB raw body", "big.bin", big, False, big_sha),
                (f"{args.megabytes} MB multipart", "big-form.bin", big, True, big_sha),
            ]
            for label, name, path, multipart, sha in runs:
                with RssSampler(server.pid) as rss:
                    start = time.perf_counter()
                    stored = upload(server, org, name, path, multipart)
                    seconds = time.perf_counter() - start
                assert sha is None or stored["sha256"] == sha, stored
                size_mb = path.stat().st_size / 1e6
                rows.append((label, rss.before, rss.peak, rss.growth, size_mb / seconds))
        copy_seconds = disk_copy_seconds(big, db.data_dir / "copy.bin")

    print(f"database: {db.kind}; server RSS sampled every 10 ms during each upload")
    print("| upload | RSS before | RSS peak | growth | throughput |")
    print("|---|---:|---:|---:|---:|")
    for label, before, peak, growth, throughput in rows:
        print(
            f"| {label} | {before:.0f} MB | {peak:.0f} MB | {growth:+.1f} MB "
            f"| {throughput:.0f} MB/s |"
        )
    print(
        f"reference: copying the same {args.megabytes} MB file on the same disk (no fsync): "
        f"{args.megabytes * 1.048576 / copy_seconds:.0f} MB/s"
    )
    worst = max(growth for label, _, _, growth, _ in rows if "reference" not in label)
    verdict = "met" if worst <= TARGET_GROWTH_MB else "NOT met"
    print(f"target RSS growth <= {TARGET_GROWTH_MB:.0f} MB for {args.megabytes} MB: {verdict}")


if __name__ == "__main__":
    main()
