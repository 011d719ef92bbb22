"""At upload: what can be known is refused with a 422 naming the problem, using no quota.

None of this starts a sandbox: the server only reads the bytes as data.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.checkpoints.formats import (
    CheckpointFileError,
    detect_format,
    read_safetensors_header,
)
from tests.checkpoints.helpers import (
    Exported,
    MnistSubset,
    create_checkpoint_challenge,
    malicious_pickle,
    malicious_torch_save,
    replace_in_zip,
    submit_checkpoint,
    wait_finished,
)
from tests.conftest import auth


def _safetensors(header: object, data: bytes = b"", raw_header: bytes | None = None) -> bytes:
    encoded = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def _marker_code(marker: Path) -> str:
    return f"import os; open({str(marker)!r}, 'w').write('ran'); os.environ['PODIUM_PWNED'] = '1'"


def _assert_rejected(result: dict[str, object], *fragments: str) -> None:
    assert result["status_code"] == 422, result
    detail = str(result["detail"])
    assert detail.startswith("checkpoint rejected: "), detail
    for fragment in fragments:
        assert fragment in detail, detail


def _submissions(api: TestClient, token: str, slug: str) -> list[object]:
    response = api.get(f"/api/v1/challenges/{slug}/submissions", headers=auth(token))
    return list(response.json())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x01\x02", "fewer than the 8-byte header size"),
        (struct.pack("<Q", 10**9) + b"{}", "the header claims 1000000000 bytes"),
        (_safetensors(None, raw_header=b"{not json"), "the header is not UTF-8 JSON"),
        (_safetensors(None, raw_header=b'{"a": 1, "a": 2}'), "duplicate key 'a'"),
        (_safetensors([1, 2]), "not a valid safetensors file"),
        (_safetensors({"w": {"dtype": "F32", "shape": [2]}}), "exactly dtype, shape"),
        (
            _safetensors({"w": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
            "unknown dtype 'Q7'",
        ),
        (
            _safetensors({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}),
            "invalid shape",
        ),
        (
            _safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
            "needs 12 bytes but its data_offsets span 8",
        ),
        (
            _safetensors(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
                },
                b"\0" * 12,
            ),
            "overlaps another",
        ),
        (
            _safetensors(
                {"w": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12
            ),
            "leaves a gap",
        ),
        (
            _safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 9),
            "cover 8 bytes of data but the file holds 9",
        ),
        (
            _safetensors({"__metadata__": {"format": 1}}),
            "__metadata__ must map strings to strings",
        ),
    ],
)
def test_malformed_safetensors_headers_are_named(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointFileError, match="model.safetensors") as raised:
        read_safetensors_header(path)
    assert expected in str(raised.value)


def test_a_real_safetensors_header_parses(exported: Exported) -> None:
    tensors = read_safetensors_header(exported.safetensors)
    assert tensors["conv.0.weight"].shape == (8, 1, 3, 3)
    assert tensors["output.bias"].dtype == "F32"


def test_formats_are_told_by_extension_and_bytes(exported: Exported, tmp_path: Path) -> None:
    assert detect_format(exported.safetensors) == "safetensors"
    assert detect_format(exported.torchscript) == "torchscript"
    assert detect_format(exported.export) == "export"
    # A worker's cache names files by sha256: the bytes alone decide.
    for source, expected in (
        (exported.safetensors, "safetensors"),
        (exported.torchscript, "torchscript"),
        (exported.export, "export"),
    ):
        anonymous = tmp_path / f"{expected}-blob"
        anonymous.write_bytes(source.read_bytes())
        assert detect_format(anonymous) == expected
    with pytest.raises(CheckpointFileError, match="looks like a torch.export program"):
        detect_format(exported.export, "model.pt")
    with pytest.raises(CheckpointFileError, match="cannot tell what kind"):
        detect_format(exported.config, "model.bin")


def test_malformed_header_and_garbage_get_422_without_quota(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,
    exported: Exported,
) -> None:
    slug = create_checkpoint_challenge(api, organizer_token, mnist)
    bad_header = _safetensors(None, raw_header=b'{"conv.0.weight": [')
    result = submit_checkpoint(
        api, participant_token, slug, bad_header, "model.safetensors", exported.config
    )
    _assert_rejected(result, "model.safetensors is not a valid safetensors file")
    result = submit_checkpoint(
        api, participant_token, slug, b"garbage " * 512, "model.safetensors", exported.config
    )
    _assert_rejected(result, "is not a safetensors weights file")
    assert _submissions(api, participant_token, slug) == []


def test_wrong_tensor_shapes_are_listed(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,
    exported: Exported,
) -> None:
    slug = create_checkpoint_challenge(api, organizer_token, mnist)
    config = json.loads(exported.config.read_text())
    config["channels"] = [16]
    result = submit_checkpoint(
        api, participant_token, slug, exported.safetensors, config=json.dumps(config).encode()
    )
    _assert_rejected(
        result,
        "does not fit the 'cnn' model of the config",
        "tensor 'conv.0.weight' has shape (8,1,3,3), expected (16,1,3,3)",
    )
    assert _submissions(api, participant_token, slug) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"family": "resnet"}, "unknown model family 'resnet'; known families: cnn, mlp, neuron"),
        ({"hidden": "wide"}, "hidden must be a list of integers"),
        ({"layers": 3}, "unknown field 'layers'"),
        ({"input_shape": [1, 32, 32]}, "does not match this challenge's inputs, [1, 28, 28]"),
        ({"num_classes": 12}, "num_classes is 12 but this challenge has 10 classes"),
    ],
)
def test_configs_that_cannot_fit_get_422(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,
    exported: Exported,
    change: dict[str, object],
    expected: str,
) -> None:
    slug = create_checkpoint_challenge(api, organizer_token, mnist)
    config = json.loads(exported.config.read_text()) | change
    result = submit_checkpoint(
        api, participant_token, slug, exported.safetensors, config=json.dumps(config).encode()
    )
    _assert_rejected(result, expected)


def test_weights_need_a_json_config_and_programs_need_none(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,
    exported: Exported,
) -> None:
    slug = create_checkpoint_challenge(api, organizer_token, mnist)
    _assert_rejected(
        submit_checkpoint(api, participant_token, slug, exported.safetensors),
        "send its model config (model.json",
    )
    _assert_rejected(
        submit_checkpoint(api, participant_token, slug, exported.safetensors, config=b"{oops"),
        "the model config is not valid JSON",
    )
    _assert_rejected(
        submit_checkpoint(api, participant_token, slug, exported.safetensors, config=b"[1, 2]"),
        "must be a JSON object",
    )
    _assert_rejected(
        submit_checkpoint(
            api, participant_token, slug, exported.torchscript, config=exported.config
        ),
        "carries its own architecture",
    )
    assert _submissions(api, participant_token, slug) == []


def test_programs_only_where_the_challenge_allows_them(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,
    exported: Exported,
) -> None:
    slug = create_checkpoint_challenge(api, organizer_token, mnist, formats=["safetensors"])
    for program in (exported.torchscript, exported.export):
        result = submit_checkpoint(api, participant_token, slug, program)
        _assert_rejected(result, "this challenge does not accept a", "it accepts: safetensors")
    assert _submissions(api, participant_token, slug) == []


def test_pickles_disguised_as_each_format_never_run_in_the_server(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,
    exported: Exported,
    tmp_path: Path,
) -> None:
    """The server reads uploads as bytes: a pickle's code has no chance to run here."""
    slug = create_checkpoint_challenge(api, organizer_token, mnist)
    marker = tmp_path / "marker"
    code = _marker_code(marker)
    disguises = [
        (malicious_pickle(code), "model.safetensors", "is a Python pickle (torch.save)"),
        (malicious_torch_save(code), "model.safetensors", "is a Python pickle (torch.save)"),
        (malicious_torch_save(code), "model.pt", "is a Python pickle (torch.save)"),
        (malicious_pickle(code), "model.pt2", "is a Python pickle"),
        (malicious_torch_save(code), "model.pt2", "is a Python pickle"),
        (b"garbage " * 256, "model.pt2", "is not a torch.export program"),
    ]
    for content, name, expected in disguises:
        config = exported.config if name.endswith(".safetensors") else None
        result = submit_checkpoint(api, participant_token, slug, content, name, config)
        _assert_rejected(result, expected)
    # A TorchScript archive with a malicious data.pkl passes the upload checks (it is a
    # well-formed archive) and is queued: it is only ever opened in the sandbox.
    archive = replace_in_zip(
        exported.torchscript, tmp_path / "evil.pt", "data.pkl", malicious_pickle(code)
    )
    result = submit_checkpoint(api, participant_token, slug, archive)
    assert result["status_code"] == 201, result
    finished = wait_finished(api, participant_token, result["id"])
    assert finished["status"] == "failed"
    assert not marker.exists()
    assert "PODIUM_PWNED" not in os.environ
