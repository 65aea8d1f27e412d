-- wrk script for bench/e2e.sh: POST /v1/events with a single plain-JSON
-- event of type bench.e per request, over keep-alive connections.
-- Usage: wrk -t2 -c64 -d10s -s bench/post_single.lua http://127.0.0.1:PORT
wrk.method = "POST"
wrk.path = "/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type":"bench.e","data":{"i":1,"user":"u-00001","amount":7}}'
