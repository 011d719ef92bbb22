"""The submissions page shows each fact sheet as text and its curve as JSON data only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture
from tests.teaching.test_metadata import GOOD, post
from tests.web.conftest import sign_in


def test_fact_sheet_and_curve_on_the_submissions_page(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    hostile = {
        **GOOD,
        "model": '<img src=x onerror="alert(1)">',
        "</script><script>alert(2)</script>": "x",
    }
    result = post(api, participant_token, open_challenge, json.dumps(hostile))
    assert result["status_code"] == 201, result
    plain = post(api, participant_token, open_challenge, None)
    client = browser_client()
    sign_in(client, "paul")
    page = client.get(f"/c/{open_challenge.slug}/submissions")
    assert page.status_code == 200
    html = page.text
    # Shown as text, never as markup.
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the "notes" key, as text
    assert "Hidden layers" in html and "128 × 64" in html and "Learning rate" in html
    assert f'id="fact-sheet-{result["id"]}"' in html
    assert f'id="fact-sheet-{plain["id"]}"' not in html  # nothing to show
    block = re.search(r'<script type="application/json" id="curves-data">(.*?)</script>', html)
    assert block is not None
    curves = json.loads(block.group(1))
    assert curves == {str(result["id"]): GOOD["curve"]}
    assert f'data-submission="{result["id"]}"' in html
