#!/bin/sh
# RabbitMQ's members that the site no longer lists, forgotten by the running ones (their
# brokers are stopped: the deploy refuses to remove a controller that still runs).
# Usage: sh -c SCRIPT forget MODE rabbit@a rabbit@b ... (the members the site lists)
#   MODE gone:   exit 0 when RabbitMQ knows no other member (the done-probe)
#   MODE forget: rabbitmqctl forget_cluster_node for each other one
set -eu
mode=$1
shift
listed=" $* "
members=$(rabbitmqctl -q cluster_status --formatter json |
    python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["disk_nodes"]))')
others=""
for member in $members; do
    case "$listed" in
        *" $member "*) ;;
        *) others="$others $member" ;;
    esac
done
if [ "$mode" = gone ]; then
    [ -z "$others" ]
    exit
fi
for member in $others; do
    rabbitmqctl forget_cluster_node "$member"
done
