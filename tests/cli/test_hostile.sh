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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
