"""Site validation: one bad site per rule (code and line), warnings, one-pass reporting, the
examples, and placement (clusters, pacemaker_remote nodes, VIPs)."""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from hastack import catalog
from hastack.errors import Problem, SiteError
from hastack.site.load import LoadedSite
from hastack.site.model import Services

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BAD_SITES = Path(__file__).resolve().parent / "bad_sites"
SRC = ROOT / "src" / "hastack" / "site"
BAD_SITE_FILES = sorted(BAD_SITES.glob("*.yaml"))
HEADER = re.compile(r"^# expect: (?P<code>[a-z-]+) line (?P<line>\d+)\s*$", re.MULTILINE)

# A fixture is named for the code it triggers, except when one code has several fixtures.
CODE_OF = {"site-service-not-packaged-qpid": "site-service-not-packaged",
           "site-lab-outside-range-pdu": "site-lab-outside-range"}
# Errors a fixture cannot avoid besides its own: a mixed site without a clusters map has
# nowhere to run its services, and a dependency that no cluster runs is itself unplaced.
ALSO = {"site-clusters-required": {"site-service-unplaced"},
        "site-missing-dependency": {"site-service-unplaced"}}
# Codes with no bad-site fixture, and why.
NO_FIXTURE = {"site-not-readable": "needs a missing file: see test_missing_file"}
OFF = ("ceilometer",)  # the toggle examples/lab.yaml turns off


def expectation(path: Path) -> tuple[str, int]:
    match = HEADER.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} lacks a '# expect: <code> line <n>' header"
    return match["code"], int(match["line"])


def load_problems(path: Path) -> tuple[Problem, ...]:
    with pytest.raises(SiteError) as info:
        catalog.load(path)
    return info.value.problems


def error_codes(problems: tuple[Problem, ...]) -> set[str]:
    return {p.code for p in problems if p.is_error}


def lab_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "lab.yaml").read_text(encoding="utf-8"))
    return data


def write_site(tmp_path: Path, data: dict[str, Any], name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def controllers(count: int) -> list[dict[str, Any]]:
    """``count`` lab controllers on addresses clear of lab.yaml's nodes, BMCs and VIP range."""
    return [{"name": f"ctl{i}", "address": f"198.18.0.{30 + i}", "role": "controller",
             "fencing": {"type": "lab", "address": f"198.18.0.{130 + i}"}}
            for i in range(1, count + 1)]


def with_controllers(count: int, *, allow_large: bool = False) -> dict[str, Any]:
    data = lab_data()
    computes = [n for n in data["nodes"] if n["role"] == "compute"]
    data["nodes"] = [*controllers(count), *computes]
    data["cluster"]["allow_large"] = allow_large
    return data


def enabled_in(data: dict[str, Any]) -> tuple[str, ...]:
    """Catalog services a site with computes runs, from its services: toggles."""
    toggles = data.get("services", {})
    return tuple(s.name for s in catalog.SERVICES
                 if s.toggle is None or s.toggle == "compute"
                 or toggles.get(s.toggle, getattr(Services(), s.toggle)))


def vip_names(loaded: LoadedSite) -> list[str]:
    names: list[str] = []
    for spec in catalog.SERVICES:
        if loaded.placement.has(spec.name):
            names.extend(v for v in spec.vips if v not in names)
    return names


# --- one bad site per rule -------------------------------------------------------------------


def declared_codes() -> set[str]:
    """Every error code the loader and the rules can raise, read from their source."""
    rules = (SRC / "rules.py").read_text(encoding="utf-8")
    load = (SRC / "load.py").read_text(encoding="utf-8") + \
        (SRC / "yaml_input.py").read_text(encoding="utf-8")
    return (set(re.findall(r'_error\(\s*"([a-z-]+)"', rules))
            | set(re.findall(r'code="(site-[a-z-]+)"', load)))


def test_every_code_has_a_bad_site() -> None:
    covered = {expectation(p)[0] for p in BAD_SITE_FILES}
    assert declared_codes() - covered == set(NO_FIXTURE)
    assert covered <= declared_codes(), "a fixture expects a code nothing raises"


@pytest.mark.parametrize("path", BAD_SITE_FILES, ids=lambda p: p.stem)
def test_bad_site(path: Path) -> None:
    code, line = expectation(path)
    assert code == CODE_OF.get(path.stem, path.stem), "file name and header disagree"
    problems = load_problems(path)
    hits = [p for p in problems if p.code == code]
    assert hits, f"expected {code}, got {sorted(error_codes(problems))}"
    assert line in {p.line for p in hits}
    for p in hits:
        assert p.is_error
        assert p.where == f"{path}:{p.line}:{p.column}"
    assert error_codes(problems) <= {code} | ALSO.get(path.stem, set())


def test_missing_file(tmp_path: Path) -> None:
    problems = load_problems(tmp_path / "absent.yaml")
    assert [p.code for p in problems] == ["site-not-readable"]
    assert problems[0].where == str(tmp_path / "absent.yaml")


def test_problems_sorted_by_position(tmp_path: Path) -> None:
    data = lab_data()
    data["services"]["qpid"] = True  # late in the file
    del data["nodes"][4]["fencing"]  # early in the file
    problems = load_problems(write_site(tmp_path, data))
    positions = [(p.line, p.column) for p in problems]
    assert positions == sorted(positions)


# --- every problem in one pass ---------------------------------------------------------------


def test_rule_errors_reported_together(tmp_path: Path) -> None:
    data = lab_data()
    del data["nodes"][4]["fencing"]
    data["services"]["mongodb"] = True
    problems = load_problems(write_site(tmp_path, data))
    assert error_codes(problems) == {"site-missing-fencing", "site-service-not-packaged"}
    assert {p.key for p in problems} == {"nodes.4", "services.mongodb"}


def test_shape_errors_reported_together(tmp_path: Path) -> None:
    data = lab_data()
    data["nodes"][0]["role"] = "wizard"
    data["networks"]["vip_ranges"] = data["networks"].pop("vip_range")
    problems = load_problems(write_site(tmp_path, data))
    assert {(p.code, p.key) for p in problems} == {
        ("site-invalid-value", "nodes.0.role"), ("site-unknown-key", "networks.vip_ranges")}


def test_duplicate_keys_reported_together(tmp_path: Path) -> None:
    text = (EXAMPLES / "lab.yaml").read_text(encoding="utf-8")
    text = text.replace("  heat: true\n", "  heat: true\n  heat: false\n")
    text = text.replace("  token_ms: 1000", "  token_ms: 1000\n  token_ms: 2000")
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    problems = load_problems(path)
    assert {(p.code, p.key) for p in problems} == {
        ("site-duplicate-key", "services.heat"), ("site-duplicate-key", "cluster.token_ms")}


# --- warnings and cluster size ---------------------------------------------------------------


@pytest.mark.parametrize(("members", "allow_large", "warning"), [
    (4, False, "site-even-node-count"),
    (16, False, "site-even-node-count"),
    (17, True, "site-large-cluster"),
])
def test_valid_with_warning(tmp_path: Path, members: int, allow_large: bool,
                            warning: str) -> None:
    loaded = catalog.load(write_site(tmp_path, with_controllers(members,
                                                                allow_large=allow_large)))
    assert [(p.code, p.key) for p in loaded.warnings] == [(warning, "nodes")]
    assert not any(p.is_error for p in loaded.warnings)
    assert loaded.placement.cluster("openstack").members == tuple(
        f"ctl{i}" for i in range(1, members + 1))


@pytest.mark.parametrize(("members", "allow_large"), [(17, False), (33, False), (33, True)])
def test_too_large(tmp_path: Path, members: int, allow_large: bool) -> None:
    problems = load_problems(write_site(tmp_path, with_controllers(members,
                                                                   allow_large=allow_large)))
    assert error_codes(problems) == {"site-cluster-too-large"}


def test_three_members_no_warning(tmp_path: Path) -> None:
    assert catalog.load(write_site(tmp_path, with_controllers(3))).warnings == ()


@pytest.mark.parametrize(("l2", "warned"), [("openvswitch", True), ("linuxbridge", False)])
def test_external_interface_is_only_for_linux_bridge(tmp_path: Path, l2: str,
                                                     warned: bool) -> None:
    data = lab_data()
    data["networks"]["external_interface"] = "eth1"
    data["services"]["neutron_l2"] = l2
    loaded = catalog.load(write_site(tmp_path, data))
    codes = [(p.code, p.key) for p in loaded.warnings]
    expected = [("site-external-interface-unused", "networks.external_interface")]
    assert codes == (expected if warned else [])


# --- the examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["collapsed", "segregated", "mixed", "lab"])
def test_example_is_valid(name: str) -> None:
    loaded = catalog.load(EXAMPLES / f"{name}.yaml")
    assert loaded.warnings == ()
    assert loaded.site.name == name


def test_collapsed_placement() -> None:
    for name in ("collapsed", "lab"):
        data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
        placement = catalog.load(EXAMPLES / f"{name}.yaml").placement
        assert [c.name for c in placement.clusters] == ["openstack"]
        cluster = placement.cluster("openstack")
        assert cluster.members == ("ctl1", "ctl2", "ctl3")
        assert cluster.remotes == ("cmp1", "cmp2")
        assert cluster.services == enabled_in(data)
        assert set(placement.service_cluster) == set(enabled_in(data))
        assert set(placement.service_cluster.values()) == {"openstack"}


def test_collapsed_runs_every_service() -> None:
    placement = catalog.load(EXAMPLES / "collapsed.yaml").placement
    assert placement.cluster("openstack").services == tuple(s.name for s in catalog.SERVICES)


def test_lab_leaves_out_what_it_turns_off() -> None:
    placement = catalog.load(EXAMPLES / "lab.yaml").placement
    off = {s.name for s in catalog.SERVICES if s.toggle in OFF}
    assert not off & set(placement.service_cluster)


def test_segregated_placement() -> None:
    data = yaml.safe_load((EXAMPLES / "segregated.yaml").read_text(encoding="utf-8"))
    placement = catalog.load(EXAMPLES / "segregated.yaml").placement
    assert [c.name for c in placement.clusters] == list(data["clusters"])
    for name, cluster in data["clusters"].items():
        placed = placement.cluster(name)
        assert placed.members == tuple(cluster["nodes"])
        assert set(placed.services) == set(cluster["services"])
        assert placed.remotes == (("cmp1", "cmp2") if "compute" in cluster["services"] else ())
    assert set(placement.service_cluster) == {
        s for c in data["clusters"].values() for s in c["services"]}


def test_mixed_placement() -> None:
    data = yaml.safe_load((EXAMPLES / "mixed.yaml").read_text(encoding="utf-8"))
    placement = catalog.load(EXAMPLES / "mixed.yaml").placement
    core = tuple(data["clusters"]["core"]["services"])
    assert placement.cluster("core").members == ("core1", "core2", "core3")
    assert set(placement.cluster("core").services) == set(core)
    assert placement.cluster("core").remotes == ()
    api = placement.cluster("api")
    assert api.members == ("api1", "api2", "api3")
    assert api.services == tuple(n for n in enabled_in(data) if n not in core)
    assert api.remotes == ("cmp1",)


# --- VIPs ------------------------------------------------------------------------------------


def test_vips_from_range_in_catalog_order() -> None:
    loaded = catalog.load(EXAMPLES / "lab.yaml")
    names = vip_names(loaded)
    assert names, "the lab's services use no VIP"
    assert list(loaded.placement.vips) == names
    first = IPv4Address("198.18.0.200")
    assert list(loaded.placement.vips.values()) == [first + i for i in range(len(names))]


@pytest.mark.parametrize("name", ["collapsed", "segregated", "mixed", "lab"])
def test_vips_unique_and_apart_from_nodes(name: str) -> None:
    loaded = catalog.load(EXAMPLES / f"{name}.yaml")
    vips = list(loaded.placement.vips.values())
    assert len(set(vips)) == len(vips)
    assert set(loaded.placement.vips) == set(vip_names(loaded))
    nodes = {n.address for n in loaded.site.nodes}
    nodes |= {n.fencing.address for n in loaded.site.nodes if n.fencing and n.fencing.address}
    assert not nodes & set(vips)
    assert all(v in loaded.site.networks.internal for v in vips)


def test_explicit_vips_kept(tmp_path: Path) -> None:
    names = vip_names(catalog.load(EXAMPLES / "lab.yaml"))
    assert len(names) >= 3, "needs a catalog with at least three VIP names"
    data = lab_data()
    # The last VIP takes the range's first address explicitly, the first one an address
    # outside the range: the others keep their own slots of the range, which skips .200.
    data["networks"]["vips"] = {names[-1]: "198.18.0.200", names[0]: "198.18.0.250"}
    vips = catalog.load(write_site(tmp_path, data)).placement.vips
    assert vips[names[-1]] == IPv4Address("198.18.0.200")
    assert vips[names[0]] == IPv4Address("198.18.0.250")
    first = IPv4Address("198.18.0.201")
    assert [vips[n] for n in names[1:-1]] == [first + i for i in range(1, len(names) - 1)]


@pytest.mark.parametrize("toggle", ["cinder", "swift", "heat", "horizon"])
def test_turning_a_service_off_moves_no_other_vip(tmp_path: Path, toggle: str) -> None:
    before = catalog.load(EXAMPLES / "lab.yaml").placement.vips
    data = lab_data()
    data["services"][toggle] = False
    after = catalog.load(write_site(tmp_path, data)).placement.vips
    assert set(after) < set(before)
    assert all(after[name] == before[name] for name in after)


def test_a_small_range_is_packed_in_order(tmp_path: Path) -> None:
    data = lab_data()
    names = vip_names(catalog.load(EXAMPLES / "lab.yaml"))
    data["services"]["swift"] = False
    data["networks"]["vip_range"] = f"198.18.0.200-198.18.0.{200 + len(names) - 2}"
    loaded = catalog.load(write_site(tmp_path, data))
    first = IPv4Address("198.18.0.200")
    assert list(loaded.placement.vips.values()) == [
        first + i for i in range(len(loaded.placement.vips))]


def test_range_skips_addresses_in_use(tmp_path: Path) -> None:
    data = lab_data()
    data["networks"]["vip_range"] = "198.18.0.11-198.18.0.99"  # over ctl1-3 and cmp1-2
    loaded = catalog.load(write_site(tmp_path, data))
    taken = {n.address for n in loaded.site.nodes}
    allocated = list(loaded.placement.vips.values())
    assert not taken & set(allocated)
    free = [a for a in (IPv4Address("198.18.0.11") + i for i in range(89)) if a not in taken]
    assert allocated == free[:len(allocated)]
