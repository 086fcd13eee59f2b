-- wrk: one single-use input per request, from BENCH_LINES (one a line), spread over
-- BENCH_THREADS threads. A thread that has used its share up starts again from its
-- first line, whose reuse is refused: scripts/bench reports wrk's "Non-2xx" count, so
-- prepare more lines than the run can use. (wrk's thread:stop() would not end the run
-- before -d, and a response() hook costs more than the request in wrk 4.1.)
--   BENCH_MODE=redeem: POST /v1/payment_intents redeeming each line as an SPT
--   BENCH_MODE=paid:   GET BENCH_PATH with each line as the Authorization value
local mode = os.getenv("BENCH_MODE")
local threads = tonumber(os.getenv("BENCH_THREADS"))
local made = 0
function setup(thread)
  thread:set("tid", made)
  made = made + 1
end
local lines = {}
local next_index
function init(args)
  local i = 0
  for line in io.lines(os.getenv("BENCH_LINES")) do
    if i % threads == tid then
      table.insert(lines, line)
    end
    i = i + 1
  end
  next_index = 1
end
local function next_request()
  local line = lines[next_index]
  next_index = next_index + 1
  if mode == "redeem" then
    return wrk.format("POST", "/v1/payment_intents",
      {["Authorization"] = "Bearer sk_test_mock_merchant",
       ["Content-Type"] = "application/x-www-form-urlencoded"},
      "amount=2500&currency=usd&confirm=true&shared_payment_granted_token=" .. line)
  end
  return wrk.format("GET", os.getenv("BENCH_PATH"), {["Authorization"] = line})
end
function request()
  if next_index > #lines then
    next_index = 1
  end
  return next_request()
end
