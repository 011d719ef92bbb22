"""The ``podium`` command line: a thin layer over `podium.Client`.

One module per command group; errors are formatted in one place
(`podium.cli._errors`). Exit codes: 0 ok, 1 refused or failed, 2 usage.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .._version import __version__
from . import admin, auth, challenges, course, leaderboard, people, submissions, team
from ._errors import PodiumGroup
from ._state import State, get_state

__all__ = ["State", "app", "main"]

app = typer.Typer(
    name="podium",
    cls=PodiumGroup,
    help="Podium: download challenge data, submit, and follow the leaderboard.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"podium-client {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    get_state(ctx)


app.command("login")(auth.login)
app.command("whoami")(auth.whoami)
app.command("challenges")(challenges.challenges)
app.command("challenge")(challenges.challenge)
app.command("files")(challenges.files)
app.command("download")(challenges.download)
app.command("join")(challenges.join)
app.command("submit")(submissions.submit)
app.command("submissions")(submissions.submissions)
app.command("submission")(submissions.submission)
app.command("cancel")(submissions.cancel)
app.command("select")(submissions.select)
app.command("leaderboard")(leaderboard.leaderboard)
app.add_typer(team.app, name="team")
app.command("announcements")(course.announcements)
admin.app.add_typer(course.baseline_app, name="baseline")
admin.app.command("bundle")(course.bundle)
admin.app.command("clone")(course.clone)
admin.app.command("announce")(course.announce)
app.add_typer(admin.app, name="admin")
people.install(app, admin.app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="podium")
