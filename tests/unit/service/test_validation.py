from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slocheck.service.validation import (
    GenerateRequest,
    RequestError,
    parse_json,
    validate_classify,
    validate_generate,
)


def test_valid_classify() -> None:
    image = validate_classify({"pixels": [[0, 0.5], [1, 0.25], [0.1, 0.2]]})
    assert image.shape == (3, 2) and image.dtype == np.float32
    assert image[1, 0] == 1.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "pixels"),
        ([], "body"),
        ("pixels", "body"),
        ({"pixels": []}, "pixels"),
        ({"pixels": "abc"}, "pixels"),
        ({"pixels": [1, 2]}, "pixels[0]"),
        ({"pixels": [[]]}, "pixels[0]"),
        ({"pixels": [[0.1, 0.2], [0.3]]}, "pixels[1]"),
        ({"pixels": [[0.1, "x"]]}, "pixels[0][1]"),
        ({"pixels": [[0.1, None]]}, "pixels[0][1]"),
        ({"pixels": [[True, False]]}, "pixels[0][0]"),
        ({"pixels": [[0.1, [0.2]]]}, "pixels[0][1]"),
        ({"pixels": [[0.1, 1.5]]}, "pixels[0][1]"),
        ({"pixels": [[-0.1]]}, "pixels[0][0]"),
        ({"pixels": [[float("nan")]]}, "pixels[0][0]"),
        ({"pixels": [[float("inf")]]}, "pixels[0][0]"),
        ({"pixels": [[0.0] * 257]}, "pixels"),
        ({"pixels": [[0.0]] * 257}, "pixels"),
        ({"pixels": [[0.5]], "extra": 1}, "extra"),
    ],
)
def test_invalid_classify_names_the_field(body: Any, field: str) -> None:
    with pytest.raises(RequestError) as info:
        validate_classify(body)
    assert info.value.status == 422
    assert info.value.field == field
    assert info.value.body()["error"]["field"] == field


def test_largest_image_is_accepted() -> None:
    assert validate_classify({"pixels": [[0.5] * 256] * 256}).shape == (256, 256)


def test_generate_defaults() -> None:
    assert validate_generate({"prompt": "hi"}) == GenerateRequest("hi", 32, False)
    assert validate_generate({"prompt": "a b", "max_tokens": 5, "stream": True}) == GenerateRequest(
        "a b", 5, True
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": 3}, "prompt"),
        ({"prompt": "  "}, "prompt"),
        ({"prompt": "x" * 9000}, "prompt"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "max_tokens": 10_000}, "max_tokens"),
        ({"prompt": "x", "max_tokens": "5"}, "max_tokens"),
        ({"prompt": "x", "max_tokens": True}, "max_tokens"),
        ({"prompt": "x", "stream": "yes"}, "stream"),
        ({"prompt": "x", "temperature": 1}, "temperature"),
    ],
)
def test_invalid_generate_names_the_field(body: Any, field: str) -> None:
    with pytest.raises(RequestError) as info:
        validate_generate(body)
    assert (info.value.status, info.value.field) == (422, field)


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"{'a': 1}", b"nul"])
def test_bad_json_is_a_422_on_body(raw: bytes) -> None:
    with pytest.raises(RequestError) as info:
        parse_json(raw)
    assert (info.value.status, info.value.field) == (422, "body")


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=30,
)


@given(json_values)
def test_any_json_body_is_accepted_or_refused_cleanly(data: Any) -> None:
    """No input makes validation raise anything but a RequestError."""
    for validate in (validate_classify, validate_generate):
        try:
            validate(data)
        except RequestError as e:
            assert e.status == 422 and e.field


@given(st.dictionaries(st.just("pixels"), json_values, min_size=1))
def test_any_pixels_value_is_accepted_or_refused_cleanly(data: dict[str, Any]) -> None:
    try:
        image = validate_classify(data)
    except RequestError as e:
        assert e.status == 422 and e.field.startswith("pixels")
    else:
        assert image.ndim == 2 and np.isfinite(image).all()
