same as: nodes/ctl1/etc/hastack/uwsgi/neutron-api.py
