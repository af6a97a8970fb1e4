-- wrk script: GET the path with a bearer token taken round-robin from the file named
-- by the TOKENS environment variable; requests are prebuilt so wrk's thread spends
-- its time sending, not formatting.
local requests = {}
local next_index = 1

function init(args)
  local path = os.getenv("TOKENS")
  local target = os.getenv("TARGET") or "/api/v1/security/auth/verify"
  for line in io.lines(path) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", target, { ["Authorization"] = "Bearer " .. line })
    end
  end
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end
