#!/bin/sh
# A broken client: wraps link-ref ($1) but prints its errors on stderr only,
# leaving stdout empty (ERR-01 forbids it). Streams `auth login` untouched.
real="$1"
shift
case "$1 $2" in
  "auth login") exec "$real" "$@" ;;
esac
out=$("$real" "$@")
code=$?
if [ "$code" -ne 0 ]; then
  printf '%s\n' "$out" >&2
else
  printf '%s\n' "$out"
fi
exit "$code"
