#!/usr/bin/env bash
# compare_outputs.sh OLD_PT2C NEW_PT2C [SHARED] -- every fixture export (normal and cross),
# convert and resolve-cross, written by both binaries, must be byte-identical. Exit 1 on a difference.
set -u
old=$1 new=$2 shared=${3:-$(dirname "$0")/../../shared}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
run() { # name args...
	local name=$1; shift
	# the same file name in two folders: the archive's root folder is named after it
	mkdir -p "$tmp/old" "$tmp/new"
	"$old" "$@" -o "$tmp/old/out.pt2" -q >/dev/null 2>&1; local ro=$?
	"$new" "$@" -o "$tmp/new/out.pt2" -q >/dev/null 2>&1; local rn=$?
	n=$((n + 1))
	if [ $ro != $rn ] || { [ $ro = 0 ] && ! cmp -s "$tmp/old/out.pt2" "$tmp/new/out.pt2"; }; then
		echo "DIFFERS: $name (exit $ro vs $rn)"; bad=$((bad + 1))
	fi
	rm -f "$tmp/old/out.pt2" "$tmp/new/out.pt2"
}
for f in "$shared"/fixtures/torch-2.11/*.partitioned.json "$shared"/fixtures/partitioned/*; do
	[ -f "$f" ] || continue
	run "export $(basename "$f")" export "$f"
	run "export --cross-compile $(basename "$f")" export "$f" --cross-compile
done
for f in "$shared"/fixtures/*/*.pt2; do
	run "convert $(basename "$f")" convert "$f"
	run "resolve-cross $(basename "$f")" resolve-cross "$f"
done
echo "$n outputs compared, $bad differ"
[ $bad = 0 ]
