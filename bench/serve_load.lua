-- wrk script for bench/serve_load.sh: POSTs one sentence per request to
-- /v1/translate, cycling through the lines of SENTENCES (an environment
-- variable naming a file), each thread from its own offset. With MAX_REQUESTS
-- set, each thread stops after its share of them (the soak is bounded).
local sentences = {}
local counter, limit = 0, 0
local thread_index = 0
local threads = {}

function setup(thread)
  thread:set("index", thread_index)
  thread_index = thread_index + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("SENTENCES")
  for line in io.lines(path) do
    local escaped = line:gsub("\\", "\\\\"):gsub('"', '\\"')
    table.insert(sentences, '{"text": "' .. escaped .. '"}')
  end
  counter = (index or 0) * 997
  local total = tonumber(os.getenv("MAX_REQUESTS") or "0")
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  if total > 0 then limit = math.ceil(total / nthreads) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  return wrk.format(nil, "/v1/translate", nil, sentences[(counter % #sentences) + 1])
end

local done = 0
function response(status, headers, body)
  done = done + 1
  if limit > 0 and done >= limit then wrk.thread:stop() end
end
