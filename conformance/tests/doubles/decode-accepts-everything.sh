#!/bin/sh
# A broken client: wraps link-ref ($1) but its `mpp decode` never refuses a
# header: it answers the stripe challenge it expected to see (MER-03, MER-04).
real="$1"
shift
if [ "$1 $2" = "mpp decode" ]; then
  printf '%s\n' '{"id":"x","realm":"api","method":"stripe","intent":"charge","network_id":"profile_mock_merchant","request_json":{"amount":"2500","currency":"usd"}}'
  exit 0
fi
exec "$real" "$@"
