#!/usr/bin/env bash
# Tensor-typed cross-compile engine arguments (docs/generations.md, section D): the hand-built
# archive tests/generations/data/hybrid_gated_fallback.tensor_engine.2_13.pt2 (made by
# tools/generations/make_tensor_engine.py from PyTorch 2.11's hybrid_gated_fallback.cross.pt2; its
# provenance is in that script and tools/generations/PROVENANCE.md) read by inspect, engines and
# resolve-cross, with the engine bytes the source placeholders carried; corrupt variants refused
# with clear errors. Exit 77 (skipped) without python3.
set -u
BIN=${PT2C_BIN:?}
SHARED=${PT2C_SHARED:?}
SRC=${PT2C_SOURCE:?}
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
SOURCE=$SHARED/fixtures/torch-2.11/hybrid_gated_fallback.cross.pt2
F=$SRC/tests/generations/data/hybrid_gated_fallback.tensor_engine.2_13.pt2

# 1. the committed file is what the generator makes from the source
mkdir -p "$T/gen"
python3 "$SRC/tools/generations/make_tensor_engine.py" "$SOURCE" "$T/gen/hybrid_gated_fallback.tensor_engine.2_13.pt2" &&
	cmp -s "$F" "$T/gen/hybrid_gated_fallback.tensor_engine.2_13.pt2" && ok regenerated-identical || bad regenerated-identical
python3 - "$F" <<'PY' && ok tensor-arguments || bad tensor-arguments
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); root = z.namelist()[0].split("/")[0]
m = json.loads(z.read(root + "/models/model.json"))["graph_module"]
ph = [n for n in m["graph"]["nodes"] if "no_op_placeholder" in n["target"]]
assert len(ph) == 2
for n in ph:
    a = {i["name"]: i["arg"] for i in n["inputs"]}
    assert list(a["serialized_engine"]) == ["as_tensor"] and len(n["inputs"]) == 13, a["serialized_engine"]
    assert m["graph"]["tensor_values"][a["serialized_engine"]["as_tensor"]["name"]]["dtype"] == 1
PY

# the source's engines (base64 strings of its placeholders), raw
python3 - "$SOURCE" "$T/want" <<'PY'
import base64, json, os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); root = z.namelist()[0].split("/")[0]
m = json.loads(z.read(root + "/models/model.json"))["graph_module"]
os.makedirs(sys.argv[2])
for n in m["graph"]["nodes"]:
    if "no_op_placeholder" in n["target"]:
        a = {i["name"]: i["arg"] for i in n["inputs"]}
        open(os.path.join(sys.argv[2], a["name"]["as_string"] + ".engine"), "wb").write(base64.b64decode(a["serialized_engine"]["as_string"]))
PY
same_engines() { # dir name
	local n=0 e
	for e in "$T/want"/*.engine; do
		cmp -s "$e" "$1/$(basename "$e")" && n=$((n + 1))
	done
	[ "$n" -eq 2 ] && ok "$2" || bad "$2 ($n of 2 equal)"
}

# 2. inspect, verify, engines
expect 0 verify "$BIN" verify "$F"
expect 0 inspect "$BIN" inspect "$F"
grep -q "_run_on_acc_0_engine abi=9 .* bytes=$(stat -c %s "$T/want/_run_on_acc_0_engine.engine")" "$T/out" && ok inspect-engine-bytes || bad "inspect-engine-bytes: $(cat "$T/out")"
expect 0 inspect-json "$BIN" inspect --json "$F"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["engines"]) == 2 and all(e["abi"] == 9 for e in d["engines"]), d["engines"]' "$T/out" && ok inspect-json-engines || bad inspect-json-engines
expect 0 engines-extract "$BIN" engines -q "$F" -d "$T/eng"
same_engines "$T/eng" engines-bytes

# 3. resolve-cross: engine objects from the tensors; the buffers stay as (unused) inputs
mkdir -p "$T/res" "$T/res2"
expect 0 resolve-cross "$BIN" resolve-cross "$F" -o "$T/res/r.pt2"
expect 0 resolved-verify "$BIN" verify "$T/res/r.pt2"
expect 0 resolved-inspect "$BIN" inspect "$T/res/r.pt2"
grep -q "2  torch.ops.tensorrt.execute_engine.default" "$T/out" && ok resolved-execute-engine || bad "resolved-execute-engine: $(cat "$T/out")"
grep -q "_trt_engine_1 *BUFFER target='_trt_engine_1'" "$T/out" && ok resolved-buffer-kept || bad resolved-buffer-kept
! grep -q no_op_placeholder "$T/out" && ok resolved-no-placeholder || bad resolved-no-placeholder
expect 0 resolved-engines "$BIN" engines -q "$T/res/r.pt2" -d "$T/reng"
same_engines "$T/reng" resolved-engines-bytes
"$BIN" convert -q "$T/res/r.pt2" -o "$T/res2/r.pt2" && cmp -s "$T/res/r.pt2" "$T/res2/r.pt2" && ok resolved-rewrite-identical || bad resolved-rewrite-identical

# 4. convert keeps the tensor argument; pt2c's rewrite of it is rewritten byte for byte
mkdir -p "$T/c1" "$T/c2"
expect 0 convert "$BIN" convert "$F" -o "$T/c1/c.pt2"
"$BIN" convert -q "$T/c1/c.pt2" -o "$T/c2/c.pt2" && cmp -s "$T/c1/c.pt2" "$T/c2/c.pt2" && ok convert-rewrite-identical || bad convert-rewrite-identical
expect 0 converted-engines "$BIN" engines -q "$T/c1/c.pt2" -d "$T/ceng"
same_engines "$T/ceng" converted-engines-bytes

# 5. corrupt variants: clear errors, exit 1, no output
variant() { # name python-edit-of-model.json (m, g) and the weights config (w) expected-text
	python3 - "$F" "$T/v_$1.pt2" "$2" <<'PY'
import json, sys, zipfile
src, dst, edit = sys.argv[1:4]
zi = zipfile.ZipFile(src); root = zi.namelist()[0].split("/")[0]
with zipfile.ZipFile(dst, "w") as zo:
    for info in zi.infolist():
        data = zi.read(info)
        if info.filename == root + "/models/model.json":
            m = json.loads(data); g = m["graph_module"]["graph"]
        elif info.filename == root + "/data/weights/model_weights_config.json":
            w = json.loads(data)["config"]
    exec(edit)
    for info in zi.infolist():
        data = zi.read(info)
        if info.filename == root + "/models/model.json":
            data = json.dumps(m).encode()
        elif info.filename == root + "/data/weights/model_weights_config.json":
            data = json.dumps({"config": w}).encode()
        zo.writestr(info, data)
PY
	rm -f "$T/v_out.pt2"
	expect 1 "corrupt-$1" "$BIN" resolve-cross "$T/v_$1.pt2" -o "$T/v_out.pt2"
	grep -q "$3" "$T/err" && ok "corrupt-$1-text" || bad "corrupt-$1-text: $(cat "$T/err")"
	[ ! -e "$T/v_out.pt2" ] && ok "corrupt-$1-no-output" || bad "corrupt-$1-no-output"
	expect 1 "corrupt-$1-engines" "$BIN" engines -q "$T/v_$1.pt2" -d "$T/v_eng"
}
variant int8 'w["_trt_engine_0"]["tensor_meta"]["dtype"] = g["tensor_values"]["_trt_engine_0"]["dtype"] = 2' "is not a contiguous 1-D uint8 tensor"
variant user 'next(i for n in g["nodes"] if "no_op" in n["target"] for i in n["inputs"] if i["name"] == "serialized_engine")["arg"] = {"as_tensor": {"name": "x"}}' "is a tensor that is not a lifted buffer or constant"
variant twod 't = w["_trt_engine_1"]["tensor_meta"]; t["strides"] = [t["sizes"][0], {"as_int": 1}]; t["sizes"] = [{"as_int": 1}, t["sizes"][0]]; g["tensor_values"]["_trt_engine_1"] = t' "is not a contiguous 1-D uint8 tensor"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
