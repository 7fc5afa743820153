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


# --- extra files (issue 10 item 6): export/convert --extra-file NAME=PATH, inspect lists them ---
X=$T/xf; mkdir -p "$X/c" "$X/d"
printf 'hello\n' >"$X/a.txt"; printf '{"k": "\xc3\xa9"}' >"$X/b.json"; printf 'other' >"$X/o.txt"; printf '\xed\xa0\x80' >"$X/bad.txt"
expect 0 extra-export "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/e.pt2" --extra-file notes.txt="$X/a.txt" --extra-file=meta.json="$X/b.json"
python3 - "$X/e.pt2" "$X/a.txt" "$X/b.json" <<'PY' && ok extra-export-layout || bad extra-export-layout
# the layout of PyTorch 2.11's _package_extra_files: <root>/extra/<name> = the text's UTF-8 bytes,
# in the order given, after data/sample_inputs/model.pt and before archive_format
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); names = [n.split("/", 1)[1] for n in z.namelist()]
i = names.index("data/sample_inputs/model.pt")
assert names[i + 1:i + 4] == ["extra/notes.txt", "extra/meta.json", "archive_format"], names
assert z.read("e/extra/notes.txt") == open(sys.argv[2], "rb").read()
assert z.read("e/extra/meta.json").decode("utf-8") == open(sys.argv[3], encoding="utf-8").read()
assert all(zi.compress_type == zipfile.ZIP_STORED for zi in z.infolist())
PY
expect 0 extra-inspect "$BIN" inspect "$X/e.pt2"
grep -q '^extra files: 2$' "$T/out" && grep -q '^  notes.txt  *6 bytes$' "$T/out" && ok extra-inspect-text || bad extra-inspect-text
expect 0 extra-inspect-json "$BIN" inspect --json "$X/e.pt2"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["extra_files"]==[{"name":"notes.txt","bytes":6},{"name":"meta.json","bytes":11}], d["extra_files"]' "$T/out" && ok extra-inspect-json-list || bad extra-inspect-json-list
expect 0 extra-inspect-json-none "$BIN" inspect --json "$FIX/mlp_bn.pt2"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["extra_files"]==[]' "$T/out" && ok extra-inspect-json-empty || bad extra-inspect-json-empty
expect 0 extra-convert-keeps "$BIN" convert -q "$X/e.pt2" -o "$X/c/e.pt2"
cmp -s "$X/e.pt2" "$X/c/e.pt2" && ok extra-convert-byte-identical || bad extra-convert-byte-identical
expect 0 extra-convert-same-bytes "$BIN" convert -q "$X/e.pt2" -o "$X/d/e.pt2" --extra-file notes.txt="$X/a.txt"
cmp -s "$X/e.pt2" "$X/d/e.pt2" && ok extra-convert-same-bytes-identical || bad extra-convert-same-bytes-identical
expect 0 extra-convert-replace "$BIN" convert -q "$X/e.pt2" -o "$X/r.pt2" --extra-file notes.txt="$X/o.txt" --extra-file z="$X/a.txt"
python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); n=[x.split("/",1)[1] for x in z.namelist() if "/extra/" in x]; assert n==["extra/notes.txt","extra/meta.json","extra/z"], n; assert z.read("r/extra/notes.txt")==b"other"' "$X/r.pt2" && ok extra-convert-replace-content || bad extra-convert-replace-content
expect 2 extra-twice "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/n1.pt2" --extra-file a="$X/a.txt" --extra-file a="$X/b.json"
grep -q "given twice" "$T/err" && ok extra-twice-message || bad "extra-twice-message: $(cat "$T/err")"
expect 2 extra-slash "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/n2.pt2" --extra-file ../a="$X/a.txt"
expect 2 extra-dotdot "$BIN" convert -q "$X/e.pt2" -o "$X/n3.pt2" --extra-file ..="$X/a.txt"
expect 2 extra-empty-name "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/n4.pt2" --extra-file ="$X/a.txt"
expect 2 extra-no-path "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/n5.pt2" --extra-file notes.txt
expect 2 extra-not-utf8 "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/n6.pt2" --extra-file a="$X/bad.txt"
grep -q "not UTF-8" "$T/err" && ok extra-not-utf8-message || bad "extra-not-utf8-message: $(cat "$T/err")"
expect 3 extra-missing-file "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/n7.pt2" --extra-file a="$X/nope.txt"
expect 3 extra-directory "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$X/n8.pt2" --extra-file a="$X/c"
ls "$X"/n*.pt2 >/dev/null 2>&1 && bad extra-failures-no-output || ok extra-failures-no-output
no_tmp "$X" extra-failures

# --- attribute collisions across fallback segments (issue 10 item 5): distinct names ---
expect 0 collision-export "$BIN" export -q "${PT2C_SOURCE:-../..}/tests/export/data/attr_collision.partitioned.json" -o "$X/col.pt2"
expect 0 collision-inspect "$BIN" inspect "$X/col.pt2"
for t in "PARAMETER target='w0'" "PARAMETER target='w0_1'" "PARAMETER target='w0_2'" "PARAMETER target='lin.weight_1'" "BUFFER target='shift_1' persistent=False"; do
	grep -q "$t" "$T/out" && ok "collision-target $t" || bad "collision-target $t"
done
[ "$(grep -c "target='scale'" "$T/out")" -eq 1 ] && ok collision-shared-scale || bad collision-shared-scale

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
