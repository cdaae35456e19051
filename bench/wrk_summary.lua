-- wrk_summary.lua — the `done` hook the wrk scripts here share: prints wrk's summary as one
-- line, `WRK_JSON {...}` (requests, duration, bytes, errors by kind, latency percentiles in ms),
-- which the Python harness parses. Loaded with dofile() from post_digits.lua and
-- post_requests.lua (wrk runs one script; this keeps the summary's format in one place).

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
