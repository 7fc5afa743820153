#!/usr/bin/env bash
# Benchmarks (see bench/README.md). For each case: generate a synthetic partitioned archive, then
# measure in one run `pt2c export` (wall time and peak RSS), a plain sequential write of the same
# number of bytes to the same folder (the physical reference), `pt2c inspect` of the result (load
# time), and CRC-32 over the output (its share of the export time).
#   bench/run.sh BUILD_DIR WORK_DIR [case ...]     cases: big 5k 40k 200k 1m 20g (default: all but 20g)
# 20g (4 engines of 4 GiB + 4 GiB of weights: a 20 GiB input, a 25.3 GiB .pt2) runs only when
# WORK_DIR's file system has 3x the input free (60 GiB); otherwise it is skipped with a message.
set -eu
BUILD=$(cd "$1" && pwd); WORK=$2; shift 2
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
GEN=$BUILD/bench/pt2c-bench-gen MEAS=$BUILD/bench/pt2c-bench-measure PT2C=$BUILD/pt2c
cases=${*:-big 5k 40k 200k 1m}
threads=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
echo "threads of the export (one per CPU): $threads"
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
# The fixed cost of the node cases (their 16 MiB of engines and weights, process start, fsync):
# the same archive with one op per segment, best of 3. marg_ns = (export_s - that) / nodes, with
# export_s of 5k, 40k and 200k also the best of 3.
"$GEN" "$WORK/fixed.pt2c-partitioned" --segments 8 --ops 1 --engine-bytes 8M --weight-bytes 8M >/dev/null
fixed=9
for i in 1 2 3; do
	t=$("$MEAS" run "$PT2C" export -q "$WORK/fixed.pt2c-partitioned" -o "$WORK/fixed.pt2" | field wall_s)
	fixed=$(awk -v a="$fixed" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
done
rm -f "$WORK/fixed.pt2c-partitioned" "$WORK/fixed.pt2"
echo "fixed cost of the node cases: ${fixed} s"
printf '%-6s %9s %10s %8s %8s %9s %10s %9s %9s %9s %8s %8s %7s\n' case nodes out_MiB export_s write_s ratio rss_MiB in_MiB load_s load_MiB ns/node marg_ns crc%
for c in $cases; do
	case $c in
	big) args="--segments 8 --ops 4 --engine-bytes 1024M --weight-bytes 512M" ;;
	5k) args="--segments 8 --ops 622 --engine-bytes 8M --weight-bytes 8M" ;;
	40k) args="--segments 8 --ops 4997 --engine-bytes 8M --weight-bytes 8M" ;;
	200k) args="--segments 8 --ops 24997 --engine-bytes 8M --weight-bytes 8M" ;;
	1m) args="--segments 8 --ops 124997 --engine-bytes 8M --weight-bytes 8M" ;;
	20g) args="--segments 4 --ops 4 --engine-bytes 16G --weight-bytes 4G" ;;
	*) echo "unknown case $c" >&2; exit 2 ;;
	esac
	if [ "$c" = 20g ]; then # the input (20 GiB) and the output (25.3 GiB) coexist, then the output and the plain write
		need=$((3 * 20 * 1024 * 1024 * 1024))
		free=$(df -P -B1 "$WORK" | awk 'NR == 2 { print $4 }')
		if [ "${free:-0}" -lt "$need" ]; then
			echo "20g: skipped: $((free / 1073741824)) GiB free in $WORK, needs $((need / 1073741824)) GiB (3x the 20 GiB input)"
			continue
		fi
	fi
	in=$WORK/$c.pt2c-partitioned out=$WORK/$c.pt2
	"$GEN" "$in" $args >/dev/null
	sync
	e=$("$MEAS" run "$PT2C" export -q "$in" -o "$out")
	case $c in 5k|40k|200k) # short runs: best of 3 (peak RSS: the largest)
		for i in 2 3; do
			e2=$("$MEAS" run "$PT2C" export -q "$in" -o "$out")
			e=$(printf '%s\n%s\n' "$e" "$e2" | awk -F'[ =]' '{ for (k = 1; k < NF; k++) v[$k] = $(k + 1);
				if (NR == 1 || v["wall_s"] < w) w = v["wall_s"]; if (v["maxrss_kib"] > r) r = v["maxrss_kib"] }
				END { printf "wall_s=%s maxrss_kib=%s exit=0\n", w, r }')
		done ;;
	esac
	bytes=$(stat -c %s "$out"); inbytes=$(stat -c %s "$in")
	rm -f "$in" # (its space: the plain write below needs as much as the output)
	w=$("$MEAS" write "$bytes" "$WORK")
	l=$("$MEAS" run "$PT2C" inspect "$out" | tail -1)
	k=$("$MEAS" crc "$out")
	nodes=$("$PT2C" inspect --json "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"])')
	es=$(echo "$e" | field wall_s); ws=$(echo "$w" | field wall_s); rss=$(echo "$e" | field maxrss_kib)
	ls=$(echo "$l" | field wall_s); lr=$(echo "$l" | field maxrss_kib); ks=$(echo "$k" | field wall_s)
	awk -v c="$c" -v n="$nodes" -v b="$bytes" -v es="$es" -v ws="$ws" -v rss="$rss" -v ib="$inbytes" -v ls="$ls" -v lr="$lr" -v ks="$ks" -v fx="$fixed" 'BEGIN {
		m = (c == "big" || c == "20g") ? "-" : sprintf("%.0f", (es - fx) * 1e9 / n)
		printf "%-6s %9d %10.1f %8.3f %8.3f %9.2f %10.1f %9.1f %9.3f %9.1f %8.0f %8s %6.1f%%\n", c, n, b/1048576, es, ws, es/ws, rss/1024, ib/1048576, ls, lr/1024, es*1e9/n, m, 100*ks/es }'
	rm -f "$out"
done
