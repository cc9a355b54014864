#!/bin/sh
# Cluster cloud: rendered by hastack.
set -e
pcs cluster cib hastack-cib.xml
pcs -f hastack-cib.xml property set stonith-enabled=true cluster-name=cloud no-quorum-policy=stop load-threshold=1000% node-action-limit=16 start-failure-is-fatal=false cluster-recheck-interval=1min dc-deadtime=13s
pcs -f hastack-cib.xml resource defaults update resource-stickiness=INFINITY migration-threshold=3 failure-timeout=60s
pcs -f hastack-cib.xml node attribute cloud1 osprole=controller
pcs -f hastack-cib.xml node attribute cloud2 osprole=controller
pcs -f hastack-cib.xml node attribute cloud3 osprole=controller
pcs -f hastack-cib.xml node attribute cmp1 osprole=compute
pcs -f hastack-cib.xml node attribute cmp2 osprole=compute
pcs -f hastack-cib.xml stonith create fence-cloud1 fence_ipmilan ip=10.21.0.43 username=admin 'password_script=cat /etc/hastack/fence/cloud1.pw' pcmk_host_list=cloud1 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-cloud2 fence_ipmilan ip=10.21.0.44 username=admin 'password_script=cat /etc/hastack/fence/cloud2.pw' pcmk_host_list=cloud2 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-cloud3 fence_ipmilan ip=10.21.0.45 username=admin 'password_script=cat /etc/hastack/fence/cloud3.pw' pcmk_host_list=cloud3 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-cmp1 fence_ipmilan ip=10.21.0.21 username=admin 'password_script=cat /etc/hastack/fence/cmp1.pw' pcmk_host_list=cmp1 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml stonith create fence-cmp2 fence_ipmilan ip=10.21.0.22 username=admin 'password_script=cat /etc/hastack/fence/cmp2.pw' pcmk_host_list=cmp2 ipport=623 lanplus=1 op monitor interval=60s timeout=30s meta failure-timeout=120s
pcs -f hastack-cib.xml resource create neutron-api systemd:neutron-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create neutron-rpc systemd:neutron-rpc-server op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create neutron-openvswitch-agent systemd:neutron-openvswitch-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create neutron-dhcp-agent systemd:neutron-dhcp-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create neutron-l3-agent systemd:neutron-l3-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create neutron-metadata-agent systemd:neutron-metadata-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s
pcs -f hastack-cib.xml resource create nova-api systemd:nova-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create nova-metadata systemd:nova-api-metadata op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create nova-scheduler systemd:nova-scheduler op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create nova-conductor systemd:nova-conductor op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-min=1 clone-max=3
pcs -f hastack-cib.xml resource create nova-novncproxy systemd:nova-novncproxy op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
pcs -f hastack-cib.xml resource create cmp1 ocf:pacemaker:remote server=10.20.0.21 reconnect_interval=15s op monitor interval=2s timeout=3s
pcs -f hastack-cib.xml resource create cmp2 ocf:pacemaker:remote server=10.20.0.22 reconnect_interval=15s op monitor interval=2s timeout=3s
pcs -f hastack-cib.xml resource create compute-neutron-agent systemd:neutron-openvswitch-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml resource create compute-nova systemd:nova-compute op start interval=0s timeout=300s stop interval=0s timeout=300s monitor interval=10s timeout=100s clone interleave=true
pcs -f hastack-cib.xml stonith create fence-nova fence_hastack_evacuate record_only=1 clouds=/etc/hastack/clouds.yaml pcmk_host_list=cmp1,cmp2 op monitor interval=60s timeout=30s
pcs -f hastack-cib.xml resource create nova-evacuate ocf:hastack:NovaEvacuate clouds=/etc/hastack/clouds.yaml op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=3s timeout=600s
pcs -f hastack-cib.xml constraint location fence-cloud1 prefers cloud1=-INFINITY
pcs -f hastack-cib.xml constraint location fence-cloud2 prefers cloud2=-INFINITY
pcs -f hastack-cib.xml constraint location fence-cloud3 prefers cloud3=-INFINITY
pcs -f hastack-cib.xml constraint order start neutron-api then start neutron-rpc kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start neutron-rpc then start neutron-openvswitch-agent kind=Optional
pcs -f hastack-cib.xml constraint order start neutron-openvswitch-agent then start neutron-dhcp-agent kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start neutron-dhcp-agent then start neutron-l3-agent kind=Optional symmetrical=false
pcs -f hastack-cib.xml constraint order start neutron-l3-agent then start neutron-metadata-agent kind=Optional symmetrical=false
# neutron-dhcp-agent serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
pcs -f hastack-cib.xml constraint colocation add neutron-dhcp-agent with neutron-openvswitch-agent INFINITY
# neutron-l3-agent serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
pcs -f hastack-cib.xml constraint colocation add neutron-l3-agent with neutron-openvswitch-agent INFINITY
# neutron-metadata-agent serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
pcs -f hastack-cib.xml constraint colocation add neutron-metadata-agent with neutron-openvswitch-agent INFINITY
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
pcs -f hastack-cib.xml constraint order start nova-conductor-clone then start nova-evacuate kind=Optional
pcs -f hastack-cib.xml stonith level add 1 cmp1 fence-cmp1,fence-nova
pcs -f hastack-cib.xml stonith level add 1 cmp2 fence-cmp2,fence-nova
pcs -f hastack-cib.xml constraint location neutron-api rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-rpc rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-openvswitch-agent rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-dhcp-agent rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-l3-agent rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location neutron-metadata-agent rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-metadata-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-scheduler-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-conductor-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-novncproxy-clone rule resource-discovery=exclusive score=0 osprole eq controller
pcs -f hastack-cib.xml constraint location nova-evacuate rule resource-discovery=exclusive score=0 osprole eq controller
pcs cluster cib-push hastack-cib.xml --config
