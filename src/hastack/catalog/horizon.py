"""Horizon: the dashboard under Apache on every member, behind the horizon VIP.

Guide: Horizon. Stateless: sessions live in memcached (every member listed), so any member
serves any user and a VIP move logs no one out. Apache runs as a systemd resource
(systemd:apache2) rather than ocf:heartbeat:apache: the unit is what Debian ships, and
HAProxy's HTTP check already proves the page answers. No constraints, as in the guide.
"""

from __future__ import annotations

from hastack.catalog import openstack as os_
from hastack.catalog import tls
from hastack.catalog.cib_model import CibSetting, Constraint, Resource, clone, resource_id, systemd
from hastack.catalog.contract import HAMode, Listener, Service, ServiceContext
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import Action, Check, Command, ConfigFile, HttpProbe, text_file

SERVICE = Service(
    name="horizon",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("horizon",),
    requires=("keystone", "memcached", "loadbalancer"),
    vips=("horizon",),
    toggle="horizon",
    summary="dashboard (apache2 clone behind vip-horizon), sessions in memcached",
    apis=("horizon",),
)

PORT = 80
HTTPS_PORT = 443
SETTINGS = "/etc/openstack-dashboard/local_settings.d/_50_hastack.py"
# A plain file in sites-enabled is included like a2ensite's symlinks; the packaged sites
# (default-ssl needs mod_ssl, which the packages may leave disabled) are switched off.
VHOST = "/etc/apache2/sites-enabled/hastack-horizon.conf"
PACKAGED_SITES = "find /etc/apache2/sites-enabled -type l"


def _vhost(ctx: ServiceContext, address: str) -> str:
    processes = os_.workers(ctx) or 4
    return (
        "# Rendered by hastack: the dashboard at / on this node's address.\n"
        f"<VirtualHost {address}:{PORT}>\n"
        "    WSGIScriptAlias / /usr/share/openstack-dashboard/wsgi.py\n"
        f"    WSGIDaemonProcess horizon user=www-data group=www-data processes={processes}"
        " threads=4\n"
        "    WSGIProcessGroup horizon\n"
        "    WSGIApplicationGroup %{GLOBAL}\n"
        "    Alias /static /var/lib/openstack-dashboard/static\n"
        "    <Directory /usr/share/openstack-dashboard>\n"
        "        Require all granted\n"
        "    </Directory>\n"
        "    <Directory /var/lib/openstack-dashboard/static>\n"
        "        Require all granted\n"
        "    </Directory>\n"
        "    ErrorLog /var/log/openstack-dashboard/error.log\n"
        "    CustomLog /var/log/openstack-dashboard/access.log combined\n"
        "</VirtualHost>\n")


def config(ctx: ServiceContext) -> list[ConfigFile]:
    locations = ", ".join(f"'{n.address}:{os_.MEMCACHED_PORT}'"
                          for n in ctx.members_of("memcached"))
    files: list[ConfigFile] = []
    for node in ctx.members:
        files.append(text_file(
            node.name, SETTINGS,
            "# Rendered by hastack.\n",
            "ALLOWED_HOSTS = ['*']\n",
            "SESSION_ENGINE = 'django.contrib.sessions.backends.cache'\n",
            "CACHES = {'default': {'BACKEND': "
            "'django.core.cache.backends.memcached.PyMemcacheCache', ",
            f"'LOCATION': [{locations}]}}}}\n",
            f"OPENSTACK_HOST = '{ctx.vip('keystone')}'\n",
            f"OPENSTACK_KEYSTONE_URL = '{os_.keystone_public_url(ctx)}/v3'\n",
            "SECRET_KEY = '", SecretRef("horizon-secret-key"), "'\n",
            *_tls_settings(ctx),
            owner="root", group="www-data", mode=0o640))
        files.append(text_file(node.name, "/etc/apache2/ports.conf",
                               f"# Rendered by hastack.\nListen {node.address}:{PORT}\n"))
        files.append(text_file(node.name, VHOST, _vhost(ctx, str(node.address))))
    return files


def _tls_settings(ctx: ServiceContext) -> list[str]:
    """Behind HAProxy's TLS: Django learns the scheme from X-Forwarded-Proto, its cookies
    travel only over https, and it verifies keystone's certificate with the site CA."""
    if not tls.enabled(ctx.site):
        return []
    return ["SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')\n",
            "CSRF_COOKIE_SECURE = True\nSESSION_COOKIE_SECURE = True\n",
            f"OPENSTACK_SSL_CACERT = '{tls.ca_path(ctx.site)}'\n"]


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [clone(systemd(resource_id("horizon"), ctx.unit("horizon")))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return []


def listeners(ctx: ServiceContext) -> list[Listener]:
    # https on its own port, as browsers expect; the members serve plain HTTP behind it.
    return [Listener(name="horizon", vip="horizon",
                     port=HTTPS_PORT if tls.enabled(ctx.site) else PORT, backend_port=PORT,
                     timeout_client="180s", timeout_server="180s")]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [Action(name="horizon-packaged-sites", what="switch off the packaged Apache sites",
                   run=Command(argv=("sh", "-c", f"{PACKAGED_SITES} -delete")),
                   done=Command(argv=("sh", "-c", f'test -z "$({PACKAGED_SITES})"')),
                   on="all")]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="horizon-login", what="the login page answers through the VIP",
                  probe=HttpProbe(url=tls.vip_url(ctx, "horizon", path="/auth/login/"),
                                  contains="Log in"), expect="HTTP 200", on="vip")]
