#!/usr/bin/env bash
# Prints a shared payment token issued by mock-link for <network id> <amount>
# <currency>: link-ref creates a spend request on the magic payment method
# that mock-link approves at once, then retrieves its SPT. The interop clients
# (mppx, pympp) call this from their stripe method's createToken.
# Needs LINK_AUTH_BASE_URL, LINK_API_BASE_URL, LINK_ACCESS_TOKEN and LINK_REF.
set -euo pipefail
network_id=$1 amount=$2 currency=$3
context="An MPP client under interop test pays a mock-merchant stripe challenge with a shared payment token from mock-link."
id=$("$LINK_REF" spend-request create --credential-type shared_payment_token --network-id "$network_id" \
  --amount "$amount" --currency "$currency" --payment-method-id csmrpd_magic_approve \
  --context "$context" --request-approval --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$LINK_REF" spend-request retrieve "$id" --include shared_payment_token --format json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["shared_payment_token"]["id"])'
