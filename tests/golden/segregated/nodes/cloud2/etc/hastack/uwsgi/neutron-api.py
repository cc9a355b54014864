same as: nodes/cloud1/etc/hastack/uwsgi/neutron-api.py
