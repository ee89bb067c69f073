// liverec status page. Reads the control API and asks for a room's check, split or restart:
// nothing here runs a command or edits a hook or the config. Every string from the API is hostile
// (room titles come from streamers): it only reaches the page through textContent or
// setAttribute, never as markup.
'use strict';

(function () {
  const POLL_MS = 5000;
  const SPARK_WINDOW_S = 10 * 60;
  const EVENTS_KEPT = 200;
  // Three keepalives (every 15 s) missed: the connection is dead even if TCP has not noticed.
  const STREAM_SILENCE_MS = 45000;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const TOKEN_KEY = 'liverec.token';

  const $ = (id) => document.getElementById(id);

  // ---- small DOM helpers (text only) ----

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setText(e, text) {
    const t = text === undefined || text === null ? '' : String(text);
    if (e.textContent !== t) e.textContent = t;
  }

  // ---- formatting ----

  function fmtBytes(n) {
    if (!Number.isFinite(n) || n <= 0) return '0B';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + units[i];
  }

  function fmtDuration(secs) {
    secs = Math.max(0, Math.floor(secs));
    const d = Math.floor(secs / 86400), h = Math.floor(secs / 3600) % 24;
    const m = Math.floor(secs / 60) % 60, s = secs % 60;
    if (d > 0) return d + 'd' + (h ? h + 'h' : '');
    if (h > 0) return h + 'h' + (m ? m + 'm' : '');
    if (m > 0) return m + 'm' + (s ? s + 's' : '');
    return s + 's';
  }

  function fmtRate(kbps) {
    if (!Number.isFinite(kbps) || kbps <= 0) return '-';
    return kbps >= 10000 ? (kbps / 1000).toFixed(1) + ' Mb/s' : Math.round(kbps) + ' kb/s';
  }

  // RFC 3339 with up to nanoseconds; Date.parse only promises milliseconds.
  function parseTime(s) {
    if (typeof s !== 'string') return NaN;
    return Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));
  }

  function fmtClock(ms) {
    if (!Number.isFinite(ms)) return '';
    const d = new Date(ms), p = (n) => String(n).padStart(2, '0');
    const time = p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
    return Date.now() - ms > 20 * 3600 * 1000 ? d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + time : time;
  }

  function basename(p) {
    if (typeof p !== 'string' || p === '') return '';
    const parts = p.split(/[\\/]/);
    return parts[parts.length - 1];
  }

  // The server's clock, from the Date header of its answers, so "since" does not drift with a
  // phone whose clock is off. Second precision is enough for "3m10s".
  let skewMs = 0;
  function serverNow() { return Date.now() + skewMs; }
  function noteServerDate(res) {
    const d = Date.parse(res.headers.get('Date') || '');
    if (Number.isFinite(d)) skewMs = d - Date.now();
  }

  // ---- token and calls ----

  let token = null;
  try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }
  let waitingForToken = false;

  class Unauthorized extends Error {}

  async function api(path, init) {
    init = init || {};
    const headers = new Headers(init.headers || {});
    if (token) headers.set('Authorization', 'Bearer ' + token);
    // Relative, so the page also works behind a reverse proxy under a sub-path.
    const res = await fetch(path, Object.assign({}, init, { headers, cache: 'no-store', credentials: 'omit' }));
    noteServerDate(res);
    if (res.status === 401) {
      askToken(token ? 'That token was refused.' : '');
      if (res.body) res.body.cancel().catch(() => {});
      throw new Unauthorized('401');
    }
    return res;
  }

  async function errorText(res) {
    try {
      const j = await res.json();
      if (j && typeof j.error === 'string') return j.error;
    } catch (e) { /* not JSON */ }
    return 'HTTP ' + res.status;
  }

  function askToken(note) {
    if (waitingForToken) return;
    waitingForToken = true;
    stopStream();
    setText($('token-note'), note);
    $('token-form').hidden = false;
    setConn('waiting for the token', 'bad');
    $('token-input').focus();
  }

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('token-input').value.trim();
    if (!v) return;
    token = v;
    try { sessionStorage.setItem(TOKEN_KEY, v); } catch (e) { /* private mode: keep it in memory */ }
    $('token-input').value = '';
    $('token-form').hidden = true;
    waitingForToken = false;
    loadEvents();
    poll();
    startStream();
  });

  // ---- connection line ----

  let pollOk = false, streamState = 'starting';
  function setConn(text, cls) {
    const c = $('conn');
    setText(c, text);
    c.className = 'conn ' + (cls || '');
  }
  function showConn() {
    if (waitingForToken) return;
    if (!pollOk) return setConn('cannot reach liverec; retrying', 'bad');
    if (streamState === 'open') return setConn('connected', 'ok');
    if (streamState === 'polling') return setConn('connected (events polled)', 'ok');
    setConn('events: ' + streamState, 'warn');
  }

  // ---- status ----

  const cards = new Map(); // room key -> {root, parts...}
  let pollTimer = null;

  let pollSeq = 0, renderedSeq = 0;
  async function poll() {
    clearTimeout(pollTimer);
    if (waitingForToken) return;
    const seq = ++pollSeq;
    try {
      const res = await api('api/status');
      if (!res.ok) throw new Error(await errorText(res));
      const st = await res.json();
      // An answer that overtook an older one wins; the older one is dropped.
      if (seq > renderedSeq) {
        renderedSeq = seq;
        pollOk = true;
        render(st);
      }
    } catch (e) {
      if (e instanceof Unauthorized) return;
      pollOk = false;
    }
    document.body.classList.toggle('stale', !pollOk);
    showConn();
    // One chain of polls, however many were started (pollSoon, a new token).
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, POLL_MS);
  }

  // A status refresh soon after an event, so a room that just went live shows it at once.
  let soonTimer = null;
  function pollSoon() {
    if (soonTimer) return;
    soonTimer = setTimeout(() => { soonTimer = null; poll(); }, 400);
  }

  const STATES = ['idle', 'live', 'recording', 'failing', 'waiting', 'disabled', 'unrecordable', 'skipped', 'outside'];

  function render(st) {
    setText($('version'), (st.version || '?') + (st.commit ? ' (' + st.commit + ')' : '') + ' · pid ' + st.pid + ' ·');
    $('uptime').dataset.since = String(parseTime(st.started));
    $('uptime').title = 'started ' + fmtClock(parseTime(st.started));

    const disk = $('disk');
    const free = Number(st.disk_free_bytes) || 0, total = Number(st.disk_total_bytes) || 0;
    disk.hidden = false;
    disk.classList.toggle('low', !!st.disk_low);
    setText($('disk-label'), fmtBytes(free) + ' free' + (total > 0 ? ' of ' + fmtBytes(total) : '') + (st.disk_low ? ' — LOW: new files wait' : ''));
    // The gauge fills with the space in use; disk_low (under min_free_space) is the daemon's
    // own verdict and turns it red.
    const used = total > 0 ? Math.min(1, Math.max(0, 1 - free / total)) : 0;
    $('disk-fill').style.width = (used * 100).toFixed(1) + '%';
    disk.classList.toggle('tight', used > 0.9);
    $('disk-gauge').title = total > 0 ? Math.round(used * 100) + '% used' : '';

    const rooms = Array.isArray(st.rooms) ? st.rooms : [];
    const bh = st.bitrate_history && typeof st.bitrate_history === 'object' ? st.bitrate_history : {};
    const interval = Number(bh.interval_s) > 0 ? Number(bh.interval_s) : 5;
    const histories = bh.rooms && typeof bh.rooms === 'object' ? bh.rooms : {};
    const counts = {};
    const box = $('rooms');
    const keep = new Set();
    let prev = null;
    for (const r of rooms) {
      const key = String(r.key);
      keep.add(key);
      let c = cards.get(key);
      if (!c) { c = makeCard(key); cards.set(key, c); }
      const h = histories[key];
      updateCard(c, r, Array.isArray(h) ? h.map(Number) : [], interval);
      // Keep the API's order without rebuilding cards (buttons keep focus and results).
      const want = prev ? prev.nextSibling : box.firstChild;
      if (want !== c.root) box.insertBefore(c.root, want);
      prev = c.root;
      counts[r.state] = (counts[r.state] || 0) + 1;
    }
    for (const [key, c] of cards) if (!keep.has(key)) { c.root.remove(); cards.delete(key); }

    const summary = ['recording', 'live', 'failing', 'unrecordable', 'waiting']
      .filter((s) => counts[s]).map((s) => counts[s] + ' ' + s).join(' · ');
    setText($('rooms-count'), rooms.length + (summary ? ' · ' + summary : ''));
    document.title = (counts.failing ? '⚠ ' : '') + (counts.recording ? counts.recording + ' recording · ' : '') + 'liverec';

    renderHooks(Array.isArray(st.hooks) ? st.hooks : []);
    tick();
  }

  function field(dl, label, cls) {
    const row = el('div', 'f ' + cls);
    const dt = el('dt', null, label), dd = el('dd');
    row.append(dt, dd);
    dl.append(row);
    return { row, dd };
  }

  function makeCard(key) {
    const root = el('article', 'room');
    root.dataset.key = key;
    const head = el('div', 'room-head');
    const name = el('h3', 'room-name');
    const state = el('span', 'state');
    const since = el('span', 'since');
    head.append(name, state, since);
    const sub = el('p', 'room-sub');
    const title = el('p', 'room-title');
    const detail = el('p', 'detail');
    const dl = el('dl', 'fields');
    const file = field(dl, 'file', 'file');
    const size = field(dl, 'size', 'size');
    const rate = field(dl, 'bitrate', 'rate');
    const rateText = el('span', 'rate-text');
    const spark = svg('svg', { class: 'spark', viewBox: '0 0 120 24', preserveAspectRatio: 'none', role: 'img' });
    const line = svg('polyline', { class: 'spark-line', points: '' });
    spark.append(svg('line', { class: 'spark-base', x1: 0, y1: 23, x2: 120, y2: 23 }), line);
    rate.dd.append(rateText, spark);
    const gaps = field(dl, 'HLS gaps', 'gaps');
    const reconnects = field(dl, 'reconnects', 'reconnects');
    const chat = field(dl, 'chat', 'chat');
    const quality = field(dl, 'quality', 'quality');
    const error = field(dl, 'last error', 'error');

    const actions = el('div', 'actions');
    const result = el('p', 'result');
    result.setAttribute('role', 'status');
    const buttons = {};
    for (const [action, label] of [['check', 'Check now'], ['split', 'Split'], ['restart', 'Restart']]) {
      const b = el('button', 'act act-' + action, label);
      b.type = 'button';
      b.dataset.action = action;
      b.addEventListener('click', () => act(key, action, b, result));
      buttons[action] = b;
      actions.append(b);
    }
    root.append(head, sub, title, detail, dl, actions, result);
    return { root, name, state, since, sub, title, detail, file, size, rate, rateText, spark, line, gaps, reconnects, chat, quality, error, buttons };
  }

  function svg(tag, attrs) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function updateCard(c, r, hist, interval) {
    const state = STATES.includes(r.state) ? r.state : 'unknown';
    const label = String(r.name || r.key);
    c.root.dataset.state = state;
    setText(c.name, label);
    setText(c.state, String(r.state || 'unknown'));
    c.state.className = 'state s-' + state;
    c.since.dataset.since = String(parseTime(r.since));
    c.since.title = 'since ' + fmtClock(parseTime(r.since));

    setText(c.sub, r.name ? String(r.key) : String(r.platform || ''));
    c.sub.title = String(r.url || '');
    const who = [r.streamer, r.title].filter((x) => typeof x === 'string' && x !== '').join(' — ');
    setText(c.title, who);
    c.title.hidden = who === '';
    setText(c.detail, r.detail || '');
    c.detail.hidden = !r.detail;

    // Idle rooms stay short: file, size and bitrate show while a live is on (or its bitrate
    // is still in the sparkline's window); gaps and errors only when there are some.
    const active = ['live', 'recording', 'failing'].includes(state) || !!r.file || hist.some((v) => v > 0);
    c.file.row.hidden = c.size.row.hidden = c.rate.row.hidden = !active;
    const fname = basename(r.file);
    setText(c.file.dd, fname || '-');
    c.file.dd.title = typeof r.file === 'string' ? r.file : '';
    const segs = Number(r.segments) || 0;
    setText(c.size.dd, fmtBytes(Number(r.bytes)) + (segs ? ' · ' + segs + ' file' + (segs === 1 ? '' : 's') + ' done' : ''));
    c.size.dd.title = 'this file ' + fmtBytes(Number(r.segment_bytes)) + '; since start ' + fmtBytes(Number(r.bytes_total));
    setText(c.rateText, fmtRate(Number(r.bitrate_kbps)));
    drawSpark(c, hist, interval);
    const gaps = Number(r.gaps_total) || 0;
    setText(c.gaps.dd, String(gaps));
    c.gaps.row.hidden = gaps === 0;
    c.gaps.row.classList.toggle('warn', gaps > 0);
    // Reconnects in this session: a flaky source shows here before it shows as a gap.
    const reconnects = Number(r.reconnects) || 0;
    setText(c.reconnects.dd, String(reconnects));
    c.reconnects.row.hidden = reconnects === 0;

    // `chat` arrives with the chat feature: a state word, or an object with `state`.
    const chat = chatText(r.chat);
    c.chat.row.hidden = chat === null;
    if (chat !== null) {
      setText(c.chat.dd, chat.text);
      c.chat.dd.className = 'chat-' + chat.state;
    }
    // Recording below the wanted quality (`degraded`, issue 16): its reason, as a warning.
    const deg = r.degraded && typeof r.degraded === 'object' ? String(r.degraded.reason || 'degraded') : '';
    setText(c.quality.dd, deg);
    c.quality.row.hidden = deg === '';
    c.quality.row.classList.toggle('warn', deg !== '');
    const err = r.last_error ? String(r.last_error) : '';
    setText(c.error.dd, err);
    c.error.row.hidden = err === '';
    c.error.row.classList.toggle('bad', err !== '');

    for (const k in c.buttons) c.buttons[k].setAttribute('aria-label', c.buttons[k].textContent + ': ' + label);
  }

  function chatText(chat) {
    if (chat === undefined || chat === null) return null;
    if (typeof chat === 'string') return { text: chat, state: cssWord(chat) };
    if (typeof chat === 'object') {
      const state = typeof chat.state === 'string' ? chat.state : '';
      const extra = Object.keys(chat).filter((k) => k !== 'state' && chat[k] !== null && typeof chat[k] !== 'object')
        .map((k) => k.replace(/_/g, ' ') + ' ' + chat[k]);
      return { text: [state].concat(extra).filter(Boolean).join(' · ') || '-', state: cssWord(state) };
    }
    return { text: String(chat), state: 'unknown' };
  }

  function cssWord(s) { return /^[a-z_]{1,20}$/.test(s) ? s : 'unknown'; }

  // `h`: kbit/s every `interval` seconds, oldest first, the newest now (the daemon samples).
  function drawSpark(c, h, interval) {
    let max = 0;
    for (const v of h) if (Number.isFinite(v) && v > max) max = v;
    // Until 10 minutes are known, the known part fills the width (a minute of history is not a
    // dash at the right edge); then the window slides.
    const span = Math.min(SPARK_WINDOW_S, Math.max(60, (h.length - 1) * interval));
    const pts = h.map((v, i) => {
      const age = (h.length - 1 - i) * interval;
      const x = 120 - (age / span) * 120;
      const y = max > 0 && Number.isFinite(v) ? 22 - (v / max) * 20 : 22;
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    // One point draws nothing; repeat it so a fresh room shows a flat dash.
    if (pts.length === 1) pts.unshift((Number(pts[0].split(',')[0]) - 1).toFixed(1) + ',' + pts[0].split(',')[1]);
    c.line.setAttribute('points', pts.join(' '));
    c.spark.setAttribute('aria-label', 'bitrate, last ' + fmtDuration(span) + (max > 0 ? ', peak ' + fmtRate(max) : ', nothing written'));
    c.spark.classList.toggle('flat', max <= 0);
  }

  async function act(key, action, button, out) {
    if (action === 'restart' && !window.confirm('Restart ' + key + '? The current attempt is dropped and reconnected.')) return;
    button.disabled = true;
    setText(out, action + '…');
    out.className = 'result';
    try {
      const res = await api('api/rooms/' + encodeURIComponent(key) + '/' + action, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: 'status page' }),
      });
      if (res.ok) {
        setText(out, fmtClock(Date.now()) + ' ' + action + ': accepted');
        out.className = 'result ok';
        pollSoon();
      } else {
        setText(out, fmtClock(Date.now()) + ' ' + action + ' failed: ' + (await errorText(res)));
        out.className = 'result bad';
      }
    } catch (e) {
      setText(out, action + ' failed: ' + (e instanceof Unauthorized ? 'token needed' : 'liverec cannot be reached'));
      out.className = 'result bad';
    } finally {
      button.disabled = false;
    }
  }

  function renderHooks(hooks) {
    $('hooks-section').hidden = hooks.length === 0;
    const body = $('hooks');
    const rows = [];
    for (const h of hooks) {
      const tr = el('tr');
      tr.dataset.name = String(h.name);
      const th = el('th', null, String(h.name));
      th.scope = 'row';
      th.append(el('span', 'kind', ' ' + String(h.kind || '') + (h.parked ? ', parked' : '')));
      tr.append(th);
      const cells = [
        [h.pending, 'pending', h.pending > 0 ? 'warn' : ''],
        [h.waiting_window, 'waiting for window', ''],
        [h.running, 'running', ''],
        [h.attempts_failed, 'failed attempts', h.attempts_failed > 0 ? 'warn' : ''],
        [h.gave_up, 'given up', h.gave_up > 0 ? 'bad' : ''],
        [h.succeeded, 'done', ''],
      ];
      for (const [v, label, cls] of cells) {
        const td = el('td', cls, Number.isFinite(Number(v)) ? String(Number(v)) : '-');
        td.dataset.label = label; // the phone layout shows it before the number
        tr.append(td);
      }
      if (h.parked) tr.className = 'parked';
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  // ---- relative times, every second ----

  function tick() {
    const now = serverNow();
    for (const e of document.querySelectorAll('[data-since]')) {
      const t = Number(e.dataset.since);
      setText(e, Number.isFinite(t) ? (e.dataset.prefix || '') + fmtDuration((now - t) / 1000) : '');
    }
  }
  setInterval(tick, 1000);

  // ---- events ----

  const eventIds = new Set();

  async function loadEvents() {
    try {
      const res = await api('api/events');
      if (!res.ok) return;
      const list = await res.json();
      // Oldest first from the API; each goes on top, so the newest ends first.
      if (Array.isArray(list)) for (const ev of list) addEvent(ev, 'load');
    } catch (e) { /* the status poll reports the connection */ }
  }

  function addEvent(ev, via) {
    if (!ev || typeof ev !== 'object') return;
    const id = typeof ev.id === 'string' ? ev.id : null;
    if (id && eventIds.has(id)) return;
    const list = $('events');
    const t = parseTime(ev.time);
    const li = el('li', 'ev');
    li.dataset.type = String(ev.type || '');
    li.dataset.via = via;
    if (id) { li.dataset.id = id; eventIds.add(id); }
    if (ev.room && typeof ev.room.key === 'string') li.dataset.room = ev.room.key;
    const time = el('time', 'ev-time', fmtClock(t));
    if (typeof ev.time === 'string') time.dateTime = ev.time;
    const type = el('span', 'ev-type t-' + cssWord(String(ev.type || '')), String(ev.type || 'event').replace(/_/g, ' '));
    li.append(time, type);
    const room = ev.room && typeof ev.room === 'object' ? (ev.room.name || ev.room.key) : '';
    // Always both spans, so the desktop grid keeps its columns for events without a room.
    li.append(el('span', 'ev-room', room ? String(room) : ''), el('span', 'ev-what', describe(ev)));
    // Keep the list in time order even when a reconnect's catch-up arrives late.
    let before = list.firstChild;
    while (before && Number(before.dataset.t) > t) before = before.nextSibling;
    li.dataset.t = String(Number.isFinite(t) ? t : Date.now());
    list.insertBefore(li, before);
    while (list.children.length > EVENTS_KEPT) {
      const last = list.lastChild;
      if (last.dataset.id) eventIds.delete(last.dataset.id);
      last.remove();
    }
  }

  function describe(ev) {
    const bits = [];
    const seg = ev.segment && typeof ev.segment === 'object' ? ev.segment : null;
    if (seg) {
      let s = basename(seg.path);
      if (ev.type === 'segment_complete') s += ' (' + fmtBytes(Number(seg.bytes)) + ', ' + fmtDuration(Number(seg.duration_s)) + (seg.recovered ? ', recovered' : '') + ')';
      bits.push(s);
    }
    const hook = ev.hook && typeof ev.hook === 'object' ? ev.hook : null;
    if (hook) bits.push(String(hook.name) + ': ' + String(hook.event || '').replace(/_/g, ' ') + ' after ' + hook.attempts + ' attempts');
    if (ev.type === 'live_start' && ev.room && ev.room.title) bits.push(String(ev.room.title));
    if (ev.error) bits.push(String(ev.error));
    return bits.join(' — ');
  }

  // ---- the event stream: fetch + reader, so the Authorization header can be sent ----

  let streamAbort = null, streamRetry = null, backoff = BACKOFF_MIN_MS, eventsPollTimer = null;

  function stopStream() {
    clearTimeout(streamRetry);
    clearTimeout(eventsPollTimer);
    if (streamAbort) { streamAbort.abort(); streamAbort = null; }
  }

  async function startStream() {
    stopStream();
    if (waitingForToken) return;
    const ctl = new AbortController();
    streamAbort = ctl;
    let silence = null, openedAt = 0;
    const quiet = () => { clearTimeout(silence); silence = setTimeout(() => ctl.abort(), STREAM_SILENCE_MS); };
    streamState = 'connecting';
    showConn();
    try {
      const res = await api('api/events/stream', { headers: { Accept: 'text/event-stream' }, signal: ctl.signal });
      if (res.status === 404) { pollEvents(); return; } // an older liverec without the stream
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      streamState = 'open';
      openedAt = Date.now();
      const conn = $('conn');
      conn.dataset.opens = String(Number(conn.dataset.opens || 0) + 1); // for tests: reconnects are visible
      showConn();
      quiet();
      // Events missed while disconnected: the last 50 fill the gap (duplicates are dropped by id).
      loadEvents();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const sse = sseParser((type, data) => {
        backoff = BACKOFF_MIN_MS;
        let ev;
        try { ev = JSON.parse(data); } catch (e) { return; }
        if (ev && typeof ev === 'object' && !ev.type && type) ev.type = type;
        addEvent(ev, 'sse');
        pollSoon();
      });
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        quiet();
        sse(value);
      }
    } catch (e) {
      if (e instanceof Unauthorized) { clearTimeout(silence); return; }
    }
    clearTimeout(silence);
    if (streamAbort !== ctl) return; // replaced or stopped on purpose
    streamAbort = null;
    // A stream that lasted is a healthy server closing it (a restart, a proxy's timeout): come
    // back soon. One that ends at once again and again backs off.
    if (openedAt && Date.now() - openedAt > 10000) backoff = BACKOFF_MIN_MS;
    streamState = 'reconnecting in ' + Math.round(backoff / 1000) + 's';
    showConn();
    streamRetry = setTimeout(startStream, backoff);
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
  }

  // The text/event-stream format: lines; "event:" and "data:" fields; a blank line dispatches;
  // lines starting with ":" are comments (the keepalive).
  function sseParser(onEvent) {
    let buf = '', type = '', data = [];
    return function feed(chunk) {
      buf += chunk;
      // A server that never ends a line must not grow the buffer without bound.
      if (buf.length > 1 << 20) { buf = ''; type = ''; data = []; return; }
      let m;
      while ((m = /\r\n|\r|\n/.exec(buf)) !== null) {
        // A lone \r at the end may be the first half of \r\n: wait for more.
        if (m[0] === '\r' && m.index === buf.length - 1) break;
        const line = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        if (line === '') {
          if (data.length) onEvent(type || 'message', data.join('\n'));
          type = ''; data = [];
          continue;
        }
        if (line[0] === ':') continue;
        const i = line.indexOf(':');
        const name = i < 0 ? line : line.slice(0, i);
        let value = i < 0 ? '' : line.slice(i + 1);
        if (value[0] === ' ') value = value.slice(1);
        if (name === 'event') type = value;
        else if (name === 'data') data.push(value);
      }
    };
  }

  // Without the stream: the last events, every poll.
  function pollEvents() {
    if (waitingForToken) return;
    streamState = 'polling';
    showConn();
    loadEvents().finally(() => { eventsPollTimer = setTimeout(pollEvents, POLL_MS); });
  }

  // ---- start ----

  loadEvents();
  poll();
  startStream();
})();
