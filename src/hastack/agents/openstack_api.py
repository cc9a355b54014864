# mypy: ignore-errors
"""OpenStack API operations, run with python3 on a controller (it reaches every VIP; the
host running hastack may not). Sent over stdin by osapi/client.py; stdlib + openstacksdk
only. Input: JSON {"requests": [{"operation", "params", "secret"}], "ensure"} on argv[1], run
in one process (one import of openstacksdk, one token: about a second each saved), one after
another, or a few at a time when they only read ("ensure": false); credentials in the
environment (OS_AUTH_URL, OS_PASSWORD, and a request's "secret" names the variable holding
the password it sets). Output: one JSON line, a list of {"ok", "changed", "detail",
"seconds"}, one per request, in the order asked.

Ensure operations create what is missing and report whether they changed anything; with
"ensure": false they only report what they would change. Check operations assert an outcome.
"""

import json
import os
import sys
import time
import urllib.request


def connect(auth_url=None, endpoint_override=None):
    import openstack

    overrides = {f"{service}_endpoint_override": url
                 for service, url in (endpoint_override or {}).items()}
    return openstack.connect(**overrides,
        auth_url=auth_url or os.environ["OS_AUTH_URL"], username="admin",
        password=os.environ["OS_PASSWORD"], project_name="admin", user_domain_name="Default",
        project_domain_name="Default", region_name=os.environ.get("OS_REGION_NAME"),
        interface="internal", identity_api_version="3",
        **({"cacert": os.environ["OS_CACERT"]} if os.environ.get("OS_CACERT") else {}))


class Ensure:
    """One request's ensure: whether to apply, what it would change, and the password it
    sets (read from the variable the request names)."""

    def __init__(self, apply, secret=None):
        self.apply, self.changes, self.secret = apply, [], secret

    def need(self, what):
        self.changes.append(what)
        return self.apply


# What one program found by name (the service project, roles, the service list), asked once
# for all its requests: each find is two calls to keystone (by id, then by name).
_found = {}


def _once(key, find):
    if _found.get(key) is None:
        _found[key] = find()
    return _found[key]


def ensure_project(conn, ens, name, domain="default"):
    project = _once(("project", name, domain),
                    lambda: conn.identity.find_project(name, domain_id=domain))
    if project is None and ens.need(f"project {name}"):
        project = _found["project", name, domain] = conn.identity.create_project(
            name=name, domain_id=domain)
    return project


def password_works(user, password):
    """The user authenticates with ``password`` (unscoped, through the keystone VIP)."""
    from keystoneauth1 import exceptions, session
    from keystoneauth1.identity import v3

    auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"], user_id=user.id, password=password)
    try:
        session.Session(auth=auth, verify=os.environ.get("OS_CACERT") or True).get_token()
    except exceptions.Unauthorized:
        return False
    return True


def ensure_user(conn, ens, name, password, domain="default"):
    """The user, with the password of the secrets file (a rotated or restored one converges)."""
    user = conn.identity.find_user(name, domain_id=domain)
    if user is None:
        if ens.need(f"user {name}"):
            user = conn.identity.create_user(name=name, password=password, domain_id=domain)
    else:
        if not user.is_enabled and ens.need(f"user {name} enabled"):
            conn.identity.update_user(user, enabled=True)
        if not password_works(user, password) and ens.need(f"password of user {name}"):
            conn.identity.update_user(user, password=password)
    return user


def op_keystone_retire(conn, ens, params):
    """Service users' other accounts disabled (their tokens revoked with them): run once
    every service authenticates as the current ones."""
    for name, domain in params["users"]:
        if domain != "default":
            found = conn.identity.find_domain(domain)
            if found is None:
                continue
            domain = found.id
        user = conn.identity.find_user(name, domain_id=domain)
        if user is not None and user.is_enabled and ens.need(f"user {name} disabled"):
            conn.identity.update_user(user, enabled=False)


def ensure_role(conn, ens, name):
    role = _once(("role", name), lambda: conn.identity.find_role(name))
    if role is None and ens.need(f"role {name}"):
        role = _found["role", name] = conn.identity.create_role(name=name)
    return role


def grant_on_project(conn, ens, project, user, role):
    if None in (project, user, role):
        return
    if not conn.identity.validate_user_has_project_role(project, user, role) and \
            ens.need(f"role {role.name} for {user.name} on {project.name}"):
        conn.identity.assign_project_role_to_user(project, user, role)


def op_project_ensure(conn, ens, params):
    ensure_project(conn, ens, params["name"])


def op_keystone_register(conn, ens, params):
    if params.get("user"):
        project = ensure_project(conn, ens, "service")
        user = ensure_user(conn, ens, params["user"], ens.secret)
        grant_on_project(conn, ens, project, user, ensure_role(conn, ens, "admin"))
        for extra in params.get("extra_roles", []):
            grant_on_project(conn, ens, project, user, ensure_role(conn, ens, extra))
    services = _once("services", lambda: list(conn.identity.services()))
    service = next((s for s in services if s.name == params["service"]), None)
    if service is None and ens.need(f"service {params['service']}"):
        service = conn.identity.create_service(name=params["service"],
                                               type=params["type"], enabled=True)
        services.append(service)
    if service is None:
        ens.changes.extend(f"{i} endpoint" for i in ("public", "internal", "admin"))
        return
    have = {e.interface: e for e in conn.identity.endpoints(service_id=service.id)}
    for interface in ("public", "internal", "admin"):
        endpoint = have.get(interface)
        if endpoint is None:
            if ens.need(f"{interface} endpoint of {params['service']}"):
                conn.identity.create_endpoint(service_id=service.id, interface=interface,
                                              url=params["url"], region_id=params["region"])
        elif endpoint.url != params["url"] and ens.need(f"{interface} URL of "
                                                        f"{params['service']}"):
            conn.identity.update_endpoint(endpoint, url=params["url"])


def op_heat_stack_domain(conn, ens, params):
    domain = conn.identity.find_domain(params["domain"])
    if domain is None and ens.need(f"domain {params['domain']}"):
        domain = conn.identity.create_domain(name=params["domain"],
                                             description="heat stack projects and users")
    if domain is None:
        return
    user = ensure_user(conn, ens, params["admin"], ens.secret,
                       domain=domain.id)
    role = ensure_role(conn, ens, "admin")
    if user is not None and role is not None and \
            not conn.identity.validate_user_has_domain_role(domain, user, role) and \
            ens.need(f"admin role for {params['admin']} on domain {params['domain']}"):
        conn.identity.assign_domain_role_to_user(domain, user, role)
    ensure_role(conn, ens, "heat_stack_owner")
    ensure_role(conn, ens, "heat_stack_user")


# --- checks: the guide's test actions -------------------------------------------------------

def check_token_issue(conn, params):
    token = conn.identity.get_auth_headers().get("X-Auth-Token") if hasattr(
        conn.identity, "get_auth_headers") else conn.auth_token
    assert token, "no token"
    return f"token of {len(token)} characters"


def check_token_issue_member(conn, params):
    details = []
    for url in params["urls"]:
        member = connect(auth_url=url)
        assert member.auth_token, f"{url}: no token"
        details.append(url.split("//")[1].split(":")[0])
    return "a token from " + ", ".join(details)


def check_image_upload_readback(conn, params):
    data = os.urandom(64 * 1024)
    name = f"hastack-verify-{time.time_ns()}"
    image = conn.image.create_image(name=name, data=data, disk_format="raw",
                                    container_format="bare", visibility="private")
    try:
        deadline = time.time() + 120
        while image.status != "active":
            assert image.status not in ("killed", "deleted"), f"image {image.status}"
            assert time.time() < deadline, f"image still {image.status} after 120 s"
            time.sleep(1)
            image = conn.image.get_image(image.id)
        # From every member in turn, not only through the VIP: each must serve the bytes,
        # which holds only when the image store is shared.
        for url in params["urls"]:
            member = connect(endpoint_override={"image": url})
            back = b"".join(member.image.download_image(image, stream=True)
                            .iter_content(65536))
            assert back == data, f"the image read back from {url} differs"
    finally:
        conn.image.delete_image(image, ignore_missing=True)
    return f"{len(data)} bytes uploaded and read back from {len(params['urls'])} members"


def check_compute_services_up(conn, params):
    services = list(conn.compute.services())
    down = [f"{s.binary}@{s.host}" for s in services if s.state != "up"]
    assert services and not down, f"down: {', '.join(down) or 'no services'}"
    return f"{len(services)} nova services up"


def check_compute_hypervisors_up(conn, params):
    hypervisors = list(conn.compute.hypervisors(details=True))
    down = [h.name for h in hypervisors if h.state != "up"]
    assert hypervisors and not down, f"down: {', '.join(down) or 'no hypervisors'}"
    return f"{len(hypervisors)} hypervisors up"


def check_http_members(conn, params):
    for url in params["urls"]:
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status in (200, 300), f"{url}: HTTP {answer.status}"
    return f"{len(params['urls'])} members answer"


def check_placement_resource_providers(conn, params):
    providers = list(conn.placement.resource_providers())
    return f"{len(providers)} resource providers listed"


def check_network_create_delete(conn, params):
    name = f"hastack-verify-{time.time_ns()}"
    network = conn.network.create_network(name=name)
    try:
        subnet = conn.network.create_subnet(network_id=network.id, ip_version=4,
                                            cidr="10.254.0.0/24", name=name)
        router = conn.network.create_router(name=name)
        try:
            conn.network.add_interface_to_router(router, subnet_id=subnet.id)
            conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
        finally:
            conn.network.delete_router(router)
    finally:
        conn.network.delete_network(network)
    return "network, subnet and router created and deleted"


def check_network_instance_port_create(conn, params):
    """What a booted instance has before its first packet: a network with DHCP, a router on
    it, and a port bound to a compute (the node's L2 agent then wires it). Prints the ids
    `hastack verify` plugs the stand-in instance with."""
    name = params["name"]
    network = conn.network.create_network(name=name)
    subnet = conn.network.create_subnet(network_id=network.id, ip_version=4,
                                        cidr=params["cidr"], name=name)
    router = conn.network.create_router(name=name)
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    port = conn.network.create_port(network_id=network.id, name=name,
                                    binding_host_id=params["host"],
                                    device_owner="compute:hastack-verify")
    return json.dumps({"port": port.id, "mac": port.mac_address, "network": network.id,
                       "address": port.fixed_ips[0]["ip_address"],
                       "gateway": subnet.gateway_ip})


def check_network_instance_port_delete(conn, params):
    """Everything the create made under ``name`` (also after it failed half-way)."""
    name = params["name"]
    gone = []
    for router in conn.network.routers(name=name):
        # An HA router's interfaces are "ha_router_replicated_interface" ports; its own HA
        # ports go with it.
        for port in conn.network.ports(device_id=router.id):
            if port.device_owner.endswith("_interface") and "router_ha" not in port.device_owner:
                conn.network.remove_interface_from_router(router, port_id=port.id)
        conn.network.delete_router(router)
        gone.append("router")
    for port in conn.network.ports(name=name):
        conn.network.delete_port(port)
        gone.append("port")
    for network in conn.network.networks(name=name):
        conn.network.delete_network(network)
        gone.append("network")
    return f"deleted: {', '.join(gone) or 'nothing'}"


def check_network_agents_alive(conn, params):
    agents = list(conn.network.agents())
    dead = [f"{a.binary}@{a.host}" for a in agents if not a.is_alive]
    assert agents and not dead, f"dead: {', '.join(dead) or 'no agents'}"
    return f"{len(agents)} agents alive"


def check_volume_create_delete(conn, params):
    volume = conn.block_storage.create_volume(size=1, name=f"hastack-verify-{time.time_ns()}")
    try:
        volume = conn.block_storage.wait_for_status(volume, status="available",
                                                    failures=["error"], wait=180)
    finally:
        conn.block_storage.delete_volume(volume, ignore_missing=True)
    return "a 1 GiB volume reached available and was deleted"


def _image_active(conn, image, wait=120):
    deadline = time.monotonic() + wait
    while image.status != "active":
        assert image.status not in ("killed", "deleted"), f"image {image.status}"
        assert time.monotonic() < deadline, f"image still {image.status} after {wait} s"
        time.sleep(1)
        image = conn.image.get_image(image.id)
    return image


def _volume_settled(conn, volume_id, wait=180):
    """The volume once no operation runs on it (available, in-use, error), None when gone."""
    deadline = time.monotonic() + wait
    while True:
        volume = conn.block_storage.find_volume(volume_id)
        if volume is None or volume.status in ("available", "in-use", "error"):
            return volume
        assert time.monotonic() < deadline, f"volume still {volume.status} after {wait} s"
        time.sleep(1)


def _delete_volume(conn, volume_id):
    """Deleted once no operation runs on it; forced (as admin) when one does not end."""
    try:
        volume = _volume_settled(conn, volume_id, wait=60)
    except AssertionError:
        conn.block_storage.delete_volume(volume_id, force=True)
    else:
        if volume is not None:
            conn.block_storage.delete_volume(volume, ignore_missing=True)


def _volume_holds(conn, volume, data, workdir):
    """The volume's bytes are ``data`` (then zeros): uploaded to a new image as qcow2 (raw
    would send the whole volume), downloaded and compared with qemu-img on this node.
    Returns the seconds the upload took."""
    import subprocess

    started = time.monotonic()
    answer = volume.upload_to_image(conn.block_storage, f"{volume.name}-readback",
                                    disk_format="qcow2", container_format="bare")
    image = conn.image.get_image(answer["image_id"])
    try:
        image = _image_active(conn, image, wait=180)
        uploaded = time.monotonic() - started
        expected, back = os.path.join(workdir, "expected.raw"), os.path.join(workdir, "back")
        with open(expected, "wb") as out:
            out.write(data)
        with open(back, "wb") as out:
            for chunk in conn.image.download_image(image, stream=True).iter_content(65536):
                out.write(chunk)
        # qemu-img compare: 0 identical (a larger image's extra part all zeros), 1 differs.
        done = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "qcow2", expected,
                               back], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (f"volume {volume.id} read back: "
                                      f"{(done.stdout + done.stderr).strip()}")
    finally:
        conn.image.delete_image(image.id, ignore_missing=True)
        _volume_settled(conn, volume.id)  # available again once its upload ended
    return uploaded


def check_volume_from_image_readback(conn, params):
    """A volume created from an image holds the image's bytes. With params "keep": the
    volume and image stay for a later "volume.readback" (their names begin with it)."""
    import tempfile

    data = os.urandom(1024 * 1024)
    name = params.get("keep") or f"hastack-verify-{time.time_ns()}"
    image = volume = None
    try:
        image = conn.image.create_image(name=name, data=data, disk_format="raw",
                                        container_format="bare", visibility="private")
        image = _image_active(conn, image)
        started = time.monotonic()
        volume = conn.block_storage.create_volume(size=1, image_id=image.id, name=name)
        volume = conn.block_storage.wait_for_status(volume, status="available",
                                                    failures=["error"], interval=1, wait=180)
        created = time.monotonic() - started
        with tempfile.TemporaryDirectory() as workdir:
            uploaded = _volume_holds(conn, volume, data, workdir)
    finally:
        if not params.get("keep"):
            if volume is not None:
                _delete_volume(conn, volume.id)
            if image is not None:
                conn.image.delete_image(image.id, ignore_missing=True)
    return (f"1 GiB volume from a {len(data) // 1024} KiB image available in {created:.1f} s,"
            f" read back through an image in {uploaded:.1f} s: identical bytes")


def check_volume_readback(conn, params):
    """The volume named params "name" still holds the bytes of the image of that name."""
    import tempfile

    volume = conn.block_storage.find_volume(params["name"], ignore_missing=False)
    image = conn.image.find_image(params["name"], ignore_missing=False)
    data = b"".join(conn.image.download_image(image, stream=True).iter_content(65536))
    with tempfile.TemporaryDirectory() as workdir:
        uploaded = _volume_holds(conn, volume, data, workdir)
    return f"volume {volume.id} read back through an image in {uploaded:.1f} s: identical"


def check_stack_create_delete(conn, params):
    template = {"heat_template_version": "2018-08-31",
                "resources": {"nothing": {"type": "OS::Heat::None"}}}
    name = f"hastack-verify-{time.time_ns()}"
    stack = conn.orchestration.create_stack(name=name, template=template)
    try:
        stack = conn.orchestration.wait_for_status(stack, status="CREATE_COMPLETE",
                                                   failures=["CREATE_FAILED"], wait=180)
    finally:
        conn.orchestration.delete_stack(stack, ignore_missing=True)
    return "CREATE_COMPLETE, then deleted"


def check_object_put_get(conn, params):
    container = f"hastack-verify-{time.time_ns()}"
    data = os.urandom(16 * 1024)
    conn.object_store.create_container(name=container)
    try:
        conn.object_store.upload_object(container=container, name="probe", data=data)
        back = conn.object_store.download_object("probe", container=container)
        assert back == data, "the object read back differs"
        conn.object_store.delete_object("probe", container=container)
    finally:
        conn.object_store.delete_container(container)
    return f"{len(data)} bytes stored and fetched"


def check_catalog_tls(conn, params):
    """Each endpoint's address: https, a handshake that verifies against the site CA (the
    address must be in the certificate), and nothing served to plain HTTP."""
    import http.client
    import socket
    import ssl
    from urllib.parse import urlsplit

    context = ssl.create_default_context(cafile=os.environ["OS_CACERT"])
    urls = [e.url for e in conn.identity.endpoints()] + list(params.values())
    seen, problems = set(), []
    for url in urls:
        parts = urlsplit(url.replace("%(", "").replace(")s", ""))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.hostname, port) in seen:
            continue
        seen.add((parts.hostname, port))
        if parts.scheme != "https":
            problems.append(f"{url}: not https")
            continue
        try:
            with socket.create_connection((parts.hostname, port), timeout=10) as raw, \
                    context.wrap_socket(raw, server_hostname=parts.hostname):
                pass
        except (OSError, ssl.SSLError) as exc:
            problems.append(f"{parts.hostname}:{port}: {exc}")
        plain = http.client.HTTPConnection(parts.hostname, port, timeout=10)
        try:
            plain.request("GET", "/")
            status = plain.getresponse().status
            if status < 300 or status >= 400:
                problems.append(f"{parts.hostname}:{port}: plain HTTP answered {status}")
        except (OSError, http.client.HTTPException):
            pass  # refused: what it should do
        finally:
            plain.close()
    assert not problems, "; ".join(problems)
    return f"{len(seen)} addresses: https with a certificate of the site CA, no plain HTTP"


def _short(host):
    return host.split(".")[0]


def _kept(params):
    return set(filter(None, params["keep"].split(",")))


def departed_computes(conn, params):
    """nova-compute services of hosts the site no longer lists (params["keep"]: those it does,
    comma-separated)."""
    keep = _kept(params)
    return [s for s in conn.compute.services(binary="nova-compute")
            if s.host not in keep and _short(s.host) not in keep]


def op_compute_drain_departed(conn, ens, params):
    """Each departed compute disabled (nothing new scheduled there); refused while it hosts
    an instance: moving one is the operator's choice (live migration or evacuation)."""
    for service in departed_computes(conn, params):
        if service.status != "disabled" and ens.need(f"nova-compute@{service.host} disabled"):
            conn.compute.disable_service(service, service.host, service.binary,
                                         disabled_reason="taken out of the site (hastack)")
        there = [s.name for s in conn.compute.servers(all_projects=True)
                 if s.compute_host == service.host]
        if there:
            raise RuntimeError(
                f"{service.host} is no longer in the site but hosts {len(there)} instance(s) "
                f"({', '.join(sorted(there)[:5])}): move them first (`openstack server migrate "
                "--live-migration SERVER`, or `openstack server evacuate` once it is fenced), "
                "then deploy again")


def op_compute_forget_departed(conn, ens, params):
    """Every nova service of a host the site no longer lists deleted (params["keep"]: every
    node it does): a compute's nova-compute, which also deletes its resource provider in
    placement (a provider left by name is deleted too), and a controller's scheduler and
    conductor, which would stay listed as down."""
    keep = _kept(params)
    gone = set()
    for service in list(conn.compute.services()):
        if service.host in keep or _short(service.host) in keep:
            continue
        gone.add(_short(service.host))
        if ens.need(f"{service.binary}@{service.host} deleted"):
            conn.compute.delete_service(service, ignore_missing=True)
    for provider in list(conn.placement.resource_providers()):
        name = _short(provider.name)
        if name in gone and name not in keep and ens.need(f"resource provider {provider.name} "
                                                          "deleted"):
            conn.placement.delete_resource_provider(provider, ignore_missing=True)


def op_network_forget_departed_agents(conn, ens, params):
    keep = _kept(params)
    for agent in list(conn.network.agents()):
        if _short(agent.host) not in keep and ens.need(
                f"{agent.binary}@{agent.host} deleted"):
            conn.network.delete_agent(agent, ignore_missing=True)


def compute_service(conn, host):
    found = [s for s in conn.compute.services(binary="nova-compute") if s.host == host]
    if not found:
        raise RuntimeError(f"nova lists no nova-compute on {host}")
    return found[0]


def op_compute_maintenance_on(conn, ens, params):
    """The compute disabled (nothing new scheduled there), then each instance on it moved by
    live migration (nova picks the target), waited for until it runs elsewhere."""
    host, wait = params["host"], float(params.get("wait", "600"))
    service = compute_service(conn, host)
    if service.status != "disabled" and ens.need(f"nova-compute@{host} disabled"):
        conn.compute.disable_service(service, host, service.binary,
                                     disabled_reason="maintenance (hastack)")
    there = [s for s in conn.compute.servers(all_projects=True) if s.compute_host == host]
    if not there or not ens.need(f"{len(there)} instance(s) live-migrated off {host}"):
        return
    for server in there:
        conn.compute.live_migrate_server(server, host=None, block_migration="auto")
    deadline, left = time.time() + wait, list(there)
    while left and time.time() < deadline:
        time.sleep(3)
        now = [conn.compute.get_server(s.id) for s in left]
        failed = [s.name for s in now if s.status == "ERROR"]
        if failed:
            raise RuntimeError(f"live migration failed for {', '.join(failed)}")
        left = [s for s in now if s.compute_host == host or s.status != "ACTIVE"]
    if left:
        raise RuntimeError(
            f"{', '.join(s.name for s in left)} still on {host} after {wait:.0f} s: nova's "
            "migrations say why (`openstack server migration list --host " + host + "`); "
            "move them (`openstack server migrate`), then run maintain again")


def op_compute_maintenance_off(conn, ens, params):
    service = compute_service(conn, params["host"])
    if service.status == "disabled" and ens.need(f"nova-compute@{service.host} enabled"):
        conn.compute.enable_service(service, service.host, service.binary)


ENSURE = {"project.ensure": op_project_ensure, "keystone.register": op_keystone_register,
          "keystone.retire": op_keystone_retire,
          "heat.stack-domain": op_heat_stack_domain,
          "compute.drain-departed": op_compute_drain_departed,
          "compute.forget-departed": op_compute_forget_departed,
          "network.forget-departed-agents": op_network_forget_departed_agents,
          "compute.maintenance-on": op_compute_maintenance_on,
          "compute.maintenance-off": op_compute_maintenance_off}
CHECKS = {"token.issue": check_token_issue, "token.issue.member": check_token_issue_member,
          "image.upload-readback": check_image_upload_readback,
          "compute.services-up": check_compute_services_up,
          "compute.hypervisors-up": check_compute_hypervisors_up,
          "compute.versions.member": check_http_members,
          "placement.resource-providers": check_placement_resource_providers,
          "network.create-delete": check_network_create_delete,
          "network.agents-alive": check_network_agents_alive,
          "network.instance-port-create": check_network_instance_port_create,
          "network.instance-port-delete": check_network_instance_port_delete,
          "volume.create-delete": check_volume_create_delete,
          "volume.from-image-readback": check_volume_from_image_readback,
          "volume.readback": check_volume_readback,
          "orchestration.stack-create-delete": check_stack_create_delete,
          "object.put-get": check_object_put_get, "catalog.tls": check_catalog_tls}


def run_one(conn, request, ensure):
    operation, params = request["operation"], request.get("params", {})
    if operation in ENSURE:
        # The password a request sets comes from the variable it names, never another's.
        ens = Ensure(ensure, os.environ[request["secret"]] if request.get("secret") else None)
        ENSURE[operation](conn, ens, params)
        return {"ok": True, "changed": bool(ens.changes),
                "detail": "; ".join(ens.changes) or "already there"}
    if operation in CHECKS:
        return {"ok": True, "changed": False, "detail": CHECKS[operation](conn, params)}
    return {"ok": False, "changed": False, "detail": f"unknown operation {operation}"}


# Requests that only read (a probe, a dry run) are asked this many at a time: a no-op
# deploy's keystone probe is ~60 calls, each waiting on keystone (a password check is a
# bcrypt hash there). Ensured writes stay one after another: two would create the same
# project. A batch may ask for its own number of lanes (verify's checks: two).
READERS = 4


def main():
    from concurrent.futures import ThreadPoolExecutor
    from threading import Lock

    batch = json.loads(sys.argv[1])
    requests, ensure = batch["requests"], batch.get("ensure", True)
    lanes = batch.get("lanes") or (1 if ensure else READERS)
    connected, lock = [], Lock()

    def conn():
        with lock:  # one connection (one token) for all, made on first use
            if not connected:
                connected.append(connect())
        return connected[0]

    def timed(request):
        started = time.monotonic()
        try:
            result = run_one(conn(), request, ensure)
        except Exception as exc:  # report every failure as data: the caller names the step
            result = {"ok": False, "changed": False, "detail": f"{type(exc).__name__}: {exc}"}
        return {**result, "seconds": time.monotonic() - started}

    if lanes < 2 or len(requests) < 2:
        results = [timed(r) for r in requests]
    else:
        # The first alone: keystone's version discovery and the token, before any thread.
        results = [timed(requests[0])]
        with ThreadPoolExecutor(max_workers=lanes) as pool:
            results += list(pool.map(timed, requests[1:]))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
