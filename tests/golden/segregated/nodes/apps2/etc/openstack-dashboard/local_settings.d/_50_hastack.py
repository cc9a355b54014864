same as: nodes/apps1/etc/openstack-dashboard/local_settings.d/_50_hastack.py
