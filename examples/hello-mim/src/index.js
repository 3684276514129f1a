// hello: a minimal mimOE microservice (mim).
//
// The node evaluates this bundle in a fresh ES5 sandbox (Duktape) for every request and calls
// mimikModule.exports(context, request, response). There is no require, fs or process, and nothing
// kept in memory survives the request: persistent state lives in context.storage.
import { createRouter } from './router';

// Replaced at build time by webpack's DefinePlugin, from package.json.
const NAME = __MIM_NAME__;
const VERSION = __MIM_VERSION__;

const COUNTER_KEY = 'counter';

const envOf = (context) => (context && context.env) || {};

const readCounter = (storage) => {
  const n = parseInt(storage.getItem(COUNTER_KEY), 10);
  return isNaN(n) ? 0 : n;
};

const routes = {
  '/version': {
    GET: () => ({ body: { name: NAME, version: VERSION } }),
  },
  '/hello': {
    GET: (context) => ({ body: { message: envOf(context).GREETING || 'hello', version: VERSION } }),
  },
  '/counter': {
    GET: (context) => ({ body: { counter: readCounter(context.storage) } }),
    POST: (context) => {
      const counter = readCounter(context.storage) + 1;
      context.storage.setItem(COUNTER_KEY, String(counter));
      return { body: { counter } };
    },
  },
  '/healthcheck': {
    // HEALTH_FAIL=true simulates a broken release (for rollout and rollback tests).
    GET: (context) => (envOf(context).HEALTH_FAIL === 'true'
      ? { statusCode: 500, body: { status: 'failing' } }
      : { body: { status: 'ok', version: VERSION } }),
  },
};

// When env API_KEY is set, every route but /healthcheck needs "Authorization: Bearer <API_KEY>".
const requireApiKey = (context, request, path) => {
  const apiKey = envOf(context).API_KEY;
  if (!apiKey || path === '/healthcheck') return null;
  const headers = request.headers || {};
  const match = /^bearer\s+(.+)$/i.exec(String(headers.authorization || request.authorization || ''));
  if (match && match[1].trim() === apiKey) return null;
  return {
    statusCode: 401,
    body: { error: 'unauthorized' },
    headers: { 'www-authenticate': 'Bearer' },
  };
};

mimikModule.exports = createRouter(routes, requireApiKey);
