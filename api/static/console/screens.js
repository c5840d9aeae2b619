// The console's screens. Each asks the public GraphQL API only, and offers only what the
// signed-in person's policies let them do (session.can): what the API would refuse them,
// the console does not show.
import { ApiError, gql, gqlAnswer } from "./api.js";
import { lineDiff, pretty } from "./diff.js";
import { announce, errorNotice, field, h, replace, table, tag, uniqueId, when } from "./dom.js";
import { locate } from "./jsonpath.js";

const POLICY_FIELDS = "uid version setVersion description effect document deleted author createdAt";
const CHANGE_FIELDS = `id uid kind status proposedBy proposedAt approvedBy approvalsNeeded baseVersion
  decidedAt decidedBy reason policy widens
  flips { row before after beforePolicy afterPolicy }`;
const PREVIEW_MS = 500;

function failure(container, error, heading) {
  const errors = error instanceof ApiError ? error.errors : [{ message: String(error.message || error) }];
  container.querySelector(".loading")?.remove();
  container.append(errorNotice(errors, heading));
}

function loading(main, title) {
  replace(main, h("h1", {}, title), h("p", { class: "loading" }, "Loading…"));
}

export function notOffered(main, what) {
  replace(main, h("h1", {}, what),
    h("div", { class: "notice warn" }, h("p", {}, "Your role may not change policies: the registry would refuse it.")));
}

// --- Policies -----------------------------------------------------------------------------

export async function policies(main, session) {
  loading(main, "Policies");
  let found;
  try {
    ({ policies: found } = await gql(`{ policies { ${POLICY_FIELDS} } }`));
  } catch (error) { failure(main, error); return; }
  const filter = h("input", { type: "search", id: "policy-filter", autocomplete: "off" });
  const effect = h("select", { id: "policy-effect" },
    h("option", { value: "" }, "allow and deny"), h("option", { value: "allow" }, "allow"),
    h("option", { value: "deny" }, "deny"));
  const body = h("tbody");
  const count = h("p", { id: "policy-count", "aria-live": "polite" });
  const show = () => {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = found.filter((p) => (!effect.value || p.effect === effect.value)
      && words.every((word) => `${p.uid} ${p.description} ${p.author}`.toLowerCase().includes(word)));
    replace(body, shown.map((p) => h("tr", {},
      h("td", {}, h("a", { href: `#/policy/${encodeURIComponent(p.uid)}` }, p.uid)),
      h("td", {}, tag(p.effect)), h("td", {}, String(p.version)), h("td", {}, String(p.setVersion)),
      h("td", {}, p.description), h("td", {}, p.author), h("td", { class: "nowrap" }, when(p.createdAt)))));
    count.textContent = `${shown.length} of ${found.length} policies in force`;
  };
  filter.addEventListener("input", show);
  effect.addEventListener("change", show);
  replace(main,
    h("h1", {}, "Policies"),
    h("p", { class: "hint" }, "The policies in force, by uid. The set is combined deny-overrides, default deny."),
    h("div", { class: "row", role: "search" },
      field("Filter by uid, description or author", filter),
      field("Effect", effect),
      session.can.write ? h("div", {}, h("a", { class: "button", href: "#/edit" }, "New policy")) : null),
    count,
    h("table", {}, h("caption", { class: "visually-hidden" }, "Policies in force"),
      h("thead", {}, h("tr", {}, ["Uid", "Effect", "Version", "Set version", "Description", "Author", "Written"]
        .map((name) => h("th", { scope: "col" }, name)))), body));
  show();
}

// --- One policy: its history and diffs ----------------------------------------------------

function diffView(before, after, label) {
  return h("pre", { class: "diff", "aria-label": label, tabindex: "0" },
    lineDiff(before, after).map((line) => h("span", { class: line.kind },
      line.kind === "add" ? "+ " : line.kind === "del" ? "- " : "  ", line.text,
      line.kind === "add" ? h("span", { class: "visually-hidden" }, " (added)")
        : line.kind === "del" ? h("span", { class: "visually-hidden" }, " (removed)") : null)));
}

export async function policy(main, session, uid) {
  loading(main, `Policy ${uid}`);
  let versions;
  try {
    const data = await gql(`query H($uid: String!) { policyHistory(uid: $uid, first: 50) {
      totalCount edges { node { ${POLICY_FIELDS} } } } }`, { uid });
    versions = data.policyHistory.edges.map((edge) => edge.node);
  } catch (error) { failure(main, error); return; }
  if (!versions.length) {
    replace(main, h("h1", {}, `Policy ${uid}`), h("p", {}, "No policy has ever had this uid."));
    return;
  }
  const newest = versions[0];
  const result = h("div", { id: "policy-result" });
  const fromSelect = h("select", { id: "diff-from" });
  const toSelect = h("select", { id: "diff-to" });
  for (const v of versions) {
    const text = `version ${v.version}${v.deleted ? " (deleted)" : ""}`;
    fromSelect.append(h("option", { value: v.version }, text));
    toSelect.append(h("option", { value: v.version }, text));
  }
  fromSelect.value = String(versions[Math.min(1, versions.length - 1)].version);
  toSelect.value = String(newest.version);
  const diffBox = h("div", { id: "diff" });
  const byVersion = new Map(versions.map((v) => [String(v.version), v]));
  const showDiff = () => {
    const a = byVersion.get(fromSelect.value);
    const b = byVersion.get(toSelect.value);
    replace(diffBox, diffView(a.deleted ? "" : pretty(a.document), b.deleted ? "" : pretty(b.document),
      `Changes from version ${a.version} to version ${b.version}`));
  };
  fromSelect.addEventListener("change", showDiff);
  toSelect.addEventListener("change", showDiff);

  // First what the change would do (previewPolicyChange), then, confirmed, the proposal.
  const previewThen = async (what, preview, propose) => {
    replace(result, h("p", { class: "hint" }, "Checking against the policy test table…"));
    let p;
    try {
      ({ previewPolicyChange: p } = await gql(`query Preview($p: JSON, $d: String) {
        previewPolicyChange(policy: $p, deleteUid: $d) { change uid rowsRun widens refusedBecause
          locksOutPolicyWriters flips { row before after beforePolicy afterPolicy } } }`, preview));
    } catch (error) { replace(result); failure(result, error); return; }
    const confirm = h("button", { type: "button", id: "confirm-proposal", disabled: Boolean(p.refusedBecause) },
      `Propose the ${what.toLowerCase()}`);
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => replace(result) }, "Cancel");
    confirm.addEventListener("click", async () => {
      replace(result);
      try {
        const answer = await propose();
        if (answer.errors) { result.append(errorNotice(answer.errors)); return; }
        result.append(proposedNotice(answer, `${what} of ${uid}`));
      } catch (error) { failure(result, error); }
    });
    replace(result, h("section", { class: "card", "aria-labelledby": "confirm-heading", id: "confirm" },
      h("h2", { id: "confirm-heading" }, `${what} of ${uid}: what it would do`),
      h("p", {}, `${p.flips.length} of ${p.rowsRun} decisions of the policy test table flip.`),
      p.refusedBecause ? h("div", { class: "notice bad" }, h("p", {},
        h("strong", {}, "The registry would refuse this change: "), p.refusedBecause)) : null,
      widensView(p.widens), flipsTable(p.flips, "Decisions that would flip"),
      h("div", { class: "actions" }, confirm, cancel)));
    confirm.focus();
  };
  const byNumber = new Map(versions.map((v) => [v.version, v]));
  const rollback = (version) => previewThen(`Rollback to version ${version}`,
    { p: byNumber.get(version).document, d: null },
    () => gqlAnswer(`mutation R($uid: String!, $version: Int!) {
      rollbackPolicy(uid: $uid, version: $version) { uid version setVersion } }`, { uid, version }));
  const remove = () => previewThen("Deletion", { p: null, d: uid },
    () => gqlAnswer("mutation D($uid: String!) { deletePolicy(uid: $uid) }", { uid }));
  const rows = versions.map((v) => h("tr", {},
    h("td", {}, String(v.version)), h("td", {}, String(v.setVersion)),
    h("td", {}, v.deleted ? tag("deleted", "deny") : tag(v.effect)),
    h("td", {}, v.author), h("td", { class: "nowrap" }, when(v.createdAt)),
    h("td", {}, session.can.write && !v.deleted && v.version !== newest.version
      ? h("button", { type: "button", class: "secondary rollback", "data-version": v.version,
                      onclick: () => rollback(v.version) }, `Roll back to version ${v.version}…`)
      : "")));
  replace(main,
    h("h1", {}, `Policy ${uid}`),
    h("p", {}, newest.deleted ? "Deleted: not in force." : newest.description),
    session.can.write ? h("div", { class: "actions" },
      newest.deleted ? null : h("a", { class: "button", href: `#/edit/${encodeURIComponent(uid)}` }, "Edit this policy"),
      newest.deleted ? null : h("button", { type: "button", class: "danger", id: "propose-deletion", onclick: remove },
        "Propose its deletion…")) : null,
    result,
    h("div", { class: "columns" },
      h("section", { "aria-labelledby": "history-heading" },
        h("h2", { id: "history-heading" }, `History (${versions.length} versions, newest first)`),
        versions.length === 50 ? h("p", { class: "hint" }, "The 50 newest versions.") : null,
        table(`Versions of ${uid}`, ["Version", "Set version", "Effect", "Author", "Written", ""], rows)),
      h("section", { "aria-labelledby": "diff-heading" },
        h("h2", { id: "diff-heading" }, "Differences between versions"),
        h("div", { class: "row" }, field("From", fromSelect), field("To", toSelect)),
        diffBox)),
    h("h2", {}, `Version ${newest.version} as written`),
    h("pre", { tabindex: "0", "aria-label": `Document of version ${newest.version}` },
      newest.deleted ? "(deleted)" : pretty(newest.document)));
  showDiff();
}

// A mutation's answer: applied at once, or waiting for approvals (extensions.policyChange).
function proposedNotice(answer, what) {
  const change = answer.extensions && answer.extensions.policyChange;
  if (change) {
    announce(`${what} proposed: it waits for approval.`);
    return h("div", { class: "notice warn", role: "status", id: "proposed" },
      h("p", {}, h("strong", {}, `${what} is proposed as change ${change.id}: `),
        `it waits for ${change.approvalsNeeded} approval${change.approvalsNeeded === 1 ? "" : "s"} `,
        "by another security admin and is not in force yet."),
      h("p", {}, h("a", { href: "#/changes" }, "See the pending changes")));
  }
  announce(`${what} applied.`);
  return h("div", { class: "notice good", role: "status", id: "proposed" },
    h("p", {}, h("strong", {}, `${what} is applied`), ": in force from the next request."));
}

// --- The editor ---------------------------------------------------------------------------

const TEMPLATE = {
  uid: "team.new-rule", description: "Say what this policy is for.", effect: "deny",
  rules: { subject: { "$.role": { condition: "Equals", value: "registry_clerk" } },
           resource: { "$.type": { condition: "Equals", value: "judgment" } },
           action: { "$.name": { condition: "Equals", value: "judgment:read" } }, context: {} },
  targets: {},
};

function flipsTable(flips, caption) {
  if (!flips.length) return h("p", { class: "flips-none" }, "No decision of the policy test table flips.");
  return table(caption, ["Row of the policy test table", "Before", "After", "Deciding before", "Deciding after"],
    flips.map((f) => h("tr", { class: "flip" }, h("td", {}, f.row),
      h("td", {}, tag(f.before ? "allow" : "deny")), h("td", {}, tag(f.after ? "allow" : "deny")),
      h("td", {}, f.beforePolicy || "(default deny)"), h("td", {}, f.afterPolicy || "(default deny)"))));
}

function widensView(widens) {
  if (!widens.length) return h("p", { class: "widens-none" }, "Widens nothing: no role is newly allowed an action on criminal information.");
  return h("div", { class: "notice warn widens" },
    h("p", {}, h("strong", {}, "Widens: "), "these roles are newly allowed these actions on criminal information."),
    h("ul", { class: "plain" }, widens.map((w) => h("li", {}, h("code", {}, w)))));
}

export async function editor(main, session, uid) {
  loading(main, uid ? `Edit ${uid}` : "New policy");
  let current = null;
  if (uid) {
    try {
      ({ policy: current } = await gql(`query P($uid: String!) { policy(uid: $uid) { ${POLICY_FIELDS} } }`, { uid }));
    } catch (error) { failure(main, error); return; }
    if (!current) { replace(main, h("h1", {}, `Edit ${uid}`), h("p", {}, "No such policy in force.")); return; }
  }
  const text = h("textarea", { id: "document", rows: "22", spellcheck: "false", autocomplete: "off",
                               "aria-describedby": "document-hint problems" });
  text.value = pretty(current ? current.document : TEMPLATE);
  const problems = h("div", { id: "problems", "aria-live": "polite" });
  const preview = h("div", { id: "preview" });
  const outcome = h("div", { id: "outcome" });
  const propose = h("button", { type: "button", id: "propose" }, uid ? "Propose this change" : "Propose this policy");
  let sequence = 0;
  let timer = null;
  let valid = null;

  const pointAt = (path) => {
    const span = typeof path === "number" ? { start: path, end: path + 1 } : locate(text.value, path);
    text.focus();
    if (span) text.setSelectionRange(span.start, span.end);
  };
  const showProblems = (list) => {
    text.setAttribute("aria-invalid", list.length ? "true" : "false");
    replace(problems, list.length ? h("div", { class: "notice bad" },
      h("p", {}, h("strong", {}, `${list.length} problem${list.length === 1 ? "" : "s"} in the document`)),
      h("ul", { class: "plain" }, list.map((p) => h("li", { class: "problem" },
        p.field ? h("button", { type: "button", onclick: () => pointAt(p.field),
                                title: "Select this part of the document" }, p.field) : null,
        p.at !== undefined ? h("button", { type: "button", onclick: () => pointAt(p.at),
                                           title: "Go to this place in the document" },
          `character ${p.at + 1}`) : null,
        p.field || p.at !== undefined ? ": " : "", p.message)))) : null);
  };
  const check = async () => {
    const mine = ++sequence;
    let parsed;
    try { parsed = JSON.parse(text.value); } catch (error) {
      valid = null;
      const position = /position (\d+)/.exec(error.message);
      showProblems([{ field: null, at: position ? Number(position[1]) : undefined,
                      message: `not valid JSON: ${error.message}` }]);
      replace(preview);
      propose.disabled = true;
      return;
    }
    replace(preview, h("p", { class: "hint" }, "Checking against the policy test table…"));
    let answer;
    try {
      answer = await gqlAnswer(`query Preview($p: JSON!) { previewPolicyChange(policy: $p) {
        change uid rowsRun locksOutPolicyWriters widens refusedBecause
        flips { row before after beforePolicy afterPolicy } } }`, { p: parsed });
    } catch (error) { if (mine === sequence) { replace(preview); failure(preview, error); } return; }
    if (mine !== sequence) return; // typed on since: a newer preview is coming
    if (answer.errors) {
      valid = null;
      const list = answer.errors.flatMap((e) => (e.extensions && e.extensions.problems)
        || [{ field: e.extensions && e.extensions.field, message: e.message }]);
      showProblems(list);
      replace(preview);
      propose.disabled = true;
      return;
    }
    const p = answer.data.previewPolicyChange;
    valid = parsed;
    showProblems([]);
    const unchanged = current !== null && JSON.stringify(parsed) === JSON.stringify(current.document);
    propose.disabled = Boolean(p.refusedBecause) || Boolean(uid && p.uid !== uid) || unchanged;
    replace(preview,
      h("h2", {}, "What this change would do"),
      h("p", { id: "preview-summary" }, `${p.change} of ${p.uid}: ${p.flips.length} of ${p.rowsRun} decisions of the policy test table flip.`),
      unchanged ? h("p", { class: "hint", id: "unchanged" }, `This is version ${current.version} as it is: change it to propose a new version.`) : null,
      uid && p.uid !== uid ? h("div", { class: "notice bad" }, h("p", {}, `The uid must stay ${uid}.`)) : null,
      p.refusedBecause ? h("div", { class: "notice bad", id: "refused-because" },
        h("p", {}, h("strong", {}, "The registry would refuse this change: "), p.refusedBecause,
          p.locksOutPolicyWriters ? " (nobody would be left able to write policies)" : "")) : null,
      widensView(p.widens),
      flipsTable(p.flips, "Decisions that would flip"));
    announce(`Preview: ${p.flips.length} decisions flip, widens ${p.widens.length}.`);
  };
  const schedule = () => {
    window.clearTimeout(timer);
    propose.disabled = true;
    timer = window.setTimeout(check, PREVIEW_MS);
  };
  text.addEventListener("input", schedule);
  propose.addEventListener("click", async () => {
    if (!valid) return;
    propose.disabled = true;
    replace(outcome);
    try {
      const answer = uid
        ? await gqlAnswer(`mutation U($uid: String!, $p: JSON!, $v: Int) { updatePolicy(uid: $uid, policy: $p, expectedVersion: $v) { uid version } }`,
          { uid, p: valid, v: current.version })
        : await gqlAnswer(`mutation C($p: JSON!) { createPolicy(policy: $p) { uid version } }`, { p: valid });
      if (answer.errors) { outcome.append(errorNotice(answer.errors)); propose.disabled = false; return; }
      const written = uid ? answer.data.updatePolicy : answer.data.createPolicy;
      outcome.append(proposedNotice(answer, `Version ${written.version} of ${written.uid}`));
    } catch (error) { failure(outcome, error); propose.disabled = false; }
    outcome.querySelector("[role]")?.focus?.();
  });
  replace(main,
    h("h1", {}, uid ? `Edit ${uid}` : "New policy"),
    h("div", { class: "columns" },
      h("div", {},
        h("label", { for: "document" }, "Policy document (JSON)"),
        h("p", { class: "hint", id: "document-hint" },
          uid ? `Editing version ${current.version}. ` : "",
          "Checked as you type: problems name their place in the document (select one to go there)."),
        text, problems,
        h("div", { class: "actions" }, propose), outcome),
      h("div", {}, preview)));
  propose.disabled = true;
  check();
}

// --- Pending changes: approve or reject ---------------------------------------------------

function changeCard(change, session, onDecided) {
  const result = h("div", { class: "decision" });
  const reasonId = uniqueId("reason");
  const reason = h("input", { id: reasonId, autocomplete: "off" });
  const own = session.me && change.proposedBy === session.me.sub;
  const decide = async (mutation, variables, what) => {
    replace(result);
    try {
      const answer = await gqlAnswer(mutation, variables);
      if (answer.errors) { result.append(errorNotice(answer.errors, `The registry refused to ${what} it`)); return; }
      const decided = answer.data.approvePolicyChange || answer.data.rejectPolicyChange;
      result.append(h("div", { class: `notice ${decided.status === "REJECTED" ? "bad" : "good"}`, role: "status" },
        h("p", {}, `Change ${decided.id} is now ${decided.status}.`,
          decided.status === "APPLIED" ? " It is in force from the next request." : "")));
      announce(`Change ${decided.id} is now ${decided.status}.`);
      for (const button of card.querySelectorAll(".decide button, .decide input")) button.disabled = true;
      onDecided();
    } catch (error) { failure(result, error); }
  };
  const card = h("article", { class: "card change", "data-change": change.id, "aria-labelledby": `${change.id}-title` },
    h("h2", { id: `${change.id}-title` }, `${change.kind} ${change.uid} `, tag(change.status)),
    h("p", {}, `Change ${change.id}, proposed by ${change.proposedBy} at ${when(change.proposedAt)}`,
      own ? " (your own)" : "", `; approvals ${change.approvedBy.length} of ${change.approvalsNeeded}`,
      change.approvedBy.length ? ` (${change.approvedBy.join(", ")})` : "", `; base version ${change.baseVersion}.`),
    widensView(change.widens),
    h("details", {}, h("summary", {}, `Decisions it flips (${change.flips.length})`),
      flipsTable(change.flips, `Decisions change ${change.id} flips`)),
    h("details", {}, h("summary", {}, "The document as the change makes it"),
      h("pre", { tabindex: "0" }, change.policy ? pretty(change.policy) : "(deleted)")),
    result,
    session.can.approve ? h("div", { class: "row decide" },
      h("div", {}, h("button", { type: "button", class: "approve",
                                 onclick: () => decide(`mutation A($id: ID!) { approvePolicyChange(id: $id) { id status } }`, { id: change.id }, "approve") },
        "Approve")),
      h("div", { class: "grow" }, h("label", { for: reasonId }, own ? "Why you withdraw it" : "Why you reject it"), reason),
      h("div", {}, h("button", { type: "button", class: "danger reject",
                                 onclick: () => decide(`mutation R($id: ID!, $reason: String!) { rejectPolicyChange(id: $id, reason: $reason) { id status } }`,
                                   { id: change.id, reason: reason.value }, "reject") },
        own ? "Withdraw" : "Reject"))) : null);
  return card;
}

export async function changes(main, session) {
  loading(main, "Pending changes");
  let found;
  try {
    ({ policyChanges: found } = await gql(`{ policyChanges(status: PENDING) { ${CHANGE_FIELDS} } }`));
  } catch (error) { failure(main, error); return; }
  const list = h("div", { id: "pending" });
  replace(main, h("h1", {}, "Pending changes"),
    h("p", { class: "hint" }, "A change applies once enough other security admins approve it; its proposer may withdraw it, never approve it."),
    list);
  if (!found.length) list.append(h("p", { id: "no-pending" }, "No change waits for approval."));
  for (const change of found) list.append(changeCard(change, session, () => {}));
}

// --- Explain a decision -------------------------------------------------------------------

const EXAMPLE = {
  subject: { sub: "clerk.dongcheng", role: "registry_clerk", agency: "REG-110101",
             agency_kind: "registration_authority", region: "110101" },
  resource: { type: "judgment", seal_status: "sealed", in_requester_division: "yes" },
  action: "judgment:read", context: {},
};

export async function explain(main) {
  const parts = {};
  const inputs = ["subject", "resource", "context"].map((name) => {
    const area = h("textarea", { id: `explain-${name}`, rows: name === "context" ? "3" : "7", spellcheck: "false" });
    area.value = pretty(EXAMPLE[name]);
    parts[name] = area;
    return field(`${name[0].toUpperCase()}${name.slice(1)} attributes (JSON)`, area);
  });
  const action = h("input", { id: "explain-action", value: EXAMPLE.action, autocomplete: "off" });
  const result = h("div", { id: "explain-result", "aria-live": "polite" });
  const form = h("form", { novalidate: true },
    h("div", { class: "columns" }, h("div", {}, inputs[0], inputs[1]),
      h("div", {}, field("Action", action, "resource:verb, e.g. judgment:read"), inputs[2],
        h("div", { class: "actions" }, h("button", { type: "submit", id: "explain" }, "Explain")))),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(result);
    const request = { action: action.value.trim() };
    for (const name of ["subject", "resource", "context"]) {
      try { request[name] = JSON.parse(parts[name].value || "{}"); } catch (error) {
        result.append(errorNotice([{ message: `${name}: not valid JSON: ${error.message}` }], "Check the request"));
        parts[name].focus();
        return;
      }
    }
    try {
      const { explainAccess: d } = await gql(`query E($r: JSON!) { explainAccess(request: $r) {
        allowed decidingPolicy applicablePolicies policyVersion reason request } }`, { r: request });
      result.append(h("div", { class: `notice ${d.allowed ? "good" : "bad"}`, role: "status" },
        h("p", { id: "decision" }, h("strong", {}, d.allowed ? "Allowed" : "Denied"), `: ${d.reason}`),
        h("p", {}, "Deciding policy: ", d.decidingPolicy
          ? h("a", { href: `#/policy/${encodeURIComponent(d.decidingPolicy)}` }, d.decidingPolicy)
          : "none (default deny)"),
        h("p", {}, "Policies that applied: ", d.applicablePolicies.length ? d.applicablePolicies.join(", ") : "none"),
        h("p", {}, `Policy set version ${d.policyVersion}`)),
        h("details", {}, h("summary", {}, "The request as decided (with the attributes the service always sends)"),
          h("pre", { tabindex: "0" }, pretty(d.request))));
    } catch (error) { failure(result, error, "The registry could not decide this request"); }
  });
  replace(main, h("h1", {}, "Explain a decision"),
    h("p", { class: "hint" }, "Describe a request in the attributes of the policy vocabulary; the registry decides it under the policies in force and says which policy decided."),
    form);
}

// --- The audit trail of policy changes ----------------------------------------------------

const POLICY_ACTIONS = ["policy:create", "policy:update", "policy:delete", "policy:rollback",
                        "policy:approve", "policy:reject", "policy:write", "policy:import"];

export async function audit(main, session) {
  loading(main, "Audit trail");
  let found;
  try {
    ({ policyChanges: found } = await gql(`{ policyChanges { ${CHANGE_FIELDS} } }`));
  } catch (error) { failure(main, error); return; }
  const kind = h("select", { id: "audit-status" }, ["", "PENDING", "APPLIED", "REJECTED"].map((s) =>
    h("option", { value: s }, s || "every status")));
  const body = h("tbody");
  const show = () => replace(body, found.filter((c) => !kind.value || c.status === kind.value).map((c) => h("tr", {},
    h("td", { class: "nowrap" }, when(c.proposedAt)), h("td", {}, h("a", { href: `#/policy/${encodeURIComponent(c.uid)}` }, c.uid)),
    h("td", {}, c.kind), h("td", {}, tag(c.status)), h("td", {}, c.proposedBy),
    h("td", {}, c.approvedBy.join(", ") || "—"),
    h("td", {}, c.decidedBy || (c.status === "APPLIED" ? "approvals" : "—"), c.decidedAt ? ` at ${when(c.decidedAt)}` : ""),
    h("td", {}, c.reason || ""), h("td", {}, c.widens.join(", ") || "nothing"))));
  kind.addEventListener("change", show);
  const events = h("section", { "aria-labelledby": "events-heading" },
    h("h2", { id: "events-heading" }, "Audit events of policy administration"));
  replace(main, h("h1", {}, "Audit trail"),
    h("section", { "aria-labelledby": "changes-heading" },
      h("h2", { id: "changes-heading" }, "Every policy change, newest first"),
      field("Status", kind),
      h("table", { id: "change-trail" }, h("caption", { class: "visually-hidden" }, "Policy changes"),
        h("thead", {}, h("tr", {}, ["Proposed", "Uid", "Kind", "Status", "Proposed by", "Approved by", "Decided", "Reason", "Widens"]
          .map((name) => h("th", { scope: "col" }, name)))), body)),
    events);
  show();
  if (!session.can.audit) {
    events.append(h("p", {}, "The audit events themselves (every attempt, refused ones included) are for auditors: your role may not read the audit trail."));
    return;
  }
  try {
    const aliases = POLICY_ACTIONS.map((action, i) =>
      `a${i}: auditEvents(filter: {action: ${JSON.stringify(action)}}, first: 8) { edges { node { at sub role action outcome resourceIds policyUid policyVersion detail } } }`);
    const data = await gql(`{ ${aliases.join("\n")} }`);
    const all = Object.values(data).flatMap((c) => c.edges.map((e) => e.node))
      .sort((x, y) => (x.at < y.at ? 1 : -1));
    events.append(table("Audit events of policy administration", ["At", "Who", "Action", "Outcome", "Policy", "Decided by", "Detail"],
      all.map((e) => h("tr", {}, h("td", { class: "nowrap" }, when(e.at)), h("td", {}, `${e.sub} (${e.role})`), h("td", {}, e.action),
        h("td", {}, tag(e.outcome, e.outcome === "permit" ? "yes" : "no")), h("td", {}, e.resourceIds.join(", ")),
        h("td", {}, `${e.policyUid || "(none)"} @ ${e.policyVersion}`), h("td", {}, h("code", {}, JSON.stringify(e.detail)))))));
  } catch (error) { failure(events, error); }
}
