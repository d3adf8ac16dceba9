// The fleet panel: how many rockets by status, type and mission (the server's `fleet`
// projection), the rockets waiting behind a gap and the stalled ones (GET /stalled), and the
// messages applied per second over the last two minutes, counted from the live stream.
// Every count is a button: it filters the table by that value (again: back to all).

import { icon, statusIcon } from "./icons.js";
import { count, duration, plural, shortChannel } from "./text.js";

const SHOWN = 5; // values listed per kind; the filter menus have them all

export class FleetPanel {
  constructor(handlers) {
    this.handlers = handlers; // filter(field, value), open(channel)
    this.panel = document.getElementById("fleet");
    document.getElementById("gap-waiting").prepend(icon("waiting"));
    document.getElementById("gap-stalled").prepend(icon("stalled"));
    this.panel.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-field]");
      if (button) this.handlers.filter(button.dataset.field, button.dataset.value);
      const stalled = event.target.closest("button[data-open]");
      if (stalled) this.handlers.open(stalled.dataset.open);
    });
  }

  render({ fleet, source, gaps, view, prefix }) {
    this.panel.dataset.source = source;
    document.getElementById("fleet-source").hidden = source !== "page";
    this.panel.dataset.rockets = String(fleet.rockets);
    document.getElementById("fleet-total").textContent = count(fleet.rockets);
    keepingFocus(this.panel, () => {
      bars(document.getElementById("by-status"), "status", fleet.byStatus, view.status, statusIcon);
      bars(document.getElementById("by-type"), "type", fleet.byType, view.type);
      bars(document.getElementById("by-mission"), "mission", fleet.byMission, view.mission);
      stalledList(gaps.stalled, prefix);
    });
    gapButton("gap-waiting", gaps.waiting, view.gap === "waiting",
      ` waiting behind a gap (${plural(gaps.messages, "message")})`);
    gapButton("gap-stalled", gaps.stalledCount, view.gap === "stalled",
      " stalled");
    this.line = [plural(fleet.rockets, "rocket"), `${count(fleet.byStatus.exploded ?? 0)} exploded`];
    if (gaps.waiting) this.line.push(`${count(gaps.waiting)} waiting`);
    if (gaps.stalledCount) this.line.push(`${count(gaps.stalledCount)} stalled`);
  }

  // The one-line summary, which stays in sight when the panel is folded (on a phone).
  tick(rate) {
    document.getElementById("fleet-line").textContent = [...(this.line ?? []), `${count(rate.now())} msg/s`].join(" · ");
  }
}

function gapButton(id, n, pressed, what) {
  const button = document.getElementById(id);
  button.dataset.count = String(n);
  button.setAttribute("aria-pressed", String(pressed));
  button.classList.toggle("none", n === 0);
  button.querySelector(".count").textContent = count(n);
  button.querySelector(".what").textContent = what;
}

function stalledList(stalled, prefix) {
  const list = document.getElementById("stalled-list");
  const key = stalled.slice(0, 3).map((s) => `${s.channel}:${Math.round(s.waitingSeconds)}`).join(" ");
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(
    ...stalled.slice(0, 3).map((s) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.open = s.channel;
      button.title = `${s.channel}: open`;
      button.textContent = `${shortChannel(s.channel, prefix(s.channel))} awaits #${s.awaitedNumber} · ${duration(s.waitingSeconds)}`;
      li.append(button);
      return li;
    }),
  );
}

// The panel is redrawn as counts move; a button that had the focus gets it back.
function keepingFocus(panel, redraw) {
  const active = panel.contains(document.activeElement) ? document.activeElement : null;
  const field = active?.dataset.field;
  const value = active?.dataset.value;
  const open = active?.dataset.open;
  redraw();
  if (!active || active.isConnected) return;
  const again = [...panel.querySelectorAll("button")].find(
    (b) => (field !== undefined && b.dataset.field === field && b.dataset.value === value) || (open !== undefined && b.dataset.open === open),
  );
  again?.focus({ preventScroll: true });
}

function bars(container, field, counts, active, decorate) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = Math.max(1, ...entries.map(([, n]) => n));
  const shown = entries.slice(0, SHOWN);
  if (active && !shown.some(([value]) => value === active)) {
    shown.push(entries.find(([value]) => value === active) ?? [active, 0]);
  }
  const key = JSON.stringify([shown, entries.length, active]);
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  const items = shown.map(([value, n]) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `bar${field === "status" ? ` s-${value === "flying" || value === "exploded" ? value : "other"}` : ""}`;
    button.dataset.field = field;
    button.dataset.value = value;
    button.setAttribute("aria-pressed", String(value === active));
    button.title = `${n} ${field === "status" ? value : `with ${field} ${value}`}: show only these`;
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${(100 * n) / top}%`; // CSSOM, which the page's CSP allows
    const name = document.createElement("span");
    name.className = "name";
    if (decorate) name.append(decorate(value));
    name.append(value);
    const number = document.createElement("span");
    number.className = "count";
    number.textContent = count(n);
    button.append(fill, name, number);
    return button;
  });
  if (entries.length > shown.length) {
    const more = document.createElement("p");
    more.className = "more";
    more.textContent = `+ ${count(entries.length - shown.length)} more in the ${field} menu`;
    items.push(more);
  }
  if (!entries.length) {
    const none = document.createElement("p");
    none.className = "more";
    none.textContent = "none yet";
    items.push(none);
  }
  container.replaceChildren(...items);
}

// Messages applied per second, in one-second buckets, over the last WINDOW seconds of this page
// (it counts from its opening: the server keeps no such history).
const WINDOW = 120;

export class RateMeter {
  constructor(svg) {
    this.svg = svg;
    this.counts = new Array(WINDOW).fill(0);
    this.second = Math.floor(Date.now() / 1000);
  }

  advance() {
    const now = Math.floor(Date.now() / 1000);
    const steps = Math.min(WINDOW, now - this.second);
    for (let i = 0; i < steps; i++) {
      this.counts.shift();
      this.counts.push(0);
    }
    if (steps > 0) this.second = now;
  }

  add(n = 1) {
    this.advance();
    this.counts[WINDOW - 1] += n;
  }

  // The average of the last five whole seconds: one second alone jumps about too much.
  now() {
    this.advance();
    return Math.round(this.counts.slice(WINDOW - 6, WINDOW - 1).reduce((a, b) => a + b, 0) / 5);
  }

  draw() {
    this.advance();
    const peak = Math.max(...this.counts);
    const total = this.counts.reduce((a, b) => a + b, 0);
    const height = 40;
    const y = (n) => (height - (peak ? (n / peak) * (height - 2) : 0)).toFixed(1);
    const points = this.counts.map((n, i) => `${i},${y(n)}`).join(" ");
    const ns = "http://www.w3.org/2000/svg";
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("class", "area");
    area.setAttribute("points", `0,${height} ${points} ${WINDOW - 1},${height}`);
    this.svg.setAttribute("viewBox", `0 0 ${WINDOW - 1} ${height}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points);
    this.svg.replaceChildren(area, line);
    this.svg.dataset.total = String(total);
    this.svg.dataset.peak = String(peak);
    this.svg.dataset.seconds = String(this.counts.filter((n) => n > 0).length);
    document.getElementById("rate-now").textContent = count(this.now());
    document.getElementById("rate-peak").textContent = count(peak);
    document.getElementById("rate-total").textContent = count(total);
  }
}
