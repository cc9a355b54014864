#!/bin/sh
# Cluster mq: rendered by hastack.
set -e
pcs cluster cib hastack-cib.xml
pcs -f hastack-cib.xml property set stonith-enabled=true cluster-name=mq no-quorum-policy=stop load-threshold=1000% node-action-limit=16 start-failure-is-fatal=false cluster-recheck-interval=1min dc-deadtime=13s
pcs -f hastack-cib.xml resource defaults update resource-stickiness=INFINITY migration-threshold=3 failure-timeout=60s
pcs -f hastack-cib.xml stonith create fence-mq1 fence_ipmilan ip=10.21.0.37 username=admin 'password_script=cat /etc/hastack/fence/mq1.pw' pcmk_host_list=mq1 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-mq2 fence_ipmilan ip=10.21.0.38 username=admin 'password_script=cat /etc/hastack/fence/mq2.pw' pcmk_host_list=mq2 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-mq3 fence_ipmilan ip=10.21.0.39 username=admin 'password_script=cat /etc/hastack/fence/mq3.pw' pcmk_host_list=mq3 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml resource create memcached systemd:memcached op start interval=0s timeout=60s stop interval=0s timeout=60s monitor interval=5s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create rabbitmq systemd:rabbitmq-server op start interval=0s timeout=180s stop interval=0s timeout=180s monitor interval=5s timeout=100s clone interleave=true failure-timeout=240s migration-threshold=INFINITY
pcs -f hastack-cib.xml constraint location fence-mq1 prefers mq1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-mq2 prefers mq2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-mq3 prefers mq3=-INFINITY
pcs cluster cib-push hastack-cib.xml --config
