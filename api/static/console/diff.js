// A line diff of two texts (the longest common subsequence of their lines).

export function lineDiff(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  const rows = a.length + 1;
  const columns = b.length + 1;
  const lengths = new Uint32Array(rows * columns);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i * columns + j] = a[i] === b[j]
        ? lengths[(i + 1) * columns + j + 1] + 1
        : Math.max(lengths[(i + 1) * columns + j], lengths[i * columns + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { out.push({ kind: "same", text: a[i] }); i += 1; j += 1; }
    else if (lengths[(i + 1) * columns + j] >= lengths[i * columns + j + 1]) {
      out.push({ kind: "del", text: a[i] }); i += 1;
    } else { out.push({ kind: "add", text: b[j] }); j += 1; }
  }
  while (i < a.length) { out.push({ kind: "del", text: a[i] }); i += 1; }
  while (j < b.length) { out.push({ kind: "add", text: b[j] }); j += 1; }
  return out;
}

export function pretty(document) {
  return document === null || document === undefined ? "" : JSON.stringify(document, null, 2);
}
