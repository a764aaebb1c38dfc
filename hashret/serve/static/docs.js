// Lists the endpoints of the OpenAPI description, without any library.
fetch("/openapi.json").then((r) => r.json()).then((spec) => {
  const root = document.getElementById("api");
  const p = document.createElement("p");
  p.textContent = spec.info.description || "";
  root.append(p);
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const h = document.createElement("h2");
      h.textContent = `${method.toUpperCase()} ${path}`;
      const d = document.createElement("p");
      d.textContent = op.summary || op.description || "";
      root.append(h, d);
    }
  }
});
