"""A conforming MCP server in MCP's usual error form, as the public link-cli
serves its tools: wraps `link-ref --mcp` (argv[1:]) and turns every tool error
into a plain message with `isError: true`, without the `{code, message}` JSON.
Without the `mcp-error-codes` capability the suite must pass it; declaring the
capability makes exactly the scenarios that expect a failure fail."""

import json
import subprocess
import sys
import threading

server = subprocess.Popen(sys.argv[1:] + ["--mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def plain(message):
    result = message.get("result")
    if isinstance(result, dict) and result.get("isError"):
        for block in result.get("content") or []:
            try:
                error = json.loads(block.get("text", ""))
            except ValueError:
                continue
            if isinstance(error, dict) and "message" in error:
                block["text"] = str(error["message"])
    return message


def from_server():
    for line in server.stdout:
        sys.stdout.write(json.dumps(plain(json.loads(line))) + "\n")
        sys.stdout.flush()
    sys.exit(0)


threading.Thread(target=from_server, daemon=True).start()
for line in sys.stdin:
    server.stdin.write(line)
    server.stdin.flush()
server.stdin.close()
server.wait()
