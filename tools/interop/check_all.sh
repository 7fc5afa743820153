#!/usr/bin/env bash
# On the accelerator machine: run torchcheck's check_pt2.py on every file of a manifest written by
# make_outputs.sh and print one line per file plus a total. Usage: check_all.sh DIR TORCHCHECK_DIR
set -u
DIR=$1 TC=$2
pass=0 fail=0
while read -r f io; do
	if out=$(cd "$DIR" && python3 "$TC/check_pt2.py" "$f" --io "$io" 2>&1); then
		pass=$((pass + 1)); echo "PASS $f: $(echo "$out" | grep -E '^ok' | tr '\n' ';')"
	else
		fail=$((fail + 1)); echo "FAIL $f: $(echo "$out" | tail -5 | tr '\n' ' ' | cut -c1-600)"
	fi
done <"$DIR/manifest.txt"
echo "$pass passed, $fail failed"
