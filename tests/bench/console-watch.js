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
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
	});
	const page = await browser.newPage();
	let refreshes = 0;
	page.on('response', (r) => { if (r.url().endsWith('/api/calls')) refreshes++; });
	await page.goto(url + '/');
	await page.fill('#login-op', op);
	await page.fill('#login-password', password);
	await page.click('#login-submit');
	await page.waitForSelector('#page-dashboard:not([hidden])', { timeout: 10000 });
	await page.click('a[href="#calls"]');
	await page.waitForSelector('#page-calls:not([hidden])', { timeout: 5000 });
	console.log('watching');
	const stop = async () => {
		console.log('refreshes ' + refreshes);
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
