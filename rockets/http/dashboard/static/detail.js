// The detail view of one rocket: its state field by field, its gap if it has one, its speed
// over time (GET /rockets/{channel}/history, states replayed from the log) and its events
// (GET /rockets/{channel}/events), both growing live from the stream while the view is open.
//
// Beside the table on a wide screen; on a narrow one a sheet over the page, which then takes
// the focus and makes the rest of the page inert until it closes.

import { getJSON } from "./api.js";
import { gapText, statusBadge } from "./table.js";
import { clock, duration, formatValue } from "./text.js";

const KEPT = 1000; // the most recent events shown

export const narrow = matchMedia("(max-width: 700px)");

const $ = (id) => document.getElementById(id);

export class Detail {
  constructor() {
    this.panel = $("detail");
    this.channel = null;
    this.events = [];
    this.points = [];
    this.queued = false;
    narrow.addEventListener("change", () => this.channel && this.modal(narrow.matches));
  }

  get open() {
    return this.channel !== null;
  }

  show(channel, state, gap) {
    if (this.channel !== channel) {
      this.channel = channel;
      this.events = [];
      this.points = [];
      $("detail-title").textContent = channel;
      this.renderLog();
      this.load(channel, state);
    }
    this.panel.hidden = false;
    document.body.classList.add("detail-open");
    this.showState(state, gap);
    if (narrow.matches) {
      this.modal(true);
      $("close").focus();
    }
  }

  hide() {
    this.channel = null;
    this.panel.hidden = true;
    document.body.classList.remove("detail-open");
    this.modal(false);
  }

  modal(on) {
    for (const id of ["top", "fleet", "list"]) $(id).inert = on;
    $("scrim").hidden = !on;
  }

  async load(channel, state) {
    const from = Math.max(1, (state?.lastMessageNumber ?? 0) - KEPT + 1);
    const path = `/rockets/${encodeURIComponent(channel)}`;
    if (!state || state.lastMessageNumber === 0) return; // nothing applied yet: nothing to ask
    const [events, points] = await Promise.all([
      getJSON(`${path}/events?from=${from}&limit=${KEPT}`),
      getJSON(`${path}/history?from=${from}&limit=${KEPT}`),
    ]);
    if (this.channel !== channel) return;
    // The stream may have brought events while these were asked for.
    const last = events.at(-1)?.messageNumber ?? 0;
    this.events = [...events, ...this.events.filter((e) => e.messageNumber > last)];
    this.points = [...points, ...this.points.filter((p) => p.messageNumber > last)];
    this.renderLog();
  }

  applied(data) {
    if (data.channel !== this.channel) return;
    if (this.events.length && this.events.at(-1).messageNumber >= data.event.messageNumber) return;
    this.events.push(data.event);
    this.points.push({ messageNumber: data.event.messageNumber, messageTime: data.event.messageTime, state: data.state });
    if (this.events.length > KEPT) {
      this.events.shift();
      this.points.shift();
    }
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.renderLog();
    });
  }

  showState(state, gap) {
    if (!state) return;
    const key = `${gap?.stalled}:${gap?.waitingSeconds}`;
    if (state === this.shown && key === this.shownGap) return;
    this.shown = state;
    this.shownGap = key;
    const note = $("detail-gap");
    note.hidden = !(state.pending > 0);
    if (state.pending > 0) {
      const since = gap ? `, for ${duration(gap.waitingSeconds)}` : "";
      note.textContent = `${gapText(state, gap?.stalled)} (since ${clock(state.waitingSince)}${since})`;
      note.classList.toggle("stalled", Boolean(gap?.stalled));
      note.classList.toggle("set-aside", Boolean(state.setAside));
    }
    $("detail-state").replaceChildren(
      ...Object.entries(state)
        .filter(([key]) => !key.startsWith("_"))
        .flatMap(([key, value]) => {
          const dt = document.createElement("dt");
          dt.textContent = key;
          const dd = document.createElement("dd");
          dd.dataset.key = key;
          if (key === "status") dd.append(statusBadge(value));
          else dd.textContent = formatValue(key, value);
          return [dt, dd];
        }),
    );
  }

  renderLog() {
    const list = $("timeline");
    list.replaceChildren(
      ...this.events.map((event) => {
        const li = document.createElement("li");
        li.value = event.messageNumber;
        li.dataset.number = event.messageNumber;
        if (event.messageType.includes("Exploded")) li.className = "exploded";
        const type = document.createElement("span");
        type.className = "type";
        type.textContent = event.messageType;
        const time = document.createElement("time");
        time.dateTime = event.messageTime;
        time.textContent = clock(event.messageTime);
        time.title = new Date(event.messageTime).toLocaleString();
        const payload = document.createElement("code");
        payload.className = "payload";
        payload.textContent = readable(event.message);
        const head = document.createElement("div");
        head.className = "head";
        head.append(type, time);
        li.append(head, payload);
        return li;
      }),
    );
    $("timeline-count").textContent = this.events.length ? `(${this.events.length})` : "";
    $("timeline-empty").hidden = this.events.length > 0;
    chart($("chart"), this.points);
  }
}

// {"by":600} reads as `by: 600`, and a long payload wraps between its fields.
function readable(payload) {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return JSON.stringify(payload);
  return Object.entries(payload).map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(", ");
}

function chart(svg, points) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 400;
  const height = 160;
  const pad = 28;
  const left = 44; // room for the speed's figures
  const make = (name, attributes, text) => {
    const element = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v));
    if (text !== undefined) element.textContent = text;
    return element;
  };
  const max = Math.max(1, ...points.map((p) => p.state.speed));
  const n = Math.max(1, points.length - 1);
  const x = (i) => left + (i / n) * (width - left - pad);
  const y = (speed) => height - pad - (speed / max) * (height - 2 * pad);
  const parts = [
    make("line", { x1: left, y1: height - pad, x2: width - pad, y2: height - pad }),
    make("line", { x1: left, y1: pad, x2: width - pad, y2: pad, class: "grid" }),
    make("text", { x: left - 6, y: pad + 4, "text-anchor": "end" }, new Intl.NumberFormat().format(max)),
    make("text", { x: left - 6, y: height - pad + 4, "text-anchor": "end" }, "0"),
  ];
  if (points.length) {
    parts.push(
      make("text", { x: left, y: height - 8 }, `#${points[0].messageNumber}`),
      make("text", { x: width - pad, y: height - 8, "text-anchor": "end" }, `#${points.at(-1).messageNumber}`),
      make("polyline", { points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.state.speed).toFixed(1)}`).join(" ") }),
    );
    const boom = points.findIndex((p) => p.state.status === "exploded");
    if (boom >= 0) {
      parts.push(make("circle", { cx: x(boom).toFixed(1), cy: y(points[boom].state.speed).toFixed(1), r: 5, class: "boom" }));
    }
  } else {
    parts.push(make("text", { x: (left + width - pad) / 2, y: height / 2, "text-anchor": "middle", class: "none" }, "no speed yet"));
  }
  svg.replaceChildren(...parts);
  svg.dataset.points = String(points.length);
}
