#!/usr/bin/env bash
# Torch-TensorRT file generations (docs/generations.md): export/convert --target for every
# release, refusals, clear version errors, and the torch-free proof of the 2.13/head rows
# (tools/generations/check_reference.py). Exit 77 (skipped) without python3.
set -u
BIN=${PT2C_BIN:?}
SHARED=${PT2C_SHARED:?}
SRC=${PT2C_SOURCE:?}
FIX=$SHARED/fixtures/torch-2.11
command -v python3 >/dev/null 2>&1 || { echo "skipped: no python3"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
expect() {
	local code=$1 name=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; local rc=$?
	if [ "$rc" -eq "$code" ]; then ok "$name"; else bad "$name (exit $rc, wanted $code): $(head -c 400 "$T/err")"; fi
}
abi_of() { "$BIN" engines "$1" | sed -n 's/.*\tabi=\([0-9]*\)\t.*/\1/p' | sort -u | tr '\n' ' '; }
declare -A ABI=([2.5]=6 [2.6]=6 [2.7]=7 [2.8]=7 [2.9]=7 [2.10]=7 [2.11]=8 [2.12]=9 [2.13]=9 [head]=10)

# 1. export every partitioned fixture for every target; records get the target's ABI; the
#    engines stay byte-identical; the default (ABI 6 records) is exactly --target 2.5
for pj in "$FIX"/*.partitioned.json; do
	b=$(basename "$pj" .partitioned.json)
	mkdir -p "$T/def" "$T/x"
	expect 0 "export-$b-default" "$BIN" export "$pj" -o "$T/def/$b.pt2"
	"$BIN" engines -q "$T/def/$b.pt2" -d "$T/def/$b.eng" >/dev/null 2>&1
	for t in 2.5 2.6 2.7 2.8 2.9 2.10 2.11 2.12 2.13 head; do
		mkdir -p "$T/$t"
		expect 0 "export-$b-$t" "$BIN" export "$pj" --target "$t" -o "$T/$t/$b.pt2"
		n=$("$BIN" engines "$T/$t/$b.pt2" | wc -l)
		if [ "$n" -gt 0 ]; then
			[ "$(abi_of "$T/$t/$b.pt2")" = "${ABI[$t]} " ] && ok "abi-$b-$t" || bad "abi-$b-$t: $(abi_of "$T/$t/$b.pt2")"
			"$BIN" engines -q "$T/$t/$b.pt2" -d "$T/$t/$b.eng" >/dev/null 2>&1
			for e in "$T/def/$b.eng"/*.engine; do
				cmp -s "$e" "$T/$t/$b.eng/$(basename "$e")" && ok "engine-bytes-$b-$t" || bad "engine-bytes-$b-$t $(basename "$e")"
			done
			if [ "$t" = 2.13 ] || [ "$t" = head ]; then
				unzip -l "$T/$t/$b.pt2" | grep -q 'data/constants/opaque_obj_0' && ok "opaque-$b-$t" || bad "opaque-$b-$t"
				! unzip -l "$T/$t/$b.pt2" | grep -q 'custom_obj_' && ok "no-torchbind-$b-$t" || bad "no-torchbind-$b-$t"
			fi
		fi
		expect 0 "verify-$b-$t" "$BIN" verify "$T/$t/$b.pt2"
		if [ "$t" = 2.6 ] || [ "$t" = 2.12 ] || [ "$t" = 2.13 ] || [ "$t" = head ]; then
			expect 0 "export-cross-$b-$t" "$BIN" export "$pj" --cross-compile --target "$t" -o "$T/$t/$b.cross.pt2"
			expect 0 "resolve-cross-$b-$t" "$BIN" resolve-cross "$T/$t/$b.cross.pt2" -o "$T/$t/$b.resolved.pt2"
		fi
	done
	cmp -s "$T/def/$b.pt2" "$T/2.5/$b.pt2" && ok "default-is-2.5-$b" || bad "default-is-2.5-$b"
	# head export == head convert of the default export (same file either way)
	expect 0 "convert-head-$b" "$BIN" convert "$T/def/$b.pt2" --target head -o "$T/x/$b.pt2"
	cp "$T/head/$b.pt2" "$T/x/cmp.pt2"
	mkdir -p "$T/y" && "$BIN" convert "$T/x/cmp.pt2" -o "$T/y/$b.pt2" >/dev/null 2>&1
	cmp -s "$T/x/$b.pt2" "$T/y/$b.pt2" && ok "export-head-equals-convert-head-$b" || bad "export-head-equals-convert-head-$b"
done

# 2. refusals and clear errors
pj=$FIX/hybrid_gated_fallback.partitioned.json
expect 1 refuse-older "$BIN" convert "$T/head/hybrid_gated_fallback.pt2" --target 2.12 -o "$T/r.pt2"
grep -q "newer than target 2.12" "$T/err" && ok refuse-older-text || bad "refuse-older-text: $(cat "$T/err")"
[ ! -e "$T/r.pt2" ] && ok refuse-no-output || bad refuse-no-output
expect 1 refuse-older-cross "$BIN" convert "$T/head/hybrid_gated_fallback.cross.pt2" --target 2.11 -o "$T/r.pt2"
expect 2 unknown-target "$BIN" export "$pj" --target 3.0 -o "$T/r.pt2"
grep -q "use 2.5, 2.6" "$T/err" && ok unknown-target-text || bad unknown-target-text
expect 1 cross-2.5 "$BIN" export "$pj" --cross-compile --target 2.5 -o "$T/r.pt2"
# an ABI "11" record names the supported ABIs and releases
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["submodules"]["_run_on_acc_0"]["engine_record"][0]="11"; json.dump(d,open(sys.argv[2],"w"))' "$pj" "$T/abi11.json"
expect 1 abi11 "$BIN" export "$T/abi11.json" -o "$T/r.pt2"
grep -q "supported are ABI 6 (Torch-TensorRT 2.5, 2.6), 7 (2.7 .. 2.10), 8 (2.11), 9 (2.12, 2.13), 10" "$T/err" && ok abi11-text || bad "abi11-text: $(cat "$T/err")"

# 3. torch-free proof of the 2.13 / head rows on every fixture archive written by PyTorch 2.11
for f in "$FIX"/*.pt2; do
	for t in 2.13 head; do
		if python3 "$SRC/tools/generations/check_reference.py" "$BIN" "$f" "$t" "$T/chk" >"$T/out" 2>&1; then
			ok "reference-$(basename "$f")-$t"
		else
			bad "reference-$(basename "$f")-$t: $(tail -3 "$T/out")"
		fi
	done
done

# 4. head exports with aliased KV-cache outputs (docs/generations.md E) and the torch-free checks
#    of pt2c's 2.13/head exports of every partitioned fixture (tools/generations/check_head_export.py)
KV=$SRC/tests/export/data/kv_cache.partitioned.json
if python3 "$SRC/tools/generations/check_head_export.py" "$BIN" "$KV" head "$T/kvchk" \
	--mutations k_cache=getitem_1,v_cache=getitem_2 >"$T/out" 2>&1; then ok head-export-kv_cache; else bad "head-export-kv_cache: $(grep FAIL "$T/out" | head -3)"; fi
mkdir -p "$T/kvd" "$T/kvh"
expect 0 kv-default "$BIN" export "$KV" -o "$T/kvd/kv.pt2"
expect 0 kv-head "$BIN" export "$KV" --target head -o "$T/kvh/kv.pt2"
cmp -s "$T/kvd/kv.pt2" "$T/kvh/kv.pt2" && ok kv-default-is-head || bad kv-default-is-head
"$BIN" inspect --json "$T/kvh/kv.pt2" >"$T/kv.json" 2>"$T/err"
"$BIN" engines -q "$T/kvh/kv.pt2" -d "$T/kveng" >/dev/null 2>&1
python3 - "$T/kv.json" "$T/kveng/_run_on_acc_0_engine.json" <<'PY' && ok kv-inspect-json || bad "kv-inspect-json"
import json, sys
d = json.load(open(sys.argv[1]))
outs = [(o["kind"], o.get("target")) for o in d["outputs"]]
assert outs == [("BUFFER_MUTATION", "k_cache"), ("BUFFER_MUTATION", "v_cache"), ("USER_OUTPUT", None)], outs
rec = json.load(open(sys.argv[2]))
assert rec["abi_version"] == "10", rec
assert rec["aliased_io"] == "output_1@input_1@kv_cache_update%output_2@input_2@kv_cache_update%output_3@input_3@user", rec
PY
"$BIN" inspect "$T/kvh/kv.pt2" | grep -q "getitem_1 *BUFFER_MUTATION target='k_cache'" && ok kv-inspect-text || bad kv-inspect-text
for t in 2.12 2.13; do
	expect 1 "kv-refuse-$t" "$BIN" export "$KV" --target "$t" -o "$T/r.pt2"
	grep -q "newer than the target's ABI 9" "$T/err" && ok "kv-refuse-$t-text" || bad "kv-refuse-$t-text: $(cat "$T/err")"
done
for pj in "$FIX"/*.partitioned.json; do
	for t in 2.13 head; do
		if python3 "$SRC/tools/generations/check_head_export.py" "$BIN" "$pj" "$t" "$T/hchk" >"$T/out" 2>&1; then
			ok "head-export-$(basename "$pj" .partitioned.json)-$t"
		else
			bad "head-export-$(basename "$pj" .partitioned.json)-$t: $(grep FAIL "$T/out" | head -3)"
		fi
	done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
