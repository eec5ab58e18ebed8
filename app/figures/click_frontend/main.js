// The clickable picture of CARAFE Explorer (app/figures/click_image.py).
//
// A click names the picture pixel under the cursor EXACTLY: the event's client position minus
// the picture's bounding rectangle (both fractional CSS pixels), scaled by natural / displayed
// size and floored. Exact at fractional page offsets (no rounded offsetX/offsetY) and on the
// last row and column (clamped: the rectangle's far edge belongs to the last pixel).

function post(type, data) {
  window.parent.postMessage(Object.assign({isStreamlitMessage: true, type: type}, data), "*");
}

// Pure: the picture pixel (col, row) under client position (clientX, clientY).
function pictureCell(clientX, clientY, rect, naturalWidth, naturalHeight) {
  const col = Math.floor((clientX - rect.left) * naturalWidth / rect.width);
  const row = Math.floor((clientY - rect.top) * naturalHeight / rect.height);
  return [Math.min(Math.max(col, 0), naturalWidth - 1),
          Math.min(Math.max(row, 0), naturalHeight - 1)];
}

let cssWidth = null;  // the width Python asked for (CSS px): x, y are sent in its units

function onClick(event) {
  const img = event.currentTarget;
  const [col, row] = pictureCell(event.clientX, event.clientY, img.getBoundingClientRect(),
                                 img.naturalWidth, img.naturalHeight);
  const scale = (cssWidth || img.naturalWidth) / img.naturalWidth;  // CSS px per picture px
  post("streamlit:setComponentValue", {value: {
    col: col, row: row, x: col * scale, y: row * scale,
    width: img.naturalWidth, height: img.naturalHeight, unix_time: Date.now(),
  }});
}

function fit(img) {
  img.style.width = (cssWidth || img.naturalWidth) + "px";
  post("streamlit:setFrameHeight", {height: Math.ceil(img.getBoundingClientRect().height)});
}

window.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "streamlit:render") return;
  const {src, width, geometry} = event.data.args;
  const img = document.getElementById("image");
  cssWidth = width;
  // image pixels <-> picture pixels, as data-* attributes (read by the browser tests)
  for (const [name, value] of Object.entries(geometry || {})) img.dataset[name] = value;
  img.onclick = onClick;
  img.style.cursor = "crosshair";
  img.onload = () => fit(img);
  if (img.getAttribute("src") !== src) img.setAttribute("src", src);
  else if (img.complete) fit(img);
});
window.addEventListener("resize", () => {
  const img = document.getElementById("image");
  if (img.complete && img.naturalWidth) fit(img);
});
post("streamlit:componentReady", {apiVersion: 1});
