import numpy as np
import pytest

from slocheck.service.models import (
    INPUT_SIZE,
    LABELS,
    VOCAB_SIZE,
    NumpyClassifier,
    NumpyGenerator,
    limit_threads,
    load_models,
    resize_bilinear,
    resolve_device,
    tokenize,
)


def _images(n: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = [(28, 28), (32, 32), (1, 1), (256, 7), (64, 200)]
    return [rng.random(sizes[i % len(sizes)]).astype(np.float32) for i in range(n)]


def test_classifier_is_deterministic_across_instances() -> None:
    a, b = NumpyClassifier(0), NumpyClassifier(0)
    assert a.version == b.version
    assert a.predict(_images(5)) == b.predict(_images(5))
    assert NumpyClassifier(1).version != a.version


def test_batched_predictions_equal_one_at_a_time() -> None:
    """Batching must not change answers."""
    model = NumpyClassifier(0)
    images = _images(12)
    batched = model.predict(images)
    single = [model.predict([img])[0] for img in images]
    assert [p.class_index for p in batched] == [p.class_index for p in single]
    assert [p.confidence for p in batched] == pytest.approx(
        [p.confidence for p in single], rel=1e-4
    )
    assert all(p.label in LABELS and 0 < p.confidence <= 1 for p in batched)


def test_resize() -> None:
    img = (np.arange(16, dtype=np.float32).reshape(4, 4) / 15).astype(np.float32)
    out = resize_bilinear(img)
    assert out.shape == (INPUT_SIZE, INPUT_SIZE)
    assert out[0, 0] == pytest.approx(0.0) and out[-1, -1] == pytest.approx(1.0)
    assert resize_bilinear(np.ones((1, 1), np.float32)).min() == 1.0


def test_tokenize_is_stable() -> None:
    assert tokenize("Hello world") == tokenize("hello   WORLD")
    assert all(0 <= t < VOCAB_SIZE for t in tokenize("a b c d"))
    assert tokenize("") == [0]


def test_generator_batched_steps_equal_sequential() -> None:
    gen = NumpyGenerator(0)
    prompts = [
        tokenize("a short prompt"),
        tokenize("a much longer prompt with more words in it"),
        tokenize("x"),
    ]
    batched = gen.step([None, None, None], prompts)
    for (h, tok), prompt in zip(batched, prompts, strict=True):
        h1, tok1 = gen.step([None], [prompt])[0]
        assert tok == tok1
        np.testing.assert_allclose(h, h1, rtol=1e-5, atol=1e-6)
    # a decode step continues from the state
    h2, _ = gen.step([batched[0][0]], [[batched[0][1]]])[0]
    assert not np.allclose(h2, batched[0][0])


def test_numpy_backend_refuses_cuda() -> None:
    with pytest.raises(RuntimeError, match="CPU only"):
        resolve_device("numpy", "cuda")
    assert resolve_device("numpy", "auto") == "cpu"


def test_load_models_subset() -> None:
    clf, gen, device = load_models(("generator",), "numpy", "auto", 0)
    assert clf is None and gen is not None and device == "cpu"


def test_torch_backend_matches_numpy() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (the 'torch' extra)")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    clf, gen, resolved = load_models(("classifier", "generator"), "torch", "auto", 0)
    assert resolved == device and clf is not None and gen is not None
    images = _images(6)
    reference = NumpyClassifier(0).predict(images)
    got = clf.predict(images)
    assert [p.class_index for p in got] == [p.class_index for p in reference]
    assert [p.confidence for p in got] == pytest.approx([p.confidence for p in reference], rel=1e-3)
    prompts = [tokenize("hello there"), tokenize("one two three four")]
    ref = NumpyGenerator(0).step([None, None], prompts)
    assert [t for _, t in gen.step([None, None], prompts)] == [t for _, t in ref]


def test_limit_threads_caps_the_blas_under_numpy() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    with threadpool_limits(limits=3):  # restores the test process's own setting afterwards
        assert blas_threads() == {3}
        limit_threads(1, "numpy")
        assert blas_threads() == {1}
        limit_threads(0, "numpy")  # 0: the library's own default, left as it is
        assert blas_threads() == {1}
