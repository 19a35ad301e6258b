/** A small self-contained status page (no external assets); the full dashboard arrives with the API issue. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>streamcube</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733;background:#f6f8fa}
 h1{font-size:1.4rem} table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px #0002}
 td,th{padding:.5rem 1rem;border-bottom:1px solid #e5e9ef;text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
 #fresh{color:#5b6b7c;margin-top:1rem}
</style></head>
<body><h1>streamcube — ingest status</h1>
<table><thead><tr><th>table</th><th>events</th><th>latest event time</th></tr></thead><tbody id="rows"></tbody></table>
<p id="fresh">loading…</p>
<script>
async function refresh(){
  try{
    const r = await fetch('/v1/ingest/status'); const body = await r.json();
    document.getElementById('rows').innerHTML = body.tables.map(t =>
      '<tr><td>'+t.table+'</td><td class="n">'+t.events.toLocaleString()+'</td><td>'+(t.latestEventTime ?? '—')+'</td></tr>').join('');
    document.getElementById('fresh').textContent = 'updated ' + new Date().toLocaleTimeString();
  }catch(e){ document.getElementById('fresh').textContent = 'error: ' + e.message }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`
