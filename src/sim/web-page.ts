/**
 * The inbox page the simulator serves at /sim/ (issue 20.4): phones on the left, the chosen
 * phone's messages as a handset shows them on the right, and a box to reply from that
 * phone. An MMS shows as its subject and slides (text, images from /sim/mms/{id}/{part}).
 * Self-contained (no outside assets); text goes in through textContent only, since a
 * message body is caller input.
 */
export const INBOX_PAGE = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xinge simulator — handsets</title>
<style>
  body { margin: 0; font: 15px/1.45 system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; background: #eef1f4; color: #1d2329; }
  header { padding: 10px 16px; background: #24313f; color: #fff; font-weight: 600; }
  main { display: flex; height: calc(100vh - 44px); }
  #phones { width: 240px; overflow-y: auto; border-right: 1px solid #cfd6dd; background: #fff; margin: 0; padding: 0; list-style: none; }
  #phones li { padding: 10px 14px; border-bottom: 1px solid #edf0f2; cursor: pointer; }
  #phones li.active { background: #dbe9f7; }
  #phones .count { float: right; color: #6a7682; font-size: 13px; }
  #handset { flex: 1; display: flex; flex-direction: column; max-width: 520px; margin: 12px auto; background: #fafbfc; border: 1px solid #cfd6dd; border-radius: 18px; overflow: hidden; }
  #number { padding: 10px 16px; border-bottom: 1px solid #e1e6ea; font-weight: 600; }
  #thread { flex: 1; overflow-y: auto; padding: 12px; }
  .msg { max-width: 80%; margin: 8px 0; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; word-break: break-word; }
  .in { background: #fff; border: 1px solid #dde3e8; }
  .out { background: #95ec69; margin-left: auto; }
  .meta { display: block; margin-top: 4px; color: #6a7682; font-size: 12px; }
  .receipt { font-weight: 600; }
  .receipt.DELIVRD { color: #1a7f37; }
  .receipt.pending { color: #9a6700; }
  form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e1e6ea; }
  textarea { flex: 1; resize: none; height: 40px; font: inherit; padding: 6px; }
  button { padding: 0 16px; font: inherit; }
  #empty { color: #6a7682; padding: 16px; }
  .mms { white-space: normal; }
  .mms .subject { font-weight: 600; margin-bottom: 4px; }
  .slide { border: 1px solid #e1e6ea; border-radius: 10px; padding: 6px 8px; margin: 6px 0; background: #fdfdfe; }
  .slide .slide-no { display: block; color: #6a7682; font-size: 11px; }
  .slide p { margin: 4px 0; white-space: pre-wrap; }
  .slide img { display: block; max-width: 100%; max-height: 240px; margin: 4px 0; border-radius: 6px; }
  .receipt.Retrieved { color: #1a7f37; }
</style>
</head>
<body>
<header>xinge simulator — what each phone received</header>
<main>
  <ul id="phones" aria-label="phones"></ul>
  <section id="handset" aria-label="handset">
    <div id="number">no phone selected</div>
    <div id="thread"><p id="empty">Send a message through the daemon; the phone it went to appears on the left.</p></div>
    <form id="reply">
      <textarea id="text" name="text" placeholder="Reply from this phone (e.g. TD to opt out)" aria-label="reply text"></textarea>
      <button type="submit" id="send">Send</button>
    </form>
  </section>
</main>
<script>
  let current = null;
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const time = (iso) => new Date(iso).toLocaleTimeString();
  async function loadPhones() {
    const { phones } = await (await fetch('/sim/phones')).json();
    const list = document.getElementById('phones');
    list.replaceChildren(...phones.map((p) => {
      const li = el('li', p.number === current ? 'active' : '', '+' + p.number);
      li.dataset.number = p.number;
      li.append(el('span', 'count', String(p.received)));
      li.onclick = () => { current = p.number; refresh(); };
      return li;
    }));
    if (current === null && phones.length > 0) { current = phones[0].number; await loadThread(); }
  }
  async function loadThread() {
    if (current === null) return;
    const data = await (await fetch('/sim/messages?to=' + encodeURIComponent(current))).json();
    document.getElementById('number').textContent = '+' + data.to;
    const items = [...data.messages.map((m) => ({ at: m.received_at, m })), ...data.replies.map((r) => ({ at: r.sent_at, r }))].sort((a, b) => a.at.localeCompare(b.at));
    const thread = document.getElementById('thread');
    thread.replaceChildren(...items.map(({ m, r }) => {
      if (r) { const d = el('div', 'msg out', r.text); d.append(el('span', 'meta', 'to ' + r.to + ' · ' + time(r.sent_at))); return d; }
      if (m.kind === 'mms') return mmsBubble(m);
      const d = el('div', 'msg in', m.text);
      d.dataset.receipt = m.receipt;
      const meta = el('span', 'meta', 'from ' + m.from + ' · ' + time(m.received_at) + ' · ' + m.parts + '/' + m.parts_total + ' part(s) · ');
      meta.append(el('span', 'receipt ' + m.receipt, m.receipt));
      d.append(meta);
      return d;
    }));
    thread.scrollTop = thread.scrollHeight;
  }
  function mmsBubble(m) {
    const d = el('div', 'msg in mms');
    d.dataset.receipt = m.receipt;
    d.dataset.kind = 'mms';
    if (m.subject) d.append(el('div', 'subject', m.subject));
    m.slides.forEach((s, i) => {
      const slide = el('div', 'slide');
      slide.append(el('span', 'slide-no', (i + 1) + '/' + m.slides.length));
      for (const p of s.parts) {
        if (p.type === 'text') slide.append(el('p', '', p.text));
        else if (p.type === 'image') { const img = el('img'); img.src = p.url; img.alt = 'image ' + (i + 1); slide.append(img); }
        else { const a = el('a', '', p.filename || p.content_type); a.href = p.url; a.target = '_blank'; slide.append(a); }
      }
      d.append(slide);
    });
    const meta = el('span', 'meta', 'MMS from ' + m.from + ' · ' + time(m.received_at) + ' · ' + m.slides.length + ' slide(s) · ');
    meta.append(el('span', 'receipt ' + m.receipt, m.receipt));
    d.append(meta);
    return d;
  }
  async function refresh() { await loadPhones(); await loadThread(); }
  document.getElementById('reply').onsubmit = async (ev) => {
    ev.preventDefault();
    const box = document.getElementById('text');
    if (current === null || box.value.trim() === '') return;
    const res = await fetch('/sim/mo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: current, text: box.value }) });
    if (res.ok) box.value = ''; else alert((await res.json()).error.message);
    await loadThread();
  };
  refresh();
  setInterval(refresh, 1000);
</script>
</body>
</html>
`;
