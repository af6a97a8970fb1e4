-- bench/load/pipeline.lua — wrk script: every write carries PIPELINE_DEPTH requests
-- (default 16) for the same path, HTTP/1.1 pipelining over keep-alive.
--   wrk -t1 -c64 -d10s --latency -s bench/load/pipeline.lua http://127.0.0.1:PORT/healthz
local depth = tonumber(os.getenv("PIPELINE_DEPTH") or "16")

init = function(args)
  local path = wrk.path
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format(nil, path)
  end
  pipelined = table.concat(batch)
end

request = function()
  return pipelined
end
