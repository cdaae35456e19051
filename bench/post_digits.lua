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

-- The summary line (WRK_JSON), shared with the other wrk scripts: wrk_summary.lua beside this one.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_summary.lua")
