-- Refresh-token grants where every answer rotates the token. The chains (refresh
-- tokens from real code flows, one per line in BENCH_TOKENS) are dealt out to the
-- threads; each request takes a token from its thread's pool and the answer puts the
-- new one back, so no token is ever sent twice (a connection sends its next request
-- only after its answer). An answer without a new refresh token counts as `bad`; a
-- request finding no chain left sends an invalid token and counts as an error. At the
-- end the live tokens are written back to BENCH_TOKENS for the next run.
dofile(os.getenv("BENCH_LUA_DIR") .. "/wrk_common.lua")

function init(args)
  bad = 0
  pool = {}
  local n = 0
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if line ~= "" then
      if n % nthreads == id - 1 then
        table.insert(pool, line)
      end
      n = n + 1
    end
  end
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["Authorization"] = os.getenv("BENCH_AUTH"),
  }
end

function request()
  local token = table.remove(pool) or "no-chain-left"
  return wrk.format("POST", nil, headers,
    "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token and body:find('"id_token"', 1, true) then
      table.insert(pool, token)
    else
      bad = bad + 1
    end
  end
end

function bench_extra()
  local out = io.open(os.getenv("BENCH_TOKENS"), "w")
  local live = 0
  for _, t in ipairs(threads) do
    for _, token in ipairs(t:get("pool") or {}) do
      out:write(token, "\n")
      live = live + 1
    end
  end
  out:close()
  return string.format(',"live_chains":%d', live)
end
