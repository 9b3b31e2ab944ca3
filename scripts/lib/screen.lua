-- wrk script of the REST benchmarks: each request picks a subject at random from the file
-- named by SUBJECTS (one per line); KIND=tx GETs /api/v1/txs/<txid>, otherwise it POSTs
-- /api/v1/screen with {"subject": ...}.
local subjects = {}
for line in io.lines(os.getenv("SUBJECTS")) do subjects[#subjects + 1] = line end
math.randomseed(os.time())
request = function()
  local s = subjects[math.random(#subjects)]
  if os.getenv("KIND") == "tx" then
    return wrk.format("GET", "/api/v1/txs/" .. s)
  end
  return wrk.format("POST", "/api/v1/screen", { ["Content-Type"] = "application/json" }, '{"subject":"' .. s .. '"}')
end
