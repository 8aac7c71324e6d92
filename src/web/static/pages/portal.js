// /portal: a client of the firm signs in (POST /portal/login) and sees what `portal { … }`
// shows them: their name and the accounts they are linked to. The portal token lives only in
// this script's memory: a reload asks for the password again.
(() => {
  "use strict";

  const { $, readJson, firstError, reasonOf, postJson, problemText } = window.clientgraphPages;
  const { offerFirms } = window.clientgraphRequests;
  const data = document.body.dataset;
  const PORTAL_QUERY = `query Portal {
  portal {
    contact { firstName lastName emails }
    accounts { account { id name } roles description }
  }
}`;
  const session = { token: null };

  function showSignIn(notice) {
    session.token = null;
    $("portal").hidden = true;
    $("sign-in").hidden = false;
    $("sign-in-notice").textContent = notice || "";
    $("sign-in-error").textContent = "";
    $("password").value = "";
    $($("email").value ? "password" : "email").focus();
  }

  function forgetFirms() {
    $("firm").replaceChildren();
    $("firm-choice").hidden = true;
  }

  function words(role) {
    return role.toLowerCase().replace(/_/g, " ");
  }

  function accountItem(link) {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = link.account.name;
    item.append(name);
    const details = [link.description, link.roles.map(words).join(", ")].filter(Boolean);
    if (details.length) {
      const line = document.createElement("span");
      line.className = "details";
      line.textContent = details.join(" · ");
      item.append(line);
    }
    return item;
  }

  function showPortal(portal) {
    const contact = portal.contact;
    $("signed-in-as").textContent =
      `${contact.firstName} ${contact.lastName}`.trim() + ` <${contact.emails[0] || ""}>`;
    $("accounts").replaceChildren(...portal.accounts.map(accountItem));
    $("no-accounts").hidden = portal.accounts.length > 0;
    $("portal-error").textContent = "";
    $("sign-in").hidden = true;
    $("portal").hidden = false;
  }

  async function loadPortal() {
    let response;
    try {
      response = await postJson(
        data.graphqlPath,
        { query: PORTAL_QUERY, operationName: "Portal" },
        { Authorization: `Bearer ${session.token}` },
      );
    } catch {
      $("portal-error").textContent = "The server cannot be reached; reload the page to try again.";
      return;
    }
    const body = await readJson(response);
    if (response.status === 401) {
      showSignIn("Your session has ended; please sign in again.");
      return;
    }
    const portal = body && body.data && body.data.portal;
    if (!portal) {
      $("portal-error").textContent = problemText(response, body);
      return;
    }
    showPortal(portal);
  }

  async function signIn(event) {
    event.preventDefault();
    const email = $("email").value.trim();
    const password = $("password").value;
    if (!email || !password) {
      $("sign-in-error").textContent = "Enter your e-mail address and password.";
      return;
    }
    const credentials = { email, password };
    if (!$("firm-choice").hidden && $("firm").value) credentials.firmId = $("firm").value;
    $("sign-in-error").textContent = "";
    $("sign-in-submit").disabled = true;
    let response;
    try {
      response = await postJson(data.loginEndpoint, credentials);
    } catch {
      $("sign-in-error").textContent = "The server cannot be reached; try again.";
      return;
    } finally {
      $("sign-in-submit").disabled = false;
    }
    const body = await readJson(response);
    if (response.ok && body && typeof body.accessToken === "string") {
      session.token = body.accessToken;
      $("password").value = "";
      await loadPortal();
      return;
    }
    const error = firstError(body);
    if (reasonOf(error) === "SEVERAL_FIRMS" && Array.isArray(error.extensions.firms)) {
      offerFirms(error.extensions.firms);
      $("sign-in-error").textContent = "You are a client of several firms: choose one and sign in.";
      return;
    }
    if (response.status === 401) {
      $("password").value = "";
      $("password").focus();
    }
    $("sign-in-error").textContent = problemText(response, body);
  }

  $("sign-in-form").addEventListener("submit", signIn);
  $("email").addEventListener("input", forgetFirms);
  $("sign-out").addEventListener("click", () => showSignIn("You are signed out."));
  showSignIn("");
})();
