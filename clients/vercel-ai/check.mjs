// The Vercel AI SDK's Google provider against a Plantain server, with only the base URL changed.
// PLANTAIN_URL (default http://127.0.0.1:8000) and PLANTAIN_KEY name the server and its key.
// Prints one JSON line per check; exits 1 when any fails.
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { generateImage, generateText } from "ai";

const base = process.env.PLANTAIN_URL ?? "http://127.0.0.1:8000";
const google = createGoogleGenerativeAI({ baseURL: `${base}/v1beta`, apiKey: process.env.PLANTAIN_KEY });

function size(bytes) {
  // A PNG's width and height sit at bytes 16..24 of its header.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

const checks = {
  // A non-Gemini ID goes to Imagen's :predict.
  async imagen() {
    const { images } = await generateImage({
      model: google.image("imagen-4.0-fast-generate-001"),
      prompt: "three blue squares",
      n: 2,
      aspectRatio: "16:9",
    });
    return { images: images.length, size: size(images[0].uint8Array) };
  },
  // A Gemini ID goes to generateContent.
  async geminiImage() {
    const { images } = await generateImage({
      model: google.image("gemini-2.5-flash-image"),
      prompt: "a red circle",
      aspectRatio: "1:1",
    });
    return { images: images.length, size: size(images[0].uint8Array) };
  },
  async text() {
    const result = await generateText({
      model: google("gemini-3.1-flash-image-preview"),
      prompt: "a green triangle above a pink diamond",
      providerOptions: { google: { responseModalities: ["TEXT", "IMAGE"] } },
    });
    const pictures = result.files.filter((f) => f.mediaType.startsWith("image/"));
    return { text: result.text.length > 0, images: pictures.length, size: size(pictures[0].uint8Array) };
  },
};

let failed = false;
for (const [name, check] of Object.entries(checks)) {
  try {
    console.log(JSON.stringify({ check: name, ok: true, ...(await check()) }));
  } catch (error) {
    failed = true;
    console.log(JSON.stringify({ check: name, ok: false, error: String(error?.message ?? error) }));
  }
}
process.exit(failed ? 1 : 0);
