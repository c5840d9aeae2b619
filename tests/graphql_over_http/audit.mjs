// Runs graphql-http's `auditServer` against a live registry and prints one JSON line per
// audit: {"id", "name", "status" ("ok", "warn", "error" or "notice"), "reason"}.
// Usage: REGISTRY_AUDIT_TOKEN=... node audit.mjs http://127.0.0.1:PORT/graphql
import { auditServer } from "graphql-http";

const url = process.argv[2];
const token = process.env.REGISTRY_AUDIT_TOKEN;
if (!url || !token) {
  console.error("usage: REGISTRY_AUDIT_TOKEN=... node audit.mjs URL");
  process.exit(2);
}

// Every request carries the bearer token: without one the registry answers 401 before
// anything GraphQL is looked at (CONTRACT.md §2).
function fetchWithToken(input, init = {}) {
  const headers = { ...(init.headers || {}), authorization: `Bearer ${token}` };
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithToken });
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    line.reason = result.reason;
    if (result.response) {
      line.responseStatus = result.response.status;
    }
  }
  console.log(JSON.stringify(line));
}
