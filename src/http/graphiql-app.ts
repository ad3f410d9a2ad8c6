/**
 * Browser bootstrap script for the GraphiQL page, served as `/graphiql/app.js`.
 *
 * It lives in a string constant (not a static `.js` file) so `tsc` ships it to
 * `dist/` without a copy step, and it is served as an external script so the
 * page works under a CSP without `'unsafe-inline'` for scripts.
 *
 * Globals it expects (loaded before it by the HTML page): `React`, `ReactDOM`,
 * `GraphiQL` and `graphqlWs` (the UMD builds of react, react-dom, graphiql and
 * graphql-ws). It reads the GraphQL endpoint path from `data-endpoint` on the
 * `#graphiql` element, and derives the WebSocket URL (ws: or wss:) from
 * `location`.
 *
 * Keep this ES2020 without template literals: it is embedded in a TS template
 * string and is not transpiled.
 */
export const GRAPHIQL_APP_SCRIPT = String.raw`(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  var endpoint = (root && root.getAttribute('data-endpoint')) || location.pathname;
  var wsUrl = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + endpoint;

  var DEFAULT_QUERY = [
    '# Classroom API explorer (GraphiQL)',
    '#',
    '# To authenticate, open the "Headers" tab below',
    '# and paste (headers are a JSON object):',
    '#',
    '#   { "Authorization": "Bearer <token>" }',
    '#',
    '# Queries and mutations send these headers over',
    '# HTTP. Subscriptions use a WebSocket (graphql-ws)',
    '# on this same URL and get them as connectionParams',
    '# (connectionParams.authorization).',
    '#',
    '# Run: Ctrl-Enter or the play button.',
    '# Autocomplete: Ctrl-Space. Schema: Docs (top left).',
    '',
    '{',
    '  __typename',
    '}',
    ''
  ].join('\n');

  /** Lower-cases header names so "Authorization" and "authorization" are one key. */
  function normalizeHeaders(headers) {
    var out = {};
    if (headers && typeof headers === 'object') {
      Object.keys(headers).forEach(function (name) {
        var value = headers[name];
        if (value !== undefined && value !== null) out[name.toLowerCase()] = String(value);
      });
    }
    return out;
  }

  /** True when the operation GraphiQL is about to run is a subscription. */
  function isSubscription(params, opts) {
    if (params.operationName === 'IntrospectionQuery') return false;
    // Parse the text being sent: GraphiQL's opts.documentAST is refreshed on a
    // debounce and can be stale right after an edit. GraphiQL.GraphQL is the
    // graphql-js build bundled with GraphiQL.
    var doc = null;
    try { doc = GraphiQL.GraphQL.parse(params.query); } catch (e) { doc = opts && opts.documentAST; }
    if (!doc || !doc.definitions) return false;
    var ops = doc.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    var op = params.operationName
      ? ops.find(function (d) { return d.name && d.name.value === params.operationName; })
      : (ops.length === 1 ? ops[0] : undefined);
    return !!op && op.operation === 'subscription';
  }

  // One lazy graphql-ws client per distinct set of editor headers: connectionParams
  // are only sent on connect, so changing the token needs a new connection. Old
  // clients close on their own once their subscriptions end (lazy mode).
  var wsClient = null;
  var wsClientKey = null;
  function getWsClient(headers) {
    var key = JSON.stringify(headers);
    if (!wsClient || wsClientKey !== key) {
      wsClientKey = key;
      wsClient = graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        // All editor headers (lower-cased), so connectionParams.authorization
        // carries "Bearer <token>".
        connectionParams: function () { return headers; },
        retryAttempts: 0
      });
    }
    return wsClient;
  }

  function describeWsError(err) {
    if (err instanceof Error) return err;
    if (err && typeof err.code === 'number') {
      return new Error('WebSocket closed (' + err.code + (err.reason ? ': ' + err.reason : '') + ')');
    }
    return new Error(String(err));
  }

  /** Subscriptions as an Observable (GraphiQL shows each payload; Stop unsubscribes). */
  function subscribe(params, headers) {
    return {
      subscribe: function (observer) {
        var dispose = getWsClient(headers).subscribe(
          { query: params.query, variables: params.variables || undefined, operationName: params.operationName || undefined },
          {
            next: function (value) { observer.next(value); },
            error: function (err) {
              // graphql-ws reports operation errors as a GraphQLError[]; show them as a result.
              if (Array.isArray(err)) { observer.next({ errors: err }); observer.complete(); }
              else observer.error(describeWsError(err));
            },
            complete: function () { observer.complete(); }
          }
        );
        return { unsubscribe: dispose };
      }
    };
  }

  /** Queries, mutations and introspection: plain JSON POST with the editor's headers. */
  function post(params, headers) {
    var requestHeaders = Object.assign(
      { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      headers
    );
    return fetch(endpoint, {
      method: 'POST',
      headers: requestHeaders,
      body: JSON.stringify(params),
      credentials: 'same-origin'
    }).then(function (res) {
      var type = res.headers.get('content-type') || '';
      if (type.indexOf('json') !== -1) return res.json();
      return res.text().then(function (text) {
        throw new Error('HTTP ' + res.status + ' ' + res.statusText + (text ? ': ' + text.slice(0, 500) : ''));
      });
    });
  }

  function fetcher(params, opts) {
    var headers = normalizeHeaders(opts && opts.headers);
    return isSubscription(params, opts) ? subscribe(params, headers) : post(params, headers);
  }

  // Sized via CSSOM rather than a <style> block so the page needs no inline styles.
  document.documentElement.style.height = '100%';
  document.body.style.margin = '0';
  document.body.style.height = '100%';
  root.style.height = '100vh';

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: 'headers'
    })
  );
})();
`;
