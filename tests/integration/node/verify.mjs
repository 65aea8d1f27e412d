// Standard Webhooks oracle for the integration tests: the npm `standardwebhooks`
// package checks (or makes) a signature, independently of actiond's C code.
//
//   node verify.mjs [verify]   stdin: {"id", "timestamp", "signature", "body", "secret"}
//                              prints "ok" and exits 0, or "fail: <reason>" and exits 1
//   node verify.mjs sign       stdin: {"id", "timestamp", "body", "secret"}
//                              prints the header value "v1,<base64>"
//
// `timestamp` is the webhook-timestamp header text (unix seconds; verify
// enforces the package's 5-minute tolerance), `body` the exact request body.
// Input may also come as one JSON argument instead of stdin.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

const mode = process.argv[2] === 'sign' ? 'sign' : 'verify';
const text = process.argv[3] ?? (process.argv[2] && process.argv[2].startsWith('{') ? process.argv[2] : readFileSync(0, 'utf8'));
const input = JSON.parse(text);

try {
  const wh = new Webhook(input.secret);
  if (mode === 'sign') {
    console.log(wh.sign(input.id, new Date(Number(input.timestamp) * 1000), input.body));
  } else {
    wh.verify(input.body, {
      'webhook-id': input.id,
      'webhook-timestamp': String(input.timestamp),
      'webhook-signature': input.signature,
    });
    console.log('ok');
  }
} catch (e) {
  console.log(`fail: ${e.message}`);
  process.exit(1);
}
