// Runs a mim bundle the way a mimOE node does, for tests: every request gets a FRESH vm context
// holding only `mimikModule`, the bundle is evaluated in it, and its export is called with
// (context, request, response). Storage is a plain JS object shared across requests (persistent),
// so only state kept in context.storage survives from one request to the next.
//
// Usage: node mim_harness.js BUNDLE < scenario.json
//   scenario: {"storage": {...}, "requests": [{"method", "url", "headers", "body", "env"}, ...]}
// Prints: {"results": [{"statusCode", "headers", "body", "globals"}, ...], "storage": {...}}
'use strict';

const fs = require('fs');
const vm = require('vm');

const code = fs.readFileSync(process.argv[2], 'utf8');
const scenario = JSON.parse(fs.readFileSync(0, 'utf8'));
const items = Object.assign({}, scenario.storage || {});

const storage = {
  getItem: (key) => (Object.prototype.hasOwnProperty.call(items, key) ? items[key] : null),
  setItem: (key, value) => { items[key] = String(value); },
  removeItem: (key) => { delete items[key]; },
  eachItem: (cb) => Object.keys(items).forEach((key) => cb(key, items[key])),
};

function handle(req) {
  const sandbox = vm.createContext({ mimikModule: { exports: null } });
  vm.runInContext(code, sandbox, { filename: 'index.js', timeout: 2000 });
  if (typeof sandbox.mimikModule.exports !== 'function') {
    throw new Error('the bundle did not assign a function to mimikModule.exports');
  }
  const headers = {};
  let body = null;
  let ends = 0;
  const response = {
    statusCode: 200,
    setHeader: (name, value) => { headers[String(name).toLowerCase()] = String(value); },
    write: (chunk) => { body = (body || '') + chunk; },
    end: (chunk) => { ends += 1; if (chunk !== undefined) body = (body || '') + chunk; },
  };
  const lowered = {};
  Object.keys(req.headers || {}).forEach((k) => { lowered[k.toLowerCase()] = req.headers[k]; });
  const request = {
    method: req.method || 'GET',
    url: req.url,
    headers: lowered,
    body: req.body || '',
    authorization: lowered.authorization,
  };
  const context = {
    env: req.env || {},
    storage,
    info: { serviceType: 'hello-v1', apiRoot: '/api/hello/v1', httpPort: 8083 },
  };
  sandbox.mimikModule.exports(context, request, response);
  if (ends !== 1) throw new Error(`response.end() called ${ends} times for ${request.method} ${request.url}`);
  return {
    statusCode: response.statusCode,
    headers,
    body: JSON.parse(body),
    globals: Object.keys(sandbox), // what the bundle left in the global scope
  };
}

const results = scenario.requests.map(handle);
process.stdout.write(JSON.stringify({ results, storage: items }));
