#!/usr/bin/env python3
"""Agreement of each peer's decoding of the test kit's corpus with its oracle.

    agreement.py CORPUS.jsonl PEER=VERDICTS.jsonl... [--markdown FILE] [--json FILE]
                 [--expect interop/expected-agreement.json]

CORPUS is `mpp-testkit corpus` (each case's `expect` is mpp.md's answer);
each VERDICTS file is a peer's `decode` output (`{"name", "outcome", "id"?,
"network_id"?, "reason"?}` per line). A peer agrees on a case when it has the
same outcome and, for an accept, the same challenge id and network id.
Prints the table. Disagreements are findings (docs/interop.md), not failures;
with --expect, a case where a peer's agreement differs from the committed
expectation fails (exit 1), as does a peer that skipped or invented a case.
"""

import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def printable(text):
    """Lone surrogates (a peer's reading of `\\ud800`) and controls, escaped."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text.encode("utf-8", "backslashreplace").decode().replace("|", "\\|").replace("`", "'")


def verdict_text(v):
    if v["outcome"] == "accept":
        return f"accept `{printable(v.get('id', '')[:24])}`"
    reason = v.get("reason") or v.get("code") or ""
    if v.get("field"):
        reason += f" {v['field']}"
    return f"reject ({printable(reason.strip()[:70])})" if reason.strip() else "reject"


def agrees(expect, got):
    if expect["outcome"] != got["outcome"]:
        return False
    if expect["outcome"] == "accept":
        return expect.get("id") == got.get("id") and expect.get("network_id") == got.get("network_id")
    return True


def main():
    args = sys.argv[1:]
    markdown = json_out = None
    if "--markdown" in args:
        i = args.index("--markdown")
        markdown = args[i + 1]
        del args[i:i + 2]
    expect = None
    if "--expect" in args:
        i = args.index("--expect")
        expect = args[i + 1]
        del args[i:i + 2]
    if "--json" in args:
        i = args.index("--json")
        json_out = args[i + 1]
        del args[i:i + 2]
    corpus = load(args[0])
    peers = {}
    for spec in args[1:]:
        name, path = spec.split("=", 1)
        peers[name] = {v["name"]: v for v in load(path)}
    broken = [p for p, v in peers.items() if set(v) != {c["name"] for c in corpus}]
    rows, totals, cases = [], {p: 0 for p in peers}, []
    for case in corpus:
        cells, verdicts = [], {}
        for peer, verdicts_of in peers.items():
            got = verdicts_of.get(case["name"], {"outcome": "missing"})
            ok = agrees(case["expect"], got)
            totals[peer] += ok
            verdicts[peer] = {"agrees": ok, **got}
            cells.append("agrees" if ok else f"**{verdict_text(got)}**")
        cases.append({"name": case["name"], "expect": case["expect"], "peers": verdicts})
        rows.append(f"| `{case['name']}` | {verdict_text(case['expect'])} | " + " | ".join(cells) + " |")
    header = "| case | oracle (mpp.md) | " + " | ".join(peers) + " |"
    rule = "|---|---|" + "---|" * len(peers)
    total = f"| **agreements** | {len(corpus)} cases | " + " | ".join(f"**{totals[p]}**" for p in peers) + " |"
    table = "\n".join([header, rule, *rows, total])
    print(table)
    if markdown:
        with open(markdown, "w") as f:
            f.write(table + "\n")
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"totals": totals, "cases": cases}, f, indent=2)
    if broken:
        print(f"peers whose verdicts do not cover the corpus exactly: {broken}", file=sys.stderr)
        sys.exit(1)
    if expect:
        changed = compare_with(expect, cases)
        for line in changed:
            print(line)
        if changed:
            sys.exit(1)


def compare_with(path, cases):
    """Each peer's agreement per case against the committed expectation: a
    peer that starts or stops agreeing on a case is a change to look at (and
    to record in docs/interop.md, then in the expectation file)."""
    with open(path) as f:
        expected = json.load(f)
    lines = []
    for case in cases:
        for peer, verdict in case["peers"].items():
            was = expected.get(case["name"], {}).get(peer)
            if was is None:
                lines.append(f"FAIL {peer}: corpus case {case['name']} has no expectation in {path}")
            elif was != verdict["agrees"]:
                now = "agrees" if verdict["agrees"] else verdict_text(verdict)
                lines.append(f"FAIL {peer}: corpus case {case['name']}: expected "
                             f"{'agreement' if was else 'a disagreement'}, now {now}")
    return lines


if __name__ == "__main__":
    main()
