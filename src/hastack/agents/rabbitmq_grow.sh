#!/bin/sh
# Every quorum queue given a replica on each listed member whose broker runs: RabbitMQ never
# adds a member that joined after a queue was declared, so a replaced controller would leave
# every queue one replica short (two of three: the next loss stops it).
# Usage: sh -c SCRIPT grow MODE rabbit@a rabbit@b ... (the members the site lists)
#   MODE check: exit 0 when no quorum queue lacks a running listed member (the done-probe)
#   MODE grow:  rabbitmq-queues grow for each running listed member some queue lacks
set -eu
mode=$1
shift
running=$(rabbitmqctl -q cluster_status --formatter json |
    python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["running_nodes"]))')
lacking=$(rabbitmqctl -q list_queues -p / --formatter json name type members |
    python3 -c '
import json, sys
wanted = set(sys.argv[1].split()) & set(sys.argv[2:])
missing = set()
for queue in json.load(sys.stdin):
    if queue.get("type") == "quorum":
        missing |= wanted - set(queue.get("members") or [])
print(" ".join(sorted(missing)))' "$running" "$@")
if [ "$mode" = check ]; then
    [ -z "$lacking" ]
    exit
fi
for member in $lacking; do
    rabbitmq-queues grow "$member" all
done
