/** The console's stylesheet, served as /console/app.css (a string module, like page-html.ts). */
export const CONSOLE_CSS = `:root {
  color-scheme: light;
  --bg: #f4f6f9;
  --panel: #ffffff;
  --ink: #1b2430;
  --muted: #6b7685;
  --line: #e2e7ee;
  --caller: #1f6feb;
  --caller-bg: #eaf2ff;
  --agent: #7c3aed;
  --agent-bg: #f3edff;
  --ok: #1a9a5b;
  --slow: #d99100;
  --bad: #d64545;
  --barge: #c2410c;
  --barge-bg: #fff1e8;
  --dtmf: #0f766e;
  --dtmf-bg: #e6f6f4;
}
* { box-sizing: border-box; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
}
[hidden] { display: none !important; }
.top {
  display: flex;
  align-items: center;
  justify-content: space-between;
  padding: 12px 24px;
  background: #111827;
  color: #f9fafb;
}
.top h1 { margin: 0; font-size: 18px; font-weight: 650; letter-spacing: 0.2px; }
.top .sub { font-weight: 400; color: #aab3c0; margin-left: 6px; }
.status { margin: 0; font-size: 13px; padding: 3px 10px; border-radius: 999px; background: #374151; }
.status::before { content: "●"; margin-right: 6px; }
.status[data-state="live"]::before { color: #34d399; }
.status[data-state="connecting"]::before { color: #fbbf24; }
.status[data-state="down"]::before { color: #f87171; }
main { padding: 8px 24px 32px; max-width: 1400px; margin: 0 auto; }
h2 { font-size: 15px; font-weight: 650; margin: 20px 0 10px; display: flex; align-items: center; gap: 8px; }
.count {
  font-size: 12px; font-weight: 600; min-width: 22px; text-align: center;
  padding: 1px 7px; border-radius: 999px; background: #dbe3ee; color: var(--ink);
}
.empty, .muted { color: var(--muted); margin: 4px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr)); gap: 16px; }
.call {
  background: var(--panel);
  border: 1px solid var(--line);
  border-radius: 10px;
  padding: 14px 16px 12px;
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.05);
  display: flex; flex-direction: column; gap: 10px;
  min-width: 0;
}
.call-head { display: flex; align-items: center; gap: 10px; }
.call-title { margin: 0; font-size: 16px; font-weight: 650; flex: 1; min-width: 0; overflow-wrap: anywhere; }
.call-title .arrow { color: var(--muted); font-weight: 400; }
.live {
  font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: 0.6px;
  color: #b91c1c; background: #fde8e8; border-radius: 4px; padding: 1px 6px;
}
.elapsed { font-variant-numeric: tabular-nums; color: var(--muted); font-size: 13px; }
.call-meta { margin: -6px 0 0; color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip {
  display: inline-flex; gap: 6px; align-items: baseline;
  border: 1px solid var(--line); border-radius: 6px; padding: 2px 8px; font-size: 12px;
}
.chip-label { color: var(--muted); }
.chip-value { font-weight: 600; font-variant-numeric: tabular-nums; }
.chip.ok .chip-value { color: var(--ok); }
.chip.slow .chip-value { color: var(--slow); }
.chip.bad .chip-value { color: var(--bad); }
.chip.barge { border-color: #fed7aa; background: var(--barge-bg); }
.chip.barge .chip-value { color: var(--barge); }
.chip.dtmf { border-color: #99e0d7; background: var(--dtmf-bg); }
.chip.dtmf .chip-value { color: var(--dtmf); letter-spacing: 1px; }
.latency { margin: 0; }
.latency figcaption {
  font-size: 12px; color: var(--muted); margin-bottom: 4px;
  display: flex; justify-content: space-between;
}
.bars {
  display: flex; align-items: flex-end; gap: 4px; height: 84px;
  padding: 0 2px; border-bottom: 1px solid var(--line);
}
.bar {
  flex: 1 1 0; max-width: 42px; min-width: 6px; height: 100%;
  display: flex; flex-direction: column; justify-content: flex-end; align-items: stretch;
}
.bar .value {
  font-size: 10px; text-align: center; color: var(--muted);
  font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden;
}
.bar .fill { border-radius: 3px 3px 0 0; }
.bar.ok .fill { background: var(--ok); }
.bar.slow .fill { background: var(--slow); }
.bar.bad .fill { background: var(--bad); }
.timeline {
  list-style: none; margin: 0; padding: 0 4px 0 0;
  display: flex; flex-direction: column; gap: 6px;
  max-height: 340px; overflow-y: auto;
}
.timeline li { display: flex; align-items: baseline; gap: 8px; }
.timeline .at { margin-left: auto; font-size: 11px; color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.line {
  padding: 6px 10px; border-radius: 8px; max-width: 92%;
  overflow-wrap: anywhere;
}
.line .who { font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: 0.4px; flex: none; }
.line .text { flex: 1; }
.line.caller { background: var(--caller-bg); align-self: flex-start; }
.line.caller .who { color: var(--caller); }
.line.agent { background: var(--agent-bg); align-self: flex-end; }
.line.agent .who { color: var(--agent); }
.line .cut {
  font-size: 11px; color: var(--barge); border: 1px solid #fed7aa; border-radius: 4px; padding: 0 4px;
  white-space: nowrap;
}
.marker {
  align-self: center; font-size: 12px; font-weight: 600; border-radius: 999px; padding: 2px 12px;
}
.marker.barge { color: var(--barge); background: var(--barge-bg); }
.marker.barge::before { content: "⚡ "; }
.marker.dtmf { color: var(--dtmf); background: var(--dtmf-bg); }
.marker kbd {
  font: 600 12px ui-monospace, SFMono-Regular, Menlo, monospace;
  border: 1px solid #99e0d7; border-radius: 4px; padding: 0 5px; margin-left: 3px; background: #fff;
}
.table-wrap { overflow-x: auto; }
table {
  width: 100%; border-collapse: collapse; background: var(--panel);
  border: 1px solid var(--line); border-radius: 10px; overflow: hidden;
}
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #f8fafc; white-space: nowrap; }
td { font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: none; }
.num { text-align: right; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.reason code {
  font: 600 12px ui-monospace, SFMono-Regular, Menlo, monospace;
  background: #eef2f7; padding: 1px 6px; border-radius: 4px; margin-right: 8px;
}
.reason-text { color: var(--muted); font-size: 12px; }
`;
