// /set-password?token=…: a staff user chooses a password with the link `createUser` or
// `resetUserPassword` e-mailed, and goes on to GraphiQL signed in. The sign-in comes with the
// answer (`signIn: true`): its refresh token is the HttpOnly cookie GraphiQL renews its access
// token with, so GraphiQL's page only needs to know that this tab is signed in.
(() => {
  "use strict";

  const { newPasswordPage } = window.clientgraphPages;
  const data = document.body.dataset;
  const SIGN_IN_AGAIN = new Set(["USED", "PASSWORD_SET"]);

  newPasswordPage({
    endpoint: data.endpoint,
    payload: (token, password) => ({ token, password, signIn: true }),
    done(_body, page) {
      page.say("Your password is set. Opening GraphiQL, signed in…", "done");
      page.showNext("Open GraphiQL");
      sessionStorage.setItem(data.signedInFlag, "1");
      location.assign(data.graphiqlPath);
    },
    refused(error, page) {
      const state = error && error.extensions && error.extensions.link;
      if (SIGN_IN_AGAIN.has(state)) page.showNext("Sign in to GraphiQL");
    },
  });
})();
