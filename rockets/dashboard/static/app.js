// The rockets dashboard: the table of rockets, kept up to date from GET /stream, and a detail
// view with the timeline and a speed chart. Plain JavaScript, no build step.

const BASE_COLUMNS = [
  { key: "channel", label: "channel", cls: "channel" },
  { key: "type", label: "type" },
  { key: "mission", label: "mission", cls: "optional" },
  { key: "speed", label: "speed", cls: "number" },
  { key: "status", label: "status", cls: "status" },
  { key: "updatedAt", label: "last update", cls: "optional" },
];

const rockets = new Map(); // channel -> state
let columns = [...BASE_COLUMNS];
let sort = { key: "channel", dir: 1 };
let statusFilter = "";
let selected = null; // channel shown in the detail view
let detail = { events: [], points: [] };
let renderQueued = false;

const $ = (id) => document.getElementById(id);

// With ROCKETS_READ_TOKEN set, open the page as /?access_token=<token>: every read carries it.
const token = new URLSearchParams(location.search).get("access_token");
function api(path) {
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(token)}`;
}

function newer(a, b) {
  // A state is newer when it applied more events, or when only its backlog moved.
  if (!b) return true;
  if (a.lastMessageNumber !== b.lastMessageNumber) return a.lastMessageNumber > b.lastMessageNumber;
  return a.pending !== b.pending || a.waitingSince !== b.waitingSince;
}

function upsert(state, flash) {
  if (!newer(state, rockets.get(state.channel))) return;
  rockets.set(state.channel, { ...state, _flash: flash });
  scheduleRender();
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function format(key, value) {
  if (value === null || value === undefined) return "—";
  if (key === "updatedAt" || key === "launchedAt") return new Date(value).toLocaleString();
  return String(value);
}

function compare(a, b) {
  const x = a[sort.key];
  const y = b[sort.key];
  if (x === y) return a.channel < b.channel ? -sort.dir : a.channel > b.channel ? sort.dir : 0;
  if (x === null || x === undefined) return 1; // missing values last, either way
  if (y === null || y === undefined) return -1;
  return (x < y ? -1 : 1) * sort.dir;
}

function renderHeader() {
  const row = $("columns");
  row.replaceChildren(
    ...columns.map((column) => {
      const th = document.createElement("th");
      th.textContent = column.label;
      th.dataset.key = column.key;
      if (column.cls) th.className = column.cls;
      th.scope = "col";
      th.tabIndex = 0;
      if (sort.key === column.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      const choose = () => {
        sort = { key: column.key, dir: sort.key === column.key ? -sort.dir : 1 };
        renderHeader();
        render();
      };
      th.addEventListener("click", choose);
      th.addEventListener("keydown", (e) => e.key === "Enter" && choose());
      return th;
    }),
  );
}

function render() {
  const statuses = new Set();
  for (const state of rockets.values()) statuses.add(state.status);
  const select = $("status-filter");
  const known = new Set([...select.options].map((o) => o.value));
  for (const status of [...statuses].sort()) {
    if (!known.has(status)) select.add(new Option(status, status));
  }
  const rows = [...rockets.values()].filter((s) => !statusFilter || s.status === statusFilter).sort(compare);
  const body = document.querySelector("#rockets tbody");
  body.replaceChildren(
    ...rows.map((state) => {
      const tr = document.createElement("tr");
      tr.dataset.channel = state.channel;
      tr.className = [state.status, state.channel === selected && "selected", state._flash && "flash"].filter(Boolean).join(" ");
      for (const column of columns) {
        const td = document.createElement("td");
        td.textContent = format(column.key, state[column.key]);
        td.dataset.key = column.key;
        if (column.cls) td.className = column.cls;
        tr.append(td);
      }
      tr.addEventListener("click", () => open(state.channel));
      state._flash = false;
      return tr;
    }),
  );
  $("empty").hidden = rockets.size > 0;
  const exploded = [...rockets.values()].filter((s) => s.status === "exploded").length;
  $("summary").textContent = `${rockets.size} rockets · ${exploded} exploded · ${rows.length} shown`;
  if (selected && rockets.has(selected)) renderDetailState(rockets.get(selected));
}

async function getJSON(url) {
  const response = await fetch(api(url), { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function loadAll() {
  for (const state of await getJSON("/rockets")) upsert(state, false);
}

async function loadColumns() {
  // Plugins' state fields become extra columns.
  try {
    const report = await getJSON("/plugins");
    const extra = report.stateFields.map((f) => ({ key: f.name, label: f.name, cls: "number optional" }));
    columns = [...BASE_COLUMNS, ...extra];
  } catch {
    columns = [...BASE_COLUMNS];
  }
  renderHeader();
}

function connect() {
  const source = new EventSource(api("/stream"));
  source.addEventListener("open", () => $("live").className = "live on");
  source.addEventListener("error", () => $("live").className = "live off");
  source.addEventListener("applied", (message) => {
    const data = JSON.parse(message.data);
    upsert(data.state, true);
    if (data.channel === selected) {
      detail.events.push(data.event);
      detail.points.push({ messageNumber: data.event.messageNumber, messageTime: data.event.messageTime, state: data.state });
      renderDetail();
    }
  });
  // Events were missed for good (a new server run, or this page fell too far behind).
  source.addEventListener("reset", () => loadAll().catch(console.error));
}

function renderDetailState(state) {
  const dl = $("detail-state");
  dl.replaceChildren(
    ...Object.entries(state)
      .filter(([key]) => !key.startsWith("_"))
      .flatMap(([key, value]) => {
        const dt = document.createElement("dt");
        dt.textContent = key;
        const dd = document.createElement("dd");
        dd.textContent = format(key, value);
        return [dt, dd];
      }),
  );
}

function renderChart(points) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const width = 400, height = 160, pad = 24;
  const speeds = points.map((p) => p.state.speed);
  const max = Math.max(1, ...speeds);
  const n = Math.max(1, points.length - 1);
  const xy = points.map((p, i) => [pad + (i / n) * (width - 2 * pad), height - pad - (p.state.speed / max) * (height - 2 * pad)]);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  const axis = document.createElementNS(ns, "line");
  Object.entries({ x1: pad, y1: height - pad, x2: width - pad, y2: height - pad }).forEach(([k, v]) => axis.setAttribute(k, v));
  const top = document.createElementNS(ns, "text");
  top.setAttribute("x", 2);
  top.setAttribute("y", pad);
  top.textContent = String(max);
  const bottom = document.createElementNS(ns, "text");
  bottom.setAttribute("x", 2);
  bottom.setAttribute("y", height - pad);
  bottom.textContent = "0";
  svg.replaceChildren(axis, line, top, bottom);
  svg.dataset.points = String(points.length);
}

function renderDetail() {
  const list = $("timeline");
  list.replaceChildren(
    ...detail.events.map((event) => {
      const li = document.createElement("li");
      li.value = event.messageNumber;
      li.dataset.number = event.messageNumber;
      if (event.messageType.includes("Exploded")) li.className = "exploded";
      const type = document.createElement("span");
      type.className = "type";
      type.textContent = event.messageType;
      const payload = document.createElement("span");
      payload.textContent = " " + JSON.stringify(event.message);
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = new Date(event.messageTime).toLocaleString();
      li.append(type, payload, time);
      return li;
    }),
  );
  renderChart(detail.points);
}

async function open(channel) {
  selected = channel;
  $("detail").hidden = false;
  $("detail-title").textContent = channel;
  detail = { events: [], points: [] };
  render();
  const path = `/rockets/${encodeURIComponent(channel)}`;
  const [events, points] = await Promise.all([getJSON(`${path}/events?limit=1000`), getJSON(`${path}/history?limit=1000`)]);
  if (selected !== channel) return;
  detail = { events, points };
  renderDetail();
}

function close() {
  selected = null;
  $("detail").hidden = true;
  render();
}

$("close").addEventListener("click", close);
$("status-filter").addEventListener("change", (e) => {
  statusFilter = e.target.value;
  render();
});

await loadColumns();
connect(); // first, so that nothing applied while the list loads is missed
await loadAll();
render();
