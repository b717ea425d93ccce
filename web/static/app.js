// The auditlog web viewer (SPEC §11). Plain JavaScript, no dependencies: it
// talks only to the API of the server that serves it, with the account API
// token kept in sessionStorage and sent in the api-token header.

const TOKEN_KEY = 'auditlog.token';
const PAGE_SIZE = 50;
const PROOF_CONCURRENCY = 6;

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  user: null, // GET /api/v1/user: {email, organizations: [{provider, name, role, manager, plan}]}
  org: null, // the chosen membership
  wantOrg: '', // "provider/name" asked for in the URL fragment
  q: '',
  cursors: [''], // cursors[i] opens page i
  page: 0,
  nextCursor: null,
  events: [],
  proofs: new Map(), // sequence -> {ok: true|false|null, reason, leafHash, pathLength}
  checkpoint: null,
  actions: null, // action name -> catalog entry
  actors: new Set(),
  listGen: 0, // bumped by every list load: answers to older loads are dropped
  chartGen: 0,
  logKey: null,
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.retryAfter = retryAfter;
  }
}

// RawNumber keeps a JSON number whose source text a JavaScript number would
// change (1.0, 12345678901234567890), so that details show as sent.
class RawNumber {
  constructor(source) { this.source = source; }
}

function parseJSON(text) {
  return JSON.parse(text, function (key, value, context) {
    if (typeof value === 'number' && context && typeof context.source === 'string' && String(value) !== context.source) {
      return new RawNumber(context.source);
    }
    return value;
  });
}

async function api(path, { as = 'json', accept = 'application/json', retry = true } = {}) {
  let resp;
  try {
    resp = await fetch(path, {
      headers: { 'api-token': state.token || '', Accept: accept },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, { error: 'NetworkError', message: 'The server could not be reached.' });
  }
  if (!resp.ok) {
    const retryAfter = Number(resp.headers.get('Retry-After')) || 0;
    if (resp.status === 429 && retry && retryAfter > 0 && retryAfter <= 5) {
      await sleep(retryAfter * 1000);
      return api(path, { as, accept, retry: false });
    }
    let body;
    try {
      body = await resp.json();
    } catch (e) {
      body = { error: 'Error', message: `${resp.status} ${resp.statusText}` };
    }
    throw new ApiError(resp.status, body, retryAfter);
  }
  if (as === 'json') return parseJSON(await resp.text());
  if (as === 'text') return resp.text();
  return resp;
}

function orgPath(suffix) {
  const o = state.org;
  return `/api/v1/organizations/${encodeURIComponent(o.provider)}/${encodeURIComponent(o.name)}${suffix}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- views

const VIEWS = ['view-signin', 'view-orgs', 'view-message', 'view-events'];

function showView(id, focus = true) {
  $('loading').hidden = true;
  for (const v of VIEWS) $(v).hidden = v !== id;
  document.body.dataset.view = id;
  if (focus) {
    const h = $(id).querySelector('h1');
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: false });
    }
  }
}

function showSignIn(error) {
  $('account').hidden = true;
  $('signin-error').textContent = error || '';
  showView('view-signin', false);
  $('token-input').focus();
}

// showMessage shows one of the full pages: 401, 403 (role), 403 (plan), 404, errors.
function showMessage(kind, title, text, detail, actions = []) {
  $('message-title').textContent = title;
  $('message-text').textContent = text;
  $('message-detail').textContent = detail || '';
  $('view-message').dataset.kind = kind;
  const box = $('message-actions');
  box.replaceChildren();
  for (const [label, fn] of actions) {
    const b = el('button', { type: 'button', className: 'secondary' }, label);
    b.addEventListener('click', fn);
    box.append(b);
  }
  showView('view-message');
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('aria-') || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// handleError turns an API failure into the page that explains it.
function handleError(err) {
  if (!(err instanceof ApiError)) {
    console.error(err);
    showMessage('error', 'Something went wrong', String(err && err.message ? err.message : err));
    return;
  }
  const orgName = state.org ? `${state.org.provider}/${state.org.name}` : 'this organization';
  switch (err.status) {
    case 401:
      signOut(false);
      showSignIn('The server did not accept this API token (401 Unauthorized): it may be mistyped, revoked or expired. Sign in with another token.');
      return;
    case 403:
      // The membership tells which rule failed; the server's message is shown as it is.
      if (state.org && !roleAllows(state.org)) return showRolePage(state.org);
      if (state.org && state.org.plan !== 'business') return showPlanPage(state.org);
      showMessage('forbidden', 'Access denied', err.message, '', orgActions());
      return;
    case 404:
      showMessage('notfound', 'Organization not found', `${orgName} does not exist, or your account is not a member of it.`, '', orgActions());
      return;
    case 429:
      showMessage('ratelimited', 'Too many requests', `The server asks to wait${err.retryAfter ? ` ${err.retryAfter} seconds` : ''} before trying again.`, err.message,
        [['Try again', () => state.org ? selectOrg(state.org) : loadUser()]]);
      return;
    case 0:
      showMessage('offline', 'The server could not be reached', 'Check that auditlog is running, then try again.', '',
        [['Try again', () => state.org ? selectOrg(state.org) : loadUser()]]);
      return;
    default:
      showMessage('error', `Error ${err.status}`, err.message, err.body.error || '', orgActions());
  }
}

function orgActions() {
  return state.user && state.user.organizations.length > 1 ? [['Choose another organization', showOrgChooser]] : [];
}

const roleAllows = (m) => m.role === 'organizationAdmin' || m.manager === true;
const canRead = (m) => roleAllows(m) && m.plan === 'business';
const orgKey = (m) => `${m.provider}/${m.name}`;

function showRolePage(m) {
  showMessage('role', 'You cannot read this audit log',
    `Reading the audit log of ${orgKey(m)} requires the organizationAdmin role or the organization manager role.`,
    `Your role in ${orgKey(m)} is ${m.role}${m.manager ? ' (manager)' : ''}. An organization admin can make you an organization manager.`,
    orgActions());
}

function showPlanPage(m) {
  showMessage('plan', 'The audit log is available on the Business plan',
    `${orgKey(m)} is on the ${capitalize(m.plan)} plan. The audit log is only available on the Business plan.`,
    'An organization admin can upgrade the organization to the Business plan.',
    orgActions());
}

const capitalize = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

// ---------------------------------------------------------------- start, sign in and out

function readFragment() {
  const p = new URLSearchParams(location.hash.slice(1));
  const token = p.get('token');
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    p.delete('token');
  }
  state.wantOrg = p.get('org') || '';
  state.q = p.get('q') || '';
  // The token never stays in the address bar or the history.
  history.replaceState(null, '', location.pathname + location.search + (p.toString() ? `#${p}` : ''));
}

function writeFragment() {
  const p = new URLSearchParams();
  if (state.org) p.set('org', orgKey(state.org));
  if (state.q) p.set('q', state.q);
  const hash = p.toString() ? `#${p}` : '';
  if (location.hash !== hash) history.replaceState(null, '', location.pathname + location.search + hash);
}

function signOut(show = true) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.user = null;
  state.org = null;
  state.q = '';
  state.events = [];
  state.checkpoint = null;
  state.listGen++;
  state.chartGen++;
  if ($('detail').open) $('detail').close();
  $('events-body').replaceChildren();
  $('q').value = '';
  history.replaceState(null, '', location.pathname + location.search);
  if (show) showSignIn('');
}

async function loadUser() {
  $('loading').hidden = false;
  try {
    state.user = await api('/api/v1/user');
  } catch (e) {
    handleError(e);
    return;
  }
  $('user-email').textContent = state.user.email;
  $('orgs-email').textContent = state.user.email;
  const sel = $('org-select');
  sel.replaceChildren(...state.user.organizations.map((m) =>
    el('option', { value: orgKey(m) }, orgKey(m) + (canRead(m) ? '' : ' (no access)'))));
  $('account').hidden = false;
  const orgs = state.user.organizations;
  if (orgs.length === 0) {
    sel.hidden = true;
    $('org-select').previousElementSibling.hidden = true;
    showMessage('noorgs', 'No organizations', `${state.user.email} is not a member of any organization.`,
      'Once the host platform adds you to an organization, it shows here.');
    return;
  }
  sel.hidden = false;
  $('org-select').previousElementSibling.hidden = false;
  const wanted = orgs.find((m) => orgKey(m) === state.wantOrg);
  if (wanted) selectOrg(wanted);
  else if (orgs.length === 1) selectOrg(orgs[0]);
  else showOrgChooser();
}

function showOrgChooser() {
  state.org = null;
  state.listGen++;
  writeFragment();
  const list = $('org-list');
  list.replaceChildren(...state.user.organizations.map((m) => {
    const why = canRead(m) ? 'audit log available' : !roleAllows(m) ? 'no access: needs the organizationAdmin or manager role' : 'no access: needs the Business plan';
    const b = el('button', { type: 'button', className: 'org-choice', dataset: { org: orgKey(m) } },
      el('span', { className: 'org-name' }, orgKey(m)),
      el('span', { className: 'muted small' }, `${m.role}${m.manager ? ', manager' : ''} · ${m.plan} plan · ${why}`));
    b.addEventListener('click', () => selectOrg(m));
    return el('li', {}, b);
  }));
  $('org-select').value = '';
  showView('view-orgs');
}

function selectOrg(m) {
  if (!state.org || orgKey(state.org) !== orgKey(m)) {
    state.checkpoint = null;
    state.actors = new Set();
    if (state.org) state.q = '';
  }
  state.org = m;
  state.wantOrg = orgKey(m);
  $('org-select').value = orgKey(m);
  writeFragment();
  if (!roleAllows(m)) return showRolePage(m);
  if (m.plan !== 'business') return showPlanPage(m);
  $('events-title').textContent = `Audit log of ${orgKey(m)}`;
  document.title = `${orgKey(m)} · auditlog`;
  $('q').value = state.q;
  syncFilters();
  showView('view-events');
  loadCatalog();
  runSearch();
}

// ---------------------------------------------------------------- the list

function runSearch() {
  state.cursors = [''];
  state.page = 0;
  writeFragment();
  syncFilters();
  loadPage();
  loadActivity();
}

async function loadPage() {
  const gen = ++state.listGen;
  const org = state.org;
  $('list-status').textContent = 'Loading events…';
  $('view-events').setAttribute('aria-busy', 'true');
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.q) params.set('q', state.q);
  if (state.cursors[state.page]) params.set('cursor', state.cursors[state.page]);
  let data;
  try {
    data = await api(orgPath(`/events?${params}`));
  } catch (e) {
    if (gen !== state.listGen) return;
    $('view-events').removeAttribute('aria-busy');
    if (e.status === 400) {
      showQueryError(e.message);
      return;
    }
    handleError(e);
    return;
  }
  if (gen !== state.listGen || org !== state.org) return;
  $('view-events').removeAttribute('aria-busy');
  clearQueryError();
  state.events = data.data;
  state.nextCursor = (data.pagination && data.pagination.cursor) || null;
  state.proofs = new Map();
  for (const e of state.events) if (e.actor && e.actor.email) state.actors.add(e.actor.email);
  renderEvents();
  renderActors();
  verifyShown(gen);
}

function renderEvents() {
  const body = $('events-body');
  const n = state.events.length;
  const first = state.page * PAGE_SIZE + 1;
  const empty = n === 0 && state.page === 0;
  $('empty').hidden = !empty;
  $('events').hidden = empty;
  document.querySelector('.pager').hidden = empty;
  if (empty) {
    $('empty-title').textContent = state.q ? 'No events match this search' : 'No events yet';
    $('empty-text').textContent = state.q
      ? `Nothing in ${orgKey(state.org)} matches “${state.q}”.`
      : `${orgKey(state.org)} has no events yet: they show here once the host platform sends them.`;
    $('empty-clear').hidden = !state.q;
    $('list-status').textContent = $('empty-title').textContent;
  } else {
    $('list-status').textContent = n
      ? `Page ${state.page + 1}: events ${first}–${first + n - 1}${state.q ? ' matching the search' : ''}, newest first.`
      : `Page ${state.page + 1} holds no more events.`;
  }
  body.replaceChildren(...state.events.map(eventRow));
  $('page-info').textContent = n ? `Page ${state.page + 1} · ${first}–${first + n - 1}` : `Page ${state.page + 1}`;
  $('page-newer').disabled = state.page === 0;
  $('page-older').disabled = !state.nextCursor;
}

function eventRow(e) {
  const btn = el('button', { type: 'button', className: 'link details-button', 'aria-label': `Details of event ${e.sequence}` }, 'Details');
  btn.addEventListener('click', () => openDetail(e, btn));
  const cell = (label, ...children) => el('td', { dataset: { label } }, el('div', {}, ...children));
  const tr = el('tr', { dataset: { seq: String(e.sequence), action: e.action, result: e.result } },
    cell('Time (UTC)', el('time', { dateTime: e.timestamp, title: e.timestamp }, shortTime(e.timestamp))),
    cell('Action', el('span', { className: 'action-name' }, e.action), el('span', { className: 'desc' }, e.description || '')),
    cell('Actor', el('span', { className: 'actor' }, e.actor ? e.actor.email : ''),
      e.actor && e.actor.role ? el('span', { className: 'desc' }, e.actor.role) : null),
    cell('Result', el('span', { className: `result result-${e.result}` }, e.result)),
    cell('Source', e.source),
    cell('Repository', e.repositoryName || '—'),
    el('td', { className: 'cell-details' }, btn));
  tr.addEventListener('click', (ev) => {
    if (ev.target.closest('button, a') || window.getSelection().toString()) return;
    openDetail(e, btn);
  });
  return tr;
}

function renderActors() {
  $('actor-list').replaceChildren(...[...state.actors].sort().map((a) => el('option', { value: a })));
}

const shortTime = (iso) => (iso || '').replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

// ---------------------------------------------------------------- search terms

// splitTerms splits a query into its space-separated terms, as written,
// keeping quoted spaces (SPEC §9). Each term is [text, start, end].
function splitTerms(q) {
  const terms = [];
  let i = 0;
  while (i < q.length) {
    while (i < q.length && /\s/.test(q[i])) i++;
    if (i >= q.length) break;
    const start = i;
    let quoted = false;
    while (i < q.length && (quoted || !/\s/.test(q[i]))) {
      if (quoted && q[i] === '\\' && i + 1 < q.length) i++;
      else if (q[i] === '"') quoted = !quoted;
      i++;
    }
    terms.push([q.slice(start, i), start, i]);
  }
  return terms;
}

function quoteValue(v) {
  return /[\s"]/.test(v) || v === '' ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : v;
}

function termField(text) {
  const m = /^([A-Za-z]+):(.*)$/s.exec(text);
  return m ? [m[1].toLowerCase(), unquote(m[2])] : [null, null];
}

function unquote(v) {
  let out = '';
  let quoted = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (quoted && c === '\\' && (v[i + 1] === '"' || v[i + 1] === '\\')) out += v[++i];
    else if (c === '"') quoted = !quoted;
    else out += c;
  }
  return out;
}

// setFieldTerm replaces the positive terms of a field with field:value (none when value is empty).
function setFieldTerm(q, field, value) {
  const kept = splitTerms(q).map((t) => t[0]).filter((t) => termField(t)[0] !== field);
  if (value) kept.push(`${field}:${quoteValue(value)}`);
  return kept.join(' ');
}

// syncFilters shows in the quick filters the single positive term of each field in q.
function syncFilters() {
  const terms = splitTerms(state.q).map((t) => termField(t[0]));
  for (const id of ['f-level', 'f-result', 'f-source', 'f-actor']) {
    const input = $(id);
    const values = terms.filter(([f]) => f === input.dataset.field).map(([, v]) => v);
    let v = values.length === 1 ? values[0] : '';
    if (input.tagName === 'SELECT') {
      const opt = [...input.options].find((o) => o.value.toLowerCase() === v.toLowerCase());
      v = opt ? opt.value : '';
    }
    input.value = v;
  }
}

function applyFilter(field, value) {
  state.q = setFieldTerm(state.q, field, value.trim());
  $('q').value = state.q;
  runSearch();
}

// showQueryError shows the server's message and marks the term it points at:
// the message names the term's 1-based character position.
function showQueryError(message) {
  const q = state.q;
  const input = $('q');
  $('q-error-text').textContent = `This search is not valid: ${message.replace(/^q: /, '')}`;
  const echo = $('q-error-echo');
  echo.replaceChildren();
  const m = /at position (\d+)/.exec(message);
  let start = -1;
  let end = -1;
  if (m) {
    const chars = [...q];
    const pos = Math.max(0, Math.min(chars.length, Number(m[1]) - 1));
    start = chars.slice(0, pos).join('').length;
    const term = splitTerms(q).find(([, s, e]) => s <= start && start < e);
    end = term ? term[2] : q.length;
  }
  if (start >= 0) {
    echo.append(q.slice(0, start), el('mark', { id: 'q-error-term' }, q.slice(start, end) || ' '), q.slice(end));
    echo.parentElement.hidden = false;
  } else {
    echo.parentElement.hidden = true;
  }
  $('q-error').hidden = false;
  input.setAttribute('aria-invalid', 'true');
  $('events-body').replaceChildren();
  $('events').hidden = true;
  $('empty').hidden = true;
  document.querySelector('.pager').hidden = true;
  $('list-status').textContent = 'Fix the search to see events.';
  setIntegrity('idle', '');
  input.focus();
  if (start >= 0) input.setSelectionRange(start, end);
}

function clearQueryError() {
  $('q-error').hidden = true;
  $('q').removeAttribute('aria-invalid');
}

// ---------------------------------------------------------------- detail

async function loadCatalog() {
  if (state.actions) return;
  try {
    const list = await api('/api/v1/actions');
    state.actions = new Map(list.map((a) => [a.action, a]));
  } catch (e) {
    // The catalog only adds names to the detail view.
  }
}

function openDetail(e, invoker) {
  const d = $('detail');
  $('detail-title').textContent = `Event ${e.sequence}: ${e.action}`;
  const a = state.actions && state.actions.get(e.action);
  const rows = [
    ['Sequence', String(e.sequence)],
    ['ID', e.id],
    ['Action', e.action + (a ? ` (${a.event}, ${a.level} level)` : '')],
    ['Description', e.description],
    ['Time', e.timestamp],
    ['Received', e.receivedAt],
    ['Actor', e.actor ? e.actor.email : ''],
    ['Actor role', e.actor && e.actor.role ? e.actor.role : '—'],
    ['Result', e.result],
    ['Source', e.source],
    ['Repository', e.repositoryName || '—'],
    ['Entity ID', e.entityId || '—'],
    ['IP address', e.ipAddress || '—'],
    ['User agent', e.userAgent || '—'],
  ];
  $('detail-fields').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v || '—')]));
  $('detail-json').textContent = formatJSON(e.details || {}, '');
  const p = state.proofs.get(e.sequence);
  const cp = state.checkpoint;
  let proofText;
  if (p && p.ok === true) {
    proofText = `Inclusion verified in this browser: the event's leaf hash ${hex(p.leafHash)} leads, through an audit path of ${p.pathLength} hashes, to the root of the signed checkpoint of size ${cp.size}. (The leaf hash is the server's; the viewer does not recompute it from the fields above. The evidence bundle and auditlog verify do.)`;
  } else if (p && p.ok === false) {
    proofText = `Verification FAILED: ${p.reason}`;
  } else if (p) {
    proofText = `Not checked: ${p.reason}`;
  } else if (cp && e.sequence >= cp.size) {
    proofText = `Not in the latest checkpoint (size ${cp.size}) yet: the server signs a new one within seconds. Use “Check again”.`;
  } else {
    proofText = 'Not checked yet.';
  }
  $('detail-proof').textContent = proofText;
  $('detail-proof').dataset.state = p ? (p.ok === true ? 'verified' : p.ok === false ? 'failed' : 'unchecked') : 'unchecked';
  const actions = $('detail-actions');
  actions.replaceChildren();
  const add = (label, field, value) => {
    if (!value) return;
    const b = el('button', { type: 'button', className: 'secondary' }, label);
    b.addEventListener('click', () => {
      d.close();
      applyFilter(field, value);
    });
    actions.append(b);
  };
  add('Search this actor', 'actor', e.actor && e.actor.email !== 'redacted' ? e.actor.email : '');
  add('Search this action', 'action', e.action);
  add('Search this repository', 'repo', e.repositoryName);
  d.returnFocus = invoker;
  d.showModal();
  $('detail-close').focus();
}

// formatJSON writes a parsed JSON value indented, numbers as they were sent.
function formatJSON(v, indent) {
  const next = indent + '  ';
  if (v instanceof RawNumber) return v.source;
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return `[\n${v.map((x) => next + formatJSON(x, next)).join(',\n')}\n${indent}]`;
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (!keys.length) return '{}';
    return `{\n${keys.map((k) => `${next}${JSON.stringify(k)}: ${formatJSON(v[k], next)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

// ---------------------------------------------------------------- activity chart

function utcDay(offsetDays) {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + offsetDays);
  return d.toISOString().slice(0, 10);
}

async function loadActivity() {
  const gen = ++state.chartGen;
  const days = Number($('range').value) || 90;
  const params = new URLSearchParams({ from: utcDay(-(days - 1)), to: utcDay(0) });
  if (state.q) params.set('q', state.q);
  $('activity-summary').textContent = 'Loading activity…';
  let data;
  try {
    data = await api(orgPath(`/events/activity?${params}`));
  } catch (e) {
    if (gen !== state.chartGen) return;
    $('chart').replaceChildren();
    $('activity-summary').textContent = e.status === 400 ? 'No chart: the search is not valid.' : `No chart: ${e.message}`;
    return;
  }
  if (gen !== state.chartGen) return;
  drawChart(data);
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

function drawChart(data) {
  const days = data.days;
  const max = Math.max(1, ...days.map((d) => d.count));
  const busiest = days.reduce((a, d) => (d.count > a.count ? d : a), { count: 0 });
  const W = days.length * 10;
  const H = 100;
  const summary = `${fmt(data.total)} event${data.total === 1 ? '' : 's'}${state.q ? ' matching the search' : ''} from ${data.from} to ${data.to} (UTC days)` +
    (busiest.count ? `; busiest day ${busiest.day} with ${fmt(busiest.count)}.` : '.');
  $('activity-summary').textContent = summary;
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `Events per day. ${summary}`,
    class: 'chart-svg', 'data-total': data.total, 'data-days': days.length,
  });
  for (const y of [0.25, 0.5, 0.75]) chart.append(svg('line', { x1: 0, x2: W, y1: H * y, y2: H * y, class: 'grid' }));
  days.forEach((d, i) => {
    const h = d.count ? Math.max(2, (d.count / max) * (H - 4)) : 0;
    const bar = svg('rect', { x: i * 10 + 1, y: H - h, width: 8, height: h, class: 'bar', 'data-day': d.day, 'data-count': d.count },
      svg('title', {}, `${d.day}: ${fmt(d.count)} event${d.count === 1 ? '' : 's'}`));
    // A hit area the height of the chart, so that short bars are easy to point at.
    const hit = svg('rect', { x: i * 10, y: 0, width: 10, height: H, class: 'hit', 'data-day': d.day },
      svg('title', {}, `${d.day}: ${fmt(d.count)} event${d.count === 1 ? '' : 's'}. Click to search this day.`));
    chart.append(bar, hit);
  });
  chart.addEventListener('click', (ev) => {
    const day = ev.target.closest('[data-day]');
    if (day) applyFilter('created', day.getAttribute('data-day'));
  });
  const axis = el('div', { className: 'chart-axis', 'aria-hidden': 'true' },
    el('span', {}, data.from), el('span', {}, `max ${fmt(max)}/day`), el('span', {}, data.to));
  $('chart').replaceChildren(chart, axis);
  const active = days.filter((d) => d.count > 0);
  $('chart-table').replaceChildren(active.length
    ? el('table', { className: 'mini' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Day (UTC)'), el('th', { scope: 'col' }, 'Events'))),
      el('tbody', {}, ...active.map((d) => el('tr', {}, el('td', {}, d.day), el('td', {}, fmt(d.count))))))
    : el('p', { className: 'muted small' }, 'No events in this range.'));
}

const fmt = (n) => Number(n).toLocaleString('en-US');

// ---------------------------------------------------------------- integrity

const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const utf8 = (s) => new TextEncoder().encode(s);

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

async function sha256(...parts) {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const buf = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

const ONE = Uint8Array.of(1);

// verifyInclusion checks an RFC 6962 audit path (RFC 9162 §2.1.3.2): that
// leafHash at index in a tree of size leads to root.
async function verifyInclusion(index, size, leafHash, path, root) {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of path) {
    if (p.length !== 32 || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(ONE, p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(ONE, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

// parseCheckpoint reads a C2SP tlog-checkpoint signed note.
function parseCheckpoint(note) {
  const cut = note.indexOf('\n\n');
  if (cut < 0) throw new Error('the checkpoint is not a signed note');
  const text = note.slice(0, cut + 1);
  const lines = text.split('\n');
  if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new Error('the checkpoint body is malformed');
  const root = b64(lines[2]);
  if (root.length !== 32) throw new Error('the checkpoint root is not 32 bytes');
  const sigs = note.slice(cut + 2).split('\n').filter(Boolean).map((l) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(l);
    if (!m) throw new Error('a signature line is malformed');
    return { name: m[1], bytes: b64(m[2]) };
  });
  return { note, text, origin: lines[0], size: Number(lines[1]), root, sigs };
}

// verifySignature checks the checkpoint's Ed25519 signature with the
// verifier key this server publishes (note format: name+hash+base64(0x01 || key)).
async function verifySignature(cp) {
  if (!state.logKey) state.logKey = (await api('/api/v1/log-key', { as: 'text', accept: 'text/plain' })).trim();
  // name+hash+key: the base64 key may itself hold '+'.
  const [name, hashHex, keyB64] = [...state.logKey.split('+', 2), state.logKey.split('+').slice(2).join('+')];
  const raw = b64(keyB64 || '');
  if (raw.length !== 33 || raw[0] !== 1) return { state: 'unknown-key', key: state.logKey };
  const sig = cp.sigs.find((s) => s.name === name && s.bytes.length === 68 && hex(s.bytes.slice(0, 4)) === hashHex);
  if (!sig) return { state: 'invalid', key: state.logKey, reason: 'no signature by the server’s log key' };
  let key;
  try {
    key = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
  } catch (e) {
    return { state: 'unsupported', key: state.logKey };
  }
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.bytes.slice(4), utf8(cp.text));
  return { state: ok ? 'valid' : 'invalid', key: state.logKey, reason: ok ? '' : 'the signature does not verify' };
}

async function verifyEvent(e, cp) {
  let p;
  try {
    p = await api(orgPath(`/events/${e.sequence}/proof?size=${cp.size}`));
  } catch (err) {
    return { ok: null, reason: `the proof could not be fetched (${err.message})` };
  }
  if (p.sequence !== e.sequence || p.treeSize !== cp.size) return { ok: false, reason: 'the proof is for another event or tree size' };
  if (p.checkpoint !== cp.note) return { ok: false, reason: 'the proof names a different checkpoint of the same size' };
  const leafHash = b64(p.leafHash);
  const path = p.proof.map(b64);
  if (leafHash.length !== 32) return { ok: false, reason: 'the leaf hash is not 32 bytes' };
  const ok = await verifyInclusion(e.sequence, cp.size, leafHash, path, cp.root);
  return ok
    ? { ok: true, leafHash, pathLength: path.length }
    : { ok: false, leafHash, reason: `the inclusion proof of event ${e.sequence} does not lead to the checkpoint's root` };
}

async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function setIntegrity(s, summary, body = []) {
  $('integrity').dataset.state = s;
  $('integrity-summary').textContent = summary;
  $('integrity-body').replaceChildren(...body.map((t) => el('p', {}, t)));
  $('integrity-details').hidden = s === 'idle';
}

async function verifyShown(gen) {
  const org = state.org;
  const shown = state.events;
  if (!shown.length) {
    setIntegrity('idle', '');
    return;
  }
  if (!window.crypto || !crypto.subtle) {
    setIntegrity('unavailable', 'Integrity not checked: this browser offers WebCrypto only to pages served over HTTPS or from localhost.');
    return;
  }
  setIntegrity('checking', `Checking ${shown.length} shown events against the latest checkpoint…`);
  const stale = () => gen !== state.listGen || org !== state.org;
  let cp;
  try {
    cp = parseCheckpoint(await api(orgPath('/checkpoint'), { as: 'text', accept: 'text/plain' }));
    cp.fetchedAt = new Date();
    cp.signature = await verifySignature(cp);
  } catch (e) {
    if (stale()) return;
    if (e instanceof ApiError && e.status === 404) {
      setIntegrity('pending', 'Not verified yet: no checkpoint has been signed for this organization.', ['The server signs a checkpoint within seconds of new events. Use “Check again”.']);
    } else {
      setIntegrity('error', `Integrity not checked: ${e.message}`);
    }
    return;
  }
  if (stale()) return;
  state.checkpoint = cp;
  const sizeText = fmt(cp.size);
  const when = cp.fetchedAt.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  const cpText = `Checkpoint: origin ${cp.origin}, size ${sizeText}, root ${hex(cp.root)}, fetched ${when}. A checkpoint carries no signing time; the server signs one within seconds of new events.`;
  const sig = cp.signature;
  const sigText = {
    valid: `Signature: a valid Ed25519 signature by ${sig.key}, the key this server publishes at /api/v1/log-key. Compare it with the key you keep for offline verification: a key fetched from the same server proves only that the checkpoint comes from that server.`,
    invalid: `Signature: FAILED (${sig.reason}) for key ${sig.key}.`,
    unsupported: 'Signature: not checked (this browser has no Ed25519 in WebCrypto). The inclusion proofs below were checked.',
    'unknown-key': `Signature: not checked (the log key ${sig.key} is not an Ed25519 note key).`,
  }[sig.state];
  if (sig.state === 'invalid') {
    setIntegrity('failed', `Verification FAILED: the checkpoint of size ${sizeText} is not signed by the server's log key.`, [cpText, sigText]);
    return;
  }
  const covered = shown.filter((e) => e.sequence < cp.size);
  const newer = shown.length - covered.length;
  const results = await pool(covered, PROOF_CONCURRENCY, (e) => verifyEvent(e, cp));
  if (stale()) return;
  covered.forEach((e, i) => state.proofs.set(e.sequence, results[i]));
  const verified = results.filter((r) => r.ok === true).length;
  const failed = covered.filter((e, i) => results[i].ok === false);
  const unchecked = results.filter((r) => r.ok === null).length;
  const howText = `How: for each shown event covered by the checkpoint, the viewer fetched its inclusion proof and recomputed, with SHA-256 in this browser (RFC 6962 hashing), the path from the event's leaf hash to the checkpoint's root.`;
  const notText = 'Not checked here: that each leaf hash is the hash of the event as shown (the leaf commits to salted personal fields the viewer does not receive). Export the evidence bundle and run auditlog verify for that.';
  const tail = [newer ? `${fmt(newer)} shown event${newer === 1 ? ' is' : 's are'} newer than the checkpoint (not in it yet).` : '',
    unchecked ? `${fmt(unchecked)} could not be checked (${results.find((r) => r.ok === null).reason}).` : ''].filter(Boolean).join(' ');
  const body = [cpText, sigText, howText, notText];
  if (failed.length) {
    const first = state.proofs.get(failed[0].sequence);
    setIntegrity('failed', `Verification FAILED for ${fmt(failed.length)} of ${fmt(covered.length)} shown events against the checkpoint of size ${sizeText}: ${first.reason}.`, body);
  } else if (verified === 0) {
    setIntegrity('pending', `None of the shown events is in the latest checkpoint (size ${sizeText}) yet. ${tail}`, body);
  } else {
    const s = unchecked ? 'partial' : 'verified';
    setIntegrity(s, `✓ Inclusion of ${fmt(verified)} shown event${verified === 1 ? '' : 's'} verified against checkpoint of size ${sizeText}${sig.state === 'valid' ? ' (signature valid)' : ''}. ${tail}`.trim(), body);
  }
  $('integrity').dataset.verified = String(verified);
  $('integrity').dataset.size = String(cp.size);
}

// ---------------------------------------------------------------- exports

async function download(format, button) {
  const status = $('export-status');
  const label = { csv: 'CSV export', ndjson: 'NDJSON export', bundle: 'evidence bundle' }[format];
  button.disabled = true;
  status.dataset.state = 'running';
  status.textContent = `Preparing the ${label}…`;
  const params = new URLSearchParams({ format });
  if (state.q) params.set('q', state.q);
  try {
    // A link cannot carry the api-token header: fetch the file, then save it from a Blob.
    const resp = await api(orgPath(`/events/export?${params}`), { as: 'response', accept: '*/*' });
    const blob = await resp.blob();
    const cd = resp.headers.get('Content-Disposition') || '';
    const m = /filename="([^"]+)"/.exec(cd);
    const name = m ? m[1] : `auditlog-export.${format === 'csv' ? 'csv' : 'ndjson'}`;
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.dataset.state = 'done';
    status.dataset.format = format;
    status.dataset.filename = name;
    status.dataset.bytes = String(blob.size);
    status.textContent = `Downloaded ${name} (${fmtBytes(blob.size)})` +
      (format === 'bundle' && state.q ? ': only the events matching the search, so the bundle is marked incomplete.' : '.');
  } catch (e) {
    status.dataset.state = 'error';
    status.textContent = `The ${label} failed: ${e.message}`;
    if (e.status === 401) handleError(e);
  } finally {
    button.disabled = false;
  }
}

function fmtBytes(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------- wiring

function wire() {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token-input').value.trim();
    if (!t) {
      $('signin-error').textContent = 'Enter an account API token.';
      $('token-input').focus();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, t);
    state.token = t;
    $('token-input').value = '';
    $('signin-error').textContent = '';
    loadUser();
  });
  $('sign-out').addEventListener('click', () => signOut(true));
  $('org-select').addEventListener('change', (ev) => {
    const m = state.user.organizations.find((o) => orgKey(o) === ev.target.value);
    if (m) selectOrg(m);
  });
  $('search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.q = $('q').value.trim();
    runSearch();
  });
  $('q').addEventListener('input', () => {
    if ($('q').getAttribute('aria-invalid')) clearQueryError();
  });
  $('q-clear').addEventListener('click', () => {
    $('q').value = '';
    state.q = '';
    runSearch();
    $('q').focus();
  });
  $('empty-clear').addEventListener('click', () => $('q-clear').click());
  for (const id of ['f-level', 'f-result', 'f-source']) {
    $(id).addEventListener('change', (ev) => applyFilter(ev.target.dataset.field, ev.target.value));
  }
  $('f-actor').addEventListener('change', (ev) => applyFilter('actor', ev.target.value));
  $('f-actor').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      applyFilter('actor', ev.target.value);
    }
  });
  $('range').addEventListener('change', loadActivity);
  $('page-older').addEventListener('click', () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page++;
    loadPage();
  });
  $('page-newer').addEventListener('click', () => {
    if (state.page === 0) return;
    state.page--;
    loadPage();
  });
  $('integrity-recheck').addEventListener('click', () => verifyShown(state.listGen));
  for (const b of document.querySelectorAll('[data-export]')) {
    b.addEventListener('click', () => download(b.dataset.export, b));
  }
  const d = $('detail');
  $('detail-close').addEventListener('click', () => d.close());
  d.addEventListener('close', () => {
    // Back to the row's button, unless focus went somewhere on purpose meanwhile.
    const a = document.activeElement;
    if (d.returnFocus && d.returnFocus.isConnected && (!a || a === document.body || d.contains(a))) d.returnFocus.focus();
    d.returnFocus = null;
  });
  d.addEventListener('click', (ev) => {
    if (ev.target === d) d.close(); // a click on the backdrop
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !$('view-events').hidden && !d.open &&
      !['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement.tagName)) {
      ev.preventDefault();
      $('q').focus();
    }
  });
  // An address typed or pasted into a tab that already runs the viewer (the
  // page's own changes of the fragment use replaceState and fire no event).
  window.addEventListener('hashchange', start);
}

function start() {
  readFragment();
  state.org = null; // the fragment names the organization and the search
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (!state.token) {
    showSignIn('');
    return;
  }
  loadUser();
}

wire();
start();
