/**
 * The live cluster page served at `GET /cluster/ui`: one self-contained HTML document (no CDN, no
 * build step, no external asset), kept as a string so `tsc` ships it with the sample. It reads
 * `GET /cluster/ui/stream` (server-sent events: `hello`, `event`, `overview`) and redraws without
 * reload. The script avoids template literals and `${`, since the page itself is one.
 *
 * Markup the browser test relies on: one `[data-node]` card per node with `data-state="up|down"`,
 * its links as `[data-link]` items, and the events as `#events tr[data-type]` rows.
 */
export const CLUSTER_UI_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gen-cluster: live</title>
<style>
  :root { --up: #1a7f37; --down: #cf222e; --muted: #57606a; --line: #d0d7de; font-family: system-ui, sans-serif; }
  body { margin: 0; background: #f6f8fa; color: #1f2328; }
  header { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: baseline; padding: 0.8rem 1.2rem;
    background: #24292f; color: #fff; }
  header h1 { margin: 0; font-size: 1.2rem; }
  header .dim { color: #afb8c1; }
  #conn[data-conn="open"] { color: #4ac26b; }
  #conn[data-conn="closed"] { color: #ff8182; }
  main { padding: 1.2rem; display: grid; gap: 1.2rem; }
  #nodes { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 1rem; }
  .card { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--up);
    border-radius: 6px; padding: 0.7rem 0.9rem; }
  .card[data-state="down"] { border-color: var(--down); border-left-color: var(--down); background: #ffebe9; }
  .card h3 { margin: 0 0 0.3rem; font-size: 1rem; display: flex; gap: 0.4rem; align-items: center; }
  .state { font-size: 0.75rem; font-weight: 600; padding: 0.05rem 0.45rem; border-radius: 1rem;
    color: #fff; background: var(--up); text-transform: uppercase; }
  .card[data-state="down"] .state { background: var(--down); }
  .tag { white-space: nowrap; font-size: 0.75rem; color: var(--muted); border: 1px solid var(--line); border-radius: 1rem;
    padding: 0 0.4rem; }
  .meta { color: var(--muted); font-size: 0.85rem; }
  .reason { color: var(--down); font-weight: 600; font-size: 0.9rem; margin: 0.3rem 0; }
  .links { margin: 0.4rem 0 0; padding-left: 1.1rem; font-size: 0.9rem; }
  .links:empty::before { content: "no links"; color: var(--muted); margin-left: -1.1rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.9rem; }
  th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); }
  th { background: #eaeef2; }
  tr[data-type="nodeDown"] td:nth-child(2), tr[data-type="connectFailed"] td:nth-child(2),
  tr[data-type="discoveryError"] td:nth-child(2) { color: var(--down); font-weight: 600; }
  tr[data-type="nodeUp"] td:nth-child(2) { color: var(--up); font-weight: 600; }
  h2 { margin: 0 0 0.5rem; font-size: 1rem; }
</style>
</head>
<body>
<header>
  <h1>gen-cluster</h1>
  <span><span class="dim">seen from</span> <b id="self">…</b></span>
  <span><span class="dim">last update</span> <span id="updated">never</span></span>
  <span id="conn" data-conn="connecting">connecting</span>
</header>
<main>
  <section aria-label="nodes"><div id="nodes"></div></section>
  <section aria-label="recent events">
    <h2>Recent events</h2>
    <table id="events">
      <thead><tr><th>time</th><th>type</th><th>node</th><th>reason</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<script>
(function () {
  "use strict";
  var MAX_EVENTS = 100;
  var MAX_NODES = 256;
  var self = null;
  var since = null;
  var seeded = false;
  // name -> { state, links, reason, retry, meta, seenAt, answered, downByEvent }; a node once seen stays, marked down.
  var nodes = new Map();
  var nodesEl = document.getElementById("nodes");
  var eventsEl = document.querySelector("#events tbody");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function known(name) {
    var n = nodes.get(name);
    if (!n) { n = { state: "down", links: [], reason: "not connected", retry: "", meta: "", seenAt: "", answered: true, downByEvent: false }; nodes.set(name, n); }
    return n;
  }
  function time(iso) {
    var d = new Date(iso);
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }
  function addEvent(e) {
    var row = el("tr", { "data-type": e.type, "data-node": e.node || "" });
    row.appendChild(el("td", {}, time(e.at)));
    row.appendChild(el("td", {}, e.type));
    row.appendChild(el("td", {}, e.node || ""));
    row.appendChild(el("td", {}, e.reason || e.message || ""));
    eventsEl.insertBefore(row, eventsEl.firstChild);
    while (eventsEl.children.length > MAX_EVENTS) eventsEl.removeChild(eventsEl.lastChild);
  }
  function applyEvent(e) {
    if (typeof e.node !== "string" || !e.node || e.node === self) return;
    if (!nodes.has(e.node) && nodes.size >= MAX_NODES) return;
    var n = known(e.node);
    if (e.type === "nodeUp") { n.state = "up"; n.reason = ""; n.downByEvent = false; }
    if (e.type === "nodeDown") { n.state = "down"; n.reason = e.reason || "down"; n.downByEvent = true; }
    // Kept beside the nodeDown reason, which stays the card's headline.
    if (e.type === "connectFailed") n.retry = e.message || "connect failed";
    if (e.type === "nodeUp") n.retry = "";
  }
  function render() {
    var names = Array.from(nodes.keys()).sort();
    nodesEl.replaceChildren.apply(nodesEl, names.map(function (name) {
      var n = nodes.get(name);
      var card = el("article", { "class": "card", "data-node": name, "data-state": n.state });
      var h = el("h3");
      h.appendChild(el("span", { "class": "state" }, n.state));
      h.appendChild(document.createTextNode(name));
      if (name === self) h.appendChild(el("span", { "class": "tag" }, "this node"));
      if (n.state === "up" && !n.answered) h.appendChild(el("span", { "class": "tag" }, "no answer"));
      card.appendChild(h);
      if (n.state === "up" && n.meta) card.appendChild(el("div", { "class": "meta" }, n.meta));
      if (n.state === "down" && n.seenAt) card.appendChild(el("div", { "class": "meta" }, "last answer " + n.seenAt));
      if (n.state === "down") card.appendChild(el("div", { "class": "reason" }, "down: " + n.reason));
      if (n.state === "down" && n.retry) card.appendChild(el("div", { "class": "meta" }, "last attempt: " + n.retry));
      var ul = el("ul", { "class": "links", "aria-label": "links" });
      if (n.state === "up") n.links.forEach(function (l) { ul.appendChild(el("li", { "data-link": l }, l)); });
      card.appendChild(ul);
      return card;
    }));
  }
  function list(v) { return Array.isArray(v) ? v : []; }
  function str(v) { return typeof v === "string" ? v : (typeof v === "number" ? String(v) : ""); }
  // Adds a card for a name a node told of, up to MAX_NODES: a node's answer is its word, and
  // one listing thousands of made-up names must not fill the page.
  function tellOf(name) {
    if (typeof name === "string" && name && (nodes.has(name) || nodes.size < MAX_NODES)) known(name);
  }
  function onEntry(entry) {
    if (!entry || typeof entry.node !== "string" || !entry.node) return;
    if (!nodes.has(entry.node) && nodes.size >= MAX_NODES) return;
    var n = known(entry.node);
    n.answered = entry.ok === true;
    // A failed answer asked before a nodeDown arrived must not bring the card back up.
    if (entry.ok === true || !n.downByEvent) { n.state = "up"; n.reason = ""; n.downByEvent = false; }
    if (entry.ok === true) {
      var i = entry.info || {};
      var members = list(i.members).filter(function (m) { return typeof m === "string"; });
      n.links = members.slice();
      n.seenAt = new Date().toLocaleTimeString([], { hour12: false });
      n.meta = "v" + str(i.version) + " · " + str(i.dist) + " · " + str(i.state) + " · up " + str(i.uptimeS) + " s";
      members.concat(list(i.discovered)).forEach(tellOf);
      if (entry.node === self && !seeded) {
        seeded = true;
        list(i.events).forEach(function (e) {
          if (e && typeof e === "object" && e.at < since) { addEvent(e); applyEvent(e); }
        });
      }
    } else {
      n.meta = entry.older ? "older version (no system topics)" : "no answer: " + str(entry.error);
    }
  }
  function onOverview(o) {
    var listed = new Set();
    list(o && o.nodes).forEach(function (entry) {
      // One malformed answer spoils its own card only, never the whole overview.
      try { onEntry(entry); } catch (err) { /* skipped: the other entries still render */ }
      if (entry && typeof entry.node === "string") listed.add(entry.node);
    });
    nodes.forEach(function (n, name) {
      if (!listed.has(name) && n.state === "up") { n.state = "down"; n.reason = "not connected"; }
    });
    document.getElementById("updated").textContent = new Date().toLocaleTimeString([], { hour12: false });
    render();
  }

  // The stream is beside the page: /cluster/ui/stream, whether the page was asked with a
  // trailing slash or not (a bare relative URL would resolve against /cluster/).
  var here = location.pathname;
  var source = new EventSource((here.endsWith("/") ? here : here + "/") + "stream");
  source.onopen = function () { var c = document.getElementById("conn"); c.dataset.conn = "open"; c.textContent = "live"; };
  source.onerror = function () { var c = document.getElementById("conn"); c.dataset.conn = "closed"; c.textContent = "reconnecting…"; };
  source.addEventListener("hello", function (m) {
    var h = JSON.parse(m.data);
    self = h.self;
    since = h.at;
    document.getElementById("self").textContent = self;
    known(self).state = "up";
    render();
  });
  source.addEventListener("event", function (m) {
    var e = JSON.parse(m.data);
    addEvent(e);
    applyEvent(e);
    render();
  });
  source.addEventListener("overview", function (m) { onOverview(JSON.parse(m.data)); });
})();
</script>
</body>
</html>
`;
