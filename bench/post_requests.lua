-- wrk script: POST requests of any protocol, cycling through a requests file written by
-- bench/protocol_throughput.py, and print post_digits.lua's JSON summary at the end.
-- Usage: wrk -t1 -c64 -d5s -s bench/post_requests.lua http://127.0.0.1:PORT -- REQUESTS_FILE
-- The file is binary-safe (v2 binary bodies hold any byte): per request, four text lines
-- (path, Content-Type, Inference-Header-Content-Length or "-", body length) then the body.

local requests = {}
local counter = 0

function init(args)
  local path = args[1] or os.getenv("BENCH_REQUESTS")
  local f = assert(io.open(path, "rb"), "cannot open requests file " .. tostring(path))
  while true do
    local target = f:read("*l")
    if not target then break end
    local headers = { ["Content-Type"] = f:read("*l") }
    local header_length = f:read("*l")
    if header_length ~= "-" then
      headers["Inference-Header-Content-Length"] = header_length
    end
    local body = f:read(tonumber(f:read("*l")))
    requests[#requests + 1] = wrk.format("POST", target, headers, body)
  end
  f:close()
  assert(#requests > 0, "no requests in " .. path)
  counter = math.random(#requests)
end

function request()
  counter = counter % #requests + 1
  return requests[counter]
end

-- The summary line (WRK_JSON), shared with the other wrk scripts: wrk_summary.lua beside this one.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_summary.lua")
