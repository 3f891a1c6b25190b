-- wrk script of the bench: optional request body, and a machine-readable summary.
-- Usage: wrk ... -s bench/wrk-report.lua URL -- [METHOD [BODY_BYTES]]
function init(args)
  if args[1] ~= nil then wrk.method = args[1] end
  local size = tonumber(args[2] or "0")
  if size > 0 then
    wrk.body = string.rep("x", size)
    wrk.headers["Content-Type"] = "application/octet-stream"
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
