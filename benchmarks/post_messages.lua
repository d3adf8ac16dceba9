-- wrk script: POST distinct, realistic Lunar messages to /messages.
-- Each wrk thread flies its own rockets; every rocket's messages are written in order (1, 2, 3...),
-- the first a RocketLaunched, the rest speed and mission changes. Concurrent connections can
-- deliver them slightly out of order, which the server must absorb.
-- Environment: ROCKETS_PER_THREAD (default 20), BATCH (messages per request, default 1), RUN,
-- DELAY_MS (pause of each connection between requests, default 0).

local rockets_per_thread = tonumber(os.getenv("ROCKETS_PER_THREAD") or "20")
local batch = tonumber(os.getenv("BATCH") or "1")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
-- RUN names this wrk process's rockets: several wrk processes at once must not share channels.
local run = os.getenv("RUN") or tostring(os.time())
local connections = 0

function setup(thread)
   connections = connections + 1
   thread:set("thread_id", connections)
end

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   counters = {}
   cursor = 0
   primed = false
end

local function message(channel, number)
   local kind, payload
   if number == 1 then
      kind = "RocketLaunched"
      payload = '{"type":"Falcon-9","launchSpeed":500,"mission":"ARTEMIS"}'
   elseif number % 10 == 0 then
      kind = "RocketMissionChanged"
      payload = '{"newMission":"SHUTTLE_MIR"}'
   elseif number % 2 == 0 then
      kind = "RocketSpeedDecreased"
      payload = '{"by":' .. (number % 700) .. '}'
   else
      kind = "RocketSpeedIncreased"
      payload = '{"by":' .. (number % 1000) .. '}'
   end
   return '{"metadata":{"channel":"' .. channel .. '","messageNumber":' .. number ..
      ',"messageTime":"2022-02-02T19:39:05.86337+01:00","messageType":"' .. kind ..
      '"},"message":' .. payload .. '}'
end

local function next_message()
   cursor = cursor % rockets_per_thread + 1
   local channel = "bench-" .. run .. "-" .. thread_id .. "-" .. cursor
   local number = (counters[channel] or 0) + 1
   counters[channel] = number
   return message(channel, number)
end

function request()
   -- wrk builds one request it never sends when a thread starts; it must not be a message, or
   -- its rocket would wait forever for that number.
   if not primed then
      primed = true
      return wrk.format("GET", "/health")
   end
   if batch == 1 then
      return wrk.format(nil, "/messages", nil, next_message())
   end
   local parts = {}
   for i = 1, batch do
      parts[i] = next_message()
   end
   return wrk.format(nil, "/messages", nil, "[" .. table.concat(parts, ",") .. "]")
end

-- With DELAY_MS, each connection pauses between requests: a steady load below the maximum.
function delay()
   return delay_ms
end

function done(summary, latency, requests)
   local statuses = summary.errors.status
   io.write(string.format("RESULT requests=%d seconds=%.3f non2xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration / 1e6, statuses,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      latency:percentile(50), latency:percentile(99)))
end
