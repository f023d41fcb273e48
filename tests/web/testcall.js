// SPDX-License-Identifier: GPL-2.0-only
//
// The console's Test call form in a real browser (tests/integration/
// 59-testcall.t runs it): playwright-core drives Debian's chromium,
// headless; it logs in, opens the live calls page and starts a test call
// to CALLEE with the form. Prints "RESULT 0|1 description" per check.
//
//   node testcall.js URL CALLEE
'use strict';

const { chromium } = require('playwright-core');

const [url, callee] = process.argv.slice(2);
let failed = 0;

function result(ok, what) {
	if (!ok) failed++;
	console.log('RESULT ' + (ok ? 0 : 1) + ' ' + what);
}

async function main() {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
	});
	const page = await browser.newPage();
	await page.goto(url + '/');
	await page.waitForSelector('#page-login:not([hidden])', { timeout: 5000 });
	await page.fill('#login-op', 'admin');
	await page.fill('#login-password', 'web-admin-pw');
	await page.click('#login-submit');
	await page.waitForSelector('#page-dashboard:not([hidden])', { timeout: 10000 });
	await page.click('a[href="#calls"]');
	await page.waitForSelector('#testcall-form', { timeout: 5000 });
	result(true, 'the live calls page has the Test call form');
	await page.fill('#testcall-callee', callee);
	await page.click('#testcall-submit');
	await page.waitForFunction(() => /Test call .* started/.test(document.querySelector('#message').textContent),
				   null, { timeout: 5000 }).catch(() => {});
	const msg = await page.textContent('#message');
	result(/Test call .*@testcall started/.test(msg), 'the form starts a test call (' + msg + ')');
	await browser.close();
}

main().catch((e) => {
	console.log('RESULT 1 the browser run: ' + e.message);
	failed++;
}).finally(() => process.exit(failed ? 1 : 0));
