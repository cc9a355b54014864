# hastack-put PATH OWNER GROUP MODE SIZE (transport/shell.py): stdin becomes the file PATH.
# Written to a temp file beside the target, given its owner and mode, then renamed: a reader
# never sees a half-written file, and the file never exists with a wider mode. The file lands
# only when every byte arrived: a stream can end early (a lost connection, a channel closed
# at a timeout) and cat takes that for the end of the file; the temp file never stays.
set -e
p="$1"; o="$2"; g="$3"; m="$4"; n="$5"
d=$(dirname "$p")
mkdir -p "$d"
t=$(mktemp "$d/.hastack.XXXXXX")
trap 'rm -f "$t"' EXIT
trap 'exit 143' TERM HUP
# Reporting a short stream on stderr after the connection died is a write to a closed pipe:
# SIGPIPE would end the shell before its EXIT trap (a temp file left on the node).
trap 'exit 141' PIPE
chmod "$m" "$t"
cat > "$t"
s=$(wc -c < "$t")
[ "$s" -eq "$n" ] || { echo "only $s of $n bytes arrived" >&2; exit 1; }
chown "$o:$g" "$t"
mv -f "$t" "$p"
