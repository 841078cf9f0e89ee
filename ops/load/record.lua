-- wrk script for ops/load/record_transactions.sh: POST an income of 1.00 to a random account.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local accounts = {}
init = function(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  for i = 2, #args do accounts[i - 1] = args[i] end
end
request = function()
  local a = accounts[math.random(#accounts)]
  return wrk.format(nil, "/api/v1/transactions", nil, '{"kind":"income","account_id":"' .. a .. '","amount":"1.00","date":"2026-11-02","description":"load"}')
end
done = function(summary, latency, requests)
  io.write(string.format("p50=%.1fms p95=%.1fms p99=%.1fms\n", latency:percentile(50)/1000, latency:percentile(95)/1000, latency:percentile(99)/1000))
  io.write(string.format("errors: status=%d connect=%d read=%d timeout=%d\n", summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
