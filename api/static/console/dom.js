// Building the page without innerHTML: every text goes in as text.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let counter = 0;
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A labelled field: the label's `for` names the control.
export function field(labelText, control, hint) {
  const id = control.id || uniqueId("field");
  control.id = id;
  const parts = [h("label", { for: id }, labelText)];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  return h("div", {}, parts, control);
}

export function announce(text) {
  const status = document.getElementById("status");
  status.textContent = "";
  window.setTimeout(() => { status.textContent = text; }, 50);
}

export function when(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value)
    : date.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function tag(text, kind) {
  return h("span", { class: `tag ${kind ?? text}` }, text);
}

export function table(caption, headers, rows) {
  return h("table", {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows));
}

// An API refusal, worded as the API worded it (message, code, field, reason).
export function errorNotice(errors, heading = "The registry refused this") {
  const list = Array.isArray(errors) ? errors : [errors];
  return h("div", { class: "notice bad", role: "alert" },
    h("p", {}, h("strong", {}, heading)),
    list.map((error) => {
      const extensions = error.extensions || {};
      const detail = [extensions.code, extensions.reason, extensions.field && `field ${extensions.field}`]
        .filter(Boolean).join(", ");
      return h("p", { class: "api-error" }, error.message, detail ? ` (${detail})` : "");
    }));
}
