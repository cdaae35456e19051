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

function done(summary, latency, requests)
  local e = summary.errors
  local p = function(q) return latency:percentile(q) / 1000.0 end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.6f,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_ms":{"min":%.3f,"mean":%.3f,"max":%.3f,"stdev":%.3f,' ..
    '"p50":%.3f,"p90":%.3f,"p95":%.3f,"p99":%.3f,"p999":%.3f}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min / 1000.0, latency.mean / 1000.0, latency.max / 1000.0, latency.stdev / 1000.0,
    p(50), p(90), p(95), p(99), p(99.9)))
end
