-- wrk script: POSTs the queries of bench/data/queries.jsonl to /api/v1/match in turn,
-- each thread starting at its own offset. QUERIES names the file.
local queries = {}
local path = os.getenv("QUERIES") or "bench/data/queries.jsonl"
for line in io.lines(path) do
  queries[#queries + 1] = line
end

local counter = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads * 997)
  threads = threads + 1
end

function init(args)
  counter = offset or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = queries[(counter % #queries) + 1]
  return wrk.format("POST", "/api/v1/match", nil, body)
end
