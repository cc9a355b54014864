"""Swift's rings are built on every member from the same devices: when the devices change (a
member added or removed), every member builds them again, not only the new one."""

from __future__ import annotations

from pathlib import Path

from hastack import catalog
from hastack.catalog import swift_storage
from hastack.catalog.contract import ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import Action, Command

ROOT = Path(__file__).resolve().parents[2]


def _rings(site_text: str, tmp_path: Path) -> Action:
    path = tmp_path / "lab.yaml"
    path.write_text(site_text)
    loaded = catalog.load(path)
    ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service="swift-storage",
                         platform=platform_info(loaded.site.platform.value))
    return swift_storage.ring_action(ctx, "swift-rings")


def test_the_rings_done_probe_holds_only_for_rings_built_from_these_devices(
        tmp_path: Path) -> None:
    text = (ROOT / "examples" / "lab.yaml").read_text()
    three = _rings(text, tmp_path)
    four = _rings(text.replace("  - {name: cmp1,", (
        "  - {name: ctl4, address: 198.18.0.14, role: controller,\n"
        "     fencing: {type: lab, address: 198.18.0.114, pdu: {name: pdu1, outlet: 7}}}\n"
        "  - {name: cmp1,"), 1), tmp_path)
    assert isinstance(three.done, Command) and isinstance(four.done, Command)
    assert three.done != four.done, "rings of three devices would count as done for four"
    assert isinstance(four.run, Command)
    assert "object.builder add r1z4-198.18.0.14:6200/d1 100" in four.run.argv[4:]
    mark = four.done.argv[2]  # what the probe looks for is what the build writes
    assert four.run.argv[2].endswith(f"echo {mark} > {swift_storage.RINGS_MARK}")
