/**
 * The console's HTML shell. Static: every piece of call data is added by page-js.ts through
 * textContent, and the page carries no inline script or style, so the route's Content-Security-
 * Policy can forbid both. Kept as a string module (not a file next to it) so the compiled bridge
 * in the container image serves it without copying assets beside dist/.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Live calls · exotel-bridge</title>
<link rel="icon" href="/console/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/app.css">
<script src="/console/app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>exotel-bridge <span class="sub">live calls</span></h1>
  <p class="status" id="status" data-state="connecting" role="status">Connecting…</p>
</header>
<main>
  <section aria-labelledby="active-title">
    <h2 id="active-title">Active calls <span class="count" id="active-count">0</span></h2>
    <p class="empty" id="no-calls">No calls right now. New calls appear here as they start.</p>
    <div class="cards" id="cards"></div>
  </section>
  <section aria-labelledby="last-title">
    <h2 id="last-title">Last calls</h2>
    <p class="empty" id="no-ended">No call has ended since the bridge started.</p>
    <div class="table-wrap">
      <table id="ended" hidden>
        <thead>
          <tr>
            <th scope="col">Ended</th>
            <th scope="col">Caller → Number</th>
            <th scope="col">Duration</th>
            <th scope="col">End reason</th>
            <th scope="col" class="num">First audio</th>
            <th scope="col" class="num">Response avg / max</th>
            <th scope="col" class="num">Barge-ins</th>
            <th scope="col" class="num">Turns</th>
            <th scope="col">DTMF</th>
          </tr>
        </thead>
        <tbody id="ended-rows"></tbody>
      </table>
    </div>
  </section>
</main>
</body>
</html>
`;

/** A phone-handset dot for the browser tab (without one, browsers ask for /favicon.ico: a 404). */
export const CONSOLE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<circle cx="16" cy="16" r="15" fill="#111827"/>
<circle cx="16" cy="16" r="6" fill="#34d399"/>
</svg>
`;
