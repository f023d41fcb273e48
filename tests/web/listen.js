// SPDX-License-Identifier: GPL-2.0-only
//
// Listening in, in a real browser (tests/integration/58-web-listen.t
// runs it): playwright-core drives Debian's chromium, headless. It logs
// in, opens the live calls page, presses the call's Listen button, counts
// the G.711 samples the page decodes in each direction, and stops. Each
// check prints "RESULT 0|1 description" for the TAP script.
//
//   node listen.js URL STEPDIR SHOTS
//
// STEPDIR: files saying how far each side is: listening (this script),
// checked (the test looked at the data path), stopped (this script).
'use strict';

const fs = require('fs');
const path = require('path');
const web = require('./lib.js');

const { result, launch, login } = web;
const [url, steps, shots] = process.argv.slice(2);
const waitFile = (name, ms) => web.waitFile(steps, name, ms);

const samples = (page, dir) => page.textContent('#listen-samples-' + dir).then((t) => Number(t) || 0);

async function main() {
	const browser = await launch(['--autoplay-policy=no-user-gesture-required']);
	const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));

	await page.goto(url + '/');
	await page.waitForSelector('#page-login:not([hidden])', { timeout: 5000 });
	await login(page, 'admin', 'web-admin-pw');

	// The decoders against G.711's own table values.
	const g711 = await page.evaluate(() => [ulawSample(0xff), ulawSample(0x00), ulawSample(0x80),
		alawSample(0xd5), alawSample(0x55), alawSample(0xaa), alawSample(0x2a)]);
	result(JSON.stringify(g711) === JSON.stringify([0, -32124, 32124, 8, -8, 32256, -32256]),
	       'the page\'s G.711 decoders give the standard\'s values (' + g711.join(' ') + ')');

	await page.click('a[href="#calls"]');
	await page.waitForSelector('#calls-table button.listen', { timeout: 10000 });
	result(true, 'the live calls page has a Listen button for the call');
	await page.click('#calls-table button.listen');
	await page.waitForFunction(() => document.querySelector('#listen-status').textContent === 'listening',
				   null, { timeout: 10000 }).catch(() => {});
	result((await page.textContent('#listen-status')) === 'listening', 'the listen-in WebSocket opens');
	await page.waitForFunction(() => Number(document.querySelector('#listen-samples-0').textContent) > 800 &&
				   Number(document.querySelector('#listen-samples-1').textContent) > 800,
				   null, { timeout: 10000 }).catch(() => {});
	const a = await samples(page, 0), b = await samples(page, 1);
	result(a > 800, 'the page decodes the caller\'s audio (' + a + ' samples)');
	result(b > 800, 'the page decodes the callee\'s audio (' + b + ' samples)');
	result(/PCM[AU]/.test(await page.textContent('#listen-codec')), 'the page names the codec');
	await page.screenshot({ path: path.join(shots, 'web-listen.png'), fullPage: true });
	fs.writeFileSync(path.join(steps, 'listening'), a + ' ' + b + '\n');

	result(await waitFile('checked', 20000), 'the test looked at the data path while listening');
	await new Promise((r) => setTimeout(r, 1000));
	const a2 = await samples(page, 0);
	result(a2 > a, 'the samples keep coming (' + a + ' then ' + a2 + ')');
	await page.click('#listen-stop');
	await page.waitForFunction(() => document.querySelector('#listen-status').textContent === 'stopped',
				   null, { timeout: 5000 }).catch(() => {});
	result((await page.textContent('#listen-status')) === 'stopped', 'Stop listening ends it');
	fs.writeFileSync(path.join(steps, 'stopped'), '');
	result(errors.length === 0, 'no script errors in the page' + (errors.length ? ': ' + errors.join('; ') : ''));
	await browser.close();
}

web.run(main);
