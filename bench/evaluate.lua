-- wrk script: POST /api/v1/evaluate with a random user per request.
-- Needs TOKEN in the environment (an sdk token).
local token = os.getenv("TOKEN")
local tiers = { "free", "pro", "pro_plus", "vip" }
local langs = { "ru", "en" }

request = function()
  local body = string.format(
    '{"context":{"user_id":"%d","tier":"%s","language":"%s","app_version":"%d.%d.0","portfolio_size":%d}}',
    math.random(1, 10000000), tiers[math.random(1, 4)], langs[math.random(1, 2)],
    math.random(1, 3), math.random(0, 9), math.random(0, 20))
  return wrk.format("POST", "/api/v1/evaluate",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
