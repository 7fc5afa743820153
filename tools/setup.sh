#!/usr/bin/env bash
# setup.sh [--tests] [--ci] -- make sure the Debian packages pt2c needs are installed.
#   (no option)  building the library, the CLI and the examples: cmake make gcc libc6-dev pkg-config libdeflate-dev
#   --tests      also what the test suite uses: python3 (CLI output checks), g++ (C++ header checks),
#                python3-venv/-pip/-setuptools/-wheel (the Python package's offline install test)
#   --ci         also clang and its sanitizer/libFuzzer runtimes (libclang-rt-14-dev, only Recommended
#                by clang, so not there with --no-install-recommends) for .ci/run; implies --tests
# Idempotent: it only calls apt-get when a package is missing, and only as root; otherwise it
# names the missing packages and the command to install them, and exits 1.
set -euo pipefail

pkgs="cmake make gcc libc6-dev pkg-config libdeflate-dev ${PT2C_SETUP_EXTRA:-}"
py="python3-venv python3-pip python3-setuptools python3-wheel"
for arg in "$@"; do
	case $arg in
	--tests) pkgs="$pkgs python3 g++ $py" ;;
	--ci) pkgs="$pkgs python3 g++ $py clang libclang-rt-14-dev" ;;
	-h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
	esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "setup.sh: not a Debian system (no dpkg-query); make sure these are installed: $pkgs" >&2
	exit 0
fi

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: missing Debian packages:$missing" >&2
	echo "setup.sh: install them as root:  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
echo "setup.sh: installing missing Debian packages:$missing" >&2
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
