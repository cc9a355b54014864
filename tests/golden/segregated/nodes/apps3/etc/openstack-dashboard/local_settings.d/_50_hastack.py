# Rendered by hastack.
ALLOWED_HOSTS = ['*']
SESSION_ENGINE = 'django.contrib.sessions.backends.cache'
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.memcached.PyMemcacheCache', 'LOCATION': ['10.20.0.37:11211', '10.20.0.38:11211', '10.20.0.39:11211']}}
OPENSTACK_HOST = '10.20.0.201'
OPENSTACK_KEYSTONE_URL = 'http://10.20.0.201:5000/v3'
SECRET_KEY = '{{secret:horizon-secret-key}}'
