#!/bin/sh
# Cluster core: rendered by hastack.
set -e
pcs cluster cib hastack-cib.xml
pcs -f hastack-cib.xml property set stonith-enabled=true cluster-name=core no-quorum-policy=stop load-threshold=1000% node-action-limit=16 start-failure-is-fatal=false cluster-recheck-interval=1min dc-deadtime=13s
pcs -f hastack-cib.xml resource defaults update resource-stickiness=INFINITY migration-threshold=3 failure-timeout=60s
pcs -f hastack-cib.xml stonith create fence-core1 fence_ipmilan ip=10.21.0.31 username=admin 'password_script=cat /etc/hastack/fence/core1.pw' pcmk_host_list=core1 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-core2 fence_ipmilan ip=10.21.0.32 username=admin 'password_script=cat /etc/hastack/fence/core2.pw' pcmk_host_list=core2 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-core3 fence_ipmilan ip=10.21.0.33 username=admin 'password_script=cat /etc/hastack/fence/core3.pw' pcmk_host_list=core3 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml resource create haproxy systemd:haproxy op start interval=0s timeout=60s stop interval=0s timeout=60s monitor interval=5s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create vip-db ocf:heartbeat:IPaddr2 ip=10.20.0.200 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-keystone ocf:heartbeat:IPaddr2 ip=10.20.0.201 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-glance ocf:heartbeat:IPaddr2 ip=10.20.0.202 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-cinder ocf:heartbeat:IPaddr2 ip=10.20.0.203 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-neutron ocf:heartbeat:IPaddr2 ip=10.20.0.205 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-placement ocf:heartbeat:IPaddr2 ip=10.20.0.206 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-nova ocf:heartbeat:IPaddr2 ip=10.20.0.207 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-heat ocf:heartbeat:IPaddr2 ip=10.20.0.208 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-horizon ocf:heartbeat:IPaddr2 ip=10.20.0.209 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create galera ocf:heartbeat:galera wsrep_cluster_address=gcomm://core1,core2,core3 enable_creation=true config=/etc/mysql/my.cnf datadir=/var/lib/mysql socket=/run/mysqld/mysqld.sock pid=/run/mysqld/mysqld.pid log=/var/log/mysql/error.log additional_parameters=--open-files-limit=16384 op start interval=0s timeout=120s stop interval=0s timeout=120s promote interval=0s timeout=300s on-fail=block demote interval=0s timeout=120s monitor interval=20s timeout=30s monitor interval=10s timeout=30s role=Promoted monitor interval=30s timeout=30s role=Unpromoted promotable promoted-max=3 interleave=true notify=true
pcs -f hastack-cib.xml resource create memcached systemd:memcached op start interval=0s timeout=60s stop interval=0s timeout=60s monitor interval=5s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create rabbitmq systemd:rabbitmq-server op start interval=0s timeout=180s stop interval=0s timeout=180s monitor interval=5s timeout=100s clone interleave=true failure-timeout=240s migration-threshold=INFINITY
pcs -f hastack-cib.xml alert create id=haproxy-node-lost path=/usr/local/lib/hastack/haproxy-node-lost
# pcs cannot select events: node events only (<select><select_nodes/>) is in the CIB hastack renders
pcs -f hastack-cib.xml constraint location fence-core1 prefers core1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-core2 prefers core2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-core3 prefers core3=-INFINITY
pcs -f hastack-cib.xml constraint order start vip-db then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-db with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-keystone then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-keystone with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-glance then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-glance with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-cinder then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-cinder with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-neutron then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-neutron with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-placement then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-placement with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-nova then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-nova with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-heat then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-heat with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-horizon then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-horizon with haproxy-clone INFINITY
pcs cluster cib-push hastack-cib.xml --config
