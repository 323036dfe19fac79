// The console's only stylesheet and script, served from the same origin so the Content-Security-Policy
// can forbid everything inline. No framework: pages are rendered on the server and work without script;
// the script only keeps them current and shows ages.

export const stylesheet = `
:root { --ink: #16181d; --muted: #4a5160; --line: #d5d9e0; --paper: #ffffff; --wash: #f3f5f8; --accent: #0b57d0;
  --sev1: #a50e0e; --sev2: #b04a00; --sev3: #6b5d00; --sev4: #3c4655; --ok: #146c2e; --bad: #a50e0e; font-size: 16px; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--wash); line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #f9ab00; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--paper); padding: 8px; z-index: 10; }
header.bar { background: #1d2433; color: #fff; padding: 8px 16px; display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
header.bar .brand { font-weight: 700; color: #fff; text-decoration: none; margin-right: 8px; }
header.bar nav { display: flex; flex-wrap: wrap; gap: 4px 14px; flex: 1 1 auto; }
header.bar nav a { color: #dfe6f5; text-decoration: none; padding: 6px 0; }
header.bar nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #8ab4f8; }
header.bar .who { display: flex; align-items: center; gap: 8px; font-size: .9rem; color: #dfe6f5; overflow-wrap: anywhere; }
header.bar .muted { color: #c3cbdb; }
header.bar .who button { background: transparent; color: #fff; border: 1px solid #8791a5; }
main { max-width: 1180px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5rem; margin: 4px 0 12px; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 0 0 10px; }
section.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 0 0 16px; min-width: 0; }
.grid { display: grid; grid-template-columns: minmax(0, 1fr); gap: 0 16px; }
@media (min-width: 900px) { .grid.two { grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); } }
/* On a phone the state and what waits on you come first, the long timeline last. */
@media (max-width: 899px) {
  .grid.two { display: flex; flex-direction: column; }
  .grid.two > div { display: contents; }
  [data-region="summary"] { order: -2; } [data-region="waiting"], [data-region="others"] { order: -1; } [data-region="timeline-card"] { order: 1; }
}
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.sev-SEV1 { color: var(--sev1); } .sev-SEV2 { color: var(--sev2); } .sev-SEV3 { color: var(--sev3); } .sev-SEV4 { color: var(--sev4); }
.state { background: var(--wash); color: var(--ink); border-color: var(--line); }
.state.failing { color: var(--bad); border-color: currentColor; }
.ok { color: var(--ok); } .bad { color: var(--bad); }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 4px 12px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
/* On a phone each label sits above its value, which gets the full width. */
@media (max-width: 520px) {
  dl.facts { display: block; }
  dl.facts dt { font-size: .85rem; margin-top: 8px; } dl.facts dt:first-child { margin-top: 0; }
  main { padding: 12px 10px; } section.card { padding: 12px 12px; } .decision { padding: 10px; }
}
ul.plain { list-style: none; margin: 0; padding: 0; } ul.plain li + li { margin-top: 4px; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
/* Short values (a state, a report type) wrap between words only: a narrow column must not split them. */
td.word { overflow-wrap: normal; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); overflow-wrap: normal; }
@media (max-width: 700px) {
  table.stack thead { position: absolute; left: -9999px; }
  table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
  /* The label, then the value in one box (td > .cell): every line of the value stays in the value column. */
  table.stack td { display: grid; grid-template-columns: 7.5em minmax(0, 1fr); gap: 8px; border: 0; padding: 3px 0; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-size: .85rem; overflow-wrap: anywhere; }
  table.stack td > .cell { grid-column: 2; min-width: 0; }
}
form.inline { display: inline; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); min-width: 0; max-width: 100%; }
form.filters select { min-width: 0; max-width: 100%; }
label { font-weight: 600; }
input, select, textarea, button { font: inherit; }
input[type=text], input[type=password], input[type=date], select, textarea { border: 1px solid #8791a5; border-radius: 6px; padding: 7px 9px; background: #fff; color: var(--ink); max-width: 100%; }
textarea { width: 100%; min-height: 4.5em; }
button, .button { display: inline-block; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; padding: 7px 14px; cursor: pointer; text-decoration: none; font-weight: 600; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.decision { border: 2px solid var(--accent); border-radius: 8px; padding: 12px; margin-bottom: 12px; background: #f4f8ff; }
.decision h3 { margin: 0 0 6px; font-size: 1.05rem; }
.decision.watching { border: 1px solid var(--line); background: var(--paper); }
.decision .what { font-weight: 600; margin: 0 0 8px; }
.decision .deadline { font-weight: 600; }
a.waits { font-size: .85rem; font-weight: 600; }
footer.foot { max-width: 1180px; margin: 0 auto; padding: 0 16px 16px; font-size: .85rem; }
.notice { border-left: 4px solid var(--ok); background: #edf7ee; padding: 8px 12px; margin-bottom: 12px; }
.error { border-left: 4px solid var(--bad); background: #fdecea; padding: 8px 12px; margin-bottom: 12px; }
ol.timeline { list-style: none; margin: 0; padding: 0; }
ol.timeline li { border-bottom: 1px solid var(--line); padding: 8px 0; }
ol.timeline .what { font-weight: 600; }
ol.timeline .detail { margin: 2px 0 0; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--wash); padding: 8px; border-radius: 6px; }
.signin { max-width: 440px; margin: 8vh auto; }
.signin input { width: 100%; }
.live { font-size: .85rem; color: var(--muted); min-height: 1.2em; }
.caption { margin: 0 0 8px; }
`;

export const script = `
(function () {
  'use strict';
  function age(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60); if (m < 60) return m + ' min';
    var h = Math.floor(m / 60); if (h < 48) return h + ' h ' + (m % 60) + ' min';
    return Math.floor(h / 24) + ' d';
  }
  // A countdown: to the second in its last hour.
  function left(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s >= 3600) return age(ms);
    var m = Math.floor(s / 60);
    return (m ? m + ' min ' : '') + (s % 60) + ' s';
  }
  // The server writes the moment with its zone (2 December 2026, 09:30 UTC); the script puts the age before it.
  function refreshAges(root) {
    var now = Date.now();
    root.querySelectorAll('time[data-age]').forEach(function (t) {
      var at = Date.parse(t.getAttribute('datetime'));
      if (isNaN(at)) return;
      if (!t.dataset.moment) t.dataset.moment = t.textContent;
      var mode = t.dataset.age, moment = t.dataset.moment, text;
      if (mode === 'until') text = at > now ? 'in ' + left(at - now) + ' (' + moment + ')' : 'time is up (' + moment + ')';
      else if (mode === 'for') text = age(now - at) + ' (since ' + moment + ')';
      else text = at > now ? 'in ' + age(at - now) + ' (' + moment + ')' : age(now - at) + ' ago (' + moment + ')';
      if (t.textContent !== text) t.textContent = text;
    });
  }
  // A region the person is working in (focus inside, or text typed) is left alone until they are done.
  function busy(region) {
    if (region.contains(document.activeElement) && document.activeElement !== document.body) return true;
    return Array.prototype.some.call(region.querySelectorAll('textarea, input[type=text]'), function (f) { return f.value !== f.defaultValue; });
  }
  var main = document.querySelector('main[data-live]');
  var status = document.getElementById('live-status');
  refreshAges(document);
  // Countdowns tick every second, between updates too.
  setInterval(function () { refreshAges(document); }, 1000);
  if (!main) return;
  var failures = 0;
  function poll() {
    fetch(location.href, { headers: { 'x-correx-live': '1' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401) { location.reload(); throw new Error('signed out'); }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (html) {
        failures = 0;
        var next = document.createElement('template');
        next.innerHTML = html;
        var changed = 0;
        next.content.querySelectorAll('[data-region]').forEach(function (fresh) {
          var current = document.querySelector('[data-region="' + fresh.dataset.region + '"]');
          if (!current) return;
          if (current.dataset.digest === fresh.dataset.digest || busy(current)) return;
          current.replaceWith(fresh);
          refreshAges(fresh);
          changed++;
        });
        refreshAges(document);
        if (status) status.textContent = changed ? 'Updated ' + new Date().toLocaleTimeString() : status.textContent;
      })
      .catch(function () { failures++; if (status && failures > 1) status.textContent = 'Cannot reach Correx; retrying'; })
      .then(function () { setTimeout(poll, Math.min(2000 * Math.pow(2, Math.max(0, failures - 1)), 30000)); });
  }
  setTimeout(poll, 2000);
})();
`;
