-- wrk script: one client-route request per call, a random context each time.
--   ROUTE=native (POST /api/v1/evaluate, default) | ofrep (POST /ofrep/v1/evaluate/flags)
--   AUTH=bearer (TOKEN, an sdk token; default) | tma (a random line of INIT_DATA,
--        a file of signed Telegram initData strings, one per line)
-- With bearer, every request is a new random unit out of 10 million; with tma
-- the unit is the initData's verified user, one of the file's.
local route = os.getenv("ROUTE") or "native"
local auth = os.getenv("AUTH") or "bearer"
local token = os.getenv("TOKEN")
local tiers = { "free", "pro", "pro_plus", "vip" }
local langs = { "ru", "en" }

local init_data = {}
if auth == "tma" then
  for line in io.lines(os.getenv("INIT_DATA")) do
    init_data[#init_data + 1] = "tma " .. line
  end
end

local path = route == "ofrep" and "/ofrep/v1/evaluate/flags" or "/api/v1/evaluate"
local unit = route == "ofrep" and "targetingKey" or "user_id"

request = function()
  local body = string.format(
    '{"context":{"%s":"%d","tier":"%s","language":"%s","app_version":"%d.%d.0","portfolio_size":%d}}',
    unit, math.random(1, 10000000), tiers[math.random(1, 4)], langs[math.random(1, 2)],
    math.random(1, 3), math.random(0, 9), math.random(0, 20))
  local authorization
  if auth == "tma" then
    authorization = init_data[math.random(1, #init_data)]
  else
    authorization = "Bearer " .. token
  end
  return wrk.format("POST", path,
    { ["Content-Type"] = "application/json", ["Authorization"] = authorization }, body)
end
