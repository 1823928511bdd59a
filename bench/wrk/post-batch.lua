-- wrk script: POST /v1/sms/batch (issue 19), a bounded number of messages. init() builds
-- every body before the first request (distinct numbers, the batch scenario's text) and
-- prints WRK_READY; once every body has been answered it prints WRK_BATCH_DONE with the
-- accepted count and the bench stops wrk (SIGINT). Run with -t1 (one Lua state holds the
-- bodies and the counts).
local token = os.getenv("XINGE_BENCH_TOKEN") or ""
local total = tonumber(os.getenv("XINGE_BENCH_BATCH_TOTAL") or "100000")
local size = tonumber(os.getenv("XINGE_BENCH_BATCH_SIZE") or "1000")
local offset = tonumber(os.getenv("XINGE_BENCH_BATCH_OFFSET") or "0")
local category = os.getenv("XINGE_BENCH_BATCH_CATEGORY") or "notification"
local text = "尊敬的客户，您的借款将于明日到期，请按时还款。"
local bodies = {}
local sent, answered, accepted, failed = 0, 0, 0, 0

function init(args)
  for start = 0, total - 1, size do
    local n = math.min(size, total - start)
    local parts = {}
    for i = 0, n - 1 do
      parts[#parts + 1] = string.format('{"to":"138%08d","text":"%s","category":"%s"}', (offset + start + i) % 100000000, text, category)
    end
    bodies[#bodies + 1] = '{"messages":[' .. table.concat(parts, ",") .. ']}'
  end
  io.write("WRK_READY\n")
  io.flush()
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

-- wrk calls request() once on this thread's state to check the script (script_verify_request)
-- before any connection: that call gets a GET /healthz, so that no body is spent on it.
-- delay() runs before every request: it lets exactly #bodies batches through, and holds a
-- connection for an hour once they are all on their way; a request() beyond them (never
-- expected) also gets a GET /healthz. /healthz answers 200, which response() ignores.
local verified, reserved = false, 0

function delay()
  if reserved >= #bodies then return 3600000 end
  reserved = reserved + 1
  return 0
end

function request()
  if not verified then
    verified = true
    return wrk.format("GET", "/healthz")
  end
  sent = sent + 1
  if sent > #bodies then return wrk.format("GET", "/healthz") end
  return wrk.format("POST", "/v1/sms/batch", nil, bodies[sent])
end

function response(status, headers, body)
  if status == 200 then return end
  answered = answered + 1
  if status == 202 then
    accepted = accepted + (tonumber(string.match(body, '"accepted":(%d+)')) or 0)
  else
    failed = failed + 1
    if failed == 1 then io.write("WRK_BATCH_ERROR answer " .. answered .. " of " .. #bodies .. ": " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
  if answered == #bodies then
    io.write(string.format('WRK_BATCH_DONE {"accepted":%d,"failed":%d}\n', accepted, failed))
    io.flush()
  end
end

function done(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d}\n', summary.requests, summary.duration, latency:percentile(50), latency:percentile(99)))
end
