// SPDX-License-Identifier: GPL-2.0-only
//
// The console's Test call form in a real browser (tests/integration/
// 59-testcall.t runs it): playwright-core drives Debian's chromium,
// headless; it logs in, opens the live calls page and starts a test call
// to CALLEE with the form. Prints "RESULT 0|1 description" per check.
//
//   node testcall.js URL CALLEE
'use strict';

const web = require('./lib.js');

const { result, launch, login } = web;
const [url, callee] = process.argv.slice(2);

async function main() {
	const browser = await launch();
	const page = await browser.newPage();
	await page.goto(url + '/');
	await page.waitForSelector('#page-login:not([hidden])', { timeout: 5000 });
	await login(page, 'admin', 'web-admin-pw');
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

web.run(main);
