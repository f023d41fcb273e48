// SPDX-License-Identifier: GPL-2.0-only
//
// A browser on the console's live calls page for tests/bench/console.sh:
// playwright-core (tests/web/node_modules) drives Debian's chromium,
// headless, logs in and stays on #calls (which follows the calls' events
// and fetches the stream counters of the calls on screen every second)
// until killed; it prints "watching" once the page shows, and how many
// refreshes it saw when it ends.
//
// With --switch it logs in, leaves for about:blank (no page, no event
// stream) and prints "ready"; then each line "on" on its standard input
// opens the live calls page again (the session's cookie kept) and "off"
// leaves it for about:blank, each answered "on" or "off" once done. The
// refreshes are added up over the "on" spells; EOF or SIGTERM ends it.
//
//   node console-watch.js URL OPERATOR PASSWORD [--switch]
'use strict';

const path = require('path');
const { chromium } = require(path.join(__dirname, '../web/node_modules/playwright-core'));

const [url, op, password, mode] = process.argv.slice(2);

async function main() {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		handleSIGTERM: false,	// the counts are read from the page first
		handleSIGINT: false,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
	});
	const page = await browser.newPage();
	await page.goto(url + '/');
	await page.fill('#login-op', op);
	await page.fill('#login-password', password);
	await page.click('#login-submit');
	await page.waitForSelector('#page-dashboard:not([hidden])', { timeout: 10000 });
	await page.click('a[href="#calls"]');
	await page.waitForSelector('#page-calls:not([hidden])', { timeout: 5000 });
	const total = { callsEvents: 0, callsLists: 0, streamsFetched: 0, streamCalls: 0, rows: 0 };
	let onPage = true;
	// What the page counted since it opened, added to the totals.
	const collect = async () => {
		const d = await page.evaluate(() => Object.assign({
			rows: document.querySelectorAll('#calls-table tr.call').length }, document.body.dataset)).catch((e) => ({ error: String(e.message || e).split('\n')[0] }));
		for (const k of ['callsEvents', 'callsLists', 'streamsFetched', 'streamCalls'])
			total[k] += Number(d[k] || 0);
		total.rows = Number(d.rows || 0);
		if (d.error)
			total.error = d.error;
	};
	const stop = async () => {
		if (onPage)
			await collect();
		console.log('refreshes: ' + total.callsEvents + ' events, ' + total.callsLists +
			    ' full lists, ' + total.streamsFetched + ' stream fetches (of ' + total.streamCalls + ' calls), ' +
			    total.rows + ' rows up at the end' + (total.error ? ' (' + total.error + ')' : ''));
		await browser.close();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	if (mode !== '--switch') {
		console.log('watching');
		return;
	}
	const off = async () => {
		if (onPage)
			await collect();
		onPage = false;
		await page.goto('about:blank');
	};
	await off();
	console.log('ready');
	// One command at a time, in order.
	let queue = Promise.resolve();
	const rl = require('readline').createInterface({ input: process.stdin });
	rl.on('line', (line) => {
		queue = queue.then(async () => {
			const cmd = line.trim();
			if (cmd === 'on' && !onPage) {
				await page.goto(url + '/#calls');
				await page.waitForSelector('#page-calls:not([hidden])', { timeout: 60000 });
				onPage = true;
			} else if (cmd === 'off') {
				await off();
			}
			console.log(cmd);
		}).catch((e) => {
			console.log('failed ' + String(e.message || e).split('\n')[0]);
			process.exit(1);
		});
	});
	rl.on('close', () => { queue.then(stop); });
}

main().catch((e) => {
	console.log('failed ' + String(e.message || e).split('\n')[0]);
	process.exit(1);
});
