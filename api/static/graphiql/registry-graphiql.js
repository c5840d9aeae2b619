// The registry's GraphiQL: the headers tab open and pre-filled with an Authorization
// header to complete, nothing kept in the browser's storage (queries may hold identity
// numbers, headers hold tokens), and the schema fetched again once a token is pasted
// (after the header has stood still for a moment: an introspection costs ~230 points of
// the requester's rate-limit bucket, too much to spend on every keystroke).
(function () {
  "use strict";
  var PLACEHOLDER = "Bearer <paste a token here>";
  var HEADERS = JSON.stringify({ Authorization: PLACEHOLDER }, null, 2);
  var QUERY = "{ me { sub role agency { code kind region } } }\n";
  var NO_TOKEN = {
    errors: [{
      message: "No access token yet: paste one into the Headers tab below " +
        "(\"Authorization\": \"Bearer <token>\"); `make run` prints demo tokens, " +
        "`registry token issue` makes others.",
    }],
  };

  function memoryStorage() {
    var items = {};
    return {
      getItem: function (key) { return Object.prototype.hasOwnProperty.call(items, key) ? items[key] : null; },
      setItem: function (key, value) { items[key] = String(value); },
      removeItem: function (key) { delete items[key]; },
      clear: function () { items = {}; },
      get length() { return Object.keys(items).length; },
    };
  }

  function authorizationIn(headers) {
    for (var name in headers || {}) {
      if (name.toLowerCase() === "authorization") { return String(headers[name]); }
    }
    return "";
  }

  function authorizationOf(text) {
    try { return authorizationIn(JSON.parse(text || "{}")); } catch (error) { return ""; }
  }

  function fetcherFor() {
    var http = GraphiQL.createFetcher({ url: window.location.pathname });
    return function (params, options) {
      var authorization = authorizationIn(options && options.headers);
      if (!authorization || authorization === PLACEHOLDER) { return Promise.resolve(NO_TOKEN); }
      return http(params, options);
    };
  }

  var storage = memoryStorage();
  var SETTLE_MS = 500;

  function RegistryGraphiQL() {
    var state = React.useState(PLACEHOLDER);
    var authorization = state[0];
    var setAuthorization = state[1];
    // A new fetcher for a new token: GraphiQL fetches the schema again with it.
    var fetcher = React.useMemo(fetcherFor, [authorization]);
    var timer = React.useRef(null);
    function onEditHeaders(text) {
      window.clearTimeout(timer.current);
      timer.current = window.setTimeout(function () {
        setAuthorization(authorizationOf(text));
      }, SETTLE_MS);
    }
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: QUERY,
      headers: HEADERS,
      defaultHeaders: HEADERS,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      onEditHeaders: onEditHeaders,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql"))
    .render(React.createElement(RegistryGraphiQL));
})();
