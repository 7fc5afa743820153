#!/usr/bin/env bash
# Issue 11 #8: every fixture cut short, at each 1/50th of its length, is reported as "truncated"
# with a byte offset (a third of them used to say "archive has no archive_format record": the
# backward search found the end record of an engine object's nested zip); errors inside an engine
# object's nested pickle give offsets counted from the start of the archive member.
set -u
BIN=${PT2C_BIN:?}
SHARED=${PT2C_SHARED:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# check NAME: the last run exited 1 and said "truncated" with "(at byte N)"
check() {
	if [ "$rc" -ne 1 ]; then bad "$1: exit $rc, wanted 1: $(head -c 300 "$T/err")"
	elif ! grep -q 'truncated' "$T/err"; then bad "$1: no 'truncated': $(head -c 300 "$T/err")"
	elif ! grep -q '(at byte [0-9][0-9]*)' "$T/err"; then bad "$1: no offset: $(head -c 300 "$T/err")"
	else ok; fi
}
# every 1/50th; every 1/10th in the (much slower) sanitizer build
step=1; [ -n "${PT2C_SANITIZER:-}" ] && step=5
n_files=0
for f in "$SHARED"/fixtures/*/*.pt2 "$SHARED"/fixtures/*/*.partitioned.json; do
	[ -f "$f" ] || continue
	n_files=$((n_files + 1))
	size=$(stat -c %s "$f")
	b=$(basename "$f")
	for i in $(seq 1 $step 49); do
		n=$((size * i / 50))
		case $b in
		*.pt2)
			head -c $n "$f" >"$T/cut.pt2"
			"$BIN" verify "$T/cut.pt2" >/dev/null 2>"$T/err"; rc=$?
			check "$b cut at $n (verify)"
			if [ $((i % 10)) = 1 ]; then # the other readers say the same
				"$BIN" convert -q "$T/cut.pt2" -o "$T/out.pt2" >/dev/null 2>"$T/err"; rc=$?
				check "$b cut at $n (convert)"
				[ -e "$T/out.pt2" ] && bad "$b cut at $n: convert wrote an output"
			fi ;;
		*)
			head -c $n "$f" >"$T/cut.partitioned.json"
			"$BIN" export -q "$T/cut.partitioned.json" -o "$T/out.pt2" >/dev/null 2>"$T/err"; rc=$?
			check "$b cut at $n (export)" ;;
		esac
	done
done
[ "$n_files" -ge 10 ] && ok || bad "only $n_files fixtures found under $SHARED/fixtures"

# cut right after an engine object's nested zip: its end record ends the file
for f in "$SHARED"/fixtures/torch-2.11/*.normal.pt2; do
	b=$(basename "$f")
	for end in $(python3 - "$f" <<'PY'
import sys, zipfile, struct
d = open(sys.argv[1], "rb").read()
for i in zipfile.ZipFile(sys.argv[1]).infolist():
    if "custom_obj_" in i.filename:
        n, x = struct.unpack("<HH", d[i.header_offset + 26:i.header_offset + 30])
        print(i.header_offset + 30 + n + x + i.compress_size)
PY
	); do
		head -c "$end" "$f" >"$T/cut.pt2"
		"$BIN" verify "$T/cut.pt2" >/dev/null 2>"$T/err"; rc=$?
		check "$b cut after a nested zip at $end"
		grep -q "is that of a zip stored in the member at byte" "$T/err" && ok || bad "$b cut at $end: $(head -c 300 "$T/err")"
	done
done

# bytes appended after a whole archive are still read, as Python's zipfile and miniz read them
f=$SHARED/fixtures/torch-2.11/hybrid_gated_fallback.normal.pt2
{ cat "$f"; printf 'appended'; } >"$T/app.pt2"
"$BIN" verify "$T/app.pt2" >/dev/null 2>"$T/err" && ok || bad "appended bytes: $(head -c 300 "$T/err")"

# an error inside an engine object's nested pickle: offset within the member
for f in "$SHARED"/fixtures/torch-2.11/*.normal.pt2; do
	b=$(basename "$f")
	want=$(python3 - "$f" "$T/bad.pt2" <<'PY'
import sys, io, zipfile, struct
src, dst = sys.argv[1:3]
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
    for info in zi.infolist():
        b = zi.read(info.filename)
        if info.filename.endswith("custom_obj_0"):
            inner = zipfile.ZipFile(io.BytesIO(b))
            e = next(i for i in inner.infolist() if i.filename.endswith("data.pkl"))
            n, x = struct.unpack("<HH", b[e.header_offset + 26:e.header_offset + 30])
            at = e.header_offset + 30 + n + x + inner.read(e.filename).index(b"X", 10)
            b = b[:at] + b"\xff" + b[at + 1:]  # not a pickle opcode
            print(at, info.filename)
        zo.writestr(info.filename, b)
PY
)
	[ -n "$want" ] || continue
	"$BIN" verify "$T/bad.pt2" >/dev/null 2>"$T/err"; rc=$?
	at=${want%% *} member=${want#* }
	if [ $rc = 1 ] && grep -qF "$member (nested " "$T/err" && grep -qF "(at byte $at)" "$T/err"; then ok
	else bad "$b nested pickle: wanted $member at byte $at: $(head -c 300 "$T/err")"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
