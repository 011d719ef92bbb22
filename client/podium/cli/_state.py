"""How commands get their `podium.Client`: one per invocation, closed at exit."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import httpx
import typer

from .._client import Client


@dataclass
class State:
    """Per-invocation state, stored as the root context's ``obj``.

    Tests pass ``obj=State(transport=httpx.MockTransport(...))`` to
    ``CliRunner.invoke`` to run the CLI without a server.
    """

    transport: httpx.BaseTransport | None = None
    clients: list[Client] = field(default_factory=list)


def get_state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    state: State = root.obj
    return state


def get_client(ctx: typer.Context, *, url: str | None = None, token: str | None = None) -> Client:
    """Build a client from the arguments, environment and config file.

    Warnings about the config file (world-readable token) are shown as one
    ``Warning:`` line on stderr rather than Python's warning format.
    """
    state = get_state(ctx)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = Client(url=url, token=token, transport=state.transport)
    for warning in caught:
        typer.echo(f"Warning: {warning.message}", err=True)
    state.clients.append(client)
    ctx.find_root().call_on_close(client.close)
    return client
