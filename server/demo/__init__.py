"""``podium-server demo``: a real MNIST challenge, demo accounts, a live board.

Everything comes from the MNIST copy shipped in ``server/demo/mnist`` (no network),
through the bundle in ``server/demo/bundle``: its ``solution.csv`` holds the
10,000 test labels, split public/private with a fixed seed (``solution_csv``).
"""

from __future__ import annotations

import gzip
import io
import logging
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.accounts import service as accounts
from server.challenges import bundles
from server.config import get_settings
from server.db import session_scope
from server.models import Baseline, Challenge, Role, Submission, User, utcnow
from server.storage import get_blob_store

log = logging.getLogger(__name__)

MNIST_DIR = Path(__file__).resolve().parent / "mnist"
# The demo challenge as a bundle (docs/bundles.md): settings, description, files, solution.
BUNDLE_DIR = Path(__file__).resolve().parent / "bundle"
DEMO_SLUG = "mnist"
HIDDEN_LABELS = "t10k-labels-idx1-ubyte.gz"
PUBLIC_FRACTION = 0.3
SPLIT_SEED = 2022
ORGANIZER = "organizer"
PARTICIPANT = "student"
DEMO_PASSWORD = "podium-demo-password"


def read_idx_labels(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic = int.from_bytes(data[:4], "big")
    if magic != 2049:
        raise ValueError(f"{path.name}: not an IDX label file (magic {magic})")
    count = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, dtype=np.uint8, offset=8, count=count)


def solution_csv(labels: np.ndarray) -> bytes:
    rng = np.random.default_rng(SPLIT_SEED)
    public = np.zeros(len(labels), dtype=bool)
    public[rng.permutation(len(labels))[: int(len(labels) * PUBLIC_FRACTION)]] = True
    out = io.StringIO()
    out.write("id,label,usage\n")
    for i, (label, is_public) in enumerate(zip(labels, public, strict=True)):
        out.write(f"{i},{label},{'public' if is_public else 'private'}\n")
    return out.getvalue().encode()


def _user(session: Session, username: str, role: Role) -> User:
    user = session.scalar(select(User).where(User.username == username))
    return user or accounts.create_user(session, username, DEMO_PASSWORD, role)


def ensure_demo_challenge(session: Session, organizer: User) -> Challenge:
    """The demo challenge, built from the bundle in ``server/demo/bundle`` (once)."""
    existing = session.scalar(select(Challenge).where(Challenge.slug == DEMO_SLUG))
    if existing is not None:
        return existing
    store = get_blob_store()
    bundle = bundles.read_bundle_folder(BUNDLE_DIR, store, get_settings().max_upload_bytes)
    # Made here rather than shipped: 31 MB of float32 derived from files/t10k-images.
    bundle.hidden_inputs = store.put_bytes(hidden_inputs_npy())
    bundle.settings = bundle.settings.model_copy(
        update={"closes_at": utcnow() + timedelta(days=30)}
    )
    return bundles.create_from_bundle(session, bundle, organizer, store, open_it=True)


def hidden_inputs_npy() -> bytes:
    """The test images as float32 (N, 1, 28, 28) in [0, 1], for checkpoint evaluation."""
    with gzip.open(MNIST_DIR / "t10k-images-idx3-ubyte.gz", "rb") as handle:
        data = handle.read()
    count, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
    images = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, 1, rows, cols)
    out = io.BytesIO()
    np.save(out, (images.astype(np.float32) / 255.0), allow_pickle=False)
    return out.getvalue()


def setup_demo() -> tuple[dict[str, str], dict[str, str]]:
    """Create (or reuse) the demo accounts and challenge.

    Returns fresh tokens for the organizer and the participant, and tokens for the
    demo teams that have not submitted yet (so a second ``make demo`` adds nothing).
    """
    from server.demo.teams import DEMO_TEAMS
    from server.migrations import upgrade

    upgrade()
    with session_scope() as session:
        organizer = _user(session, ORGANIZER, Role.organizer)
        participant = _user(session, PARTICIPANT, Role.participant)
        challenge = ensure_demo_challenge(session, organizer)
        _, organizer_token = accounts.issue_token(session, organizer, name="demo")
        _, participant_token = accounts.issue_token(session, participant, name="demo")
        team_tokens = {}
        for team in DEMO_TEAMS:
            user = _user(session, team.username, Role.participant)
            submitted = session.scalar(
                select(func.count(Submission.id)).where(
                    Submission.user_id == user.id, Submission.challenge_id == challenge.id
                )
            )
            if not submitted:
                team_tokens[team.username] = accounts.issue_token(session, user, name="demo")[1]
    return {"organizer": organizer_token, "participant": participant_token}, team_tokens


def run_demo(host: str, port: int) -> None:
    import uvicorn

    console = Console(soft_wrap=True)
    console.print("[bold]Podium demo[/bold]: setting up the MNIST challenge...")
    tokens, team_tokens = setup_demo()
    url = f"http://{host}:{port}"
    console.print(f"""
[bold green]Podium is starting at {url}[/bold green]
  challenge:    {url}/c/{DEMO_SLUG}
  API docs:     {url}/docs
  organizer:    user '{ORGANIZER}', token {tokens["organizer"]}
  participant:  user '{PARTICIPANT}' (password '{DEMO_PASSWORD}'), token {tokens["participant"]}

  Try:  export PODIUM_URL={url} PODIUM_TOKEN={tokens["participant"]}
        podium submit {DEMO_SLUG} -f preds.csv --wait
""")
    from server.app import create_app
    from server.demo.teams import start_demo_teams

    app = create_app()
    with session_scope() as session:
        have_baselines = session.scalar(
            select(func.count(Baseline.id))
            .join(Challenge, Challenge.id == Baseline.challenge_id)
            .where(Challenge.slug == DEMO_SLUG)
        )
    start_demo_teams(
        url,
        DEMO_SLUG,
        team_tokens,
        get_settings().data_dir / "demo-teams",
        baseline_token=None if have_baselines else tokens["organizer"],
    )
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    uvicorn.run(app, host=host, port=port)
