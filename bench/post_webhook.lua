-- wrk script for bench/webhook.sh (the ceiling): POST one webhook-sized
-- delivery, with the Standard Webhooks headers actiond sends, over
-- keep-alive connections to the nginx 204 receiver.  The signature is a
-- fixed string: nginx does not verify it.
wrk.method = "POST"
wrk.path = "/hook"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "actiond/0.1 (+https://actiond.dev)"
wrk.headers["webhook-id"] = "01a20104-0dd7-7453-b763-7996d82af2e6"
wrk.headers["webhook-timestamp"] = "1795000000"
wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
wrk.body = '{"i":1,"user":"u-00001","amount":7}'
