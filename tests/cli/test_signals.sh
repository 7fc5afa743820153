#!/usr/bin/env bash
# Issue 11 #3: no temporary file is left behind when pt2c is stopped by SIGINT, SIGTERM, SIGHUP or
# SIGQUIT while writing (it dies by that signal after removing it), and an input that shrinks
# while mapped (SIGBUS) is reported as "input file changed while being read: <path>" with exit 3.
# tests/cli/fault_shim.c (LD_PRELOAD) raises the signal or truncates the input at a known moment.
set -u
BIN=${PT2C_BIN:?}
SHARED=${PT2C_SHARED:?}
SHIM=${PT2C_SHIM:?}
FIX=$SHARED/fixtures/torch-2.11
HY=$FIX/hybrid_gated_fallback.normal.pt2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# the shim comes first in the library list, which ASan would otherwise refuse
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
ulimit -c 0 # SIGQUIT's default action dumps core
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
rc_is() { if [ "$2" -eq "$3" ]; then ok "$1"; else bad "$1 (exit $2, wanted $3): $(head -c 400 "$T/err")"; fi; }
clean() { # clean NAME DIR: DIR holds no temporary file and no output
	if ls -a "$2" | grep -q '\.tmp\.'; then bad "$1 left a temporary file: $(ls "$2")"; else ok "$1 leaves no temporary file"; fi
	if [ -e "$2/out.pt2" ]; then bad "$1 left an output"; else ok "$1 leaves no output"; fi
}
says() { if grep -qF -- "$2" "$T/err"; then ok "$1"; else bad "$1: stderr lacks '$2': $(head -c 400 "$T/err")"; fi; }
shim() { env LD_PRELOAD="$SHIM" "$@"; }
exec_bin() { exec "$BIN" "$@"; } # in a background job: $! is pt2c's own pid

# --- the shim works: without a signal the write succeeds (so the cases below test pt2c) ---
mkdir -p "$T/ok"
shim "$BIN" convert -q "$HY" -o "$T/ok/out.pt2" >"$T/out" 2>"$T/err"; rc_is shim-neutral $? 0
mkdir -p "$T/ref"; "$BIN" convert -q "$HY" -o "$T/ref/out.pt2"
cmp -s "$T/ok/out.pt2" "$T/ref/out.pt2" && ok shim-same-bytes || bad shim-same-bytes

# --- a signal while the finished output sits in its temporary file (before the rename) ---
for s in INT:2 TERM:15 HUP:1 QUIT:3; do
	name=${s%%:*} n=${s##*:}
	for c in convert resolve-cross export; do
		src=$HY; [ $c = export ] && src=$FIX/hybrid_gated_fallback.partitioned.json
		d="$T/$name-$c"; mkdir -p "$d"
		PT2C_SHIM_SIGNAL=$n shim "$BIN" $c -q "$src" -o "$d/out.pt2" >"$T/out" 2>"$T/err"
		rc_is "sig$name-$c-status" $? $((128 + n))
		clean "sig$name-$c" "$d"
	done
done
# --- in the middle of writing (the first pwrite), with several writer threads ---
d="$T/pw"; mkdir -p "$d"
PT2C_SHIM_SIGNAL_PWRITE=15 shim "$BIN" convert -q --threads 4 "$HY" -o "$d/out.pt2" >"$T/out" 2>"$T/err"
rc_is sigTERM-pwrite-status $? 143
clean sigTERM-pwrite "$d"
# --- engines -d: the extracted file's temporary file goes too ---
d="$T/eng"; mkdir -p "$d"
PT2C_SHIM_SIGNAL=2 shim "$BIN" engines "$HY" -d "$d" >"$T/out" 2>"$T/err"
rc_is sigINT-engines-status $? 130
if ls -a "$d" | grep -q '\.tmp\.'; then bad "sigINT-engines left a temporary file"; else ok "sigINT-engines leaves no temporary file"; fi

# --- a signal sent by another process while pt2c waits in fsync ---
for s in TERM:15 HUP:1; do
	name=${s%%:*} n=${s##*:}
	d="$T/ext-$name"; mkdir -p "$d"
	PT2C_SHIM_STOP="$T/stopped-$name" LD_PRELOAD="$SHIM" exec_bin convert -q "$HY" -o "$d/out.pt2" >"$T/out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 600); do [ -e "$T/stopped-$name" ] || ! kill -0 $pid 2>/dev/null && break; sleep 0.1; done
	if ls -a "$d" | grep -q '\.tmp\.'; then ok "ext$name-temporary-file-exists"; else bad "ext$name-temporary-file-exists"; fi
	kill -$name $pid
	wait $pid
	rc_is "ext$name-status" $? $((128 + n))
	clean "ext$name" "$d"
done

# --- kill -9 leaves the temporary file; the next write of the same output removes it ---
d="$T/k9"; mkdir -p "$d"
PT2C_SHIM_STOP="$T/stopped-k9" LD_PRELOAD="$SHIM" exec_bin convert -q "$HY" -o "$d/out.pt2" >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 600); do [ -e "$T/stopped-k9" ] || ! kill -0 $pid 2>/dev/null && break; sleep 0.1; done
kill -KILL $pid; wait $pid
stale=$(ls "$d" | grep "^out\.pt2\.tmp\.$pid\.[A-Za-z0-9]\{6\}$")
[ -n "$stale" ] && ok "kill-9-leaves-$stale" || bad "kill-9 left no out.pt2.tmp.$pid.XXXXXX: $(ls "$d")"
# files that look alike but are not ours to remove stay
touch "$d/out.pt2.tmp.1.abcdef" "$d/out.pt2.tmp.$pid.abc" "$d/other.pt2.tmp.$pid.abcdef" "$d/out.pt2.tmp.$$.abcdef"
ln -s /dev/null "$d/out.pt2.tmp.999999999.abcdef"
"$BIN" convert -q "$HY" -o "$d/out.pt2" >"$T/out" 2>"$T/err"; rc_is kill-9-next-write $? 0
[ -n "$stale" ] && [ ! -e "$d/$stale" ] && ok stale-removed || bad "stale-removed: $(ls "$d")"
for keep in out.pt2.tmp.1.abcdef "out.pt2.tmp.$pid.abc" "other.pt2.tmp.$pid.abcdef" "out.pt2.tmp.$$.abcdef" out.pt2.tmp.999999999.abcdef; do
	[ -e "$d/$keep" ] || [ -L "$d/$keep" ] && ok "kept-$keep" || bad "kept-$keep: removed"
done

# --- SIGBUS: the input shrinks while it is mapped ---
cp "$HY" "$T/in.pt2"
for c in verify inspect convert; do
	cp "$HY" "$T/in.pt2"; d="$T/bus-$c"; mkdir -p "$d"
	o=(); [ $c = convert ] && o=(-q -o "$d/out.pt2")
	PT2C_SHIM_TRUNCATE="$T/in.pt2" shim "$BIN" $c "$T/in.pt2" "${o[@]}" >"$T/out" 2>"$T/err"
	rc_is "sigbus-$c-status" $? 3
	says "sigbus-$c-message" "input file changed while being read: $T/in.pt2"
	clean "sigbus-$c" "$d"
done
# while the output's temporary file exists (the input shrinks at the first write)
cp "$HY" "$T/in.pt2"; d="$T/bus-w"; mkdir -p "$d"
PT2C_SHIM_TRUNCATE="$T/in.pt2" PT2C_SHIM_TRUNCATE_AT=pwrite shim "$BIN" convert -q "$T/in.pt2" -o "$d/out.pt2" >"$T/out" 2>"$T/err"
rc_is sigbus-writing-status $? 3
says sigbus-writing-message "input file changed while being read"
clean sigbus-writing "$d"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
