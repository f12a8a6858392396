-- GET the URL given to wrk (discovery, JWKS).
dofile(os.getenv("BENCH_LUA_DIR") .. "/wrk_common.lua")
wrk.method = "GET"
wrk.headers["Accept"] = "application/json"
