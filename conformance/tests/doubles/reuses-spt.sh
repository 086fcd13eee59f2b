#!/bin/sh
# A broken client: wraps link-ref ($1) but remembers the spend request of its
# first `mpp pay` and pays every later purchase with that request's token
# instead of asking for a new one (PAY-04: a spent SPT is never reused).
real="$1"
shift
cache="$HOME/.reuses-spt-last-request"
if [ "$1 $2" != "mpp pay" ]; then
  exec "$real" "$@"
fi
case " $* " in
  *" --spend-request-id "*) exec "$real" "$@" ;;
esac
if [ -s "$cache" ]; then
  exec "$real" mpp pay "$3" --spend-request-id "$(cat "$cache")" --format json
fi
out=$("$real" "$@")
code=$?
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -o '"id":"lsrq_[A-Za-z0-9_]*"' | head -n 1 | cut -d'"' -f4 >"$cache"
exit "$code"
