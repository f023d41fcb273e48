// SPDX-License-Identifier: GPL-2.0-only
//
// Test calls from the live calls page (an ADMIN's): sluiced calls a
// registered subscriber, plays a prompt from [testcall] prompts and hangs
// up, or, given a second subscriber, connects the two once the first
// answers (click-to-dial) (POST /api/testcalls, MML's ORG TESTCALL). The
// call then shows in the table like any other; its CDR is marked as a
// test call.
'use strict';

function testcallForm() {
	if ($('testcall-form') || state.role !== 'ADMIN') return;
	const f = document.createElement('form');
	f.id = 'testcall-form';
	f.className = 'inline';
	const field = (label, id, value) => {
		const l = document.createElement('label');
		l.textContent = label;
		const i = document.createElement('input');
		i.id = id;
		i.value = value;
		l.appendChild(i);
		f.appendChild(l);
	};
	field('Test call to (user name)', 'testcall-callee', '');
	field('Prompt', 'testcall-prompt', 'tone.wav');
	field('or connect to (click-to-dial)', 'testcall-bridge', '');
	const go = document.createElement('button');
	go.id = 'testcall-submit';
	go.textContent = 'Test call';
	f.appendChild(go);
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const body = { callee: $('testcall-callee').value };
			if ($('testcall-bridge').value) body.bridge = $('testcall-bridge').value;
			else body.prompt = $('testcall-prompt').value;
			const doc = await api('POST', '/api/testcalls', body);
			show('Test call ' + rows(doc)[0].callid + ' started.');
		} catch (e) { show(e.message, true); }
	});
	const page = $('page-calls');
	page.insertBefore(f, page.querySelector('table'));
}

window.addEventListener('hashchange', () => { if (location.hash === '#calls') testcallForm(); });
window.addEventListener('load', () => { if (location.hash === '#calls') testcallForm(); });
