#!/bin/sh
# A conforming client in the public link-cli's output shapes: wraps link-ref
# ($1), hands every login over at once (`--interval 0`, like the public
# client), and prints each command's objects as one pretty-printed JSON array
# (a list command's array, and an error object, pretty-printed as they are).
# The suite must read it as well as link-ref's JSON lines.
real="$1"
shift
case " $* " in
  *" --format json "*) ;;
  *) exec "$real" "$@" ;;
esac
if [ "$1 $2" = "auth login" ]; then
  set -- "$@" --interval 0
fi
out=$("$real" "$@")
code=$?
printf '%s\n' "$out" | python3 -c '
import json, sys
values = [json.loads(line) for line in sys.stdin if line.strip()]
if len(values) == 1 and (isinstance(values[0], list) or "code" in values[0]):
    values = values[0]
print(json.dumps(values, indent=2, ensure_ascii=False))
'
exit "$code"
