// A tiny router for the mimOE handler signature (context, request, response).
// Routes are a plain table: { '/path': { GET: handler, POST: handler } }.
// Only ES5 built-ins are used here: babel rewrites the syntax, but adds no polyfills.

const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

export const sendJson = (response, statusCode, body, headers = {}) => {
  response.statusCode = statusCode;
  response.setHeader('content-type', 'application/json');
  Object.keys(headers).forEach((name) => response.setHeader(name, headers[name]));
  response.end(JSON.stringify(body));
};

// The node strips /{clientId}{basePath}; the url may still carry a query string.
export const pathOf = (url) => {
  let path = String(url || '/').split('?')[0].split('#')[0];
  if (path.length > 1 && path.charAt(path.length - 1) === '/') path = path.slice(0, -1);
  return path || '/';
};

// Returns a handler (context, request, response) that dispatches on the route table.
// `guard(context, request, path)` runs first (so it also covers unknown paths): it returns null to
// let the request through, or { statusCode, body, headers } to reply with.
export const createRouter = (routes, guard) => (context, request, response) => {
  const path = pathOf(request.url);
  const method = String(request.method || 'GET').toUpperCase();

  const denied = guard ? guard(context, request, path) : null;
  if (denied) {
    sendJson(response, denied.statusCode, denied.body, denied.headers);
    return;
  }
  if (!has(routes, path)) {
    sendJson(response, 404, { error: 'not found', path });
    return;
  }
  const methods = routes[path];
  if (!has(methods, method)) {
    const allow = Object.keys(methods).join(', ');
    sendJson(response, 405, { error: 'method not allowed', method, allow }, { allow });
    return;
  }
  try {
    const result = methods[method](context, request);
    sendJson(response, result.statusCode || 200, result.body);
  } catch (err) {
    sendJson(response, 500, { error: 'internal error', message: String((err && err.message) || err) });
  }
};
