// The search page: pick an index, query it by text, image or "more like this".
"use strict";
const $ = (id) => document.getElementById(id);
let indexes = {};

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const key = $("key").value || localStorage.getItem("hashret-key") || "";
  if (key) h["X-API-Key"] = key;
  return h;
}

async function call(url, options) {
  const r = await fetch(url, options);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (r.status === 401) $("key-label").hidden = false;
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function current() { return indexes[$("index").value]; }

function showIndex() {
  const ix = current();
  if (!ix) return;
  $("about").textContent = `${ix.items.toLocaleString()} ${ix.modality === "image" ? "images" : "documents"}, ${ix.bits}-bit ${ix.kind} codes`;
  $("text-query").hidden = ix.modality === "image";
  $("image-query").hidden = ix.modality !== "image";
  $("hits").replaceChildren();
  $("status").textContent = "";
}

function render(result, what) {
  const ix = current();
  const list = $("hits");
  list.className = ix.modality === "image" ? "images" : "docs";
  list.replaceChildren();
  for (const h of result.hits) {
    const li = document.createElement("li");
    li.dataset.id = h.id;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `d=${h.distance}` + (h.labels.length ? ` [${h.labels.join(", ")}]` : "");
    const more = document.createElement("button");
    more.className = "more";
    more.type = "button";
    more.textContent = "more like this";
    more.addEventListener("click", () => search({ id: h.id }, `more like ${h.id}`));
    if (ix.modality === "image") {
      const img = document.createElement("img");
      const key = $("key").value ? `?api_key=${encodeURIComponent($("key").value)}` : "";
      img.src = `/v1/indexes/${encodeURIComponent(ix.name)}/items/${encodeURIComponent(h.id)}/image.png${key}`;
      img.alt = h.title;
      li.append(img, document.createElement("br"), meta, document.createElement("br"), more);
    } else {
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = h.title;
      li.append(title, " ", meta, more);
    }
    list.append(li);
  }
  $("status").textContent = `${result.hits.length} hits for ${what} in ${result.took_ms} ms`;
}

async function search(query, what) {
  const ix = current();
  $("status").textContent = "searching...";
  try {
    const body = JSON.stringify({ ...query, k: Number($("k").value) || 12 });
    const result = await call(`/v1/indexes/${encodeURIComponent(ix.name)}/search`,
                              { method: "POST", headers: headers(true), body });
    render(result, what);
  } catch (e) {
    $("status").innerHTML = "";
    const err = document.createElement("span");
    err.className = "error";
    err.textContent = e.message;
    $("status").append(err);
  }
}

function searchFile(file) {
  const reader = new FileReader();
  reader.onload = () => search({ image: reader.result.split(",")[1] }, file.name);
  reader.readAsDataURL(file);
}

$("search").addEventListener("submit", (e) => {
  e.preventDefault();
  if (current().modality === "image") {
    if ($("file").files.length) searchFile($("file").files[0]);
  } else if ($("text").value.trim()) {
    search({ text: $("text").value }, `"${$("text").value}"`);
  }
});
$("file").addEventListener("change", () => { if ($("file").files.length) searchFile($("file").files[0]); });
$("index").addEventListener("change", showIndex);
$("key").addEventListener("change", () => { localStorage.setItem("hashret-key", $("key").value); load(); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files.length) searchFile(e.dataTransfer.files[0]);
});

async function load() {
  try {
    const body = await call("/v1/indexes", { headers: headers(false) });
    indexes = {};
    $("index").replaceChildren();
    for (const ix of body.indexes) {
      indexes[ix.name] = ix;
      const o = document.createElement("option");
      o.value = o.textContent = ix.name;
      $("index").append(o);
    }
    showIndex();
  } catch (e) {
    $("status").textContent = e.message;
  }
}
load();
