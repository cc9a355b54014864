diff of: ../lab/clusters/openstack/pcs.sh
@@ -34 +33,0 @@
-pcs -f hastack-cib.xml resource create memcached systemd:memcached op start interval=0s timeout=60s stop interval=0s timeout=60s monitor interval=5s timeout=100s clone interleave=true clone-max=3
@@ -36,4 +34,0 @@
-pcs -f hastack-cib.xml resource create keystone systemd:keystone op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create glance-api systemd:glance-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create cinder-api systemd:cinder-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create cinder-scheduler systemd:cinder-scheduler op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
@@ -41,3 +35,0 @@
-pcs -f hastack-cib.xml resource create swift-account systemd:swift-account op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create swift-container systemd:swift-container op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create swift-object systemd:swift-object op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
@@ -45,15 +36,0 @@
-pcs -f hastack-cib.xml resource create swift-proxy systemd:swift-proxy op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create neutron-api systemd:neutron-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create neutron-rpc systemd:neutron-rpc-server op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create neutron-linuxbridge-agent systemd:neutron-linuxbridge-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create neutron-dhcp-agent systemd:neutron-dhcp-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create neutron-l3-agent systemd:neutron-l3-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create neutron-metadata-agent systemd:neutron-metadata-agent op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create placement-api systemd:placement-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create nova-api systemd:nova-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create nova-metadata systemd:nova-api-metadata op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create nova-scheduler systemd:nova-scheduler op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create nova-conductor systemd:nova-conductor op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-min=1 clone-max=3
-pcs -f hastack-cib.xml resource create nova-novncproxy systemd:nova-novncproxy op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create heat-api systemd:heat-api op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
-pcs -f hastack-cib.xml resource create heat-api-cfn systemd:heat-api-cfn op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
@@ -61 +37,0 @@
-pcs -f hastack-cib.xml resource create horizon systemd:apache2 op start interval=0s timeout=200s stop interval=0s timeout=200s monitor interval=10s timeout=100s clone interleave=true clone-max=3
@@ -112,35 +87,0 @@
-pcs -f hastack-cib.xml constraint order start haproxy-clone then start keystone-clone kind=Optional
-pcs -f hastack-cib.xml constraint order promote galera-clone then start keystone-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start rabbitmq-clone then start keystone-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start memcached-clone then start keystone-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start keystone-clone then start glance-api-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start keystone-clone then start cinder-api-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start cinder-api-clone then start cinder-scheduler-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start cinder-scheduler-clone then start cinder-volume kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start keystone-clone then start swift-account-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start swift-account-clone then start swift-container-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start swift-container-clone then start swift-object-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start swift-proxy-clone then start swift-object-expirer kind=Optional
-pcs -f hastack-cib.xml constraint order start swift-account-clone then start swift-proxy-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start keystone-clone then start neutron-api-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start neutron-api-clone then start neutron-rpc-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start neutron-rpc-clone then start neutron-linuxbridge-agent-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start neutron-linuxbridge-agent-clone then start neutron-dhcp-agent-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start neutron-dhcp-agent-clone then start neutron-l3-agent-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start neutron-l3-agent-clone then start neutron-metadata-agent-clone kind=Optional symmetrical=false
-# neutron-dhcp-agent-clone serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
-pcs -f hastack-cib.xml constraint colocation add neutron-dhcp-agent-clone with neutron-linuxbridge-agent-clone INFINITY
-# neutron-l3-agent-clone serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
-pcs -f hastack-cib.xml constraint colocation add neutron-l3-agent-clone with neutron-linuxbridge-agent-clone INFINITY
-# neutron-metadata-agent-clone serves from namespaces whose ports the L2 agent of its node wires: on a node where the L2 agent cannot run, it would take networks and routers it cannot connect
-pcs -f hastack-cib.xml constraint colocation add neutron-metadata-agent-clone with neutron-linuxbridge-agent-clone INFINITY
-pcs -f hastack-cib.xml constraint order start keystone-clone then start placement-api-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start keystone-clone then start nova-api-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start placement-api-clone then start nova-api-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start nova-api-clone then start nova-metadata-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start nova-metadata-clone then start nova-scheduler-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start nova-scheduler-clone then start nova-conductor-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start nova-conductor-clone then start nova-novncproxy-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start keystone-clone then start heat-api-clone kind=Optional
-pcs -f hastack-cib.xml constraint order start heat-api-clone then start heat-api-cfn-clone kind=Optional symmetrical=false
-pcs -f hastack-cib.xml constraint order start heat-api-cfn-clone then start heat-engine kind=Optional symmetrical=false
@@ -152 +92,0 @@
-pcs -f hastack-cib.xml constraint order start nova-conductor-clone then start compute-nova-clone kind=Optional
@@ -158 +97,0 @@
-pcs -f hastack-cib.xml constraint order start nova-conductor-clone then start nova-evacuate kind=Optional
@@ -175 +113,0 @@
-pcs -f hastack-cib.xml constraint location memcached-clone rule resource-discovery=exclusive score=0 osprole eq controller
@@ -177,4 +114,0 @@
-pcs -f hastack-cib.xml constraint location keystone-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location glance-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location cinder-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location cinder-scheduler-clone rule resource-discovery=exclusive score=0 osprole eq controller
@@ -182,3 +115,0 @@
-pcs -f hastack-cib.xml constraint location swift-account-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location swift-container-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location swift-object-clone rule resource-discovery=exclusive score=0 osprole eq controller
@@ -186,15 +116,0 @@
-pcs -f hastack-cib.xml constraint location swift-proxy-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location neutron-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location neutron-rpc-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location neutron-linuxbridge-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location neutron-dhcp-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location neutron-l3-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location neutron-metadata-agent-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location placement-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location nova-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location nova-metadata-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location nova-scheduler-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location nova-conductor-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location nova-novncproxy-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location heat-api-clone rule resource-discovery=exclusive score=0 osprole eq controller
-pcs -f hastack-cib.xml constraint location heat-api-cfn-clone rule resource-discovery=exclusive score=0 osprole eq controller
@@ -202 +117,0 @@
-pcs -f hastack-cib.xml constraint location horizon-clone rule resource-discovery=exclusive score=0 osprole eq controller
