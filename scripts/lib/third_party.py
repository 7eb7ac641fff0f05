"""The crates compiled into bin/loadgen and bin/verify (normal dependencies,
not dev- or build-only), with their licences, from `cargo metadata` on stdin."""
import json
import sys

m = json.load(sys.stdin)
ours = {p["id"] for p in m["packages"] if p["name"] in ("verify", "loadgen")}
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
seen, todo = set(), list(ours)
while todo:
    for d in nodes[todo.pop()]["deps"]:
        if any(k["kind"] is None for k in d["dep_kinds"]) and d["pkg"] not in seen:
            seen.add(d["pkg"])
            todo.append(d["pkg"])
packages = {p["id"]: p for p in m["packages"]}
print("Crates compiled into bin/loadgen and bin/verify, with their licences (from each crate's Cargo.toml).\n")
for p in sorted((packages[i] for i in seen if i not in ours), key=lambda p: (p["name"], p["version"])):
    licence = p.get("license") or p.get("license_file") or "see the crate"
    print("%s %s: %s" % (p["name"], p["version"], licence))
