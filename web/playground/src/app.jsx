import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, drawImages, fromMicro, listModels, toMicro } from "./api.js";
import { MaskEditor } from "./mask.jsx";

const KEY = "plantain.apiKey";

// An uploaded, pasted or dropped file as an image the page can show, measure and send.
function loadImage(blob) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(blob);
    const img = new Image();
    img.onload = () => resolve({ blob, url, width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error("That file is not an image this page can read (PNG, JPEG or WebP)."));
    img.src = url;
  });
}

async function fromDataUrl(url) {
  return loadImage(await (await fetch(url)).blob());
}

export function App() {
  const [key, setKey] = useState(() => localStorage.getItem(KEY) || "");
  const [models, setModels] = useState([]);
  const [modelName, setModelName] = useState("");
  const [ratio, setRatio] = useState("1:1");
  const [tier, setTier] = useState("1K");
  const [variants, setVariants] = useState(1);
  const [seed, setSeed] = useState("");
  const [prompt, setPrompt] = useState("");
  const [input, setInput] = useState(null);
  const [masking, setMasking] = useState(false);
  const [mask, setMask] = useState(null);
  const [thread, setThread] = useState([]);
  const [gallery, setGallery] = useState([]);
  const [previews, setPreviews] = useState([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [totalMicro, setTotalMicro] = useState(0);
  const fileInput = useRef(null);

  const model = models.find((m) => m.name === modelName);

  useEffect(() => {
    localStorage.setItem(KEY, key);
    if (!key) {
      setModels([]);
      return;
    }
    let live = true;
    listModels(key)
      .then((found) => {
        if (!live) return;
        setModels(found);
        setError("");
        setModelName((name) => (found.some((m) => m.name === name) ? name : found[0]?.name || ""));
      })
      .catch((e) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [key]);

  // Keep the size choices to what the chosen model makes.
  useEffect(() => {
    if (!model) return;
    if (!model.aspectRatios.includes(ratio)) setRatio(model.aspectRatios[0]);
    if (!model.imageSizes.includes(tier)) setTier(model.imageSizes.includes("1K") ? "1K" : model.imageSizes[0]);
    if (variants > model.maxCandidates) setVariants(model.maxCandidates);
    if (!model.canEdit) setMasking(false);
  }, [model]);

  const useImage = async (blob) => {
    try {
      setInput(await loadImage(blob));
      setMask(null);
      setError("");
    } catch (e) {
      setError(e.message);
    }
  };

  const onPaste = (event) => {
    const file = [...(event.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
    if (file) {
      event.preventDefault();
      useImage(file);
    }
  };

  const onDrop = (event) => {
    event.preventDefault();
    const file = [...(event.dataTransfer?.files || [])].find((f) => f.type.startsWith("image/"));
    if (file) useImage(file);
  };

  const lastImage = () => {
    for (let i = thread.length - 1; i >= 0; i--) if (thread[i].images.length) return thread[i].images[0];
    return null;
  };

  const submit = async (event) => {
    event?.preventDefault();
    if (!prompt.trim() || busy || !model) return;
    setBusy(true);
    setError("");
    setPreviews([]);
    // An image given now is edited; otherwise a conversation under way edits its last image.
    let source = input;
    if (!source && lastImage()) source = await fromDataUrl(lastImage().url);
    const message = { prompt, images: [], cost: null, edited: Boolean(source) };
    const index = thread.length;
    setThread((t) => [...t, message]);
    const update = (change) => setThread((t) => t.map((m, i) => (i === index ? { ...m, ...change(m) } : m)));
    try {
      const request = {
        model: model.baseModelId,
        prompt,
        n: variants,
        size: model.pixelSizes[ratio][tier],
        seed: seed === "" ? null : Number(seed),
        image: source?.blob || null,
        mask: source && masking && input ? mask : null,
      };
      let seen = 0;
      for await (const item of drawImages(key, request)) {
        if (item.kind === "preview") {
          seen += 1;
          setPreviews((p) => [...p, item.url]);
        }
        if (item.kind === "image") {
          const image = { url: item.url, size: item.size, prompt };
          // How many previews were shown before the first image arrived (the message keeps it).
          update((m) => ({ images: [...m.images, image], previews: m.images.length ? m.previews : seen }));
          setGallery((g) => [image, ...g]);
          if (item.cost) {
            update(() => ({ cost: item.cost }));
            setTotalMicro((t) => t + toMicro(item.cost));
          }
        }
      }
      setPrompt("");
      setInput(null);
      setMask(null);
    } catch (e) {
      update(() => ({ error: e instanceof ApiError ? e.message : String(e.message || e) }));
      setError(e instanceof ApiError ? e.message : String(e.message || e));
    } finally {
      setBusy(false);
      setPreviews([]);
    }
  };

  return (
    <>
      <header>
        <h1>Plantain playground</h1>
        <label class="key">
          API key
          <input
            type="password"
            autocomplete="off"
            value={key}
            onChange={(e) => setKey(e.currentTarget.value.trim())}
            placeholder="Your key: kept in this browser only"
          />
        </label>
        <p class="total" aria-live="polite">
          Spent this session: <output data-testid="total">${fromMicro(totalMicro)}</output>
        </p>
      </header>
      <main>
        <section class="settings" aria-labelledby="settings-title">
          <h2 id="settings-title">Settings</h2>
          <label>
            Model
            <select value={modelName} onChange={(e) => setModelName(e.currentTarget.value)}>
              {models.map((m) => (
                <option value={m.name}>{m.baseModelId}</option>
              ))}
            </select>
          </label>
          <label>
            Aspect ratio
            <select value={ratio} onChange={(e) => setRatio(e.currentTarget.value)}>
              {(model?.aspectRatios || []).map((r) => (
                <option value={r}>{r}</option>
              ))}
            </select>
          </label>
          <label>
            Size
            <select value={tier} onChange={(e) => setTier(e.currentTarget.value)}>
              {(model?.imageSizes || []).map((t) => (
                <option value={t}>{`${t} (${model.pixelSizes[ratio]?.[t] || ""})`}</option>
              ))}
            </select>
          </label>
          <label>
            Variants
            <input
              type="number"
              min="1"
              max={model?.maxCandidates || 1}
              value={variants}
              onChange={(e) => setVariants(Math.max(1, Math.min(model?.maxCandidates || 1, Number(e.currentTarget.value) || 1)))}
            />
          </label>
          <label>
            Seed
            <input type="number" min="0" placeholder="random" value={seed} onChange={(e) => setSeed(e.currentTarget.value)} />
          </label>
        </section>

        <section class="thread" aria-labelledby="thread-title">
          <div class="row">
            <h2 id="thread-title">Conversation</h2>
            <button type="button" onClick={() => setThread([])} disabled={busy || !thread.length}>
              New conversation
            </button>
          </div>
          {thread.length === 0 && <p class="hint">Describe an image. Each later message edits the last image.</p>}
          <ol>
            {thread.map((m) => (
              <li class="message" data-testid="message" data-previews={m.previews}>
                <p class="prompt">
                  {m.edited ? "Edit: " : ""}
                  {m.prompt}
                </p>
                <div class="images">
                  {m.images.map((im) => (
                    <img src={im.url} alt={`${m.prompt} (${im.size})`} data-size={im.size} />
                  ))}
                </div>
                {m.cost && <p class="cost">Cost ${m.cost}</p>}
                {m.error && <p class="error">{m.error}</p>}
              </li>
            ))}
          </ol>
          {busy && (
            <div class="previews" aria-live="polite" data-testid="previews">
              <p>Forming{previews.length ? "" : "..."}</p>
              {previews.map((url, i) => (
                <img src={url} alt={`Preview ${i + 1}`} />
              ))}
            </div>
          )}
        </section>

        <form class="compose" onSubmit={submit} aria-labelledby="compose-title">
          <h2 id="compose-title">New message</h2>
          <div
            class="drop"
            onDragOver={(e) => e.preventDefault()}
            onDrop={onDrop}
            data-testid="drop-zone"
          >
            {input ? (
              <>
                {masking ? (
                  <MaskEditor image={input} onChange={setMask} />
                ) : (
                  <img src={input.url} alt="The image to edit" class="input" />
                )}
                <div class="row">
                  {model?.canEdit && (
                    <label>
                      <input type="checkbox" checked={masking} onChange={(e) => setMasking(e.currentTarget.checked)} />
                      Draw a mask
                    </label>
                  )}
                  <button type="button" onClick={() => setInput(null)}>
                    Remove image
                  </button>
                </div>
              </>
            ) : (
              <p>
                Drop or paste an image to edit, or{" "}
                <button type="button" onClick={() => fileInput.current.click()}>
                  choose a file
                </button>
              </p>
            )}
            <input
              ref={fileInput}
              type="file"
              accept="image/png,image/jpeg,image/webp"
              class="hidden"
              aria-label="Image to edit"
              onChange={(e) => e.currentTarget.files[0] && useImage(e.currentTarget.files[0])}
            />
          </div>
          <label class="prompt-box">
            Prompt
            <textarea
              rows="3"
              value={prompt}
              onInput={(e) => setPrompt(e.currentTarget.value)}
              onPaste={onPaste}
              onKeyDown={(e) => (e.ctrlKey || e.metaKey) && e.key === "Enter" && submit()}
              placeholder="two red circles on a white background"
            />
          </label>
          <button type="submit" disabled={busy || !prompt.trim() || !model}>
            {busy ? "Drawing..." : input || lastImage() ? "Edit" : "Generate"}
          </button>
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </form>

        <section class="gallery" aria-labelledby="gallery-title">
          <h2 id="gallery-title">Gallery</h2>
          <ul>
            {gallery.map((im, i) => (
              <li>
                <img src={im.url} alt={im.prompt} />
                <div class="row">
                  <a href={im.url} download={`plantain-${gallery.length - i}.png`}>
                    Download
                  </a>
                  <button type="button" onClick={async () => useImage((await fromDataUrl(im.url)).blob)}>
                    Use as input
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
      </main>
    </>
  );
}
