#!/usr/bin/env bash
# Write every file that real PyTorch must accept into OUT_DIR, with a manifest of
# "<file.pt2> <io dir>" lines for check_all.sh: pt2c's exports of every partitioned fixture
# (normal, cross-compile, cross-compile after pt2c resolve-cross) and pt2c's rewrite of every
# fixture archive; and per Torch-TensorRT generation whose archive PyTorch 2.11 can read
# (TorchBind engines, docs/generations.md), the same three exports with --target X for X in
# $TARGETS (default "2.7 2.11 2.12": ABI 7, 8, 9; the default export is ABI 6 = 2.5/2.6).
# (A target older than a fixture's records is refused by pt2c and left out.)
# Usage: [TARGETS="..."] make_outputs.sh PT2C_BIN SHARED_DIR OUT_DIR
set -eu
BIN=$1 SHARED=$2 OUT=$3
mkdir -p "$OUT/io"
: >"$OUT/manifest.txt"
add() { echo "$1 $2" >>"$OUT/manifest.txt"; }
copy_io() { local n=$1 src=$2; rm -rf "$OUT/io/$n"; cp -r "$src" "$OUT/io/$n"; chmod -R u+w "$OUT/io/$n"; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for f in "$SHARED"/fixtures/torch-2.11/*.partitioned.json "$SHARED"/fixtures/partitioned/*.partitioned.json "$ROOT"/examples/*.partitioned.json; do
	n=$(basename "$f" .partitioned.json)
	copy_io "$n" "$(dirname "$f")/$n.io"
	"$BIN" export -q "$f" -o "$OUT/$n.pt2c.normal.pt2" && add "$n.pt2c.normal.pt2" "io/$n"
	"$BIN" export -q --cross-compile "$f" -o "$OUT/$n.pt2c.cross.pt2" && add "$n.pt2c.cross.pt2" "io/$n"
	"$BIN" resolve-cross -q "$OUT/$n.pt2c.cross.pt2" -o "$OUT/$n.pt2c.resolved.pt2" && add "$n.pt2c.resolved.pt2" "io/$n"
	for t in ${TARGETS-2.7 2.11 2.12}; do
		"$BIN" export -q --target "$t" "$f" -o "$OUT/$n.pt2c.t$t.normal.pt2" && add "$n.pt2c.t$t.normal.pt2" "io/$n"
		"$BIN" export -q --target "$t" --cross-compile "$f" -o "$OUT/$n.pt2c.t$t.cross.pt2" && add "$n.pt2c.t$t.cross.pt2" "io/$n"
		[ -e "$OUT/$n.pt2c.t$t.cross.pt2" ] && "$BIN" resolve-cross -q "$OUT/$n.pt2c.t$t.cross.pt2" -o "$OUT/$n.pt2c.t$t.resolved.pt2" &&
			add "$n.pt2c.t$t.resolved.pt2" "io/$n"
	done
done
for f in "$SHARED"/fixtures/torch-2.11/*.pt2; do
	n=$(basename "$f" .pt2)
	base=${n%.normal}; base=${base%.cross}
	copy_io "$base" "$SHARED/fixtures/torch-2.11/$base.io"
	"$BIN" convert -q "$f" -o "$OUT/$n.pt2c.rewrite.pt2" && add "$n.pt2c.rewrite.pt2" "io/$base"
done
wc -l "$OUT/manifest.txt"
