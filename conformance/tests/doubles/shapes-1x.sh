#!/bin/sh
# A conforming client in the shapes of the public link-cli 1.x (see
# ../shared/docs/link-cli-1x.md section 7): wraps link-ref ($1) and
# - prints the payment methods as {payment_details, unavailable_count};
# - answers `payment-methods add` with the client's fixed wallet URL (PM-03);
# - prints `approval_url` where 0.13.1 printed `approval_link`;
# - polls `spend-request retrieve --interval` by the 1.x rule: it keeps polling
#   only while the status is the first one it saw and still waits for the
#   user, returns at any change, and hands back `_next.command` from an
#   auto-resuming requires_action.
# The suite must pass it wherever 0.13.1 and 1.x legitimately differ.
real="$1"
shift
case " $* " in
  *" --format json "*) ;;
  *) exec "$real" "$@" ;;
esac
exec python3 - "$real" "$@" <<'PY'
import json, os, subprocess, sys, time

real, args = sys.argv[1], sys.argv[2:]
group, command = (args + ["", ""])[:2]
SHAPED = {("payment-methods", "list"), ("payment-methods", "add"),
          ("spend-request", "request-approval"), ("spend-request", "retrieve")}
if (group, command) not in SHAPED:
    # Everything else (logins stream their first object) runs as it is.
    os.execv(real, [real] + args)


def run(argv):
    done = subprocess.run([real] + argv, capture_output=True, text=True)
    values = [json.loads(l) for l in done.stdout.splitlines() if l.strip()]
    return done.returncode, values


def emit(values, code=0):
    for value in values:
        print(json.dumps(value))
    sys.exit(code)


def flag(name):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return None


def waiting(request):
    resolution = (((request.get("status_details") or {}).get("requires_action") or {})
                  .get("next_action") or {}).get("resolution")
    status = request.get("status")
    return status in ("created", "pending_approval") or (
        status == "requires_action" and resolution == "auto_resume")


if (group, command) == ("payment-methods", "list"):
    code, values = run(args)
    if code == 0 and values and isinstance(values[-1], list):
        emit([{"payment_details": values[-1], "unavailable_count": 0}])
    emit(values, code)
if (group, command) == ("payment-methods", "add"):
    emit([{"url": "https://app.link.com/wallet"}])
if (group, command) == ("spend-request", "request-approval"):
    code, values = run(args)
    for value in values:
        if isinstance(value, dict) and "approval_link" in value:
            value["approval_url"] = value.pop("approval_link")
    emit(values, code)
if (group, command) == ("spend-request", "retrieve") and "--interval" in args:
    interval = float(flag("--interval"))
    max_attempts = int(flag("--max-attempts") or 0)
    timeout = float(flag("--timeout") or 600)
    code, values = run(args)
    if code != 0 or not values or not waiting(values[-1]):
        emit(values, code)
    first = values[-1]
    started, attempts = time.monotonic(), 0
    while True:
        if (max_attempts and attempts >= max_attempts) or time.monotonic() - started > timeout:
            emit([{"code": "POLLING_TIMEOUT", "retryable": True,
                   "message": f"Polling stopped before spend request {first['id']} changed status from {first['status']}"}], 1)
        time.sleep(interval)
        attempts += 1
        code, values = run(args)
        if code != 0 or not values:
            emit(values, code)
        current = values[-1]
        if current.get("status") != first.get("status"):
            if current.get("status") == "requires_action" and waiting(current):
                current["instruction"] = "Wait for the user to finish verification."
                current["_next"] = {"command": f"spend-request retrieve {current['id']} --interval 0.1 --max-attempts 300"}
            emit([current])
code, values = run(args)
emit(values, code)
PY
