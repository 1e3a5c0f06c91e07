-- wrk script for service_throughput.py: POST the JSON body in the file $SLOCHECK_BENCH_BODY
-- (a 28x28 image) to the URL given on the command line, on every request.
local path = assert(os.getenv("SLOCHECK_BENCH_BODY"), "set SLOCHECK_BENCH_BODY to a JSON file")
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
