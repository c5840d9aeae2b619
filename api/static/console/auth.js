// Signing in as the public client `registry-console`: the authorization code grant with
// PKCE (S256) at the registry's own /oauth/authorize and /oauth/token. The access and
// refresh tokens live in this module's variables only: never in localStorage,
// sessionStorage or a cookie, so a reload or a closed tab signs the person out. Only the
// PKCE verifier and the state wait in sessionStorage while the browser visits the sign-in
// page, and are removed as soon as it comes back.

export const CLIENT_ID = "registry-console";
const PENDING = "registry-console.pending-sign-in";
const REFRESH_MARGIN_SECONDS = 60;

let tokens = null; // {access, refresh, expiresAt}
let refreshing = null; // the one refresh in flight: a rotated refresh token is never sent twice
let timer = null;
let onSignedOut = () => {};

export function redirectUri() {
  return `${location.origin}/console/`;
}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

export async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(digest);
}

// The registry's issuer, from its metadata: the console's redirect URI is registered as
// `<issuer>/console/`, so a console opened at another address (localhost for 127.0.0.1)
// must move there before it signs in. Returns that address, or null when this is it.
export async function elsewhere() {
  const response = await fetch("/.well-known/oauth-authorization-server", { credentials: "omit" });
  if (!response.ok) return null;
  const { issuer } = await response.json();
  const home = `${String(issuer).replace(/\/+$/, "")}/console/`;
  return home === redirectUri() ? null : home;
}

// Sends the browser to the sign-in page; `route` is where to come back to.
export async function startSignIn(route) {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, route }));
  const query = new URLSearchParams({
    response_type: "code", client_id: CLIENT_ID, redirect_uri: redirectUri(), state,
    code_challenge: await challengeOf(verifier), code_challenge_method: "S256",
  });
  location.assign(`/oauth/authorize?${query}`);
}

export class SignInError extends Error {}

// Back from the sign-in page (?code=...&state=... or ?error=...): the code exchanged, the
// URL cleaned. Returns the route to show, or null when this page load is no sign-in.
export async function finishSignIn() {
  const back = new URLSearchParams(location.search);
  if (!back.has("code") && !back.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", `/console/${pending?.route || "#/policies"}`);
  if (back.has("error")) {
    throw new SignInError(`The sign-in was refused: ${back.get("error_description") || back.get("error")}.`);
  }
  if (!pending || back.get("state") !== pending.state) {
    throw new SignInError("This sign-in did not start here (its state does not match): sign in again.");
  }
  const answer = await tokenRequest({
    grant_type: "authorization_code", code: back.get("code"), redirect_uri: redirectUri(),
    client_id: CLIENT_ID, code_verifier: pending.verifier,
  });
  keep(answer);
  return pending.route || "#/policies";
}

async function tokenRequest(form) {
  const response = await fetch("/oauth/token", {
    method: "POST", body: new URLSearchParams(form), credentials: "omit", cache: "no-store",
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.access_token) {
    throw new SignInError(`The registry gave no token: ${answer.error_description || answer.error || response.status}.`);
  }
  return answer;
}

function keep(answer) {
  tokens = {
    access: answer.access_token,
    refresh: answer.refresh_token || null,
    expiresAt: Date.now() + (answer.expires_in || 900) * 1000,
  };
  window.clearTimeout(timer);
  const wait = Math.max(5, (answer.expires_in || 900) - REFRESH_MARGIN_SECONDS) * 1000;
  timer = window.setTimeout(() => { refresh().catch(() => {}); }, wait);
}

export function accessToken() {
  return tokens ? tokens.access : null;
}

export function signedIn() {
  return tokens !== null;
}

// A new access token with the refresh token, which the issuer rotates: the new refresh
// token replaces the old one, which is never presented again (that would end the sign-in).
export function refresh() {
  if (refreshing) return refreshing;
  if (!tokens || !tokens.refresh) return Promise.reject(new SignInError("Signed out."));
  const used = tokens.refresh;
  tokens.refresh = null;
  refreshing = tokenRequest({ grant_type: "refresh_token", refresh_token: used, client_id: CLIENT_ID })
    .then((answer) => { keep(answer); })
    .catch((error) => { signOut("Your sign-in has ended: sign in again.", true); throw error; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function signOut(message, isError = false) {
  tokens = null;
  window.clearTimeout(timer);
  onSignedOut(message, isError);
}
