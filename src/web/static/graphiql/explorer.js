// clientgraph's GraphiQL page: a sign-in form, then GraphiQL sending the access token.
//
// The access token lives only in this script's memory. The refresh token is the HttpOnly
// cookie /auth/login sets on /auth, which this script can neither read nor send anywhere else:
// the token is renewed through /auth/refresh before it expires, and on a reload of the tab
// (sessionStorage remembers only *that* the tab was signed in, never a token).
//
// With an identity provider configured (CLIENTGRAPH_OIDC_CLIENT_ID), the form offers it too:
// an authorization-code sign-in with PKCE, back to this page, whose code is exchanged at the
// provider's token endpoint for a token the API takes (the one whose audience is ours). That
// token, and the provider's refresh token if it gives one, also live only in memory.
(() => {
  "use strict";

  const GRAPHQL_PATH = document.body.dataset.graphqlPath || "/graphql";
  const AUTH = { login: "/auth/login", refresh: "/auth/refresh", logout: "/auth/logout" };
  const SIGNED_IN_FLAG = document.body.dataset.signedInFlag;
  const RETRY_REFRESH_MS = 5000;
  const DEFAULT_QUERY = `# Signed in: every request carries your access token.
# Ctrl-Enter runs the query; the Docs button shows the schema.
query Me {
  viewer {
    user { name email role }
    firm { name }
    permissions
  }
}
`;

  const PROVIDER_PENDING = "clientgraph.graphiql.providerSignIn";
  const PROVIDER = (() => {
    const data = document.body.dataset;
    if (!data.oidcAuthorizationEndpoint) return null;
    return {
      authorize: data.oidcAuthorizationEndpoint,
      token: data.oidcTokenEndpoint,
      clientId: data.oidcClientId,
      audience: data.oidcAudience,
    };
  })();

  const { $, readJson, firstError, postJson, waitText, firmsOf, offerFirms } =
    window.clientgraphRequests;
  // kind: "password" (our tokens, renewed with the cookie) or "provider" (the provider's).
  const session = {
    token: null,
    kind: null,
    providerRefreshToken: null,
    refreshTimer: null,
    refreshing: null,
    root: null,
  };

  // --- tokens -------------------------------------------------------------------------------

  function adopt(tokens) {
    session.token = tokens.accessToken;
    session.kind = "password";
    sessionStorage.setItem(SIGNED_IN_FLAG, "1");
    renewBefore(Number(tokens.expiresIn) || 60);
  }

  function renewBefore(lifetimeSeconds) {
    const lead = Math.min(60, lifetimeSeconds / 4);
    scheduleRefresh((lifetimeSeconds - lead) * 1000);
  }

  function scheduleRefresh(delayMs) {
    clearTimeout(session.refreshTimer);
    session.refreshTimer = setTimeout(refreshInBackground, Math.max(1000, delayMs));
  }

  // A refresh token is spent when used, and presenting a spent one ends the whole sign-in:
  // tabs of this page share the cookie, so one refresh at a time across all of them (Web
  // Locks), and within a tab concurrent callers share one request.
  function oneRefreshAtATime(work) {
    return navigator.locks ? navigator.locks.request("clientgraph-auth-refresh", work) : work();
  }

  // "ok", "ended" (the server refused: sign in again) or "unreachable" (try again later).
  function refresh() {
    if (session.kind === "provider") return refreshAtProvider();
    if (!session.refreshing) {
      session.refreshing = oneRefreshAtATime(async () => {
        let response;
        try {
          response = await postJson(AUTH.refresh, {});
        } catch {
          return "unreachable";
        }
        const body = await readJson(response);
        if (response.ok && body && typeof body.accessToken === "string") {
          adopt(body);
          return "ok";
        }
        return response.status >= 500 || response.status === 429 ? "unreachable" : "ended";
      }).finally(() => {
        session.refreshing = null;
      });
    }
    return session.refreshing;
  }

  // --- the identity provider ---------------------------------------------------------------

  function base64url(bytes) {
    let text = "";
    for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomText() {
    return base64url(crypto.getRandomValues(new Uint8Array(32)));
  }

  function redirectUri() {
    return `${location.origin}${GRAPHQL_PATH}`;
  }

  // A JWT's claims, unverified: only to pick the token for our audience and to know when it
  // expires. The server verifies every token it is sent.
  function claimsOf(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return claims && typeof claims === "object" ? claims : null;
    } catch {
      return null;
    }
  }

  // The provider's token the API takes: the one whose audience is ours (the ID token when
  // our audience is this page's client id).
  function tokenForApi(tokens) {
    for (const token of [tokens.id_token, tokens.access_token]) {
      const claims = typeof token === "string" ? claimsOf(token) : null;
      const audience = claims && (Array.isArray(claims.aud) ? claims.aud : [claims.aud]);
      if (audience && audience.includes(PROVIDER.audience)) return { token, claims };
    }
    return null;
  }

  function adoptProviderTokens(chosen, refreshToken) {
    session.token = chosen.token;
    session.kind = "provider";
    if (refreshToken) session.providerRefreshToken = refreshToken;
    const lifetime = Number(chosen.claims.exp) - Date.now() / 1000;
    renewBefore(Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 60);
  }

  async function signInAtProvider() {
    const verifier = randomText();
    const state = randomText();
    const nonce = randomText();
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    sessionStorage.setItem(PROVIDER_PENDING, JSON.stringify({ verifier, state, nonce }));
    const url = new URL(PROVIDER.authorize);
    const params = {
      response_type: "code",
      client_id: PROVIDER.clientId,
      redirect_uri: redirectUri(),
      scope: "openid email",
      state,
      nonce,
      code_challenge: base64url(digest),
      code_challenge_method: "S256",
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    location.assign(url.toString());
  }

  function postForm(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "omit",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: new URLSearchParams(fields),
    });
  }

  function providerRefusal(body) {
    const reason = body && (body.error_description || body.error);
    return reason
      ? `The identity provider refused the sign-in: ${reason}`
      : "The identity provider gave no token for this service.";
  }

  // Back from the provider with `code` (or `error`) and `state` in the address.
  async function finishProviderSignIn(params) {
    history.replaceState(null, "", location.pathname);
    const pending = JSON.parse(sessionStorage.getItem(PROVIDER_PENDING) || "null");
    sessionStorage.removeItem(PROVIDER_PENDING);
    showSignIn("");
    if (!pending || pending.state !== params.get("state")) {
      showError("This answer of the identity provider is not for a sign-in begun here.");
      return;
    }
    if (!params.get("code")) {
      showError(
        providerRefusal({
          error: params.get("error"),
          error_description: params.get("error_description"),
        }),
      );
      return;
    }
    let response;
    try {
      response = await postForm(PROVIDER.token, {
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: redirectUri(),
        client_id: PROVIDER.clientId,
        code_verifier: pending.verifier,
      });
    } catch {
      showError("The identity provider cannot be reached; try again.");
      return;
    }
    const body = await readJson(response);
    const chosen = response.ok && body ? tokenForApi(body) : null;
    if (!chosen) {
      showError(providerRefusal(body));
      return;
    }
    const idClaims = typeof body.id_token === "string" ? claimsOf(body.id_token) : null;
    if (idClaims && idClaims.nonce !== pending.nonce) {
      showError("The identity provider's token is not for a sign-in begun here.");
      return;
    }
    adoptProviderTokens(chosen, body.refresh_token);
    showGraphiQL();
  }

  function refreshAtProvider() {
    if (!session.providerRefreshToken) return Promise.resolve("ended");
    if (!session.refreshing) {
      session.refreshing = (async () => {
        let response;
        try {
          response = await postForm(PROVIDER.token, {
            grant_type: "refresh_token",
            refresh_token: session.providerRefreshToken,
            client_id: PROVIDER.clientId,
          });
        } catch {
          return "unreachable";
        }
        const body = await readJson(response);
        const chosen = response.ok && body ? tokenForApi(body) : null;
        if (chosen) {
          adoptProviderTokens(chosen, body.refresh_token);
          return "ok";
        }
        return response.status >= 500 ? "unreachable" : "ended";
      })().finally(() => {
        session.refreshing = null;
      });
    }
    return session.refreshing;
  }

  async function refreshInBackground() {
    const outcome = await refresh();
    if (outcome === "unreachable") scheduleRefresh(RETRY_REFRESH_MS);
    if (outcome === "ended") showSignIn("Your session has ended; please sign in again.");
  }

  // --- GraphiQL -----------------------------------------------------------------------------

  function postGraphQL(params, headers) {
    return fetch(GRAPHQL_PATH, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        ...headers,
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `Bearer ${session.token}`,
      },
      body: JSON.stringify(params),
    });
  }

  // Subscriptions go over the websocket on the same path (graphql-transport-ws, through the
  // graphql-ws client GraphiQL bundles). Its fetcher sends the headers it is given as the
  // connection_init payload: the session's current token among them.
  const liveFetcher = GraphiQL.createFetcher({
    url: GRAPHQL_PATH,
    subscriptionUrl: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${GRAPHQL_PATH}`,
  });

  function isSubscription(params, options) {
    const document = options && options.documentAST;
    return Boolean(
      document &&
        document.definitions.some(
          (definition) =>
            definition.kind === "OperationDefinition" &&
            definition.operation === "subscription" &&
            (!params.operationName ||
              (definition.name && definition.name.value === params.operationName)),
        ),
    );
  }

  // GraphiQL's fetcher. Every answer of the API is JSON (errors included); anything else
  // becomes a GraphQL error GraphiQL can show, never a JSON parse failure.
  async function fetcher(params, options) {
    const headers = (options && options.headers) || {};
    if (isSubscription(params, options)) {
      const token = { Authorization: `Bearer ${session.token}` };
      return liveFetcher(params, { ...options, headers: { ...headers, ...token } });
    }
    let response = await postGraphQL(params, headers);
    if (response.status === 401 && (await refresh()) === "ok") {
      response = await postGraphQL(params, headers);
    }
    const body = await readJson(response);
    if (response.status === 401) {
      setTimeout(() => showSignIn("Your session has ended; please sign in again."), 0);
    }
    if (body === null) {
      return {
        errors: [{ message: `The server answered ${response.status} without a JSON body.` }],
      };
    }
    return body;
  }

  async function describeViewer() {
    const response = await postGraphQL(
      { query: "query GraphiQLViewer { viewer { user { name email } firm { name } } }" },
      {},
    );
    const body = await readJson(response);
    const viewer = body && body.data && body.data.viewer;
    if (viewer) {
      $("signed-in-as").textContent =
        `${viewer.user.name} <${viewer.user.email}> · ${viewer.firm.name}`;
    }
  }

  function showGraphiQL() {
    $("sign-in").hidden = true;
    $("bar").hidden = false;
    $("graphiql").hidden = false;
    $("signed-in-as").textContent = "";
    if (!session.root) {
      session.root = ReactDOM.createRoot($("graphiql"));
      session.root.render(
        React.createElement(GraphiQL, {
          fetcher,
          defaultQuery: DEFAULT_QUERY,
          shouldPersistHeaders: false,
        }),
      );
    }
    describeViewer().catch(() => {});
  }

  // --- sign-in form -------------------------------------------------------------------------

  function showSignIn(notice) {
    session.token = null;
    session.kind = null;
    session.providerRefreshToken = null;
    clearTimeout(session.refreshTimer);
    sessionStorage.removeItem(SIGNED_IN_FLAG);
    if (session.root) {
      session.root.unmount();
      session.root = null;
    }
    $("graphiql").hidden = true;
    $("bar").hidden = true;
    $("sign-in").hidden = false;
    $("provider-sign-in").hidden = !PROVIDER;
    $("sign-in-notice").textContent = notice || "";
    $("sign-in-error").textContent = "";
    $("password").value = "";
    $($("email").value ? "password" : "email").focus();
  }

  function showError(message) {
    $("sign-in-error").textContent = message;
  }

  function forgetFirms() {
    $("firm").replaceChildren();
    $("firm-choice").hidden = true;
  }

  // The 409 answer names the firms the e-mail belongs to, as `firms: [{id, name}]` at the top
  // or in the error's extensions.
  async function signIn(event) {
    event.preventDefault();
    const email = $("email").value.trim();
    const password = $("password").value;
    if (!email || !password) {
      showError("Enter your e-mail and password.");
      return;
    }
    const credentials = { email, password };
    if (!$("firm-choice").hidden && $("firm").value) credentials.firmId = $("firm").value;
    showError("");
    $("sign-in-submit").disabled = true;
    let response;
    try {
      response = await postJson(AUTH.login, credentials);
    } catch {
      showError("The server cannot be reached; try again.");
      return;
    } finally {
      $("sign-in-submit").disabled = false;
    }
    const body = await readJson(response);
    if (response.ok && body && typeof body.accessToken === "string") {
      $("password").value = "";
      $("sign-in-notice").textContent = "";
      adopt(body);
      showGraphiQL();
    } else if (response.status === 409 && firmsOf(body).length) {
      offerFirms(firmsOf(body));
      showError("This e-mail belongs to several firms: choose one and sign in.");
    } else if (response.status === 401) {
      $("password").value = "";
      $("password").focus();
      showError("Wrong e-mail or password.");
    } else if (response.status === 429) {
      showError(
        `Too many failed sign-ins. Try again in ${waitText(response.headers.get("Retry-After"))}.`,
      );
    } else {
      const error = firstError(body);
      showError((error && error.message) || `Sign-in failed (HTTP ${response.status}).`);
    }
  }

  async function signOut() {
    clearTimeout(session.refreshTimer);
    if (session.kind === "password") {
      try {
        await postJson(AUTH.logout, {});
      } catch {
        // Signed out here either way; the refresh token then simply expires.
      }
    }
    showSignIn("You are signed out.");
  }

  async function start() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("email").addEventListener("input", forgetFirms);
    $("sign-out").addEventListener("click", signOut);
    const params = new URLSearchParams(location.search);
    if (PROVIDER) {
      $("provider-sign-in-button").addEventListener("click", signInAtProvider);
      if (params.has("state") && (params.has("code") || params.has("error"))) {
        await finishProviderSignIn(params);
        return;
      }
    }
    if (sessionStorage.getItem(SIGNED_IN_FLAG) && (await refresh()) === "ok") {
      showGraphiQL();
    } else {
      showSignIn("");
    }
  }

  start();
})();
