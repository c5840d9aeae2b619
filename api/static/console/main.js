// The console's shell: sign-in, who is signed in and what the API lets them do, the
// navigation, and the routes (#/policies, #/policy/UID, #/edit, #/edit/UID, #/changes,
// #/explain, #/audit). Screens are in screens.js.
import { gql } from "./api.js";
import { SignInError, elsewhere, finishSignIn, signOut, signedIn, startSignIn, whenSignedOut } from "./auth.js";
import { announce, h, replace } from "./dom.js";
import * as screens from "./screens.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

// What the signed-in person may do, as the API's own policies decide it (explainAccess
// with their own attributes), and the API's rule that only security admins approve.
export const session = { me: null, can: { read: false, write: false, approve: false, audit: false } };

const EXPLAIN = `query Can($read: JSON!, $write: JSON!, $approve: JSON!, $audit: JSON!) {
  read: explainAccess(request: $read) { allowed }
  write: explainAccess(request: $write) { allowed }
  approve: explainAccess(request: $approve) { allowed }
  audit: explainAccess(request: $audit) { allowed } }`;

async function learnWhoAndWhat() {
  const { me } = await gql("{ me { sub role agency { code kind region } } }");
  session.me = me;
  const subject = { sub: me.sub, role: me.role };
  if (me.agency) {
    Object.assign(subject, { agency: me.agency.code, agency_kind: me.agency.kind.toLowerCase(),
                             region: me.agency.region });
  }
  const ask = (type, action) => ({ subject, resource: { type, id: "*" }, action });
  try {
    const found = await gql(EXPLAIN, {
      read: ask("policy", "policy:read"), write: ask("policy", "policy:write"),
      approve: ask("policy", "policy:approve"), audit: ask("audit", "audit:read"),
    });
    session.can = {
      read: found.read.allowed, write: found.write.allowed,
      approve: found.approve.allowed && me.role === "security_admin", audit: found.audit.allowed,
    };
  } catch {
    // explainAccess needs policy:read: whoever is refused it reads no policy at all.
    session.can = { read: false, write: false, approve: false, audit: false };
  }
}

const ROUTES = [
  ["#/policies", "Policies", () => session.can.read],
  ["#/edit", "New policy", () => session.can.write],
  ["#/changes", "Pending changes", () => session.can.read],
  ["#/explain", "Explain a decision", () => session.can.read],
  ["#/audit", "Audit trail", () => session.can.read],
];

function showNav(current) {
  const items = ROUTES.filter(([, , shown]) => shown()).map(([href, text]) => h("li", {},
    h("a", { href, "aria-current": current === href ? "page" : null }, text)));
  replace(nav, h("ul", {}, items));
  nav.hidden = items.length === 0;
}

function showWho() {
  const me = session.me;
  replace(who, me ? [
    h("span", { id: "signed-in-as" }, `Signed in as ${me.sub} (${me.role})`),
    h("button", { type: "button", id: "sign-out", onclick: () => signOut("You are signed out.") },
      "Sign out"),
  ] : []);
}

async function signIn() {
  const home = await elsewhere().catch(() => null);
  if (home) {
    const notice = h("div", { class: "notice warn", role: "alert" },
      h("p", {}, "The registry signs the console in at its own address: ",
        h("a", { href: home }, `open the console at ${home}`), "."));
    main.querySelector(".notice.warn")?.remove();
    main.querySelector("#sign-in").before(notice);
    return;
  }
  await startSignIn(location.hash || "#/policies");
}

function signInScreen(message, isError) {
  session.me = null;
  session.can = { read: false, write: false, approve: false, audit: false };
  showWho();
  nav.hidden = true;
  replace(main,
    h("div", { class: "signin" },
      h("h1", { tabindex: "-1" }, "Policy console"),
      message ? h("div", { class: `notice ${isError ? "bad" : "good"}`, role: isError ? "alert" : "status" },
        h("p", {}, message)) : null,
      h("p", {}, "Security staff read and change the registry's access policies here: a change is ",
        "previewed against the policy test table, proposed, and applied once another security admin ",
        "approves it."),
      h("p", {}, "You sign in on the registry's own sign-in page; the console keeps your token in this ",
        "tab only (reloading the page signs you out)."),
      h("button", { type: "button", id: "sign-in", onclick: signIn }, "Sign in")));
  main.querySelector("h1").focus();
}

async function route() {
  if (!signedIn()) return;
  const hash = location.hash || "#/policies";
  const [, name, ...rest] = hash.split("/");
  const argument = rest.length ? decodeURIComponent(rest.join("/")) : null;
  const base = `#/${name}`;
  // A policy's page and its editor belong to "Policies"; "New policy" is the editor alone.
  const current = name === "policy" || (name === "edit" && argument) ? "#/policies" : base;
  showNav(ROUTES.some(([href]) => href === current) ? current : null);
  if (!session.can.read) {
    replace(main, h("h1", { tabindex: "-1" }, "Nothing to do here"),
      h("div", { class: "notice warn", role: "status" },
        h("p", {}, `The registry's policies do not let your role (${session.me.role}) read the access `,
          "policies, so the console has nothing to show you. Sign out, or ask security staff.")));
    main.querySelector("h1").focus();
    return;
  }
  const screen = {
    policies: () => screens.policies(main, session),
    policy: () => screens.policy(main, session, argument),
    edit: () => (session.can.write ? screens.editor(main, session, argument)
      : screens.notOffered(main, "Editing policies")),
    changes: () => screens.changes(main, session),
    explain: () => screens.explain(main, session),
    audit: () => screens.audit(main, session),
  }[name] || (() => screens.policies(main, session));
  await screen();
  const heading = main.querySelector("h1");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  announce(document.title = `${heading ? heading.textContent : "Policy console"}: policy console`);
}

async function start() {
  whenSignedOut((message, isError) => signInScreen(message, isError));
  let target = null;
  try {
    target = await finishSignIn();
  } catch (error) {
    signInScreen(error instanceof SignInError ? error.message : String(error), true);
    return;
  }
  if (!signedIn()) { signInScreen(null, false); return; }
  try {
    await learnWhoAndWhat();
  } catch (error) {
    signInScreen(`The registry did not answer who you are: ${error.message}`, true);
    return;
  }
  showWho();
  window.addEventListener("hashchange", () => { route(); });
  if (target && location.hash !== target) location.hash = target;
  else await route();
}

start();
