"""The model card's promise about the bundled model files, checked without the network's runtime.

The bundled model comes as two files made from one training run: the safetensors weights (for
PyTorch: training, CUDA) and the ONNX graph exported from them (for OpenVINO: the app and
the batch command on the CPU). The card beside them names both with their sha256, so either can
be checked before it measures anything, whichever runtime is installed. Its version (the name a
result saves as its ``model_version``) can be read from the card alone, so the app can tell a
saved result of another model before its own model has loaded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

#: Written beside the bundled model files by ``python -m training export``: "weights" and
#: "sha256" name the safetensors file and its hash, "onnx" and "onnx_sha256" the ONNX graph.
MODEL_CARD = "model_card.json"


class WeightsError(Exception):
    """The model file is missing, damaged, or made for another network."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_version(weights: Path, sha256: str) -> str:
    """How a model names itself in every result: the weights file's stem and the first 12 hex
    digits of its sha256 (both runtimes name the same weights alike)."""
    return f"{Path(weights).stem}-{sha256[:12]}"


def card_model_version(weights: Path) -> str | None:
    """The ``model_version`` of the weights ``weights`` as their model card describes them,
    without loading them; None without a readable card that names them."""
    try:
        card = json.loads(Path(weights).with_name(MODEL_CARD).read_text(encoding="utf-8"))
        return model_version(card["weights"], str(card["sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_against_card(path: Path) -> str:
    """The sha256 of ``path``, after checking it against the model card beside it.

    A model file that differs from the one its card describes (damaged on disk, swapped,
    tampered with) would silently measure with figures nobody validated, so it is refused.
    Without a card, or with a card about other files, there is nothing to check against.
    """
    path = Path(path)
    try:
        digest = sha256_of(path)
    except FileNotFoundError:
        raise WeightsError(f"{path.name} is missing; reinstall fetalview") from None
    card_path = path.with_name(MODEL_CARD)
    if not card_path.is_file():
        return digest
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        expected = {card["weights"]: card["sha256"]}
        if "onnx" in card:
            expected[card["onnx"]] = card["onnx_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"{card_path.name} beside {path.name} is unreadable ({exc!r}); "
                           "reinstall fetalview") from None
    if path.name in expected and expected[path.name] != digest:
        raise WeightsError(f"{path.name} does not match its model card (sha256 {digest[:12]}..., "
                           f"card says {str(expected[path.name])[:12]}...); the file is damaged "
                           "or was replaced; reinstall fetalview")
    return digest
