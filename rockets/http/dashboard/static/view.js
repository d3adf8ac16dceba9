// What the operator is looking at — search, filters, sort, the open rocket — and its form in
// the page's address, so that a view can be shared: opening the address shows the same view.
//
//   ?q=<words>&status=<s>&type=<t>&mission=<m>&gap=waiting|stalled&sort=<field>&order=desc
//    &rocket=<channel>
//
// Other parameters of the address (access_token, say) are kept as they are.

const GAPS = new Set(["waiting", "stalled"]);

export function readView(search) {
  const query = new URLSearchParams(search);
  const text = (name) => query.get(name) ?? "";
  return {
    q: text("q"),
    status: text("status"),
    type: text("type"),
    mission: text("mission"),
    gap: GAPS.has(text("gap")) ? text("gap") : "",
    sort: text("sort") || "channel",
    dir: text("order") === "desc" ? -1 : 1,
    rocket: text("rocket"),
  };
}

export function writeView(view) {
  const query = new URLSearchParams(location.search);
  const put = (name, value) => (value ? query.set(name, value) : query.delete(name));
  put("q", view.q.trim());
  put("status", view.status);
  put("type", view.type);
  put("mission", view.mission);
  put("gap", view.gap);
  put("sort", view.sort === "channel" ? "" : view.sort);
  put("order", view.dir < 0 ? "desc" : "");
  put("rocket", view.rocket);
  const search = query.toString();
  if (search !== location.search.slice(1)) {
    history.replaceState(null, "", search ? `?${search}` : location.pathname);
  }
}

function searchable(state) {
  // Kept on the state object, which is replaced whenever the rocket changes.
  state._text ??= [state.channel.toLowerCase(), (state.type ?? "").toLowerCase(), (state.mission ?? "").toLowerCase()];
  return state._text;
}

// Every word of the search must match: a prefix of the channel, or part of the type or the
// mission ("falcon artemis" finds the Falcons flying ARTEMIS).
export function matcher(view, isStalled) {
  const words = view.q.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return (state) => {
    if (view.status && state.status !== view.status) return false;
    if (view.type && state.type !== view.type) return false;
    if (view.mission && state.mission !== view.mission) return false;
    if (view.gap && !(state.pending > 0)) return false;
    if (view.gap === "stalled" && !isStalled(state.channel)) return false;
    if (!words.length) return true;
    const [channel, type, mission] = searchable(state);
    return words.every((w) => channel.startsWith(w) || type.includes(w) || mission.includes(w));
  };
}

// Rockets without a value come last, either way; ties go by channel.
export function comparator(key, dir) {
  return (a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === y || key === "channel") {
      return a.channel < b.channel ? -dir : a.channel > b.channel ? dir : 0;
    }
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  };
}
