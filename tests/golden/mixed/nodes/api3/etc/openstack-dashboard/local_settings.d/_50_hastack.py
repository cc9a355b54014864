same as: nodes/api1/etc/openstack-dashboard/local_settings.d/_50_hastack.py
