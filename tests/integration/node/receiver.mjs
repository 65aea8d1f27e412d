// A webhook receiver for tests/integration/test_webhook.py: verifies every
// delivery with the npm `standardwebhooks` package (independently of
// actiond's C signer) and records it.
//
//   node receiver.mjs PORT_FILE SECRET
//
// Listens on 127.0.0.1:0 (keep-alive), writes the port to PORT_FILE, then:
//   POST /hook      200 {"ok": true} when the signature verifies, else 401
//   POST /flaky     500 for the first delivery of a webhook-id, then 200
//   POST /gone      410
//   GET  /records   the recorded deliveries as a JSON array of
//                   {path, id, timestamp, signature, body, verified, error}
// Every request except GET /records is recorded, verified or not.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import http from 'node:http';

const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

const [portFile, secret] = process.argv.slice(2);
const wh = new Webhook(secret);
const records = [];
const seen = new Map();

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/records') return reply(res, 200, records);
    const body = Buffer.concat(chunks).toString('utf8');
    const rec = {
      path: req.url,
      id: req.headers['webhook-id'] ?? null,
      timestamp: req.headers['webhook-timestamp'] ?? null,
      signature: req.headers['webhook-signature'] ?? null,
      body,
      verified: false,
      error: null,
    };
    try {
      wh.verify(body, {
        'webhook-id': rec.id,
        'webhook-timestamp': rec.timestamp,
        'webhook-signature': rec.signature,
      });
      rec.verified = true;
    } catch (e) {
      rec.error = e.message;
    }
    records.push(rec);
    const n = (seen.get(rec.id) ?? 0) + 1;
    seen.set(rec.id, n);
    if (!rec.verified) return reply(res, 401, { error: rec.error });
    if (req.url === '/flaky' && n === 1) return reply(res, 500, { error: 'first try fails' });
    if (req.url === '/gone') return reply(res, 410, { error: 'gone' });
    return reply(res, 200, { ok: true });
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
