// The transaction inspector page (server/src/inspector.rs): loads the recent transactions,
// then adds new ones from the server-sent events of /inspector/events. Every value is put in
// the page as text (textContent), never as markup.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const list = $('list');
  const live = $('live');
  const more = $('more');
  const empty = $('empty');
  const form = $('filters');
  const MAX_SHOWN = 500;
  const rows = new Map(); // correlation_id -> the row's element
  let filter = {};
  let nextBefore = null;
  let source = null;
  let dropped = false;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function time(ms) {
    return ms ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : '';
  }

  function query(extra) {
    const p = new URLSearchParams();
    for (const k of ['sender', 'status', 'action']) {
      if (filter[k]) p.set(k, filter[k]);
    }
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    return p.toString();
  }

  function setLive(on, text) {
    live.className = 'live ' + (on ? 'on' : 'off');
    live.textContent = text;
    document.body.dataset.live = on ? '1' : '0';
  }

  function issues(title, cls, items) {
    const frag = document.createDocumentFragment();
    if (!items || items.length === 0) return frag;
    frag.append(el('h3', null, `${title} (${items.length})`));
    const ul = el('ul', 'issues');
    for (const v of items) {
      const li = el('li', cls);
      if (v.field) li.append(el('span', 'field', v.field), ': ');
      li.append(String(v.rule ?? ''));
      if (v.code) li.append(' ', el('span', 'code', `(${v.code})`));
      ul.append(li);
    }
    frag.append(ul);
    return frag;
  }

  function attemptRow(a) {
    const tr = el('tr');
    tr.append(
      el('td', null, time(a.started_at)),
      el('td', null, `${a.duration_ms} ms`),
      el('td', a.ok ? 'ok' : 'fail', a.ok ? 'delivered' : 'failed'),
      el('td', null, a.result),
    );
    return tr;
  }

  function callbackItem(c) {
    const li = el('li', 'callback');
    li.dataset.outbox = c.id;
    const head = el('div');
    head.append(el('span', 'action', c.kind), ' to ', el('span', 'action', c.url), ' ');
    const state = el('span', 'badge ' + (c.state === 'delivered' ? 'succ' : c.state === 'failed' ? 'rjct' : 'pdng'), c.state || 'pending');
    state.dataset.role = 'state';
    head.append(state);
    if (c.state === 'pending' && c.next_attempt_at) head.append(` next attempt ${time(c.next_attempt_at)}`);
    const table = el('table', 'attempts');
    const hr = el('tr');
    hr.append(el('th', null, 'attempt at'), el('th', null, 'took'), el('th', null, 'result'), el('th', null, 'answer or error'));
    table.append(hr);
    for (const a of c.tries || []) table.append(attemptRow(a));
    li.append(head, table);
    return li;
  }

  function render(t) {
    const li = el('li', `txn status-${t.status}`);
    li.dataset.corr = t.correlation_id;
    li.dataset.status = t.status;
    const details = el('details');
    const sum = el('summary');
    sum.append(
      el('span', 'time', time(t.created_at)),
      el('span', `badge ${t.status}`, t.status),
      el('span', 'sender', t.sender_id || '(unknown sender)'),
      el('span', 'action', t.action),
      el('span', 'registry', t.registry),
    );
    if (t.error_code) sum.append(el('span', 'code', t.error_code));
    if (t.violations.length) sum.append(el('span', 'badge rjct', `${t.violations.length} violation${t.violations.length > 1 ? 's' : ''}`));
    if (t.deviations.length) sum.append(el('span', 'badge dev', `${t.deviations.length} deviation${t.deviations.length > 1 ? 's' : ''}`));
    const d = el('div', 'detail');
    d.append(el('div', 'ids', `operation ${t.operation} · transaction_id ${t.transaction_id || '-'} · message_id ${t.message_id || '-'} · correlation_id ${t.correlation_id}`));
    d.append(issues('Violations', 'violation', t.violations));
    d.append(issues('Deviations (strict mode)', 'deviation', t.deviations));
    const cbTitle = el('h3', null, 'Callbacks');
    const cbs = el('ul', 'callbacks');
    cbs.dataset.role = 'callbacks';
    for (const c of t.callbacks || []) cbs.append(callbackItem(c));
    cbTitle.hidden = cbs.children.length === 0;
    d.append(cbTitle, cbs);
    const bodies = el('div', 'bodies');
    const req = el('div');
    req.append(el('h3', null, 'Request'), el('pre', 'request', t.request));
    const resp = el('div');
    resp.append(el('h3', null, 'Answer'), el('pre', 'response', t.response));
    bodies.append(req, resp);
    d.append(bodies);
    details.append(sum, d);
    // Rejections open by themselves: their violations are what one comes here for.
    details.open = t.status === 'rjct';
    li.append(details);
    return li;
  }

  function add(t, fresh) {
    if (rows.has(t.correlation_id)) return;
    const li = render(t);
    rows.set(t.correlation_id, li);
    if (fresh) {
      li.classList.add('fresh');
      list.prepend(li);
    } else {
      list.append(li);
    }
    while (list.children.length > MAX_SHOWN) {
      const last = list.lastElementChild;
      rows.delete(last.dataset.corr);
      last.remove();
    }
    empty.hidden = list.children.length > 0;
  }

  function attempt(ev) {
    const li = rows.get(ev.correlation_id);
    if (!li) return;
    const cbs = li.querySelector('[data-role=callbacks]');
    let item = cbs.querySelector(`[data-outbox="${Number(ev.outbox_id)}"]`);
    if (!item) {
      item = callbackItem({ id: ev.outbox_id, kind: ev.kind, url: ev.url, state: 'pending', tries: [] });
      cbs.append(item);
      cbs.previousElementSibling.hidden = false;
    }
    item.querySelector('table').append(attemptRow(ev.attempt));
    const state = item.querySelector('[data-role=state]');
    state.textContent = ev.attempt.ok ? 'delivered' : 'retrying';
    state.className = 'badge ' + (ev.attempt.ok ? 'succ' : 'pdng');
  }

  async function load(reset) {
    const params = reset ? {} : { before: nextBefore };
    const r = await fetch('/inspector/transactions?' + query(params), { credentials: 'same-origin' });
    if (!r.ok) {
      $('note').textContent = `Could not load transactions: HTTP ${r.status}`;
      return;
    }
    const body = await r.json();
    if (reset) {
      list.replaceChildren();
      rows.clear();
    }
    for (const t of body.transactions) add(t, false);
    nextBefore = body.next_before;
    more.hidden = nextBefore === null || nextBefore === undefined;
    empty.hidden = list.children.length > 0;
  }

  function connect() {
    if (source) source.close();
    setLive(false, 'connecting');
    source = new EventSource('/inspector/events?' + query());
    source.addEventListener('open', () => {
      setLive(true, 'live');
      // Whatever was logged while the stream was down.
      if (dropped) {
        dropped = false;
        load(true);
      }
    });
    source.addEventListener('error', () => {
      dropped = true;
      setLive(false, 'reconnecting');
    });
    source.addEventListener('transaction', (e) => add(JSON.parse(e.data), true));
    source.addEventListener('attempt', (e) => attempt(JSON.parse(e.data)));
    // Dropped for falling behind: start again from the log.
    source.addEventListener('lagged', () => {
      dropped = true;
      connect();
    });
  }

  function apply() {
    const f = new FormData(form);
    filter = { sender: f.get('sender').trim(), status: f.get('status'), action: f.get('action').trim() };
    connect();
    load(true);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  form.addEventListener('reset', () => setTimeout(apply, 0));
  more.addEventListener('click', () => load(false));
  apply();
})();
