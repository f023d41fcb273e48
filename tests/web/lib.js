// SPDX-License-Identifier: GPL-2.0-only
//
// What the browser scripts (console.js, listen.js, testcall.js) share:
// the TAP-ish "RESULT 0|1 description" lines their test scripts read, the
// step files a script and its test leave each other, Debian's chromium
// launched headless through playwright-core, the console's login, and the
// exit status (1 when any check failed or the run stopped).
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

let failed = 0;

function result(ok, what) {
	if (!ok) failed++;
	console.log('RESULT ' + (ok ? 0 : 1) + ' ' + what);
}

// Whether the file steps/name appears within ms.
async function waitFile(steps, name, ms) {
	const f = path.join(steps, name);
	for (let t = 0; t < ms; t += 100) {
		if (fs.existsSync(f)) return true;
		await new Promise((r) => setTimeout(r, 100));
	}
	return false;
}

function launch(extraArgs = []) {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', ...extraArgs],
	});
}

// Fills in the login form already shown and waits for the dashboard.
async function login(page, op, password) {
	await page.fill('#login-op', op);
	await page.fill('#login-password', password);
	await page.click('#login-submit');
	await page.waitForSelector('#page-dashboard:not([hidden])', { timeout: 10000 });
}

// Runs main and exits: 0 only when it ended and every check passed.
function run(main) {
	main().then(() => process.exit(failed ? 1 : 0), (e) => {
		console.log('RESULT 1 the browser run stopped: ' + String(e.message || e).split('\n')[0]);
		process.exit(1);
	});
}

module.exports = { result, waitFile, launch, login, run };
