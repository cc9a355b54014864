# renice UNIT... (deploy/apply.py): for each unit named, the Nice= of its priority drop-in,
# applied to every thread of its cgroup (cgroup v2, or the named hierarchies of a v1 host
# such as the lab's): Linux keeps a nice value per thread, and renice -p sets one thread's.
# A unit takes Nice= when it starts; running processes get it this way.
for u in "$@"; do
    n=$(sed -n "s/^Nice=//p" /etc/systemd/system/$u.service.d/@PRIORITY_DROPIN@)
    cg=$(systemctl show -P ControlGroup $u.service)
    [ -n "$n" ] && [ -n "$cg" ] || continue
    for f in /sys/fs/cgroup$cg /sys/fs/cgroup/unified$cg /sys/fs/cgroup/systemd$cg; do
        for threads in $f/cgroup.threads $f/tasks; do
            if [ -r $threads ]; then
                renice -n "$n" -p $(cat $threads) >/dev/null 2>&1
                break 2
            fi
        done
    done
done
true
