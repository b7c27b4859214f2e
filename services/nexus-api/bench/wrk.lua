-- wrk script for the nexus-api benchmark (bench/run.py drives it).
--
--   wrk ... -s wrk.lua <url> -- <mode> <rate> <threads> <arg>
--     mode    read : GET /api/v1/records/<prefix><i>, i random in [0, count); arg = "<prefix>,<count>"
--             write: PUT /api/v1/records/<arg>-<thread>-<n>, a new id every time (each write is a create)
--     rate    total requests per second over all threads; 0 = as fast as the server answers (closed loop)
--     threads the -t value (each thread paces itself at rate/threads)
--
-- Pacing: wrk calls delay() before each request; every thread keeps a schedule of send times spaced
-- threads/rate apart and returns how long to wait for the next slot (open-loop arrivals, as wrk2 does).
-- If the server falls behind, slots are late and the achieved rate printed at the end is below the target.
-- done() prints one line "NEXUS_JSON {...}" with the counts, latency percentiles and status codes.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } nexus_timespec;
int clock_gettime(int clk_id, nexus_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("nexus_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

-- main thread: remember the threads so done() can collect their status counts
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

-- per-thread state (each wrk thread has its own Lua state)
local mode, interval, next_slot, prefix, count, run_id
local seq = 0
statuses = {}

function init(args)
  mode = args[1]
  local rate = tonumber(args[2])
  local nthreads = tonumber(args[3])
  if rate > 0 then
    interval = nthreads / rate
  end
  if mode == "read" then
    local p, c = string.match(args[4], "^(.*),(%d+)$")
    prefix, count = p, tonumber(c)
  else
    run_id = args[4]
  end
  math.randomseed(tid * 7919 + 17)
end

function delay()
  if not interval then
    return 0
  end
  local t = now()
  if not next_slot then
    next_slot = t
  end
  next_slot = next_slot + interval
  local wait_ms = (next_slot - t) * 1000
  if wait_ms < 0 then
    return 0
  end
  return wait_ms
end

function request()
  if mode == "read" then
    return wrk.format("GET", "/api/v1/records/" .. prefix .. math.random(0, count - 1))
  end
  seq = seq + 1
  local id = run_id .. "-" .. tid .. "-" .. seq
  local body = '{"data":{"seq":' .. seq .. ',"thread":' .. tid .. ',"note":"nexus-api benchmark write"}}'
  return wrk.format("PUT", "/api/v1/records/" .. id, { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for code, n in pairs(counts) do
      codes[code] = (codes[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'NEXUS_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,'
      .. '"mean":%.1f},"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, table.concat(parts, ",")))
end
