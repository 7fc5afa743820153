#!/usr/bin/env bash
# On the accelerator machine: run torchcheck's check_pt2.py on every file of a manifest written by
# make_outputs.sh and print one line per file plus a total. Usage: check_all.sh DIR TORCHCHECK_DIR
# JOBS=N runs N checks at once (default 1); the first check runs alone so that the stand-in
# extension is compiled once.
set -u
DIR=$1 TC=$2 JOBS=${JOBS:-1}
check() { # file io
	if out=$(cd "$DIR" && python3 "$TC/check_pt2.py" "$1" --io "$2" 2>&1); then
		echo "PASS $1: $(echo "$out" | grep -E '^ok' | tr '\n' ';')"
	else
		echo "FAIL $1: $(echo "$out" | tail -5 | tr '\n' ' ' | cut -c1-600)"
	fi
}
export -f check
export DIR TC
{
	head -1 "$DIR/manifest.txt" | while read -r f io; do check "$f" "$io"; done
	tail -n +2 "$DIR/manifest.txt" | xargs -P "$JOBS" -L 1 bash -c 'check "$0" "$1"'
} | tee "$DIR/results.txt"
echo "$(grep -c '^PASS' "$DIR/results.txt") passed, $(grep -c '^FAIL' "$DIR/results.txt") failed"
