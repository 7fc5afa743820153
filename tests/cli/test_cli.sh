#!/usr/bin/env bash
# End-to-end tests of the pt2c command on the fixtures: every subcommand, bad arguments, bad
# files (clear message, nonzero exit, no partial output left behind).
set -u
BIN=${PT2C_BIN:?}
SHARED=${PT2C_SHARED:?}
FIX=$SHARED/fixtures/torch-2.11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# expect CODE NAME CMD...: run CMD, check its exit status
expect() {
	local code=$1 name=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; local rc=$?
	if [ "$rc" -eq "$code" ]; then ok "$name"; else bad "$name (exit $rc, wanted $code): $(head -c 400 "$T/err")"; fi
}
# no_tmp DIR NAME: no temporary or partial files left in DIR
no_tmp() { if ls "$1" | grep -q '\.tmp\.'; then bad "$2 left a temp file"; else ok "$2 leaves no temp file"; fi; }

expect 0 version "$BIN" --version
grep -q '^pt2c [0-9]' "$T/out" && ok version-text || bad version-text
expect 0 help "$BIN" --help
expect 2 no-args "$BIN"
expect 2 unknown-command "$BIN" frobnicate
for c in export inspect verify resolve-cross engines convert; do
	expect 0 "$c-help" "$BIN" "$c" --help
	grep -q "usage: pt2c $c" "$T/out" && ok "$c-help-text" || bad "$c-help-text"
	expect 2 "$c-bad-option" "$BIN" "$c" --no-such-option x
done
expect 2 export-missing-output "$BIN" export "$FIX/no_engine.partitioned.json"

# every fixture archive: inspect, verify, convert, engines
for f in "$FIX"/*.pt2; do
	n=$(basename "$f" .pt2)
	expect 0 "inspect-$n" "$BIN" inspect "$f"
	grep -q "inputs:" "$T/out" && ok "inspect-$n-text" || bad "inspect-$n-text"
	expect 0 "inspect-json-$n" "$BIN" inspect --json "$f"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" && ok "inspect-json-$n-valid" || bad "inspect-json-$n-valid"
	expect 0 "inspect-graph-$n" "$BIN" inspect --graph "$f"
	grep -q "Graph signature" "$T/out" && ok "inspect-graph-$n-text" || bad "inspect-graph-$n-text"
	expect 0 "inspect-members-$n" "$BIN" inspect --members "$f"
	[ "$(wc -l <"$T/out")" -eq "$(python3 -c 'import sys,zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))' "$f")" ] && grep -q "models/model.json$" "$T/out" && ok "inspect-members-$n-count" || bad "inspect-members-$n-count"
	expect 0 "verify-$n" "$BIN" verify "$f"
	expect 0 "convert-$n" "$BIN" convert "$f" -o "$T/$n.conv.pt2"
	expect 0 "verify-converted-$n" "$BIN" verify "$T/$n.conv.pt2"
done
no_tmp "$T" convert

# engines of normal and cross-compiled fixtures
expect 0 engines-list "$BIN" engines "$FIX/hybrid_gated_fallback.normal.pt2"
[ "$(wc -l <"$T/out")" -eq 2 ] && ok engines-list-count || bad "engines-list-count: $(cat "$T/out")"
expect 0 engines-extract "$BIN" engines "$FIX/hybrid_gated_fallback.normal.pt2" -d "$T/eng"
[ -s "$T/eng/_run_on_acc_0_engine.engine" ] && [ -s "$T/eng/_run_on_acc_0_engine.json" ] && ok engines-files || bad engines-files
# the stand-in engine bytes are a TorchScript zip archive
head -c 2 "$T/eng/_run_on_acc_0_engine.engine" | grep -q PK && ok engines-bytes-zip || bad engines-bytes-zip
expect 0 engines-cross "$BIN" engines "$FIX/hybrid_gated_fallback.cross.pt2" -d "$T/engx"
cmp -s "$T/eng/_run_on_acc_0_engine.engine" "$T/engx/_run_on_acc_0_engine.engine" && ok engines-cross-same-bytes || bad engines-cross-same-bytes

# resolve-cross: cross fixture -> program with engine objects; normal program unchanged
expect 0 resolve-cross "$BIN" resolve-cross "$FIX/hybrid_gated_fallback.cross.pt2" -o "$T/resolved.pt2"
expect 0 resolve-cross-verify "$BIN" verify "$T/resolved.pt2"
expect 0 resolve-cross-inspect "$BIN" inspect "$T/resolved.pt2"
grep -q "CUSTOM_OBJ" "$T/out" && ok resolve-cross-has-engines || bad resolve-cross-has-engines
grep -q "no_op_placeholder" "$T/out" && bad resolve-cross-no-placeholders || ok resolve-cross-no-placeholders

# export every partitioned fixture in both modes
for f in "$FIX"/*.partitioned.json "$SHARED"/fixtures/partitioned/*.partitioned.json; do
	n=$(basename "$f" .partitioned.json)
	expect 0 "export-$n" "$BIN" export "$f" -o "$T/$n.pt2"
	expect 0 "export-verify-$n" "$BIN" verify "$T/$n.pt2"
	expect 0 "export-cross-$n" "$BIN" export --cross-compile "$f" -o "$T/$n.cross.pt2"
	expect 0 "export-cross-verify-$n" "$BIN" verify "$T/$n.cross.pt2"
done
no_tmp "$T" export

# bad files: clear message naming the file, nonzero exit, no output left behind
printf 'not a zip at all' >"$T/junk.pt2"
expect 1 inspect-junk "$BIN" inspect "$T/junk.pt2"
grep -q "^pt2c: $T/junk.pt2: " "$T/err" && ok inspect-junk-message || bad "inspect-junk-message: $(cat "$T/err")"
expect 3 inspect-missing "$BIN" inspect "$T/does-not-exist.pt2"
head -c 3000 "$FIX/mlp_bn.pt2" >"$T/trunc.pt2"
expect 1 verify-truncated "$BIN" verify "$T/trunc.pt2"
expect 1 convert-truncated "$BIN" convert "$T/trunc.pt2" -o "$T/never.pt2"
[ -e "$T/never.pt2" ] && bad convert-truncated-no-output || ok convert-truncated-no-output
printf '{"graph": [{"op": "placeholder", "name": "x", "target": "x", "args": [], "kwargs": {}, "val": null}, {"op": "output", "name": "output", "target": "output", "args": [{"node": "y"}], "kwargs": {}, "val": null}], "submodules": {}}' >"$T/dangling.json"
expect 1 export-dangling "$BIN" export "$T/dangling.json" -o "$T/never2.pt2"
[ -e "$T/never2.pt2" ] && bad export-dangling-no-output || ok export-dangling-no-output
grep -q "dangling.json" "$T/err" && ok export-dangling-message || bad "export-dangling-message: $(cat "$T/err")"
expect 3 export-unwritable "$BIN" export "$FIX/no_engine.partitioned.json" -o "$T/no/such/dir/x.pt2"
no_tmp "$T" failures

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
