#!/bin/sh
# hastack (catalog/loadbalancer.py): Pacemaker alert agent for node events.
[ "$CRM_alert_kind" = node ] && [ "$CRM_alert_desc" = lost ] || exit 0
[ -n "$CRM_alert_node" ] && [ "$CRM_alert_node" != "$(uname -n)" ] || exit 0
socket=/run/haproxy/admin.sock
[ -S "$socket" ] || exit 0
commands=$(echo "show stat" | socat stdio "$socket" | awk -F, -v node="$CRM_alert_node" \
    '$2 == node { printf "set server %s/%s health down;", $1, $2 }')
[ -n "$commands" ] && echo "$commands" | socat stdio "$socket" >/dev/null
exit 0
