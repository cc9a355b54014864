#!/bin/sh
# Cluster apps: rendered by hastack.
set -e
pcs cluster cib hastack-cib.xml
pcs -f hastack-cib.xml property set stonith-enabled=true cluster-name=apps no-quorum-policy=stop load-threshold=1000% node-action-limit=16 start-failure-is-fatal=false cluster-recheck-interval=1min dc-deadtime=13s
pcs -f hastack-cib.xml resource defaults update resource-stickiness=INFINITY migration-threshold=3 failure-timeout=60s
pcs -f hastack-cib.xml stonith create fence-apps1 fence_ipmilan ip=10.21.0.46 username=admin 'password_script=cat /etc/hastack/fence/apps1.pw' pcmk_host_list=apps1 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-apps2 fence_ipmilan ip=10.21.0.47 username=admin 'password_script=cat /etc/hastack/fence/apps2.pw' pcmk_host_list=apps2 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-apps3 fence_ipmilan ip=10.21.0.48 username=admin 'password_script=cat /etc/hastack/fence/apps3.pw' pcmk_host_list=apps3 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml resource create cinder-api systemd:cinder-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create cinder-scheduler systemd:cinder-scheduler op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create cinder-volume systemd:cinder-volume op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create heat-api systemd:heat-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create heat-api-cfn systemd:heat-api-cfn op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create heat-engine systemd:heat-engine op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create horizon systemd:apache2 op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml constraint location fence-apps1 prefers apps1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-apps2 prefers apps2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-apps3 prefers apps3=-INFINITY
pcs -f hastack-cib.xml constraint order start cinder-api-clone then start cinder-scheduler-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start cinder-scheduler-clone then start cinder-volume kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start heat-api-clone then start heat-api-cfn-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start heat-api-cfn-clone then start heat-engine kind=Optional symmetrical=false
pcs cluster cib-push hastack-cib.xml --config
