#!/usr/bin/env python3
"""Client-side interop: a real MPP client (mppx, pympp) pays mock-merchant.

    client_check.py PEER VERSION -- <client command...>

The client command gets `<url> <issue-spt command>` appended and prints one
JSON line (interop/node/mppx.mjs client, interop/python/pympp_peer.py client).
Environment: LINK, MERCHANT (base URLs), SECRET_KEY, OUT, ISSUE_SPT.

Per merchant, from mock-merchant's ledger and mock-link:
 - `api` (stripe among tempo and lightning in one WWW-Authenticate value),
   `api-split` (the same over several fields, mixed with Bearer and Basic) and
   `credential-header` (`header="Payment-Authorization"`): the client must
   pay: 200, one credential in the field the challenge names, the merchant
   paid, the receipt parsed by the client with the merchant's PaymentIntent,
   which mock-link holds as succeeded, its SPT redeemed exactly once.
 - `api-session` (a stripe session challenge) and `unsupported-header` (the
   challenge names `header="X-Payment"`, outside draft -02's allow-list):
   recorded as they are (which fields got a credential, what the merchant
   answered); neither may end in a payment.
Failures print `FAIL <peer> <version>: <message>`.
"""

import base64
import json
import os
import subprocess
import sys

from common import Report, http

sep = sys.argv.index("--")
PEER, VERSION = sys.argv[1:3]
COMMAND = sys.argv[sep + 1:]
LINK, MERCHANT = os.environ["LINK"], os.environ["MERCHANT"]
SECRET_KEY = os.environ.get("SECRET_KEY", "sk_test_mock_merchant")
ISSUE_SPT = os.environ["ISSUE_SPT"]
MUST_PAY = {"api": "/m/api/report", "api-split": "/m/api-split/report",
            "credential-header": "/m/credential-header/report"}
RECORD_ONLY = {"api-session": "/m/api-session/stream",
               "unsupported-header": "/m/unsupported-header/report"}

report = Report(PEER, VERSION)
fail = report.fail
record = {"peer": PEER, "version": VERSION, "merchants": {}}


def get_json(url, headers=None):
    status, _, body = http("GET", url, headers)
    if status != 200:
        raise RuntimeError(f"GET {url} answered {status}: {body}")
    return body


def merchant_ledger(merchant, after):
    data = get_json(f"{MERCHANT}/__control/ledger?merchant={merchant}")["data"]
    return [e for e in data if e["seq"] > after]


def last_seq():
    data = get_json(f"{MERCHANT}/__control/ledger")["data"]
    return max((e["seq"] for e in data), default=0)


def run_client(url):
    run = subprocess.run([*COMMAND, url, ISSUE_SPT], capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    if run.returncode != 0 or not lines:
        raise RuntimeError(f"the client exited {run.returncode}: {run.stdout[-400:]} {run.stderr[-400:]}")
    return json.loads(lines[-1])


def summary(result, entries):
    return {
        "status": result.get("status"),
        "error": result.get("error"),
        "receipt": result.get("receipt"),
        "receipt_error": result.get("receipt_error"),
        "credential_fields": [e.get("header") for e in entries if e["event"] == "credential_received"],
        "merchant_events": [e["event"] + (f" {e['problem']}" if e.get("problem") else "") for e in entries],
        "problem": result.get("body", {}).get("type") if isinstance(result.get("body"), dict) else None,
    }


def check_paid(merchant, result, entries, seen):
    fields = seen["credential_fields"]
    want_field = "payment-authorization" if merchant == "credential-header" else "authorization"
    if result.get("status") != 200:
        fail(f"{merchant}: status {result.get('status')} {result.get('error') or result.get('body')}")
        return
    if fields != [want_field]:
        fail(f"{merchant}: credentials arrived in {fields}, want one in {want_field}")
    paid = [e for e in entries if e["event"] == "paid"]
    if len(paid) != 1:
        fail(f"{merchant}: the merchant recorded {len(paid)} payments")
        return
    reference = paid[0].get("reference")
    receipt = result.get("receipt") or {}
    if receipt.get("reference") != reference or receipt.get("status") != "success":
        fail(f"{merchant}: the client's receipt {receipt or result.get('receipt_error')} does not carry {reference}")
    auth = base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    intent = get_json(f"{LINK}/v1/payment_intents/{reference}", {"Authorization": f"Basic {auth}"})
    if intent.get("status") != "succeeded":
        fail(f"{merchant}: {reference} is {intent.get('status')} at mock-link")
    ledger = get_json(f"{LINK}/__control/ledger")["data"]
    redeemed = [e for e in ledger if e["event"] == "redeemed" and e.get("credential") == paid[0].get("spt")]
    if len(redeemed) != 1:
        fail(f"{merchant}: the SPT was redeemed {len(redeemed)} times at mock-link")


def main():
    for merchant, path in {**MUST_PAY, **RECORD_ONLY}.items():
        before = last_seq()
        result = run_client(MERCHANT + path)
        entries = merchant_ledger(merchant, before)
        seen = summary(result, entries)
        record["merchants"][merchant] = seen
        if merchant in MUST_PAY:
            check_paid(merchant, result, entries, seen)
        elif any(e["event"] == "paid" for e in entries):
            fail(f"{merchant}: the merchant recorded a payment: {seen}")
        print(json.dumps({"peer": PEER, "merchant": merchant, **seen}), flush=True)


if __name__ == "__main__":
    report.run(main, record, f"client-{PEER}.json")
