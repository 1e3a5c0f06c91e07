import dataclasses

import pytest

from slocheck.cli import build_parser, service_config_from_args
from slocheck.service.config import ConfigError, FaultConfig, ServiceConfig


def test_fault_config_from_mapping_parses_units() -> None:
    f = FaultConfig.from_mapping(
        {"error_rate": "5%", "latency": "200ms", "latency_probability": 0.5, "crash_after": 100}
    )
    assert f == FaultConfig(error_rate=0.05, latency=0.2, latency_probability=0.5, crash_after=100)
    assert f.active


def test_from_mapping_keeps_base_values() -> None:
    base = FaultConfig(error_rate=0.1, latency=0.3)
    assert FaultConfig.from_mapping({"latency": 0}, base=base) == FaultConfig(error_rate=0.1)
    assert not FaultConfig().active


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"error_rate": "150%"}, "faults.error_rate"),
        ({"error_rate": "lots"}, "faults.error_rate"),
        ({"latency": "fast"}, "faults.latency"),
        ({"latency_probability": 2}, "faults.latency_probability"),
        ({"crash_after": -1}, "faults.crash_after"),
        ({"crash_after": "10"}, "faults.crash_after"),
        ({"crash_after": True}, "faults.crash_after"),
        ({"error_rte": 0.1}, "faults.error_rte"),
        ({"latency": "1h"}, "faults.latency"),
    ],
)
def test_fault_config_errors_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        FaultConfig.from_mapping(data)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "llama"}, "model"),
        ({"backend": "jax"}, "backend"),
        ({"port": 70000}, "port"),
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"max_queue": 0}, "max_queue"),
        ({"threads": -1}, "threads"),
        ({"max_batch_wait_ms": -1.0}, "max_batch_wait_ms"),
        ({"log_level": "loud"}, "log_level"),
    ],
)
def test_service_config_errors(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServiceConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(
    "config",
    [
        ServiceConfig(),
        ServiceConfig(
            host="127.0.0.2",
            port=0,
            model="generator",
            max_batch_size=1,
            max_batch_wait_ms=0.5,
            max_queue=3,
            threads=0,
            seed=7,
            enable_admin=True,
            access_log=False,
            log_level="warning",
        ),
        ServiceConfig(
            faults=FaultConfig(
                error_rate=0.05, latency=0.3, latency_probability=0.25, crash_after=10, seed=3
            )
        ),
        ServiceConfig(faults=FaultConfig(latency=0.0001234)),
    ],
)
def test_cli_args_reproduce_the_config(config: ServiceConfig) -> None:
    """What ``slocheck run`` passes to ``slocheck serve`` must mean exactly the same config."""
    rebuilt = service_config_from_args(build_parser().parse_args(["serve", *config.to_cli_args()]))
    assert rebuilt == config


def test_models_of_both() -> None:
    assert ServiceConfig(model="both").models == ("classifier", "generator")
    assert ServiceConfig(model="generator").models == ("generator",)


# --- the stall fault: the whole service stalls for stall_for every stall_every -------------


@pytest.mark.parametrize(
    ("elapsed", "wait"),
    [
        (0.0, 0.0),  # no stall before the first period is over
        (9.99, 0.0),
        (10.0, 2.0),  # a stall starts: wait it out
        (10.5, 1.5),
        (11.999, 0.001),
        (12.0, 0.0),
        (19.0, 0.0),
        (20.25, 1.75),
    ],
)
def test_stall_wait(elapsed: float, wait: float) -> None:
    f = FaultConfig(stall_every=10.0, stall_for=2.0)
    assert f.stall_wait(elapsed) == pytest.approx(wait)
    assert f.active
    assert FaultConfig().stall_wait(elapsed) == 0.0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stall_every": "10s"}, "faults.stall_for"),
        ({"stall_for": "2s"}, "faults.stall_every"),
        ({"stall_every": "2s", "stall_for": "2s"}, "faults.stall_for"),
        ({"stall_every": "later", "stall_for": "1s"}, "faults.stall_every"),
        ({"stall_every": "2h", "stall_for": "1s"}, "faults.stall_every"),
    ],
)
def test_stall_errors_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        FaultConfig.from_mapping(data)
    assert info.value.field == field


def test_stall_flags_reach_the_service_and_back() -> None:
    args = build_parser().parse_args(
        ["serve", "--fault-stall-every", "10s", "--fault-stall-for", "2s"]
    )
    config = service_config_from_args(args)
    assert (config.faults.stall_every, config.faults.stall_for) == (10.0, 2.0)
    argv = config.to_cli_args()
    assert argv[argv.index("--fault-stall-every") + 1] == "10.0"
    assert argv[argv.index("--fault-stall-for") + 1] == "2.0"
    again = service_config_from_args(build_parser().parse_args(["serve", *argv]))
    assert again.faults == config.faults


def test_every_fault_reaches_the_service_process_and_back() -> None:
    """The embedded service runs as ``slocheck serve`` with flags: every fault the spec can set
    must survive the trip (a flag forgotten here would run the service without its fault)."""
    faults = FaultConfig(
        error_rate=0.05,
        latency=0.3,
        latency_probability=0.5,
        token_latency=0.02,
        crash_after=100,
        stall_every=10.0,
        stall_for=2.0,
        seed=7,
    )
    config = service_config_from_args(build_parser().parse_args(["serve"]))
    argv = dataclasses.replace(config, faults=faults).to_cli_args()
    again = service_config_from_args(build_parser().parse_args(["serve", *argv]))
    assert again.faults == faults
    assert {f.name for f in dataclasses.fields(FaultConfig)} == set(faults.to_dict())
