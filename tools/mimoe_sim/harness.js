'use strict';
// mimoe_sim mim harness: runs ONE mim the way mimOE's JavaScript runtime does (as far as the contract is known).
//
// Protocol with the simulator node (Python): JSON lines.
//   stdin  <- {"op":"init", "indexPath", "storagePath", "env", "info", "maxExecutionMs"}
//             {"op":"request", "id", "url", "method", "headers", "body", "crash"?}
//             {"op":"restore", "id", "items": {key: {"value", "tag"}}}
//   stdout -> {"op":"ready"} | {"op":"response", "id", "status", "headers", "body"} | {"op":"restored", "id"}
// stdin closing (the node died or stopped us) ends the process. Nothing here logs env values or tokens.
//
// Per request, index.js is evaluated in a FRESH vm context that holds only the mimik globals (mimikModule,
// console, global): no require, fs, process, fetch, setTimeout. Module-level state is therefore lost between
// requests, as on a real node; context.storage is the only persistence.
// Compatible with Node 18 and 20.

const fs = require('fs');
const path = require('path');
const vm = require('vm');
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

// ---- context.http.request: async, callback based ----
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
        guard(() => error({ message: `invalid url: ${opts.url}` }));
        return;
      }
      const lib = target.protocol === 'https:' ? https : http;
      const headers = Object.assign({}, opts.headers || {});
      if (opts.authorization) headers.Authorization = opts.authorization;
      let data = opts.data;
      if (data !== undefined && data !== null && typeof data !== 'string') data = JSON.stringify(data);
      if (data !== undefined && data !== null) headers['Content-Length'] = Buffer.byteLength(data);
      const req = lib.request(target, { method: (opts.type || 'GET').toUpperCase(), headers }, (res) => {
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
  const finish = (status, body) => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    send({ op: 'response', id: msg.id, status, headers: headersOut, body });
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

  const response = {
    statusCode: 200,
    setHeader(k, v) { headersOut[String(k).toLowerCase()] = String(v); },
    write(data) { if (data !== undefined && data !== null) chunks.push(String(data)); },
    end(data) {
      if (data !== undefined && data !== null) chunks.push(String(data));
      finish(Number(response.statusCode) || 200, chunks.join(''));
    },
  };
  const headers = {};
  Object.keys(msg.headers || {}).forEach((k) => { headers[k.toLowerCase()] = msg.headers[k]; });
  const request = {
    url: msg.url,
    method: msg.method,
    headers,
    body: msg.body || '',
    authorization: headers.authorization || '',
  };
  // Callbacks (http.request) run later: errors there must not kill the harness.
  const guard = (fn) => {
    if (done) return;
    try {
      fn();
    } catch (err) {
      log('mim callback error:', err && err.message);
      fail(500, `mim error: ${err && err.message}`);
    }
  };
  const context = {
    env: Object.assign({}, config.env),
    info: Object.assign({}, config.info),
    storage: makeStorage(),
    http: makeHttp(guard),
    edge: {},
  };

  const sandbox = {
    mimikModule: { exports: null },
    console: {
      log: (...a) => log('[mim]', ...a.map(String)),
      error: (...a) => log('[mim]', ...a.map(String)),
      warn: (...a) => log('[mim]', ...a.map(String)),
      info: (...a) => log('[mim]', ...a.map(String)),
    },
    __mimArgs: { context, request, response },
  };
  sandbox.global = sandbox;
  const ctx = vm.createContext(sandbox);
  const timeout = Math.max(1, config.maxExecutionMs);
  try {
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
