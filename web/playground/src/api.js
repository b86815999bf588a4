// Talking to the server that serves this page: its models list (Gemini's route) and OpenAI's Images
// routes, whose streams carry the previews while an image forms and, in the last event, the cost.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// What a person should read for a failed request: the server's own words, with what to do.
export function explain(status, body) {
  const message = body?.error?.message || `The server answered ${status}.`;
  // OpenAI's routes answer a wrong key with 401, Google's with 400 and the reason API_KEY_INVALID.
  const badKey = status === 401 || (body?.error?.details || []).some((d) => d.reason === "API_KEY_INVALID");
  if (badKey) return "The API key was not accepted. Check the key at the top of the page.";
  if (status === 403) return `This key may not do that: ${message}`;
  if (status === 429) return `Limit reached: ${message}`;
  if (status >= 500) return `The server could not finish: ${message}`;
  return message;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(response.status, explain(response.status, body));
}

export async function listModels(key) {
  const response = await fetch("/v1beta/models?pageSize=1000", { headers: { "x-goog-api-key": key } });
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  // Aliases are listed beside the entries; the picker offers each entry once, by its own ID.
  return (body.models || []).filter((m) => m.name === `models/${m.baseModelId}`);
}

// Server-sent events from a fetch body, one parsed `data:` payload at a time.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trim())
        .join("\n");
      if (data) yield JSON.parse(data);
    }
  }
}

// One generation or edit, streamed: yields {kind: "preview" | "image", ...} and ends with the cost.
export async function* drawImages(key, { model, prompt, n, size, seed, image, mask }) {
  const fields = { model, prompt, n, size, stream: true, partial_images: 2, response_format: "b64_json" };
  if (seed !== null) fields.seed = seed;
  let response;
  if (image) {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, String(value));
    form.append("image", image, "image.png");
    if (mask) form.append("mask", mask, "mask.png");
    response = await fetch("/v1/images/edits", { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form });
  } else {
    response = await fetch("/v1/images/generations", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(fields),
    });
  }
  if (!response.ok) throw await failure(response);
  for await (const event of events(response)) {
    if (event.error) throw new ApiError(500, explain(500, event));
    const url = `data:image/${event.output_format};base64,${event.b64_json}`;
    if (event.type.endsWith(".partial_image")) yield { kind: "preview", url };
    if (event.type.endsWith(".completed")) yield { kind: "image", url, size: event.size, cost: event.plantain_cost_usd };
  }
}

// Dollars as text ("0.017000") to integer micro-dollars and back, so that totals add exactly.
export const toMicro = (usd) => (usd ? Math.round(Number(usd) * 1e6) : 0);
export const fromMicro = (micro) => (micro / 1e6).toFixed(6);
