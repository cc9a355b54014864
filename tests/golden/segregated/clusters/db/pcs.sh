#!/bin/sh
# Cluster db: rendered by hastack.
set -e
pcs cluster cib hastack-cib.xml
pcs -f hastack-cib.xml property set stonith-enabled=true cluster-name=db no-quorum-policy=stop load-threshold=1000% node-action-limit=16 start-failure-is-fatal=false cluster-recheck-interval=1min dc-deadtime=13s
pcs -f hastack-cib.xml resource defaults update resource-stickiness=INFINITY migration-threshold=3 failure-timeout=60s
pcs -f hastack-cib.xml stonith create fence-db1 fence_ipmilan ip=10.21.0.34 username=admin 'password_script=cat /etc/hastack/fence/db1.pw' pcmk_host_list=db1 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-db2 fence_ipmilan ip=10.21.0.35 username=admin 'password_script=cat /etc/hastack/fence/db2.pw' pcmk_host_list=db2 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-db3 fence_ipmilan ip=10.21.0.36 username=admin 'password_script=cat /etc/hastack/fence/db3.pw' pcmk_host_list=db3 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml resource create galera ocf:heartbeat:galera wsrep_cluster_address=gcomm://db1,db2,db3 enable_creation=true config=/etc/mysql/my.cnf datadir=/var/lib/mysql socket=/run/mysqld/mysqld.sock pid=/run/mysqld/mysqld.pid log=/var/log/mysql/error.log additional_parameters=--open-files-limit=16384 op start interval=0s timeout=120s stop interval=0s timeout=120s promote interval=0s timeout=300s on-fail=block demote interval=0s timeout=120s monitor interval=20s timeout=30s monitor interval=10s timeout=30s role=Promoted monitor interval=30s timeout=30s role=Unpromoted promotable promoted-max=3 interleave=true notify=true
pcs -f hastack-cib.xml constraint location fence-db1 prefers db1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-db2 prefers db2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-db3 prefers db3=-INFINITY
pcs cluster cib-push hastack-cib.xml --config
