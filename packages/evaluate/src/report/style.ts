/** The report's stylesheet, inlined into report.html. */
export const STYLE = `
:root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --accent: #4c78a8; --good: #15803d; --bad: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 Inter, "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
.wrap { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { background: linear-gradient(135deg, #1e3a5f 0%, #4c78a8 100%); color: white; padding-top: 28px; }
header h1 { margin: 0; font-size: 26px; font-weight: 700; letter-spacing: -0.01em; }
.subtitle { margin: 4px 0 20px; color: #dbeafe; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; padding-bottom: 20px; }
.card { background: rgba(255,255,255,0.12); border: 1px solid rgba(255,255,255,0.25); border-radius: 10px; padding: 10px 16px; min-width: 130px; }
.card-name { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: #dbeafe; }
.card-value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .delta { font-size: 12px; }
header .delta.good { color: #bbf7d0; } header .delta.bad { color: #fecaca; }
.gates { border-radius: 10px; padding: 10px 16px; margin-bottom: 20px; background: rgba(255,255,255,0.95); color: var(--ink); }
.gates.pass { border-left: 6px solid var(--good); } .gates.fail { border-left: 6px solid var(--bad); }
.gates ul { margin: 6px 0 0; padding: 0; list-style: none; columns: 2; }
.gates li.pass { color: var(--good); } .gates li.fail { color: var(--bad); font-weight: 600; }
nav { background: rgba(15,23,42,0.35); }
nav .wrap { display: flex; flex-wrap: wrap; gap: 4px 18px; padding-top: 8px; padding-bottom: 8px; }
nav a { color: #e0f2fe; text-decoration: none; font-size: 13px; }
nav a:hover { text-decoration: underline; }
main { padding-top: 8px; padding-bottom: 24px; }
section { background: white; border: 1px solid var(--line); border-radius: 12px; padding: 18px 22px; margin: 18px 0; box-shadow: 0 1px 2px rgba(15,23,42,0.04); }
h2 { margin: 0 0 12px; font-size: 17px; }
.grid { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure.plot { margin: 0; }
figure.plot svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em; }
td.num, th.num { text-align: right; }
td.strong { font-weight: 600; }
td.dir { color: var(--muted); font-size: 12px; }
.delta { font-weight: 600; white-space: nowrap; } .delta.good { color: var(--good); } .delta.bad { color: var(--bad); } .delta.same { color: var(--muted); }
.muted { color: var(--muted); }
.ok { color: var(--good); font-weight: 600; } .wrong { color: var(--bad); font-weight: 600; }
.examples { display: grid; grid-template-columns: repeat(auto-fill, minmax(118px, 1fr)); gap: 12px; }
.example { border: 1px solid var(--line); border-radius: 8px; padding: 8px; text-align: center; background: #fff; }
.example img { width: 96px; height: 96px; image-rendering: pixelated; object-fit: contain; background: #000; border-radius: 4px; }
.tok { border-radius: 3px; padding: 0 2px; }
.ex-text { display: flex; flex-direction: column; font-size: 12px; line-height: 1.35; margin-top: 4px; }
pre { background: #0f172a; color: #e2e8f0; padding: 14px; border-radius: 8px; overflow: auto; font-size: 12px; }
details summary { cursor: pointer; color: var(--accent); }
footer { padding: 12px 24px 32px; font-size: 12px; }
`;
