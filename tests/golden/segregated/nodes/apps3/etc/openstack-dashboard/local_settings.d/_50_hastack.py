# Rendered by hastack.
ALLOWED_HOSTS = ['*']
SESSION_ENGINE = 'django.contrib.sessions.backends.cache'
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.memcached.PyMemcacheCache', 'LOCATION': ['10.20.0.37:11211', '10.20.0.38:11211', '10.20.0.39:11211']}}
OPENSTACK_HOST = '10.20.0.201'
OPENSTACK_KEYSTONE_URL = 'https://10.20.0.201:5000/v3'
SECRET_KEY = '{{secret:horizon-secret-key}}'
SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_SECURE = True
OPENSTACK_SSL_CACERT = '/usr/local/share/ca-certificates/hastack-segregated.crt'
