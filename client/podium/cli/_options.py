"""Option and argument types shared by the commands."""

from __future__ import annotations

from typing import Annotated

import typer

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="The challenge, e.g. mnist.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
