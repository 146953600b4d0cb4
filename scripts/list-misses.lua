-- wrk script: every request a list page with its own filter, so L1 always misses (see docs/data-and-cache.md, Cache).
local n = 0
math.randomseed(os.time())
setup = function(thread) thread:set("base", math.random(0, 100000) * 400) end
init = function(args) n = base end
request = function()
  n = n + 1
  local from = 1 + (n % 28)
  local month = 1 + (math.floor(n / 28) % 12)
  local to = 1 + (math.floor(n / 336) % 28)
  local path = string.format("/api/v1/policies?limit=10&effective_from=2024-01-%02d&effective_to=2025-%02d-%02d&policy_type=auto", from, month, to)
  return wrk.format("GET", path)
end
