"""Checkpoint files read as data: which format, and what a safetensors header says.

Everything here reads the uploaded bytes as data, never as a program: the
safetensors header is parsed by hand following the format's specification,
and program archives (TorchScript, ``torch.export``) are only listed as zip
files. Nothing a team sends is unpickled or loaded in the server process;
that happens in the sandbox (``server.checkpoints.inference``) when the job runs.
Also the file names both sides of the sandbox agree on.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ModelFormat = Literal["safetensors", "torchscript", "export"]

EXTENSIONS: dict[str, ModelFormat] = {
    ".safetensors": "safetensors",
    ".pt": "torchscript",
    ".pth": "torchscript",
    ".pt2": "export",
}
FORMAT_LABELS: dict[str, str] = {
    "safetensors": "safetensors weights file (.safetensors)",
    "torchscript": "TorchScript program (.pt, from torch.jit.save)",
    "export": "torch.export program (.pt2, from torch.export.save)",
    "pickle": "Python pickle (torch.save)",
}
MAX_CONFIG_BYTES = 64 * 1024
# The safetensors reference implementation refuses headers above 100 MB.
MAX_HEADER_BYTES = 100_000_000
MAX_TENSORS = 10_000
MAX_PROBLEMS_LISTED = 5

# The file names inside the sandbox's working folder (both sides use them).
MODEL_FILES: dict[str, str] = {
    "safetensors": "model.safetensors",
    "torchscript": "model.pt",
    "export": "model.pt2",
}
CONFIG_FILE = "model.json"
INPUTS_FILE = "inputs.npy"
OUTPUTS_FILE = "outputs.npy"
RESULT_FILE = "result.json"

# Bytes per element of each safetensors dtype, and the torch name of each.
SAFETENSORS_DTYPES: dict[str, tuple[int, str]] = {
    "BOOL": (1, "bool"),
    "U8": (1, "uint8"),
    "I8": (1, "int8"),
    "F8_E5M2": (1, "float8_e5m2"),
    "F8_E4M3": (1, "float8_e4m3fn"),
    "I16": (2, "int16"),
    "U16": (2, "uint16"),
    "F16": (2, "float16"),
    "BF16": (2, "bfloat16"),
    "I32": (4, "int32"),
    "U32": (4, "uint32"),
    "F32": (4, "float32"),
    "I64": (8, "int64"),
    "U64": (8, "uint64"),
    "F64": (8, "float64"),
}


class CheckpointFileError(ValueError):
    """The file is not a usable checkpoint; the message is shown to the team."""


@dataclass(frozen=True)
class TensorInfo:
    """One entry of a safetensors header."""

    dtype: str
    shape: tuple[int, ...]

    @property
    def torch_dtype(self) -> str:
        return SAFETENSORS_DTYPES[self.dtype][1]


# --------------------------------------------------------------------------
# Formats


def sniff_format(path: Path) -> str | None:
    """What the bytes look like: a model format, ``"pickle"``, or None.

    TorchScript archives hold ``<name>/code/`` (the program) and
    ``constants.pkl``; ``torch.export`` archives hold ``archive_format``;
    ``torch.save`` archives hold ``data.pkl`` and neither of the others.
    """
    with open(path, "rb") as handle:
        head = handle.read(16)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if any(_member(name) == "archive_format" for name in names):
            return "export"
        if any("/code/" in f"/{name}" for name in names) and any(
            _member(name) == "constants.pkl" for name in names
        ):
            return "torchscript"
        if any(_member(name) == "data.pkl" for name in names):
            return "pickle"
        return None
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    if head[:1] == b"\x80":  # the PROTO opcode that starts every pickle since protocol 2
        return "pickle"
    return None


def _member(name: str) -> str:
    """``'m/data.pkl'`` -> ``'data.pkl'``: a name inside the archive's top folder."""
    parts = name.split("/", 1)
    return parts[1] if len(parts) == 2 else parts[0]


def detect_format(path: Path, file_name: str | None = None) -> ModelFormat:
    """The model format of a checkpoint file: its extension, confirmed by its bytes.

    Without a known extension (e.g. a worker's cache, named by sha256) the
    bytes alone decide. Raises :class:`CheckpointFileError` with a message
    for the team.
    """
    name = file_name or path.name
    sniffed = sniff_format(path)
    declared = EXTENSIONS.get(Path(name).suffix.lower())
    if sniffed == "pickle":
        raise CheckpointFileError(
            f"{name} is a Python pickle (torch.save), which runs code when it is loaded; "
            "submit weights as .safetensors with their model config "
            "(baselines.export.save_checkpoint), or a TorchScript (.pt) or torch.export "
            "(.pt2) program where the challenge allows programs"
        )
    if declared is not None:
        if sniffed is None:
            raise CheckpointFileError(f"{name} is not a {FORMAT_LABELS[declared]}")
        if sniffed != declared:
            extension = next(e for e, f in EXTENSIONS.items() if f == sniffed)
            raise CheckpointFileError(
                f"{name} looks like a {FORMAT_LABELS[sniffed]}, not a {FORMAT_LABELS[declared]}; "
                f"name it *{extension}"
            )
        return declared
    if sniffed in ("safetensors", "torchscript", "export"):
        return sniffed  # type: ignore[return-value]  # narrowed by the test above
    raise CheckpointFileError(
        f"cannot tell what kind of checkpoint {name} is: submit weights as .safetensors "
        "(with --config model.json), a TorchScript program as .pt or a torch.export program "
        "as .pt2"
    )


# --------------------------------------------------------------------------
# safetensors


def read_safetensors_header(path: Path, name: str | None = None) -> dict[str, TensorInfo]:
    """Parse and check a safetensors header without loading any tensor.

    Follows the specification (huggingface/safetensors): an 8-byte
    little-endian header size, a JSON object mapping each tensor name to
    ``{dtype, shape, data_offsets}`` (plus an optional ``__metadata__`` of
    strings), then a byte buffer that the tensors cover exactly, without
    holes or overlaps.
    """
    name = name or path.name

    def invalid(why: str) -> CheckpointFileError:
        return CheckpointFileError(f"{name} is not a valid safetensors file: {why}")

    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise invalid(f"it has {size} bytes, fewer than the 8-byte header size")
        header_size = int.from_bytes(prefix, "little")
        if header_size > MAX_HEADER_BYTES or 8 + header_size > size:
            raise invalid(
                f"the header claims {header_size} bytes but the file has {size - 8} after the "
                "header size"
            )
        raw = handle.read(header_size)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, ValueError) as error:
        raise invalid(f"the header is not UTF-8 JSON ({_short(error)})") from None
    if not isinstance(header, dict):
        raise invalid("the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise invalid("__metadata__ must map strings to strings")
    if len(header) > MAX_TENSORS:
        raise invalid(f"it has {len(header)} tensors; at most {MAX_TENSORS} are accepted")

    tensors: dict[str, TensorInfo] = {}
    spans: list[tuple[int, int, str]] = []
    for tensor_name, entry in header.items():
        where = f"tensor {_quoted(tensor_name)}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise invalid(f"{where} must have exactly dtype, shape and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in SAFETENSORS_DTYPES:
            raise invalid(f"{where} has an unknown dtype {_quoted(dtype)}")
        if not isinstance(shape, list) or not all(_is_count(s) for s in shape):
            raise invalid(f"{where} has an invalid shape {_short(shape)}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise invalid(f"{where} has invalid data_offsets {_short(offsets)}")
        expected = math.prod(shape) * SAFETENSORS_DTYPES[dtype][0]
        if offsets[1] - offsets[0] != expected:
            raise invalid(
                f"{where} ({dtype}, shape {tuple(shape)}) needs {expected} bytes but its "
                f"data_offsets span {offsets[1] - offsets[0]}"
            )
        tensors[tensor_name] = TensorInfo(dtype, tuple(shape))
        spans.append((offsets[0], offsets[1], tensor_name))
    buffer_size = size - 8 - header_size
    position = 0
    for begin, end, tensor_name in sorted(spans):
        if begin != position:
            what = "overlaps another" if begin < position else "leaves a gap before it"
            raise invalid(f"the data of tensor {_quoted(tensor_name)} {what}")
        position = end
    if position != buffer_size:
        raise invalid(
            f"the tensors cover {position} bytes of data but the file holds {buffer_size}"
        )
    return tensors


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"duplicate key {_quoted(repeated)}")
    return dict(pairs)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _quoted(value: object) -> str:
    text = str(value)
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def _short(value: object) -> str:
    text = str(value)
    return text[:80] + ("..." if len(text) > 80 else "")


def read_config(data: bytes, name: str = "model config") -> dict[str, Any]:
    """The model config as a JSON object (``CheckpointFileError`` otherwise)."""
    if len(data) > MAX_CONFIG_BYTES:
        raise CheckpointFileError(f"the {name} is larger than {MAX_CONFIG_BYTES // 1024} KB")
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise CheckpointFileError(f"the {name} is not valid JSON: {_short(error)}") from None
    if not isinstance(config, dict):
        raise CheckpointFileError(f"the {name} must be a JSON object, like baselines' model.json")
    return config
