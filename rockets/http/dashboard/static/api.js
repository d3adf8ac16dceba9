// Every read of the page goes through here, so that a read token given in the page's address
// (/?access_token=<token>) rides along: a browser's EventSource cannot send headers.

const token = new URLSearchParams(location.search).get("access_token");

export function api(path) {
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(token)}`;
}

async function get(path) {
  const response = await fetch(api(path), { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response;
}

export async function getJSON(path) {
  return (await get(path)).json();
}

// The body and one header of the answer (X-Total-Count, X-Position), as a number.
export async function getCounted(path, header) {
  const response = await get(path);
  return { body: await response.json(), count: Number(response.headers.get(header) ?? NaN) };
}
