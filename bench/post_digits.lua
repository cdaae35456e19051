-- wrk script: POST /predict with real held-out digits, cycling through a bodies file
-- (one JSON body per line, written by bench/run.py), and print a JSON summary at the end.
-- Usage: wrk -t1 -c64 -d5s -s bench/post_digits.lua http://127.0.0.1:PORT -- BODIES_FILE
-- Each connection starts at a different body so concurrent requests carry different digits.

local requests = {}
local counter = 0

function init(args)
  local path = args[1] or os.getenv("BENCH_BODIES")
  local f = assert(io.open(path, "r"), "cannot open bodies file " .. tostring(path))
  local headers = { ["Content-Type"] = "application/json" }
  for line in f:lines() do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", "/predict", headers, line)
    end
  end
  f:close()
  assert(#requests > 0, "no bodies in " .. path)
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
