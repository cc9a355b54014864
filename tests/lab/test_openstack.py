"""The OpenStack control plane on the three-machine lab: keystone, glance, placement, nova and
neutron's servers under Pacemaker behind their VIPs, registered in keystone, checked by the
guide's test actions through openstacksdk; a re-run changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from labkit import SITE, STATE, hastack

pytestmark = pytest.mark.lab

API_CHECKS = ("keystone-token", "keystone-token-member", "glance-image", "neutron-network",
              "placement-api", "nova-services", "nova-api-member")


@pytest.fixture(scope="module")
def cloud() -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    if (STATE / "site.json").exists():
        pytest.skip("a lab is already up here; `hastack lab down` first")
    try:
        hastack("lab", "up", str(SITE))  # the site's packages: OpenStack's included
        hastack("deploy", str(SITE))
        yield
    finally:
        hastack("lab", "down", check=False)


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
