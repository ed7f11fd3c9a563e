// Where a provider's sign-in window comes back to (the redirect URI): hands the answer to the
// Postino page that opened the window, over a BroadcastChannel of this origin (a provider's page
// may have cut `window.opener` with Cross-Origin-Opener-Policy), takes the code out of this
// window's address and history at once, and closes the window. The page checks `state` and
// redeems the code with its PKCE verifier, which never left it: a code alone is of no use.
(() => {
  const params = new URLSearchParams(window.location.search || window.location.hash.slice(1));
  const answer = {
    code: params.get('code'),
    state: params.get('state'),
    error: params.get('error'),
    error_description: params.get('error_description'),
  };
  window.history.replaceState(null, '', window.location.pathname);
  const status = document.getElementById('oauth-return');
  if (!answer.state) {
    if (status) status.textContent = 'This window was not opened by a Postino sign-in. Close it.';
    return;
  }
  const channel = new BroadcastChannel('postino-oauth');
  channel.postMessage(answer);
  channel.close();
  if (status) {
    status.textContent = answer.error
      ? 'The sign-in did not finish. Close this window; Postino says why.'
      : 'Signed in. Close this window if it stays open; Postino continues.';
  }
  window.setTimeout(() => window.close(), 100);
})();
