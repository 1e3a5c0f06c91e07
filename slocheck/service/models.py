"""Two small, real, deterministic models: an image classifier and a token generator.

Weights come from a seeded generator (no downloads), so every backend computes the same
function: the numpy backend runs everywhere, the torch backend runs on CPU or CUDA with the
very same weights.

* Classifier: resize to 32x32 (bilinear), 3x3 stride-2 convolution with 32 channels, ReLU,
  dense 7200 -> 512 (a 14 MB weight matrix: one sample at a time is
  memory bound, so batching pays as it does on real models), ReLU, dense 512 -> 10, softmax.
* Generator: an Elman RNN (hidden 256, vocabulary 512). A prompt costs one recurrent step per
  word (prefill) and every generated token one more step, so time to first token grows with
  the prompt and total time with ``max_tokens``.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

INPUT_SIZE = 32
CONV_CHANNELS = 32
CONV_OUT = (INPUT_SIZE - 3) // 2 + 1  # 15
HIDDEN = 512
LABELS = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
GEN_HIDDEN = 256
VOCAB_SIZE = 512
MAX_IMAGE_SIDE = 256

_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "ze",
    "pa",
    "do",
    "fi",
    "gu",
    "he",
    "ja",
    "ko",
    "la",
    "mu",
    "no",
    "pe",
    "qui",
    "ro",
    "su",
    "ta",
    "ul",
    "ve",
    "wa",
    "xi",
    "yo",
    "zu",
    "be",
    "ce",
)


def _vocabulary() -> tuple[str, ...]:
    n = len(_SYLLABLES)
    return tuple(_SYLLABLES[i // n] + _SYLLABLES[i % n] for i in range(VOCAB_SIZE))


VOCABULARY = _vocabulary()


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    class_index: int


class ClassifierModel(Protocol):
    name: str
    version: str
    backend: str
    device: str

    def predict(self, images: Sequence[FloatArray]) -> list[Prediction]: ...


class GeneratorModel(Protocol):
    name: str
    version: str
    backend: str
    device: str

    def step(
        self, states: Sequence[FloatArray | None], tokens: Sequence[Sequence[int]]
    ) -> list[tuple[FloatArray, int]]: ...


def _digest(arrays: Sequence[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:8]


@dataclass(frozen=True)
class ClassifierWeights:
    conv: FloatArray  # (9, C)
    conv_bias: FloatArray  # (C,)
    w1: FloatArray  # (CONV_OUT*CONV_OUT*C, HIDDEN)
    b1: FloatArray
    w2: FloatArray  # (HIDDEN, len(LABELS))
    b2: FloatArray

    @classmethod
    def from_seed(cls, seed: int) -> ClassifierWeights:
        rng = np.random.default_rng(seed)
        flat = CONV_OUT * CONV_OUT * CONV_CHANNELS

        def he(n_in: int, n_out: int) -> FloatArray:
            w: FloatArray = (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(
                np.float32
            )
            return w

        return cls(
            conv=he(9, CONV_CHANNELS),
            conv_bias=(rng.standard_normal(CONV_CHANNELS) * 0.1).astype(np.float32),
            w1=he(flat, HIDDEN),
            b1=(rng.standard_normal(HIDDEN) * 0.1).astype(np.float32),
            w2=he(HIDDEN, len(LABELS)),
            b2=(rng.standard_normal(len(LABELS)) * 0.1).astype(np.float32),
        )

    def version(self) -> str:
        return "1.0.0+" + _digest([self.conv, self.conv_bias, self.w1, self.b1, self.w2, self.b2])


@dataclass(frozen=True)
class GeneratorWeights:
    embed: FloatArray  # (V, H)
    recur: FloatArray  # (H, H)
    out: FloatArray  # (H, V)

    @classmethod
    def from_seed(cls, seed: int) -> GeneratorWeights:
        rng = np.random.default_rng(seed + 1)
        return cls(
            embed=(rng.standard_normal((VOCAB_SIZE, GEN_HIDDEN)) * 0.5).astype(np.float32),
            recur=(rng.standard_normal((GEN_HIDDEN, GEN_HIDDEN)) / np.sqrt(GEN_HIDDEN)).astype(
                np.float32
            ),
            out=(rng.standard_normal((GEN_HIDDEN, VOCAB_SIZE)) / np.sqrt(GEN_HIDDEN)).astype(
                np.float32
            ),
        )

    def version(self) -> str:
        return "1.0.0+" + _digest([self.embed, self.recur, self.out])


def resize_bilinear(image: FloatArray, size: int = INPUT_SIZE) -> FloatArray:
    """Resize a 2-D image to ``size`` x ``size`` with bilinear interpolation (align corners)."""
    h, w = image.shape

    def axis(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]:
        pos = (
            np.linspace(0.0, n - 1, size, dtype=np.float32) if n > 1 else np.zeros(size, np.float32)
        )
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, n - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, wy = axis(h)
    x0, x1, wx = axis(w)
    top = image[y0][:, x0] * (1 - wx) + image[y0][:, x1] * wx
    bottom = image[y1][:, x0] * (1 - wx) + image[y1][:, x1] * wx
    return (top * (1 - wy)[:, None] + bottom * wy[:, None]).astype(np.float32)


def preprocess(images: Sequence[FloatArray]) -> FloatArray:
    """Stack images resized to the model input: (B, 32, 32) float32."""
    out = np.empty((len(images), INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for i, img in enumerate(images):
        out[i] = img if img.shape == (INPUT_SIZE, INPUT_SIZE) else resize_bilinear(img)
    return out


def im2col(batch: FloatArray) -> FloatArray:
    """(B, 32, 32) -> (B, 15*15, 9) patches of the 3x3 stride-2 convolution."""
    windows = np.lib.stride_tricks.sliding_window_view(batch, (3, 3), axis=(1, 2))[:, ::2, ::2]
    return np.ascontiguousarray(windows.reshape(batch.shape[0], CONV_OUT * CONV_OUT, 9))


def _softmax(logits: FloatArray) -> FloatArray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs: FloatArray = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return probs


def _predictions(probs: FloatArray) -> list[Prediction]:
    idx = probs.argmax(axis=1)
    return [Prediction(LABELS[int(i)], float(probs[r, i]), int(i)) for r, i in enumerate(idx)]


def tokenize(prompt: str) -> list[int]:
    """Words to token ids; a stable hash (crc32), so the same prompt always costs the same."""
    words = prompt.lower().split()
    return [zlib.crc32(w.encode("utf-8")) % VOCAB_SIZE for w in words] or [0]


class NumpyClassifier:
    name = "classifier"
    backend = "numpy"
    device = "cpu"

    def __init__(self, seed: int = 0) -> None:
        self.weights = ClassifierWeights.from_seed(seed)
        self.version = self.weights.version()

    def logits(self, batch: FloatArray) -> FloatArray:
        w = self.weights
        cols = im2col(batch)
        conv = np.maximum(cols @ w.conv + w.conv_bias, 0.0)
        hidden = np.maximum(conv.reshape(batch.shape[0], -1) @ w.w1 + w.b1, 0.0)
        logits: FloatArray = (hidden @ w.w2 + w.b2).astype(np.float32)
        return logits

    def predict(self, images: Sequence[FloatArray]) -> list[Prediction]:
        return _predictions(_softmax(self.logits(preprocess(images))))


class NumpyGenerator:
    name = "generator"
    backend = "numpy"
    device = "cpu"

    def __init__(self, seed: int = 0) -> None:
        self.weights = GeneratorWeights.from_seed(seed)
        self.version = self.weights.version()

    def step(
        self, states: Sequence[FloatArray | None], tokens: Sequence[Sequence[int]]
    ) -> list[tuple[FloatArray, int]]:
        """Advance every sequence over its ``tokens``; return the new state and next token."""
        w = self.weights
        batch = len(tokens)
        length = max(len(t) for t in tokens)
        h = np.zeros((batch, GEN_HIDDEN), dtype=np.float32)
        for i, s in enumerate(states):
            if s is not None:
                h[i] = s
        ids = np.zeros((batch, length), dtype=np.intp)
        lengths = np.array([len(t) for t in tokens])
        for i, t in enumerate(tokens):
            ids[i, : len(t)] = t
        for pos in range(length):
            active = lengths > pos
            if active.all():
                h = np.tanh(h @ w.recur + w.embed[ids[:, pos]])
            else:
                h[active] = np.tanh(h[active] @ w.recur + w.embed[ids[active, pos]])
        nxt = (h @ w.out).argmax(axis=1)
        return [(h[i].copy(), int(nxt[i])) for i in range(batch)]


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError("the torch backend needs PyTorch: pip install 'slocheck[torch]'") from e
    return torch


def resolve_device(backend: str, device: str) -> str:
    """``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``; numpy is CPU only."""
    if backend == "numpy":
        if device == "cuda":
            raise RuntimeError(
                "the numpy backend runs on the CPU only; use --backend torch for CUDA"
            )
        return "cpu"
    torch = _torch()
    cuda = bool(torch.cuda.is_available())
    if device == "cuda" and not cuda:
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    if device == "auto":
        return "cuda" if cuda else "cpu"
    return device


class TorchClassifier:
    name = "classifier"
    backend = "torch"

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        torch = self._torch = _torch()
        self.device = device
        w = ClassifierWeights.from_seed(seed)
        self.version = w.version()
        dev = torch.device(device)
        self._w = {
            k: torch.from_numpy(getattr(w, k)).to(dev)
            for k in ("conv", "conv_bias", "w1", "b1", "w2", "b2")
        }

    def predict(self, images: Sequence[FloatArray]) -> list[Prediction]:
        torch = self._torch
        w = self._w
        with torch.inference_mode():
            x = torch.from_numpy(im2col(preprocess(images))).to(w["conv"].device, non_blocking=True)
            conv = torch.relu(x @ w["conv"] + w["conv_bias"])
            hidden = torch.relu(conv.reshape(x.shape[0], -1) @ w["w1"] + w["b1"])
            probs = torch.softmax(hidden @ w["w2"] + w["b2"], dim=1).cpu().numpy()
        return _predictions(probs.astype(np.float32))


class TorchGenerator:
    name = "generator"
    backend = "torch"

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        torch = self._torch = _torch()
        self.device = device
        w = GeneratorWeights.from_seed(seed)
        self.version = w.version()
        dev = torch.device(device)
        self._embed = torch.from_numpy(w.embed).to(dev)
        self._recur = torch.from_numpy(w.recur).to(dev)
        self._out = torch.from_numpy(w.out).to(dev)

    def step(
        self, states: Sequence[FloatArray | None], tokens: Sequence[Sequence[int]]
    ) -> list[tuple[FloatArray, int]]:
        torch = self._torch
        batch = len(tokens)
        length = max(len(t) for t in tokens)
        h0 = np.zeros((batch, GEN_HIDDEN), dtype=np.float32)
        for i, s in enumerate(states):
            if s is not None:
                h0[i] = s
        ids = np.zeros((batch, length), dtype=np.int64)
        lengths = np.array([len(t) for t in tokens])
        for i, t in enumerate(tokens):
            ids[i, : len(t)] = t
        dev = self._recur.device
        with torch.inference_mode():
            h = torch.from_numpy(h0).to(dev)
            ids_t = torch.from_numpy(ids).to(dev)
            lens_t = torch.from_numpy(lengths).to(dev)
            for pos in range(length):
                new = torch.tanh(h @ self._recur + self._embed[ids_t[:, pos]])
                h = torch.where((lens_t > pos).unsqueeze(1), new, h)
            nxt = (h @ self._out).argmax(dim=1).cpu().numpy()
            h_np = h.cpu().numpy()
        return [(h_np[i].copy(), int(nxt[i])) for i in range(batch)]


def limit_threads(threads: int, backend: str) -> None:
    """Cap the math library's threads per call (0: leave its default). The BLAS under numpy
    (and torch's own pool) spin-wait for their peers; when another process holds a core, every
    call waits for a scheduler slice, so a small model serves far slower than on one thread."""
    if threads <= 0:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    if backend == "torch":
        _torch().set_num_threads(threads)


def load_models(
    models: Sequence[str], backend: str, device: str, seed: int
) -> tuple[ClassifierModel | None, GeneratorModel | None, str]:
    """Build the asked-for models; returns (classifier, generator, resolved device)."""
    resolved = resolve_device(backend, device)
    classifier: ClassifierModel | None = None
    generator: GeneratorModel | None = None
    if "classifier" in models:
        classifier = (
            NumpyClassifier(seed) if backend == "numpy" else TorchClassifier(seed, resolved)
        )
    if "generator" in models:
        generator = NumpyGenerator(seed) if backend == "numpy" else TorchGenerator(seed, resolved)
    return classifier, generator, resolved
