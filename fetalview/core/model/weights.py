"""Reading and writing model weights as safetensors: no pickle, so loading runs no code."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from fetalview.core.model.network import ModelConfig, ResidualUNet, parameter_count
from fetalview.core.model.card import WeightsError  # noqa: F401 - a weights file's errors, for its importers
from fetalview.core.io.outputs import write_atomic

FORMAT = "fetalview-resunet-1"
#: A header may describe any width and depth; beyond this many parameters (800 MB of float32,
#: the bundled model has 2.1 M) it is refused before the network is allocated.
MAX_PARAMETERS = 200_000_000


def save_weights(model: ResidualUNet, path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write atomically, with the architecture in the header so a load can check it."""
    path = Path(path)
    meta = {"format": FORMAT, "config": json.dumps(model.config.as_dict())}
    meta.update(metadata or {})
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(path, save(state, metadata=meta))


def read_header(path: Path) -> dict[str, str]:
    """The metadata of a weights file, read without loading the tensors."""
    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 0 < size < 100_000_000:
                raise ValueError("bad header length")
            header = json.loads(f.read(size))
        meta = (header.get("__metadata__") or {}) if isinstance(header, dict) else None
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ValueError("the header is not a safetensors header")
        return meta
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested deep
        raise WeightsError(f"{path.name} is not a safetensors weights file ({exc})") from None


def _build(config: ModelConfig, path: Path) -> ResidualUNet:
    """The described network, after sizing it on the meta device (no memory), so a hostile
    header cannot make the loader allocate gigabytes."""
    if not (1 <= config.depth <= 12 and 1 <= config.base_width <= 1024):
        raise WeightsError(f"{path.name} describes an implausible network (depth {config.depth}, "
                           f"width {config.base_width}); refused")
    with torch.device("meta"):
        count = parameter_count(ResidualUNet(config))
    if count > MAX_PARAMETERS:
        raise WeightsError(f"{path.name} describes a network of {count:,} parameters, far larger "
                           f"than fetalview's (limit {MAX_PARAMETERS:,}); refused")
    return ResidualUNet(config)


def load_model(path: Path, device: str | torch.device = "cpu") -> ResidualUNet:
    """The network described by ``path``'s header with its weights, in eval mode on ``device``."""
    path = Path(path)
    meta = read_header(path)
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path.name} was not written by fetalview (format "
                           f"{meta.get('format')!r}, expected {FORMAT!r})")
    try:
        model = _build(ModelConfig(**json.loads(meta["config"])), path)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path.name}: unreadable architecture description ({exc})") from None
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path.name} is damaged or truncated ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{path.name} does not match the Residual UNet architecture: "
                           f"{str(exc).splitlines()[0]}") from None
    return model.to(device).eval()
