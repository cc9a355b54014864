# discover COMPUTE... (catalog/compute.py): map the computes named into cell1 (the action's
# done-check asks the database: agents/nova_api_db.py). A compute maps only once its
# nova-compute has registered, which follows its start by a few seconds: discover again
# until all are mapped (for @DISCOVER_WAIT@ s), then say who is missing.
mapped() {
    listed=$(runuser -u nova -- nova-manage cell_v2 list_hosts) || return 1
    for h in "$@"; do echo "$listed" | grep -qw -- "$h" || return 1; done
}
end=$(($(date +%s) + @DISCOVER_WAIT@))
while [ $(date +%s) -lt $end ]; do
    runuser -u nova -- nova-manage cell_v2 discover_hosts >/dev/null || exit 1
    mapped "$@" && exit 0
    sleep 2
done
echo "computes not registered with nova within @DISCOVER_WAIT@ s (see nova-compute's log): $*" >&2
exit 1
