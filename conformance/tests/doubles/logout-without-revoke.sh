#!/bin/sh
# A broken client: wraps link-ref ($1) but `auth logout` only forgets the
# session locally and prints the expected JSON, never revoking it at Link (AUTH-07).
real="$1"
shift
if [ "$1 $2" = "auth logout" ]; then
  rm -rf "$HOME/.config/link-ref"
  printf '%s\n' '{"logged_out":true,"revoked":true}'
  exit 0
fi
exec "$real" "$@"
