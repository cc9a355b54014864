"""The lab's cinder backend (agents/cinder_lab_volume.py): rendered as a module on lab sites
only, in a directory every controller shares, and what it does to its files (run against a
stand-in for the fake driver it subclasses: cinder is not installed here)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from hastack import catalog
from hastack.agents import LAB_VOLUME_DRIVER, agent_text
from hastack.catalog import cinder
from hastack.catalog.contract import ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import ConfigFile
from hastack.lab.machine import SHARED_DIRS

ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3
MIB = 1024**2
ENTRY = next(e for e in catalog.SERVICES if e.name == "cinder")


def _files(example: str) -> list[ConfigFile]:
    loaded = catalog.load(ROOT / "examples" / f"{example}.yaml")
    ctx = ServiceContext(loaded.site, loaded.placement, "cinder",
                         platform_info(loaded.site.platform.value))
    return list(ENTRY.config(ctx))


def _backend(files: list[ConfigFile], node: str) -> dict[str, object]:
    conf = next(f for f in files if f.node == node and f.path == "/etc/cinder/cinder.conf")
    return dict(dict(conf.ini or ())["default"])


def test_a_lab_site_gets_the_file_backend_as_a_module_python3_imports() -> None:
    files = _files("lab")
    module = f"/usr/local/lib/python3.11/dist-packages/{cinder.LAB_DRIVER_MODULE}.py"
    drivers = [f for f in files if f.path == module]
    assert {f.node for f in drivers} == {"ctl1", "ctl2", "ctl3"}
    for driver in drivers:
        # cinder's: a changed driver restarts cinder-volume.
        assert (driver.service, driver.owner, driver.mode) == ("cinder", "root", 0o644)
        assert driver.text is not None
        assert driver.text.masked() == agent_text(LAB_VOLUME_DRIVER,
                                                  VOLUMES=cinder.LAB_VOLUMES)
        assert _backend(files, driver.node) == {
            "volume_driver": "hastack_lab_volume.LabFileVolumeDriver",
            "volume_backend_name": "lab"}
    # Its directory is the one lab machines share, cinder's.
    assert SHARED_DIRS[cinder.LAB_VOLUMES] == "cinder"


def test_a_real_site_keeps_lvm_and_gets_no_driver_module() -> None:
    files = _files("collapsed")
    assert not [f for f in files if f.path.endswith(f"/{cinder.LAB_DRIVER_MODULE}.py")]
    node = next(f.node for f in files if f.path == "/etc/cinder/cinder.conf")
    assert _backend(files, node) == {
        "volume_driver": "cinder.volume.drivers.lvm.LVMVolumeDriver",
        "volume_group": "cinder-volumes", "target_helper": "tgtadm",
        "volume_backend_name": "lvm"}


def test_verify_checks_a_volume_made_from_an_image() -> None:
    loaded = catalog.load(ROOT / "examples" / "lab.yaml")
    ctx = ServiceContext(loaded.site, loaded.placement, "cinder",
                         platform_info(loaded.site.platform.value))
    probes = {c.name: c.probe for c in ENTRY.checks(ctx)}
    assert getattr(probes["cinder-volume-from-image"], "operation", None) == \
        "volume.from-image-readback"
    assert "def check_volume_from_image_readback" in agent_text("openstack_api.py")


# --- the driver's own work on its files -----------------------------------------------------

class _FakeLoggingVolumeDriver:
    """What the driver takes from Debian's fake: its configuration and pool stats."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.configuration = types.SimpleNamespace(safe_get=lambda key: None,
                                                   volume_dd_blocksize="1M")
        self._stats: dict[str, Any] = {}

    def create_volume(self, volume: dict[str, Any]) -> None:
        return None

    def _update_volume_stats(self) -> None:
        self._stats = {"pools": [{"pool_name": "lab", "total_capacity_gb": "infinite",
                                  "reserved_percentage": 100}]}


# Each image copy the driver asked cinder for: (what, path, run_as_root).
copies: list[tuple[str, str, bool]] = []


def _fetch_to_raw(context: object, image_service: object, image_id: str, dest: str,
                  blocksize: str, size: int | None = None, run_as_root: bool = True) -> None:
    """cinder's: qemu-img convert, which re-creates its target at the image's size."""
    copies.append(("fetch", dest, run_as_root))
    Path(dest).write_bytes(b"image" * 1000)


def _upload_volume(context: object, image_service: object, image_meta: object,
                   volume_path: str, volume: object, run_as_root: bool = True) -> None:
    copies.append(("upload", volume_path, run_as_root))


@pytest.fixture
def driver_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The rendered driver, run with stand-ins for the modules cinder-volume gives it."""
    fake = types.ModuleType("cinder.tests.fake_driver")
    fake.FakeLoggingVolumeDriver = _FakeLoggingVolumeDriver  # type: ignore[attr-defined]
    exception = types.ModuleType("cinder.exception")

    class VolumeBackendAPIException(Exception):
        def __init__(self, data: str) -> None:
            super().__init__(data)

    exception.VolumeBackendAPIException = VolumeBackendAPIException  # type: ignore[attr-defined]
    image_utils = types.SimpleNamespace(fetch_to_raw=_fetch_to_raw)
    volume_utils = types.SimpleNamespace(upload_volume=_upload_volume)
    tpool = types.SimpleNamespace(execute=lambda fn, *args: fn(*args))
    log = types.SimpleNamespace(getLogger=lambda name: types.SimpleNamespace(info=print))
    modules = {"cinder": types.ModuleType("cinder"), "cinder.exception": exception,
               "cinder.tests": types.ModuleType("cinder.tests"),
               "cinder.tests.fake_driver": fake,
               "cinder.image": types.SimpleNamespace(image_utils=image_utils),
               "cinder.volume": types.SimpleNamespace(volume_utils=volume_utils),
               "eventlet": types.SimpleNamespace(tpool=tpool),
               "oslo_log": types.SimpleNamespace(log=log)}
    modules["cinder"].exception = exception  # type: ignore[attr-defined]
    modules["cinder.tests"].fake_driver = fake  # type: ignore[attr-defined]
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    volumes = tmp_path / "volumes"
    volumes.mkdir()
    module = types.ModuleType(cinder.LAB_DRIVER_MODULE)
    exec(compile(agent_text(LAB_VOLUME_DRIVER, VOLUMES=str(volumes)), "driver", "exec"),
         module.__dict__)
    return module


def _volume(name: str, size: int) -> dict[str, Any]:
    return {"name": name, "size": size}


def test_a_volume_is_a_sparse_file_of_its_size(driver_module: types.ModuleType) -> None:
    driver = driver_module.LabFileVolumeDriver()
    driver.check_for_setup_error()
    volume = _volume("volume-1", 2)
    driver.create_volume(volume)
    path = Path(driver.local_path(volume))
    assert path.parent == Path(driver_module.VOLUMES)
    assert path.stat().st_size == 2 * GIB and path.stat().st_blocks * 512 < MIB
    assert path.stat().st_mode & 0o777 == 0o600
    driver.extend_volume(volume, 3)
    assert path.stat().st_size == 3 * GIB
    driver.delete_volume(volume)
    driver.delete_volume(volume)  # already gone: nothing to do
    assert not path.exists()


def test_an_image_copied_in_leaves_the_volume_its_size(
        driver_module: types.ModuleType) -> None:
    driver = driver_module.LabFileVolumeDriver()
    volume = _volume("volume-2", 1)
    driver.create_volume(volume)
    copies.clear()
    driver.copy_image_to_volume(None, volume, None, "image")
    path = Path(driver.local_path(volume))
    assert path.stat().st_size == GIB
    with path.open("rb") as back:
        assert back.read(5000) == b"image" * 1000
    driver.copy_volume_to_image(None, volume, None, {"id": "image-2"})
    # Into and out of the volume's own file, as cinder (who owns it), not through rootwrap.
    assert copies == [("fetch", str(path), False), ("upload", str(path), False)]


def test_copies_keep_data_and_holes(driver_module: types.ModuleType) -> None:
    driver = driver_module.LabFileVolumeDriver()
    source = _volume("volume-3", 1)
    driver.create_volume(source)
    path = driver.local_path(source)
    with open(path, "r+b") as out:  # data at both ends, a hole between
        out.write(b"a" * MIB)
        out.seek(GIB - MIB)
        out.write(b"z" * MIB)
    snapshot = {"name": "snapshot-1", "volume_name": "volume-3", "volume_size": 1}
    driver.create_snapshot(snapshot)
    clone, grown = _volume("volume-4", 1), _volume("volume-5", 2)
    driver.create_cloned_volume(clone, source)
    driver.create_volume_from_snapshot(grown, snapshot)
    for copy in (driver.local_path(snapshot), driver.local_path(clone),
                 driver.local_path(grown)):
        stat = os.stat(copy)
        assert stat.st_blocks * 512 < 16 * MIB, copy  # the hole stayed a hole
        with open(copy, "rb") as back:
            assert back.read(MIB) == b"a" * MIB
            back.seek(GIB - MIB)
            assert back.read(MIB) == b"z" * MIB
            assert back.read(MIB) == b"\0" * min(MIB, stat.st_size - GIB)
    assert os.stat(driver.local_path(grown)).st_size == 2 * GIB
    with open(path, "r+b") as out:
        out.write(b"b" * MIB)
    driver.revert_to_snapshot(None, source, snapshot)
    with open(path, "rb") as back:
        assert back.read(MIB) == b"a" * MIB
    driver.delete_snapshot(snapshot)
    assert not os.path.exists(driver.local_path(snapshot))


def test_stats_are_the_shared_directorys_space(driver_module: types.ModuleType) -> None:
    driver = driver_module.LabFileVolumeDriver()
    driver.create_volume(_volume("volume-6", 4))
    driver._update_volume_stats()
    (pool,) = driver._stats["pools"]
    assert pool["provisioned_capacity_gb"] == 4.0 and pool["reserved_percentage"] == 0
    assert 0 < pool["free_capacity_gb"] <= pool["total_capacity_gb"]
    assert pool["thin_provisioning_support"] is True


def test_without_its_directory_the_driver_refuses_to_start(
        driver_module: types.ModuleType) -> None:
    os.rmdir(driver_module.VOLUMES)
    with pytest.raises(Exception, match="not a directory cinder can write"):
        driver_module.LabFileVolumeDriver().check_for_setup_error()
