#!/bin/sh
# Cluster openstack: rendered by hastack.
set -e
pcs cluster cib hastack-cib.xml
pcs -f hastack-cib.xml property set stonith-enabled=true cluster-name=openstack no-quorum-policy=stop load-threshold=1000% node-action-limit=16 start-failure-is-fatal=false cluster-recheck-interval=1min dc-deadtime=5s
pcs -f hastack-cib.xml resource defaults update resource-stickiness=INFINITY migration-threshold=3 failure-timeout=60s
pcs -f hastack-cib.xml node attribute ctl1 osprole=controller
pcs -f hastack-cib.xml node attribute ctl2 osprole=controller
pcs -f hastack-cib.xml node attribute ctl3 osprole=controller
pcs -f hastack-cib.xml node attribute cmp1 osprole=compute
pcs -f hastack-cib.xml stonith create fence-ctl1 fence_ipmilan ip=198.18.0.111 username=admin 'password_script=cat /etc/hastack/fence/ctl1.pw' pcmk_host_list=ctl1 ipport=623 lanplus=1 power_wait=0 pcmk_reboot_retries=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-ctl1-pdu fence_apc_snmp ip=198.18.0.100 snmp_version=3 snmp_sec_level=authNoPriv snmp_auth_prot=SHA username=hastack 'password_script=cat /etc/hastack/fence/pdu-pdu1.pw' pcmk_host_map=ctl1:1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-ctl2 fence_ipmilan ip=198.18.0.112 username=admin 'password_script=cat /etc/hastack/fence/ctl2.pw' pcmk_host_list=ctl2 ipport=623 lanplus=1 power_wait=0 pcmk_reboot_retries=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-ctl2-pdu fence_apc_snmp ip=198.18.0.100 snmp_version=3 snmp_sec_level=authNoPriv snmp_auth_prot=SHA username=hastack 'password_script=cat /etc/hastack/fence/pdu-pdu1.pw' pcmk_host_map=ctl2:2 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-ctl3 fence_ipmilan ip=198.18.0.113 username=admin 'password_script=cat /etc/hastack/fence/ctl3.pw' pcmk_host_list=ctl3 ipport=623 lanplus=1 power_wait=0 pcmk_reboot_retries=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-ctl3-pdu fence_apc_snmp ip=198.18.0.100 snmp_version=3 snmp_sec_level=authNoPriv snmp_auth_prot=SHA username=hastack 'password_script=cat /etc/hastack/fence/pdu-pdu1.pw' pcmk_host_map=ctl3:3 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-cmp1 fence_ipmilan ip=198.18.0.121 username=admin 'password_script=cat /etc/hastack/fence/cmp1.pw' pcmk_host_list=cmp1 ipport=623 lanplus=1 power_wait=0 pcmk_reboot_retries=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-cmp1-pdu fence_apc_snmp ip=198.18.0.100 snmp_version=3 snmp_sec_level=authNoPriv snmp_auth_prot=SHA username=hastack 'password_script=cat /etc/hastack/fence/pdu-pdu1.pw' pcmk_host_map=cmp1:4 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml resource create haproxy systemd:haproxy op start interval=0s timeout=60s stop interval=0s timeout=60s monitor interval=5s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create vip-db ocf:heartbeat:IPaddr2 ip=198.18.0.200 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-keystone ocf:heartbeat:IPaddr2 ip=198.18.0.201 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-glance ocf:heartbeat:IPaddr2 ip=198.18.0.202 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-neutron ocf:heartbeat:IPaddr2 ip=198.18.0.205 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-placement ocf:heartbeat:IPaddr2 ip=198.18.0.206 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create vip-nova ocf:heartbeat:IPaddr2 ip=198.18.0.207 cidr_netmask=24 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=10s timeout=20s
pcs -f hastack-cib.xml resource create galera ocf:heartbeat:galera wsrep_cluster_address=gcomm://ctl1,ctl2,ctl3 enable_creation=true config=/etc/mysql/my.cnf datadir=/var/lib/mysql socket=/run/mysqld/mysqld.sock pid=/run/mysqld/mysqld.pid log=/var/log/mysql/error.log additional_parameters=--open-files-limit=16384 op start interval=0s timeout=120s stop interval=0s timeout=120s promote interval=0s timeout=300s on-fail=block demote interval=0s timeout=120s monitor interval=20s timeout=30s monitor interval=10s timeout=30s role=Promoted monitor interval=30s timeout=30s role=Unpromoted promotable promoted-max=3 interleave=true notify=true clone-max=3
pcs -f hastack-cib.xml resource create memcached systemd:memcached op start interval=0s timeout=60s stop interval=0s timeout=60s monitor interval=5s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create rabbitmq systemd:rabbitmq-server op start interval=0s timeout=180s stop interval=0s timeout=180s monitor interval=5s timeout=100s clone interleave=true failure-timeout=240s migration-threshold=INFINITY clone-max=3
pcs -f hastack-cib.xml resource create keystone systemd:keystone op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create glance-api systemd:glance-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create neutron-api systemd:neutron-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create neutron-rpc systemd:neutron-rpc-server op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create neutron-openvswitch-agent systemd:neutron-openvswitch-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create neutron-dhcp-agent systemd:neutron-dhcp-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create neutron-l3-agent systemd:neutron-l3-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create neutron-metadata-agent systemd:neutron-metadata-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create placement-api systemd:placement-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create nova-api systemd:nova-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create nova-metadata systemd:nova-api-metadata op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create nova-scheduler systemd:nova-scheduler op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create nova-conductor systemd:nova-conductor op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-min=1 clone-max=3
pcs -f hastack-cib.xml resource create nova-novncproxy systemd:nova-novncproxy op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create cmp1 ocf:pacemaker:remote server=198.18.0.21 reconnect_interval=15s op monitor interval=2s timeout=3s
pcs -f hastack-cib.xml resource create compute-neutron-agent systemd:neutron-openvswitch-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create compute-nova systemd:nova-compute op start interval=0s timeout=300s stop interval=0s timeout=300s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml stonith create fence-nova fence_hastack_evacuate record_only=1 clouds=/etc/hastack/clouds.yaml pcmk_host_list=cmp1 op monitor interval=60s timeout=30s
pcs -f hastack-cib.xml resource create nova-evacuate ocf:hastack:NovaEvacuate clouds=/etc/hastack/clouds.yaml op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=3s timeout=600s
pcs -f hastack-cib.xml alert create id=haproxy-node-lost path=/usr/local/lib/hastack/haproxy-node-lost
# pcs cannot select events: node events only (<select><select_nodes/>) is in the CIB hastack renders
pcs -f hastack-cib.xml constraint location fence-ctl1 prefers ctl1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-ctl2 prefers ctl2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-ctl3 prefers ctl3=-INFINITY
pcs -f hastack-cib.xml constraint location fence-ctl1-pdu prefers ctl1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-ctl2-pdu prefers ctl2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-ctl3-pdu prefers ctl3=-INFINITY
pcs -f hastack-cib.xml stonith level add 1 ctl1 fence-ctl1
pcs -f hastack-cib.xml stonith level add 2 ctl1 fence-ctl1-pdu
pcs -f hastack-cib.xml stonith level add 1 ctl2 fence-ctl2
pcs -f hastack-cib.xml stonith level add 2 ctl2 fence-ctl2-pdu
pcs -f hastack-cib.xml stonith level add 1 ctl3 fence-ctl3
pcs -f hastack-cib.xml stonith level add 2 ctl3 fence-ctl3-pdu
pcs -f hastack-cib.xml constraint order start vip-db then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-db with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-keystone then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-keystone with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-glance then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-glance with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-neutron then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-neutron with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-placement then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-placement with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start vip-nova then start haproxy-clone kind=Optional
# clients reach the service on the VIP's node through HAProxy: a VIP where HAProxy does not run is a dead address
pcs -f hastack-cib.xml constraint colocation add vip-nova with haproxy-clone INFINITY
pcs -f hastack-cib.xml constraint order start haproxy-clone then start keystone-clone kind=Optional
pcs -f hastack-cib.xml constraint order promote galera-clone then start keystone-clone kind=Optional
pcs -f hastack-cib.xml constraint order start rabbitmq-clone then start keystone-clone kind=Optional
pcs -f hastack-cib.xml constraint order start memcached-clone then start keystone-clone kind=Optional
pcs -f hastack-cib.xml constraint order start keystone-clone then start glance-api-clone kind=Optional
pcs -f hastack-cib.xml constraint order start keystone-clone then start neutron-api-clone kind=Optional
pcs -f hastack-cib.xml constraint order start neutron-api-clone then start neutron-rpc-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start neutron-rpc-clone then start neutron-openvswitch-agent-clone kind=Optional
pcs -f hastack-cib.xml constraint order start neutron-openvswitch-agent-clone then start neutron-dhcp-agent-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start neutron-dhcp-agent-clone then start neutron-l3-agent-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start neutron-l3-agent-clone then start neutron-metadata-agent-clone kind=Optional symmetrical=false
# neutron-dhcp-agent-clone serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
pcs -f hastack-cib.xml constraint colocation add neutron-dhcp-agent-clone with neutron-openvswitch-agent-clone INFINITY
# neutron-l3-agent-clone serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
pcs -f hastack-cib.xml constraint colocation add neutron-l3-agent-clone with neutron-openvswitch-agent-clone INFINITY
# neutron-metadata-agent-clone serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
pcs -f hastack-cib.xml constraint colocation add neutron-metadata-agent-clone with neutron-openvswitch-agent-clone INFINITY
pcs -f hastack-cib.xml constraint order start keystone-clone then start placement-api-clone kind=Optional
pcs -f hastack-cib.xml constraint order start keystone-clone then start nova-api-clone kind=Optional
pcs -f hastack-cib.xml constraint order start placement-api-clone then start nova-api-clone kind=Optional
pcs -f hastack-cib.xml constraint order start nova-api-clone then start nova-metadata-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start nova-metadata-clone then start nova-scheduler-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start nova-scheduler-clone then start nova-conductor-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start nova-conductor-clone then start nova-novncproxy-clone kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint location compute-neutron-agent-clone rule resource-discovery=exclusive score=0 osprole eq compute
pcs -f hastack-cib.xml constraint location compute-nova-clone rule resource-discovery=exclusive score=0 osprole eq compute
pcs -f hastack-cib.xml constraint order start compute-neutron-agent-clone then start compute-nova-clone kind=Optional symmetrical=false
# nova-compute plugs instances' ports into what the L2 agent of its node wires: where the L2 agent cannot run, nova-compute must stop so that no instance is scheduled there
pcs -f hastack-cib.xml constraint colocation add compute-nova-clone with compute-neutron-agent-clone INFINITY
pcs -f hastack-cib.xml constraint order start nova-conductor-clone then start compute-nova-clone kind=Optional
pcs -f hastack-cib.xml constraint order start vip-keystone then start nova-evacuate kind=Optional
pcs -f hastack-cib.xml constraint order start vip-nova then start nova-evacuate kind=Optional
pcs -f hastack-cib.xml constraint order start vip-neutron then start nova-evacuate kind=Optional
pcs -f hastack-cib.xml constraint order start vip-glance then start nova-evacuate kind=Optional
pcs -f hastack-cib.xml constraint order start vip-db then start nova-evacuate kind=Optional
pcs -f hastack-cib.xml constraint order start nova-conductor-clone then start nova-evacuate kind=Optional
pcs -f hastack-cib.xml stonith level add 1 cmp1 fence-cmp1,fence-nova
pcs -f hastack-cib.xml stonith level add 2 cmp1 fence-cmp1-pdu,fence-nova
pcs -f hastack-cib.xml constraint location haproxy-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location vip-db rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location vip-keystone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location vip-glance rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location vip-neutron rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location vip-placement rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location vip-nova rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location galera-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location memcached-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location rabbitmq-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location keystone-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location glance-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-rpc-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-openvswitch-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-dhcp-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-l3-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-metadata-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location placement-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-metadata-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-scheduler-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-conductor-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-novncproxy-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-evacuate rule resource-discovery=exclusive score=0 osprole eq controller
pcs cluster cib-push hastack-cib.xml --config
