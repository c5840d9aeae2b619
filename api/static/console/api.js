// The public GraphQL API, and nothing else: POST /graphql with the person's token.
import { accessToken, refresh } from "./auth.js";

export class ApiError extends Error {
  constructor(errors, data) {
    super(errors.map((error) => error.message).join("; "));
    this.errors = errors;
    this.data = data;
  }
}

async function post(query, variables) {
  return fetch("/graphql", {
    method: "POST", credentials: "omit", cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json",
               Authorization: `Bearer ${accessToken()}` },
    body: JSON.stringify({ query, variables }),
  });
}

// The whole answer ({data, errors, extensions}); a 401 is retried once after a refresh.
export async function gqlAnswer(query, variables = {}) {
  let response = await post(query, variables);
  if (response.status === 401) {
    await refresh();
    response = await post(query, variables);
  }
  const answer = await response.json().catch(() => null);
  if (!answer) throw new ApiError([{ message: `the registry answered HTTP ${response.status}` }]);
  return answer;
}

// The data; any error is thrown as an ApiError carrying the API's errors.
export async function gql(query, variables = {}) {
  const answer = await gqlAnswer(query, variables);
  if (answer.errors && answer.errors.length) throw new ApiError(answer.errors, answer.data);
  return answer.data;
}
