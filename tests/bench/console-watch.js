// SPDX-License-Identifier: GPL-2.0-only
//
// A browser on the console's live calls page for tests/bench/console.sh:
// playwright-core (tests/web/node_modules) drives Debian's chromium,
// headless, logs in and stays on #calls (which asks for the calls and
// their streams every second) until killed; it prints "watching" once
// the page shows, and how many refreshes it saw when it ends.
//
//   node console-watch.js URL OPERATOR PASSWORD
'use strict';

const path = require('path');
const { chromium } = require(path.join(__dirname, '../web/node_modules/playwright-core'));

const [url, op, password] = process.argv.slice(2);

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
	console.log('watching');
	const stop = async () => {
		const d = await page.evaluate(() => Object.assign({
			rows: document.querySelectorAll('#calls-table tr.call').length }, document.body.dataset)).catch((e) => ({ error: String(e.message || e).split('\n')[0] }));
		console.log('refreshes: ' + (d.callsEvents || 0) + ' events, ' + (d.callsLists || 0) +
			    ' full lists, ' + (d.streamsFetched || 0) + ' stream fetches, ' +
			    (d.rows || 0) + ' rows up at the end' + (d.error ? ' (' + d.error + ')' : ''));
		await browser.close();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}

main().catch((e) => {
	console.log('failed ' + String(e.message || e).split('\n')[0]);
	process.exit(1);
});
