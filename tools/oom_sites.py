#!/usr/bin/env python3
"""oom_sites.py FILE [--list] -- count the distinct allocation-failure sites a failing-allocator
run reached. FILE is what the test harness writes with PT2C_OOM_SITES=FILE set (one line per
refused allocation: the executable, then return addresses relative to its load address).

A site is the source line (file:line, through addr2line) of the first frame that is neither the
harness nor src/util/alloc.c: the library line that asked for memory (an arena, buffer or map
growing counts as the line in arena.c, buf.c or map.c that grows it). Prints the count, per
layer, and with --list every site with how often it failed.
"""
import collections
import os
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    stacks = collections.defaultdict(list)  # exe -> list of address lists
    with open(args[0]) as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1:
                stacks[parts[0]].append([int(a, 16) - 1 for a in parts[1:]])  # return address -> call
    sites = collections.Counter()
    for exe, lists in stacks.items():
        addrs = sorted({a for lst in lists for a in lst})
        out = subprocess.run(["addr2line", "-e", exe] + ["%#x" % a for a in addrs], capture_output=True,
                             text=True, check=True).stdout.split("\n")
        where = dict(zip(addrs, out))
        for lst in lists:
            for a in lst:
                loc = where.get(a, "??:0").split(" (discriminator")[0]
                name = loc.rsplit(":", 1)[0]
                if name.endswith(("tests/harness.c", "src/util/alloc.c")):
                    continue
                if "/src/" in name:
                    loc = "src/" + loc.split("/src/", 1)[1]
                sites[loc] += 1
                break
    lib = {s: n for s, n in sites.items() if s.startswith("src/")}
    print(f"{len(lib)} distinct library allocation sites failed ({sum(lib.values())} refused allocations)")
    layers = collections.Counter(s.split("/")[1] for s in lib)
    print("  by layer: " + ", ".join(f"{k} {v}" for k, v in sorted(layers.items())))
    other = {s: n for s, n in sites.items() if not s.startswith("src/")}
    if other:
        print(f"  {len(other)} outside src/: " + ", ".join(sorted(other)[:5]))
    if "--list" in sys.argv:
        for s, n in sorted(lib.items()):
            print(f"{n:6d}  {s}")


if __name__ == "__main__":
    main()
