"""Synthetic token lengths (``bodies.Lengths``): each distribution draws what it says, seeded,
clipped to min and max; the spec's ``input_tokens``/``output_tokens`` say what each needs."""

from __future__ import annotations

import random
import statistics

import pytest

from slocheck.errors import SpecError
from slocheck.load.locustfiles.bodies import Lengths
from slocheck.slofile import parse_spec


def draws(lengths: Lengths, n: int = 20_000, seed: int = 5) -> list[int]:
    rng = random.Random(seed)
    return [lengths.draw(rng) for _ in range(n)]


def test_fixed_and_a_normal_of_no_spread_are_the_mean() -> None:
    assert set(draws(Lengths(128, distribution="fixed"), 100)) == {128}
    assert set(draws(Lengths(64), 100)) == {64}


def test_uniform_draws_every_length_between_min_and_max_alike() -> None:
    got = draws(Lengths(distribution="uniform", min=90, max=110))
    assert min(got) == 90 and max(got) == 110 and len(set(got)) == 21
    assert statistics.fmean(got) == pytest.approx(100, abs=0.5)


def test_lognormal_has_the_lengths_mean_and_stddev_and_a_long_tail() -> None:
    got = draws(Lengths(500, 400, "lognormal"))
    assert statistics.fmean(got) == pytest.approx(500, rel=0.03)
    assert statistics.stdev(got) == pytest.approx(400, rel=0.10)
    assert statistics.median(got) < 450  # skewed: the median below the mean
    assert max(got) > 2500


def test_every_draw_is_clipped_to_min_and_max() -> None:
    got = draws(Lengths(100, 100, min=50, max=150))
    assert min(got) == 50 and max(got) == 150
    assert min(draws(Lengths(2, 50))) == 1  # never below one token


def test_the_same_seed_draws_the_same_lengths() -> None:
    lengths = Lengths(300, 200, "lognormal", 10, 2000)
    assert draws(lengths, 50, seed=1) == draws(lengths, 50, seed=1)
    assert draws(lengths, 50, seed=1) != draws(lengths, 50, seed=2)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"distribution": "uniform", "min": 5}, "need min and max"),
        ({"distribution": "fixed", "mean": 5, "stddev": 1}, "no stddev"),
        ({"distribution": "zipf", "mean": 5}, "not one of"),
        ({"mean": 5, "min": 10, "max": 3}, "min <= max"),
        ({"mean": 0.5}, "mean >= 1"),
    ],
)
def test_lengths_that_cannot_be_drawn(given: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Lengths(**given)  # type: ignore[arg-type]


SPEC = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"
SPEC += "target: {api: openai}\nload:\n  input_tokens: "


def test_the_spec_gives_each_distribution_its_fields() -> None:
    load = parse_spec(SPEC + "{distribution: uniform, min: 64, max: 192}\n").spec.load
    assert load.input_tokens is not None and (load.input_tokens.min, load.input_tokens.max) == (
        64,
        192,
    )
    for text, message in [
        ("{distribution: uniform, max: 9}", "uniform lengths need min and max"),
        ("{distribution: uniform, min: 1, max: 9, mean: 5}", "not mean and stddev"),
        ("{distribution: lognormal, max: 9}", "lognormal lengths need a mean"),
        ("{mean: 50, min: 60, max: 40}", "max 40 is below min 60"),
    ]:
        with pytest.raises(SpecError, match=message) as info:
            parse_spec(SPEC + text + "\n", "slos.yaml")
        assert info.value.field == "load.input_tokens", str(info.value)


def test_shared_prefixes_are_system_prompts_the_same_run_after_run() -> None:
    from slocheck.load.locustfiles.bodies import prefixes, synthetic_prompt, with_prefix

    shared = prefixes(3, 40, seed=1)
    assert len(shared) == 3 and all(len(p.split()) == 40 for p in shared)
    assert len(set(shared)) == 3 and prefixes(3, 40, seed=1) == shared
    turn = with_prefix(synthetic_prompt(random.Random(0), 5), shared[0])
    assert turn.messages[0] == {"role": "system", "content": shared[0]}
    assert turn.text.startswith(shared[0])  # the completions endpoint's prompt
    load = parse_spec(SPEC + "{mean: 9}\n  prefix: {count: 4, tokens: 256}\n").spec.load
    assert load.prefix is not None and (load.prefix.count, load.prefix.tokens) == (4, 256)
    with pytest.raises(SpecError, match=r"only means something for target\.api openai"):
        parse_spec(SPEC.replace("api: openai", "api: slocheck") + "{mean: 9}\n", "s.yaml")
