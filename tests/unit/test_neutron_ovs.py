"""Open vSwitch on the netdev datapath (examples/lab-ovs.yaml): tunnels end on br-tunnel at
each node's tunnel address, the agent's bridges exist before it starts, and the namespaces get
internal ports; the Linux bridge site has none of it. Every rendered shell script parses."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from hastack import catalog
from hastack.catalog.neutron_agents import BRIDGES_DROPIN, BRIDGES_SCRIPT
from hastack.catalog.neutron_server import WSGI_SCRIPT
from hastack.render.site import render_site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OVS_INI = "/etc/neutron/plugins/ml2/openvswitch_agent.ini"


def _files(site: str) -> dict[tuple[str, str], str]:
    loaded = catalog.load(EXAMPLES / site)
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    return {(f.node, f.path): f.text.masked() for f in rendering.files}


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return parser


def test_tunnels_end_on_each_nodes_tunnel_address_on_the_netdev_datapath() -> None:
    files = _files("lab-ovs.yaml")
    for node, host in (("ctl1", 11), ("ctl3", 13), ("cmp1", 21)):
        agent = _ini(files[(node, OVS_INI)])
        assert agent["ovs"]["local_ip"] == f"198.18.2.{host}"
        assert agent["ovs"]["datapath_type"] == "netdev"
        script = files[(node, BRIDGES_SCRIPT)]
        assert "add-port br-tunnel eth1" in script
        assert f"ip addr replace 198.18.2.{host}/24 dev br-tunnel" in script
        assert "add-br br-ex -- set Bridge br-ex datapath_type=netdev" in script
        dropin = files[(node, f"/etc/systemd/system/neutron-openvswitch-agent.service.d/"
                              f"{BRIDGES_DROPIN}")]
        # Made with root's rights before the agent (user neutron) starts, once OVS runs.
        assert f"ExecStartPre=+{BRIDGES_SCRIPT}" in dropin
        assert "Requires=openvswitch-switch.service" in dropin
        assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
    for agent in ("dhcp_agent", "l3_agent"):
        options = _ini(files[("ctl2", f"/etc/neutron/{agent}.ini")])["DEFAULT"]
        assert options["interface_driver"] == "openvswitch"
        assert "ovs_use_veth" not in options  # internal ports: see _namespace_agent


def test_the_linux_bridge_site_has_no_ovs_bridges() -> None:
    files = _files("lab.yaml")
    assert not [path for _, path in files if path in (BRIDGES_SCRIPT, OVS_INI)]
    assert _ini(files[("cmp1", "/etc/neutron/plugins/ml2/linuxbridge_agent.ini")])[
        "vxlan"]["local_ip"] == "198.18.0.21"


def test_neutrons_api_runs_its_hub_under_uwsgi() -> None:
    files = _files("lab.yaml")
    ini = _ini(files[("ctl1", "/etc/hastack/uwsgi/neutron-api.ini")])
    assert ini["uwsgi"]["wsgi-file"] == WSGI_SCRIPT
    script = files[("ctl1", WSGI_SCRIPT)]
    compile(script, WSGI_SCRIPT, "exec")
    assert 'run_path("/usr/bin/neutron-api")' in script and "add_timer(" in script
