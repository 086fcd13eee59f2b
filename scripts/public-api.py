#!/usr/bin/env python3
"""List the public items of a crate from rustdoc's JSON output, one path a line.

Usage: public-api.py target/doc/<crate>.json

Walks the crate from its root module the way a user reaches it (public
modules, re-exports), and lists each reachable item once: modules, types,
traits, functions, constants, enum variants, public struct fields and the
methods and associated items of inherent impls. Trait impls are left out
(they follow from the types). The output is sorted, so a diff shows what
changed.
"""
import json
import sys

KINDS = {"module", "struct", "enum", "union", "trait", "function", "constant",
         "static", "type_alias", "macro", "trait_alias"}


def main(path):
    doc = json.load(open(path))
    index = doc["index"]
    lines = set()
    seen = set()

    def kind_of(item):
        return next(iter(item["inner"]))

    def walk(item_id, prefix):
        item = index.get(str(item_id))
        if item is None or item["crate_id"] != 0:
            return
        kind = kind_of(item)
        if kind == "use":
            use = item["inner"]["use"]
            target = use["id"]
            if target is None:
                return
            if use["is_glob"]:
                module = index.get(str(target))
                if module and kind_of(module) == "module":
                    for child in module["inner"]["module"]["items"]:
                        walk(child, prefix)
                return
            walk_named(target, prefix + [use["name"]])
            return
        walk_named(item_id, prefix + [item["name"]])

    def walk_named(item_id, path):
        item = index.get(str(item_id))
        if item is None or item["crate_id"] != 0:
            return
        kind = kind_of(item)
        if kind not in KINDS:
            return
        key = (item_id, tuple(path))
        if key in seen:
            return
        seen.add(key)
        name = "::".join(path)
        lines.add(f"{kind} {name}")
        inner = item["inner"][kind]
        if kind == "module":
            for child in inner["items"]:
                walk(child, path)
        elif kind == "struct":
            fields = inner["kind"].get("plain", {}).get("fields", [])
            for field in fields:
                f = index.get(str(field))
                if f:
                    lines.add(f"field {name}::{f['name']}")
            impls(inner["impls"], name)
        elif kind == "enum":
            for variant in inner["variants"]:
                v = index.get(str(variant))
                if v:
                    lines.add(f"variant {name}::{v['name']}")
            impls(inner["impls"], name)
        elif kind == "trait":
            for child in inner["items"]:
                c = index.get(str(child))
                if c:
                    lines.add(f"trait-item {name}::{c['name']}")

    def impls(ids, owner):
        for impl_id in ids:
            impl = index.get(str(impl_id))
            if impl is None:
                continue
            body = impl["inner"]["impl"]
            if body["trait"] is not None or body["is_synthetic"] or body["blanket_impl"]:
                continue
            for child in body["items"]:
                c = index.get(str(child))
                if c and c["visibility"] == "public":
                    lines.add(f"{kind_of(c)} {owner}::{c['name']}")

    root = index[str(doc["root"])]
    crate = root["name"]
    for child in root["inner"]["module"]["items"]:
        walk(child, [crate])
    for line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1])
