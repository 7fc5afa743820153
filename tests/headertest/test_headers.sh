#!/usr/bin/env bash
# Every public header (include/pt2c.h, include/pt2c/*.h) must stand on its own: compile it as the
# only include of a C11 translation unit with -Wall -Wextra -pedantic -Werror, included twice (so
# a missing include guard shows), and as C++11 (so extern "C" and C-only syntax show). Headers are
# read only from include/, never src/, exactly as an installed consumer sees them.
set -u
SRC=${PT2C_SOURCE:?PT2C_SOURCE must point at the source tree}
CC=${CC:-cc}
CXX=${CXX:-g++}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# compile NAME CMD...: run a compiler; show its diagnostics on failure
compile() {
	local name=$1; shift
	if "$@" >"$T/log" 2>&1; then ok "$name"; else bad "$name"; head -n 30 "$T/log"; fi
}

headers=$(cd "$SRC/include" && ls pt2c.h pt2c/*.h)
[ -n "$headers" ] && ok "found public headers: $(echo $headers)" || bad "no public headers in $SRC/include"

have_cxx=0
if command -v "$CXX" >/dev/null 2>&1; then have_cxx=1; else
	echo "skipped: C++ checks need $CXX (Debian package g++)"
	skipped=1
fi

i=0
for h in $headers; do
	i=$((i + 1))
	tu=$T/tu$i.c
	# Including twice catches a missing or broken include guard; the dummy declaration keeps
	# -pedantic quiet about an otherwise empty translation unit.
	printf '#include <%s>\n#include <%s>\ntypedef int pt2c_headertest_nonempty;\n' "$h" "$h" >"$tu"
	compile "C11 $h" $CC -std=c11 -Wall -Wextra -pedantic -Werror -Wstrict-prototypes -Wmissing-prototypes \
		-Wshadow -Wvla -I"$SRC/include" -fsyntax-only "$tu"
	# Also without any feature-test macro the build adds: consumers rarely define _POSIX_C_SOURCE.
	compile "C99 $h" $CC -std=c99 -Wall -Wextra -pedantic -Werror -I"$SRC/include" -fsyntax-only "$tu"
	if [ "$have_cxx" = 1 ]; then
		compile "C++11 $h" $CXX -std=c++11 -Wall -Wextra -pedantic -Werror -I"$SRC/include" -fsyntax-only -x c++ "$tu"
	fi
done

# In C++ every declaration must have C linkage: a function declared in a header and defined in C
# must resolve to the same unmangled symbol. Take the address of each public function and check
# the object file refers to it by its C name.
if [ "$have_cxx" = 1 ]; then
	api=$($CC -E -P -I"$SRC/include" "$SRC/include/pt2c.h" | grep -oE '\bpt2c_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u)
	{
		echo '#include <pt2c.h>'
		echo 'extern "C" void *pt2c_headertest_table[];'
		echo 'void *pt2c_headertest_table[] = {'
		for f in $api; do echo "  reinterpret_cast<void *>(&$f),"; done
		echo '  0 };'
	} >"$T/linkage.cc"
	if $CXX -std=c++11 -I"$SRC/include" -c "$T/linkage.cc" -o "$T/linkage.o" 2>"$T/log"; then
		mangled=$(nm -u "$T/linkage.o" | awk '{ print $2 }' | grep '^_Z' | grep pt2c || true)
		if [ -z "$mangled" ] && [ -n "$api" ]; then ok "C++ sees all $(echo "$api" | wc -l) public functions with C linkage"
		else bad "C++ mangles public functions: $mangled"; fi
	else
		bad "C++ linkage table does not compile"; head -n 20 "$T/log"
	fi
fi

echo "# $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
