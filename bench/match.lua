-- wrk script: POSTs the queries of bench/data/queries.jsonl to /api/v1/match in turn,
-- each thread starting at its own offset. QUERIES names the file.
--
-- Each request is formatted once, in init(), and request() only picks the next: formatting
-- one per request cost wrk some 3 µs of CPU a request, on the same two cores as the server
-- (wrk's SCRIPTING notes recommend this for fast servers).
local queries = {}
local path = os.getenv("QUERIES") or "bench/data/queries.jsonl"
for line in io.lines(path) do
  queries[#queries + 1] = line
end

local counter = 0
local threads = 0
local requests = {}

function setup(thread)
  thread:set("offset", threads * 997)
  threads = threads + 1
end

function init(args)
  counter = offset or 0
  local headers = { ["Content-Type"] = "application/json" }
  for i, body in ipairs(queries) do
    requests[i] = wrk.format("POST", "/api/v1/match", headers, body)
  end
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
