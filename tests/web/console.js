// SPDX-License-Identifier: GPL-2.0-only
//
// The console in a real browser (tests/integration/53-web-console.t runs
// it): playwright-core drives Debian's chromium, headless. It logs in,
// adds the subscribers, waits for the test to register two sipp phones
// and call, sees the call on the live calls page with its stream
// counters moving, hangs it up from the page, finds its CDR and exports
// the CSV; on the way it checks the dashboard's live push and charts and
// the call's ladder diagram in the SIP trace. Each check prints "RESULT 0|1 description" for the TAP script;
// screenshots land in SHOTS.
//
//   node console.js URL STEPDIR SHOTS
//
// STEPDIR: where this script and the test leave each other files saying
// how far they are (subs-added, call-up, hung-up).
'use strict';

const fs = require('fs');
const path = require('path');
const web = require('./lib.js');

const { result, launch, login } = web;
const [url, steps, shots] = process.argv.slice(2);
const waitFile = (name, ms) => web.waitFile(steps, name, ms);

async function shot(page, name) {
	await page.screenshot({ path: path.join(shots, 'web-' + name + '.png'), fullPage: true });
}

async function addSubscriber(page, user, pw, display) {
	await page.fill('#sub-username', user);
	await page.fill('#sub-password', pw);
	await page.fill('#sub-display', display);
	await page.click('#sub-submit');
	await page.waitForSelector('#subs-table tr[data-username="' + user + '"]', { timeout: 5000 });
}

// The live calls page follows the pushed events: the test's second call
// (2001 to 2003, 4 s) shows up and leaves without the page asking for
// the full list again, the first call staying, its duration ticking.
async function pushedCalls(page) {
	const data = (k) => page.evaluate((key) => Number(document.body.dataset[key] || 0), k);
	const callees = () => page.$$eval('#calls-table tr.call', (trs) => trs.map((tr) => tr.children[1].textContent));
	const dur = () => page.textContent('#calls-table tr.call td.duration').then(Number);
	const lists = await data('callsLists');
	const events = await data('callsEvents');
	const d1 = await dur();
	fs.writeFileSync(path.join(steps, 'calls-watched'), '');
	const came = await page.waitForFunction(() => document.querySelectorAll('#calls-table tr.call').length === 2,
						null, { timeout: 20000 }).then(() => true, () => false);
	const both = await callees();
	result(came && both.includes('sip:2003@ims.local') && both.includes('sip:2002@ims.local'),
	       'a new call appears on the live calls page by itself (' + both.join(', ') + ')');
	result(lists === await data('callsLists') && (await data('callsEvents')) > events,
	       '... from the pushed events, the full list not fetched again (' + lists + ' list(s))');
	result(await page.textContent('#calls-count') === '(2)', '... and the count says 2');
	const gone = await page.waitForFunction(() => document.querySelectorAll('#calls-table tr.call').length === 1,
						null, { timeout: 15000 }).then(() => true, () => false);
	const left = await callees();
	result(came && gone && left.length === 1 && left[0] === 'sip:2002@ims.local' && lists === await data('callsLists'),
	       'the call that ended leaves the page, the first one stays (' + left.join(', ') + ')');
	result(await waitFile('call2-done', 10000), 'the test\'s second call ended cleanly');
	const d2 = await dur();
	result(d2 > d1, 'the first call\'s duration ticks (' + d1 + ' s -> ' + d2 + ' s)');
	result(await page.textContent('#calls-count') === '(1)', '... and the count says 1');
}

async function main() {
	const browser = await launch();
	const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
	const page = await context.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));

	await page.goto(url + '/');
	await page.waitForSelector('#page-login:not([hidden])', { timeout: 5000 });
	result(true, 'the console opens on its login page');
	await page.fill('#login-op', 'admin');
	await page.fill('#login-password', 'wrong-password');
	await page.click('#login-submit');
	await page.waitForFunction(() => document.querySelector('#message').classList.contains('error'),
				   null, { timeout: 5000 });
	result(/login failed/.test(await page.textContent('#message')), 'a wrong password is refused on the page');
	await shot(page, 'login');
	await login(page, 'admin', 'web-admin-pw');
	result((await page.textContent('#who')).includes('admin (ADMIN)'), 'admin logs in and sees the dashboard');
	const cookies = await context.cookies();
	const c = cookies.find((x) => x.name === 'sluice_session');
	result(c && c.httpOnly && c.sameSite === 'Strict', 'the session cookie is HttpOnly, SameSite=Strict');
	result(await page.evaluate(() => !document.cookie.includes('sluice_session')),
	       '... and the page\'s script cannot read it');

	await page.click('a[href="#subscribers"]');
	await page.waitForSelector('#page-subscribers:not([hidden])');
	await addSubscriber(page, '2001', 'pw-2001-x', 'Alice');
	await addSubscriber(page, '2002', 'pw-2002-x', 'Bob');
	result((await page.textContent('#subs-table tr[data-username="2002"]')).includes('Bob'),
	       'two subscribers added from the subscribers page');
	await page.click('#subs-table tr[data-username="2002"] button.edit');
	await page.fill('#sub-phone', '+4930222');
	await page.click('#sub-submit');
	await page.waitForFunction(() => {
		const tr = document.querySelector('#subs-table tr[data-username="2002"]');
		return tr && tr.textContent.includes('+4930222');
	}, null, { timeout: 5000 });
	result(true, '... and one changed');
	await shot(page, 'subscribers');
	fs.writeFileSync(path.join(steps, 'subs-added'), '');

	result(await waitFile('call-up', 30000), 'the test\'s phones registered and called');
	await page.click('a[href="#dashboard"]');
	await page.waitForFunction(() => document.querySelector('#dash-regs').textContent === '2',
				   null, { timeout: 5000 }).catch(() => {});
	result((await page.textContent('#dash-regs')) === '2', 'the dashboard shows two registrations');
	await page.waitForFunction(() => document.querySelector('#dash-calls').textContent === '1',
				   null, { timeout: 5000 }).catch(() => {});
	result((await page.textContent('#dash-calls')) === '1', '... and one call');
	const ev1 = await page.evaluate(() => Number(document.body.dataset.events || 0));
	await page.waitForTimeout(2200);
	const ev2 = await page.evaluate(() => Number(document.body.dataset.events || 0));
	result(ev2 >= ev1 + 1 && (await page.textContent('#dash-live')) === '(live)',
	       'the dashboard is pushed live (' + ev1 + ' -> ' + ev2 + ' events)');
	result(/^[0-9]+\.[0-9]{2}$/.test(await page.textContent('#dash-cps')), '... with calls per second');
	result((await page.$$('#dash-ifaces tbody tr')).length >= 1, '... and the interfaces\' packet rates');
	await page.waitForSelector('#chart-mos svg.chart', { timeout: 5000 }).catch(() => {});
	result((await page.$$('.chartbox svg.chart path, .chartbox svg.chart text.last')).length >= 2,
	       'the hour\'s charts of calls per second and MOS are drawn');
	await shot(page, 'dashboard');

	await page.click('a[href="#calls"]');
	await page.waitForSelector('#calls-table tr.call', { timeout: 5000 });
	const callText = await page.textContent('#calls-table tr.call');
	result(/sip:2001@ims\.local/.test(callText) && /sip:2002@ims\.local/.test(callText) && /ACTIVE/.test(callText),
	       'the live calls page shows the call, up');
	const packets = async () => page.$$eval('#calls-table tr.stream td.packets',
						(tds) => tds.map((td) => Number(td.textContent)));
	await page.waitForSelector('#calls-table tr.stream', { timeout: 5000 }).catch(() => {});
	const p1 = await packets();
	await page.waitForTimeout(2500);
	const p2 = await packets();
	result(p1.length === 2 && p2.length === 2, 'its stream shows both legs (' + p2.length + ' rows)');
	result(p2.some((v, i) => v > p1[i]), 'the stream counters move (' + p1.join('/') + ' -> ' + p2.join('/') + ')');
	const paths = await page.$$eval('#calls-table tr.stream td.path', (tds) => tds.map((td) => td.textContent));
	result(paths.every((p) => p === 'user'), 'each stream names its path (' + paths.join(',') + ')');
	await shot(page, 'calls');
	await pushedCalls(page);
	await page.click('#calls-table tr.call button.ladder');
	await page.waitForSelector('#page-trace:not([hidden]) svg.ladder g.msg', { timeout: 5000 }).catch(() => {});
	const live = await page.$$eval('svg.ladder g.msg text.label', (ts) => ts.map((t) => t.textContent));
	result(live.includes('INVITE') && live.includes('200 OK') && live.includes('ACK'),
	       'the call\'s Ladder button draws its ladder (' + live.join(',') + ')');
	await page.click('a[href="#calls"]');
	await page.waitForSelector('#calls-table tr.call', { timeout: 5000 });
	page.on('dialog', (d) => d.accept());
	await page.click('#calls-table tr.call button.hangup');
	await page.waitForFunction(() => !document.querySelector('#calls-table tr.call'), null, { timeout: 5000 })
		.then(() => result(true, 'hung up from the page: the call is gone'))
		.catch(() => result(false, 'hung up from the page: the call is gone'));
	fs.writeFileSync(path.join(steps, 'hung-up'), '');

	await page.click('a[href="#trace"]');
	await page.selectOption('#trace-by', 'number');
	await page.fill('#trace-q', '2001');
	await page.click('#trace-search');
	await page.waitForSelector('#trace-calls tr.tcall', { timeout: 5000 }).catch(() => {});
	const found = await page.$$eval('#trace-calls tr.tcall', (trs) => trs.map((tr) => tr.textContent));
	const inv = found.findIndex((t) => /INVITE/.test(t));
	result(inv >= 0, 'the SIP trace finds 2001\'s call by number (' + found.length + ' found)');
	await page.click('#trace-calls tr.tcall >> nth=' + Math.max(0, inv));
	await page.waitForFunction(() => [...document.querySelectorAll('svg.ladder text.label')]
		.some((t) => t.textContent === 'BYE'), null, { timeout: 5000 }).catch(() => {});
	const labels = await page.$$eval('svg.ladder text.label', (ts) => ts.map((t) => t.textContent));
	const parties = await page.$$eval('svg.ladder text.party', (ts) => ts.map((t) => t.textContent));
	result(['INVITE', '200 OK', 'ACK', 'BYE'].every((x) => labels.includes(x)) && parties.length === 3,
	       'its ladder: INVITE, 200, ACK and BYE between caller, sluiced and callee (' + labels.length +
	       ' arrows, ' + parties.join(' | ') + ')');
	await page.click('svg.ladder g.msg >> nth=0');
	await page.waitForSelector('#trace-msg:not([hidden])', { timeout: 5000 }).catch(() => {});
	result(/INVITE sip:2002@ims\.local SIP\/2\.0[\s\S]*Call-ID:/.test(await page.textContent('#trace-msg')),
	       'a click on an arrow opens the message whole');
	await shot(page, 'trace');

	await page.click('a[href="#cdrs"]');
	await page.selectOption('#cdr-type', 'CALL');
	await page.fill('#cdr-number', '2002');
	await page.fill('#cdr-code', '200');
	await page.click('#cdr-search');
	await page.waitForSelector('#cdrs-table tr.cdr', { timeout: 5000 }).catch(() => {});
	result((await page.$$('#cdrs-table tr.cdr')).length === 1, 'the CDRs page finds the call by either number and cause');
	await page.fill('#cdr-number', '');
	await page.fill('#cdr-code', '');
	await page.fill('#cdr-caller', '2001');
	await page.fill('#cdr-callee', '2002');	// not the second call, to 2003
	await page.click('#cdr-search');
	await page.waitForSelector('#cdrs-table tr.cdr', { timeout: 5000 }).catch(() => {});
	const cdr = await page.$$eval('#cdrs-table tr.cdr', (trs) => trs.map((tr) => tr.textContent));
	result(cdr.length === 1 && /ANSWERED/.test(cdr[0]) && /admin/.test(cdr[0]),
	       'the CDRs page finds the call\'s record, closed by the operator (' + cdr.length + ')');
	await shot(page, 'cdrs');
	const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cdr-csv')]);
	const csv = path.join(shots, 'web-cdrs.csv');
	await download.saveAs(csv);
	const lines = fs.readFileSync(csv, 'utf8').trim().split(/\r?\n/);
	result(lines.length === 2 && /^record_id,/.test(lines[0]) && lines[1].includes('2001'),
	       'Export CSV downloads the header and the call\'s row (' + lines.length + ' lines)');

	await page.click('#logout');
	await page.waitForSelector('#page-login:not([hidden])', { timeout: 5000 });
	const after = await page.evaluate(async () => (await fetch('/api/sysinfo')).status);
	result(after === 401, 'after logging out the API answers 401');
	result(errors.length === 0, 'no script errors in the page' + (errors.length ? ': ' + errors.join('; ') : ''));
	await browser.close();
}

web.run(main);
