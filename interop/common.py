"""What merchant_check.py and client_check.py share: HTTP with the standard
library, and a report that names the peer and its version in every failure."""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def http(method, url, headers=None, data=None):
    """(status, headers, body) for any status; body parsed as JSON when it is.
    `data`: a dict (form-encoded) or bytes."""
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, error.headers, error.read()
    try:
        return status, head, json.loads(raw)
    except ValueError:
        return status, head, raw.decode("utf-8", "replace")


class Report:
    """Failures of one peer's checks, and its JSON record in OUT."""

    def __init__(self, peer, version):
        self.peer, self.version = peer, version
        self.failures = []

    def fail(self, message):
        self.failures.append(message)
        print(f"FAIL {self.peer} {self.version}: {message}", flush=True)

    def run(self, main, record, file_name):
        """Runs `main`, writes `record` (with the failures) to OUT/file_name and
        exits 1 on any failure; a harness error still names the peer."""
        try:
            main()
        except Exception as error:
            self.fail(f"{type(error).__name__}: {error}")
        record["failures"] = self.failures
        with open(os.path.join(os.environ.get("OUT", "."), file_name), "w") as f:
            json.dump(record, f, indent=2)
        sys.exit(1 if self.failures else 0)
