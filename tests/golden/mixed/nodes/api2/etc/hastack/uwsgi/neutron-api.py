same as: nodes/api1/etc/hastack/uwsgi/neutron-api.py
