// How values are written on the page, the short form of channels, and copying to the clipboard.

const numbers = new Intl.NumberFormat();

export function count(n) {
  return numbers.format(n);
}

export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

const TIMES = new Set(["updatedAt", "launchedAt", "waitingSince"]);

export function formatValue(key, value) {
  if (value === null || value === undefined) return "—";
  if (key === "setAside") return setAsideText(value);
  if (TIMES.has(key)) return new Date(value).toLocaleString();
  if (typeof value === "number") return count(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// A message kept but not applied (its plugin's apply failed), as the page tells it.
export function setAsideText(aside) {
  const whose = aside.plugin === null ? "no loaded plugin" : `plugin ${aside.plugin}`;
  return `message ${aside.messageNumber} (${aside.messageType}) set aside: ${whose} could not apply it: ${aside.error}`;
}

// A time of today by its hour, another with its date too.
export function clock(value) {
  if (!value) return "—";
  const date = new Date(value);
  return date.toDateString() === new Date().toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
}

export function duration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// How long ago a time of this page's clock (milliseconds) was: "just now", "3 s ago".
export function ago(time, now = Date.now()) {
  const seconds = Math.max(0, (now - time) / 1000);
  return seconds < 1 ? "just now" : `${duration(Math.floor(seconds))} ago`;
}

// A channel is shown by the shortest prefix that tells it from every other channel, and no
// shorter than a UUID's first group (8 characters), the way a commit is named by its short
// hash. Short channels are shown whole.
const SHORTEST = 8;
const WHOLE = 12;

export function prefixLengths(channels) {
  const sorted = [...channels].sort();
  const lengths = new Map();
  const common = (a, b) => {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return i;
  };
  sorted.forEach((channel, i) => {
    if (channel.length <= WHOLE) {
      lengths.set(channel, channel.length);
      return;
    }
    const before = i > 0 ? common(sorted[i - 1], channel) : 0;
    const after = i + 1 < sorted.length ? common(sorted[i + 1], channel) : 0;
    const length = Math.max(SHORTEST, before + 1, after + 1);
    // Dropping one or two characters saves nothing worth an ellipsis.
    lengths.set(channel, length >= channel.length - 2 ? channel.length : length);
  });
  return lengths;
}

export function shortChannel(channel, length) {
  return length && length < channel.length ? `${channel.slice(0, length)}…` : channel;
}

// navigator.clipboard exists only in a secure context (https, or this machine's own address);
// a dashboard opened over plain http from elsewhere copies through a selected text area.
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // denied: try the old way below
    }
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.className = "offscreen";
  area.setAttribute("readonly", "");
  document.body.append(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch {
    done = false;
  }
  area.remove();
  return done;
}

let toastTimer = 0;

// A short message in a polite live region: seen, and read out by screen readers.
export function say(message) {
  const toast = document.getElementById("toast");
  toast.textContent = message;
  toast.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toast.classList.remove("shown"), 2500);
}
