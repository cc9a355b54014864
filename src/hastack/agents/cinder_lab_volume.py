# mypy: ignore-errors
"""cinder-volume's backend in the lab: each volume a sparse file of its size in a directory
every controller shares, so its bytes survive cinder-volume moving to another controller.

catalog/cinder.py installs this file on lab sites only (as hastack_lab_volume.py where the
node's python3 imports from); real sites keep LVM. The lab has no loop devices, hence no LVM
(lab-notes), and Debian's FakeLoggingVolumeDriver keeps no bytes: it subclasses the LVM
driver, whose image copies write to an LVM device path that does not exist, so a volume
created from an image ended in ERROR (issue 19). This driver keeps the fake's exports and
connections (nova's fake driver attaches nothing); image copies convert into and out of
the volume's file with qemu-img as cinder itself, which owns the file, as cinder's NFS driver
does: through rootwrap (LVM's way) each copy started a Python interpreter per command, 13 of
the 15 s a 1 MiB image took to become a volume. Everything else is done on the files.
Runs inside cinder-volume: cinder, oslo and eventlet come with it (python3-cinder).
"""

import errno
import os

from cinder import exception
from cinder.image import image_utils
from cinder.tests import fake_driver
from cinder.volume import volume_utils
from eventlet import tpool
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
VOLUMES = "@VOLUMES@"  # shared by every controller (the lab's bind mount: lab/machine.py)
GIB = 1024**3
CHUNK = 1024**2


def create_sparse(path, size):
    """A new file of ``size`` bytes holding only zeros (no block written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def copy_sparse(source, dest, size):
    """``dest`` becomes ``size`` bytes: ``source``'s (cut or zero-filled to ``size``), its
    holes left holes, so copying a mostly empty volume costs only its data."""
    fd_in = os.open(source, os.O_RDONLY)
    try:
        fd_out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd_out, size)
            end, offset = min(os.fstat(fd_in).st_size, size), 0
            while offset < end:
                try:
                    offset = os.lseek(fd_in, offset, os.SEEK_DATA)
                except OSError as exc:
                    if exc.errno == errno.ENXIO:  # nothing but holes from here on
                        break
                    raise
                stop = min(os.lseek(fd_in, offset, os.SEEK_HOLE), end)
                while offset < stop:
                    block = os.pread(fd_in, min(CHUNK, stop - offset), offset)
                    if not block:
                        break
                    os.pwrite(fd_out, block, offset)
                    offset += len(block)
                offset = max(offset, stop)
            os.fsync(fd_out)
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


class LabFileVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    """Volumes and snapshots as sparse files in VOLUMES, named as cinder names them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.backend_name = self.configuration.safe_get("volume_backend_name") or "lab"

    def check_for_setup_error(self):
        # Without the shared directory a volume would live on one controller only.
        if not (os.path.isdir(VOLUMES) and os.access(VOLUMES, os.W_OK | os.X_OK)):
            raise exception.VolumeBackendAPIException(
                data=f"{VOLUMES} is not a directory cinder can write (the lab's shared "
                     "storage: a machine booted before it was shared needs a restart)")

    def local_path(self, volume, vg=None):
        return os.path.join(VOLUMES, volume["name"])

    def create_volume(self, volume):
        create_sparse(self.local_path(volume), volume["size"] * GIB)
        return super().create_volume(volume)

    def delete_volume(self, volume):
        self._remove(self.local_path(volume))

    def extend_volume(self, volume, new_size):
        os.truncate(self.local_path(volume), new_size * GIB)

    def copy_image_to_volume(self, context, volume, image_service, image_id):
        image_utils.fetch_to_raw(context, image_service, image_id, self.local_path(volume),
                                 self.configuration.volume_dd_blocksize, size=volume["size"],
                                 run_as_root=False)
        # qemu-img convert re-creates its target at the image's size: back to the volume's.
        path, size = self.local_path(volume), volume["size"] * GIB
        if os.stat(path).st_size < size:
            os.truncate(path, size)

    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        volume_utils.upload_volume(context, image_service, image_meta, self.local_path(volume),
                                   volume, run_as_root=False)

    def create_cloned_volume(self, volume, src_vref):
        self._copy(self.local_path(src_vref), volume)

    def create_snapshot(self, snapshot):
        source = os.path.join(VOLUMES, snapshot["volume_name"])
        tpool.execute(copy_sparse, source, self.local_path(snapshot),
                      snapshot["volume_size"] * GIB)

    def delete_snapshot(self, snapshot):
        self._remove(self.local_path(snapshot))

    def create_volume_from_snapshot(self, volume, snapshot):
        self._copy(self.local_path(snapshot), volume)

    def revert_to_snapshot(self, context, volume, snapshot):
        self._copy(self.local_path(snapshot), volume)

    def _copy(self, source, volume):
        # Outside eventlet's loop: a copy of many bytes would stall the service's heartbeats.
        tpool.execute(copy_sparse, source, self.local_path(volume), volume["size"] * GIB)

    @staticmethod
    def _remove(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            LOG.info("%s was already gone", path)

    def _update_volume_stats(self):
        super()._update_volume_stats()
        # The shared directory's real space, thinly provisioned (sparse files), instead of
        # the fake's "infinite" with every byte reserved.
        fs = os.statvfs(VOLUMES)
        provisioned = sum(e.stat().st_size for e in os.scandir(VOLUMES) if e.is_file())
        self._stats["pools"][0].update(
            total_capacity_gb=round(fs.f_blocks * fs.f_frsize / GIB, 2),
            free_capacity_gb=round(fs.f_bavail * fs.f_frsize / GIB, 2),
            provisioned_capacity_gb=round(provisioned / GIB, 2), reserved_percentage=0,
            thin_provisioning_support=True, thick_provisioning_support=False)
