#!/bin/sh
# Cluster identity: rendered by hastack.
set -e
pcs cluster cib hastack-cib.xml
pcs -f hastack-cib.xml property set stonith-enabled=true cluster-name=identity no-quorum-policy=stop load-threshold=1000% node-action-limit=16 start-failure-is-fatal=false cluster-recheck-interval=1min dc-deadtime=13s
pcs -f hastack-cib.xml resource defaults update resource-stickiness=INFINITY migration-threshold=3 failure-timeout=60s
pcs -f hastack-cib.xml stonith create fence-identity1 fence_ipmilan ip=10.21.0.40 username=admin 'password_script=cat /etc/hastack/fence/identity1.pw' pcmk_host_list=identity1 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-identity2 fence_ipmilan ip=10.21.0.41 username=admin 'password_script=cat /etc/hastack/fence/identity2.pw' pcmk_host_list=identity2 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-identity3 fence_ipmilan ip=10.21.0.42 username=admin 'password_script=cat /etc/hastack/fence/identity3.pw' pcmk_host_list=identity3 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml resource create keystone systemd:keystone op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create glance-api systemd:glance-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create placement-api systemd:placement-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml constraint location fence-identity1 prefers identity1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-identity2 prefers identity2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-identity3 prefers identity3=-INFINITY
pcs -f hastack-cib.xml constraint order start keystone-clone then start glance-api-clone kind=Optional
pcs -f hastack-cib.xml constraint order start keystone-clone then start placement-api-clone kind=Optional
pcs cluster cib-push hastack-cib.xml --config
