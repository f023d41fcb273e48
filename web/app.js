// SPDX-License-Identifier: GPL-2.0-only
//
// The sluice console: one page, a view per #hash, all data from the JSON
// API (/api/, the MML commands' twins). No framework and no build step.
// The session is an HttpOnly cookie; the CSRF token from the login goes
// with every request that changes something. Data from the server only
// ever lands in the page as text (textContent), never as markup.
'use strict';

const state = { csrf: '', op: '', role: '', timer: null, lastPackets: null };

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
}

function every(ms, fn) {
	stopTimer();
	fn();
	state.timer = setInterval(fn, ms);
}

const views = {
	login: () => {},
	dashboard: () => every(1000, dashboard),
	calls: () => every(1000, calls),
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

async function dashboard() {
	try {
		const [sys, streams] = await Promise.all([api('GET', '/api/sysinfo'),
							   api('GET', '/api/streams')]);
		const v = sys.tables[0].values;
		$('dash-regs').textContent = v.REGISTRATIONS;
		$('dash-calls').textContent = v.CALLS;
		$('dash-sessions').textContent = v['MEDIA SESSIONS'];
		$('dash-subs').textContent = v.SUBSCRIBERS || '-';
		$('dash-path').textContent = v.DATAPATH;
		const paths = {};
		for (const s of rows(streams)) {
			const p = paths[s.path] || (paths[s.path] = { n: 0, packets: 0, bytes: 0 });
			p.n++;
			p.packets += s.packets || 0;
			p.bytes += s.bytes || 0;
		}
		const last = state.lastPackets || {};
		state.lastPackets = {};
		fill('dash-paths', Object.keys(paths).sort(), (tr, name) => {
			const p = paths[name];
			state.lastPackets[name] = p.packets;
			cell(tr, name);
			cell(tr, p.n, 'num');
			cell(tr, p.packets, 'num');
			cell(tr, p.bytes, 'num');
			cell(tr, last[name] === undefined ? '-' : Math.max(0, p.packets - last[name]), 'num');
		});
		fill('dash-sysinfo', rows(sys), (tr, r) => { cell(tr, r.name); cell(tr, r.value); });
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

async function calls() {
	try {
		const [c, s] = await Promise.all([api('GET', '/api/calls'), api('GET', '/api/streams')]);
		const list = rows(c);
		$('calls-count').textContent = '(' + list.length + ')';
		fill('calls-table', list, (tr, call) => {
			tr.className = 'call';
			tr.dataset.callid = call.callid;
			cell(tr, call.caller);
			cell(tr, call.callee);
			cell(tr, call.state);
			cell(tr, call.start);
			cell(tr, call.duration, 'num');
			const td = cell(tr, '');
			td.replaceChildren(streamTable(rows(s).filter((x) => x.session === call.callid)));
			const act = cell(tr, '');
			act.replaceChildren(button('Hang up', 'danger hangup', async () => {
				try {
					await api('DELETE', '/api/calls/' + encodeURIComponent(call.callid));
					show('Call hung up.');
					calls();
				} catch (e) { show(e.message, true); }
			}));
			if (state.role === 'ADMIN') act.append(listenButton(call));
		});
	} catch (e) {
		show(e.message, true);
	}
}

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
	for (const k of ['from', 'to', 'caller', 'callee', 'disposition', 'type']) {
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
for (const k of ['from', 'to', 'caller', 'callee', 'disposition', 'type'])
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
