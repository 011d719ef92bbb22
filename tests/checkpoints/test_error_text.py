"""A checkpoint program cannot send data back through its error text (issue #18, defect 3).

The review's model read a system file and a slice of the hidden inputs, then
raised with both in its message, and the team got them back in ``error``.
Now a team sees the failure's category and the exception's type (from a fixed
list), in words the platform wrote; the organizers see the program's text;
a challenge whose hidden inputs are not secret may show it to teams
(``show_program_errors: true``).
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.checkpoints.helpers import (
    Exported,
    hostile_program,
    require_root,
    submit_checkpoint,
    wait_finished,
)
from tests.conftest import auth

LEAK_CODE = """
import numpy
rows = numpy.load("inputs.npy", allow_pickle=False)
try:
    passwd = open("/etc/passwd").read(60)
except OSError:  # the sandbox may not show it at all
    passwd = ""
raise ValueError("LEAK " + repr(rows.reshape(-1)[:8].tolist()) + " " + passwd)
"""


def _submit_leaker(api: TestClient, token: str, slug: str, exported: Exported, tmp: Path) -> int:
    program = hostile_program(exported, tmp, LEAK_CODE, "model.pt2")
    result = submit_checkpoint(api, token, slug, program)
    assert result["status_code"] == 201, result
    return int(result["id"])  # type: ignore[call-overload]


def test_a_team_never_reads_its_programs_error_text(
    api: TestClient,
    participant_token: str,
    organizer_token: str,
    checkpoint_challenge: str,
    exported: Exported,
    tmp_path: Path,
) -> None:
    require_root()
    submission_id = _submit_leaker(api, participant_token, checkpoint_challenge, exported, tmp_path)
    seen = wait_finished(api, participant_token, submission_id)
    assert seen["status"] == "failed"
    assert "LEAK" not in json.dumps(seen), seen["error"]
    assert "root" not in json.dumps(seen), seen["error"]
    error = str(seen["error"])
    assert error.startswith("the model could not be loaded"), error
    assert "ValueError" in error and len(error.splitlines()) == 1
    listed = api.get(
        f"/api/v1/challenges/{checkpoint_challenge}/submissions", headers=auth(participant_token)
    )
    assert "LEAK" not in listed.text
    # The organizers see what the program said.
    hosted = api.get(f"/api/v1/submissions/{submission_id}", headers=auth(organizer_token)).json()
    assert "LEAK" in str(hosted["error_detail"])


def test_a_challenge_may_show_program_errors_to_teams(
    api: TestClient,
    participant_token: str,
    organizer_token: str,
    checkpoint_challenge: str,
    exported: Exported,
    tmp_path: Path,
) -> None:
    require_root()
    current = api.get(
        f"/api/v1/challenges/{checkpoint_challenge}", headers=auth(organizer_token)
    ).json()
    spec = current["checkpoint_spec"] | {"show_program_errors": True}
    response = api.patch(
        f"/api/v1/challenges/{checkpoint_challenge}",
        json={"checkpoint_spec": spec},
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    submission_id = _submit_leaker(api, participant_token, checkpoint_challenge, exported, tmp_path)
    seen = wait_finished(api, participant_token, submission_id)
    assert seen["status"] == "failed"
    assert "ValueError" in str(seen["error"]) and "LEAK" in str(seen["error"])
