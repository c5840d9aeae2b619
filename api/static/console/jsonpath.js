// Where a path the API names (`policy.rules.subject.$.rol`) lies in the text of a JSON
// document: a small JSON reader that keeps the offsets of every key and value. Keys may
// hold dots (`$.rol`): at each object the longest key that fits the rest of the path wins.

function reader(text) {
  let at = 0;
  const space = () => { while (at < text.length && " \t\n\r".includes(text[at])) at += 1; };
  function value() {
    space();
    const start = at;
    const char = text[at];
    if (char === "{") {
      at += 1;
      const entries = [];
      space();
      if (text[at] === "}") { at += 1; return { kind: "object", start, end: at, entries }; }
      for (;;) {
        space();
        const keyStart = at;
        const key = string();
        const keyEnd = at;
        space();
        if (text[at] !== ":") throw new Error("expected ':'");
        at += 1;
        const node = value();
        entries.push({ key, keyStart, keyEnd, node });
        space();
        if (text[at] === ",") { at += 1; continue; }
        if (text[at] === "}") { at += 1; return { kind: "object", start, end: at, entries }; }
        throw new Error("expected ',' or '}'");
      }
    }
    if (char === "[") {
      at += 1;
      const items = [];
      space();
      if (text[at] === "]") { at += 1; return { kind: "array", start, end: at, items }; }
      for (;;) {
        items.push(value());
        space();
        if (text[at] === ",") { at += 1; continue; }
        if (text[at] === "]") { at += 1; return { kind: "array", start, end: at, items }; }
        throw new Error("expected ',' or ']'");
      }
    }
    if (char === "\"") { string(); return { kind: "scalar", start, end: at }; }
    const match = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(at, at + 400));
    if (!match) throw new Error("unexpected character");
    at += match[0].length;
    return { kind: "scalar", start, end: at };
  }
  function string() {
    if (text[at] !== "\"") throw new Error("expected a string");
    const start = at;
    at += 1;
    while (at < text.length && text[at] !== "\"") at += text[at] === "\\" ? 2 : 1;
    at += 1;
    return JSON.parse(text.slice(start, at));
  }
  return value;
}

// {start, end} of what `path` names in `text` (the deepest part found), or null.
export function locate(text, path, prefix = "policy") {
  let root;
  try { root = reader(text)(); } catch { return null; }
  let rest = path.startsWith(`${prefix}.`) ? path.slice(prefix.length + 1) : (path === prefix ? "" : path);
  let node = root;
  let found = { start: root.start, end: root.end };
  while (rest) {
    if (node.kind === "object") {
      const fits = node.entries.filter((e) => rest === e.key || rest.startsWith(`${e.key}.`))
        .sort((x, y) => y.key.length - x.key.length);
      if (!fits.length) break;
      const entry = fits[0];
      found = { start: entry.keyStart, end: entry.node.end };
      node = entry.node;
      rest = rest.slice(entry.key.length + 1);
    } else if (node.kind === "array") {
      const index = Number.parseInt(rest.split(".")[0], 10);
      if (!(index >= 0 && index < node.items.length)) break;
      node = node.items[index];
      found = { start: node.start, end: node.end };
      rest = rest.slice(String(index).length + 1);
    } else break;
  }
  return found;
}
