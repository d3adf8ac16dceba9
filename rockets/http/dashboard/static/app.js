// The rockets console. It keeps every rocket's state in memory — loaded page by page from
// GET /rockets, then kept up to date from GET /stream — and shows it as a fleet panel, a table
// of which only the rows on screen are drawn, and a detail view. Plain JavaScript modules, no
// build step.

import { api, getCounted, getJSON } from "./api.js";
import { Detail, narrow } from "./detail.js";
import { FleetPanel, RateMeter } from "./fleet.js";
import { LAST_UPDATE, RocketTable } from "./table.js";
import { copyText, count, plural, prefixLengths, say } from "./text.js";
import { comparator, matcher, readView, writeView } from "./view.js";

const BASE_COLUMNS = [
  { key: "channel", label: "channel" },
  { key: "type", label: "type" },
  { key: "mission", label: "mission", optional: true },
  { key: "speed", label: "speed", number: true },
  { key: "status", label: "status" },
  // When the rocket last changed as this page saw it (the server keeps no such time: a state's
  // updatedAt is its last message's own time), sorted by that.
  { key: LAST_UPDATE, label: "last update", optional: true, field: "_changed" },
];
const PAGE = 5000; // rockets per request while loading
const GAPS_EVERY = 5000; // ms between two looks at the gaps, which age without any event
const GAPS_PAGE = 1000; // gaps read at a look, the longest-waiting first (X-Total-Count: all)
const FLEET_AT_MOST = 500; // ms between two readings of the fleet projection while events flow

const $ = (id) => document.getElementById(id);

const rockets = new Map(); // channel -> state
const view = readView(location.search);
let columns = BASE_COLUMNS;
let defaults = {}; // plugins' state fields, for a rocket known only by its gap
let hasFleet = false; // whether the server runs the `fleet` projection
let fleet = null; // its last value
let counted = null; // the same counts, made by this page (when the server has no projection)
let waiting = new Map(); // channel -> GET /stalled?minSeconds=0 entry: open gaps, a page of them
let stalled = new Map(); // channel -> GET /stalled entry: gaps open too long, a page of them
let stalledBeyond = 0; // stalled gaps past that page
let prefixes = new Map();
let prefixesStale = true;
let loading = null;
let loaded = false; // once every rocket of the first listing is in
let keepOpenInSight = false; // the view changed: scroll the open rocket's row back into sight
let streamPosition = 0;

const rate = new RateMeter($("rate"));
const panel = new FleetPanel({ filter: toggleFilter, open: (channel) => openRocket(channel) });
const detail = new Detail();
const table = new RocketTable(
  $("rockets"),
  {
    state: (channel) => rockets.get(channel),
    stalled: (channel) => stalled.has(channel),
    prefix: (channel) => prefixes.get(channel),
    selected: () => view.rocket,
  },
  { open: (channel) => openRocket(channel), copy: copyChannel, sort: sortBy },
);

// --- the rockets ---

function newer(a, b) {
  // A state is newer when it applied more events, or when only its backlog moved.
  if (!b) return true;
  if (a.lastMessageNumber !== b.lastMessageNumber) return a.lastMessageNumber > b.lastMessageNumber;
  return a.pending !== b.pending || a.waitingSince !== b.waitingSince || !sameAside(a.setAside, b.setAside);
}

// Whether two states wait at the same message set aside (or both at none).
function sameAside(a, b) {
  return a?.messageNumber === b?.messageNumber && a?.error === b?.error;
}

function upsert(state, live) {
  const old = rockets.get(state.channel);
  if (!newer(state, old)) return;
  if (!old) prefixesStale = true;
  state._flash = live;
  state._at = performance.now();
  state._changed = changedAt(state, old, live);
  rockets.set(state.channel, state);
  scheduleRender();
}

// When the rocket changed, on this page's clock: when the stream told of an event it applied,
// or when a listing showed a rocket, or an event, the page did not have yet (but in the first
// listing: a rocket that has not changed since the page opened has no such time). A move of
// its backlog alone is no change of the rocket, nor is a rocket whose every message waits.
function changedAt(state, old, live) {
  if (!old) return (live || loaded) && state.lastMessageNumber > 0 ? Date.now() : null;
  return state.lastMessageNumber === old.lastMessageNumber ? old._changed : Date.now();
}

// With `again`, the listing replaces what the page had: rockets it no longer has (a new run of
// an in-memory server) go, unless the stream told of them meanwhile.
async function loadAll(again = false) {
  const started = performance.now();
  const listed = new Set();
  let offset = 0;
  loading = { loaded: 0, total: null };
  for (;;) {
    const { body, count: total } = await getCounted(`/rockets?limit=${PAGE}&offset=${offset}`, "x-total-count");
    for (const state of body) {
      listed.add(state.channel);
      upsert(state, false);
    }
    offset += body.length;
    loading = { loaded: offset, total };
    scheduleRender();
    if (!body.length || !(offset < total)) break;
  }
  if (again) {
    for (const [channel, state] of rockets) {
      if (!listed.has(channel) && state._at < started) rockets.delete(channel);
    }
    prefixesStale = true;
  }
  loading = null;
  loaded = true;
  scheduleRender();
}

async function loadPlugins() {
  // Plugins' state fields become extra columns; the report also says which projections run.
  try {
    const report = await getJSON("/plugins");
    const numeric = (f) => ["integer", "number"].includes(f.valueSchema?.type);
    const extra = report.stateFields.map((f) => ({ key: f.name, label: f.name, optional: true, cls: "extra", number: numeric(f) }));
    columns = [...BASE_COLUMNS, ...extra];
    defaults = Object.fromEntries(report.stateFields.map((f) => [f.name, f.default]));
    hasFleet = (report.projections ?? []).some((p) => p.name === "fleet" && p.status === "running");
  } catch (error) {
    console.warn("no plugin report:", error);
  }
  if (!columns.some((c) => c.key === view.sort)) view.sort = "channel";
  table.setColumns(columns);
  table.showSort(view.sort, view.dir);
}

// --- the server's figures: the fleet projection and the gaps ---

let fleetBusy = false;
let fleetTimer = 0;
let fleetAsked = -Infinity;
let fleetPosition = -1;

// Asked again when the stream has gone past the position the last value was taken at (its
// X-Position), at most every FLEET_AT_MOST ms.
function wantFleet(always = false) {
  if (!hasFleet || fleetBusy || fleetTimer) return;
  if (!always && streamPosition <= fleetPosition) return;
  fleetTimer = setTimeout(refreshFleet, Math.max(0, fleetAsked + FLEET_AT_MOST - performance.now()));
}

async function refreshFleet() {
  fleetTimer = 0;
  fleetBusy = true;
  fleetAsked = performance.now();
  try {
    const { body, count: position } = await getCounted("/projections/fleet", "x-position");
    fleet = body;
    fleetPosition = position;
    scheduleRender();
  } catch (error) {
    console.warn("fleet projection:", error);
  } finally {
    fleetBusy = false;
  }
  wantFleet();
}

let gapsTimer = 0;
let gapsDue = Infinity;
let gapsBusy = false;
let gapsAgain = false;
let gapsAsked = -Infinity;

// A gap shows in no event (a message waiting is not applied) and turns stalled with time
// alone, so the page looks at GET /stalled every few seconds, and soon after an event that
// may have opened or closed one.
function wantGaps(delay) {
  if (gapsBusy) {
    gapsAgain = true;
    return;
  }
  const due = Math.max(performance.now() + delay, gapsAsked + 1000);
  if (gapsTimer && gapsDue <= due) return;
  clearTimeout(gapsTimer);
  gapsDue = due;
  gapsTimer = setTimeout(refreshGaps, due - performance.now());
}

async function refreshGaps() {
  gapsTimer = 0;
  gapsDue = Infinity;
  gapsBusy = true;
  gapsAgain = false;
  const asked = (gapsAsked = performance.now());
  try {
    const [open, late] = await Promise.all([
      getCounted(`/stalled?minSeconds=0&limit=${GAPS_PAGE}`, "X-Total-Count"),
      getCounted(`/stalled?limit=${GAPS_PAGE}`, "X-Total-Count"),
    ]);
    takeGaps(open, late, asked);
  } catch (error) {
    console.warn("gaps:", error);
  } finally {
    gapsBusy = false;
  }
  wantGaps(gapsAgain ? 0 : document.hidden ? 6 * GAPS_EVERY : GAPS_EVERY);
}

function takeGaps(open, late, asked) {
  waiting = new Map(open.body.map((g) => [g.channel, g]));
  stalled = new Map(late.body.map((g) => [g.channel, g]));
  stalledBeyond = Math.max(0, late.count - late.body.length) || 0;
  for (const gap of open.body) {
    const state = rockets.get(gap.channel);
    if (!state) {
      // Every message of this rocket waits: it has no event the stream could have shown.
      upsert(placeholder(gap), false);
    } else if (state.lastMessageNumber < gap.awaitedNumber && (state.pending !== gap.pending || state.waitingSince !== gap.waitingSince || !sameAside(state.setAside, gap.setAside))) {
      refresh(state, { pending: gap.pending, waitingSince: gap.waitingSince, setAside: gap.setAside });
    }
  }
  // A gap past the page is not seen to close here (the stream tells of the events that close it).
  const whole = open.body.length >= open.count;
  for (const state of whole ? rockets.values() : []) {
    // Closed since; unless the stream told of this rocket after the question was asked.
    if (state.pending > 0 && !waiting.has(state.channel) && state._at < asked) {
      refresh(state, { pending: 0, waitingSince: null, setAside: undefined });
    }
  }
  scheduleRender();
}

function refresh(state, change) {
  const next = { ...state, ...change, _flash: false };
  if (!next.setAside) delete next.setAside; // as the server writes a state without one
  rockets.set(state.channel, next);
}

function placeholder(gap) {
  return {
    channel: gap.channel, type: null, mission: null, speed: 0, status: "unknown", reason: null,
    launchedAt: null, updatedAt: null, lastMessageNumber: gap.awaitedNumber - 1,
    pending: gap.pending, waitingSince: gap.waitingSince, ...defaults,
    ...(gap.setAside ? { setAside: gap.setAside } : {}),
  };
}

// --- the live stream ---

const RECONNECT = 5000; // ms before opening a stream the browser gave up on

function connect() {
  const source = new EventSource(api("/stream"));
  const live = (on) => {
    $("live").className = `live ${on ? "on" : "off"}`;
    $("live-text").textContent = on ? "live" : "reconnecting…";
  };
  source.addEventListener("open", () => live(true));
  source.addEventListener("error", () => {
    live(false);
    // The browser retries by itself, with the last event's id, unless it was answered with an
    // error (a 503 when the server has too many streams): then a new stream, and a new listing
    // for what it cannot resume.
    if (source.readyState !== EventSource.CLOSED) return;
    setTimeout(() => {
      connect();
      relist();
    }, RECONNECT);
  });
  source.addEventListener("applied", (message) => {
    const data = JSON.parse(message.data);
    const before = rockets.get(data.channel);
    rate.add();
    upsert(data.state, true);
    detail.applied(data);
    streamPosition = Math.max(streamPosition, Number(message.lastEventId.split("-").pop()) || 0);
    wantFleet();
    if (data.state.pending > 0 || before?.pending > 0) wantGaps(0);
  });
  // Events were missed for good (a new server run, or this page fell too far behind).
  source.addEventListener("reset", relist);
}

// Everything again, as at the start. A new server run numbers its log from 1 again, so the
// positions seen so far mean nothing any more.
function relist() {
  streamPosition = 0;
  fleetPosition = -1;
  loadAll(true).catch(console.warn);
  wantFleet(true);
  wantGaps(0);
}

// --- drawing ---

let renderQueued = false;
let rendered = -Infinity;

// A big fleet is sorted at most four times a second; a small one on every frame.
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  const wait = rockets.size > 2000 ? Math.max(0, rendered + 250 - performance.now()) : 0;
  setTimeout(() => requestAnimationFrame(render), wait);
}

function bump(counts, key) {
  if (key !== null && key !== undefined) counts[key] = (counts[key] ?? 0) + 1;
}

function render() {
  renderQueued = false;
  rendered = performance.now();
  if (prefixesStale) {
    prefixes = prefixLengths(rockets.keys());
    prefixesStale = false;
  }
  const match = matcher(view, (channel) => stalled.has(channel));
  const shown = [];
  const values = { status: new Set(), type: new Set(), mission: new Set() };
  const mine = { rockets: 0, byStatus: {}, byType: {}, byMission: {} };
  const gaps = { waiting: 0, messages: 0 };
  for (const state of rockets.values()) {
    if (state.lastMessageNumber > 0) {
      mine.rockets += 1;
      bump(mine.byStatus, state.status);
      bump(mine.byType, state.type);
      bump(mine.byMission, state.mission);
    }
    if (state.pending > 0) {
      gaps.waiting += 1;
      gaps.messages += state.pending;
    }
    values.status.add(state.status);
    if (state.type !== null && state.type !== undefined) values.type.add(state.type);
    if (state.mission !== null && state.mission !== undefined) values.mission.add(state.mission);
    if (match(state)) shown.push(state);
  }
  counted = mine;
  const sorted = columns.find((c) => c.key === view.sort);
  shown.sort(comparator(sorted?.field ?? view.sort, view.dir));
  table.setOrder(shown.map((s) => s.channel));
  if (keepOpenInSight && view.rocket) table.revealRow(view.rocket);
  keepOpenInSight = false;

  for (const field of ["status", "type", "mission"]) menu($(`${field}-filter`), values[field], view[field]);
  const late = [...stalled.values()].filter((g) => rockets.get(g.channel)?.pending > 0);
  panel.render({
    fleet: hasFleet && fleet ? fleet : counted,
    source: hasFleet && fleet ? "projection" : "page",
    gaps: { ...gaps, stalled: late, stalledCount: late.length + stalledBeyond },
    view,
    prefix: (channel) => prefixes.get(channel),
  });
  panel.tick(rate);

  const summary = $("summary");
  summary.dataset.total = String(rockets.size);
  summary.dataset.shown = String(shown.length);
  summary.dataset.loaded = String(loaded && loading === null);
  summary.textContent = loading
    ? `loading ${count(loading.loaded)}${loading.total === null ? "" : ` of ${count(loading.total)}`} rockets…`
    : `${plural(rockets.size, "rocket")} · ${count(shown.length)} shown`;
  $("empty").hidden = shown.length > 0 || loading !== null;
  $("empty-text").textContent = rockets.size ? "No rocket matches this view." : "No rocket yet: post messages to /messages.";
  $("clear").hidden = rockets.size === 0;
  if (detail.open) detail.showState(rockets.get(detail.channel), gapOf(detail.channel));
}

// The filter menus offer every value the fleet has, and the one chosen even when none has it.
function menu(select, values, current) {
  const all = [...new Set([...values, ...(current ? [current] : [])])].sort();
  const key = all.join("\u0000");
  if (select.dataset.key !== key) {
    select.dataset.key = key;
    const first = select.options[0];
    select.replaceChildren(first, ...all.map((v) => new Option(v, v)));
  }
  select.value = current;
}

function gapOf(channel) {
  const gap = waiting.get(channel);
  return gap ? { waitingSeconds: gap.waitingSeconds, stalled: stalled.has(channel) } : null;
}

// --- what the operator does ---

function changed() {
  writeView(view);
  keepOpenInSight = true;
  scheduleRender();
}

function toggleFilter(field, value) {
  view[field] = view[field] === value ? "" : value;
  syncControls();
  changed();
}

function sortBy(key) {
  view.dir = view.sort === key ? -view.dir : 1;
  view.sort = key;
  table.showSort(view.sort, view.dir);
  changed();
}

function openRocket(channel) {
  if (!rockets.has(channel)) {
    say(`No rocket has the channel ${channel}`);
    if (view.rocket === channel) {
      view.rocket = "";
      writeView(view);
    }
    return;
  }
  view.rocket = channel;
  writeView(view);
  detail.show(channel, rockets.get(channel), gapOf(channel));
  table.revealRow(channel);
}

function closeRocket() {
  const channel = detail.channel;
  const hadFocus = $("detail").contains(document.activeElement) || document.activeElement === document.body;
  view.rocket = "";
  writeView(view);
  detail.hide();
  table.schedule();
  if (channel && hadFocus) table.focusRow(channel);
}

async function copyChannel(channel) {
  const done = await copyText(channel);
  say(done ? `Copied ${channel}` : `Could not copy: the channel is ${channel}`);
}

function syncControls() {
  $("search").value = view.q;
  for (const field of ["status", "type", "mission", "gap"]) {
    const select = $(`${field}-filter`);
    const value = view[field];
    if (value && ![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
    select.value = value;
  }
}

$("search").addEventListener("input", (e) => {
  view.q = e.target.value;
  changed();
});
$("search").addEventListener("keydown", (e) => {
  if (e.key === "ArrowDown" || e.key === "Enter") {
    e.preventDefault();
    render(); // what was just typed may not be drawn yet
    table.moveTo(0);
  }
});
for (const field of ["status", "type", "mission", "gap"]) {
  $(`${field}-filter`).addEventListener("change", (e) => {
    view[field] = e.target.value;
    changed();
  });
}
$("clear").addEventListener("click", () => {
  Object.assign(view, { q: "", status: "", type: "", mission: "", gap: "" });
  syncControls();
  changed();
});
$("close").addEventListener("click", closeRocket);
$("scrim").addEventListener("click", closeRocket);
$("copy-channel").addEventListener("click", () => detail.channel && copyChannel(detail.channel));
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && detail.open) {
    e.preventDefault();
    closeRocket();
  } else if (e.key === "/" && !e.target.closest("input, select, textarea")) {
    e.preventDefault();
    $("search").focus();
  }
});

if (narrow.matches) $("fleet").open = false; // on a phone the table comes first
syncControls();
await loadPlugins();
connect(); // first, so that nothing applied while the list loads is missed
wantFleet(true);
wantGaps(0);
setInterval(() => {
  rate.draw();
  panel.tick(rate);
  table.tick();
}, 1000);
rate.draw();
await loadAll().catch((error) => say(`The rockets could not be loaded: ${error.message}`));
if (view.rocket) openRocket(view.rocket);
