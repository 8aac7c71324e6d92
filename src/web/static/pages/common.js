// What the pages the e-mailed links open share (loaded after requests.js, before each page's
// own script): the words for a refused request, and the form that chooses a new password.
//
// The words for what went wrong are the server's (`errors[0].message`); the pages add only what
// happens in the browser (two passwords that differ, a server that cannot be reached).
(() => {
  "use strict";

  const { $, readJson, firstError, reasonOf, postJson, waitText } = window.clientgraphRequests;

  // The answer to show for a refused request: the server's words, or what the status means.
  function problemText(response, body) {
    if (response.status === 429) {
      return `Too many attempts from this address. Try again in ${waitText(
        response.headers.get("Retry-After"),
      )}.`;
    }
    const error = firstError(body);
    return (error && error.message) || `The server answered ${response.status}; try again.`;
  }

  const PASSWORD_RULES = new Set(["TOO_SHORT", "TOO_LONG"]);

  // The form of /set-password and /portal/accept: the token from the page's address, a new
  // password typed twice, posted to `options.endpoint` as `options.payload(token, password)`.
  // Then `options.done(body)`, or `options.refused(error)` when the link does not work.
  function newPasswordPage(options) {
    const form = $("password-form");
    const outcome = $("outcome");

    function say(text, kind) {
      outcome.textContent = text;
      outcome.dataset.kind = kind || "";
    }

    function showNext(text) {
      if (text) $("next-link").textContent = text;
      $("next").hidden = false;
    }

    function clearPasswords() {
      $("password").value = "";
      $("password-again").value = "";
      $("password").focus();
    }

    const token = new URLSearchParams(location.search).get("token");
    if (!token) {
      say(
        "This address carries no link token. Open the link from your e-mail again, the whole " +
          "link as it was sent.",
        "problem",
      );
      return;
    }
    form.hidden = false;
    $("password").focus();

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const password = $("password").value;
      if (password !== $("password-again").value) {
        say("The two passwords differ: type the same password twice.", "problem");
        $("password-again").value = "";
        $("password-again").focus();
        return;
      }
      say("");
      $("submit").disabled = true;
      let response;
      try {
        response = await postJson(options.endpoint, options.payload(token, password));
      } catch {
        say("The server cannot be reached; try again.", "problem");
        return;
      } finally {
        $("submit").disabled = false;
      }
      const body = await readJson(response);
      if (response.ok) {
        form.hidden = true;
        options.done(body, { say, showNext });
        return;
      }
      say(problemText(response, body), "problem");
      const error = firstError(body);
      if (PASSWORD_RULES.has(reasonOf(error))) {
        clearPasswords();
      } else if (response.status === 400 || response.status === 409) {
        form.hidden = true;
        options.refused(error, { say, showNext });
      }
    });
  }

  window.clientgraphPages = {
    $,
    readJson,
    firstError,
    reasonOf,
    postJson,
    problemText,
    newPasswordPage,
  };
})();
