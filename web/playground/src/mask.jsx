// A mask drawn over the image to edit: painted strokes mark what the model may redraw. Sent as a PNG
// of the image's own size, opaque where the image is kept and transparent where it is painted
// (OpenAI's convention, which the server honours exactly).
import { useEffect, useRef, useState } from "preact/hooks";

export function MaskEditor({ image, onChange }) {
  const canvas = useRef(null);
  const [brush, setBrush] = useState(48);
  const painting = useRef(false);

  useEffect(() => {
    const c = canvas.current;
    c.width = image.width;
    c.height = image.height;
    onChange(null);
  }, [image]);

  const paint = (event) => {
    if (!painting.current) return;
    const c = canvas.current;
    const box = c.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * c.width;
    const y = ((event.clientY - box.top) / box.height) * c.height;
    const g = c.getContext("2d");
    g.fillStyle = "rgba(255, 64, 129, 0.55)";
    g.beginPath();
    g.arc(x, y, (brush / box.width) * c.width, 0, Math.PI * 2);
    g.fill();
  };

  const finish = () => {
    if (!painting.current) return;
    painting.current = false;
    const c = canvas.current;
    const out = document.createElement("canvas");
    out.width = c.width;
    out.height = c.height;
    const g = out.getContext("2d");
    g.fillStyle = "#000";
    g.fillRect(0, 0, out.width, out.height);
    g.globalCompositeOperation = "destination-out";
    g.drawImage(c, 0, 0);
    out.toBlob((blob) => onChange(blob), "image/png");
  };

  const clear = () => {
    const c = canvas.current;
    c.getContext("2d").clearRect(0, 0, c.width, c.height);
    onChange(null);
  };

  return (
    <div class="mask">
      <div class="mask-stage">
        <img src={image.url} alt="The image to edit" />
        <canvas
          ref={canvas}
          data-testid="mask-canvas"
          aria-label="Mask: paint over the parts the model may redraw"
          onPointerDown={(e) => {
            painting.current = true;
            e.currentTarget.setPointerCapture(e.pointerId);
            paint(e);
          }}
          onPointerMove={paint}
          onPointerUp={finish}
          onPointerCancel={finish}
        />
      </div>
      <div class="row">
        <label>
          Brush
          <input type="range" min="8" max="160" value={brush} onInput={(e) => setBrush(Number(e.currentTarget.value))} />
        </label>
        <button type="button" onClick={clear}>
          Clear mask
        </button>
      </div>
    </div>
  );
}
