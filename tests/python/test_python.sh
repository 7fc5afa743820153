#!/usr/bin/env bash
# The Python package as a user gets it: a fresh virtual environment, the README's install command
# (offline: pip install --no-index --no-build-isolation), then the torch-free suite against the CLI
# and the torch suite (which skips, saying so, where torch is not installed -- as here; it runs on
# the accelerator machine). Skipped in sanitizer builds: the package compiles its own library.
set -euo pipefail
if [ -n "${PT2C_SANITIZER:-}" ]; then echo "skipped: sanitizer build (the package builds its own library)"; exit 0; fi
src="${PT2C_SOURCE:?}"
py=/usr/bin/python3; [ -x "$py" ] || py=python3
venv="$PWD/pyvenv"
rm -rf "$venv"
"$py" -m venv --system-site-packages "$venv"
(cd "$src" && "$venv/bin/pip" install -q --no-index --no-build-isolation --no-warn-script-location . )
cd "$PWD"  # not the source tree: import the installed package
PT2C_BIN="${PT2C_BIN:?}" PT2C_SHARED="${PT2C_SHARED:?}" "$venv/bin/python" "$src/tests/python/test_files.py"
PT2C_SHARED="$PT2C_SHARED" "$venv/bin/python" "$src/tests/python/test_rawgraph.py"
PT2C_SHARED="$PT2C_SHARED" "$venv/bin/python" "$src/tests/python/test_torch.py"
