# units UNIT... (unit_states.py): "UNIT ENABLED ACTIVE" for each unit, 1 or 0 each.
for u in "$@"; do
    e=0; a=0
    systemctl is-enabled --quiet "$u" && e=1
    systemctl is-active --quiet "$u" && a=1
    echo "$u $e $a"
done
