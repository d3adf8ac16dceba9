// The rockets table. It holds the order of every rocket that matches, but puts in the page only
// the rows on screen (and a few around them): two spacer rows stand for the others, so that the
// scroll bar is that of the whole list. 10,000 rockets cost a few dozen rows.
//
// Keyboard: one row at a time is in the Tab order (the "cursor"); the arrows, Page Up/Down,
// Home and End move it, Enter opens the rocket, c copies its channel.

import { icon, statusIcon } from "./icons.js";
import { ago, clock, formatValue, setAsideText, shortChannel } from "./text.js";

const OVERSCAN = 8;

// The key of the "last update" column: no state field of the server's (their names are
// camelCase, never with a dash), since the time is the page's own (app.js).
export const LAST_UPDATE = "last-update";

export class RocketTable {
  constructor(table, source, handlers) {
    this.table = table;
    this.scroller = table.parentElement;
    this.head = table.tHead.rows[0];
    this.body = table.tBodies[0];
    this.source = source; // state(channel), stalled(channel), prefix(channel), selected()
    this.handlers = handlers; // open(channel), copy(channel), sort(key)
    this.columns = [];
    this.order = [];
    this.index = new Map();
    this.rows = new Map(); // channel -> row on the page
    this.rowHeight = 0;
    this.fit = Infinity; // characters of a channel its cell has room for
    this.cursor = null;
    this.queued = false;
    this.spacers = [spacer(), spacer()];
    this.body.replaceChildren(...this.spacers);
    this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
    this.body.addEventListener("click", (e) => this.clicked(e));
    this.body.addEventListener("keydown", (e) => this.pressed(e));
    this.body.addEventListener("focusin", (e) => {
      const row = e.target.closest("tr[data-channel]");
      if (row) this.cursor = row.dataset.channel;
    });
  }

  setColumns(columns) {
    this.columns = columns;
    this.rows.clear();
    this.head.replaceChildren(
      ...columns.map((column) => {
        const th = document.createElement("th");
        th.dataset.key = column.key;
        th.className = classes(column);
        th.scope = "col";
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = column.label;
        button.title = `Sort by ${column.label}`;
        button.addEventListener("click", () => this.handlers.sort(column.key));
        th.append(button);
        return th;
      }),
    );
  }

  showSort(key, dir) {
    for (const th of this.head.children) {
      if (th.dataset.key === key) th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  setOrder(order) {
    this.order = order;
    this.index = new Map(order.map((channel, i) => [channel, i]));
    this.table.setAttribute("aria-rowcount", String(order.length + 1));
    this.paint();
  }

  schedule() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => this.paint());
  }

  paint() {
    this.queued = false;
    const total = this.order.length;
    const height = this.rowHeight || 36;
    const top = Math.max(0, this.scroller.scrollTop - this.head.offsetHeight);
    const first = Math.min(total, Math.max(0, Math.floor(top / height) - OVERSCAN));
    const last = Math.min(total, first + Math.ceil(this.scroller.clientHeight / height) + 2 * OVERSCAN);
    const focused = this.body.contains(document.activeElement)
      ? document.activeElement.closest("tr[data-channel]")
      : null;
    const rows = new Map();
    for (let i = first; i < last; i++) {
      const channel = this.order[i];
      rows.set(channel, this.row(channel, i));
    }
    this.rows = rows;
    const cursorShown = rows.has(this.cursor);
    let tabbable = false;
    for (const [channel, tr] of rows) {
      const mine = cursorShown ? channel === this.cursor : !tabbable;
      tr.tabIndex = mine ? 0 : -1;
      tabbable ||= mine;
    }
    this.spacers[0].style.height = `${first * height}px`;
    this.spacers[1].style.height = `${(total - last) * height}px`;
    this.place([...rows.values()]);
    if (focused && rows.get(focused.dataset.channel) === focused && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
    const measured = rows.size ? rows.values().next().value.getBoundingClientRect().height : 0;
    if (measured && Math.abs(measured - height) > 0.5) {
      this.rowHeight = measured;
      this.schedule();
    }
    const fit = this.measureFit(rows);
    if (fit !== this.fit) {
      this.fit = fit;
      this.schedule();
    }
  }

  // How many characters of a channel the channel column has room for, beside the copy button
  // (the font is monospaced): a channel that fits is shown whole, a longer one by its short
  // form. The column takes the width the others leave, so this changes with the window.
  measureFit(rows) {
    const cell = rows.size ? rows.values().next().value.querySelector("td.k-channel") : null;
    const text = cell?.querySelector(".chan");
    if (!text || !text.textContent) return this.fit;
    const style = getComputedStyle(cell);
    const copy = cell.querySelector("button.copy");
    const room = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
      - copy.offsetWidth - parseFloat(getComputedStyle(copy).marginLeft);
    const character = text.getBoundingClientRect().width / text.textContent.length;
    return character > 0 ? Math.floor(room / character) : this.fit;
  }

  // The relative times of the rows on the page ("3 s ago") follow the clock.
  tick() {
    for (const tr of this.rows.values()) {
      if (tr._lastUpdate) lastUpdateCell(tr._lastUpdate, tr._state);
    }
  }

  // Rows that stay on screen are left where they are (moving a node would take the focus away
  // and restart its animation); new ones are inserted, the others removed.
  place(rows) {
    const [before, after] = this.spacers;
    let at = before.nextSibling;
    for (const tr of rows) {
      if (at === tr) at = at.nextSibling;
      else this.body.insertBefore(tr, at);
    }
    while (at && at !== after) {
      const next = at.nextSibling;
      at.remove();
      at = next;
    }
  }

  row(channel, i) {
    const state = this.source.state(channel);
    const stalled = this.source.stalled(channel);
    const prefix = this.source.prefix(channel);
    let tr = this.rows.get(channel);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.channel = channel;
    }
    if (tr._state !== state || tr._stalled !== stalled || tr._prefix !== prefix) {
      if (tr._state && tr._state !== state && state._flash) flash(tr);
      this.fill(tr, state, stalled, prefix);
    } else if (tr._fit !== this.fit) {
      // The column's width changed: the channel's text only, the rest of the row stays.
      tr._fit = this.fit;
      const text = tr.querySelector(".chan");
      if (text) text.textContent = channelText(channel, prefix, this.fit);
    }
    const selected = this.source.selected() === channel;
    tr.classList.toggle("selected", selected);
    if (selected) tr.setAttribute("aria-current", "true");
    else tr.removeAttribute("aria-current");
    tr.setAttribute("aria-rowindex", String(i + 2));
    return tr;
  }

  fill(tr, state, stalled, prefix) {
    tr._state = state;
    tr._stalled = stalled;
    tr._prefix = prefix;
    tr._fit = this.fit;
    tr._lastUpdate = null;
    tr.dataset.status = state.status;
    tr.classList.toggle("exploded", state.status === "exploded");
    tr.classList.toggle("waiting", state.pending > 0);
    tr.classList.toggle("stalled", state.pending > 0 && stalled);
    tr.replaceChildren(
      ...this.columns.map((column) => {
        const td = document.createElement("td");
        td.dataset.key = column.key;
        td.className = classes(column);
        if (column.key === "channel") td.append(...channelCell(state, prefix, this.fit));
        else if (column.key === "status") td.append(statusCell(state, stalled));
        else if (column.key === LAST_UPDATE) {
          tr._lastUpdate = td;
          lastUpdateCell(td, state);
        } else {
          td.textContent = formatValue(column.key, state[column.key]);
          if (!column.number) td.title = td.textContent;
        }
        return td;
      }),
    );
  }

  clicked(event) {
    const tr = event.target.closest("tr[data-channel]");
    if (!tr) return;
    this.cursor = tr.dataset.channel;
    if (event.target.closest("button.copy")) this.handlers.copy(tr.dataset.channel);
    else this.handlers.open(tr.dataset.channel);
  }

  pressed(event) {
    const tr = event.target.closest("tr[data-channel]");
    if (!tr || event.altKey) return;
    const channel = tr.dataset.channel;
    const i = this.index.get(channel) ?? 0;
    const page = Math.max(1, Math.floor(this.scroller.clientHeight / (this.rowHeight || 36)) - 1);
    const command = event.ctrlKey || event.metaKey ? "" : event.key;
    if (command === "ArrowDown") this.moveTo(i + 1);
    else if (command === "ArrowUp") this.moveTo(i - 1);
    else if (command === "PageDown") this.moveTo(i + page);
    else if (command === "PageUp") this.moveTo(i - page);
    else if (command === "Home") this.moveTo(0);
    else if (command === "End") this.moveTo(this.order.length - 1);
    else if (command === "Enter" || command === " ") this.handlers.open(channel);
    else if (event.key.toLowerCase() === "c" && window.getSelection().isCollapsed) this.handlers.copy(channel);
    else return;
    event.preventDefault();
  }

  moveTo(i) {
    if (!this.order.length) return;
    const index = Math.max(0, Math.min(this.order.length - 1, i));
    this.cursor = this.order[index];
    this.reveal(index);
    this.paint();
    this.rows.get(this.cursor)?.focus({ preventScroll: true });
  }

  // Scrolls row i onto the screen, below the sticky header: just enough when the keyboard moves
  // by a row, to the middle when it comes from elsewhere (an address, a search).
  reveal(i, middle = false) {
    const height = this.rowHeight || 36;
    const top = i * height;
    const room = this.scroller.clientHeight - this.head.offsetHeight;
    const shown = top >= this.scroller.scrollTop && top + height <= this.scroller.scrollTop + room;
    if (shown) return;
    if (middle) this.scroller.scrollTop = top - (room - height) / 2;
    else if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else this.scroller.scrollTop = top + height - room;
  }

  // Focuses the rocket's row, scrolling it into view; false when it is not listed.
  focusRow(channel) {
    const i = this.index.get(channel);
    if (i === undefined) return false;
    this.moveTo(i);
    return true;
  }

  revealRow(channel) {
    const i = this.index.get(channel);
    if (i === undefined) return;
    this.cursor = channel;
    this.reveal(i, true);
    this.paint();
  }
}

function classes(column) {
  return [`k-${column.cls ?? column.key}`, column.optional && "optional", column.number && "num"].filter(Boolean).join(" ");
}

function spacer() {
  const tr = document.createElement("tr");
  tr.className = "spacer";
  tr.setAttribute("aria-hidden", "true");
  tr.append(document.createElement("td"));
  return tr;
}

function flash(tr) {
  tr.classList.remove("flash");
  void tr.offsetWidth; // restarts the animation
  tr.classList.add("flash");
}

// On a narrow screen the type and mission columns step aside, and show under the channel.
function channelCell(state, prefix, fit) {
  const channel = state.channel;
  const text = document.createElement("span");
  text.className = "chan";
  text.textContent = channelText(channel, prefix, fit);
  text.title = channel;
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "copy";
  copy.tabIndex = -1; // the row's c key does it from the keyboard
  copy.title = "Copy the full channel";
  copy.setAttribute("aria-label", `Copy channel ${channel}`);
  copy.append(icon("copy"));
  const sub = document.createElement("span");
  sub.className = "sub";
  sub.textContent = [state.type, state.mission].filter((v) => v !== null && v !== undefined).join(" · ");
  return [text, copy, sub];
}

// A channel whole where its cell has room for it, else by its short form.
function channelText(channel, prefix, fit) {
  return channel.length <= fit ? channel : shortChannel(channel, prefix);
}

// When the page saw the rocket change, relative ("3 s ago"), exactly on hover; its last
// message's own time (the state's updatedAt, which a sender may set) is told apart.
function lastUpdateCell(td, state) {
  const message = `its last message is dated ${clock(state.updatedAt)}`;
  if (state._changed) {
    td.textContent = ago(state._changed);
    td.title = `changed at ${new Date(state._changed).toLocaleString()}; ${message}`;
  } else if (!state.lastMessageNumber) {
    td.textContent = "—";
    td.title = "no event applied yet: every message waits behind a gap";
  } else {
    td.textContent = "earlier";
    td.title = `not changed since this page opened; ${message}`;
  }
}

export function statusBadge(status) {
  const badge = document.createElement("span");
  badge.className = `badge status s-${status === "flying" || status === "exploded" ? status : "other"}`;
  badge.title = status; // the whole word, where the cell is too narrow for it
  const word = document.createElement("span");
  word.className = "status-word";
  word.textContent = status;
  badge.append(statusIcon(status), word);
  return badge;
}

export function gapText(state, stalled) {
  if (state.setAside) return `${state.pending} waiting at ${setAsideText(state.setAside)}`;
  const waiting = `${state.pending} waiting for message ${state.lastMessageNumber + 1}`;
  return stalled ? `stalled: ${waiting}` : waiting;
}

// A rocket waiting at a message set aside is stuck until its plugin is fixed, whatever the
// time: its badge says "set aside" rather than "stalled".
export function gapBadge(state, stalled) {
  const aside = Boolean(state.setAside);
  const badge = document.createElement("span");
  badge.className = `badge gap ${aside ? "set-aside" : stalled ? "stalled" : "waiting"}`;
  badge.title = `${gapText(state, stalled)}, since ${clock(state.waitingSince)}`;
  const number = document.createElement("span");
  number.textContent = String(state.pending);
  const word = document.createElement("span");
  word.className = "gap-word";
  word.textContent = aside ? " set aside" : stalled ? " stalled" : " waiting";
  badge.append(icon(aside || stalled ? "stalled" : "waiting"), number, word);
  return badge;
}

function statusCell(state, stalled) {
  // One line whatever the words (rows keep one height): the gap's badge is never cut, the
  // status word gives way first (a plugin's status may be long, and "unknown" is).
  const cell = document.createElement("span");
  cell.className = "status-cell";
  cell.append(statusBadge(state.status));
  if (state.pending > 0) cell.append(gapBadge(state, stalled));
  return cell;
}
