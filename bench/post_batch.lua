-- wrk script for bench/e2e.sh: POST /v1/events with one batch of BATCH
-- (default 100) events of type bench.e, over keep-alive connections.
-- Each event's data is a ~45-byte object (the peers' payload size); no
-- event carries an id, so the server assigns one and nothing is a duplicate.
-- Usage: wrk -t2 -c32 -d10s -s bench/post_batch.lua http://127.0.0.1:PORT
local batch = tonumber(os.getenv("BATCH") or "100")
local ev = {}
for i = 1, batch do
  ev[i] = string.format('{"type":"bench.e","data":{"i":%d,"user":"u-%05d","amount":%d}}',
                        i, i, (i * 7) % 1000)
end
wrk.method = "POST"
wrk.path = "/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"events":[' .. table.concat(ev, ",") .. ']}'
