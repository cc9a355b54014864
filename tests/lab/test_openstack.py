"""The OpenStack control plane on the three-machine lab: keystone, glance, placement, nova,
neutron's servers, cinder, heat and horizon under Pacemaker behind their VIPs, registered in
keystone, checked by the guide's test actions through openstacksdk; a controller's power loss
under API load; a re-run changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from labkit import SITE, hastack, running_lab

pytestmark = pytest.mark.lab

API_CHECKS = ("keystone-token", "keystone-token-member", "glance-image", "neutron-network",
              "placement-api", "nova-services", "nova-api-member", "cinder-volume",
              "heat-stack", "horizon-login")


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


def test_power_loss_keeps_every_api_answering_through_its_vip(cloud: None) -> None:
    """A controller loses power while keystone tokens and nova/neutron lists run through the
    VIPs: every API answers again, no acknowledged DB write or message is lost."""
    result = hastack("drill", str(SITE), "power-loss", "--seconds", "75", "--format", "json",
                     check=False)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], result.stdout + result.stderr
    assert set(report["apis"]) == {"keystone", "nova", "neutron"}, report["notes"]
    for name, api in report["apis"].items():
        assert api["answering_at_end"] and api["back"] is not None, (name, api)
    assert report["db_lost"] == 0 and report["bus_lost"] == 0
    assert report["fenced"] is not None


def test_deploy_again_changes_nothing(cloud: None) -> None:
    again = hastack("deploy", str(SITE))
    assert "unchanged: the site already matches" in again.stdout, again.stdout
    assert " changed " not in again.stdout
