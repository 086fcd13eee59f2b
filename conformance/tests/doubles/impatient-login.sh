#!/bin/sh
# A broken client: wraps link-ref ($1), but its `auth login` ignores the
# server's polling interval (and slow_down): it hands over at once and then
# polls `auth status` back to back until the login is decided (AUTH-03).
real="$1"
shift
if [ "$1 $2" != "auth login" ]; then
  exec "$real" "$@"
fi
shift 2
"$real" auth login --interval 0 "$@" | sed 's/,"_next":{[^}]*}//' || exit 1
polls=0
while [ "$polls" -lt 200 ]; do
  polls=$((polls + 1))
  out=$("$real" auth status --format json)
  code=$?
  case "$out" in
    *'"pending":true'*) continue ;;
  esac
  printf '%s\n' "$out"
  exit "$code"
done
printf '%s\n' '{"code":"POLLING_TIMEOUT","message":"gave up after 200 polls"}'
exit 1
