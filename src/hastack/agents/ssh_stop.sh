# hastack-stop TARGET (transport/ssh.py): stops what hastack-run reported (a process group
# "-PGID", or a PID). TERM first, so the command can clean up; KILL whatever is left after 5 s.
t="$1"
kill -s TERM -- "$t" 2>/dev/null || exit 0
i=0
while kill -s 0 -- "$t" 2>/dev/null && [ "$i" -lt 50 ]; do
    sleep 0.1
    i=$((i+1))
done
kill -s KILL -- "$t" 2>/dev/null
exit 0
