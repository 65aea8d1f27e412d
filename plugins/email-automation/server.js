'use strict';
/*
 * email-automation: an example remote plugin for actiond.
 *
 * At start-up it listens on PORT, makes sure actiond knows the plugin
 * (creating it with the fixed id the seed's scripts use, and keeping the
 * Standard Webhooks signing secret actiond returns only then), and registers
 * its ten email actions.  Each POST /actions/<name> verifies the signature
 * headers actiond sends (webhook-id, webhook-timestamp, webhook-signature),
 * checks the action's required fields, renders a short text + HTML email and
 * sends it over SMTP.  GET /health reports whether registration is done.
 *
 * Environment:
 *   PORT            listen port (default 3100; 0 picks a free one)
 *   HOST            listen address (default 127.0.0.1)
 *   ACTIOND_URL     actiond's base URL (default http://127.0.0.1:8080)
 *   PLUGIN_URL      the api_endpoint to register (default http://HOST:<port>)
 *   SMTP_URL        smtp://host:port, smtps://user:pass@host:port, or "json"
 *                   to render without sending (default smtp://127.0.0.1:2525)
 *   MAIL_FROM       sender address (default "Email Automation <no-reply@example.com>")
 *   WEBHOOK_SECRET  the whsec_ secret, when the plugin already exists in actiond
 *   SECRET_FILE     where the secret is saved after creating the plugin
 *                   (default .secret next to this file, mode 0600)
 *   REGISTER        "0" skips talking to actiond (tests that only verify signatures)
 */
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const nodemailer = require('nodemailer');
const { Webhook } = require('standardwebhooks');
const { registration, missingField, byEndpoint } = require('./actions');

const PLUGIN_ID = '87312788-df51-4002-8eca-9cfc3e3f7d8e';
const SLUG = 'email-automation';
const NAME = 'Email Automation Plugin';
const MAX_BODY = 1 << 20;

const env = process.env;
const PORT = env.PORT === undefined ? 3100 : Number(env.PORT);
const HOST = env.HOST || '127.0.0.1';
const ACTIOND_URL = (env.ACTIOND_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const SMTP_URL = env.SMTP_URL || 'smtp://127.0.0.1:2525';
const MAIL_FROM = env.MAIL_FROM || 'Email Automation <no-reply@example.com>';
const SECRET_FILE = env.SECRET_FILE || path.join(__dirname, '.secret');

const state = { registered: false, secretSource: null, webhook: null, lastError: null };
const seen = new Map(); // webhook-id -> answer already given (at-least-once delivery)
const SEEN_MAX = 1000;

const log = (msg) => console.log(`${new Date().toISOString()} email-automation: ${msg}`);

function makeTransport(url) {
  if (url === 'json') return nodemailer.createTransport({ jsonTransport: true });
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  const opts = { host: u.hostname, port: Number(u.port) || (secure ? 465 : 25), secure, pool: true, maxConnections: 4 };
  if (u.username) opts.auth = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
  return nodemailer.createTransport(opts);
}

const transport = makeTransport(SMTP_URL);

function useSecret(secret, source) {
  state.webhook = new Webhook(secret.trim());
  state.secretSource = source;
}

/* ---- talking to actiond ---- */

async function api(method, urlPath, body) {
  const res = await fetch(ACTIOND_URL + urlPath, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text };
}

/* The secret in a create answer, wherever the registry puts it. */
const secretOf = (j) => j && (j.secret || (j.plugin && j.plugin.secret) || (j.data && j.data.secret));

function loadSavedSecret() {
  if (env.WEBHOOK_SECRET) return useSecret(env.WEBHOOK_SECRET, 'WEBHOOK_SECRET');
  try {
    useSecret(fs.readFileSync(SECRET_FILE, 'utf8'), SECRET_FILE);
  } catch {
    log(`plugin exists but no secret is known: set WEBHOOK_SECRET or restore ${SECRET_FILE}`);
  }
}

async function ensurePlugin(endpoint) {
  const got = await api('GET', `/api/plugins/${SLUG}`);
  if (got.status === 200) {
    loadSavedSecret();
    const current = (got.json && (got.json.plugin || got.json).api_endpoint) || null;
    if (current !== endpoint) {
      const r = await api('PATCH', `/api/plugins/${SLUG}`, { api_endpoint: endpoint });
      if (r.status >= 300) throw new Error(`PATCH api_endpoint: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
    }
    return;
  }
  if (got.status !== 404) throw new Error(`GET /api/plugins/${SLUG}: HTTP ${got.status}: ${got.text.slice(0, 200)}`);
  const created = await api('POST', '/api/plugins', {
    id: PLUGIN_ID, name: NAME, slug: SLUG, status: 'active', api_endpoint: endpoint,
  });
  if (created.status === 409) return ensurePlugin(endpoint); // created meanwhile
  if (created.status >= 300) throw new Error(`POST /api/plugins: HTTP ${created.status}: ${created.text.slice(0, 200)}`);
  const secret = secretOf(created.json);
  if (!secret) throw new Error('POST /api/plugins answered without a secret');
  fs.writeFileSync(SECRET_FILE, secret + '\n', { mode: 0o600 });
  useSecret(secret, 'created');
  log(`created plugin ${SLUG} (${PLUGIN_ID}); secret saved to ${SECRET_FILE}`);
}

async function register(endpoint) {
  for (let attempt = 1, delay = 500; ; attempt++, delay = Math.min(delay * 2, 5000)) {
    try {
      await ensurePlugin(endpoint);
      const r = await api('POST', `/api/plugins/${SLUG}/register-actions`, registration());
      if (r.status >= 300) throw new Error(`register-actions: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
      state.registered = true;
      state.lastError = null;
      log(`registered ${registration().actions.length} actions with ${ACTIOND_URL}`);
      return;
    } catch (e) {
      state.lastError = e.message;
      log(`registration attempt ${attempt} failed: ${e.cause ? e.cause.message || e.cause.code : e.message}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/* ---- HTTP ---- */

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function remember(id, status, obj) {
  seen.set(id, { status, obj });
  if (seen.size > SEEN_MAX) seen.delete(seen.keys().next().value);
}

async function runAction(action, req, res) {
  const raw = await readBody(req);
  if (!state.webhook) return send(res, 503, { success: false, error: 'signing secret not configured' });
  let payload;
  try {
    payload = state.webhook.verify(raw, req.headers);
  } catch (e) {
    return send(res, 401, { success: false, error: `invalid signature: ${e.message}` });
  }
  const id = req.headers['webhook-id'];
  if (seen.has(id)) {
    const prev = seen.get(id);
    return send(res, prev.status, prev.obj);
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload))
    return send(res, 400, { success: false, error: 'payload must be a JSON object', action: action.action_type });
  const missing = missingField(action, payload);
  if (missing)
    return send(res, 400, { success: false, error: `Missing required field: ${missing}`, action: action.action_type });
  const mail = action.render(payload);
  let info;
  try {
    info = await transport.sendMail({ from: MAIL_FROM, to: String(payload.email), ...mail });
  } catch (e) {
    return send(res, 502, { success: false, error: `SMTP delivery failed: ${e.message}`, action: action.action_type });
  }
  const answer = { success: true, message_id: info.messageId, action: action.action_type, recipient: String(payload.email) };
  remember(id, 200, answer);
  log(`${action.action_type} -> ${payload.email} (${info.messageId})`);
  return send(res, 200, answer);
}

async function route(req, res) {
  const url = new URL(req.url, 'http://plugin');
  if (req.method === 'GET' && url.pathname === '/health')
    return send(res, 200, { status: 'ok', plugin: SLUG, registered: state.registered, secret: !!state.webhook, last_error: state.lastError });
  const action = byEndpoint.get(url.pathname);
  if (!action) return send(res, 404, { success: false, error: `no such route: ${url.pathname}` });
  if (req.method !== 'POST') return send(res, 405, { success: false, error: 'use POST' });
  return runAction(action, req, res);
}

const server = http.createServer((req, res) => {
  route(req, res).catch((e) => {
    if (!res.headersSent) send(res, e.status || 500, { success: false, error: e.message });
  });
});
server.keepAliveTimeout = 65000;

server.listen(PORT, HOST, () => {
  const port = server.address().port;
  const endpoint = env.PLUGIN_URL || `http://${HOST}:${port}`;
  log(`listening on ${HOST}:${port}, SMTP ${SMTP_URL === 'json' ? 'disabled (json)' : SMTP_URL}`);
  if (env.WEBHOOK_SECRET) useSecret(env.WEBHOOK_SECRET, 'WEBHOOK_SECRET');
  if (env.REGISTER !== '0') register(endpoint);
});

function stop(sig) {
  log(`${sig}: stopping`);
  server.close(() => {
    transport.close();
    process.exit(0);
  });
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
