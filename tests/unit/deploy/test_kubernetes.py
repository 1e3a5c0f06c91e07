"""deploy/kubernetes: the Kustomize base of a distributed gate, checked offline.

- Every object it renders validates, strictly (no unknown field), against the official
  OpenAPI schemas of two Kubernetes versions that kubernetes-validate vendors.
- What the pods run is what slocheck accepts: the master's and the workers' arguments parse with
  slocheck's own command line, the spec in the ConfigMap loads, and the load it describes can
  be spread over the workers (the same checks `slocheck run` makes before it starts Locust).
- The pieces fit: the workers' --master is the Service's name and port, the Service selects the
  master's pod (and no worker), the worker count agrees in both Jobs, the spec and the reports
  are mounted where the arguments say, no secret is written in a manifest.
- The resources are the ones the measured figures give (benchmarks/results/worker_rate.json),
  and docs/kubernetes.md quotes those figures.

The rendering is the little of Kustomize this base uses (resources, labels, images, one
ConfigMap generator with no hash suffix); a test refuses any other field, and where kubectl is
installed its own `kubectl kustomize` must render the same objects."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from slocheck.cli import build_parser
from slocheck.cli.flags import settings_of
from slocheck.load.distributed import parse_master
from slocheck.results.load_settings import load_config
from slocheck.results.run_settings import RunOptions
from slocheck.slofile import load_spec
from slocheck.units import parse_duration

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="needs kubernetes-validate (the dev extra)"
)

ROOT = Path(__file__).parents[3]
BASE = ROOT / "deploy" / "kubernetes"
#: Two supported Kubernetes versions: the newest that kubernetes-validate 1.37 knows, and the
#: oldest that the large managed offerings still support (their extended support).
VERSIONS = ("1.37", "1.33")
#: What the rendering below implements; anything else in kustomization.yaml fails a test.
KUSTOMIZE_FIELDS = {
    "apiVersion",
    "kind",
    "labels",
    "resources",
    "images",
    "generatorOptions",
    "configMapGenerator",
}
WORKER_RATE = ROOT / "benchmarks" / "results" / "worker_rate.json"
WORKER_MEMORY = ROOT / "benchmarks" / "results" / "worker_memory.json"
DOC = ROOT / "docs" / "kubernetes.md"
Resource = dict[str, Any]


def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return data


def _generated(kust: dict[str, Any]) -> Iterator[Resource]:
    for gen in kust.get("configMapGenerator", []):
        data: dict[str, str] = {}
        for name in gen.get("files", []):
            data[Path(name).name] = (BASE / name).read_text()
        for literal in gen.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        yield {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": gen["name"]},
            "data": data,
        }


def _images(resource: Resource, images: list[dict[str, str]]) -> None:
    spec = resource.get("spec", {}).get("template", {}).get("spec", {})
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for image in images:
            if container["image"] == image["name"]:
                container["image"] = f"{image['newName']}:{image['newTag']}"


def render() -> list[Resource]:
    """The objects `kubectl kustomize deploy/kubernetes` makes of the base."""
    kust = kustomization()
    resources: list[Resource] = []
    for name in kust["resources"]:
        resources.extend(d for d in yaml.safe_load_all((BASE / name).read_text()) if d)
    resources.extend(_generated(kust))
    labels = {k: v for entry in kust.get("labels", []) for k, v in entry["pairs"].items()}
    for resource in resources:
        resource["metadata"].setdefault("labels", {}).update(labels)
        _images(resource, kust.get("images", []))
    return resources


def find(kind: str, name: str) -> Resource:
    found = [r for r in render() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(job: Resource) -> dict[str, Any]:
    (only,) = job["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = only
    return found


def settings() -> dict[str, str]:
    data: dict[str, str] = find("ConfigMap", "slocheck-settings")["data"]
    return data


def expanded(args: list[str], env: dict[str, str]) -> list[str]:
    """``$(NAME)`` in a container's arguments, as the kubelet expands it."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in args]


def master_args() -> list[str]:
    return expanded(container(find("Job", "slocheck-master"))["args"], settings())


def worker_args() -> list[str]:
    return expanded(container(find("Job", "slocheck-workers"))["args"], {})


def validate(resource: Resource, version: str) -> None:
    """Strict validation (an unknown field is an error) against Kubernetes ``version``'s
    schema; a failure names the object, the field's path and what is wrong, in one line."""
    problem = None
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        # a jsonschema.ValidationError: the path to the field, and its one-line message
        where = "/".join(str(p) for p in error.absolute_path) or "/"
        problem = f"at {where}: {error.message.splitlines()[0]}"
    if problem:  # outside the except: not the schema's pages of text
        name = f"{resource['kind']} {resource['metadata']['name']}"
        pytest.fail(f"{name} on Kubernetes {version}: {problem}", pytrace=False)


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# --- the schemas ---


def test_kustomization_uses_only_what_the_rendering_implements() -> None:
    kust = kustomization()
    assert set(kust) <= KUSTOMIZE_FIELDS, set(kust) - KUSTOMIZE_FIELDS
    assert kust["generatorOptions"] == {"disableNameSuffixHash": True}
    assert all(set(entry) == {"pairs"} for entry in kust["labels"])
    assert {r["kind"] for r in render()} == {"Job", "Service", "PersistentVolumeClaim", "ConfigMap"}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_strictly_against_the_kubernetes_schemas(version: str) -> None:
    rendered = render()
    assert len(rendered) == 6
    for resource in rendered:
        validate(resource, version)


def extras() -> list[Resource]:
    """The manifests beside the base that are not part of it (applied on demand)."""
    base = set(kustomization()["resources"]) | {"kustomization.yaml", "slos.yaml"}
    return [
        d
        for path in sorted(BASE.glob("*.yaml"))
        if path.name not in base
        for d in yaml.safe_load_all(path.read_text())
        if d
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_manifests_beside_the_base_validate_and_fit_it(version: str) -> None:
    (reader,) = extras()
    validate(reader, version)
    (volume,) = reader["spec"]["volumes"]
    assert find("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert volume["persistentVolumeClaim"]["readOnly"] is True
    (box,) = reader["spec"]["containers"]
    assert re.fullmatch(r"[\w./-]+:[\w.-]+", box["image"])  # pinned to a tag, not :latest
    assert box["command"][0] == "sleep"
    assert reader["spec"]["activeDeadlineSeconds"] <= 3600  # it ends by itself


@pytest.mark.parametrize("version", VERSIONS)
def test_the_validation_rejects_a_broken_manifest(version: str) -> None:
    """The check can fail: a misspelt field and a wrong type are both caught."""
    job = find("Job", "slocheck-workers")
    job["spec"]["paralellism"] = 4
    with pytest.raises(
        pytest.fail.Exception,
        match=r"Job slocheck-workers on Kubernetes "
        r"1\.\d+: at spec: Additional properties .*'paralellism' was unexpected",
    ):
        validate(job, version)
    job = find("Job", "slocheck-workers")
    job["spec"]["parallelism"] = "four"
    with pytest.raises(pytest.fail.Exception, match=r"at spec/parallelism: 'four' is not of type"):
        validate(job, version)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl (kubectl kustomize)")
def test_kubectl_kustomize_renders_the_same_objects() -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(BASE)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    theirs = sorted(yaml.safe_load_all(out), key=lambda r: (r["kind"], r["metadata"]["name"]))
    ours = sorted(render(), key=lambda r: (r["kind"], r["metadata"]["name"]))
    assert json.dumps(theirs, sort_keys=True) == json.dumps(ours, sort_keys=True)


# --- what the pods run ---


def test_the_master_runs_what_slocheck_run_accepts(tmp_path: Path) -> None:
    args = build_parser().parse_args(master_args())
    assert args.command == "run"
    spec_mount = mount_of(find("Job", "slocheck-master"), "spec")
    assert Path(args.slo).parent == Path(spec_mount)
    (tmp_path / "slos.yaml").write_text(find("ConfigMap", "slocheck-spec")["data"]["slos.yaml"])
    loaded = load_spec(tmp_path / "slos.yaml")
    options = RunOptions(out_dir=tmp_path / "out", **settings_of(args))
    assert options.expect_workers == workers()
    assert options.master_bind == ("*", 5557)
    config = load_config(loaded, options, options.target_url or "")
    config.locustfiles()  # the checks `slocheck run` makes before Locust: users >= workers, API
    assert config.locust_users >= options.expect_workers
    # the workers wait at most the Job's deadline; the master waits for them less than that
    deadline = find("Job", "slocheck-master")["spec"]["activeDeadlineSeconds"]
    assert options.workers_timeout < deadline
    assert config.total_seconds + options.workers_timeout < deadline


def test_the_workers_run_what_slocheck_worker_accepts() -> None:
    args = build_parser().parse_args(worker_args())
    assert args.command == "worker"
    assert parse_master(args.master) == ("slocheck-master", 5557)


def test_the_workers_reach_the_master_through_the_service() -> None:
    host, port = parse_master(flag(worker_args(), "--master"))
    service = find("Service", host)
    (entry,) = service["spec"]["ports"]
    assert entry["port"] == port
    master, workers_job = find("Job", "slocheck-master"), find("Job", "slocheck-workers")
    (master_port,) = container(master)["ports"]
    assert entry["targetPort"] == master_port["name"]
    assert master_port["containerPort"] == build_parser().parse_args(master_args()).master_bind[1]
    selector = service["spec"]["selector"].items()
    assert selector <= master["spec"]["template"]["metadata"]["labels"].items()
    assert not selector <= workers_job["spec"]["template"]["metadata"]["labels"].items()


def workers() -> int:
    return int(flag(master_args(), "--expect-workers"))


def test_the_worker_count_agrees_in_both_jobs() -> None:
    spec = find("Job", "slocheck-workers")["spec"]
    assert spec["parallelism"] == spec["completions"] == workers()


def mount_of(job: Resource, volume: str) -> str:
    (mount,) = (m for m in container(job)["volumeMounts"] if m["name"] == volume)
    path: str = mount["mountPath"]
    return path


def test_the_spec_and_the_reports_are_mounted_where_the_master_looks() -> None:
    master = find("Job", "slocheck-master")
    pod = master["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["spec"]["configMap"]["name"] == "slocheck-spec"
    claim = volumes["reports"]["persistentVolumeClaim"]["claimName"]
    assert find("PersistentVolumeClaim", claim)
    # no --out: a folder per run under the working directory, which is the reports volume
    assert "--out" not in master_args()
    assert container(master)["workingDir"] == mount_of(master, "reports")
    history = settings()["SLOCHECK_HISTORY"]
    assert history.startswith(mount_of(master, "reports") + "/")


def test_a_gate_verdict_is_never_retried() -> None:
    """Exit 1 is a verdict, not a crash: the master's Job fails at once on any non-zero exit,
    and the workers are not restarted into a run that already lost them."""
    master = find("Job", "slocheck-master")["spec"]
    assert master["backoffLimit"] == 0
    (rule,) = master["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"] == {"containerName": "slocheck", "operator": "NotIn", "values": [0]}
    for name in ("slocheck-master", "slocheck-workers"):
        job = find("Job", name)["spec"]
        assert job["template"]["spec"]["restartPolicy"] == "Never"
        assert job["backoffLimit"] == 0


def test_no_secret_is_written_in_a_manifest() -> None:
    text = "\n".join(yaml.safe_dump(r) for r in render())
    assert "PGPASSWORD=" not in text
    assert not re.search(r"postgres(ql)?://[^/\s@]*:[^/\s@]*@", text)
    env = {e["name"]: e for e in container(find("Job", "slocheck-master"))["env"]}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "slocheck-history"


def test_the_pods_run_as_the_images_user() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+)$", dockerfile, re.M)
    assert user is not None
    assert re.search(r'^ENTRYPOINT \["slocheck"\]$', dockerfile, re.M)
    for name in ("slocheck-master", "slocheck-workers"):
        context = find("Job", name)["spec"]["template"]["spec"]["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == int(user.group(1))


# --- sized from what was measured ---


def measured() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WORKER_RATE.read_text())
    return data


def test_a_worker_gets_a_core_unthrottled_and_twice_the_memory_measured_for_its_users() -> None:
    resources = container(find("Job", "slocheck-workers"))["resources"]
    assert resources["requests"]["cpu"] == "1"
    # no CPU limit: a CFS quota throttles in 100 ms slices whatever the QoS class
    assert "cpu" not in resources["limits"]
    memory = resources["requests"]["memory"]
    assert memory == resources["limits"]["memory"] and memory.endswith("Mi")
    spec = yaml.safe_load(find("ConfigMap", "slocheck-spec")["data"]["slos.yaml"])
    users_per_worker = spec["load"]["max_in_flight"] / workers()
    measures = json.loads(WORKER_MEMORY.read_text())["measures"]
    # measured with at least as many users as each of the base's workers has
    covering = [m for m in measures if m["users"] >= users_per_worker]
    assert covering, f"no memory measured with {users_per_worker:g} users or more"
    peak = max(m["peak_rss_mb"] for m in covering)
    assert int(memory[:-2]) >= 2 * peak


def test_the_master_listens_before_its_workers_give_up(tmp_path: Path) -> None:
    """The master waits for the service (target.ready_timeout) before it starts Locust's
    master; the workers give up on a master that has not answered in Locust's 5 minutes. The
    wait must end well before, or a slow service makes the workers leave and the run exit 3."""
    path = tmp_path / "slos.yaml"
    path.write_text(find("ConfigMap", "slocheck-spec")["data"]["slos.yaml"])
    target = load_spec(path).spec.target
    assert target is not None
    assert target.ready_timeout <= 300 - 60  # a minute left for the pods to start


def test_the_docs_arithmetic_uses_the_measured_figures() -> None:
    doc = DOC.read_text()
    summary = measured()["summary"]
    for name, figures in summary.items():
        rate = f"{figures['requests_per_cpu_s_median']:,.0f}"
        assert f"| {name} | {rate} |" in doc, f"docs/kubernetes.md lacks {name}'s {rate}"
    cost = measured()["streaming_cost"]
    assert f"{cost['cpu_us_per_request']:,.0f} CPU-µs" in doc
    assert f"{cost['cpu_us_per_token']:,.1f} CPU-µs" in doc


def test_the_base_is_sized_by_the_docs_arithmetic() -> None:
    """The base's 4 workers are what docs/kubernetes.md's formula gives for its spec's load at
    the measured streaming cost."""
    spec = yaml.safe_load(find("ConfigMap", "slocheck-spec")["data"]["slos.yaml"])
    cost = measured()["streaming_cost"]
    tokens = spec["load"]["output_tokens"]["mean"]
    cpu_per_request = (cost["cpu_us_per_request"] + tokens * cost["cpu_us_per_token"]) / 1e6
    cores = spec["load"]["rate"] * cpu_per_request
    target = 0.5  # the docs' utilisation bound: half of each worker's core
    assert workers() == max(1, math.ceil(cores / target))
    assert parse_duration(spec["load"]["duration"]) > 0
