// SPDX-License-Identifier: GPL-2.0-only
//
// The sluice console: one page, a view per #hash, all data from the JSON
// API (/api/, the MML commands' twins). No framework and no build step.
// The session is an HttpOnly cookie; the CSRF token from the login goes
// with every request that changes something. Data from the server only
// ever lands in the page as text (textContent), never as markup.
'use strict';

const state = { csrf: '', op: '', role: '', timer: null, lastPackets: null,
		events: null, chartTimer: null, lastEvent: null, traceCallid: '' };

const $ = (id) => document.getElementById(id);

function show(msg, error) {
	$('message').textContent = msg || '';
	$('message').className = error ? 'error' : '';
}

async function api(method, path, body) {
	const opt = { method, headers: {}, credentials: 'same-origin' };
	if (method !== 'GET') opt.headers['X-CSRF-Token'] = state.csrf;
	if (body !== undefined) {
		opt.headers['Content-Type'] = 'application/json';
		opt.body = JSON.stringify(body);
	}
	const res = await fetch(path, opt);
	let doc = {};
	try { doc = await res.json(); } catch (e) { doc = {}; }
	if (res.status === 401 && path !== '/api/login') {
		loggedOut(doc.error || 'not logged in');
		throw new Error(doc.error || 'not logged in');
	}
	if (!res.ok) throw new Error(doc.error || res.statusText);
	return doc;
}

const rows = (doc, i) => (doc.tables && doc.tables[i || 0] ? doc.tables[i || 0].rows : []);

function cell(tr, text, cls) {
	const td = document.createElement('td');
	td.textContent = text === null || text === undefined ? '-' : String(text);
	if (cls) td.className = cls;
	tr.appendChild(td);
	return td;
}

function button(label, cls, onclick) {
	const b = document.createElement('button');
	b.textContent = label;
	b.type = 'button';
	if (cls) b.className = cls;
	b.addEventListener('click', onclick);
	return b;
}

function fill(table, list, row) {
	const tbody = $(table).querySelector('tbody');
	tbody.replaceChildren();
	for (const item of list) {
		const tr = document.createElement('tr');
		row(tr, item);
		tbody.appendChild(tr);
	}
}

// ---- session ----

function loggedIn(doc) {
	state.csrf = doc.csrf || '';
	state.op = doc.op;
	state.role = doc.role;
	$('who').textContent = doc.op + ' (' + doc.role + ')';
	$('nav').hidden = false;
	$('logout').hidden = false;
	if (!location.hash || location.hash === '#login') location.hash = '#dashboard';
	else route();
}

function loggedOut(why) {
	state.csrf = '';
	$('nav').hidden = true;
	$('logout').hidden = true;
	$('who').textContent = '';
	stopTimer();
	location.hash = '#login';
	route();
	show(why || '', !!why);
}

$('login-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	show('Logging in...');
	try {
		const doc = await api('POST', '/api/login',
			{ op: $('login-op').value, password: $('login-password').value });
		$('login-password').value = '';
		show('');
		loggedIn(doc);
	} catch (e) {
		show(e.message, true);
	}
});

$('logout').addEventListener('click', async () => {
	try { await api('POST', '/api/logout'); } catch (e) { /* gone either way */ }
	loggedOut('Logged out.');
});

// ---- views ----

function stopTimer() {
	if (state.timer) clearInterval(state.timer);
	state.timer = null;
	if (state.chartTimer) clearInterval(state.chartTimer);
	state.chartTimer = null;
	if (state.events) state.events.close();
	state.events = null;
	callsStop();
}

const views = {
	login: () => {},
	dashboard: () => dashboardLive(),
	calls: () => callsLive(),
	trace: () => traceView(),
	subscribers: () => subscribers(),
	cdrs: () => cdrs(),
};

function route() {
	let name = (location.hash || '#login').slice(1);
	if (!views[name]) name = 'dashboard';
	if (!state.csrf && name !== 'login') name = 'login';
	for (const v of Object.keys(views)) $('page-' + v).hidden = v !== name;
	for (const a of document.querySelectorAll('#nav a'))
		a.classList.toggle('active', a.getAttribute('href') === '#' + name);
	stopTimer();
	show('');
	views[name]();
}
window.addEventListener('hashchange', route);

// The dashboard: one event a second pushed by sluiced (Server-Sent Events,
// GET /api/events), and the charts of the last hour every 10 s.
function dashboardLive() {
	$('dash-live').textContent = '(connecting)';
	const es = new EventSource('/api/events');
	state.events = es;
	state.lastEvent = null;
	es.onmessage = (ev) => {
		try {
			dashboardEvent(JSON.parse(ev.data));
			$('dash-live').textContent = '(live)';
		} catch (e) {
			show('dashboard: ' + e.message, true);
		}
	};
	es.onerror = () => {
		$('dash-live').textContent = '(reconnecting)';
		// A dead session: the API says so, and the page goes to the login.
		api('GET', '/api/session').catch(() => {});
	};
	charts();
	state.chartTimer = setInterval(charts, 10000);
}

function dashboardEvent(doc) {
	const v = doc.sysinfo.tables[0].values;
	$('dash-regs').textContent = v.REGISTRATIONS;
	$('dash-calls').textContent = v.CALLS;
	$('dash-sessions').textContent = v['MEDIA SESSIONS'];
	$('dash-subs').textContent = v.SUBSCRIBERS || '-';
	$('dash-path').textContent = v.DATAPATH;
	$('dash-cps').textContent = Number(doc.cps || 0).toFixed(2);
	const last = state.lastEvent;
	const secs = last ? Math.max(0.001, (doc.t - last.t) / 1000) : 1;
	fill('dash-paths', Object.keys(doc.paths).sort(), (tr, name) => {
		const p = doc.paths[name];
		const before = last && last.paths[name];
		cell(tr, name);
		cell(tr, p.streams, 'num');
		cell(tr, p.packets, 'num packets');
		cell(tr, p.bytes, 'num');
		cell(tr, before ? Math.max(0, Math.round((p.packets - before.packets) / secs)) : '-', 'num');
	});
	fill('dash-ifaces', Object.keys(doc.interfaces).sort(), (tr, name) => {
		const i = doc.interfaces[name];
		const before = last && last.interfaces[name];
		cell(tr, name);
		cell(tr, before ? Math.max(0, Math.round((i[0] - before[0]) / secs)) : '-', 'num');
		cell(tr, before ? Math.max(0, Math.round((i[1] - before[1]) / secs)) : '-', 'num');
		cell(tr, i[0], 'num');
		cell(tr, i[1], 'num');
	});
	fill('dash-sysinfo', rows(doc.sysinfo), (tr, r) => { cell(tr, r.name); cell(tr, r.value); });
	state.lastEvent = doc;
	document.body.dataset.events = String(Number(document.body.dataset.events || 0) + 1);
}

async function charts() {
	try {
		const h = await api('GET', '/api/history');
		const span = 3600 * 1000;
		drawChart($('chart-cps'), h.samples.map((x) => [x.t, x.cps]),
			  { now: h.now, span, title: 'Calls per second', digits: 2 });
		drawChart($('chart-mos'), h.samples.map((x) => [x.t, x.mos]),
			  { now: h.now, span, title: 'Mean MOS', digits: 1, min: 1, max: 5 });
	} catch (e) {
		show(e.message, true);
	}
}

function streamTable(list) {
	const t = document.createElement('table');
	t.className = 'streams';
	const head = document.createElement('tr');
	for (const h of ['Leg', 'Peer', 'Packets', 'Bytes', 'Lost', 'Jitter (ms)', 'MOS', 'Path']) {
		const th = document.createElement('th');
		th.textContent = h;
		head.appendChild(th);
	}
	t.appendChild(head);
	for (const s of list) {
		const tr = document.createElement('tr');
		tr.className = 'stream';
		cell(tr, s.stream + s.leg);
		cell(tr, s.peer);
		cell(tr, s.packets, 'num packets');
		cell(tr, s.bytes, 'num');
		cell(tr, s.lost, 'num');
		cell(tr, s.jitter, 'num');
		cell(tr, s.mos, 'num');
		cell(tr, s.path, 'path');
		t.appendChild(tr);
	}
	return t;
}

// The live calls page: the full list once (GET /api/calls) when the event
// stream opens, then each second's event (GET /api/events) carries the
// calls that began or changed, whole, and the Call-IDs of all calls up:
// rows are added or replaced, and those no longer listed leave. A listed
// call without a row or a number skipped (an event missed) fetches the
// full list again.
// Durations tick in the page, and the stream counters are fetched each
// second, only for the calls on screen: a row coming into view gets both
// at once. (The page is on the machine that runs sluiced more often than
// not: what it does each second for rows nobody sees costs the SIP path
// too, through the cache and memory they share.)
const live = { rows: new Map(), visible: new Set(), observer: null, loading: false,
	       again: false, pending: [], inflight: 0, seq: null, ticked: 0 };
const LIVE_MAX_STREAMS = 12;	// calls whose streams are fetched each second
const LIVE_REFETCH_MS = 900;	// a row's streams fetched this recently wait for the next second

function callsLive() {
	for (const id of [...live.rows.keys()]) dropCall(id);
	live.seq = null;
	live.observer = new IntersectionObserver((entries) => {
		const fresh = [];
		for (const e of entries) {
			const id = e.target.dataset.callid;
			if (!e.isIntersecting) {
				live.visible.delete(id);
			} else if (!live.visible.has(id)) {
				live.visible.add(id);
				fresh.push(id);
				tickDuration(live.rows.get(id), Date.now());
			}
		}
		callStreams(fresh);	// now, not at the next second: in one request
	});
	const es = new EventSource('/api/events');
	state.events = es;
	es.onopen = () => callsReload();	// the first time, and after each reconnection
	es.onmessage = (ev) => {
		try {
			callsEvent(JSON.parse(ev.data));
		} catch (e) {
			show('calls: ' + e.message, true);
		}
	};
	es.onerror = () => { api('GET', '/api/session').catch(() => {}); };
	// The ticks ride on the events (one change of the page a second, not
	// two); this one only when the events stop coming.
	state.timer = setInterval(() => { if (Date.now() - live.ticked >= 1500) callsTick(); }, 1000);
}

function callsStop() {
	if (live.observer) live.observer.disconnect();
	live.observer = null;
	live.visible.clear();
}

const bump = (key) => { document.body.dataset[key] = String(Number(document.body.dataset[key] || 0) + 1); };

async function callsReload() {
	if (live.loading) {
		live.again = true;
		return;
	}
	live.loading = true;
	live.pending = [];
	try {
		const doc = await api('GET', '/api/calls');
		const at = Date.now();
		const list = rows(doc);
		const keep = new Set(list.map((c) => c.callid));
		for (const id of [...live.rows.keys()]) if (!keep.has(id)) dropCall(id);
		const tbody = $('calls-table').querySelector('tbody');
		for (const c of list) tbody.append(putCall(c, at).tr);	// newest first, as listed
		// What the events brought while the list was on its way is newer still.
		for (const [c, t] of live.pending) putCall(c, t);
		bump('callsLists');
	} catch (e) {
		show(e.message, true);
	}
	live.loading = false;
	live.pending = [];
	callsCount();
	if (live.again && state.events) {
		live.again = false;
		callsReload();
	}
}

function callsEvent(doc) {
	const c = doc.calls;
	if (!c || !live.observer) return;
	const at = Date.now();
	for (let i = c.changed.length - 1; i >= 0; i--) {	// listed newest first
		putCall(c.changed[i], at);
		if (live.loading) live.pending.push([c.changed[i], at]);
	}
	const ids = new Set(c.ids);
	for (const id of [...live.rows.keys()]) if (!ids.has(id)) dropCall(id);
	// An event missed (the server sends only the newest): its changes too.
	const skipped = live.seq !== null && c.seq !== live.seq + 1;
	live.seq = c.seq;
	if (!live.loading && (skipped || c.ids.some((id) => !live.rows.has(id)))) callsReload();
	callsCount();
	callsTick();
	bump('callsEvents');
}

function callsCount() {
	$('calls-count').textContent = '(' + live.rows.size + ')';
}

// A call's row, made the first time and its cells rewritten after.
function putCall(call, at) {
	let r = live.rows.get(call.callid);
	if (!r) {
		const tr = document.createElement('tr');
		tr.className = 'call';
		tr.dataset.callid = call.callid;
		r = { tr, cells: [] };
		for (const cls of ['', '', 'state', '', 'num duration']) r.cells.push(cell(tr, '', cls));
		r.streams = cell(tr, '');
		const act = cell(tr, '');
		act.replaceChildren(button('Ladder', 'plain ladder', () => {
			state.traceCallid = call.callid;
			location.hash = '#trace';
		}), button('Hang up', 'danger hangup', async () => {
			try {
				await api('DELETE', '/api/calls/' + encodeURIComponent(call.callid));
				show('Call hung up.');
			} catch (e) { show(e.message, true); }
		}));
		if (state.role === 'ADMIN') act.append(listenButton(call));
		live.rows.set(call.callid, r);
		$('calls-table').querySelector('tbody').prepend(tr);
		if (live.observer) live.observer.observe(tr);
	}
	r.call = call;
	r.at = at;
	const texts = [call.caller, call.callee, call.state, call.start, call.duration];
	texts.forEach((t, i) => { r.cells[i].textContent = t === null || t === undefined ? '-' : String(t); });
	return r;
}

function dropCall(id) {
	const r = live.rows.get(id);
	if (!r) return;
	if (live.observer) live.observer.unobserve(r.tr);
	r.tr.remove();
	live.rows.delete(id);
	live.visible.delete(id);
}

// A row's duration, counted on from what the server said at r.at.
function tickDuration(r, now) {
	if (r && typeof r.call.duration === 'number')
		r.cells[4].textContent = String(r.call.duration + Math.floor((now - r.at) / 1000));
}

// Each second: the calls on screen tick and get their streams.
function callsTick() {
	const now = Date.now();
	live.ticked = now;
	for (const id of live.visible) tickDuration(live.rows.get(id), now);
	if (live.inflight) return;	// the last second's answers are not all in
	// Those fetched less than a second ago (as they came into view) wait for the next.
	callStreams([...live.visible].filter((id) => live.rows.has(id) &&
					     now - (live.rows.get(id).fetched || 0) >= LIVE_REFETCH_MS));
}

// The streams of calls on screen (at most LIVE_MAX_STREAMS), in one request
// (GET /api/streams?callid=A&callid=B...): each call's rows to its own.
function callStreams(ids) {
	ids = ids.slice(0, LIVE_MAX_STREAMS);
	if (!ids.length) return;
	const at = Date.now();
	for (const id of ids) if (live.rows.has(id)) live.rows.get(id).fetched = at;
	live.inflight++;
	api('GET', '/api/streams?' + ids.map((id) => 'callid=' + encodeURIComponent(id)).join('&')).then((doc) => {
		const by = new Map(ids.map((id) => [id, []]));
		for (const s of rows(doc)) if (by.has(s.session)) by.get(s.session).push(s);
		for (const [id, list] of by) {
			const r = live.rows.get(id);
			if (r) r.streams.replaceChildren(streamTable(list));
		}
		bump('streamsFetched');
		document.body.dataset.streamCalls = String(Number(document.body.dataset.streamCalls || 0) + ids.length);
	}).catch(() => {}).finally(() => { live.inflight--; });
}

// ---- the SIP trace: calls found, a call's ladder, a message whole ----

async function traceView() {
	const id = state.traceCallid;
	state.traceCallid = '';
	if (id) {
		$('trace-by').value = 'callid';
		$('trace-q').value = id;
	}
	await traceSearch();
}

async function traceSearch() {
	const q = $('trace-q').value.trim();
	const by = $('trace-by').value;
	try {
		if (by === 'callid' && q) {
			fill('trace-calls', [], () => {});
			await traceCall(q);
			return;
		}
		const doc = await api('GET', '/api/siptrace' + (q ? '?number=' + encodeURIComponent(q) : ''));
		fill('trace-calls', rows(doc), (tr, c) => {
			tr.className = 'tcall';
			tr.dataset.callid = c.callid;
			for (const k of ['callid', 'otherleg', 'start', 'messages', 'first']) cell(tr, c[k]);
			tr.addEventListener('click', () => {
				for (const x of document.querySelectorAll('tr.tcall')) x.classList.remove('active');
				tr.classList.add('active');
				traceCall(c.callid);
			});
		});
		if (!rows(doc).length) show('No traced call' + (q ? ' of ' + q : '') + '.');
	} catch (e) {
		show(e.message, true);
	}
}

async function traceCall(id) {
	try {
		const doc = await api('GET', '/api/siptrace?callid=' + encodeURIComponent(id));
		const msgs = rows(doc);
		$('trace-title').textContent = 'Call ' + id + ' (' + msgs.length + ' messages)';
		$('trace-msg').hidden = true;
		drawLadder($('trace-ladder'), msgs, traceMessage);
		if (!msgs.length) show('No message of ' + id + ' in the trace.');
	} catch (e) {
		show(e.message, true);
	}
}

async function traceMessage(seq) {
	try {
		const doc = await api('GET', '/api/siptrace?seq=' + encodeURIComponent(seq));
		const m = rows(doc)[0];
		$('trace-msg').textContent = m.time + '  ' + m.dir + ' ' + m.proto + '  ' + m.src + ' -> ' +
			m.dst + (m.cut === 'YES' ? '  (cut)' : '') + '\n\n' + (doc.text || []).join('\n');
		$('trace-msg').hidden = false;
		$('trace-msg').dataset.seq = String(seq);
	} catch (e) {
		show(e.message, true);
	}
}

$('trace-form').addEventListener('submit', (ev) => { ev.preventDefault(); traceSearch(); });

function subForm(sub) {
	$('sub-editing').value = sub ? sub.username : '';
	$('sub-form-title').textContent = sub ? 'Change ' + sub.username : 'Add a subscriber';
	$('sub-submit').textContent = sub ? 'Save' : 'Add';
	$('sub-cancel').hidden = !sub;
	$('sub-username').value = sub ? sub.username : '';
	$('sub-username').disabled = !!sub;
	$('sub-password').value = '';
	$('sub-display').value = sub ? sub.displayname : '';
	$('sub-phone').value = sub ? sub.phone : '';
	$('sub-email').value = sub ? sub.email : '';
	$('sub-status').value = sub ? sub.status : 'ACTIVE';
}

async function subscribers() {
	try {
		const q = $('sub-search').value.trim();
		const doc = await api('GET', '/api/subscribers' + (q ? '?search=' + encodeURIComponent(q) : ''));
		fill('subs-table', rows(doc), (tr, sub) => {
			tr.dataset.username = sub.username;
			for (const k of ['username', 'impu', 'displayname', 'phone', 'email', 'status'])
				cell(tr, sub[k]);
			cell(tr, sub.bindings, 'num');
			const act = cell(tr, '');
			act.replaceChildren(button('Edit', 'plain edit', () => subForm(sub)),
				button('Remove', 'danger remove', async () => {
					if (!confirm('Remove subscriber ' + sub.username + ' and its registrations?')) return;
					try {
						await api('DELETE', '/api/subscribers/' + encodeURIComponent(sub.username));
						show('Subscriber ' + sub.username + ' removed.');
						subscribers();
					} catch (e) { show(e.message, true); }
				}));
		});
	} catch (e) {
		show(e.message, true);
	}
}

$('sub-search-form').addEventListener('submit', (ev) => { ev.preventDefault(); subscribers(); });
$('sub-cancel').addEventListener('click', () => subForm(null));
$('sub-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const editing = $('sub-editing').value;
	const body = { display_name: $('sub-display').value, phone: $('sub-phone').value,
		       email: $('sub-email').value, status: $('sub-status').value };
	if ($('sub-password').value) body.password = $('sub-password').value;
	try {
		if (editing) {
			await api('PATCH', '/api/subscribers/' + encodeURIComponent(editing), body);
			show('Subscriber ' + editing + ' changed.');
		} else {
			body.username = $('sub-username').value;
			await api('POST', '/api/subscribers', body);
			show('Subscriber ' + body.username + ' added.');
		}
		subForm(null);
		subscribers();
	} catch (e) {
		show(e.message, true);
	}
});

function cdrQuery() {
	const p = new URLSearchParams();
	for (const k of ['from', 'to', 'caller', 'callee', 'number', 'code', 'disposition', 'type']) {
		const v = $('cdr-' + k).value.trim();
		if (v) p.set(k, v);
	}
	return p.toString();
}

async function cdrs() {
	const q = cdrQuery();
	$('cdr-csv').href = '/api/cdrs.csv' + (q ? '?' + q : '');
	try {
		const doc = await api('GET', '/api/cdrs' + (q ? '?' + q : ''));
		fill('cdrs-table', rows(doc), (tr, r) => {
			tr.className = 'cdr';
			for (const k of ['id', 'type', 'start', 'caller', 'callee', 'disposition', 'code',
					 'duration', 'reason', 'mos_a', 'mos_b', 'path'])
				cell(tr, r[k]);
		});
	} catch (e) {
		show(e.message, true);
	}
}

$('cdr-form').addEventListener('submit', (ev) => { ev.preventDefault(); cdrs(); });
for (const k of ['from', 'to', 'caller', 'callee', 'number', 'code', 'disposition', 'type'])
	$('cdr-' + k).addEventListener('change', () => {
		const q = cdrQuery();
		$('cdr-csv').href = '/api/cdrs.csv' + (q ? '?' + q : '');
	});

// ---- start: a session that is still alive, or the login ----

(async () => {
	try {
		const res = await fetch('/api/session', { credentials: 'same-origin' });
		if (res.ok) {
			loggedIn(await res.json());
			return;
		}
	} catch (e) { /* not logged in */ }
	loggedOut('');
})();
