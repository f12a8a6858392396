-- POST a fixed form (BENCH_BODY) with an optional Authorization (BENCH_AUTH) and
-- Cookie (BENCH_COOKIE): client_credentials, introspection, wrong-password sign-ins.
dofile(os.getenv("BENCH_LUA_DIR") .. "/wrk_common.lua")
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = os.getenv("BENCH_ACCEPT") or "application/json"
if os.getenv("BENCH_AUTH") and os.getenv("BENCH_AUTH") ~= "" then
  wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end
if os.getenv("BENCH_COOKIE") and os.getenv("BENCH_COOKIE") ~= "" then
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
end
