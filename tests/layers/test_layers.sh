#!/usr/bin/env bash
# The layer order of src/README.md, checked on the include graph and on the link symbols of this
# build's object files (tools/check_layers.py fails on an upward edge).
set -u
exec python3 "$PT2C_SOURCE/tools/check_layers.py" --objects "$PT2C_BUILD"
