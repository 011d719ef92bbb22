"""What a team may read of a checkpoint program's failure: words the platform wrote.

A TorchScript or ``torch.export`` program runs on the hidden inputs; whatever
text leaves the sandbox (its exception message, the header of an outputs file
it wrote) is the program's to choose, so it could carry the hidden inputs or
a system file out. The team therefore gets one line built here from fixed
words: the failure's category (the stage that failed) and the exception's type
when it is a known one. The program's own text is kept for the organizers
(``Submission.error_detail``), and shown to teams only where the challenge
opts in (``checkpoint_spec.show_program_errors``: hidden inputs that are not
secret). A ``.safetensors`` checkpoint runs no program of the team's: its
messages come from our loader and are shown as they are.
"""

from __future__ import annotations

import builtins
import re

# The stages the sandbox's workload names (server.checkpoints.inference).
STAGES = ("the model could not be loaded", "the model failed while running")
# Exceptions a model commonly raises, by name: builtins and torch's own.
TORCH_EXCEPTIONS = frozenset(
    {"OutOfMemoryError", "JITException", "Error", "TorchRuntimeError", "UnsupportedOperatorError"}
)
KNOWN_EXCEPTIONS = TORCH_EXCEPTIONS | frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
OUT_OF_MEMORY = re.compile(r"ran out of memory: the limit is \d+ MB")
TOO_LARGE = "wrote a file larger than the size limit"
KEPT_FOR_ORGANIZERS = "its message is kept for the organizers"


def program_error_line(text: str, memory_mb: int) -> str:
    """The team's one line about a program's error ``text`` (never any of ``text`` itself)."""
    stage = next((s for s in STAGES if text.startswith(s)), None)
    rest = text[len(stage) :].lstrip(": ") if stage else text
    stage = stage or "the model failed"
    if OUT_OF_MEMORY.match(rest):
        return f"{stage}: ran out of memory: the limit is {memory_mb} MB"
    if rest.startswith(TOO_LARGE):
        return f"{stage}: it {TOO_LARGE}"
    name = rest.split(":", 1)[0].strip().rsplit(".", 1)[-1]
    raised = f"it raised {name}" if name in KNOWN_EXCEPTIONS else "it raised an exception"
    return f"{stage}: {raised} ({KEPT_FOR_ORGANIZERS})"


def shown_to_team(line: str, detail: str | None, show_program_errors: bool) -> str:
    """The team's error: the platform's line, with the program's text only where allowed."""
    if detail and show_program_errors:
        return f"{line}: {detail}"
    return line
