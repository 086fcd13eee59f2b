-- wrk: GET BENCH_PATH with an access token (BENCH_TOKEN, may be empty).
local token = os.getenv("BENCH_TOKEN") or ""
local path = os.getenv("BENCH_PATH") or "/"
local req = wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
function request()
  return req
end
