# hastack-run COMMAND... (transport/ssh.py): every command over SSH starts under this, which
# prints what a timeout must kill and execs the command. sshd makes each session's command the
# leader of a new process group (setsid), so killing that group stops the command with all its
# children; a shell that forked first is made one by setsid(1) (which does not fork a
# non-leader, so the PID stays).
read -r _ _ _ _ g _ </proc/$$/stat 2>/dev/null
if [ "$g" = "$$" ]; then echo "hastack-run -$$"; exec "$@"; fi
if command -v setsid >/dev/null; then echo "hastack-run -$$"; exec setsid "$@"; fi
echo "hastack-run $$"
exec "$@"
