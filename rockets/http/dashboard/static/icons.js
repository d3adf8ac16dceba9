// Small line icons drawn as SVG, so that they look the same on every machine: the symbols of
// fonts differ (or are missing) from one system to the next. An icon always comes with a word
// next to it; it is decoration for screen readers (aria-hidden).

const NS = "http://www.w3.org/2000/svg";

const PATHS = {
  flying: "M6 18L18 6M9 6h9v9",
  exploded: "M12 2l2 6.5L20 5l-2.5 6L23 12l-5.5 2 2.5 6-6-3-2 5.5-2-5.5-6 3 2.5-6L1 12l5.5-1L4 5l6 3.5z",
  unknown: "M9.2 9a3 3 0 1 1 4.3 2.7c-.9.5-1.5 1.2-1.5 2.1v.6M12 18.2v.1",
  waiting: "M7 3h10M7 21h10M8 3c0 5 8 5 8 9s-8 4-8 9M16 3c0 5-8 5-8 9s8 4 8 9",
  stalled: "M12 3L2 20.5h20zM12 9.5v5M12 17.6v.1",
  copy: "M9 9h11v11H9zM5 15H4V4h11v1",
  close: "M6 6l12 12M18 6L6 18",
};

export function icon(name) {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", PATHS[name] ?? PATHS.unknown);
  svg.append(path);
  return svg;
}

export function statusIcon(status) {
  return icon(status === "flying" || status === "exploded" ? status : "unknown");
}
