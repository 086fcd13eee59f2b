#!/bin/sh
# A broken client: wraps link-ref ($1), but its `auth login` keeps polling at
# the server's first interval and never backs off on slow_down (AUTH-03). It
# hands the login over at once and runs `auth status` (one poll each) itself.
real="$1"
shift
if [ "$1 $2" != "auth login" ]; then
  exec "$real" "$@"
fi
shift 2
first=$("$real" auth login --interval 0 "$@") || { printf '%s\n' "$first"; exit 1; }
printf '%s\n' "$first" | sed 's/,"_next":{[^}]*}//'
interval=$(printf '%s\n' "$first" | sed -n 's/.*"poll_interval_seconds":\([0-9.]*\).*/\1/p')
polls=0
while [ "$polls" -lt 8 ]; do
  polls=$((polls + 1))
  sleep "${interval:-1}"
  out=$("$real" auth status --format json)
  code=$?
  case "$out" in
    *'"pending":true'*) continue ;;
  esac
  printf '%s\n' "$out"
  exit "$code"
done
printf '%s\n' '{"code":"POLLING_TIMEOUT","message":"gave up after 8 polls"}'
exit 1
