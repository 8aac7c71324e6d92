// clientgraph's GraphiQL page: a sign-in form, then GraphiQL sending the access token.
//
// The access token lives only in this script's memory. The refresh token is the HttpOnly
// cookie /auth/login sets on /auth, which this script can neither read nor send anywhere else:
// the token is renewed through /auth/refresh before it expires, and on a reload of the tab
// (sessionStorage remembers only *that* the tab was signed in, never a token).
(() => {
  "use strict";

  const GRAPHQL_PATH = document.body.dataset.graphqlPath || "/graphql";
  const AUTH = { login: "/auth/login", refresh: "/auth/refresh", logout: "/auth/logout" };
  const SIGNED_IN_FLAG = "clientgraph.graphiql.signedIn";
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

  const $ = (id) => document.getElementById(id);
  const session = { token: null, refreshTimer: null, refreshing: null, root: null };

  async function readJson(response) {
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  function firstError(body) {
    return body && Array.isArray(body.errors) && body.errors.length ? body.errors[0] : null;
  }

  function postJson(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    });
  }

  // --- tokens -------------------------------------------------------------------------------

  function adopt(tokens) {
    session.token = tokens.accessToken;
    sessionStorage.setItem(SIGNED_IN_FLAG, "1");
    const lifetime = Number(tokens.expiresIn) || 60;
    const lead = Math.min(60, lifetime / 4);
    scheduleRefresh((lifetime - lead) * 1000);
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

  // GraphiQL's fetcher. Every answer of the API is JSON (errors included); anything else
  // becomes a GraphQL error GraphiQL can show, never a JSON parse failure.
  async function fetcher(params, options) {
    const headers = (options && options.headers) || {};
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
    clearTimeout(session.refreshTimer);
    sessionStorage.removeItem(SIGNED_IN_FLAG);
    if (session.root) {
      session.root.unmount();
      session.root = null;
    }
    $("graphiql").hidden = true;
    $("bar").hidden = true;
    $("sign-in").hidden = false;
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
  function firmsOf(body) {
    const error = firstError(body);
    const firms = (body && body.firms) || (error && error.extensions && error.extensions.firms);
    return Array.isArray(firms) ? firms : [];
  }

  function offerFirms(firms) {
    const options = firms.map((firm) => {
      const option = document.createElement("option");
      option.value = firm.id;
      option.textContent = firm.name;
      return option;
    });
    $("firm").replaceChildren(...options);
    $("firm-choice").hidden = false;
    $("firm").focus();
  }

  function waitText(retryAfter) {
    const seconds = Number.parseInt(retryAfter || "", 10);
    if (!Number.isFinite(seconds) || seconds <= 0) return "a while";
    if (seconds < 90) return `${seconds} seconds`;
    return `${Math.ceil(seconds / 60)} minutes`;
  }

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
    try {
      await postJson(AUTH.logout, {});
    } catch {
      // Signed out here either way; the refresh token then simply expires.
    }
    showSignIn("You are signed out.");
  }

  async function start() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("email").addEventListener("input", forgetFirms);
    $("sign-out").addEventListener("click", signOut);
    if (sessionStorage.getItem(SIGNED_IN_FLAG) && (await refresh()) === "ok") {
      showGraphiQL();
    } else {
      showSignIn("");
    }
  }

  start();
})();
