-- wrk script: single POST /v1/sms (issue 19), a distinct number per request, the bench's
-- bearer token from XINGE_BENCH_TOKEN. done() prints one line `WRK_JSON {...}` for the bench.
local token = os.getenv("XINGE_BENCH_TOKEN") or ""
local text = os.getenv("XINGE_BENCH_TEXT") or "Your repayment is due tomorrow."
local threads = {}
local n = 0

function setup(thread)
  thread:set("base", #threads * 10000000)
  table.insert(threads, thread)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function request()
  n = n + 1
  local body = string.format('{"to":"138%08d","text":"%s","category":"notification"}', ((base or 0) + n) % 100000000, text)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
