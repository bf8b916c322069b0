// Shows only the fields of the chosen datasource type.
(function () {
  const select = document.getElementById("id_source_type");
  if (!select) return;
  const local = ["path"];
  const s3 = ["bucket", "prefix", "endpoint_url", "region", "access_key_id", "secret_access_key"];
  function update() {
    const isLocal = select.value === "local";
    local.forEach((n) => { const f = document.getElementById("field-" + n); if (f) f.hidden = !isLocal; });
    s3.forEach((n) => { const f = document.getElementById("field-" + n); if (f) f.hidden = isLocal; });
  }
  select.addEventListener("change", update);
  update();
})();
