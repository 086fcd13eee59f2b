-- wrk: authenticated POST /spend_requests, a distinct amount per request (an
-- identical open request is refused 429 as a duplicate). BENCH_TOKEN: access token.
local token = os.getenv("BENCH_TOKEN")
local made = 0
function setup(thread)
  thread:set("tid", made)
  made = made + 1
end
local n = 0
function request()
  n = n + 1
  local amount = (tid or 0) * 150000 + n % 150000 + 1
  local body = string.format('{"payment_details":"csmrpd_default_visa","credential_type":"card",'
    .. '"amount":%d,"currency":"usd","merchant_name":"Bench Shop","merchant_url":"https://shop.example",'
    .. '"context":"A benchmark purchase: the agent buys one item for the user, who asked for it by name and approves the amount."}',
    amount)
  return wrk.format("POST", "/spend_requests",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
