-- wrk script: Kannel's sendsms (GET /cgi-bin/sendsms), the same text and a distinct number
-- per request, as post-sms.lua does for xinge. done() prints `WRK_JSON {...}`.
local threads = {}
local n = 0

function setup(thread)
  thread:set("base", #threads * 10000000)
  table.insert(threads, thread)
end

function request()
  n = n + 1
  local path = string.format("/cgi-bin/sendsms?username=bench&password=bench&to=86138%08d&text=Your+repayment+is+due+tomorrow.", ((base or 0) + n) % 100000000)
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
