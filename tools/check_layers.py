#!/usr/bin/env python3
"""check_layers.py [--objects BUILD_DIR] -- check pt2c's layer order (src/README.md):

    util <- ir <- serde, export <- lib <- cli

A layer may use only the layers below it: serde and export are siblings and use neither each
other nor anything above them. Checked on
  1. the include graph: every #include "..." in src/<layer>/*.[ch] that names a file of another
     layer under src/ (include/pt2c/*.h, the public types, may be included anywhere);
  2. with --objects, the link-symbol graph: for each object file of a layer (nm), every undefined
     symbol that another layer's object defines; the CLI may use only public pt2c_* symbols.
Prints every upward edge as "file: uses LAYER (what)" and exits 1 if there is one. Standard
library only; nm from binutils for the second check.
"""
import os
import re
import subprocess
import sys

RANK = {"util": 0, "ir": 1, "serde": 2, "export": 2, "lib": 3, "cli": 4}
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SRC = os.path.join(ROOT, "src")


def allowed(user, used):
    """May layer `user` use layer `used`?"""
    if user == used:
        return True
    return RANK[used] < RANK[user]


def layer_of_include(user_layer, src_file, name):
    """Layer of the file named by an #include "name" in src_file, or None (public header, system)."""
    first = name.split("/")[0]
    if first in RANK and os.path.exists(os.path.join(SRC, name)):
        return first
    if os.path.exists(os.path.join(os.path.dirname(src_file), name)):
        return user_layer  # same folder
    return None


def check_includes():
    bad = []
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    for layer in RANK:
        d = os.path.join(SRC, layer)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            if not fn.endswith((".c", ".h")):
                continue
            path = os.path.join(d, fn)
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = inc.match(line)
                    if not m:
                        continue
                    used = layer_of_include(layer, path, m.group(1))
                    if used and not allowed(layer, used):
                        bad.append("src/%s/%s:%d: %s includes %s (layer %s)" % (layer, fn, lineno, layer, m.group(1), used))
    return bad


def nm(path):
    out = subprocess.run(["nm", "-P", path], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        sym, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(sym)
        elif kind.isupper():
            defined.add(sym)
    return defined, undefined


def check_symbols(build):
    objs = []  # (layer, path)
    for dirpath, _, files in os.walk(build):
        parts = dirpath.replace("\\", "/").split("/")
        if "src" not in parts:
            continue
        i = len(parts) - 1 - parts[::-1].index("src")
        if i + 1 >= len(parts) or parts[i + 1] not in RANK:
            continue
        for fn in files:
            if fn.endswith(".o"):
                objs.append((parts[i + 1], os.path.join(dirpath, fn)))
    if not objs:
        return ["no object files under %s (build first)" % build]
    where = {}  # symbol -> layer defining it
    uses = []
    for layer, path in objs:
        d, u = nm(path)
        for s in d:
            where.setdefault(s, layer)
        uses.append((layer, path, u))
    bad = []
    for layer, path, u in uses:
        for s in sorted(u):
            used = where.get(s)
            if used and not allowed(layer, used):
                bad.append("%s: %s uses %s from layer %s" % (os.path.relpath(path, build), layer, s, used))
            elif used and layer == "cli" and used != "cli" and s.startswith("pt2c__"):
                bad.append("%s: cli uses the internal %s (the CLI only uses include/)" % (os.path.relpath(path, build), s))
    return bad


def main(argv):
    bad = check_includes()
    n_checks = "include graph"
    if len(argv) >= 2 and argv[0] == "--objects":
        bad += check_symbols(argv[1])
        n_checks += " and link symbols"
    for b in bad:
        print("upward edge: " + b)
    if bad:
        print("check_layers: %d upward edge(s); the order is util <- ir <- serde, export <- lib <- cli (src/README.md)" % len(bad))
        return 1
    print("check_layers: %s follow util <- ir <- serde, export <- lib <- cli" % n_checks)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
