'use strict';
// mimoe_sim mim harness: runs ONE mim the way mimOE's JavaScript runtime does (as far as the contract is known).
//
// Protocol with the simulator node (Python): JSON lines.
//   stdin  <- {"op":"init", "indexPath", "storagePath", "filesDir", "env", "info", "maxExecutionMs", "node": {
//               "port", "scheme", "bepUrl", "hmacKey", "websocket"}}
//             {"op":"request", "id", "url", "method", "headers", "bodyB64", "crash"?}
//             {"op":"restore", "id", "items": {key: {"value", "tag"}}}
//   stdout -> {"op":"ready"} | {"op":"response", "id", "status", "headers", "body" | "bodyB64"}
//             | {"op":"restored", "id"} | {"op":"ws", "data"} (a context.dispatchWebSocketEvent call)
// stdin closing (the node died or stopped us) ends the process. Nothing here logs env values or tokens.
//
// Per request, index.js is evaluated in a FRESH vm context that holds only the globals of mimik's Duktape runtime
// (mimikModule, console, global, Duktape, TextEncoder, TextDecoder, timers): no require, fs, process, fetch.
// Module-level state is therefore lost between requests, as on a real node; context.storage is the only
// persistence. The runtime pieces are built by PRELUDE inside each context, so their objects (Uint8Array, Error)
// belong to the mim's own realm.
// Compatible with Node 18 and 20.

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const crypto = require('crypto');
const http = require('http');
const https = require('https');
const readline = require('readline');

let config = null;
let script = null;
let compileError = null;
let items = {}; // key -> {value: string, tag: string|null}

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function log(...args) {
  process.stderr.write(`${new Date().toISOString()} ${args.join(' ')}\n`);
}

// ---- storage: synchronous, persisted atomically (tmp + fsync + rename) on every change ----
function loadStorage() {
  try {
    const parsed = JSON.parse(fs.readFileSync(config.storagePath, 'utf8'));
    items = (parsed && typeof parsed.items === 'object' && parsed.items) || {};
  } catch (err) {
    if (err.code !== 'ENOENT') log('storage unreadable, starting empty:', err.message);
    items = {};
  }
}

function persistStorage() {
  const file = config.storagePath;
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${path.basename(file)}-${process.pid}`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify({ items }));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch (err) { /* directory fsync is best effort */ }
}

function makeStorage() {
  const str = (v) => (v === undefined || v === null ? '' : String(v));
  return {
    getItem(key) {
      const item = items[str(key)];
      return item ? item.value : null;
    },
    setItem(key, value) {
      items[str(key)] = { value: str(value), tag: null };
      persistStorage();
    },
    setItemWithTag(key, value, tag) {
      items[str(key)] = { value: str(value), tag: str(tag) };
      persistStorage();
    },
    removeItem(key) {
      if (Object.prototype.hasOwnProperty.call(items, str(key))) {
        delete items[str(key)];
        persistStorage();
      }
    },
    removeItemsByTag(tag) {
      let removed = 0;
      Object.keys(items).forEach((k) => {
        if (items[k].tag === str(tag)) { delete items[k]; removed += 1; }
      });
      if (removed) persistStorage();
      return removed;
    },
    eachItem(callback) {
      Object.keys(items).forEach((k) => { if (items[k]) callback(k, items[k].value); });
    },
    eachItemByTag(tag, callback) {
      Object.keys(items).forEach((k) => {
        if (items[k] && items[k].tag === str(tag)) callback(k, items[k].value);
      });
    },
  };
}

// ---- files of the mim (handleFormRequest stores, writeMimeFile serves, storage.deleteFile removes) ----
// Paths are the mim's own names; they all live under <data-dir>/storage/<key>.files/ [I]. A leading "/" and
// the files directory itself are accepted as prefixes; ".." out of it is refused.
function filePath(name) {
  let rel = String(name === undefined || name === null ? '' : name);
  const root = config.filesDir;
  if (rel.startsWith(`${root}/`)) rel = rel.slice(root.length + 1);
  rel = rel.replace(/^file:\/\//, '').replace(/^\/+/, '');
  const full = path.resolve(root, rel);
  if (!rel || !full.startsWith(`${root}${path.sep}`)) throw new Error(`invalid file path: ${name}`);
  return full;
}

function parseMultipart(body, contentType) {
  const match = /boundary="?([^";]+)"?/i.exec(contentType || '');
  if (!/^multipart\/form-data/i.test(contentType || '') || !match) return null;
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    let partStart = start + delimiter.length;
    if (body.slice(partStart, partStart + 2).toString() === '--') break;
    if (body.slice(partStart, partStart + 2).toString() === '\r\n') partStart += 2;
    const next = body.indexOf(delimiter, partStart);
    if (next < 0) break;
    let part = body.slice(partStart, next);
    if (part.slice(-2).toString() === '\r\n') part = part.slice(0, -2);
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.slice(0, split).toString('latin1');
      const disposition = (/^content-disposition:(.*)$/im.exec(head) || [])[1] || '';
      const name = /\bname="([^"]*)"/i.exec(disposition);
      const filename = /\bfilename="([^"]*)"/i.exec(disposition);
      const type = (/^content-type:\s*(.*)$/im.exec(head) || [])[1];
      parts.push({
        name: name ? name[1] : '', filename: filename ? filename[1] : undefined,
        contentType: type ? type.trim() : undefined, content: part.slice(split + 4),
      });
    }
    start = next;
  }
  return parts;
}

// ---- context.edge: edge services backed by the simulated node ----
function b64url(buffer) {
  return buffer.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// An edge HMAC code (from the node's jsonrpc getEdgeHmacCode) is "<base64url JSON payload>.<hex HMAC-SHA256>"
// with the account's key [I]; requestBep accepts a code made for this node, not expired, for jsapi://requestBep.
function checkHmacCode(code) {
  const parts = String(code || '').split('.');
  if (parts.length !== 2) return 'invalid edge hmac code';
  const expected = crypto.createHmac('sha256', Buffer.from(config.node.hmacKey, 'hex')).update(parts[0]).digest('hex');
  if (expected.length !== parts[1].length
      || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(parts[1]))) return 'invalid edge hmac code';
  let payload;
  try {
    payload = JSON.parse(Buffer.from(parts[0], 'base64').toString('utf8'));
  } catch (err) {
    return 'invalid edge hmac code';
  }
  if (payload.nodeId !== config.info.nodeId) return 'edge hmac code was issued for another node';
  if (!(Number(payload.expiry) > Date.now() / 1000)) return 'edge hmac code expired';
  if (payload.uri !== 'jsapi://requestBep') return 'edge hmac code was issued for another api';
  return null;
}

// The node's discovery answers (/mds/v1/nodes) carry "ciphered" node lists: base64 of a JSON envelope
// {"format": "mimoe-sim-nodes/1", "type": "local"|"account", "payload"} [I]; this "decrypts" them.
function decryptNodes(type, data) {
  let text = data;
  try {
    const parsed = JSON.parse(String(data));
    if (typeof parsed === 'string') text = parsed;
  } catch (err) { /* raw base64 */ }
  let envelope;
  try {
    envelope = JSON.parse(Buffer.from(String(text), 'base64').toString('utf8'));
  } catch (err) {
    throw new Error('cannot decrypt nodes json: not produced by this node');
  }
  if (!envelope || envelope.format !== 'mimoe-sim-nodes/1') {
    throw new Error('cannot decrypt nodes json: not produced by this node');
  }
  if (envelope.type !== (type || 'local')) {
    throw new Error(`cannot decrypt nodes json of type ${envelope.type} as ${type}`);
  }
  return JSON.stringify(envelope.payload);
}

// ---- the runtime globals, built inside each fresh context from host helpers (__host) ----
const PRELUDE = new vm.Script(`(function (host, g) {
  'use strict';
  delete g.__host;
  function bytes(b) { var u = new Uint8Array(b.length); u.set(b); return u; }
  g.Duktape = {
    version: 20500,
    env: 'mimoe-sim',
    enc: function (format, value) { return host.enc(String(format), value); },
    dec: function (format, value) {
      var out = host.dec(String(format), value);
      return (format === 'jx' || format === 'jc') ? out : bytes(out);
    },
    gc: function () { return true; },
    compact: function (v) { return v; },
    fin: function () {},
    info: function () { return {}; }
  };
  function TextEncoder() { this.encoding = 'utf-8'; }
  TextEncoder.prototype.encode = function (s) { return bytes(host.utf8(s === undefined ? '' : String(s))); };
  function TextDecoder(label, options) {
    var name = String(label === undefined ? 'utf-8' : label).toLowerCase();
    if (name !== 'utf-8' && name !== 'utf8') throw new RangeError('TextDecoder: only utf-8 is supported');
    this.encoding = 'utf-8';
    this.fatal = !!(options && options.fatal);
  }
  TextDecoder.prototype.decode = function (input) { return host.text(input, this.fatal); };
  g.TextEncoder = TextEncoder;
  g.TextDecoder = TextDecoder;
  function timer(kind) {
    return function (fn, ms) {
      if (typeof fn !== 'function') throw new TypeError(kind + ': callback must be a function');
      var args = Array.prototype.slice.call(arguments, kind === 'setImmediate' ? 1 : 2);
      return host.timer(kind, function () { fn.apply(g, args); }, kind === 'setImmediate' ? 0 : Number(ms) || 0);
    };
  }
  g.setTimeout = timer('setTimeout');
  g.setInterval = timer('setInterval');
  g.setImmediate = timer('setImmediate');
  g.clearTimeout = g.clearInterval = g.clearImmediate = function (id) { host.clear(id); };
})(__host, this);`, { filename: 'mimoe-sim-runtime.js' });

function toBuffer(value) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Object.prototype.toString.call(value) === '[object ArrayBuffer]') return Buffer.from(value);
  if (value === undefined || value === null) return Buffer.alloc(0);
  return Buffer.from(String(value), 'utf8');
}

function makeHost(timers, run) {
  return {
    enc(format, value) {
      if (format === 'base64') return toBuffer(value).toString('base64');
      if (format === 'hex') return toBuffer(value).toString('hex');
      if (format === 'jx' || format === 'jc') return JSON.stringify(value);
      throw new TypeError(`Duktape.enc: unsupported format ${format}`);
    },
    dec(format, value) {
      const text = typeof value === 'string' ? value : toBuffer(value).toString('latin1');
      if (format === 'base64') {
        const clean = text.replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
          throw new TypeError('base64 decode failed');
        }
        return Buffer.from(clean, 'base64');
      }
      if (format === 'hex') {
        if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new TypeError('hex decode failed');
        return Buffer.from(text, 'hex');
      }
      if (format === 'jx' || format === 'jc') return JSON.parse(text);
      throw new TypeError(`Duktape.dec: unsupported format ${format}`);
    },
    utf8(text) { return Buffer.from(text, 'utf8'); },
    text(input, fatal) {
      return new TextDecoder('utf-8', { fatal }).decode(input === undefined ? Buffer.alloc(0) : toBuffer(input));
    },
    // Timers belong to the request: the ones still pending when its answer is sent are cancelled [I].
    timer(kind, fn, ms) {
      const id = timers.next;
      timers.next += 1;
      const fire = () => {
        if (kind !== 'setInterval') timers.live.delete(id);
        run(fn);
      };
      let handle;
      if (kind === 'setImmediate') handle = setImmediate(fire);
      else if (kind === 'setInterval') handle = setInterval(fire, Math.max(1, ms));
      else handle = setTimeout(fire, Math.max(0, ms));
      timers.live.set(id, { kind, handle });
      return id;
    },
    clear(id) {
      const entry = timers.live.get(id);
      if (!entry) return;
      timers.live.delete(id);
      if (entry.kind === 'setImmediate') clearImmediate(entry.handle);
      else if (entry.kind === 'setInterval') clearInterval(entry.handle);
      else clearTimeout(entry.handle);
    },
  };
}

function clearTimers(timers) {
  timers.live.forEach((entry) => {
    if (entry.kind === 'setImmediate') clearImmediate(entry.handle);
    else if (entry.kind === 'setInterval') clearInterval(entry.handle);
    else clearTimeout(entry.handle);
  });
  timers.live.clear();
}

// ---- context.http.request: async, callback based ----
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function makeHttp(guard) {
  return {
    request(options) {
      const opts = options || {};
      const success = typeof opts.success === 'function' ? opts.success : () => {};
      const error = typeof opts.error === 'function' ? opts.error : () => {};
      let target;
      try {
        target = new URL(String(opts.url));
      } catch (err) {
        setImmediate(() => guard(() => error({ message: `invalid url: ${opts.url}` })));
        return;
      }
      // The node itself: its own port, and mimik's default 8083 (what mims hard-code) on loopback [I].
      const requestOptions = { method: (opts.type || 'GET').toUpperCase() };
      const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
      if (LOOPBACK.has(target.hostname) && (port === config.node.port || port === 8083)) {
        target.port = String(config.node.port);
        target.protocol = `${config.node.scheme}:`;
        requestOptions.rejectUnauthorized = false; // our own node's certificate
      }
      const lib = target.protocol === 'https:' ? https : http;
      const headers = Object.assign({}, opts.headers || {});
      if (opts.authorization) headers.Authorization = opts.authorization;
      let data = opts.data;
      if (data !== undefined && data !== null && typeof data !== 'string' && !ArrayBuffer.isView(data)) {
        data = JSON.stringify(data);
      }
      if (data !== undefined && data !== null) {
        data = toBuffer(data);
        headers['Content-Length'] = data.length;
      }
      requestOptions.headers = headers;
      const req = lib.request(target, requestOptions, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode < 400) {
            guard(() => success({ data: body, headers: res.headers, status: res.statusCode }));
          } else {
            guard(() => error({
              message: `HTTP ${res.statusCode}`, status: res.statusCode, content: body, headers: res.headers,
            }));
          }
        });
      });
      const timeout = Number(opts.socketTimeout || opts.connectionTimeout || 0);
      if (timeout > 0) req.setTimeout(timeout, () => req.destroy(new Error('timeout')));
      req.on('error', (err) => guard(() => error({ message: err.message })));
      if (data !== undefined && data !== null) req.write(data);
      req.end();
    },
  };
}

// ---- one request ----
function handleRequest(msg) {
  if (msg.crash) {
    log('simulated crash (fault crash_mims)');
    process.exit(70);
  }
  let done = false;
  const headersOut = {};
  const chunks = [];
  let timer = null;
  const timers = { next: 1, live: new Map() };
  const finish = (status, body, binary) => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    clearTimers(timers);
    const answer = { op: 'response', id: msg.id, status, headers: headersOut };
    if (binary) answer.bodyB64 = body.toString('base64');
    else answer.body = body;
    send(answer);
  };
  const fail = (status, message) => {
    headersOut['content-type'] = 'application/json';
    finish(status, JSON.stringify({ error: { code: status, message } }));
  };
  if (!script) {
    fail(500, `mim cannot be loaded: ${compileError}`);
    return;
  }
  timer = setTimeout(() => fail(504, 'mim execution time limit exceeded'), config.maxExecutionMs);
  const rawBody = Buffer.from(msg.bodyB64 || '', 'base64');

  const response = {
    statusCode: 200,
    setHeader(k, v) { headersOut[String(k).toLowerCase()] = String(v); },
    write(data) { if (data !== undefined && data !== null) chunks.push(String(data)); },
    end(data) {
      if (data !== undefined && data !== null) chunks.push(String(data));
      finish(Number(response.statusCode) || 200, chunks.join(''));
    },
    // Answers with a file the mim stored (handleFormRequest); a missing file answers 404 [I].
    writeMimeFile(name, mimeType) {
      let content;
      try {
        content = fs.readFileSync(filePath(name));
      } catch (err) {
        fail(404, `file not found: ${name}`);
        return;
      }
      headersOut['content-type'] = String(mimeType || 'application/octet-stream');
      finish(Number(response.statusCode) || 200, content, true);
    },
  };
  const headers = {};
  Object.keys(msg.headers || {}).forEach((k) => { headers[k.toLowerCase()] = msg.headers[k]; });
  const request = {
    url: msg.url,
    method: msg.method,
    headers,
    body: rawBody.toString('utf8'),
    authorization: headers.authorization || '',
    // Synchronous, like the real API: every part is handled before it returns. found(name, filename) answers
    // {action: "get"} (get(name, text) is called), {action: "store", path} (the part is written to the mim's
    // files, then store(path, size)), anything else skips the part.
    handleFormRequest(handlers) {
      const h = handlers || {};
      const parts = parseMultipart(rawBody, headers['content-type']);
      if (parts === null) throw new Error('handleFormRequest: the request is not multipart/form-data');
      parts.forEach((part) => {
        const decision = typeof h.found === 'function' ? h.found(part.name, part.filename) : null;
        const action = decision && decision.action;
        if (action === 'get') {
          if (typeof h.get === 'function') h.get(part.name, part.content.toString('utf8'));
        } else if (action === 'store') {
          const name = decision.path || part.filename || part.name;
          const full = filePath(name);
          fs.mkdirSync(path.dirname(full), { recursive: true });
          fs.writeFileSync(full, part.content);
          if (typeof h.store === 'function') h.store(name, part.content.length);
        }
      });
    },
  };
  // Callbacks (http.request, timers, edge) run later: errors there must not kill the harness.
  const guard = (fn) => {
    if (done) return;
    try {
      fn();
    } catch (err) {
      log('mim callback error:', err && err.message);
      fail(500, `mim error: ${err && err.message}`);
    }
  };
  const later = (fn) => setImmediate(() => guard(fn));
  const storage = makeStorage();
  storage.deleteFile = (name) => {
    try {
      fs.unlinkSync(filePath(name));
      return true;
    } catch (err) {
      return false;
    }
  };
  const edge = {
    requestBep(options) {
      const o = options || {};
      const problem = checkHmacCode(o.code);
      if (problem) later(() => typeof o.error === 'function' && o.error({ message: problem }));
      else later(() => typeof o.success === 'function' && o.success({ data: config.node.bepUrl }));
    },
    decryptEncryptedNodesJson(options) {
      const o = options || {};
      let decrypted;
      try {
        decrypted = decryptNodes(o.type, o.data);
      } catch (err) {
        later(() => typeof o.error === 'function' && o.error({ message: err.message }));
        return;
      }
      later(() => typeof o.success === 'function' && o.success({ data: decrypted }));
    },
  };
  const context = {
    env: Object.assign({}, config.env),
    info: Object.assign({}, config.info),
    storage,
    http: makeHttp(guard),
    edge,
  };
  if (config.node.websocket) {
    // Every WebSocket client connected to the mim's base path receives the event as one text frame [I].
    context.dispatchWebSocketEvent = (event) => {
      let data = event;
      if (data === undefined || data === null) data = '{}';
      else if (typeof data !== 'string') data = JSON.stringify(data);
      send({ op: 'ws', data });
    };
  }

  const sandbox = {
    mimikModule: { exports: null },
    console: {
      log: (...a) => log('[mim]', ...a.map(String)),
      error: (...a) => log('[mim]', ...a.map(String)),
      warn: (...a) => log('[mim]', ...a.map(String)),
      info: (...a) => log('[mim]', ...a.map(String)),
      debug: (...a) => log('[mim]', ...a.map(String)),
    },
    __mimArgs: { context, request, response },
    __host: makeHost(timers, guard),
  };
  sandbox.global = sandbox;
  const ctx = vm.createContext(sandbox);
  const timeout = Math.max(1, config.maxExecutionMs);
  try {
    PRELUDE.runInContext(ctx);
    script.runInContext(ctx, { timeout });
    if (typeof sandbox.mimikModule.exports !== 'function') {
      fail(500, 'mim error: index.js did not assign a function to mimikModule.exports');
      return;
    }
    vm.runInContext('mimikModule.exports(__mimArgs.context, __mimArgs.request, __mimArgs.response)', ctx, { timeout });
  } catch (err) {
    if (err && err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      fail(504, 'mim execution time limit exceeded');
    } else {
      log('mim error:', err && err.message);
      fail(500, `mim error: ${err && err.message}`);
    }
  }
}

function init(msg) {
  config = msg;
  config.node = config.node || { port: 0, scheme: 'http', bepUrl: '', hmacKey: '', websocket: false };
  config.filesDir = path.resolve(config.filesDir || `${config.storagePath}.files`);
  loadStorage();
  try {
    const source = fs.readFileSync(config.indexPath, 'utf8');
    script = new vm.Script(source, { filename: 'index.js' });
  } catch (err) {
    compileError = err.message;
    log('cannot load index.js:', err.message);
  }
  send({ op: 'ready', error: compileError });
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    log('bad message from node');
    return;
  }
  if (msg.op === 'init') init(msg);
  else if (msg.op === 'request') handleRequest(msg);
  else if (msg.op === 'restore') {
    items = msg.items || {};
    persistStorage();
    send({ op: 'restored', id: msg.id });
  }
});
rl.on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
