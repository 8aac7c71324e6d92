// What every page the service hosts (GraphiQL's, and the pages the e-mailed links open) does
// alike with the service: JSON requests, its error answers, a wait named in words, and the
// choice of firm a sign-in answers 409 with. Served beside each page's own scripts (under
// /graphiql/ and /pages/) from this one file, and loaded before them.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);

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

  function reasonOf(error) {
    return (error && error.extensions && error.extensions.reason) || null;
  }

  function postJson(url, payload, headers) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { ...headers, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    });
  }

  function waitText(retryAfter) {
    const seconds = Number.parseInt(retryAfter || "", 10);
    if (!Number.isFinite(seconds) || seconds <= 0) return "a while";
    if (seconds < 90) return `${seconds} seconds`;
    return `${Math.ceil(seconds / 60)} minutes`;
  }

  // The firms of a 409 to a sign-in: in the body (/auth/login) or its error (/portal/login).
  function firmsOf(body) {
    const error = firstError(body);
    const firms = (body && body.firms) || (error && error.extensions && error.extensions.firms);
    return Array.isArray(firms) ? firms : [];
  }

  // The form's firm choice (a <select id="firm"> in <div id="firm-choice">), offering `firms`.
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

  window.clientgraphRequests = {
    $,
    readJson,
    firstError,
    reasonOf,
    postJson,
    waitText,
    firmsOf,
    offerFirms,
  };
})();
