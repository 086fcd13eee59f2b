"""A conforming MCP server behind progressive discovery, as the public
link-cli's framework (incur) serves its tools: wraps `link-ref --mcp` (argv[1:])
and lists only search_tools, get_tool_details, call_read_tool and
call_write_tool. The suite must find the contract's tools through them and
call each through the call tool its readOnlyHint selects."""

import json
import subprocess
import sys
import threading

server = subprocess.Popen(sys.argv[1:] + ["--mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
write_lock = threading.Lock()
catalogue = {}
catalogue_ready = threading.Event()
DISCOVERY = [
    {"name": name, "inputSchema": {"type": "object"}}
    for name in ("search_tools", "get_tool_details", "call_read_tool", "call_write_tool")
]


def out(message):
    with write_lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def to_server(message):
    server.stdin.write(json.dumps(message) + "\n")
    server.stdin.flush()


def text_result(rid, value, error=False):
    out({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": json.dumps(value)}], "isError": error}})


def from_server():
    for line in server.stdout:
        message = json.loads(line)
        if message.get("id") == "catalogue":
            for tool in message["result"]["tools"]:
                catalogue[tool["name"]] = tool
            catalogue_ready.set()
        else:
            out(message)
    sys.exit(0)


threading.Thread(target=from_server, daemon=True).start()
for line in sys.stdin:
    request = json.loads(line)
    method, rid, params = request.get("method"), request.get("id"), request.get("params") or {}
    if method == "notifications/initialized":
        to_server(request)
        to_server({"jsonrpc": "2.0", "id": "catalogue", "method": "tools/list", "params": {}})
    elif method == "tools/list":
        out({"jsonrpc": "2.0", "id": rid, "result": {"tools": DISCOVERY}})
    elif method == "tools/call":
        catalogue_ready.wait(30)
        name, arguments = params.get("name"), params.get("arguments") or {}
        if name == "search_tools":
            names = sorted(catalogue)
            offset, limit = arguments.get("offset", 0), arguments.get("limit", 5)
            page = {"tools": [{"name": n} for n in names[offset:offset + limit]]}
            if offset + limit < len(names):
                page["nextOffset"] = offset + limit
            text_result(rid, page)
        elif name == "get_tool_details":
            tool = catalogue.get(arguments.get("name"))
            text_result(rid, tool or f"Unknown tool: {arguments.get('name')}", error=tool is None)
        elif name in ("call_read_tool", "call_write_tool"):
            tool = catalogue.get(arguments.get("name"))
            read_only = bool(tool and (tool.get("annotations") or {}).get("readOnlyHint"))
            if tool is None or (name == "call_read_tool" and not read_only):
                text_result(rid, {"code": "MCP_ERROR", "message": f"not callable with {name}"}, error=True)
            else:
                to_server({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                           "params": {"name": tool["name"], "arguments": arguments.get("arguments") or {}}})
        else:
            out({"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"Unknown tool: {name}"}})
    else:
        to_server(request)
