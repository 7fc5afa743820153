#!/usr/bin/env bash
# Regression tests of issue 11's "Hostile-input findings" through the pt2c command: each case
# builds the hostile file (from a fixture, with Python's zipfile), runs the command, and checks
# the exit status, the message and that no output or temporary file is left behind.
set -u
BIN=${PT2C_BIN:?}
SHARED=${PT2C_SHARED:?}
FIX=$SHARED/fixtures/torch-2.11
T=$(mktemp -d)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
expect() { # expect CODE NAME CMD...
	local code=$1 name=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; local rc=$?
	if [ "$rc" -eq "$code" ]; then ok "$name"; else bad "$name (exit $rc, wanted $code): $(head -c 400 "$T/err")"; fi
}
says() { # says NAME TEXT: stderr of the last command contains TEXT
	if grep -qF -- "$2" "$T/err"; then ok "$1"; else bad "$1: stderr lacks '$2': $(head -c 400 "$T/err")"; fi
}
absent() { if [ -e "$2" ]; then bad "$1: $2 exists"; else ok "$1"; fi; }
no_tmp() { if ls -a "$1" | grep -q '\.tmp\.'; then bad "$2 left a temp file"; else ok "$2 leaves no temp file"; fi; }
# rewrite IN OUT MEMBER_SUFFIX PYEXPR: copy a zip, replacing the member whose name ends with
# MEMBER_SUFFIX by PYEXPR applied to its bytes `b` (stored, as PyTorch writes)
rewrite() {
	python3 - "$@" <<'PY'
import sys, zipfile
src, dst, suffix, expr = sys.argv[1:5]
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
    for info in zi.infolist():
        b = zi.read(info.filename)
        if info.filename.endswith(suffix):
            b = eval(expr)
        zo.writestr(info.filename, b)
PY
}
HY=$FIX/hybrid_gated_fallback.normal.pt2
HX=$FIX/hybrid_gated_fallback.cross.pt2

# --- #4: convert and resolve-cross check CRCs (a flipped weight byte is not re-signed) ---
python3 - "$HY" "$T/crc.pt2" <<'PY'
import sys, zipfile, struct
d = bytearray(open(sys.argv[1], "rb").read())
z = zipfile.ZipFile(sys.argv[1])
i = next(i for i in z.infolist() if i.filename.endswith("weights/weight_0"))
n, x = struct.unpack("<HH", d[i.header_offset + 26:i.header_offset + 30])
d[i.header_offset + 30 + n + x] ^= 0x40
open(sys.argv[2], "wb").write(d)
PY
expect 1 crc-verify "$BIN" verify "$T/crc.pt2"
expect 1 crc-convert "$BIN" convert -q "$T/crc.pt2" -o "$T/crc.out.pt2"
says crc-convert-message "CRC"
says crc-convert-member "weights/weight_0"
absent crc-convert-no-output "$T/crc.out.pt2"
expect 1 crc-resolve-cross "$BIN" resolve-cross -q "$T/crc.pt2" -o "$T/crc.out.pt2"
says crc-resolve-cross-message "CRC"
absent crc-resolve-cross-no-output "$T/crc.out.pt2"
no_tmp "$T" crc

# --- #1: end record comment running past the end: no zip inside a member is found ---
python3 - "$HY" "$T/inner.pt2" <<'PY'
import sys, zipfile
inner = open(sys.argv[1], "rb").read()
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.writestr("outer/payload.bin", inner)
    z.writestr("outer/other", b"x")
d = bytearray(open(sys.argv[2], "rb").read())
d[-2:] = (0xFFFF).to_bytes(2, "little")
open(sys.argv[2], "wb").write(d)
assert zipfile.ZipFile(sys.argv[2]).namelist() == ["outer/payload.bin", "outer/other"]
PY
expect 1 eocd-comment-verify "$BIN" verify "$T/inner.pt2"
says eocd-comment-message "bytes past the end of the file"
expect 1 eocd-comment-inspect "$BIN" inspect "$T/inner.pt2"

# --- #1: duplicate JSON keys in every JSON pt2c reads ---
rewrite "$HY" "$T/dupm.pt2" models/model.json 'b.replace(b"{", b"{\"schema_version\": 1, ", 1)'
python3 -c 'import json,sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); json.loads(z.read([n for n in z.namelist() if n.endswith("model.json")][0]))' "$T/dupm.pt2" \
	&& ok dup-python-reads-it || bad dup-python-reads-it
expect 1 dup-model-json "$BIN" verify "$T/dupm.pt2"
says dup-model-json-message 'duplicate key "schema_version"'
says dup-model-json-member 'models/model.json:/schema_version'
rewrite "$HY" "$T/dupw.pt2" model_weights_config.json 'b.replace(b"{", b"{\"config\": {}, ", 1)'
expect 1 dup-weights-config "$BIN" verify "$T/dupw.pt2"
says dup-weights-config-message 'model_weights_config.json:/config'
rewrite "$HY" "$T/dupc.pt2" model_constants_config.json 'b.replace(b"{", b"{\"config\": {}, ", 1)'
expect 1 dup-constants-config "$BIN" verify "$T/dupc.pt2"
says dup-constants-config-message 'duplicate key "config"'
python3 - "$FIX/no_engine.partitioned.json" "$T/dup.partitioned.json" <<'PY'
import sys
s = open(sys.argv[1]).read()
i = s.index("{")
open(sys.argv[2], "w").write(s[:i + 1] + '"graph": [], ' + s[i + 1:])
PY
expect 1 dup-partitioned "$BIN" export -q "$T/dup.partitioned.json" -o "$T/dup.out.pt2"
says dup-partitioned-message 'duplicate key "graph"'
absent dup-partitioned-no-output "$T/dup.out.pt2"

# --- #7: engines whose base64 does not decode; garbage in_spec; huge sizes; negative strides ---
rewrite "$HX" "$T/b64x.pt2" models/model.json 'b.replace(b"\"serialized_engine\", \"arg\": {\"as_string\": \"UEsDB", b"\"serialized_engine\", \"arg\": {\"as_string\": \"UE*DB", 1)'
expect 1 b64-cross-verify "$BIN" verify "$T/b64x.pt2"
says b64-cross-verify-message "not valid base64 (at offset 2 of"
expect 1 b64-cross-convert "$BIN" convert -q "$T/b64x.pt2" -o "$T/b64x.out.pt2"
absent b64-cross-convert-no-output "$T/b64x.out.pt2"
expect 1 b64-cross-resolve "$BIN" resolve-cross -q "$T/b64x.pt2" -o "$T/b64x.out.pt2"
says b64-cross-resolve-message "not valid base64"
absent b64-cross-resolve-no-output "$T/b64x.out.pt2"
rewrite "$HY" "$T/spec.pt2" models/model.json 'b.replace(b"\"in_spec\": \"[1, ", b"\"in_spec\": \"[1, 7, ", 1)'
expect 1 in-spec-garbage-verify "$BIN" verify "$T/spec.pt2"
says in-spec-garbage-message "signature/in_spec: not a treespec"
expect 1 in-spec-garbage-convert "$BIN" convert -q "$T/spec.pt2" -o "$T/spec.out.pt2"
absent in-spec-garbage-no-output "$T/spec.out.pt2"
rewrite "$HY" "$T/spec2.pt2" models/model.json 'b.replace(b"\"in_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [{\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [", b"\"in_spec\": \"[1, {\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [{\\\"type\\\": \\\"builtins.tuple\\\", \\\"context\\\": \\\"null\\\", \\\"children_spec\\\": [{\\\"type\\\": null, \\\"context\\\": null, \\\"children_spec\\\": []}, ", 1)'
expect 1 in-spec-leaves-verify "$BIN" verify "$T/spec2.pt2"
says in-spec-leaves-message "treespec has 2 leaves, the graph signature 1 user inputs"
rewrite "$HY" "$T/huge.pt2" models/model.json 'b.replace(b"\"sizes\": [{\"as_int\": ", b"\"sizes\": [{\"as_int\": 4611686018427387904}, {\"as_int\": ", 1).replace(b"\"strides\": [{\"as_int\": ", b"\"strides\": [{\"as_int\": 1}, {\"as_int\": ", 1)'
expect 1 huge-sizes-verify "$BIN" verify "$T/huge.pt2"
says huge-sizes-message "needs more than 2^63-1 elements or bytes"
rewrite "$HY" "$T/negs.pt2" models/model.json 'b.replace(b"\"strides\": [{\"as_int\": ", b"\"strides\": [{\"as_int\": -", 1)'
expect 1 negative-stride-verify "$BIN" verify "$T/negs.pt2"
says negative-stride-message "/strides/0: negative value"

# --- #8: -o "" is a usage error (it aborted in the Debug build) ---
for c in export convert resolve-cross; do
	src=$HY; [ $c = export ] && src=$FIX/no_engine.partitioned.json
	expect 2 "empty-output-$c" "$BIN" $c -q "$src" -o ""
	says "empty-output-$c-message" "-o needs a file name"
done

# --- #2: outputs that are not regular files are refused (a device node was replaced) ---
expect 2 output-dev-null "$BIN" convert -q "$HY" -o /dev/null
says output-dev-null-message "is a character device"
[ -c /dev/null ] && ok output-dev-null-still-a-device || bad output-dev-null-still-a-device
mkdir -p "$T/adir"
expect 2 output-folder "$BIN" export -q "$FIX/no_engine.partitioned.json" -o "$T/adir"
says output-folder-message "is a folder"
if command -v mkfifo >/dev/null; then
	mkfifo "$T/fifo"
	expect 2 output-fifo "$BIN" convert -q "$HY" -o "$T/fifo"
	[ -p "$T/fifo" ] && ok output-fifo-kept || bad output-fifo-kept
	rm -f "$T/fifo"
fi
no_tmp "$T" not-regular-outputs

# --- #3/#8: over the file size limit: EFBIG named, exit 3, no temporary file (was SIGXFSZ) ---
mkdir -p "$T/fs"
( ulimit -f 8; "$BIN" convert -q "$HY" -o "$T/fs/out.pt2" ) >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 3 ] && ok efbig-exit || bad "efbig-exit (exit $rc): $(head -c 300 "$T/err")"
says efbig-message "File too large"
absent efbig-no-output "$T/fs/out.pt2"
no_tmp "$T/fs" efbig

# --- #6: engines -d: names that collide once made file-safe, long names, modes, escaping ---
rewrite "$HX" "$T/coll.pt2" models/model.json 'b.replace(b"\"as_string\": \"_run_on_acc_0_engine\"", b"\"as_string\": \"a/b\"").replace(b"\"as_string\": \"_run_on_acc_1_engine\"", b"\"as_string\": \"a_b\"")'
expect 0 collide-verify "$BIN" verify "$T/coll.pt2"
rm -rf "$T/e1"
expect 0 collide-extract "$BIN" engines "$T/coll.pt2" -d "$T/e1"
python3 - "$T/coll.pt2" "$T/e1" <<'PY2' && ok collide-both-kept || bad collide-both-kept
import sys, os, json
# each engine's record file holds its own name; the two files differ (nothing overwritten)
names = sorted(json.load(open(os.path.join(sys.argv[2], f)))["name"] for f in os.listdir(sys.argv[2]) if f.endswith(".json"))
assert names == ["a/b", "a_b"], names
assert sorted(os.listdir(sys.argv[2])) == ["a_b-2.engine", "a_b-2.json", "a_b.engine", "a_b.json"], os.listdir(sys.argv[2])
PY2
grep -qF 'a_b.engine (5627 bytes) <- engine "a/b"' "$T/out" && ok collide-mapping-printed || bad "collide-mapping-printed: $(cat "$T/out")"
grep -qF 'a_b-2.engine (4607 bytes) <- engine "a_b"' "$T/out" && ok collide-mapping-printed-2 || bad "collide-mapping-printed-2: $(cat "$T/out")"
# the same names in the same order give the same files (deterministic)
rm -rf "$T/e2"; "$BIN" engines "$T/coll.pt2" -d "$T/e2" -q >/dev/null 2>&1
diff -r "$T/e1" "$T/e2" >/dev/null && ok collide-deterministic || bad collide-deterministic
# modes: 0666 less the umask, as any other tool's output (they were 0600)
m=$(stat -c %a "$T/e1/a_b.engine"); [ "$m" = 644 ] && ok extract-mode-0644 || bad "extract-mode-0644: $m"
rm -rf "$T/e3"; (umask 027; "$BIN" engines -q "$T/coll.pt2" -d "$T/e3")
m=$(stat -c %a "$T/e3/a_b.engine"); [ "$m" = 640 ] && ok extract-mode-umask || bad "extract-mode-umask: $m"
# names of 300 bytes (one differing only at the end): shortened with a hash, still apart
L0=$(printf 'n%.0s' $(seq 300))
rewrite "$HX" "$T/long.pt2" models/model.json "b.replace(b'\"as_string\": \"_run_on_acc_0_engine\"', b'\"as_string\": \"${L0}0\"').replace(b'\"as_string\": \"_run_on_acc_1_engine\"', b'\"as_string\": \"${L0}1\"')"
rm -rf "$T/e4"
expect 0 long-name-extract "$BIN" engines "$T/long.pt2" -d "$T/e4"
n=$(ls "$T/e4" | grep -c '\.engine$'); [ "$n" = 2 ] && ok long-name-two-files || bad "long-name-two-files: $(ls "$T/e4")"
max=$(ls "$T/e4" | awk '{ if (length($0) > m) m = length($0) } END { print m }'); [ "$max" -le 255 ] && ok long-name-fits || bad "long-name-fits: $max"
no_tmp "$T/e4" long-name
# an output whose own name is 250 bytes: its temporary file's name is shortened, not refused
LO="$T/$(printf 'o%.0s' $(seq 246)).pt2"
expect 0 long-output-convert "$BIN" convert -q "$HY" -o "$LO"
[ -f "$LO" ] && ok long-output-written || bad long-output-written
expect 0 long-output-verify "$BIN" verify "$LO"
no_tmp "$T" long-output
rm -f "$LO"
# control characters in names are printed escaped (engines, inspect); --json escapes them too
rewrite "$HX" "$T/esc.pt2" models/model.json 'b.replace(b"\"as_string\": \"_run_on_acc_0_engine\"", b"\"as_string\": \"x\\ny\\u001b[31mred\\\\z\\u0085w\"")'
expect 0 escape-engines "$BIN" engines "$T/esc.pt2"
grep -qF 'x\ny\x1b[31mred\\z\xc2\x85w' "$T/out" && ok escape-engines-escaped || bad "escape-engines-escaped: $(cat -v "$T/out")"
[ "$(wc -l <"$T/out")" = 2 ] && ok escape-engines-one-line-each || bad escape-engines-one-line-each
if LC_ALL=C grep -q $'\x1b' "$T/out"; then bad escape-engines-no-esc; else ok escape-engines-no-esc; fi
expect 0 escape-inspect "$BIN" inspect "$T/esc.pt2"
grep -qF 'name=x\ny\x1b[31mred\\z\xc2\x85w abi=6' "$T/out" && ok escape-inspect-escaped || bad "escape-inspect-escaped: $(cat -v "$T/out")"
if LC_ALL=C grep -q $'\x1b' "$T/out"; then bad escape-inspect-no-esc; else ok escape-inspect-no-esc; fi
expect 0 escape-inspect-json "$BIN" inspect --json "$T/esc.pt2"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["engines"][0]["name"] == "x\ny\x1b[31mred\\z\x85w", d["engines"][0]["name"]' "$T/out" && ok escape-json-round-trips || bad escape-json-round-trips
if LC_ALL=C grep -q $'\x1b' "$T/out"; then bad escape-json-no-esc; else ok escape-json-no-esc; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
