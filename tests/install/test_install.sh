#!/usr/bin/env bash
# Install the current source tree into a temporary prefix with `cmake --install --prefix` and use
# it the two ways a consumer would: `pkg-config pt2c` (shared and static) and a CMake project with
# find_package(pt2c) (pt2c::pt2c and pt2c::pt2c_shared). Each build of examples/c/minimal.c must
# export examples/tiny_hybrid.partitioned.json to the same bytes and print the same summary as the
# installed `pt2c export` + `pt2c inspect`. Offline; no network, nothing outside the temp folder.
set -u
SRC=${PT2C_SOURCE:?PT2C_SOURCE must point at the source tree}
CC=${CC:-cc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=$T/prefix
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# step NAME CMD...: run CMD with its output in $T/log; on failure show the log and stop
step() {
	local name=$1; shift
	if "$@" >"$T/log" 2>&1; then ok "$name"; else
		bad "$name"; tail -n 40 "$T/log"; echo "# $pass passed, $fail failed"; exit 1
	fi
}
jobs=$(nproc 2>/dev/null || echo 2)

# A bare build: no tests, no sanitizers, -O0 so that it stays well under a minute. The configured
# prefix is a decoy: everything must follow --prefix given at install time. Extra configure
# arguments (e.g. -DPT2C_BUILD_SHARED=OFF) can be passed in PT2C_INSTALL_CMAKE_ARGS.
step configure cmake -S "$SRC" -B "$T/build" -DPT2C_BUILD_TESTS=OFF -DPT2C_SANITIZER= \
	-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG=-O0 -DCMAKE_INSTALL_PREFIX=/nonexistent/pt2c-decoy \
	-DCMAKE_INSTALL_LIBDIR=lib ${PT2C_INSTALL_CMAKE_ARGS:-}
step build cmake --build "$T/build" -j "$jobs"
step install cmake --install "$T/build" --prefix "$P"

# --- what the install tree holds ---
for f in bin/pt2c lib/libpt2c.a include/pt2c.h lib/pkgconfig/pt2c.pc lib/cmake/pt2c/pt2cConfig.cmake \
	lib/cmake/pt2c/pt2cConfigVersion.cmake lib/cmake/pt2c/pt2cTargets.cmake; do
	check "installed $f" test -f "$P/$f"
done
for h in "$SRC"/include/pt2c/*.h; do
	check "installed include/pt2c/${h##*/}" cmp -s "$h" "$P/include/pt2c/${h##*/}"
done
# Only include/ is public: no private header (src/**/*.h) may leak into the install tree.
leaked=$(cd "$P/include" && find . -name '*.h' | sed 's|^\./||' | grep -v -e '^pt2c\.h$' -e '^pt2c/[^/]*\.h$')
check "no private headers installed" test -z "$leaked"
[ -n "$leaked" ] && echo "  leaked: $leaked"
check "no src/ path in the CMake targets" bash -c "! grep -q '$SRC/src' '$P'/lib/cmake/pt2c/*.cmake"
check "no build or source path in pt2c.pc" bash -c "! grep -q -e '$SRC' -e '$T/build' -e decoy '$P/lib/pkgconfig/pt2c.pc'"
SO=""
if [ -e "$P/lib/libpt2c.so" ]; then
	SO=$P/lib/libpt2c.so
	soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	check "libpt2c.so has a soname ($soname)" test -n "$soname"
	check "soname link $soname installed" test -e "$P/lib/$soname"
fi

# --- the public API is exactly what the library exports ---
api=$("$CC" -E -P -I"$SRC/include" "$SRC/include/pt2c.h" | grep -oE '\bpt2c_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u)
check "public headers declare functions" test -n "$api"
archive_syms=$(nm -g --defined-only "$P/lib/libpt2c.a" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u)
missing=$(comm -23 <(echo "$api") <(echo "$archive_syms"))
check "every public function is defined in libpt2c.a" test -z "$missing"
[ -n "$missing" ] && echo "  missing: $(echo $missing)"
# A static library cannot hide symbols, so every global one must carry the pt2c_ prefix.
foreign=$(echo "$archive_syms" | grep -v '^pt2c_' || true)
check "libpt2c.a defines only pt2c_* globals" test -z "$foreign"
[ -n "$foreign" ] && echo "  outside the namespace: $(echo $foreign | head -c 600)"
if [ -n "$SO" ]; then
	so_syms=$(nm -D --defined-only "$SO" | awk 'NF == 3 { print $3 }' | sort -u)
	check "libpt2c.so exports exactly the public functions" test "$so_syms" = "$api"
	[ "$so_syms" != "$api" ] && diff <(echo "$api") <(echo "$so_syms") | head -20
fi

# --- reference output from the installed CLI ---
IN=$SRC/examples/tiny_hybrid.partitioned.json
mkdir -p "$T/ref"
step "installed pt2c --version" "$P/bin/pt2c" --version
check "pt2c --version names 0.1" grep -q '^pt2c 0\.1' "$T/log"
step "installed pt2c export" "$P/bin/pt2c" export -q "$IN" -o "$T/ref/out.pt2"
"$P/bin/pt2c" inspect "$T/ref/out.pt2" >"$T/ref/summary.txt" 2>"$T/log"
check "installed pt2c inspect" test -s "$T/ref/summary.txt"

# try NAME BINARY [ENV...]: run one build of minimal and compare it with the CLI's results
try() {
	local name=$1 bin=$2; shift 2
	mkdir -p "$T/$name"
	if ! env "$@" "$bin" "$IN" "$T/$name/out.pt2" >"$T/$name/summary.txt" 2>"$T/$name/err"; then
		bad "$name runs"; head -c 600 "$T/$name/err"; return
	fi
	ok "$name runs"
	check "$name writes a zip archive" bash -c "head -c 4 '$T/$name/out.pt2' | od -An -tx1 | grep -q '50 4b 03 04'"
	check "$name archive equals pt2c export's" cmp -s "$T/ref/out.pt2" "$T/$name/out.pt2"
	check "$name summary equals pt2c inspect's" cmp -s "$T/ref/summary.txt" "$T/$name/summary.txt"
	# A missing input must fail with the formatted error naming the file, and write nothing.
	env "$@" "$bin" "$T/no-such.json" "$T/$name/bad.pt2" >/dev/null 2>"$T/$name/err2"
	local rc=$?
	check "$name fails on a missing file (exit $rc)" test "$rc" -eq 1
	check "$name error names the file" grep -q "minimal: .*no-such\.json" "$T/$name/err2"
	check "$name leaves no output on failure" test ! -e "$T/$name/bad.pt2"
}

# --- pkg-config ---
export PKG_CONFIG_PATH=$P/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
check "pkg-config --modversion pt2c" test "$(pkg-config --modversion pt2c)" = "$(sed -n 's/^project(pt2c VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
CWARN="-std=c11 -Wall -Wextra -pedantic -Werror"
# Default link: libpt2c.so when it is installed (the linker prefers it), else libpt2c.a.
step "pkg-config build" $CC $CWARN "$SRC/examples/c/minimal.c" -o "$T/m_pc" $(pkg-config --cflags --libs pt2c)
try pkgconfig "$T/m_pc" LD_LIBRARY_PATH="$P/lib"
if [ -n "$SO" ]; then
	check "pkg-config build uses libpt2c.so" bash -c "readelf -d '$T/m_pc' | grep -q 'NEEDED.*libpt2c'"
fi
# Static link: only works if Requires.private brings in libdeflate.
step "pkg-config --static build" $CC $CWARN "$SRC/examples/c/minimal.c" -o "$T/m_pc_static" \
	$(pkg-config --cflags pt2c) -Wl,-Bstatic $(pkg-config --static --libs pt2c) -Wl,-Bdynamic
check "static build needs no libpt2c.so" bash -c "! readelf -d '$T/m_pc_static' | grep -q 'NEEDED.*libpt2c'"
try pkgconfig_static "$T/m_pc_static"

# --- CMake find_package ---
mkdir -p "$T/consumer"
cat >"$T/consumer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(pt2c_consumer C)
find_package(pt2c 0.1 REQUIRED)
find_package(pt2c 99.0 QUIET)
if(pt2c_FOUND)
  message(FATAL_ERROR "find_package(pt2c 99.0) accepted version \${pt2c_VERSION}")
endif()
find_package(pt2c 0.1 REQUIRED)
set(CMAKE_C_STANDARD 11)
add_executable(minimal_static "$SRC/examples/c/minimal.c")
target_compile_options(minimal_static PRIVATE -Wall -Wextra -pedantic -Werror)
target_link_libraries(minimal_static PRIVATE pt2c::pt2c)
if(TARGET pt2c::pt2c_shared)
  add_executable(minimal_shared "$SRC/examples/c/minimal.c")
  target_link_libraries(minimal_shared PRIVATE pt2c::pt2c_shared)
endif()
EOF
step "find_package(pt2c) configure" cmake -S "$T/consumer" -B "$T/consumer/build" -DCMAKE_PREFIX_PATH="$P" \
	-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Debug
step "find_package(pt2c) build" cmake --build "$T/consumer/build" -j "$jobs"
try cmake_static "$T/consumer/build/minimal_static"
if [ -n "$SO" ]; then
	check "pt2c::pt2c_shared target exists" test -x "$T/consumer/build/minimal_shared"
	# CMake sets a build-tree RPATH to the installed library, so no LD_LIBRARY_PATH here.
	try cmake_shared "$T/consumer/build/minimal_shared"
fi

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
