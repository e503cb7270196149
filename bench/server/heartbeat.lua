-- heartbeat.lua — wrk script: POST /api/metrics/heartbeat from HOSTS distinct hostnames.
-- Environment: FP_TOKEN (agent token), FP_HOSTS (default 5000), FP_SERVICE (default bench-hb).
-- Thread k of N sends hostnames k, k+N, k+2N, ... (mod HOSTS), so every host is hit once the run
-- has made HOSTS requests. done() prints one machine-readable line:
--   RESULT requests=N errors=N non2xx=N rps=X p50_ms=X p99_ms=X max_ms=X
local token = os.getenv("FP_TOKEN") or ""
local hosts = tonumber(os.getenv("FP_HOSTS") or "5000")
local service = os.getenv("FP_SERVICE") or "bench-hb"

local threads = {}
local nthreads = 0

function setup(thread)
	thread:set("tid", nthreads)
	nthreads = nthreads + 1
	table.insert(threads, thread)
end

function init(args)
	n = 0
	stride = tonumber(os.getenv("FP_THREADS") or "2")
	non2xx = 0
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
	local h = (tid + n * stride) % hosts
	n = n + 1
	local body = string.format(
		'{"ip_address":"10.%d.%d.%d","hostname":"bench-host-%05d","service_name":"%s",' ..
		'"last_command_id":null,"status":"OK","timestamp":"2026-01-01T00:00:00Z",' ..
		'"received_command_ids":[],"executed_command_ids":[],"agent_version":"bench"}',
		math.floor(h / 65536) % 256, math.floor(h / 256) % 256, h % 256, h, service)
	return wrk.format(nil, "/api/metrics/heartbeat", nil, body)
end

function response(status, headers, body)
	if status ~= 200 then
		non2xx = non2xx + 1
	end
end

function done(summary, latency, requests)
	local bad = 0
	for _, t in ipairs(threads) do
		bad = bad + (t:get("non2xx") or 0)
	end
	local e = summary.errors
	local errors = e.connect + e.read + e.write + e.timeout
	io.write(string.format(
		"RESULT requests=%d errors=%d non2xx=%d status_errors=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
		summary.requests, errors, bad, e.status, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
