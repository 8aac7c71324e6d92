// /portal/accept?token=…: a client accepts a portal invitation by choosing a password, then
// signs in to the portal (/portal) with the invited address and that password.
(() => {
  "use strict";

  const { newPasswordPage, reasonOf } = window.clientgraphPages;
  const data = document.body.dataset;

  newPasswordPage({
    endpoint: data.endpoint,
    payload: (token, password) => ({ token, password }),
    done(_body, page) {
      page.say(
        "Your invitation is accepted and your password is set. Sign in to the portal with the " +
          "e-mail address the invitation was sent to and this password.",
        "done",
      );
      page.showNext();
      document.getElementById("next-link").focus();
    },
    refused(error, page) {
      if (reasonOf(error) === "TOKEN_USED") page.showNext();
    },
  });
})();
