# hastack-stat PATH... (deploy/files.py): "SHA256 OWNER:GROUP:MODE PATH" for each path that
# exists, "- - PATH" for one that does not.
for p in "$@"; do
    if [ -e "$p" ]; then
        h=$(sha256sum "$p" | cut -d" " -f1)
        s=$(stat -c "%U:%G:%a" "$p")
        echo "$h $s $p"
    else
        echo "- - $p"
    fi
done
