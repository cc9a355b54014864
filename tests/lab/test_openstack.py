"""The OpenStack control plane on the three-machine lab: keystone, glance, placement, nova and
neutron's servers under Pacemaker behind their VIPs, registered in keystone, checked by the
guide's test actions through openstacksdk; a re-run changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labkit import SITE, hastack, running_lab

pytestmark = pytest.mark.lab

API_CHECKS = ("keystone-token", "keystone-token-member", "glance-image", "neutron-network",
              "placement-api", "nova-services", "nova-api-member")


@pytest.fixture(scope="module")
def cloud() -> Iterator[None]:
    # The site's packages (OpenStack's included), then the whole control plane.
    with running_lab(then=[("deploy", str(SITE))]):
        yield


def test_verify_passes_every_check_of_the_control_plane(cloud: None) -> None:
    result = hastack("verify", str(SITE), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in API_CHECKS:
        assert check in result.stdout
    assert "FAIL" not in result.stdout


def test_deploy_again_changes_nothing(cloud: None) -> None:
    again = hastack("deploy", str(SITE))
    assert "unchanged: the site already matches" in again.stdout, again.stdout
    assert " changed " not in again.stdout
