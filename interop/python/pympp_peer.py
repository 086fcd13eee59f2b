#!/usr/bin/env python3
"""pympp (PyPI, pinned in requirements.txt) as an interop peer for interop/run.sh.

    pympp_peer.py serve <stripe api base> <secret key> <network id>
        A merchant on pympp's server with its stripe charge method. Its Stripe
        calls go to the given base (mock-link) through the ``client`` option: a
        stripe-python StripeClient whose ``api`` base address is mock-link
        (pympp's own ``secret_key`` mode always calls api.stripe.com). Serves
        GET /paid (25.00 usd) on 127.0.0.1, free port; prints
        ``listening http://127.0.0.1:<port>`` once it accepts.

    pympp_peer.py client <url> <issue-spt command...>
        pympp's client pays <url>. Its stripe method's create_token runs the
        command with ``<network id> <amount> <currency>`` appended and reads an
        SPT on stdout. Prints one JSON line: status, the receipt as pympp
        parses it, the body, or the error.

    pympp_peer.py decode < corpus.jsonl
        mpp-testkit corpus cases decoded the way pympp's client reads a 402
        (each field value split into Payment challenges, each parsed alone,
        failures skipped) under Link's selection rule.
"""

import asyncio
import base64
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAYABLE_INTENTS = ("charge", "session")


def serve(api_base, secret_key, network_id):
    import stripe as stripe_sdk
    from mpp.methods.stripe import server as stripe
    from mpp.server import Mpp, Request

    client = stripe_sdk.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=0)
    mpp = Mpp(
        methods=stripe.charge(client=client, network_id=network_id, currency="usd"),
        realm="interop.pympp",
        secret_key="interop-pympp-challenge-binding-key-0123456789",
    )
    charge = mpp.charge(amount="25.00", description="interop report")
    # One event loop for every request: the Stripe client's async HTTP
    # session belongs to the loop that created it.
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/paid":
                return self.answer(404, {"Content-Type": "application/json"}, b'{"error":"not found"}')
            url = f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}"
            request = Request("GET", url, headers=list(self.headers.items()))
            result = asyncio.run_coroutine_threadsafe(charge(request), loop).result(timeout=60)
            if result.status != 200:
                response = result.challenge
            else:
                from mpp.server import Response

                response = result.with_receipt(Response.json({"paid": True, "reference": result.receipt.reference}))
            self.answer(response.status, response.headers.multi_items(), response.body or b"")

        def answer(self, status, headers, body):
            self.send_response(status)
            for name, value in headers.items() if isinstance(headers, dict) else headers:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


async def client(url, issue_spt):
    from mpp import Receipt
    from mpp.client import Mpp
    from mpp.methods.stripe import client as stripe

    async def create_token(params):
        run = subprocess.run([*issue_spt, params.network_id, str(params.amount), params.currency],
                             capture_output=True, text=True, check=True)
        return run.stdout.strip()

    out = {"url": url}
    engine = Mpp(methods=[stripe.charge(create_token=create_token, payment_method="pm_card_visa")])
    try:
        async with engine.client() as http:
            response = await http.get(url)
        out["status"] = response.status_code
        try:
            out["body"] = response.json()
        except ValueError:
            out["body"] = response.text[:500]
        receipt = response.headers.get("payment-receipt")
        if receipt:
            try:
                parsed = Receipt.from_payment_receipt(receipt)
                out["receipt"] = {"status": parsed.status, "method": parsed.method, "reference": parsed.reference}
            except Exception as error:  # the finding is the parse failure itself
                out["receipt_error"] = f"{type(error).__name__}: {error}"
    except Exception as error:
        out["error"] = f"{type(error).__name__}: {error}".splitlines()[0]
    print(json.dumps(out))


def field_values(case):
    if isinstance(case.get("headers"), list):
        return [v.encode("utf-8").decode("latin-1") for v in case["headers"]]
    return [base64.b64decode(v).decode("latin-1") for v in case["headers_base64"]]


def select(values):
    from mpp import Challenge
    from mpp._parsing import ParseError
    from mpp.client.transport import _payment_challenges

    for value in values:
        for field in _payment_challenges(value):
            try:
                challenge = Challenge.from_www_authenticate(field)
            except (ParseError, ValueError):
                continue
            if challenge.method != "stripe" or challenge.intent not in PAYABLE_INTENTS:
                continue
            request = challenge.request if isinstance(challenge.request, dict) else {}

            def text(v):
                return v if isinstance(v, str) and v else None

            details = request.get("methodDetails") if isinstance(request.get("methodDetails"), dict) else {}
            network = text(details.get("networkId")) or text(request.get("networkId"))
            amount = request.get("amount")
            if not (isinstance(amount, str) and amount.isascii() and amount.isdigit()) \
                    or not text(request.get("currency")) or not network:
                return {"outcome": "reject", "reason": "request lacks amount, currency or networkId"}
            return {"outcome": "accept", "id": challenge.id, "network_id": network}
    return {"outcome": "reject", "reason": "no parsable stripe challenge"}


def decode():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            verdict = select(field_values(case))
        except Exception as error:
            verdict = {"outcome": "reject", "reason": f"{type(error).__name__}: {error}"[:160]}
        print(json.dumps({"name": case["name"], **verdict}))


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "serve":
        serve(*args[1:])
    elif len(args) >= 3 and args[0] == "client":
        asyncio.run(client(args[1], args[2:]))
    elif args == ["decode"]:
        decode()
    else:
        sys.exit("usage: pympp_peer.py serve <api base> <secret key> <network id> | client <url> <cmd...> | decode")


if __name__ == "__main__":
    main()
