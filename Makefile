# hastack: `make test` installs what it needs (Debian 12, as root) and runs every test tier.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := pacemaker-cli-utils corosync haproxy snmp fence-agents openssh-server curl socat
PYTHON ?= python3

.PHONY: test test-ovs unit lab lab-down deps apt venv lint golden-update clean

# The tiers without a lab wait on real tools more than they compute: four workers, each
# file on one worker (a tool test's daemons listen on fixed loopback ports). The lab tier
# runs alone: one lab at a time.
test: deps lint
	$(PY) -m pytest -o addopts="" -q -n 4 --dist loadfile --durations=10 \
		tests/unit tests/golden tests/simulate tests/tool
	$(PY) -m pytest -o addopts="" -q --durations=25 tests/lab

# The guide's Open vSwitch in a lab of its own (examples/lab-ovs.yaml, about 10 minutes): not
# part of `make test`, which keeps to one lab.
test-ovs: deps
	HASTACK_OVS_LAB=1 $(PY) -m pytest -o addopts="" -q tests/lab/test_ovs_lab.py

# The lab of examples/lab.yaml with its whole collapsed control plane deployed
# (`make lab SITE=examples/lab-core.yaml`: the same plane, only its core under Pacemaker).
SITE ?= examples/lab.yaml
lab: deps
	$(VENV)/bin/hastack lab up $(SITE)
	$(VENV)/bin/hastack deploy $(SITE)
	$(VENV)/bin/hastack lab status
	$(VENV)/bin/hastack lab access --site $(SITE)

lab-down: venv
	$(VENV)/bin/hastack lab down

unit: venv
	$(PY) -m pytest -q tests/unit tests/golden

deps: apt venv

# The real tools that read what hastack renders (crm_verify, corosync, haproxy) and the
# fence agent the lab PDU is tested against (fence_apc_snmp, with net-snmp); sshd, which the
# SSH transport's tests run on 127.0.0.1 with their own keys and config; curl and socat, with
# which the drain of a rolling restart talks to a real HAProxy in its tool test.
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>/dev/null || true
	$(PY) -m pip install -q -e '.[test]'
	touch $@

lint: venv
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

golden-update: venv
	HASTACK_GOLDEN_UPDATE=1 $(PY) -m pytest -q tests/golden

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .mypy_cache
