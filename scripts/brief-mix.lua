-- wrk script: the product brief's load mix, per six requests: 3 x GET /api/v1/policies?limit=10,
-- 2 x POST /api/v1/quotes (state among CA, NY, TX), 1 x POST /api/v1/rates/calculate.
local n = 0
local states = { "CA", "NY", "TX" }
request = function()
  n = n + 1
  local slot = n % 6
  if slot < 3 then
    return wrk.format("GET", "/api/v1/policies?limit=10")
  elseif slot < 5 then
    local body = string.format('{"policy_type":"auto","state":"%s","coverage_requested":{"liability":500000,"collision":50000}}', states[1 + (n % 3)])
    return wrk.format("POST", "/api/v1/quotes", { ["content-type"] = "application/json" }, body)
  else
    return wrk.format("POST", "/api/v1/rates/calculate", { ["content-type"] = "application/json" },
      '{"state":"CA","policy_type":"auto","coverage":{"liability":500000}}')
  end
end
